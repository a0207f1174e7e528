//! `make bench`: rshm side by side with the alternatives, in one run on one
//! machine. Reads the C benchmarks' CSVs (the five calls against glibc's;
//! rshm_read/rshm_write against memcpy), measures channel round trips and
//! throughput against a pipe, a Unix socket pair, a SysV message queue, a SysV
//! semaphore ping-pong and a spin on one shared cache line (the floor), then
//! prints a table and writes DIR/results.csv and DIR/chart.png.
//!
//! Usage: rshm-bench DIR (DIR holds calls.csv and copy.csv). Run as root in a
//! private IPC namespace (make bench does); the two sides are pinned to CPUs 0 and 1.

use plotters::prelude::*;
use rshm::{Channel, OpenOptions, Role};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const SIZES: [usize; 3] = [64, 1024, 65536];

struct Row {
    section: &'static str,
    name: String,
    size: usize,
    metric: &'static str,
    value: f64,
    unit: &'static str,
}

fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Runs `child` in a forked process pinned to CPU 1 (the caller is pinned to CPU 0).
fn fork_peer(child: impl FnOnce()) -> i32 {
    // SAFETY: fork; the child runs `child` then _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        pin(1);
        child();
        // SAFETY: leave without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    pid
}

fn reap(pid: i32) {
    // SAFETY: pid is our child.
    unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
}

/// Median and 99th percentile of `samples` (ns).
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    )
}

fn round_trips(size: usize) -> usize {
    if size >= 65536 {
        5_000
    } else {
        20_000
    }
}

fn one_way_count(size: usize) -> usize {
    match size {
        0..=64 => 2_000_000,
        65..=1024 => 500_000,
        _ => 20_000,
    }
}

// ---------- rshm channel ----------

static NEXT_KEY: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0x52534200);

