//! Liveness under churn: short-lived processes (made by `fork` and by a raw
//! `clone` that runs no atfork handler, some living on after their main
//! thread exits) and their threads take and drop mutexes and channel ends,
//! and some die holding them; waiter processes try to take them all the
//! while. A waiter that takes a lock as owner-died, or a channel end over,
//! checks that the previous holder is really gone, by a witness the kernel
//! keeps apart from anything rshm reads: for a channel end (held by a
//! process), an exclusive `flock` each holder holds on a file of its own until
//! its last thread is gone; for a mutex (held by a thread), that witness or
//! the locking thread's id, which the kernel clears when that thread exits
//! while others run.
//!
//! No live holder may ever be judged gone. The judgements each waiter made
//! (alive, gone, cannot tell: `rshm::liveness::judgements`) are printed.
//! Its own test binary: it forks many times.

mod common;

use common::{keyed_segment, reap, unique_key};
use rshm::{Channel, ChannelOptions, ErrorKind, Key, Mutex, OpenOptions, Role};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

const MUTEXES: usize = 4;
/// Where the mutexes start: after the test's own table.
const MUTEX_BASE: usize = 3072;
const _: () = assert!(std::mem::size_of::<Truth>() <= MUTEX_BASE);
const CHANNELS: usize = 3;
const HOLDERS: u64 = 160;
const AT_ONCE: usize = 6;
const WAITERS: usize = 2;

/// The shared table the test keeps beside rshm's objects (never read by rshm).
#[repr(C)]
struct Truth {
    stop: AtomicU64,
    /// The holder (1-based number) that says it holds mutex i / channel end c, or 0.
    mutex_holder: [AtomicU64; MUTEXES],
    end_holder: [AtomicU64; CHANNELS],
    /// Per waiter: takeovers checked, takeovers of a live holder, and its judgements.
    checked: [AtomicU64; WAITERS],
    wrong: [AtomicU64; WAITERS],
    alive: [AtomicU64; WAITERS],
    gone: [AtomicU64; WAITERS],
    cannot_tell: [AtomicU64; WAITERS],
    /// Each holder's pid, by number (for the report of a wrong takeover).
    pids: [AtomicU64; HOLDERS as usize + 1],
    /// Each holder's locking thread's id, which the kernel clears when that
    /// thread exits (`set_tid_address`): the witness of a mutex holder.
    threads: [AtomicU32; HOLDERS as usize + 1],
}

fn truth(segment: &rshm::OpenSegment) -> &Truth {
    // SAFETY: the segment is larger than Truth, page-aligned, and holds atomics only.
    unsafe { &*(segment.as_ptr() as *const Truth) }
}

/// The witness file of holder `n`.
fn witness(dir: &std::path::Path, n: u64) -> std::ffi::CString {
    std::ffi::CString::new(
        dir.join(n.to_string())
            .into_os_string()
            .into_encoded_bytes(),
    )
    .unwrap()
}

/// Whether holder `n` is gone by its witness: its exclusive flock can be taken.
fn witness_gone(dir: &std::path::Path, n: u64) -> bool {
    let path = witness(dir, n);
    // SAFETY: a NUL-terminated path; the descriptor is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false; // not made yet: the holder has not started
    }
    // SAFETY: fd is open; a non-blocking try.
    let gone = unsafe { libc::flock(fd, libc::LOCK_SH | libc::LOCK_NB) } == 0;
    // SAFETY: fd is ours; closing releases the shared lock if taken.
    unsafe { libc::close(fd) };
    gone
}

