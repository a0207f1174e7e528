//! The bracketed method: how `make bench` turns noisy timings into ratios it
//! can trust. docs/benchmarks.md explains the why; this is the how.
//!
//! The machine's two vCPUs move between host placements, and the cost of
//! moving one cache line between them (the *floor*) moves with them: about 60,
//! 125 or 250-350 ns a round trip. An absolute time is therefore only as good
//! as the placement it was taken in. So every case is measured between two
//! measurements of a floor taken just before and just after it, and what is
//! reported is the ratio of the case to its own brackets:
//!
//! - a **measurement** runs a [`Plan`]: a warm-up, then [`Settings::batches`]
//!   batches of `per_batch` iterations back to back, each batch between one
//!   pair of clock reads. `per_batch` is calibrated per case so that a batch
//!   lasts about [`Settings::batch_target`] (0.5 ms): the clock's 30-40 ns is
//!   then under a hundredth of a percent of a batch, in the numerator and the
//!   denominator alike ([`Bench`] measures the clock and reports the worst
//!   case of the run). Its value is the median batch, in ns per iteration;
//! - the **floor** is a case like the others (`cases::floor`): one cache line
//!   bounced between the CPUs per round trip, over the same 16 lines all run;
//! - a **round** is floor, case, floor; its ratio is case ÷ the mean of its two
//!   brackets. If the brackets differ by more than [`Settings::margin`], the
//!   placement moved during the round and it is run again (at most
//!   [`Settings::max_reruns`] times; a round that never settles is kept and
//!   counted as unsettled);
//! - each case gets [`Settings::rounds`] rounds, interleaved with the other
//!   cases of its [`Section`] (round 1 of every case, then round 2 in the
//!   opposite order...), so that each case's rounds span the whole section;
//! - the result is the median ratio with its spread (min-max and quartiles),
//!   next to the median absolute times.
//!
//! A case is a closure that sets up, runs a [`Plan`] through [`Plan::run`] and
//! tears down (see `cases.rs`); adding one is a line in a section's list.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The knobs of the method.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Rounds per case (odd: the median is one of them; the C benchmarks use 21 too).
    pub rounds: usize,
    /// Timed batches per measurement; the measurement is their median.
    pub batches: usize,
    /// Untimed batches before them: the peer starts, the line settles.
    pub warmup_batches: u64,
    /// How long a batch should last; each case's batch size is calibrated to it.
    pub batch_target: Duration,
    /// The largest relative difference allowed between a round's two brackets
    /// (|before - after| ÷ the smaller); beyond it the round runs again.
    pub margin: f64,
    /// Re-runs allowed per round before it is kept as unsettled.
    pub max_reruns: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            rounds: 21,
            batches: 5,
            warmup_batches: 2,
            batch_target: Duration::from_micros(500),
            margin: 0.10,
            max_reruns: 3,
        }
    }
}

/// One measurement's work: `warmup` untimed iterations, then `batches` timed
/// batches of `per_batch` iterations, back to back. A case's peer serves
/// [`total`](Plan::total) iterations.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub warmup: u64,
    pub per_batch: u64,
    pub batches: usize,
}

/// The wall time of each batch of a [`Plan`], in ns.
#[derive(Clone, Debug)]
pub struct Batches(pub Vec<f64>);

impl Plan {
    /// Iterations in all: the warm-up and every batch.
    pub fn total(&self) -> u64 {
        self.warmup + self.per_batch * self.batches as u64
    }

    /// Calls `step` [`total`](Plan::total) times: the warm-up untimed, then
    /// each batch between one pair of clock reads.
    pub fn run(&self, mut step: impl FnMut()) -> Batches {
        for _ in 0..self.warmup {
            step();
        }
        let mut ns = Vec::with_capacity(self.batches);
        for _ in 0..self.batches {
            let start = Instant::now();
            for _ in 0..self.per_batch {
                step();
            }
            ns.push(start.elapsed().as_nanos() as f64);
        }
        Batches(ns)
    }

