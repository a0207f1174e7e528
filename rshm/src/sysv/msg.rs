//! `msgget`, `msgsnd`, `msgrcv` and `msgctl` over C values: glibc's results
//! and errno, one syscall on success, and each failure explained with the
//! queue as it is and the kernel's limits as they are now (`kernel.msgmax`,
//! `kernel.msgmnb`, `kernel.msgmni`).

use super::lookup::{queue_with_id, queue_with_key};
use super::strict::{check_flags, GET_DEFINED, RCV_DEFINED, SND_DEFINED};
use crate::error::{
    command_name, msg, Arg, Call, Errno, Error, ErrorKind, Message, MSGCTL_COMMANDS, MSG_COPY,
    MSG_EXCEPT, MSG_STAT, MSG_STAT_ANY,
};
use crate::ipc::{queue_limits, queue_usage};
use crate::{sys, Validation};
use libc::{c_int, c_long, c_void, key_t, msqid_ds};

/// `msgget(2)`: the id of the message queue for `key`, created with the
/// permission bits of `msgflg` when it has `IPC_CREAT` and the key has none
/// (always, for `IPC_PRIVATE`).
#[inline]
pub fn msgget(key: key_t, msgflg: c_int, validation: Validation) -> crate::Result<c_int> {
    check_flags(validation, msgflg, GET_DEFINED, "msgget", || Call::Msgget {
        key,
        msgflg,
    })?;
    sys::msgget(key, msgflg).map_err(|errno| explain_msgget(errno, key, msgflg))
}

#[cold]
#[inline(never)]
pub(crate) fn explain_msgget(errno: Errno, key: key_t, msgflg: c_int) -> Error {
    let call = Call::Msgget { key, msgflg };
    let existing = || queue_with_key(key);
    let reason: Message = match errno.raw() {
        libc::ENOENT => msg!("no message queue has key {} and flags lack IPC_CREAT", Arg::Key(key)),
        libc::EEXIST => match existing() {
            Some((id, _)) => msg!(
                "a queue with key {} exists (id {}) and flags have IPC_CREAT|IPC_EXCL",
                Arg::Key(key),
                id
            ),
            None => msg!("a queue with key {} exists and flags have IPC_CREAT|IPC_EXCL", Arg::Key(key)),
        },
        libc::EACCES => match existing() {
            Some((id, ds)) => msg!(
                "the queue with this key (id {}, mode {}) does not grant the caller the access in flags' mode {}",
                id,
                Arg::Mode(u32::from(ds.msg_perm.mode) & 0o777),
                Arg::Mode((msgflg & 0o777) as u32)
            ),
            None => msg!("the queue with this key does not grant the caller the access in flags' mode bits"),
        },
        libc::ENOSPC => match (queue_limits(), queue_usage()) {
            (Ok(l), Ok(u)) => msg!(
                "{} queues exist, the most MSGMNI {} allows (kernel.msgmni)",
                u.queues,
                l.max_queues
            ),
            _ => msg!("the limit on queues MSGMNI is reached (kernel.msgmni)"),
        },
        libc::ENOMEM => msg!("the kernel has no memory for a new queue"),
        _ => msg!("the kernel refused the call"),
    };
    Error::from_errno(errno, call, reason)
}

/// `msgsnd(2)`: sends the message at `msgp` (a `long` type greater than 0,
/// then `msgsz` bytes) to queue `msqid`, waiting for room unless `msgflg`
/// has `IPC_NOWAIT`.
///
/// # Safety
/// `msgp` goes to the kernel as it is; it reports a bad one as EFAULT.
#[inline]
pub unsafe fn msgsnd(
    msqid: c_int,
    msgp: *const c_void,
    msgsz: usize,
    msgflg: c_int,
    validation: Validation,
) -> crate::Result<c_int> {
    let call = || Call::Msgsnd {
        msqid,
        msgp: msgp as usize,
        msgsz,
        msgflg,
    };
    check_flags(validation, msgflg, SND_DEFINED, "msgsnd", call)?;
    // SAFETY: forwarded contract.
    match unsafe { sys::msgsnd_raw(msqid, msgp, msgsz, msgflg) } {
        Ok(()) => Ok(0),
        Err(errno) => Err(explain_msgsnd(errno, call())),
    }
}