/// A tiny deterministic generator (xorshift), seeded per process.
struct Dice(u64);
impl Dice {
    fn roll(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn channel_key(base: Key, c: usize) -> Key {
    Key::from_raw(base.raw() + 1 + c as i32)
}

/// A holder's life: take something, hold it a moment, and drop it or die holding it.
fn holder(n: u64, key: Key, base: Key, dir: &std::path::Path) -> i32 {
    let path = witness(dir, n);
    // SAFETY: a NUL-terminated path; the descriptor stays open until the process is gone.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_CREAT | libc::O_CLOEXEC,
            0o600,
        )
    };
    // SAFETY: fd is open.
    if fd < 0 || unsafe { libc::flock(fd, libc::LOCK_EX) } != 0 {
        return 1;
    }
    let segment = OpenOptions::new().key(key).open().unwrap();
    let table = truth(&segment);
    table.pids[n as usize].store(std::process::id() as u64, SeqCst);
    let thread = &table.threads[n as usize];
    // SAFETY: gettid and set_tid_address: the kernel writes 0 to `thread` (in the
    // shared segment, which stays attached while this thread holds anything) when
    // this thread exits.
    unsafe {
        thread.store(libc::syscall(libc::SYS_gettid) as u32, SeqCst);
        libc::syscall(libc::SYS_set_tid_address, thread.as_ptr());
    }
    let mut dice = Dice(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let dies_holding = dice.roll(3) == 0;
    let hold = Duration::from_micros(200 + dice.roll(5000));
    // Busy threads that take and drop locks cleanly while the process lives.
    let busy: Vec<_> = (0..dice.roll(3))
        .map(|t| {
            let segment = OpenOptions::new().key(key).open().unwrap();
            std::thread::spawn(move || {
                let offset = MUTEX_BASE + 64 * ((n as usize + t as usize) % MUTEXES);
                let mutex = Mutex::at(&segment, offset).unwrap();
                for _ in 0..20 {
                    if mutex.lock(Some(Duration::from_millis(5))).is_ok() {
                        let _ = mutex.unlock();
                    }
                }
            })
        })
        .collect();
    if dice.roll(2) == 0 {
        let i = dice.roll(MUTEXES as u64) as usize;
        let mutex = Mutex::at(&segment, MUTEX_BASE + 64 * (i)).unwrap();
        match mutex.lock(Some(Duration::from_millis(50))) {
            Ok(()) => {}
            Err(error) if error.kind() == ErrorKind::OwnerDied => mutex.consistent().unwrap(),
            Err(_) => return 0,
        }
        table.mutex_holder[i].store(n, SeqCst);
        std::thread::sleep(hold);
        if dies_holding {
            die();
        }
        table.mutex_holder[i].store(0, SeqCst);
        mutex.unlock().unwrap();
    } else {
        let c = dice.roll(CHANNELS as u64) as usize;
        let options = ChannelOptions::new().key(channel_key(base, c)).clone();
        let Ok(end) = Channel::open(&options, Role::Receiver) else {
            return 0;
        };
        table.end_holder[c].store(n, SeqCst);
        std::thread::sleep(hold);
        if dies_holding {
            die();
        }
        table.end_holder[c].store(0, SeqCst);
        drop(end);
    }
    for thread in busy {
        thread.join().unwrap();
    }
    0
}

fn die() -> ! {
    // SAFETY: ends this process at once, every thread included. (Not raise():
    // in a raw clone child glibc's cached thread id is the parent's.)
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    unreachable!()
}

/// A waiter's life: try to take every lock and end, checking each takeover.
fn waiter(w: usize, key: Key, base: Key, dir: &std::path::Path) -> i32 {
    let segment = OpenOptions::new().key(key).open().unwrap();
    let table = truth(&segment);
    let mut dice = Dice(0x1234_5678 + w as u64);
    // A mutex is held by a thread, a channel end by a process: each is
    // checked against its own witness.
    let check = |holder: u64, what: &str| {
        if holder == 0 {
            return;
        }
        table.checked[w].fetch_add(1, SeqCst);
        let gone = match what {
            // The kernel clears the word only while other threads share the
            // memory: a thread that exits last is witnessed by its process.
            "a mutex" => {
                table.threads[holder as usize].load(SeqCst) == 0 || witness_gone(dir, holder)
            }
            _ => witness_gone(dir, holder),
        };
        if !gone {
            table.wrong[w].fetch_add(1, SeqCst);
            let pid = table.pids[holder as usize].load(SeqCst);
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            eprintln!("waiter {w}: took {what} over from holder {holder} (pid {pid}), which is alive: {stat}");
        }
    };
    while table.stop.load(SeqCst) == 0 {
        if dice.roll(2) == 0 {
            let i = dice.roll(MUTEXES as u64) as usize;
            let mutex = Mutex::at(&segment, MUTEX_BASE + 64 * (i)).unwrap();
            match mutex.lock(Some(Duration::from_millis(20))) {
                Ok(()) => mutex.unlock().unwrap(),
                Err(error) if error.kind() == ErrorKind::OwnerDied => {
                    check(table.mutex_holder[i].swap(0, SeqCst), "a mutex");
                    mutex.consistent().unwrap();
                    mutex.unlock().unwrap();
                }
                Err(_) => {}
            }
        } else {
            let c = dice.roll(CHANNELS as u64) as usize;
            let options = ChannelOptions::new().key(channel_key(base, c)).clone();
            if let Ok(end) = Channel::open(&options, Role::Receiver) {
                check(table.end_holder[c].swap(0, SeqCst), "a channel end");
                drop(end);
            }
        }
    }
    let (alive, gone, cannot_tell) = rshm::liveness::judgements();
    table.alive[w].store(alive, SeqCst);
    table.gone[w].store(gone, SeqCst);
    table.cannot_tell[w].store(cannot_tell, SeqCst);
    0
}

/// Starts `body` in a child made by `fork`, or by a raw `clone` (no atfork
/// handlers), and when `zombie_leader`, in a thread of a child whose main
/// thread exits first.
fn start(raw_clone: bool, zombie_leader: bool, body: impl FnOnce() -> i32 + Send + 'static) -> i32 {
    // SAFETY: a fork-like child that runs body and leaves with _exit.
    let pid = unsafe {
        if raw_clone {
            libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) as i32
        } else {
            libc::fork()
        }
    };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY: alarm and _exit in the child.
        unsafe { libc::alarm(30) };
        if zombie_leader {
            std::thread::spawn(move || {
                let code = body();
                // SAFETY: ends the whole process with the body's code.
                unsafe { libc::_exit(code) }
            });
            // SAFETY: the main thread alone exits (exit(2), not exit_group), unwinding
            // nothing; the process lives on in the thread above.
            unsafe { libc::syscall(libc::SYS_exit, 0) };
            unreachable!("exit(2) returned");
        }
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
        // SAFETY: _exit ends the child.
        unsafe { libc::_exit(code) };
    }
    pid
}