    /// [`run`](Plan::run) for a case whose iterations are not all its own:
    /// `delivered` counts what every party has done so far (the one-to-many
    /// cases: messages delivered to any receiver, this one included). Each
    /// batch's time is scaled to `per_batch` of those counted, so that the
    /// measurement is ns per counted iteration. `delivered` is read just
    /// outside each batch's clock reads.
    pub fn run_counted(&self, mut step: impl FnMut(), delivered: impl Fn() -> u64) -> Batches {
        for _ in 0..self.warmup {
            step();
        }
        let mut ns = Vec::with_capacity(self.batches);
        for _ in 0..self.batches {
            let before = delivered();
            let start = Instant::now();
            for _ in 0..self.per_batch {
                step();
            }
            let elapsed = start.elapsed().as_nanos() as f64;
            let counted = delivered().saturating_sub(before).max(1);
            ns.push(elapsed * self.per_batch as f64 / counted as f64);
        }
        Batches(ns)
    }
}

/// Something measured: a name, a message size (0: none), and a closure that
/// sets up, runs the plan it is given through [`Plan::run`], and tears down.
pub struct Case {
    pub name: String,
    pub bytes: usize,
    measure: Box<dyn FnMut(&Plan) -> Batches>,
    /// Iterations per batch, once calibrated.
    per_batch: u64,
}

impl Case {
    pub fn new(
        name: impl Into<String>,
        bytes: usize,
        measure: impl FnMut(&Plan) -> Batches + 'static,
    ) -> Case {
        Case {
            name: name.into(),
            bytes,
            measure: Box::new(measure),
            per_batch: 0,
        }
    }
}

/// Cases measured against one floor, reported as one table.
pub struct Section {
    /// The table's title.
    pub title: String,
    /// The short name of the section in the CSV ("rtt", "throughput").
    pub id: &'static str,
    /// What one iteration is ("round trip", "message"): the unit of ns.
    pub unit: &'static str,
    /// Also print messages (iterations) per second.
    pub rates: bool,
    /// The bracket of every round: a floor, or (for a comparison of two
    /// cases) the case the others are compared with.
    pub floor: Case,
    pub cases: Vec<Case>,
    /// Rounds per case, when not [`Settings::rounds`] (the throughput
    /// distribution's 10 runs).
    pub rounds: Option<usize>,
    /// How long a batch should last, when not [`Settings::batch_target`]:
    /// the one-to-many cases count messages other processes received, which
    /// run ahead of or behind this one by up to a ring, so their batches
    /// must hold many rings' worth.
    pub batch_target: Option<Duration>,
    /// For a section bracketed by a case rather than a floor: a floor
    /// measured right after each round, which says what placement the round
    /// ran in (kept in [`Round::placement`]).
    pub placement: Option<Box<dyn FnMut() -> f64>>,
}

impl Section {
    /// A section with the run's number of rounds.
    pub fn new(
        title: impl Into<String>,
        id: &'static str,
        unit: &'static str,
        rates: bool,
        floor: Case,
        cases: Vec<Case>,
    ) -> Section {
        Section {
            title: title.into(),
            id,
            unit,
            rates,
            floor,
            cases,
            rounds: None,
            batch_target: None,
            placement: None,
        }
    }

    /// The rounds each case gets under `settings`.
    pub fn rounds(&self, settings: &Settings) -> usize {
        self.rounds.unwrap_or(settings.rounds)
    }
}

/// One round: the case between its two floor brackets (ns per iteration).
#[derive(Clone, Copy, Debug)]
pub struct Round {
    pub before: f64,
    pub case: f64,
    pub after: f64,
    /// The section's placement floor right after the round, in ns (NaN: none).
    pub placement: f64,
}

impl Round {
    /// The case ÷ the mean of its brackets.
    pub fn ratio(&self) -> f64 {
        self.case / self.floor()
    }

    /// The mean of the two brackets.
    pub fn floor(&self) -> f64 {
        (self.before + self.after) / 2.0
    }

