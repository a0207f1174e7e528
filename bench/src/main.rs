//! `make bench`: rshm side by side with the alternatives, in one run on one
//! machine, by the bracketed method of `method.rs` (docs/benchmarks.md).
//!
//! Sections, each case bracketed by a reference measured right before and
//! right after it:
//!
//! - round trips (rtt): the rshm channel, iceoryx2 (64 B), a pipe, a Unix
//!   socket pair, a SysV message queue and a SysV semaphore ping-pong, and
//!   the two-line floor, against the one-line floor (one cache line bounced
//!   between the two CPUs);
//! - rtt2: the 64 B round trips of rshm and iceoryx2 against the two-line
//!   floor (a 64-byte message and its word: two lines each way);
//! - throughput: one way, the same transports, against the streaming floor
//!   (one line per message through a 1 MiB ring);
//! - runs: the 64 B throughput of rshm and iceoryx2, 10 runs of a fresh
//!   channel and peer each, printed run by run;
//! - big_copy, big_iox: the 64 KiB round trip with an 8-byte acknowledgement,
//!   rshm zero-copy (reserve/peek) and iceoryx2 against rshm's copying
//!   send/recv, and zero-copy against iceoryx2.
//!
//! Then it reads the C benchmarks' CSVs (the five calls against glibc's,
//! rshm_read/rshm_write against memcpy), prints the targets and writes, in
//! DIR: a CSV per section (rtt.csv, rtt2.csv, throughput.csv, runs.csv,
//! big_copy.csv, big_iox.csv), distribution.csv (the runs one by one),
//! rounds.csv (every round attempted), results.csv (all sections, C ones
//! included) and chart.png.
//!
//! Usage: rshm-bench [DIR] (default target/bench). Run as root: it moves into
//! a private IPC namespace. This process is pinned to CPU 0, its peers to CPU 1.
//! RSHM_BENCH_ROUNDS=N changes the rounds per case (default 21);
//! RSHM_BENCH_BATCH_MS=N the length of every batch, in every section;
//! RSHM_BENCH_RUNS=N the runs of the distribution (default 10);
//! RSHM_BENCH_ONLY=TEXT keeps the cases whose name contains TEXT, and
//! RSHM_BENCH_SECTIONS=ID,ID the sections of those ids (the targets and the
//! chart then need the cases they read).

mod boost;
mod broadcast;
mod cases;
mod chart;
mod iox;
mod load;
mod many;
mod method;
mod peer;

use cases::*;
use method::{fmt_ratio, si, Bench, Case, Outcome, Section, Settings, Spread, CSV_HEADER};
use std::fmt::Write as _;

const SIZES: [usize; 3] = [64, 1024, 65536];

/// The official floor of the round trips: one line bounced per round trip.
fn one_line_floor() -> Case {
    Case::new("line ping-pong over 16 lines", 64, floor)
}

/// A 64-byte message's floor: two lines bounced each way.
fn two_line_floor() -> Case {
    Case::new("two-line ping-pong (64 B message)", 64, floor_two_lines)
}

/// The throughput floor: one line streamed one way per message.
fn streaming_floor() -> Case {
    Case::new("line stream through a 1 MiB ring", 64, stream_floor)
}

const RSHM: &str = "rshm channel";
const IOX: &str = "iceoryx2 (loan + busy poll)";
const TWO_LINES: &str = "two-line floor (64 B message)";

fn rtt_section() -> Section {
    let mut cases = vec![
        Case::new("floor itself (self-check)", 64, floor),
        Case::new(TWO_LINES, 64, floor_two_lines),
    ];
    for size in SIZES {
        cases.push(Case::new(RSHM, size, move |p| channel_rtt(size, p)));
        if size == 64 {
            cases.push(Case::new(IOX, size, iox::rtt_64));
        }
        cases.push(Case::new("SysV semaphores + shm", size, move |p| {
            sem_rtt(size, p)
        }));
        cases.push(Case::new("SysV message queue", size, move |p| {
            msgq_rtt(size, p)
        }));
        cases.push(Case::new("Unix socket pair", size, move |p| {
            stream_rtt(size, socket_pair, p)
        }));
        cases.push(Case::new("pipe", size, move |p| stream_rtt(size, pipes, p)));
    }
    Section::new(
        "Round trip between two processes on CPUs 0 and 1",
        "rtt",
        "round trip",
        false,
        one_line_floor(),
        cases,
    )
}

