//! The judgement: is a recorded process (or thread) alive, gone, or can it
//! not be told? `Gone` only on positive evidence:
//! - the kernel says no such process or thread exists in this PID namespace
//!   (`pidfd_open` or `kill(id, 0)` answering `ESRCH`), or that the process
//!   has exited, all its threads (a `pidfd` that polls readable: a zombie
//!   awaiting its parent too);
//! - or a `/proc` proven to be our own namespace's ([`procfs::is_ours`]) shows
//!   the id with a later start time (the id was reused), or shows the thread
//!   exited.
//!
//! A process lives while any of its threads does: a leader in state `Z`
//! whose process still counts threads is alive. A thread lives while its own
//! id does. Everything else (a `/proc` entry we may not read, a `/proc` of
//! another namespace, a kernel that cannot answer) is `CannotTell`.

use super::identity::{PackedId, ProcessId};
use super::procfs::{self, Stat, Who};
use super::Liveness;
use crate::sys;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What a recorded start time must match: all of it, or its low 32 bits
/// (a packed holder word), or nothing (the kernel recorded only a pid).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    Full(u64),
    Low(u32),
    Unrecorded,
}

impl Start {
    fn matches(self, start: u64) -> bool {
        match self {
            Start::Full(recorded) => recorded == start,
            Start::Low(recorded) => recorded == start as u32,
            Start::Unrecorded => true,
        }
    }
}

/// The judgements made, by answer: read by the liveness stress test.
static COUNTS: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];

fn counted(answer: Liveness) -> Liveness {
    COUNTS[answer as usize].fetch_add(1, Relaxed);
    answer
}

/// How many judgements this process made: (alive, gone, cannot tell).
#[doc(hidden)]
pub fn judgements() -> (u64, u64, u64) {
    let [alive, gone, cannot_tell] = &COUNTS;
    (
        alive.load(Relaxed),
        gone.load(Relaxed),
        cannot_tell.load(Relaxed),
    )
}

/// `Gone` if this `/proc` is proven to be our namespace's, `CannotTell` otherwise.
fn gone_if_proc_is_ours() -> Liveness {
    if procfs::is_ours() {
        Liveness::Gone
    } else {
        Liveness::CannotTell
    }
}

/// The process (thread group) `id` that started at `start`.
pub(crate) fn process(id: i32, start: Start) -> Liveness {
    counted(judge_process(id, start))
}

fn judge_process(id: i32, start: Start) -> Liveness {
    if id <= 0 {
        return Liveness::Gone; // no process was recorded
    }
    // The kernel first: does a process `id` exist here, and has it exited?
    let pidfd = match sys::process_exited(id) {
        Ok(true) => return Liveness::Gone, // all its threads exited
        Ok(false) => true,
        Err(errno) if errno.raw() == libc::ESRCH => return Liveness::Gone,
        // `id` names no thread group (EINVAL before Linux 6.9, ENOENT since): if it
        // names a thread of another process, the process recorded under it is gone.
        Err(errno) if errno.raw() == libc::EINVAL || errno.raw() == libc::ENOENT => {
            return match procfs::thread_group(id) {
                Some(group) if group != id as u64 => gone_if_proc_is_ours(),
                _ => Liveness::CannotTell,
            };
        }
        // No pidfd here (a kernel before 5.3, no descriptor left, valgrind): kill and /proc.
        Err(_) => match sys::probe_process(id) {
            Err(errno) if errno.raw() == libc::ESRCH => return Liveness::Gone,
            _ => match procfs::thread_group(id) {
                Some(group) if group != id as u64 => return gone_if_proc_is_ours(),
                _ => false, // exists (or cannot be asked): /proc tells the rest
            },
        },
    };
    // It exists: is it the recorded one (its start time), and does it run?
    match procfs::stat(Who::Id(id)) {
        Ok(Some(now)) if !start.matches(now.start) => gone_if_proc_is_ours(),
        Ok(Some(now)) if !pidfd && now.exited() => match procfs::threads(id) {
            Some(threads) if threads > 1 => Liveness::Alive, // a Z leader, threads running
            Some(_) => gone_if_proc_is_ours(),
            None => Liveness::CannotTell,
        },
        Ok(Some(_)) if matches!(start, Start::Unrecorded) || procfs::is_ours() => Liveness::Alive,
        // Our /proc may name another process under this id: its start time proves nothing.
        Ok(Some(_)) => Liveness::CannotTell,
        Ok(None) => Liveness::CannotTell,
        // It existed a moment ago and has no entry now: it was reaped, or /proc hides it.
        Err(errno) if errno.raw() == libc::ENOENT => match sys::probe_process(id) {
            Err(errno) if errno.raw() == libc::ESRCH => Liveness::Gone,
            _ => Liveness::CannotTell,
        },
        Err(_) => Liveness::CannotTell,
    }
}