    /// How far apart the brackets are, relative to the smaller.
    pub fn disagreement(&self) -> f64 {
        (self.before - self.after).abs() / self.before.min(self.after)
    }
}

/// A case's result: the rounds kept, and how many were run again.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub name: String,
    pub bytes: usize,
    pub rounds: Vec<Round>,
    pub reruns: u32,
    /// Rounds kept although their brackets still disagreed after every re-run.
    pub unsettled: usize,
}

/// The median and spread of some values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub q1: f64,
    pub q3: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        Spread {
            median: quantile(&v, 0.5),
            min: v[0],
            q1: quantile(&v, 0.25),
            q3: quantile(&v, 0.75),
            max: v[v.len() - 1],
        }
    }
}

/// The `q` quantile of sorted values, interpolated linearly between ranks.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let at = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo as f64)
}

impl Outcome {
    pub fn ratio(&self) -> Spread {
        Spread::of(self.rounds.iter().map(Round::ratio))
    }

    pub fn case_ns(&self) -> Spread {
        Spread::of(self.rounds.iter().map(|r| r.case))
    }

    pub fn floor_ns(&self) -> Spread {
        Spread::of(self.rounds.iter().map(Round::floor))
    }

    /// The CSV row (see [`CSV_HEADER`]; a comma in a name becomes a semicolon).
    pub fn csv(&self, section: &str, reference: &str) -> String {
        let r = self.ratio();
        let (name, reference) = (self.name.replace(',', ";"), reference.replace(',', ";"));
        format!(
            "{},{},{},{},{:.2},{:.2},{:.4},{:.4},{:.4},{:.4},{:.4},{},{},{}\n",
            section,
            name,
            self.bytes,
            reference,
            self.floor_ns().median,
            self.case_ns().median,
            r.median,
            r.min,
            r.q1,
            r.q3,
            r.max,
            self.rounds.len(),
            self.reruns,
            self.unsettled
        )
    }
}

/// Two cases of one section compared round by round: round k's ratio of `a`
/// ÷ round k's ratio of `b`. Round k of every case of a section runs in the
/// same sweep, one right after the other, so each quotient compares two
/// measurements taken close together (the medians mix the whole section),
/// each divided by its own brackets first.
pub fn paired(a: &Outcome, b: &Outcome) -> Spread {
    Spread::of(
        a.rounds
            .iter()
            .zip(&b.rounds)
            .map(|(x, y)| x.ratio() / y.ratio()),
    )
}

/// The columns every CSV of `make bench` shares (the C benchmarks' too): the
/// reference's and the case's median ns, and the median ratio with its spread.
pub const CSV_HEADER: &str = "section,case,bytes,reference,reference_ns,case_ns,ratio,ratio_min,ratio_q1,ratio_q3,ratio_max,rounds,reruns,unsettled\n";

/// Runs sections with one set of [`Settings`], and keeps what the whole run
/// needs to report: the clock's cost, the shortest batch, every attempt.
pub struct Bench {
    pub settings: Settings,
    /// ns per `Instant::now()`, measured at start.
    pub clock_ns: f64,
    /// The shortest timed batch of the run, in ns.
    pub shortest_batch_ns: f64,
    /// Every round attempted, kept or re-run: the rows of rounds.csv.
    pub attempts_csv: String,
}

impl Bench {
    pub fn new(settings: Settings) -> Bench {
        Bench {
            settings,
            clock_ns: clock_cost(),
            shortest_batch_ns: f64::INFINITY,
            attempts_csv: String::from(
                "section,case,bytes,round,attempt,floor_before_ns,case_ns,floor_after_ns,ratio,disagreement,kept,placement_ns\n",
            ),
        }
    }

