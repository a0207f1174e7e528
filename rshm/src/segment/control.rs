//! `shmctl`: every command glibc accepts, the structures they fill (glibc's
//! layouts), and the explanation of each failure. The kernel decides; rshm explains.

use crate::error::{msg, shmctl_command_name, Arg, Call, Errno, Error, Message, Result};
use crate::error::{SHM_INFO, SHM_STAT, SHM_STAT_ANY};
use crate::sys;
use libc::{c_int, c_ulong, c_void};
use std::fmt;

/// `SHM_DEST` in `shm_perm.mode`: marked for removal when the last process detaches.
pub(crate) const SHM_DEST: u32 = 0o1000;
/// `SHM_LOCKED` in `shm_perm.mode`: locked in memory with SHM_LOCK.
pub(crate) const SHM_LOCKED: u32 = 0o2000;

/// glibc's `struct shminfo`, filled by `IPC_INFO`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ShmInfoLimits {
    shmmax: c_ulong,
    shmmin: c_ulong,
    shmmni: c_ulong,
    shmseg: c_ulong,
    shmall: c_ulong,
    glibc_reserved: [c_ulong; 4],
}

/// glibc's `struct shm_info`, filled by `SHM_INFO`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ShmInfoUsage {
    used_ids: c_int,
    shm_tot: c_ulong,
    shm_rss: c_ulong,
    shm_swp: c_ulong,
    swap_attempts: c_ulong,
    swap_successes: c_ulong,
}

/// A `shmctl` command, and what it does with `buf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// `IPC_STAT`: fills a `struct shmid_ds`.
    Stat,
    /// `IPC_SET`: reads uid, gid and mode from a `struct shmid_ds`.
    Set,
    /// `IPC_RMID`: marks the segment for removal; no buffer.
    Remove,
    /// `IPC_INFO`: fills a `struct shminfo` (the limits); returns the highest index in use.
    Info,
    /// `SHM_INFO`: fills a `struct shm_info` (the usage); returns the highest index in use.
    ShmInfo,
    /// `SHM_STAT`: `IPC_STAT` by index into the kernel's table; returns the id.
    ShmStat,
    /// `SHM_STAT_ANY`: `SHM_STAT` without the read-permission check (Linux 4.17).
    ShmStatAny,
    /// `SHM_LOCK`: keeps the segment's pages in memory; no buffer.
    Lock,
    /// `SHM_UNLOCK`: lets them be swapped again; no buffer.
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

    /// Whether the first argument is a table index rather than a segment id.
    fn takes_index(self) -> bool {
        matches!(self, Command::ShmStat | Command::ShmStatAny)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(shmctl_command_name(self.raw()).unwrap_or("?"))
    }
}

/// `shmctl(id, command, buf)`, with the kernel's result (0; an index for
/// `Info`/`ShmInfo`; an id for `ShmStat`/`ShmStatAny`) and errno, explained.
/// `id` is a table index for `ShmStat` and `ShmStatAny` and ignored by `Info`
/// and `ShmInfo`.
///
/// # Safety
/// `buf` goes to the kernel as is (see [`Command`] for what each command
/// reads or writes there); NULL or unmapped pointers come back as `EFAULT`.
#[inline]
pub unsafe fn shmctl(id: c_int, command: Command, buf: *mut c_void) -> Result<c_int> {
    // SAFETY: forwarded contract: buf goes to the kernel, which checks it.
    unsafe { sys::shmctl(id, command.raw(), buf) }.map_err(|errno| explain(errno, id, command, buf))
}

/// Why `shmctl` failed, in words. Runs on the error path only.
#[cold]
#[inline(never)]
fn explain(errno: Errno, shmid: c_int, command: Command, buf: *mut c_void) -> Error {
    let call = Call::Shmctl {
        shmid,
        cmd: command.raw(),
        buf: buf as usize,
    };
    let cmd = Arg::ShmctlCommand(command.raw());
    let reason: Message = match errno.raw() {
        libc::EINVAL if shmid < 0 && command.takes_index() => {
            msg!("the segment index must not be negative")
        }
        libc::EINVAL if shmid < 0 => msg!("the segment id must not be negative"),
        libc::EINVAL if command.takes_index() => msg!("no segment is at index {}", shmid),
        libc::EINVAL => msg!("no segment has id {}", shmid),
        libc::EFAULT if buf.is_null() => msg!("{} needs a buffer and buf is NULL", cmd),
        libc::EFAULT => msg!(
            "buf {} is not memory the kernel can read or write",
            Arg::Pointer(buf as usize)
        ),
        libc::EIDRM => msg!("segment {} was removed", shmid),
        libc::EACCES => msg!(
            "{} needs read permission on segment {}, which its mode does not grant",
            cmd,
            shmid
        ),
        libc::EPERM => match command {
            Command::Lock | Command::Unlock => msg!(
                "{} needs CAP_IPC_LOCK, or to own segment {} within RLIMIT_MEMLOCK",
                cmd,
                shmid
            ),
            _ => msg!(
                "{} needs the caller to be the owner or creator of segment {}, or CAP_SYS_ADMIN",
                cmd,
                shmid
            ),
        },
        libc::ENOMEM => msg!("locking segment {} would exceed RLIMIT_MEMLOCK", shmid),
        libc::EOVERFLOW => msg!("a value does not fit the structure's fields"),
        _ => msg!("the kernel refused the command"),
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

/// The shared memory limits of this IPC namespace.
pub fn limits() -> Result<Limits> {
    let mut info = ShmInfoLimits::default();
    // SAFETY: info is a writable shminfo, the structure IPC_INFO fills.
    unsafe { shmctl(0, Command::Info, (&mut info as *mut ShmInfoLimits).cast()) }?;
    Ok(Limits {
        max_segment_size: info.shmmax,
        min_segment_size: info.shmmin,
        max_segments: info.shmmni,
        max_total_pages: info.shmall,
    })
}

/// What this IPC namespace uses of shared memory now.
pub fn usage() -> Result<Usage> {
    let mut info = ShmInfoUsage::default();
    // SAFETY: info is a writable shm_info, the structure SHM_INFO fills.
    let highest_index =
        unsafe { shmctl(0, Command::ShmInfo, (&mut info as *mut ShmInfoUsage).cast()) }?;
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
                assert_eq!(command.to_string(), shmctl_command_name(cmd).unwrap());
            }
        }
        assert_eq!(Command::from_raw(libc::IPC_STAT), Some(Command::Stat));
        assert_eq!(Command::from_raw(12345), None);
    }

    #[test]
    fn structures_have_glibc_sizes() {
        assert_eq!(std::mem::size_of::<ShmInfoLimits>(), 72);
        assert_eq!(std::mem::size_of::<ShmInfoUsage>(), 48);
    }
}