/// The 64-byte round trips again, bracketed by the two-line floor.
fn rtt_two_lines_section() -> Section {
    Section::new(
        "64 B round trip against the two-line floor (a 64 B message and its word: two lines each way)",
        "rtt2",
        "round trip",
        false,
        two_line_floor(),
        vec![
            Case::new(RSHM, 64, move |p| channel_rtt(64, p)),
            Case::new(IOX, 64, iox::rtt_64),
        ],
    )
}

fn throughput_section() -> Section {
    let mut cases = vec![Case::new("floor itself (self-check)", 64, stream_floor)];
    for size in SIZES {
        cases.push(Case::new(RSHM, size, move |p| channel_throughput(size, p)));
        if size == 64 {
            cases.push(Case::new(IOX, size, iox::throughput_64));
        }
        cases.push(Case::new("SysV message queue", size, move |p| {
            msgq_throughput(size, p)
        }));
        cases.push(Case::new("Unix socket pair", size, move |p| {
            stream_throughput(size, socket_pair, p)
        }));
        cases.push(Case::new("pipe", size, move |p| {
            stream_throughput(size, pipes, p)
        }));
    }
    Section::new(
        "One-way throughput from CPU 1 to CPU 0 (bracketed by the streaming floor)",
        "throughput",
        "message received",
        true,
        streaming_floor(),
        cases,
    )
}

/// Runs of the 64 B throughput: each round one measurement, a fresh channel
/// (or service) and a fresh peer.
fn distribution_section(runs: usize) -> Section {
    let mut section = Section::new(
        format!("64 B one-way throughput, {runs} runs (each a fresh channel and peer; rounds of the same section)"),
        "runs",
        "message received",
        true,
        streaming_floor(),
        vec![
            Case::new(RSHM, 64, move |p| channel_throughput(64, p)),
            Case::new(IOX, 64, iox::throughput_64),
        ],
    );
    section.rounds = Some(runs);
    section
}

const ZERO_COPY: &str = "rshm zero-copy (reserve/peek)";
const COPYING: &str = "rshm copying (send/recv)";
const IOX_BIG: &str = "iceoryx2 (loan_slice + busy poll)";

/// 64 KiB, the sender fills, the receiver reads, 8 bytes back: zero-copy and
/// iceoryx2, each bracketed by the copying channel.
fn big_by_copy_section() -> Section {
    placed(Section::new(
        "64 KiB round trip (sender fills, receiver reads all, 8-byte ack back), bracketed by rshm's copying API",
        "big_copy",
        "round trip",
        false,
        Case::new(COPYING, BIG, |p| channel_big_rtt(false, p)),
        vec![
            Case::new(ZERO_COPY, BIG, |p| channel_big_rtt(true, p)),
            Case::new(IOX_BIG, BIG, iox::rtt_64k),
        ],
    ))
}

/// A section bracketed by a case, with the one-line floor measured after
/// each round to tell the placement (a 64 KiB ratio depends on it).
fn placed(mut section: Section) -> Section {
    section.placement = Some(Box::new(floor_now));
    section
}

/// One-line floors below this (ns) are taken for a placement on sibling
/// hyperthreads, where lines move through a shared cache.
const SIBLINGS_NS: f64 = 100.0;

/// A case's ratio split by the placement of its rounds, or nothing if the
/// section has no placement floor.
fn by_placement(o: &Outcome) -> String {
    let placed: Vec<&method::Round> = o.rounds.iter().filter(|r| !r.placement.is_nan()).collect();
    if placed.is_empty() {
        return String::new();
    }
    let mut t = String::new();
    for (siblings, what) in [(false, "elsewhere"), (true, "on sibling hyperthreads")] {
        let mine: Vec<&&method::Round> = placed
            .iter()
            .filter(|r| (r.placement < SIBLINGS_NS) == siblings)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let floor = Spread::of(mine.iter().map(|r| r.placement));
        let ratio = Spread::of(mine.iter().map(|r| r.ratio()));
        let _ = write!(
            t,
            "; {} rounds {what} (one-line floor {:.0}-{:.0} ns): {}",
            mine.len(),
            floor.min,
            floor.max,
            spread(&ratio)
        );
    }
    t
}

/// The same, zero-copy bracketed by iceoryx2.
fn big_by_iox_section() -> Section {
    placed(Section::new(
        "64 KiB round trip, the same, bracketed by iceoryx2",
        "big_iox",
        "round trip",
        false,
        Case::new(IOX_BIG, BIG, iox::rtt_64k),
        vec![Case::new(ZERO_COPY, BIG, |p| channel_big_rtt(true, p))],
    ))
}