#[test]
fn no_live_holder_is_ever_judged_gone_under_churn() {
    let key = unique_key(line!());
    let base = unique_key(line!() + 1);
    let segment = keyed_segment(key, 4096);
    for i in 0..MUTEXES {
        Mutex::init(&segment, MUTEX_BASE + 64 * (i)).unwrap();
    }
    let options = ChannelOptions::new().remove_on_close(true).clone();
    let senders: Vec<_> = (0..CHANNELS)
        .map(|c| {
            Channel::create(
                options.clone().key(channel_key(base, c)),
                4096,
                Role::Sender,
            )
            .unwrap()
        })
        .collect();
    let dir = std::env::temp_dir().join(format!("rshm-liveness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let table = truth(&segment);

    let waiters: Vec<_> = (0..WAITERS)
        .map(|w| {
            let dir = dir.clone();
            start(false, false, move || waiter(w, key, base, &dir))
        })
        .collect();
    let started = Instant::now();
    let mut running = Vec::new();
    let mut failed = 0;
    for n in 1..=HOLDERS {
        if running.len() == AT_ONCE {
            let pid: i32 = running.remove(0);
            let code = reap(pid);
            if code != 0 && code != 128 + libc::SIGKILL {
                eprintln!("holder {pid}: exit {code}");
                failed += 1;
            }
        }
        let dir = dir.clone();
        running.push(start(n % 3 == 1, n % 4 == 2, move || {
            holder(n, key, base, &dir)
        }));
    }
    for pid in running {
        let code = reap(pid);
        if code != 0 && code != 128 + libc::SIGKILL {
            eprintln!("holder {pid}: exit {code}");
            failed += 1;
        }
    }
    // Let the waiters find the last holders that died holding.
    std::thread::sleep(Duration::from_millis(300));
    table.stop.store(1, SeqCst);
    for pid in waiters {
        assert_eq!(reap(pid), 0, "a waiter failed");
    }
    let sum = |column: &[AtomicU64; WAITERS]| column.iter().map(|v| v.load(SeqCst)).sum::<u64>();
    let (checked, wrong) = (sum(&table.checked), sum(&table.wrong));
    let (alive, gone, cannot_tell) = (sum(&table.alive), sum(&table.gone), sum(&table.cannot_tell));
    println!(
        "liveness stress: {HOLDERS} holders in {:.1} s; waiters' judgements: {alive} alive, \
         {gone} gone, {cannot_tell} cannot tell; {checked} takeovers checked against the \
         holder's witness, {wrong} of a live holder",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
    drop(senders);
    assert_eq!(failed, 0, "a holder failed");
    assert_eq!(wrong, 0, "a live holder was judged gone");
    assert!(gone > 0 && alive > 0, "the waiters judged both ways");
    assert!(checked > 0, "holders that died holding were taken over");
}
