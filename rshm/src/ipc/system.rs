//! What the classification asks of the system: whether a recorded pid still
//! names the process that was recorded (by [`ProcessId`] and its start time),
//! and whether the calling process may remove an object.

use super::Owner;
use crate::liveness::{judge_process, Liveness, ProcessId, Start};
use crate::sys;

/// What became of a recorded process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PidState {
    /// It still runs.
    Running,
    /// No process has the id, or only a zombie.
    Gone,
    /// The id now names a process that started after the recorded one was
    /// seen at work: the recorded one is gone.
    Reused,
    /// Its `/proc` entry may not be read: it cannot be told.
    Unknown,
    /// The kernel reports 0 where a process was recorded: it ran in a PID
    /// namespace this process cannot see.
    Hidden,
}

impl PidState {
    /// The stable name scripts read: `running`, `gone`, `reused`, `unknown`, `hidden`.
    pub const fn name(self) -> &'static str {
        match self {
            PidState::Running => "running",
            PidState::Gone => "gone",
            PidState::Reused => "reused",
            PidState::Unknown => "unknown",
            PidState::Hidden => "hidden",
        }
    }

    /// Whether the recorded process is known to be gone (`Gone` or `Reused`).
    pub const fn is_gone(self) -> bool {
        matches!(self, PidState::Gone | PidState::Reused)
    }
}

/// A process that started this many seconds after an object's last use by
/// the pid it records is taken for another process with a reused id. The
/// margin covers the rounding of boot time and start time to whole seconds
/// and small clock adjustments; a process that reuses the id sooner is taken
/// for the recorded one, which keeps its object (the safe side).
const REUSE_MARGIN_SECONDS: i64 = 60;

/// `CAP_SYS_ADMIN`, whose holder may remove any object of its IPC namespace.
const CAP_SYS_ADMIN: u32 = 21;

/// The clock of process start times: boot time in Unix seconds and clock
/// ticks per second, to turn `/proc/ID/stat`'s start (ticks after boot) into
/// a time comparable with an object's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BootClock {
    boot_time: i64,
    ticks_per_second: u64,
}

impl BootClock {
    /// The running system's, from `/proc/stat`'s `btime`; `None` if unreadable.
    pub(crate) fn read() -> Option<BootClock> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let boot_time = stat
            .lines()
            .find_map(|line| line.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        Some(BootClock {
            boot_time,
            ticks_per_second: sys::clock_ticks_per_second(),
        })
    }

    /// When a process with start time `start` (ticks after boot) started, in Unix seconds.
    fn started_at(self, start: u64) -> i64 {
        self.boot_time + (start / self.ticks_per_second.max(1)) as i64
    }
}

/// How the recorded pids of objects are judged: [`SystemProcesses`] in
/// use, a table in the tests.
pub(crate) trait Processes {
    /// What became of the process recorded as `pid`, known to have existed at
    /// `used_at` (Unix seconds). `pid` is never 0 here.
    fn judge(&self, pid: i32, used_at: i64) -> PidState;
}

/// The processes of this system, judged through `/proc`.
pub(crate) struct SystemProcesses {
    clock: Option<BootClock>,
}

impl SystemProcesses {
    pub(crate) fn new() -> SystemProcesses {
        SystemProcesses {
            clock: BootClock::read(),
        }
    }
}

impl Processes for SystemProcesses {
    fn judge(&self, pid: i32, used_at: i64) -> PidState {
        // The kernel keeps no start time with the pid: the process that has
        // it now is judged as a process (alive while any thread runs), and one
        // that started after the recorded one was seen at work cannot be it.
        match judge_process(pid, Start::Unrecorded) {
            Liveness::Gone => return PidState::Gone,
            Liveness::CannotTell => return PidState::Unknown,
            Liveness::Alive => {}
        }
        if let (Some(clock), Some(now)) = (self.clock, ProcessId::of(pid)) {
            if clock.started_at(now.start) > used_at.saturating_add(REUSE_MARGIN_SECONDS)
                && judge_process(pid, Start::Full(now.start)) == Liveness::Alive
            {
                return PidState::Reused;
            }
        }
        PidState::Running
    }
}

/// The calling process, as the kernel judges who may remove an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The effective user id.
    pub euid: u32,
    /// Whether it holds `CAP_SYS_ADMIN` (root does), which may remove any object.
    pub sys_admin: bool,
}

impl Caller {
    /// This process.
    pub fn this_process() -> Caller {
        let sys_admin = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let caps = status
                    .lines()
                    .find_map(|line| line.strip_prefix("CapEff:"))?;
                u64::from_str_radix(caps.trim(), 16).ok()
            })
            .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0);
        Caller {
            euid: sys::effective_uid(),
            sys_admin,
        }
    }

    /// Whether the kernel lets it remove an object with this owner: its
    /// owner, its creator, or a holder of `CAP_SYS_ADMIN`.
    pub fn may_remove(self, owner: &Owner) -> bool {
        self.sys_admin || self.euid == owner.uid || self.euid == owner.cuid
    }
}

/// Whether this process may remove an object with this owner (see [`Caller::may_remove`]).
pub fn caller_may_remove(owner: &Owner) -> bool {
    Caller::this_process().may_remove(owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_ticks_become_unix_seconds() {
        let clock = BootClock {
            boot_time: 1_700_000_000,
            ticks_per_second: 100,
        };
        assert_eq!(clock.started_at(0), 1_700_000_000);
        assert_eq!(clock.started_at(12_345), 1_700_000_123);
    }

    #[test]
    #[cfg_attr(miri, ignore = "/proc: Miri cannot make syscalls")]
    fn this_process_runs_unless_it_started_after_the_use() {
        let me = std::process::id() as i32;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let system = SystemProcesses::new();
        assert!(system.clock.is_some());
        assert_eq!(system.judge(me, now), PidState::Running);
        assert_eq!(
            system.judge(me, 1_000_000),
            PidState::Reused,
            "a use in 1970 was not this process's"
        );
        assert_eq!(system.judge(i32::MAX, now), PidState::Gone);
    }

    #[test]
    fn owners_creators_and_admins_may_remove() {
        let owner = Owner {
            uid: 1000,
            gid: 1000,
            cuid: 1001,
            cgid: 1001,
            mode: 0o600,
        };
        let user = |euid| Caller {
            euid,
            sys_admin: false,
        };
        assert!(user(1000).may_remove(&owner) && user(1001).may_remove(&owner));
        assert!(!user(1002).may_remove(&owner));
        assert!(Caller {
            euid: 1002,
            sys_admin: true
        }
        .may_remove(&owner));
    }
}
