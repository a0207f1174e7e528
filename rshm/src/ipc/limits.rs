//! The limits of this IPC namespace on semaphore sets and message queues
//! (`IPC_INFO`) and how much of each is used (`SEM_INFO`, `MSG_INFO`); the
//! segments' are [`crate::limits`] and [`crate::usage`].

use crate::error::{msg, Call, Errno, Error, Result};
use crate::sys;
use libc::{c_int, c_ushort};

/// The kernel's `struct msginfo`, filled by `IPC_INFO` and `MSG_INFO` (no libc binding).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct MsgInfo {
    msgpool: c_int,
    msgmap: c_int,
    msgmax: c_int,
    msgmnb: c_int,
    msgmni: c_int,
    msgssz: c_int,
    msgtql: c_int,
    msgseg: c_ushort,
}

/// `MSG_INFO`: `IPC_INFO` with the usage in `msgpool`, `msgmap` and `msgtql`.
const MSG_INFO: c_int = 12;

/// Limits on semaphores (`kernel.sem`: SEMMSL, SEMMNS, SEMOPM, SEMMNI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemaphoreLimits {
    /// Most semaphores in one set (SEMMSL).
    pub max_per_set: u64,
    /// Most semaphores in all sets together (SEMMNS).
    pub max_total: u64,
    /// Most operations in one `semop` call (SEMOPM).
    pub max_ops_per_call: u64,
    /// Most semaphore sets (SEMMNI).
    pub max_sets: u64,
    /// The largest value a semaphore may hold (SEMVMX, 32767).
    pub max_value: u64,
}

/// What this IPC namespace uses of semaphores now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemaphoreUsage {
    /// Semaphore sets that exist.
    pub sets: u64,
    /// Semaphores in them, all sets together.
    pub semaphores: u64,
    /// The highest index in use in the kernel's table.
    pub highest_index: i32,
}

/// Limits on message queues (`kernel.msgmni`, `kernel.msgmax`, `kernel.msgmnb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Most queues (`kernel.msgmni`).
    pub max_queues: u64,
    /// The largest message in bytes (`kernel.msgmax`).
    pub max_message: u64,
    /// The bytes a new queue may hold (`kernel.msgmnb`; `IPC_SET` changes one queue's).
    pub max_queue_bytes: u64,
}

/// What this IPC namespace uses of message queues now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueUsage {
    /// Queues that exist.
    pub queues: u64,
    /// Messages waiting in all of them.
    pub messages: u64,
    /// Bytes of those messages.
    pub bytes: u64,
    /// The highest index in use in the kernel's table.
    pub highest_index: i32,
}

#[cold]
#[inline(never)]
fn info_error(errno: Errno, call: Call) -> Error {
    Error::from_errno(
        errno,
        call,
        msg!("the kernel did not report its System V IPC limits"),
    )
}

fn seminfo(cmd: c_int) -> Result<(libc::seminfo, i32)> {
    // SAFETY: all-zero is a valid seminfo.
    let mut info: libc::seminfo = unsafe { std::mem::zeroed() };
    // SAFETY: info is a writable seminfo, the structure IPC_INFO and SEM_INFO fill.
    let highest = unsafe { sys::semctl_at(0, 0, cmd, &mut info as *mut libc::seminfo as usize) }
        .map_err(|errno| {
            info_error(
                errno,
                Call::Other(msg!("semctl(semid=0, semnum=0, cmd={})", cmd)),
            )
        })?;
    Ok((info, highest))
}

fn msginfo(cmd: c_int) -> Result<(MsgInfo, i32)> {
    let mut info = MsgInfo::default();
    // SAFETY: info is a writable msginfo, the structure IPC_INFO and MSG_INFO fill.
    let highest = unsafe { sys::msgctl(0, cmd, (&mut info as *mut MsgInfo).cast()) }
        .map_err(|errno| info_error(errno, Call::Other(msg!("msgctl(msqid=0, cmd={})", cmd))))?;
    Ok((info, highest))
}

/// The semaphore limits of this IPC namespace.
pub fn semaphore_limits() -> Result<SemaphoreLimits> {
    let (info, _) = seminfo(libc::IPC_INFO)?;
    Ok(SemaphoreLimits {
        max_per_set: info.semmsl as u64,
        max_total: info.semmns as u64,
        max_ops_per_call: info.semopm as u64,
        max_sets: info.semmni as u64,
        max_value: info.semvmx as u64,
    })
}

/// What this IPC namespace uses of semaphores now.
pub fn semaphore_usage() -> Result<SemaphoreUsage> {
    let (info, highest_index) = seminfo(libc::SEM_INFO)?;
    Ok(SemaphoreUsage {
        sets: info.semusz as u64,
        semaphores: info.semaem as u64,
        highest_index,
    })
}

/// The message queue limits of this IPC namespace.
pub fn queue_limits() -> Result<QueueLimits> {
    let (info, _) = msginfo(libc::IPC_INFO)?;
    Ok(QueueLimits {
        max_queues: info.msgmni as u64,
        max_message: info.msgmax as u64,
        max_queue_bytes: info.msgmnb as u64,
    })
}

/// What this IPC namespace uses of message queues now.
pub fn queue_usage() -> Result<QueueUsage> {
    let (info, highest_index) = msginfo(MSG_INFO)?;
    Ok(QueueUsage {
        queues: info.msgpool as u64,
        messages: info.msgmap as u64,
        bytes: info.msgtql as u64,
        highest_index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structures_have_the_kernels_sizes() {
        assert_eq!(std::mem::size_of::<MsgInfo>(), 32);
        assert_eq!(std::mem::size_of::<libc::seminfo>(), 40);
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn limits_are_positive_and_usage_is_within_them() {
        let (sem, used) = (semaphore_limits().unwrap(), semaphore_usage().unwrap());
        assert!(sem.max_per_set > 0 && sem.max_sets > 0 && sem.max_total > 0);
        assert!(used.sets <= sem.max_sets, "{used:?} {sem:?}");
        let (msg, used) = (queue_limits().unwrap(), queue_usage().unwrap());
        assert!(msg.max_queues > 0 && msg.max_message > 0 && msg.max_queue_bytes > 0);
        assert!(used.queues <= msg.max_queues, "{used:?} {msg:?}");
    }
}