fn key() -> rshm::Key {
    rshm::Key(NEXT_KEY.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

fn channel_rtt(size: usize) -> Vec<f64> {
    let (ping, pong) = (key(), key());
    let capacity = (size + 8) * 16;
    let mut to_peer = Channel::create(
        OpenOptions::new().key(ping).remove_on_close(true),
        capacity,
        Role::Sender,
    )
    .unwrap();
    let mut from_peer = Channel::create(
        OpenOptions::new().key(pong).remove_on_close(true),
        capacity,
        Role::Receiver,
    )
    .unwrap();
    let n = round_trips(size);
    let pid = fork_peer(|| {
        let mut rx = Channel::open(OpenOptions::new().key(ping), Role::Receiver).unwrap();
        let mut tx = Channel::open(OpenOptions::new().key(pong), Role::Sender).unwrap();
        let mut buf = vec![0u8; size];
        for _ in 0..n + 100 {
            rx.recv(&mut buf, None).unwrap();
            tx.send(&buf, None).unwrap();
        }
    });
    let message = vec![7u8; size];
    let mut buf = vec![0u8; size];
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 100 {
        let start = Instant::now();
        to_peer.send(&message, None).unwrap();
        from_peer.recv(&mut buf, None).unwrap();
        if i >= 100 {
            samples.push(start.elapsed().as_nanos() as f64);
        }
    }
    reap(pid);
    samples
}

fn channel_throughput(size: usize) -> f64 {
    let k = key();
    let mut rx = Channel::create(
        OpenOptions::new().key(k).remove_on_close(true),
        1 << 20,
        Role::Receiver,
    )
    .unwrap();
    let n = one_way_count(size);
    let pid = fork_peer(|| {
        let mut tx = Channel::open(OpenOptions::new().key(k), Role::Sender).unwrap();
        let message = vec![7u8; size];
        for _ in 0..n {
            tx.send(&message, None).unwrap();
        }
    });
    let mut buf = vec![0u8; size];
    rx.recv(&mut buf, None).unwrap();
    let start = Instant::now();
    for _ in 1..n {
        rx.recv(&mut buf, None).unwrap();
    }
    let elapsed = start.elapsed();
    reap(pid);
    (n - 1) as f64 / elapsed.as_secs_f64()
}

// ---------- byte streams: pipe and Unix socket pair ----------

fn write_all(fd: i32, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: data is a valid buffer.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        assert!(n > 0, "write failed");
        data = &data[n as usize..];
    }
}

fn read_exact(fd: i32, mut buf: &mut [u8]) {
    while !buf.is_empty() {
        // SAFETY: buf is a valid buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        assert!(n > 0, "read failed");
        buf = &mut buf[n as usize..];
    }
}

/// Two byte-stream connections (a→b, b→a) made by `make`.
fn stream_rtt(size: usize, make: fn() -> ([i32; 2], [i32; 2])) -> Vec<f64> {
    let (there, back) = make();
    let n = round_trips(size);
    let pid = fork_peer(|| {
        let mut buf = vec![0u8; size];
        for _ in 0..n + 100 {
            read_exact(there[0], &mut buf);
            write_all(back[1], &buf);
        }
    });
    let message = vec![7u8; size];
    let mut buf = vec![0u8; size];
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 100 {
        let start = Instant::now();
        write_all(there[1], &message);
        read_exact(back[0], &mut buf);
        if i >= 100 {
            samples.push(start.elapsed().as_nanos() as f64);
        }
    }
    reap(pid);
    for fd in there.iter().chain(back.iter()) {
        // SAFETY: our descriptors.
        unsafe { libc::close(*fd) };
    }
    samples
}

fn stream_throughput(size: usize, make: fn() -> ([i32; 2], [i32; 2])) -> f64 {
    let (there, back) = make();
    let n = one_way_count(size);
    let pid = fork_peer(|| {
        let message = vec![7u8; size];
        for _ in 0..n {
            write_all(there[1], &message);
        }
    });
    let mut buf = vec![0u8; size];
    read_exact(there[0], &mut buf);
    let start = Instant::now();
    for _ in 1..n {
        read_exact(there[0], &mut buf);
    }
    let elapsed = start.elapsed();
    reap(pid);
    for fd in there.iter().chain(back.iter()) {
        // SAFETY: our descriptors.
        unsafe { libc::close(*fd) };
    }
    (n - 1) as f64 / elapsed.as_secs_f64()
}

fn pipes() -> ([i32; 2], [i32; 2]) {
    let (mut a, mut b) = ([0; 2], [0; 2]);
    // SAFETY: valid arrays for pipe(2).
    unsafe {
        libc::pipe(a.as_mut_ptr());
        libc::pipe(b.as_mut_ptr());
    }
    (a, b)
}

fn socket_pair() -> ([i32; 2], [i32; 2]) {
    let mut fds = [0; 2];
    // SAFETY: a valid array for socketpair(2).
    unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
    // One bidirectional connection: a writes fds[0] and b reads fds[1]; b writes fds[1] and a reads fds[0].
    ([fds[1], fds[0]], [fds[0], fds[1]])
}

// ---------- SysV message queue ----------

#[repr(C)]
struct MsgBuf {
    mtype: libc::c_long,
    text: [u8; 65536],
}

fn msgq_rtt(size: usize) -> Vec<f64> {
    // SAFETY: msgget takes no pointers.
    let q = unsafe { libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) };
    let n = round_trips(size);
    let pid = fork_peer(|| {
        let mut msg = Box::new(MsgBuf {
            mtype: 1,
            text: [0; 65536],
        });
        for _ in 0..n + 100 {
            // SAFETY: msg is a valid message buffer of at least size bytes of text.
            unsafe {
                libc::msgrcv(q, (&mut *msg as *mut MsgBuf).cast(), size, 1, 0);
                msg.mtype = 2;
                libc::msgsnd(q, (&*msg as *const MsgBuf).cast(), size, 0);
            }
        }
    });
    let mut msg = Box::new(MsgBuf {
        mtype: 1,
        text: [7; 65536],
    });
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 100 {
        let start = Instant::now();
        msg.mtype = 1;
        // SAFETY: as above.
        unsafe {
            libc::msgsnd(q, (&*msg as *const MsgBuf).cast(), size, 0);
            libc::msgrcv(q, (&mut *msg as *mut MsgBuf).cast(), size, 2, 0);
        }
        if i >= 100 {
            samples.push(start.elapsed().as_nanos() as f64);
        }
    }
    reap(pid);
    // SAFETY: removing our queue.
    unsafe { libc::msgctl(q, libc::IPC_RMID, std::ptr::null_mut()) };
    samples
}