#[cold]
#[inline(never)]
pub(crate) fn explain_msgsnd(errno: Errno, call: Call) -> Error {
    let Call::Msgsnd {
        msqid, msgp, msgsz, ..
    } = call
    else {
        return Error::from_errno(errno, call, msg!("the kernel refused the message"));
    };
    let queue = || queue_with_id(msqid);
    let max = if errno.raw() == libc::EINVAL {
        queue_limits().ok().map(|l| l.max_message)
    } else {
        None
    };
    let reason: Message = match errno.raw() {
        libc::EINVAL
            if max.is_some_and(|max| {
                msgsz as u64 > max && msgsz as u64 - max <= std::mem::size_of::<c_long>() as u64
            }) =>
        {
            msg!(
                "msgsz {} exceeds MSGMAX {} by at most the size of mtype: msgsz counts the text \
                 alone, not the long before it (kernel.msgmax)",
                msgsz,
                max.unwrap_or(0)
            )
        }
        libc::EINVAL if max.is_some_and(|max| msgsz as u64 > max) || (msgsz as isize) < 0 => msg!(
            "msgsz {} exceeds MSGMAX {} (the largest message; kernel.msgmax)",
            msgsz,
            max.unwrap_or(0)
        ),
        libc::EINVAL if msqid < 0 => msg!("msqid must not be negative"),
        libc::EINVAL => {
            // The kernel read the type before it checked anything else (EFAULT otherwise).
            // SAFETY: see above; msgp starts with a long.
            let mtype = unsafe { (msgp as *const c_long).read_unaligned() };
            if mtype < 1 {
                msg!("mtype must be greater than 0 (it is {})", mtype)
            } else {
                msg!("no message queue has id {}", msqid)
            }
        }
        libc::EAGAIN => match queue() {
            Some(ds) => msg!(
                "queue {} is full ({} of its {} bytes are taken) and flags have IPC_NOWAIT",
                msqid,
                ds.__msg_cbytes,
                ds.msg_qbytes
            ),
            None => msg!("queue {} is full and flags have IPC_NOWAIT", msqid),
        },
        libc::EACCES => match queue() {
            Some(ds) => msg!(
                "queue {} (mode {}) does not grant the caller write permission",
                msqid,
                Arg::Mode(u32::from(ds.msg_perm.mode) & 0o777)
            ),
            None => msg!("queue {} does not grant the caller write permission", msqid),
        },
        libc::EFAULT => msg!(
            "msgp {} is not memory the kernel can read",
            Arg::Pointer(msgp)
        ),
        libc::EIDRM => msg!("queue {} was removed", msqid),
        libc::EINTR => msg!("a signal interrupted the wait for room in queue {}", msqid),
        libc::ENOMEM => msg!("the kernel has no memory for a copy of the message"),
        _ => msg!("the kernel refused the message"),
    };
    Error::from_errno(errno, call, reason)
}