const BOOST: &str = "Boost.Interprocess message_queue";
const RSHM_MANY: &str = "rshm channel, many senders";
const SYSV_MANY: &str = "SysV message queue";

/// Many to one: 2 senders (CPU 1) -> 1 receiver (CPU 0), 64 B, each case
/// bracketed by Boost's message_queue.
fn many_to_one_section() -> Section {
    let mut section = placed(Section::new(
        format!(
            "Many to one: {} senders (both on CPU 1) -> 1 receiver (CPU 0), 64 B, bracketed by Boost.Interprocess",
            many::SENDERS
        ),
        "many",
        "message received",
        true,
        Case::new(BOOST, many::SIZE, many::boost),
        vec![
            Case::new(RSHM_MANY, many::SIZE, many::rshm),
            Case::new(SYSV_MANY, many::SIZE, many::sysv),
        ],
    ));
    section.batch_target = Some(MANY_TO_ONE_BATCH);
    section
}

/// A batch of the many-to-one section: 10 ms, several of the scheduler's
/// slices, as the two senders share CPU 1 and take turns.
const MANY_TO_ONE_BATCH: std::time::Duration = std::time::Duration::from_millis(10);

const IOX_PUBSUB: &str = "iceoryx2 publish-subscribe";
const RSHM_BROADCAST: &str = "rshm broadcast channel";

/// A batch of the one-to-many sections: 20 ms, about 20 rings' worth of
/// messages for the rshm channel at 64 B (see `broadcast.rs`).
const ONE_TO_MANY_BATCH: std::time::Duration = std::time::Duration::from_millis(20);

/// The one-to-many sections: (id, receivers, bytes).
const ONE_TO_MANY: [(&str, usize, usize); 4] = [
    ("broadcast1", 1, 64),
    ("broadcast2", 2, 64),
    ("broadcast1_64k", 1, BIG),
    ("broadcast2_64k", 2, BIG),
];

/// One to many: 1 sender (CPU 1) -> `receivers` receivers (CPU 0), rshm's
/// broadcast channel bracketed by iceoryx2 with as many subscribers.
fn one_to_many_section(id: &'static str, receivers: usize, size: usize) -> Section {
    let mut section = placed(Section::new(
        format!(
            "One to many: 1 sender (CPU 1) -> {receivers} receiver{} (CPU 0), {} B, bracketed by iceoryx2 with {receivers} subscriber{}",
            if receivers > 1 { "s" } else { "" },
            method::bytes(size),
            if receivers > 1 { "s" } else { "" },
        ),
        id,
        "delivered message",
        true,
        Case::new(IOX_PUBSUB, size, move |p| iox::broadcast(size, receivers, p)),
        vec![Case::new(RSHM_BROADCAST, size, move |p| {
            broadcast::rshm(size, receivers, p)
        })],
    ));
    section.batch_target = Some(ONE_TO_MANY_BATCH);
    section
}

/// A row of any of the CSVs (see [`CSV_HEADER`]).
#[derive(Clone, Debug)]
pub struct Row {
    pub section: String,
    pub case: String,
    pub bytes: usize,
    pub reference_ns: f64,
    pub case_ns: f64,
    pub ratio: Spread,
}

fn parse_csv(text: &str) -> Vec<Row> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != 14 || f[0] == "section" {
                return None;
            }
            let num = |i: usize| f[i].parse::<f64>().unwrap_or(f64::NAN);
            Some(Row {
                section: f[0].into(),
                case: f[1].into(),
                bytes: f[2].parse().unwrap_or(0),
                reference_ns: num(4),
                case_ns: num(5),
                ratio: Spread {
                    median: num(6),
                    min: num(7),
                    q1: num(8),
                    q3: num(9),
                    max: num(10),
                },
            })
        })
        .collect()
}

fn find<'a>(outcomes: &'a [Outcome], name: &str, bytes: usize) -> Option<&'a Outcome> {
    outcomes.iter().find(|o| o.name == name && o.bytes == bytes)
}