    /// One measurement of `case` with its calibrated batch size: the median
    /// batch, in ns per iteration.
    fn measure(&mut self, case: &mut Case) -> f64 {
        let plan = Plan {
            warmup: case.per_batch * self.settings.warmup_batches,
            per_batch: case.per_batch,
            batches: self.settings.batches,
        };
        // A watchdog: a peer that died must fail the run, not hang it.
        // SAFETY: alarm takes no pointers.
        unsafe { libc::alarm(60) };
        let Batches(mut ns) = (case.measure)(&plan);
        // SAFETY: as above.
        unsafe { libc::alarm(0) };
        assert_eq!(ns.len(), plan.batches, "{}: a batch is missing", case.name);
        ns.sort_by(f64::total_cmp);
        self.shortest_batch_ns = self.shortest_batch_ns.min(ns[0]);
        quantile(&ns, 0.5) / plan.per_batch as f64
    }

    /// Finds the batch size that makes one batch last about the target: grows
    /// it until a batch takes an eighth of the target, then takes the fastest
    /// per-iteration time of three more measurements at that size (a case that
    /// runs at two speeds gets batches of at least the target at the faster).
    fn calibrate(&mut self, case: &mut Case, target: Duration) {
        let target = target.as_nanos() as f64;
        let mut probe = |n: u64| {
            let plan = Plan {
                warmup: n,
                per_batch: n,
                batches: 3,
            };
            // SAFETY: alarm takes no pointers (the watchdog of `measure`).
            unsafe { libc::alarm(60) };
            let Batches(ns) = (case.measure)(&plan);
            // SAFETY: as above.
            unsafe { libc::alarm(0) };
            ns.iter().copied().fold(f64::INFINITY, f64::min) / n as f64
        };
        let mut n: u64 = 16;
        while probe(n) * (n as f64) < target / 8.0 && n < 1 << 30 {
            n *= 8;
        }
        n = ((target / probe(n)).ceil() as u64).max(1);
        let fastest = (0..3).map(|_| probe(n)).fold(f64::INFINITY, f64::min);
        case.per_batch = ((target / fastest).ceil() as u64).max(1);
    }

    /// Runs every case of `section` in bracketed rounds; prints the table.
    pub fn run(&mut self, section: &mut Section) -> Vec<Outcome> {
        let s = self.settings;
        let rounds = section.rounds(&s);
        if section.cases.is_empty() {
            return Vec::new();
        }
        let target = section.batch_target.unwrap_or(s.batch_target);
        self.calibrate(&mut section.floor, target);
        for case in section.cases.iter_mut() {
            self.calibrate(case, target);
        }
        let mut outcomes: Vec<Outcome> = section
            .cases
            .iter()
            .map(|c| Outcome {
                name: c.name.clone(),
                bytes: c.bytes,
                rounds: Vec::with_capacity(rounds),
                reruns: 0,
                unsettled: 0,
            })
            .collect();
        for round in 0..rounds {
            let order: Vec<usize> = if round % 2 == 0 {
                (0..section.cases.len()).collect()
            } else {
                (0..section.cases.len()).rev().collect()
            };
            for i in order {
                let mut attempt = 0;
                loop {
                    let before = self.measure(&mut section.floor);
                    let case = self.measure(&mut section.cases[i]);
                    let after = self.measure(&mut section.floor);
                    let placement = section.placement.as_mut().map_or(f64::NAN, |f| f());
                    let r = Round {
                        before,
                        case,
                        after,
                        placement,
                    };
                    let settled = r.disagreement() <= s.margin;
                    let keep = settled || attempt == s.max_reruns;
                    let c = &section.cases[i];
                    let _ = writeln!(
                        self.attempts_csv,
                        "{},{},{},{},{},{:.2},{:.2},{:.2},{:.4},{:.4},{},{:.1}",
                        section.id,
                        c.name.replace(',', ";"),
                        c.bytes,
                        round,
                        attempt,
                        before,
                        case,
                        after,
                        r.ratio(),
                        r.disagreement(),
                        keep,
                        r.placement
                    );
                    if keep {
                        outcomes[i].rounds.push(r);
                        outcomes[i].unsettled += usize::from(!settled);
                        break;
                    }
                    outcomes[i].reruns += 1;
                    attempt += 1;
                }
            }
        }
        print!("{}", self.table(section, &outcomes));
        outcomes
    }