/// `msgrcv(2)`: takes a message from queue `msqid` into `msgp` (its `long`
/// type, then at most `msgsz` bytes) by `msgtyp` (0: the first; > 0: the
/// first of that type, or of another with `MSG_EXCEPT`; < 0: the first of
/// the lowest type up to |msgtyp|); returns the bytes of text received.
///
/// # Safety
/// `msgp` goes to the kernel as it is; it reports a bad one as EFAULT.
#[inline]
pub unsafe fn msgrcv(
    msqid: c_int,
    msgp: *mut c_void,
    msgsz: usize,
    msgtyp: c_long,
    msgflg: c_int,
    validation: Validation,
) -> crate::Result<isize> {
    let call = || Call::Msgrcv {
        msqid,
        msgp: msgp as usize,
        msgsz,
        msgtyp,
        msgflg,
    };
    check_flags(validation, msgflg, RCV_DEFINED, "msgrcv", call)?;
    // SAFETY: forwarded contract.
    match unsafe { sys::msgrcv_raw(msqid, msgp, msgsz, msgtyp, msgflg) } {
        Ok(len) => Ok(len as isize),
        Err(errno) => Err(explain_msgrcv(errno, call())),
    }
}

#[cold]
#[inline(never)]
pub(crate) fn explain_msgrcv(errno: Errno, call: Call) -> Error {
    let Call::Msgrcv {
        msqid,
        msgp,
        msgsz,
        msgtyp,
        msgflg,
    } = call
    else {
        return Error::from_errno(errno, call, msg!("the kernel refused the call"));
    };
    let copy = msgflg & MSG_COPY != 0;
    let reason: Message = match errno.raw() {
        libc::EINVAL if msqid < 0 => msg!("msqid must not be negative"),
        libc::EINVAL if (msgsz as isize) < 0 => {
            msg!("msgsz {} is larger than any buffer (above LONG_MAX)", msgsz)
        }
        libc::EINVAL if copy && msgflg & MSG_EXCEPT != 0 => {
            msg!("MSG_COPY cannot be combined with MSG_EXCEPT")
        }
        libc::EINVAL if copy && msgflg & libc::IPC_NOWAIT == 0 => {
            msg!("MSG_COPY needs IPC_NOWAIT")
        }
        libc::EINVAL => msg!("no message queue has id {}", msqid),
        libc::E2BIG => msg!(
            "the message is longer than msgsz {} and flags lack MSG_NOERROR (it stays in the queue)",
            msgsz
        ),
        libc::ENOMSG if copy => msg!("queue {} has no message at index {} (MSG_COPY)", msqid, msgtyp),
        libc::ENOMSG => match (msgtyp, msgflg & MSG_EXCEPT != 0) {
            (0, _) => msg!("queue {} is empty and flags have IPC_NOWAIT", msqid),
            (t, true) if t > 0 => msg!(
                "queue {} has no message of a type other than {} and flags have IPC_NOWAIT",
                msqid,
                t
            ),
            (t, _) if t > 0 => msg!(
                "queue {} has no message of type {} and flags have IPC_NOWAIT",
                msqid,
                t
            ),
            (t, _) => msg!(
                "queue {} has no message of a type up to {} and flags have IPC_NOWAIT",
                msqid,
                Arg::Uint(t.unsigned_abs())
            ),
        },
        libc::ENOSYS => msg!("this kernel has no MSG_COPY (it needs CONFIG_CHECKPOINT_RESTORE)"),
        libc::EACCES => match queue_with_id(msqid) {
            Some(ds) => msg!(
                "queue {} (mode {}) does not grant the caller read permission",
                msqid,
                Arg::Mode(u32::from(ds.msg_perm.mode) & 0o777)
            ),
            None => msg!("queue {} does not grant the caller read permission", msqid),
        },
        libc::EFAULT => msg!(
            "msgp {} is not memory the kernel can write",
            Arg::Pointer(msgp)
        ),
        libc::EIDRM => msg!("queue {} was removed", msqid),
        libc::EINTR => msg!("a signal interrupted the wait for a message in queue {}", msqid),
        _ => msg!("the kernel refused the call"),
    };
    Error::from_errno(errno, call, reason)
}