fn msgq_throughput(size: usize) -> f64 {
    // SAFETY: msgget takes no pointers.
    let q = unsafe { libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) };
    let n = one_way_count(size);
    let pid = fork_peer(|| {
        let msg = Box::new(MsgBuf {
            mtype: 1,
            text: [7; 65536],
        });
        for _ in 0..n {
            // SAFETY: msg is a valid message.
            unsafe { libc::msgsnd(q, (&*msg as *const MsgBuf).cast(), size, 0) };
        }
    });
    let mut msg = Box::new(MsgBuf {
        mtype: 0,
        text: [0; 65536],
    });
    // SAFETY: as above.
    unsafe { libc::msgrcv(q, (&mut *msg as *mut MsgBuf).cast(), size, 0, 0) };
    let start = Instant::now();
    for _ in 1..n {
        // SAFETY: as above.
        unsafe { libc::msgrcv(q, (&mut *msg as *mut MsgBuf).cast(), size, 0, 0) };
    }
    let elapsed = start.elapsed();
    reap(pid);
    // SAFETY: removing our queue.
    unsafe { libc::msgctl(q, libc::IPC_RMID, std::ptr::null_mut()) };
    (n - 1) as f64 / elapsed.as_secs_f64()
}

// ---------- SysV semaphores with the message in a shared segment ----------

fn sem_op(set: i32, num: u16, op: i16) {
    let mut buf = libc::sembuf {
        sem_num: num,
        sem_op: op,
        sem_flg: 0,
    };
    // SAFETY: a valid sembuf.
    unsafe { libc::semop(set, &mut buf, 1) };
}

fn sem_rtt(size: usize) -> Vec<f64> {
    let shm = OpenOptions::new()
        .create(true)
        .size(size.max(8))
        .remove_on_close(true)
        .open()
        .unwrap();
    // SAFETY: semget takes no pointers.
    let set = unsafe { libc::semget(libc::IPC_PRIVATE, 2, libc::IPC_CREAT | 0o600) };
    let n = round_trips(size);
    let data = shm.as_ptr() as usize;
    let pid = fork_peer(|| {
        let mut buf = vec![0u8; size];
        for _ in 0..n + 100 {
            sem_op(set, 0, -1);
            // SAFETY: the segment holds size bytes; the semaphores order the accesses.
            unsafe {
                std::ptr::copy_nonoverlapping(data as *const u8, buf.as_mut_ptr(), size);
                std::ptr::copy_nonoverlapping(buf.as_ptr(), data as *mut u8, size);
            }
            sem_op(set, 1, 1);
        }
    });
    let message = vec![7u8; size];
    let mut buf = vec![0u8; size];
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 100 {
        let start = Instant::now();
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(message.as_ptr(), data as *mut u8, size) };
        sem_op(set, 0, 1);
        sem_op(set, 1, -1);
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(data as *const u8, buf.as_mut_ptr(), size) };
        if i >= 100 {
            samples.push(start.elapsed().as_nanos() as f64);
        }
    }
    reap(pid);
    // SAFETY: removing our set.
    unsafe { libc::semctl(set, 0, libc::IPC_RMID) };
    samples
}

// ---------- the floor: a spin on one shared cache line ----------

fn spin_rtt() -> Vec<f64> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let shm = OpenOptions::new()
        .create(true)
        .size(64)
        .remove_on_close(true)
        .open()
        .unwrap();
    // SAFETY: the segment is 64 bytes, aligned to a page: one cache line.
    let line = unsafe { &*(shm.as_ptr() as *const AtomicU64) };
    let n = round_trips(64) * 5;
    let pid = fork_peer(|| {
        for i in 0..(n + 100) as u64 {
            while line.load(Ordering::Acquire) != 2 * i + 1 {
                std::hint::spin_loop();
            }
            line.store(2 * i + 2, Ordering::Release);
        }
    });
    let mut samples = Vec::with_capacity(n);
    for i in 0..(n + 100) as u64 {
        let start = Instant::now();
        line.store(2 * i + 1, Ordering::Release);
        while line.load(Ordering::Acquire) != 2 * i + 2 {
            std::hint::spin_loop();
        }
        if i >= 100 {
            samples.push(start.elapsed().as_nanos() as f64);
        }
    }
    reap(pid);
    samples
}

// ---------- report ----------

fn read_csv(path: &std::path::Path, rows: &mut Vec<Row>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        eprintln!("{}: missing (run through make bench)", path.display());
        return;
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 6 {
            continue;
        }
        let (section, size) = (
            if f[0] == "calls" { "calls" } else { "copy" },
            f[2].parse().unwrap_or(0),
        );
        for (metric, value, unit) in [
            ("baseline", f[3], "ns"),
            ("rshm", f[4], "ns"),
            ("ratio", f[5], "x"),
        ] {
            rows.push(Row {
                section,
                name: f[1].to_string(),
                size,
                metric,
                value: value.parse().unwrap_or(f64::NAN),
                unit,
            });
        }
    }
}

