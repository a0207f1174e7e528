//! `make bench`: rshm side by side with the alternatives, in one run on one
//! machine, by the bracketed method of `method.rs` (docs/benchmarks.md).
//!
//! Measures channel round trips and one-way throughput against a pipe, a Unix
//! socket pair, a SysV message queue and a SysV semaphore ping-pong, each
//! case bracketed by a floor (one cache line bounced between the two CPUs);
//! prints a table per section; then reads the C benchmarks' CSVs (the five
//! calls against glibc's, rshm_read/rshm_write against memcpy) and writes, in
//! DIR: rtt.csv, throughput.csv, rounds.csv (every round attempted),
//! results.csv (all sections, C ones included) and chart.png.
//!
//! Usage: rshm-bench [DIR] (default target/bench). Run as root: it moves into
//! a private IPC namespace. This process is pinned to CPU 0, its peers to CPU 1.
//! RSHM_BENCH_ROUNDS=N changes the rounds per case (default 21);
//! RSHM_BENCH_ONLY=TEXT keeps the cases whose name contains TEXT (the targets
//! and the chart then need the cases they read).

mod cases;
mod chart;
mod load;
mod method;
mod peer;

use cases::*;
use method::{fmt_ratio, si, Bench, Case, Outcome, Section, Settings, Spread, CSV_HEADER};
use std::fmt::Write as _;

const SIZES: [usize; 3] = [64, 1024, 65536];

/// The floor every section here is bracketed by.
fn ping_pong_floor() -> Case {
    Case::new("line ping-pong over 16 lines", 64, floor)
}

fn rtt_section() -> Section {
    let mut cases = vec![Case::new("floor itself (self-check)", 64, floor)];
    for size in SIZES {
        cases.push(Case::new("rshm channel", size, move |p| {
            channel_rtt(size, p)
        }));
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
    Section {
        title: "Round trip between two processes on CPUs 0 and 1".into(),
        id: "rtt",
        unit: "round trip",
        rates: false,
        floor: ping_pong_floor(),
        cases,
    }
}

fn throughput_section() -> Section {
    let mut cases = Vec::new();
    for size in SIZES {
        cases.push(Case::new("rshm channel", size, move |p| {
            channel_throughput(size, p)
        }));
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
    Section {
        title: "One-way throughput from CPU 1 to CPU 0 (bracketed by the same floor)".into(),
        id: "throughput",
        unit: "message received",
        rates: true,
        floor: ping_pong_floor(),
        cases,
    }
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

/// The targets the README states, against this run's medians (with spreads).
fn targets(rows: &[Row], rtt: &[Outcome], tput: &[Outcome]) -> String {
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
            if calls.iter().all(|r| r.ratio.median <= 1.05) {
                "met"
            } else {
                "MISSED"
            }
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
    if let Some(channel) = find(rtt, "rshm channel", 64).map(Outcome::ratio) {
        let _ = writeln!(
            t,
            "64 B channel round trip within 2x of the floor: {} [{}-{}]: {}",
            fmt_ratio(channel.median),
            fmt_ratio(channel.min),
            fmt_ratio(channel.max),
            if channel.median <= 2.0 {
                "met"
            } else {
                "MISSED"
            }
        );
        if let Some(pipe) = find(rtt, "pipe", 64).map(Outcome::ratio) {
            let _ = writeln!(
                t,
                "64 B round trip >= 20x faster than a pipe: {}x (medians; quartiles give {}-{}x)",
                fmt_ratio(pipe.median / channel.median),
                fmt_ratio(pipe.q1 / channel.q3),
                fmt_ratio(pipe.q3 / channel.q1),
            );
        }
    }
    if let Some(rate) = find(tput, "rshm channel", 64).map(Outcome::case_ns) {
        let _ = writeln!(
            t,
            "> 10 M 64 B messages a second one way: {} [{}-{}]",
            si(1e9 / rate.median),
            si(1e9 / rate.max),
            si(1e9 / rate.min),
        );
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

    println!("{}", floor_lines_note());
    let started = std::time::Instant::now();
    let load = load::Load::now();
    let filter = std::env::var("RSHM_BENCH_ONLY").unwrap_or_default();
    let only = |mut section: Section| {
        section.cases.retain(|c| c.name.contains(filter.as_str()));
        section
    };
    let mut rtt_section = only(rtt_section());
    let rtt = bench.run(&mut rtt_section);
    let mut tput_section = only(throughput_section());
    let tput = bench.run(&mut tput_section);

    let mut own = String::new();
    for (section, outcomes) in [(&rtt_section, &rtt), (&tput_section, &tput)] {
        let mut csv = String::from(CSV_HEADER);
        for o in outcomes.iter() {
            csv.push_str(&o.csv(section.id, &section.floor.name));
        }
        std::fs::write(dir.join(format!("{}.csv", section.id)), &csv).unwrap();
        own.push_str(&csv);
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

    print!("{}", targets(&rows, &rtt, &tput));
    println!("\n{}", bench.clock_note());
    println!("{}", load.note());
    let reruns: u32 = rtt.iter().chain(&tput).map(|o| o.reruns).sum();
    let unsettled: usize = rtt.iter().chain(&tput).map(|o| o.unsettled).sum();
    println!(
        "re-runs: {reruns} rounds run again, {unsettled} kept unsettled; {:.0} s for the two sections",
        started.elapsed().as_secs_f64()
    );
    match chart::draw(&dir.join("chart.png"), &rows) {
        Ok(()) => println!(
            "wrote {} (results.csv, rtt.csv, throughput.csv, rounds.csv, chart.png)",
            dir.display()
        ),
        Err(error) => eprintln!("chart: {error}"),
    }
    let left = ipc_objects_left();
    if left > 0 {
        eprintln!("{left} SysV objects left in the namespace");
        std::process::exit(1);
    }
    println!("SysV objects left in this namespace: none");
}