    /// The section's table: per case, the median ns, the median ratio to the
    /// floor and its spread, the rounds and re-runs; then the floor itself.
    pub fn table(&self, section: &Section, outcomes: &[Outcome]) -> String {
        let mut t = String::new();
        let batches = section.batch_target.map_or(String::new(), |b| {
            format!("; batches of ~{} ms", b.as_secs_f64() * 1e3)
        });
        let _ = writeln!(
            t,
            "\n{}\nns per {}; ratio = case ÷ mean of its two brackets ({}), per round; median of {} rounds{}",
            section.title,
            section.unit,
            section.floor.name,
            section.rounds(&self.settings),
            batches
        );
        let rate = if section.rates { "   msg/s" } else { "" };
        let _ = writeln!(
            t,
            "{:<30} {:>6} {:>10}{} {:>8} {:>15} {:>15} {:>6} {:>7}",
            "case", "bytes", "median ns", rate, "ratio", "min-max", "q1-q3", "rounds", "re-runs"
        );
        for o in outcomes {
            let (r, ns) = (o.ratio(), o.case_ns().median);
            let rate = if section.rates {
                format!(" {:>8}", si(1e9 / ns))
            } else {
                String::new()
            };
            let unsettled = if o.unsettled > 0 {
                format!(" ({} unsettled)", o.unsettled)
            } else {
                String::new()
            };
            let _ = writeln!(
                t,
                "{:<30} {:>6} {:>10.1}{} {:>8} {:>15} {:>15} {:>6} {:>7}{}",
                o.name,
                bytes(o.bytes),
                ns,
                rate,
                fmt_ratio(r.median),
                format!("{}-{}", fmt_ratio(r.min), fmt_ratio(r.max)),
                format!("{}-{}", fmt_ratio(r.q1), fmt_ratio(r.q3)),
                o.rounds.len(),
                o.reruns,
                unsettled
            );
        }
        let floors = Spread::of(
            outcomes
                .iter()
                .flat_map(|o| o.rounds.iter().map(Round::floor)),
        );
        let _ = writeln!(
            t,
            "brackets ({}): median {:.0} ns, min-max {:.0}-{:.0} over the section's rounds",
            section.floor.name, floors.median, floors.min, floors.max
        );
        t
    }

    /// How the clock was kept out of the numbers, for the report.
    pub fn clock_note(&self) -> String {
        format!(
            "clock: Instant::now costs {:.1} ns; one pair per batch; the shortest batch took {:.3} ms, so the clock is at most {:.4}% of any batch",
            self.clock_ns,
            self.shortest_batch_ns / 1e6,
            100.0 * self.clock_ns / self.shortest_batch_ns
        )
    }
}

/// ns per `Instant::now()`: the median of 9 timings of 100 000 calls.
fn clock_cost() -> f64 {
    let mut runs: Vec<f64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..100_000 {
                std::hint::black_box(Instant::now());
            }
            start.elapsed().as_nanos() as f64 / 100_000.0
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[4]
}

/// A ratio with 3 significant digits, the way the tables print it.
pub fn fmt_ratio(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}")
    } else if r >= 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// A size in B, KiB or MiB.
pub fn bytes(n: usize) -> String {
    match n {
        0 => "-".into(),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{}Mi", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{}Ki", n >> 10),
        n => format!("{n}"),
    }
}

/// A rate with a k/M suffix.
pub fn si(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let s = Spread::of([4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!(
            (s.min, s.q1, s.median, s.q3, s.max),
            (1.0, 2.0, 3.0, 4.0, 5.0)
        );
        assert_eq!(Spread::of([1.0, 2.0]).median, 1.5);
    }

    #[test]
    fn a_round_is_its_case_over_its_brackets() {
        let r = Round {
            before: 100.0,
            case: 330.0,
            after: 120.0,
            placement: f64::NAN,
        };
        assert_eq!(r.ratio(), 3.0);
        assert!((r.disagreement() - 0.2).abs() < 1e-12);
    }
}