fn chart(
    path: &std::path::Path,
    rtt: &[(String, usize, f64)],
    copy: &[(String, usize, f64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let font = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")?;
    plotters::style::register_font(
        "sans-serif",
        FontStyle::Normal,
        Box::leak(font.into_boxed_slice()),
    )
    .map_err(|_| "cannot load the font")?;
    let root = BitMapBackend::new(path, (1400, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(760);
    let methods: Vec<String> = {
        let mut m: Vec<String> = rtt.iter().map(|(name, _, _)| name.clone()).collect();
        m.dedup();
        m
    };
    let max = rtt.iter().map(|r| r.2).fold(1.0, f64::max) * 2.0;
    let min = rtt.iter().map(|r| r.2).fold(f64::MAX, f64::min) / 2.0;
    let mut c = ChartBuilder::on(&left)
        .caption("Round trip, median (ns, log)", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((32f64..131072f64).log_scale(), (min..max).log_scale())?;
    c.configure_mesh()
        .x_desc("message bytes")
        .y_desc("ns")
        .draw()?;
    for (i, method) in methods.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let points: Vec<(f64, f64)> = rtt
            .iter()
            .filter(|r| &r.0 == method)
            .map(|r| (r.1 as f64, r.2))
            .collect();
        c.draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))?
            .label(method.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
        c.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    let mut c = ChartBuilder::on(&right)
        .caption(
            "rshm_read / rshm_write vs memcpy (1.0 = equal)",
            ("sans-serif", 22),
        )
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d((32f64..(128u64 << 20) as f64).log_scale(), 0f64..1.3f64)?;
    c.configure_mesh()
        .x_desc("bytes")
        .y_desc("memcpy time / rshm time")
        .draw()?;
    for (i, op) in ["write", "read"].iter().enumerate() {
        let color = Palette99::pick(i + 5).to_rgba();
        let points: Vec<(f64, f64)> = copy
            .iter()
            .filter(|r| r.0 == *op)
            .map(|r| (r.1 as f64, r.2))
            .collect();
        c.draw_series(LineSeries::new(points, color.stroke_width(3)))?
            .label(*op)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
            });
    }
    c.draw_series(LineSeries::new(
        vec![(32.0, 0.97), ((128u64 << 20) as f64, 0.97)],
        BLACK.stroke_width(1),
    ))?
    .label("target 0.97")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    root.present()?;
    Ok(())
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
    pin(0);
    let mut rows = Vec::new();
    read_csv(&dir.join("calls.csv"), &mut rows);
    read_csv(&dir.join("copy.csv"), &mut rows);

    let mut rtt: Vec<(String, usize, f64)> = Vec::new();
    let mut out = String::new();
    let floor = percentiles(spin_rtt());
    let _ = writeln!(
        out,
        "\nRound trip between two processes on CPUs 0 and 1 (ns): median / p99"
    );
    let _ = writeln!(
        out,
        "{:<26} {:>16} {:>16} {:>16}",
        "method", "64 B", "1 KiB", "64 KiB"
    );
    type Rtt = fn(usize) -> Vec<f64>;
    let methods: [(&str, Rtt); 5] = [
        ("rshm channel", channel_rtt),
        ("SysV semaphores + shm", sem_rtt),
        ("SysV message queue", msgq_rtt),
        ("Unix socket pair", |size| stream_rtt(size, socket_pair)),
        ("pipe", |size| stream_rtt(size, pipes)),
    ];
    let mut medians = std::collections::HashMap::new();
    for (name, measure) in methods {
        let mut line = format!("{name:<26}");
        for size in SIZES {
            let (median, p99) = percentiles(measure(size));
            let _ = write!(line, " {:>7.0} / {:>6.0}", median, p99);
            rtt.push((name.to_string(), size, median));
            medians.insert((name, size), median);
            rows.push(Row {
                section: "rtt",
                name: name.into(),
                size,
                metric: "median",
                value: median,
                unit: "ns",
            });
            rows.push(Row {
                section: "rtt",
                name: name.into(),
                size,
                metric: "p99",
                value: p99,
                unit: "ns",
            });
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(
        out,
        "{:<26} {:>7.0} / {:>6.0}   (no message: one cache line bounced)",
        "spin on one cache line", floor.0, floor.1
    );
    for size in SIZES {
        rtt.push(("spin (floor)".into(), size, floor.0));
    }
    rows.push(Row {
        section: "rtt",
        name: "spin on one cache line".into(),
        size: 8,
        metric: "median",
        value: floor.0,
        unit: "ns",
    });
    rows.push(Row {
        section: "rtt",
        name: "spin on one cache line".into(),
        size: 8,
        metric: "p99",
        value: floor.1,
        unit: "ns",
    });

    let _ = writeln!(out, "\nOne-way throughput (messages per second)");
    let _ = writeln!(
        out,
        "{:<26} {:>14} {:>14} {:>14}",
        "method", "64 B", "1 KiB", "64 KiB"
    );
    type Tput = fn(usize) -> f64;
    let tputs: [(&str, Tput); 4] = [
        ("rshm channel", channel_throughput),
        ("SysV message queue", msgq_throughput),
        ("Unix socket pair", |size| {
            stream_throughput(size, socket_pair)
        }),
        ("pipe", |size| stream_throughput(size, pipes)),
    ];
    let mut rates = std::collections::HashMap::new();
    for (name, measure) in tputs {
        let mut line = format!("{name:<26}");
        for size in SIZES {
            let rate = measure(size);
            let _ = write!(line, " {:>14.0}", rate);
            rates.insert((name, size), rate);
            rows.push(Row {
                section: "throughput",
                name: name.into(),
                size,
                metric: "messages/s",
                value: rate,
                unit: "1/s",
            });
        }
        let _ = writeln!(out, "{line}");
    }

    // The calls and copies, from the C benchmarks.
    let mut calls = String::from(
        "\nThe five calls, rshm against glibc (ns per call; ratio rshm/glibc, target <= 1.05)\n",
    );
    for row in rows
        .iter()
        .filter(|r| r.section == "calls" && r.metric == "ratio")
    {
        let g = rows
            .iter()
            .find(|r| r.section == "calls" && r.name == row.name && r.metric == "baseline")
            .map_or(f64::NAN, |r| r.value);
        let s = rows
            .iter()
            .find(|r| r.section == "calls" && r.name == row.name && r.metric == "rshm")
            .map_or(f64::NAN, |r| r.value);
        let _ = writeln!(
            calls,
            "{:<28} {:>9.1} {:>9.1} {:>7.3}",
            row.name, g, s, row.value
        );
    }
    let mut copy_points = Vec::new();
    let mut copies = String::from(
        "\nrshm_write / rshm_read against memcpy (ratio memcpy time / rshm time, target >= 0.97)\n",
    );
    for row in rows
        .iter()
        .filter(|r| r.section == "copy" && r.metric == "ratio")
    {
        let _ = writeln!(
            copies,
            "{:<6} {:>10} B {:>7.3}",
            row.name, row.size, row.value
        );
        copy_points.push((row.name.clone(), row.size, row.value));
    }

    let channel_64 = medians[&("rshm channel", 64)];
    let pipe_64 = medians[&("pipe", 64)];
    let mut verdict = String::from("\nTargets\n");
    let _ = writeln!(
        verdict,
        "round trip within 2x of the spin floor (64 B): {:.0} ns vs {:.0} ns = {:.2}x",
        channel_64,
        floor.0,
        channel_64 / floor.0
    );
    let _ = writeln!(
        verdict,
        ">= 20x faster than a pipe (64 B round trip): {:.1}x",
        pipe_64 / channel_64
    );
    let _ = writeln!(
        verdict,
        "> 10 million 64 B messages a second one way: {:.1} million",
        rates[&("rshm channel", 64)] / 1e6
    );
    print!("{calls}{copies}{out}{verdict}");

    let mut csv = String::from("section,name,bytes,metric,value,unit\n");
    for r in &rows {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{}",
            r.section, r.name, r.size, r.metric, r.value, r.unit
        );
    }
    std::fs::write(dir.join("results.csv"), csv).unwrap();
    match chart(&dir.join("chart.png"), &rtt, &copy_points) {
        Ok(()) => println!(
            "\nwrote {} and {}",
            dir.join("results.csv").display(),
            dir.join("chart.png").display()
        ),
        Err(error) => eprintln!("chart: {error}"),
    }
    let _ = Duration::ZERO;
}