/// `msgctl(2)`: every command glibc accepts (`IPC_STAT`, `IPC_SET`,
/// `IPC_RMID`, `IPC_INFO`, `MSG_INFO`, `MSG_STAT`, `MSG_STAT_ANY`), with
/// glibc's structures; an unknown `cmd` fails with EINVAL without a syscall.
///
/// # Safety
/// `buf` goes to the kernel as is; bad pointers come back as EFAULT.
#[inline]
pub unsafe fn msgctl(msqid: c_int, cmd: c_int, buf: *mut msqid_ds) -> crate::Result<c_int> {
    if !msgctl_known(cmd) {
        return Err(unknown_command(msqid, cmd, buf as usize));
    }
    // SAFETY: forwarded contract.
    unsafe { sys::msgctl_raw(msqid, cmd, buf.cast()) }
        .map_err(|errno| explain_msgctl(errno, msqid, cmd, buf as usize))
}

/// Whether glibc accepts `cmd`: IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO (0..=3),
/// MSG_STAT, MSG_INFO, MSG_STAT_ANY (11..=13): the fast form of [`MSGCTL_COMMANDS`].
#[inline(always)]
fn msgctl_known(cmd: c_int) -> bool {
    matches!(cmd, 0..=3 | 11..=13)
}

#[cold]
#[inline(never)]
fn unknown_command(msqid: c_int, cmd: c_int, buf: usize) -> Error {
    let call = Call::Msgctl { msqid, cmd, buf };
    let reason = msg!(
        "cmd {} is not a msgctl command (IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, MSG_INFO, \
         MSG_STAT, MSG_STAT_ANY)",
        cmd
    );
    Error::new(ErrorKind::InvalidArgument, call, reason)
}

#[cold]
#[inline(never)]
fn explain_msgctl(errno: Errno, msqid: c_int, cmd: c_int, buf: usize) -> Error {
    let call = Call::Msgctl { msqid, cmd, buf };
    let name = Arg::Str(command_name(&MSGCTL_COMMANDS, cmd).unwrap_or("cmd"));
    let by_index = cmd == MSG_STAT || cmd == MSG_STAT_ANY;
    let reason: Message = match errno.raw() {
        libc::EINVAL if msqid < 0 && by_index => msg!("the table index must not be negative"),
        libc::EINVAL if msqid < 0 => msg!("msqid must not be negative"),
        libc::EINVAL if by_index => msg!("no message queue is at index {}", msqid),
        libc::EINVAL => msg!("no message queue has id {}", msqid),
        libc::EFAULT if buf == 0 => msg!("{} needs a buffer and buf is NULL", name),
        libc::EFAULT => msg!(
            "buf {} is not memory the kernel can read or write",
            Arg::Pointer(buf)
        ),
        libc::EACCES => msg!(
            "{} needs read permission on queue {}, which its mode does not grant",
            name,
            msqid
        ),
        libc::EPERM if cmd == libc::IPC_SET => match queue_limits() {
            Ok(l) => msg!(
                "IPC_SET needs the caller to own or have created queue {} (or CAP_SYS_ADMIN), \
                 and CAP_SYS_RESOURCE to raise msg_qbytes above MSGMNB {} (kernel.msgmnb)",
                msqid,
                l.max_queue_bytes
            ),
            Err(_) => msg!(
                "IPC_SET needs the caller to own or have created queue {}, and CAP_SYS_RESOURCE \
                 to raise msg_qbytes above MSGMNB",
                msqid
            ),
        },
        libc::EPERM => msg!(
            "{} needs the caller to be the owner or creator of queue {}, or CAP_SYS_ADMIN",
            name,
            msqid
        ),
        libc::EIDRM => msg!("queue {} was removed", msqid),
        libc::EOVERFLOW => msg!("a value does not fit the structure's fields"),
        _ => msg!("the kernel refused {}", name),
    };
    Error::from_errno(errno, call, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_command_check_agrees_with_the_table() {
        for cmd in -300..300 {
            assert_eq!(
                msgctl_known(cmd),
                command_name(&MSGCTL_COMMANDS, cmd).is_some(),
                "{cmd}"
            );
        }
    }
}
