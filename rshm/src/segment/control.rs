//! `shmctl`: every command glibc accepts, the structures they fill (glibc's
//! layouts), and the explanation of each failure. The kernel decides; rshm explains.

use crate::error::call::ShmctlCall;
use crate::error::{Errno, Error, Result};
use crate::sys;
use libc::{c_int, c_ulong, c_void};
use std::fmt;

/// `SHM_STAT`: IPC_STAT by index into the kernel's table; returns the id.
pub const SHM_STAT: c_int = 13;
/// `SHM_INFO`: system-wide usage into a `struct shm_info`.
pub const SHM_INFO: c_int = 14;
/// `SHM_STAT_ANY`: SHM_STAT without the read-permission check (Linux 4.17).
pub const SHM_STAT_ANY: c_int = 15;
/// `SHM_DEST` in `shm_perm.mode`: marked for removal when the last process detaches.
pub const SHM_DEST: u32 = 0o1000;
/// `SHM_LOCKED` in `shm_perm.mode`: locked in memory with SHM_LOCK.
pub const SHM_LOCKED: u32 = 0o2000;

/// glibc's `struct shminfo`, filled by `IPC_INFO`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct shminfo {
    pub shmmax: c_ulong,
    pub shmmin: c_ulong,
    pub shmmni: c_ulong,
    pub shmseg: c_ulong,
    pub shmall: c_ulong,
    pub __glibc_reserved: [c_ulong; 4],
}

/// glibc's `struct shm_info`, filled by `SHM_INFO`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct shm_info {
    pub used_ids: c_int,
    pub shm_tot: c_ulong,
    pub shm_rss: c_ulong,
    pub shm_swp: c_ulong,
    pub swap_attempts: c_ulong,
    pub swap_successes: c_ulong,
}

/// A `shmctl` command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Stat,
    Set,
    Remove,
    Info,
    ShmInfo,
    ShmStat,
    ShmStatAny,
    Lock,
    Unlock,
}

impl Command {
    /// The command for a C `cmd`, or `None` for one the kernel does not know.
    pub fn from_raw(cmd: c_int) -> Option<Command> {
        Some(match cmd {
            libc::IPC_STAT => Command::Stat,
            libc::IPC_SET => Command::Set,
            libc::IPC_RMID => Command::Remove,
            libc::IPC_INFO => Command::Info,
            SHM_INFO => Command::ShmInfo,
            SHM_STAT => Command::ShmStat,
            SHM_STAT_ANY => Command::ShmStatAny,
            libc::SHM_LOCK => Command::Lock,
            libc::SHM_UNLOCK => Command::Unlock,
            _ => return None,
        })
    }

    /// The C value of the command.
    pub fn raw(self) -> c_int {
        match self {
            Command::Stat => libc::IPC_STAT,
            Command::Set => libc::IPC_SET,
            Command::Remove => libc::IPC_RMID,
            Command::Info => libc::IPC_INFO,
            Command::ShmInfo => SHM_INFO,
            Command::ShmStat => SHM_STAT,
            Command::ShmStatAny => SHM_STAT_ANY,
            Command::Lock => libc::SHM_LOCK,
            Command::Unlock => libc::SHM_UNLOCK,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Command::Stat => "IPC_STAT",
            Command::Set => "IPC_SET",
            Command::Remove => "IPC_RMID",
            Command::Info => "IPC_INFO",
            Command::ShmInfo => "SHM_INFO",
            Command::ShmStat => "SHM_STAT",
            Command::ShmStatAny => "SHM_STAT_ANY",
            Command::Lock => "SHM_LOCK",
            Command::Unlock => "SHM_UNLOCK",
        }
    }