/// The thread `id` that started at `start`.
pub(crate) fn thread(id: i32, start: Start) -> Liveness {
    counted(judge_thread(id, start))
}

fn judge_thread(id: i32, start: Start) -> Liveness {
    if id <= 0 {
        return Liveness::Gone;
    }
    // kill(id, 0) finds any task with the id, a thread of another process too.
    if let Err(errno) = sys::probe_process(id) {
        if errno.raw() == libc::ESRCH {
            return Liveness::Gone;
        }
    }
    match procfs::stat(Who::Id(id)) {
        Ok(Some(Stat { start: now, .. })) if !start.matches(now) => gone_if_proc_is_ours(),
        Ok(Some(stat)) if stat.exited() => gone_if_proc_is_ours(),
        Ok(Some(_)) if procfs::is_ours() => Liveness::Alive,
        Ok(_) => Liveness::CannotTell,
        Err(errno) if errno.raw() == libc::ENOENT => match sys::probe_process(id) {
            Err(errno) if errno.raw() == libc::ESRCH => Liveness::Gone,
            _ => Liveness::CannotTell,
        },
        Err(_) => Liveness::CannotTell,
    }
}

impl ProcessId {
    /// Whether the process (thread group) it names still runs: alive while
    /// any of its threads does.
    pub fn liveness(self) -> Liveness {
        process(self.id, Start::Full(self.start))
    }

    /// Whether the thread it names still runs.
    pub fn thread_liveness(self) -> Liveness {
        thread(self.id, Start::Full(self.start))
    }
}

impl PackedId {
    /// Whether the process it names still runs (by its id and 32 bits of its start).
    pub fn liveness(self) -> Liveness {
        process(self.id(), Start::Low(self.start_low()))
    }

    /// Whether the thread it names still runs (by its id and 32 bits of its start).
    pub fn thread_liveness(self) -> Liveness {
        thread(self.id(), Start::Low(self.start_low()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "/proc: Miri cannot make syscalls")]
    fn we_live_and_what_never_was_is_gone() {
        let me = ProcessId::this_process();
        assert_eq!(me.liveness(), Liveness::Alive);
        assert_eq!(
            ProcessId::unpack(me.pack()).unwrap().liveness(),
            Liveness::Alive
        );
        let reused = ProcessId {
            start: me.start + 1,
            ..me
        };
        assert_eq!(reused.liveness(), Liveness::Gone, "a reused id");
        assert_eq!(ProcessId { id: 0, start: 0 }.liveness(), Liveness::Gone);
        let never = ProcessId {
            id: i32::MAX,
            start: 1,
        };
        assert_eq!(never.liveness(), Liveness::Gone);
        assert_eq!(never.thread_liveness(), Liveness::Gone);
        assert_eq!(process(me.id, Start::Unrecorded), Liveness::Alive);
    }

    #[test]
    #[cfg_attr(miri, ignore = "/proc: Miri cannot make syscalls")]
    fn a_thread_lives_until_it_exits_and_is_no_process() {
        let main = ProcessId::this_thread();
        assert_eq!(main.thread_liveness(), Liveness::Alive);
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            tx.send(ProcessId::this_thread()).unwrap();
            done_rx.recv().unwrap();
        });
        let other = rx.recv().unwrap();
        assert_eq!(other.thread_liveness(), Liveness::Alive);
        assert_eq!(
            other.liveness(),
            Liveness::Gone,
            "a thread's id names no process: a process recorded under it is gone"
        );
        done_tx.send(()).unwrap();
        handle.join().unwrap();
        // join returns once the thread cleared its id, which the kernel does
        // before it takes the thread out of /proc: give the exit a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while other.thread_liveness() != Liveness::Gone && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(other.thread_liveness(), Liveness::Gone);
        let (alive, gone, _) = judgements();
        assert!(alive >= 2 && gone >= 2, "judgements are counted");
    }
}