/// Every section's outcomes, by section id.
#[derive(Default)]
struct Done(Vec<(&'static str, Vec<Outcome>)>);

impl Done {
    fn get(&self, id: &str) -> &[Outcome] {
        self.0
            .iter()
            .find(|(i, _)| *i == id)
            .map_or(&[], |(_, o)| o.as_slice())
    }

    fn find(&self, id: &str, name: &str, bytes: usize) -> Option<&Outcome> {
        find(self.get(id), name, bytes)
    }
}

/// "X [min-max]" with ratios.
fn spread(r: &Spread) -> String {
    format!(
        "{} [{}-{}]",
        fmt_ratio(r.median),
        fmt_ratio(r.min),
        fmt_ratio(r.max)
    )
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

/// rshm ÷ iceoryx2, round by round, at 64 B in a section: the line printed
/// under its table and the CSV row (case "rshm channel ÷ iceoryx2").
fn versus_iox(section: &Section, outcomes: &[Outcome]) -> Option<(String, String)> {
    let (a, b) = (find(outcomes, RSHM, 64)?, find(outcomes, IOX, 64)?);
    let r = method::paired(a, b);
    let line = format!(
        "rshm channel ÷ iceoryx2 at 64 B, round by round (each ÷ its own brackets first): median {}, min-max {}-{}, q1-q3 {}-{}\n",
        fmt_ratio(r.median),
        fmt_ratio(r.min),
        fmt_ratio(r.max),
        fmt_ratio(r.q1),
        fmt_ratio(r.q3)
    );
    let row = Outcome {
        name: "rshm channel ÷ iceoryx2".into(),
        bytes: 64,
        rounds: Vec::new(),
        reruns: a.reruns + b.reruns,
        unsettled: a.unsettled + b.unsettled,
    };
    let csv = format!(
        "{},{},64,{},{:.2},{:.2},{:.4},{:.4},{:.4},{:.4},{:.4},{},{},{}\n",
        section.id,
        row.name,
        IOX,
        b.case_ns().median,
        a.case_ns().median,
        r.median,
        r.min,
        r.q1,
        r.q3,
        r.max,
        a.rounds.len(),
        row.reruns,
        row.unsettled
    );
    Some((line, csv))
}

/// The distribution's table: one line per run (round) with both cases, then
/// a summary per case. Also its CSV (distribution.csv).
fn distribution(outcomes: &[Outcome]) -> (String, String) {
    let mut t = String::from(
        "\nruns: M msg/s; ratio = ns per message ÷ the mean of its two streaming-floor brackets (lower is faster)\n",
    );
    let mut csv =
        String::from("run,case,msgs_per_s,case_ns,floor_before_ns,floor_after_ns,ratio\n");
    let (rshm, iox) = (find(outcomes, RSHM, 64), find(outcomes, IOX, 64));
    let _ = writeln!(
        t,
        "{:>4} {:>12} {:>8} {:>10} {:>14} {:>8} {:>14}",
        "run", "rshm M msg/s", "ratio", "floor ns", "iceoryx2 M/s", "ratio", "rshm/iceoryx2"
    );
    let runs = outcomes.iter().map(|o| o.rounds.len()).max().unwrap_or(0);
    for k in 0..runs {
        let cell = |o: Option<&Outcome>| o.and_then(|o| o.rounds.get(k)).copied();
        let (a, b) = (cell(rshm), cell(iox));
        let fmt = |r: Option<method::Round>| match r {
            Some(r) => (
                format!("{:.2}", 1e3 / r.case),
                fmt_ratio(r.ratio()),
                format!("{:.1}", r.floor()),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        let ((ar, aq, af), (br, bq, _)) = (fmt(a), fmt(b));
        let vs = match (a, b) {
            (Some(a), Some(b)) => fmt_ratio(a.ratio() / b.ratio()),
            _ => "-".into(),
        };
        let _ = writeln!(
            t,
            "{:>4} {:>12} {:>8} {:>10} {:>14} {:>8} {:>14}",
            k + 1,
            ar,
            aq,
            af,
            br,
            bq,
            vs
        );
        for (o, r) in [(rshm, a), (iox, b)] {
            if let (Some(o), Some(r)) = (o, r) {
                let _ = writeln!(
                    csv,
                    "{},{},{:.0},{:.3},{:.3},{:.3},{:.4}",
                    k + 1,
                    o.name,
                    1e9 / r.case,
                    r.case,
                    r.before,
                    r.after,
                    r.ratio()
                );
            }
        }
    }
    for o in [rshm, iox].into_iter().flatten() {
        let rates = Spread::of(o.rounds.iter().map(|r| 1e3 / r.case));
        let ratios = o.ratio();
        let _ = writeln!(
            t,
            "{}: median {:.2} M msg/s, best {:.2}, worst {:.2}; worst/best {} at the same placement (ratio to the brackets: best {}, worst {}), {} in msg/s; re-runs {}",
            o.name,
            rates.median,
            rates.max,
            rates.min,
            fmt_ratio(ratios.max / ratios.min),
            fmt_ratio(ratios.min),
            fmt_ratio(ratios.max),
            fmt_ratio(rates.max / rates.min),
            o.reruns
        );
    }
    if let (Some(a), Some(b)) = (rshm, iox) {
        let r = method::paired(a, b);
        let _ = writeln!(
            t,
            "rshm ÷ iceoryx2 in time per message, run by run: median {} [{}-{}] (rshm's rate is {}x iceoryx2's)",
            fmt_ratio(r.median),
            fmt_ratio(r.min),
            fmt_ratio(r.max),
            fmt_ratio(1.0 / r.median)
        );
    }
    (t, csv)
}

/// The 64 KiB comparison in one table: each case's median ns, and the three
/// ratios from the rounds that bracketed them.
fn big_summary(done: &Done) -> String {
    let mut t = String::from(
        "\n64 KiB round trip with an 8-byte acknowledgement: zero-copy vs copying vs iceoryx2\n",
    );
    let by_copy = done.get("big_copy");
    let by_iox = done.get("big_iox");
    let zc = find(by_copy, ZERO_COPY, BIG);
    let ix = find(by_copy, IOX_BIG, BIG);
    let zi = find(by_iox, ZERO_COPY, BIG);
    if let Some(zc) = zc {
        let _ = writeln!(
            t,
            "copying (send/recv) {:.0} ns, zero-copy (reserve/peek) {:.0} ns: zero-copy ÷ copying {} (target <= 0.7), q1-q3 {}-{}{}",
            zc.floor_ns().median,
            zc.case_ns().median,
            spread(&zc.ratio()),
            fmt_ratio(zc.ratio().q1),
            fmt_ratio(zc.ratio().q3),
            by_placement(zc)
        );
    }
    if let Some(ix) = ix {
        let _ = writeln!(
            t,
            "iceoryx2 {:.0} ns: iceoryx2 ÷ copying {}{}",
            ix.case_ns().median,
            spread(&ix.ratio()),
            by_placement(ix)
        );
    }
    if let Some(zi) = zi {
        let _ = writeln!(
            t,
            "iceoryx2 {:.0} ns, zero-copy {:.0} ns: zero-copy ÷ iceoryx2 {} (target <= 1.0), q1-q3 {}-{}{}",
            zi.floor_ns().median,
            zi.case_ns().median,
            spread(&zi.ratio()),
            fmt_ratio(zi.ratio().q1),
            fmt_ratio(zi.ratio().q3),
            by_placement(zi)
        );
    }
    t
}

/// The targets of the README and issue 14, against this run's medians (with spreads).
fn targets(rows: &[Row], done: &Done, prefault: Option<&str>) -> String {
    let mut t = String::from("\nTargets (medians of bracketed rounds; [min-max])\n");
    let calls: Vec<&Row> = rows
        .iter()
        .filter(|r| r.section == "calls" && !r.case.contains("failing"))
        .collect();
    if let Some(worst) = calls
        .iter()
        .max_by(|a, b| a.ratio.median.total_cmp(&b.ratio.median))
    {
        let _ = writeln!(
            t,
            "the five calls within 1.05x of glibc: worst median {} ({}) [{}-{}]: {}",
            fmt_ratio(worst.ratio.median),
            worst.case,
            fmt_ratio(worst.ratio.min),
            fmt_ratio(worst.ratio.max),
            met(calls.iter().all(|r| r.ratio.median <= 1.05))
        );
    }
    let writes: Vec<&Row> = rows
        .iter()
        .filter(|r| r.section == "copy" && r.case == "write")
        .collect();
    if !writes.is_empty() {
        let from = writes
            .iter()
            .rposition(|r| r.ratio.median < 0.97)
            .map_or(Some(0), |i| (i + 1 < writes.len()).then_some(i + 1));
        let _ = writeln!(
            t,
            "rshm_write at >= 0.97x memcpy's speed: {}",
            match from {
                Some(i) => format!("met from {} B on", writes[i].bytes),
                None => "MISSED at every size".into(),
            }
        );
    }
    let view = |case: &str| {
        rows.iter()
            .find(|r| r.section == "copy" && r.case == case && r.bytes == 64)
    };
    if let (Some(w), Some(r)) = (view("view write"), view("view read")) {
        let _ = writeln!(
            t,
            "64 B checked copies (rshm_inline.h view) at >= 0.9x memcpy's speed: write {}, read {}: {}",
            spread(&w.ratio),
            spread(&r.ratio),
            met(w.ratio.median >= 0.9 && r.ratio.median >= 0.9)
        );
    }
    if let Some(channel) = done.find("rtt", RSHM, 64).map(Outcome::ratio) {
        let _ = writeln!(
            t,
            "64 B channel round trip within 1.8x of the one-line floor: {}: {}",
            spread(&channel),
            met(channel.median <= 1.8)
        );
        if let Some(two) = done.find("rtt2", RSHM, 64).map(Outcome::ratio) {
            let _ = writeln!(
                t,
                "64 B channel round trip ÷ the two-line floor: {}",
                spread(&two)
            );
        }
        if let Some(pipe) = done.find("rtt", "pipe", 64).map(Outcome::ratio) {
            let _ = writeln!(
                t,
                "64 B round trip >= 20x faster than a pipe: {}x (medians; quartiles give {}-{}x)",
                fmt_ratio(pipe.median / channel.median),
                fmt_ratio(pipe.q1 / channel.q3),
                fmt_ratio(pipe.q3 / channel.q1),
            );
        }
    }
    for (id, what) in [
        ("rtt", "round trip"),
        ("throughput", "time per message, one way"),
    ] {
        let rounds = done.get(id);
        if let (Some(a), Some(b)) = (find(rounds, RSHM, 64), find(rounds, IOX, 64)) {
            let _ = writeln!(
                t,
                "64 B rshm ÷ iceoryx2, {what}, round by round: {}",
                spread(&method::paired(a, b))
            );
        }
    }
    if let Some(rate) = done.find("throughput", RSHM, 64).map(Outcome::case_ns) {
        let _ = writeln!(
            t,
            "> 10 M 64 B messages a second one way: {} [{}-{}]",
            si(1e9 / rate.median),
            si(1e9 / rate.max),
            si(1e9 / rate.min),
        );
    }
    if let Some(o) = done.find("runs", RSHM, 64) {
        let rates = Spread::of(o.rounds.iter().map(|r| 1e9 / r.case));
        let ratios = o.ratio();
        let _ = writeln!(
            t,
            "64 B throughput over {} runs: median {} msg/s (target >= 25 M): {}; worst/best at the same placement {} (target <= 1.5): {}",
            o.rounds.len(),
            si(rates.median),
            met(rates.median >= 25e6),
            fmt_ratio(ratios.max / ratios.min),
            met(ratios.max / ratios.min <= 1.5)
        );
    }
    if let Some(zc) = done.find("big_copy", ZERO_COPY, BIG).map(Outcome::ratio) {
        let _ = writeln!(
            t,
            "64 KiB zero-copy ÷ copying within 0.7: {}: {}",
            spread(&zc),
            met(zc.median <= 0.7)
        );
    }
    if let Some(zi) = done.find("big_iox", ZERO_COPY, BIG).map(Outcome::ratio) {
        let _ = writeln!(
            t,
            "64 KiB zero-copy ÷ iceoryx2 within 1.0: {}: {}",
            spread(&zi),
            met(zi.median <= 1.0)
        );
    }
    t.push_str(&many_parties(done));
    t.push_str(&first_touch(prefault));
    t
}

/// The targets of issue 19: many to one against Boost, one to many against
/// iceoryx2 (each case's ratio to its own brackets, round by round).
fn many_parties(done: &Done) -> String {
    let mut t = String::new();
    for name in [RSHM_MANY, SYSV_MANY] {
        if let Some(o) = done.find("many", name, many::SIZE) {
            let r = o.ratio();
            let goal = if name == RSHM_MANY {
                format!(" (target >= 5x): {}", met(r.median <= 0.2))
            } else {
                String::new()
            };
            let _ = writeln!(
                t,
                "{} senders -> 1 receiver, 64 B, {name} ÷ Boost in time per message: {}, q1-q3 {}-{}: {}x Boost's rate{goal}",
                many::SENDERS,
                spread(&r),
                fmt_ratio(r.q1),
                fmt_ratio(r.q3),
                fmt_ratio(1.0 / r.median),
            );
        }
    }
    for (id, receivers, size) in ONE_TO_MANY {
        if let Some(o) = done.find(id, RSHM_BROADCAST, size) {
            let r = o.ratio();
            let _ = writeln!(
                t,
                "1 sender -> {receivers} receiver(s), {} B: rshm broadcast ÷ iceoryx2 in time per delivered message: {}, q1-q3 {}-{} (target <= 0.5): {}",
                method::bytes(size),
                spread(&r),
                fmt_ratio(r.q1),
                fmt_ratio(r.q3),
                met(r.median <= 0.5)
            );
        }
    }
    t
}

/// The 1 GiB first-touch line, from prefault.csv (empty if it is missing):
/// per segment kind, the median total without and with RSHM_PREFAULT.
fn first_touch(csv: Option<&str>) -> String {
    let Some(csv) = csv else {
        return String::new();
    };
    // mode,phase,median_ms,min_ms,max_ms,reps (the mode may not contain a comma)
    let total = |mode: &str| {
        csv.lines().find_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f.len() == 6 && f[0] == mode && f[1] == "total").then(|| f[2].parse::<f64>().ok())?
        })
    };
    let mut t = String::new();
    for kind in ["4 KiB pages", "huge pages"] {
        if let (Some(plain), Some(pre)) = (total(kind), total(&format!("{kind} + RSHM_PREFAULT"))) {
            let _ = writeln!(
                t,
                "1 GiB segment of {kind}, open + first pass: {plain:.0} ms, with RSHM_PREFAULT {pre:.0} ms (medians; prefault.csv has the spreads)"
            );
        }
    }
    t
}

/// SysV objects left in this namespace, as /proc/sysvipc lists them.
fn ipc_objects_left() -> usize {
    ["shm", "sem", "msg"]
        .iter()
        .map(|kind| {
            std::fs::read_to_string(format!("/proc/sysvipc/{kind}"))
                .map_or(0, |text| text.lines().count().saturating_sub(1))
        })
        .sum()
}

fn main() {
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/bench".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    // SAFETY: unshare affects this process (and its children) only.
    if unsafe { libc::unshare(libc::CLONE_NEWIPC) } == 0 {
        // Room for 64 KiB messages in the SysV queue, inside this private namespace.
        let _ = std::fs::write("/proc/sys/kernel/msgmax", "65536");
        let _ = std::fs::write("/proc/sys/kernel/msgmnb", "1048576");
    } else {
        eprintln!("not root: SysV queue sizes stay as they are; 64 KiB queue messages may fail");
    }
    peer::pin(0);
    let mut settings = Settings::default();
    if let Some(n) = std::env::var("RSHM_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        settings.rounds = n;
    }
    let batch = std::env::var("RSHM_BENCH_BATCH_MS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .map(std::time::Duration::from_secs_f64)
        .map(|d| d / 1000);
    if let Some(batch) = batch {
        settings.batch_target = batch;
    }
    let mut bench = Bench::new(settings);
    println!(
        "method: {} rounds per case (floor, case, floor), interleaved; measurement = median of {} batches of ~{} ms; \
         a round whose brackets differ by more than {:.0}% runs again (at most {} times)",
        settings.rounds,
        settings.batches,
        settings.batch_target.as_secs_f64() * 1e3,
        settings.margin * 100.0,
        settings.max_reruns
    );

    iox::init();
    // A failing case (a panic here, not in a peer) must not leave iceoryx2's files behind.
    let main_pid = std::process::id();
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        if std::process::id() == main_pid {
            iox::remove_all();
        }
    }));
    println!("{}", floor_lines_note());
    let started = std::time::Instant::now();
    let load = load::Load::now();
    let filter = std::env::var("RSHM_BENCH_ONLY").unwrap_or_default();
    let runs = std::env::var("RSHM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let sections = vec![
        rtt_section(),
        rtt_two_lines_section(),
        throughput_section(),
        distribution_section(runs),
        big_by_copy_section(),
        big_by_iox_section(),
        many_to_one_section(),
    ];
    let sections = sections.into_iter().chain(
        ONE_TO_MANY
            .iter()
            .map(|&(id, receivers, size)| one_to_many_section(id, receivers, size)),
    );
    let ids = std::env::var("RSHM_BENCH_SECTIONS").unwrap_or_default();
    let mut done = Done::default();
    let mut own = String::new();
    for mut section in sections {
        if !ids.is_empty() && !ids.split(',').any(|id| id == section.id) {
            continue;
        }
        section.cases.retain(|c| c.name.contains(filter.as_str()));
        if batch.is_some() {
            section.batch_target = batch;
        }
        if section.cases.is_empty() {
            continue;
        }
        let before = floor_now();
        let counted = broadcast::totals();
        let lossless = broadcast::delivered_lossless();
        let outcomes = bench.run(&mut section);
        let (delivered, skipped, reopened) = broadcast::totals();
        if delivered > counted.0 {
            let iox = broadcast::delivered_lossless() - lossless;
            let (rshm, skipped) = (delivered - counted.0 - iox, skipped - counted.1);
            println!(
                "delivered (calibration included): iceoryx2 {iox} messages, none lost; rshm {rshm}, its receivers skipping {skipped} more ({:.0}% of what was sent to them) by falling a ring behind{}",
                100.0 * skipped as f64 / (rshm + skipped).max(1) as f64,
                if reopened > counted.2 { "; PROTOCOL ERRORS (see the end of the run)" } else { "" }
            );
        }
        println!(
            "placement: the one-line floor took {before:.0} ns just before the section, {:.0} ns just after",
            floor_now()
        );
        if section.id.ends_with("_64k") {
            let (first, again) = broadcast::read_costs(BIG);
            println!(
                "reading 64 KiB on CPU 0: {first:.0} ns right after CPU 1 wrote it, {again:.0} ns again at once (medians of 400; see broadcast::read_costs)"
            );
        }
        let mut csv = String::from(CSV_HEADER);
        for o in outcomes.iter() {
            csv.push_str(&o.csv(section.id, &section.floor.name));
        }
        if let Some((line, row)) = versus_iox(&section, &outcomes) {
            print!("{line}");
            csv.push_str(&row);
        }
        if section.id == "runs" {
            let (table, runs_csv) = distribution(&outcomes);
            print!("{table}");
            std::fs::write(dir.join("distribution.csv"), runs_csv).unwrap();
        }
        std::fs::write(dir.join(format!("{}.csv", section.id)), &csv).unwrap();
        own.push_str(&csv);
        done.0.push((section.id, outcomes));
    }
    if !done.get("big_copy").is_empty() || !done.get("big_iox").is_empty() {
        print!("{}", big_summary(&done));
    }
    std::fs::write(dir.join("rounds.csv"), &bench.attempts_csv).unwrap();

    let mut results = String::from(CSV_HEADER);
    for name in ["calls.csv", "copy.csv"] {
        match std::fs::read_to_string(dir.join(name)) {
            Ok(text) => results.extend(text.lines().skip(1).map(|l| format!("{l}\n"))),
            Err(_) => eprintln!(
                "{}: missing (make bench writes it)",
                dir.join(name).display()
            ),
        }
    }
    results.extend(
        own.lines()
            .filter(|l| !l.starts_with("section,"))
            .map(|l| format!("{l}\n")),
    );
    std::fs::write(dir.join("results.csv"), &results).unwrap();
    let rows = parse_csv(&results);

    let prefault = std::fs::read_to_string(dir.join("prefault.csv")).ok();
    print!("{}", targets(&rows, &done, prefault.as_deref()));
    println!("\n{}", bench.clock_note());
    println!("{}", load.note());
    let all = done.0.iter().flat_map(|(_, o)| o.iter());
    let reruns: u32 = all.clone().map(|o| o.reruns).sum();
    let unsettled: usize = all.map(|o| o.unsettled).sum();
    println!(
        "re-runs: {reruns} rounds run again, {unsettled} kept unsettled; {:.0} s for the {} sections",
        started.elapsed().as_secs_f64(),
        done.0.len()
    );
    println!(
        "iceoryx2: {} samples delivered and checked, none lost",
        iox::delivered_count() + broadcast::delivered_lossless()
    );
    let (delivered, skipped, reopened) = broadcast::totals();
    if delivered > 0 {
        println!(
            "one to many: {delivered} messages delivered to receivers and checked; {skipped} skipped by receivers that fell a ring behind (rshm broadcast only: iceoryx2's publisher waits)"
        );
    }
    if reopened > 0 {
        println!(
            "one to many: PROTOCOL ERRORS: rshm broadcast receivers answered Corrupt {reopened} times (each reopened; see stderr)"
        );
    }
    match chart::draw(&dir.join("chart.png"), &rows) {
        Ok(()) => println!(
            "wrote {} (results.csv, a CSV per section, distribution.csv, rounds.csv, chart.png)",
            dir.display()
        ),
        Err(error) => eprintln!("chart: {error}"),
    }
    let boost_left = boost::left();
    if !boost_left.is_empty() {
        eprintln!("Boost queues left (now removed): {}", boost_left.join(", "));
        std::process::exit(1);
    }
    let iox_left = iox::cleanup();
    if !iox_left.is_empty() {
        eprintln!("iceoryx2 left: {}", iox_left.join(", "));
        std::process::exit(1);
    }
    let left = ipc_objects_left();
    if left > 0 {
        eprintln!("{left} SysV objects left in the namespace");
        std::process::exit(1);
    }
    println!("SysV objects left in this namespace: none");
}