    /// Whether the first argument is a table index rather than a segment id.
    fn takes_index(self) -> bool {
        matches!(self, Command::ShmStat | Command::ShmStatAny)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn shmctl_call(shmid: c_int, cmd: c_int, buf: *const c_void) -> String {
    ShmctlCall { shmid, cmd, buf }.to_string()
}

/// `shmctl(shmid, cmd, buf)` with glibc's result and errno for every input.
/// An unknown `cmd` fails with EINVAL as the kernel would, without a syscall.
///
/// # Safety
/// `buf` goes to the kernel as is (see [`Command`] for what each command reads
/// or writes there); NULL or unmapped pointers come back as `EFAULT`.
#[inline]
pub unsafe fn control_raw(shmid: c_int, cmd: c_int, buf: *mut c_void) -> Result<c_int> {
    let Some(command) = Command::from_raw(cmd) else {
        return Err(unknown_command(shmid, cmd, buf));
    };
    // SAFETY: forwarded contract.
    unsafe { control(shmid, command, buf) }
}

#[cold]
#[inline(never)]
fn unknown_command(shmid: c_int, cmd: c_int, buf: *mut c_void) -> Error {
    Error::InvalidArgument {
        call: shmctl_call(shmid, cmd, buf),
        reason: format!(
            "cmd {cmd} is not a shmctl command (IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, SHM_INFO, \
             SHM_STAT, SHM_STAT_ANY, SHM_LOCK, SHM_UNLOCK)"
        ),
    }
}

/// `shmctl` with a known command.
///
/// # Safety
/// As [`control_raw`].
#[inline]
pub unsafe fn control(shmid: c_int, command: Command, buf: *mut c_void) -> Result<c_int> {
    // SAFETY: forwarded contract: buf goes to the kernel, which checks it.
    unsafe { sys::shmctl(shmid, command.raw(), buf) }
        .map_err(|errno| explain(errno, shmid, command, buf))
}

/// Why `shmctl` failed, in words. Runs on the error path only.
#[cold]
#[inline(never)]
fn explain(errno: Errno, shmid: c_int, command: Command, buf: *mut c_void) -> Error {
    let call = shmctl_call(shmid, command.raw(), buf);
    let what = if command.takes_index() { "index" } else { "id" };
    let reason = match errno.0 {
        libc::EINVAL if shmid < 0 => format!("the segment {what} must not be negative"),
        libc::EINVAL if command.takes_index() => format!("no segment is at index {shmid}"),
        libc::EINVAL => format!("no segment has id {shmid}"),
        libc::EFAULT if buf.is_null() => format!("{command} needs a buffer and buf is NULL"),
        libc::EFAULT => format!("buf {buf:p} is not memory the kernel can read or write"),
        libc::EIDRM => format!("segment {shmid} was removed"),
        libc::EACCES => format!("{command} needs read permission on segment {shmid}, which its mode does not grant"),
        libc::EPERM => match command {
            Command::Lock | Command::Unlock => format!(
                "{command} needs CAP_IPC_LOCK, or to own segment {shmid} within RLIMIT_MEMLOCK"
            ),
            _ => format!(
                "{command} needs the caller to be the owner or creator of segment {shmid}, or CAP_SYS_ADMIN"
            ),
        },
        libc::ENOMEM => format!("locking segment {shmid} would exceed RLIMIT_MEMLOCK"),
        libc::EOVERFLOW => "a value does not fit the structure's fields".into(),
        _ => "the kernel refused the command".into(),
    };
    Error::from_errno(errno, call, reason)
}

/// System-wide limits on shared memory (`IPC_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest segment in bytes (`kernel.shmmax`).
    pub max_segment_size: u64,
    /// Smallest segment in bytes (always 1 on Linux).
    pub min_segment_size: u64,
    /// Most segments in the namespace (`kernel.shmmni`).
    pub max_segments: u64,
    /// Most pages of shared memory in the namespace (`kernel.shmall`).
    pub max_total_pages: u64,
}

/// System-wide usage of shared memory (`SHM_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Segments that exist now.
    pub segments: u32,
    /// Pages allocated to segments.
    pub total_pages: u64,
    /// Pages resident in memory.
    pub resident_pages: u64,
    /// Pages swapped out.
    pub swapped_pages: u64,
    /// The highest index in use in the kernel's table (what `SHM_INFO` returns).
    pub highest_index: i32,
}

/// The limits of this IPC namespace.
pub fn limits() -> Result<Limits> {
    let mut info = shminfo::default();
    // SAFETY: info is a writable shminfo, the structure IPC_INFO fills.
    unsafe { control(0, Command::Info, (&mut info as *mut shminfo).cast()) }?;
    Ok(Limits {
        max_segment_size: info.shmmax,
        min_segment_size: info.shmmin,
        max_segments: info.shmmni,
        max_total_pages: info.shmall,
    })
}

/// What this IPC namespace uses now.
pub fn usage() -> Result<Usage> {
    let mut info = shm_info::default();
    // SAFETY: info is a writable shm_info, the structure SHM_INFO fills.
    let highest_index =
        unsafe { control(0, Command::ShmInfo, (&mut info as *mut shm_info).cast()) }?;
    Ok(Usage {
        segments: info.used_ids as u32,
        total_pages: info.shm_tot,
        resident_pages: info.shm_rss,
        swapped_pages: info.shm_swp,
        highest_index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_round_trips() {
        for cmd in -1..20 {
            if let Some(command) = Command::from_raw(cmd) {
                assert_eq!(command.raw(), cmd);
            }
        }
        assert_eq!(Command::from_raw(libc::IPC_STAT), Some(Command::Stat));
        assert_eq!(Command::from_raw(12345), None);
    }

    #[test]
    fn unknown_command_is_einval_without_a_syscall() {
        // SAFETY: an unknown command never reaches the kernel, so buf is not used.
        let error = unsafe { control_raw(0, 12345, std::ptr::null_mut()) }.unwrap_err();
        assert_eq!(error.errno(), libc::EINVAL);
        assert!(error
            .to_string()
            .starts_with("shmctl(shmid=0, cmd=12345, buf=NULL): cmd 12345 is not"));
    }

    #[test]
    fn structures_have_glibc_sizes() {
        assert_eq!(std::mem::size_of::<shminfo>(), 72);
        assert_eq!(std::mem::size_of::<shm_info>(), 48);
    }
}
