//! `semget`, `semop`/`semtimedop` and `semctl` over C values: glibc's
//! results and errno, one syscall on success, and each failure explained
//! with the set as it is and the kernel's limits as they are now
//! (`kernel.sem`: SEMMSL, SEMMNS, SEMOPM, SEMMNI).

use super::lookup::{set_with_id, set_with_key};
use super::strict::{check_flags, GET_DEFINED};
use crate::error::{
    command_name, msg, semctl_arg_field, Arg, Call, Errno, Error, ErrorKind, Message,
    SEMCTL_COMMANDS, SEM_STAT, SEM_STAT_ANY,
};
use crate::ipc::{semaphore_limits, semaphore_usage};
use crate::{sys, Validation};
use libc::{c_int, key_t, sembuf, timespec};

/// SEMVMX: the largest value a semaphore holds (fixed in the kernel).
const SEMVMX: i64 = 32767;

/// `semget(2)`: the id of the semaphore set for `key`, created with `nsems`
/// semaphores and the permission bits of `semflg` when it has `IPC_CREAT`
/// and the key has none (always, for `IPC_PRIVATE`).
#[inline]
pub fn semget(
    key: key_t,
    nsems: c_int,
    semflg: c_int,
    validation: Validation,
) -> crate::Result<c_int> {
    let call = || Call::Semget { key, nsems, semflg };
    check_flags(validation, semflg, GET_DEFINED, "semget", call)?;
    sys::semget(key, nsems, semflg).map_err(|errno| explain_semget(errno, key, nsems, semflg))
}

#[cold]
#[inline(never)]
fn explain_semget(errno: Errno, key: key_t, nsems: c_int, semflg: c_int) -> Error {
    let call = Call::Semget { key, nsems, semflg };
    // Asked only by the failures they explain (ENOENT, the common one, asks nothing).
    let limits = || semaphore_limits().ok();
    let existing = || set_with_key(key);
    let reason: Message = match errno.raw() {
        libc::EINVAL if nsems < 0 => msg!("nsems {} must not be negative", nsems),
        libc::EINVAL if limits().is_some_and(|l| nsems as u64 > l.max_per_set) => msg!(
            "nsems {} exceeds SEMMSL {} (the most semaphores in one set; kernel.sem)",
            nsems,
            limits().map_or(0, |l| l.max_per_set)
        ),
        libc::EINVAL => match existing() {
            Some((id, ds)) => msg!(
                "the set with this key (id {}) has {} semaphores, fewer than nsems {}",
                id,
                ds.sem_nsems,
                nsems
            ),
            None => msg!("nsems must be at least 1 to create a set"),
        },
        libc::ENOENT => msg!("no semaphore set has key {} and flags lack IPC_CREAT", Arg::Key(key)),
        libc::EEXIST => match existing() {
            Some((id, _)) => msg!(
                "a set with key {} exists (id {}) and flags have IPC_CREAT|IPC_EXCL",
                Arg::Key(key),
                id
            ),
            None => msg!("a set with key {} exists and flags have IPC_CREAT|IPC_EXCL", Arg::Key(key)),
        },
        libc::EACCES => match existing() {
            Some((id, ds)) => msg!(
                "the set with this key (id {}, mode {}) does not grant the caller the access in flags' mode {}",
                id,
                Arg::Mode(u32::from(ds.sem_perm.mode) & 0o777),
                Arg::Mode((semflg & 0o777) as u32)
            ),
            None => msg!("the set with this key does not grant the caller the access in flags' mode bits"),
        },
        libc::ENOSPC => {
            let used = semaphore_usage().ok();
            match (limits(), used) {
                (Some(l), Some(u)) if u.sets >= l.max_sets => msg!(
                    "{} sets exist, the most SEMMNI {} allows (kernel.sem)",
                    u.sets,
                    l.max_sets
                ),
                (Some(l), Some(u)) => msg!(
                    "{} more semaphores would exceed SEMMNS {} ({} in use; kernel.sem)",
                    nsems,
                    l.max_total,
                    u.semaphores
                ),
                _ => msg!("the semaphore limits SEMMNI or SEMMNS are reached (kernel.sem)"),
            }
        }
        libc::ENOMEM => msg!("the kernel has no memory for a new set"),
        _ => msg!("the kernel refused the call"),
    };
    Error::from_errno(errno, call, reason)
}

/// `semop(2)` and `semtimedop(2)`: `nsops` operations of `sops` on set
/// `semid`, all at once, waiting at most `timeout` when `timed` (NULL: forever).
///
/// # Safety
/// `sops` and `timeout` go to the kernel as they are; it reports bad ones as EFAULT.
#[inline]
pub unsafe fn semtimedop(
    semid: c_int,
    sops: *mut sembuf,
    nsops: usize,
    timeout: *const timespec,
    timed: bool,
) -> crate::Result<c_int> {
    // SAFETY: forwarded contract.
    match unsafe { sys::semtimedop_raw(semid, sops, nsops, timeout) } {
        Ok(()) => Ok(0),
        Err(errno) => Err(explain_semop(errno, semid, sops, nsops, timeout, timed)),
    }
}

#[cold]
#[inline(never)]
fn explain_semop(
    errno: Errno,
    semid: c_int,
    sops: *mut sembuf,
    nsops: usize,
    timeout: *const timespec,
    timed: bool,
) -> Error {
    let call = Call::Semop {
        semid,
        sops: sops as usize,
        nsops,
        timeout: timed.then_some(timeout as usize),
    };
    // Asked only by the failures it explains (EAGAIN, the common one, asks nothing).
    let set = || set_with_id(semid);
    let reason: Message = match errno.raw() {
        libc::EINVAL if nsops == 0 => msg!("nsops must be at least 1"),
        libc::EINVAL if nsops as u32 == 0 => msg!(
            "nsops {} is 0 in the unsigned int the kernel reads; it must be at least 1",
            nsops
        ),
        libc::EINVAL if semid < 0 => msg!("semid must not be negative"),
        libc::EINVAL if !timeout.is_null() => {
            // The kernel read the timeout before it looked the set up (this is
            // EINVAL past the checks of nsops and semid): it is readable.
            // SAFETY: see above; a read of plain integers.
            let t = unsafe { timeout.read_unaligned() };
            if t.tv_sec < 0 || !(0..1_000_000_000).contains(&t.tv_nsec) {
                msg!(
                    "timeout {}s {}ns is not a time span (tv_sec must not be negative, tv_nsec in 0..999999999)",
                    t.tv_sec,
                    t.tv_nsec
                )
            } else {
                msg!("no semaphore set has id {}", semid)
            }
        }
        libc::EINVAL => msg!("no semaphore set has id {}", semid),
        libc::E2BIG => match semaphore_limits() {
            Ok(l) => msg!(
                "nsops {} exceeds SEMOPM {} (the most operations in one call; kernel.sem)",
                nsops,
                l.max_ops_per_call
            ),
            Err(_) => msg!("nsops {} exceeds SEMOPM (kernel.sem)", nsops),
        },
        libc::EFBIG => match set() {
            Some(ds) => {
                let count = ds.sem_nsems;
                // The kernel copied all of sops before it compared sem_num: they are readable.
                // SAFETY: see above; nsops entries at sops, plain integers.
                let bad = (0..nsops as u32 as usize).find_map(|i| {
                    let op = unsafe { sops.add(i).read_unaligned() };
                    (u64::from(op.sem_num) >= count).then_some((i, op.sem_num))
                });
                match bad {
                    Some((i, num)) => msg!(
                        "sops[{}].sem_num is {} but the set has {} semaphores",
                        i,
                        num,
                        count
                    ),
                    None => msg!("an operation's sem_num is beyond the set's {} semaphores", count),
                }
            }
            None => msg!("an operation's sem_num is beyond the set's semaphores"),
        },
        libc::EFAULT if timed && !timeout.is_null() => msg!(
            "sops {} or timeout {} is not memory the kernel can read",
            Arg::Pointer(sops as usize),
            Arg::Pointer(timeout as usize)
        ),
        libc::EFAULT => msg!(
            "sops {} is not memory the kernel can read",
            Arg::Pointer(sops as usize)
        ),
        libc::EACCES => match set() {
            Some(ds) => msg!(
                "set {} (mode {}) does not grant the caller what an operation needs \
                 (read to wait for zero, write to change a value)",
                semid,
                Arg::Mode(u32::from(ds.sem_perm.mode) & 0o777)
            ),
            None => msg!("set {} does not grant the caller what an operation needs", semid),
        },
        libc::EAGAIN if !timeout.is_null() => {
            msg!("the timeout expired before the operations could be done (or one had IPC_NOWAIT)")
        }
        libc::EAGAIN => msg!("an operation would wait and its sem_flg has IPC_NOWAIT"),
        libc::EIDRM => msg!("set {} was removed", semid),
        libc::EINTR => msg!("a signal interrupted the wait"),
        libc::ERANGE => msg!(
            "an operation would take a semaphore above SEMVMX {}, or its SEM_UNDO adjustment out of range",
            SEMVMX
        ),
        libc::ENOMEM => msg!("the kernel has no memory for the SEM_UNDO record"),
        _ => msg!("the kernel refused the operations"),
    };
    Error::from_errno(errno, call, reason)
}

/// `semctl(2)`: `cmd` on set `semid` (semaphore `semnum` for the
/// per-semaphore commands; a table index for `SEM_STAT`/`SEM_STAT_ANY`),
/// with `arg` the fourth argument as the caller passed it (`union semun`:
/// read only for the commands that use it, as glibc reads it). An unknown
/// `cmd` fails with EINVAL without a syscall, as glibc's does.
///
/// # Safety
/// For the commands that read or write memory, `arg` is its address, which
/// goes to the kernel as is (bad ones are EFAULT).
#[inline]
pub unsafe fn semctl(semid: c_int, semnum: c_int, cmd: c_int, arg: usize) -> crate::Result<c_int> {
    if !semctl_known(cmd) {
        return Err(unknown_command(semid, semnum, cmd, arg));
    }
    // The fourth word is read for the commands that use it, as glibc reads it.
    let arg = if semctl_reads_arg(cmd) { arg } else { 0 };
    // SAFETY: forwarded contract.
    unsafe { sys::semctl_raw(semid, semnum, cmd, arg) }
        .map_err(|errno| explain_semctl(errno, semid, semnum, cmd, arg))
}

/// Whether glibc accepts `cmd`: IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO (0..=3)
/// and GETPID to SEM_STAT_ANY (11..=20). The table [`SEMCTL_COMMANDS`] names
/// them; this is its fast form (a test keeps the two equal).
#[inline(always)]
fn semctl_known(cmd: c_int) -> bool {
    matches!(cmd, 0..=3 | 11..=20)
}

/// Whether `cmd` reads the fourth argument: IPC_SET, IPC_STAT, IPC_INFO,
/// GETALL, SETVAL, SETALL, SEM_STAT, SEM_INFO, SEM_STAT_ANY (the fast form of `semctl_arg_field`).
#[inline(always)]
fn semctl_reads_arg(cmd: c_int) -> bool {
    matches!(cmd, 1..=3 | 13 | 16..=20)
}

#[cold]
#[inline(never)]
fn unknown_command(semid: c_int, semnum: c_int, cmd: c_int, arg: usize) -> Error {
    let call = Call::Semctl {
        semid,
        semnum,
        cmd,
        arg,
    };
    let reason = msg!(
        "cmd {} is not a semctl command (IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, SEM_INFO, SEM_STAT, \
         SEM_STAT_ANY, GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, SETALL, SETVAL)",
        cmd
    );
    Error::new(ErrorKind::InvalidArgument, call, reason)
}

#[cold]
#[inline(never)]
fn explain_semctl(errno: Errno, semid: c_int, semnum: c_int, cmd: c_int, arg: usize) -> Error {
    let call = Call::Semctl {
        semid,
        semnum,
        cmd,
        arg,
    };
    let name = Arg::Str(command_name(&SEMCTL_COMMANDS, cmd).unwrap_or("cmd"));
    let field = Arg::Str(semctl_arg_field(cmd).unwrap_or("buf"));
    let by_index = cmd == SEM_STAT || cmd == SEM_STAT_ANY;
    let one_semaphore = matches!(
        cmd,
        libc::GETVAL | libc::SETVAL | libc::GETPID | libc::GETNCNT | libc::GETZCNT
    );
    let set = || if by_index { None } else { set_with_id(semid) };
    let reason: Message = match errno.raw() {
        libc::EINVAL if semid < 0 && by_index => msg!("the table index must not be negative"),
        libc::EINVAL if semid < 0 => msg!("semid must not be negative"),
        libc::EINVAL if by_index => msg!("no semaphore set is at index {}", semid),
        libc::EINVAL => match set() {
            Some(ds) if one_semaphore => msg!(
                "semnum {} is not a semaphore of set {}, which has {}",
                semnum,
                semid,
                ds.sem_nsems
            ),
            Some(_) => msg!("the kernel refused {} on set {}", name, semid),
            None => msg!("no semaphore set has id {}", semid),
        },
        libc::ERANGE if cmd == libc::SETVAL => msg!(
            "arg.val {} is not a semaphore value (0 to SEMVMX {})",
            arg as c_int,
            SEMVMX
        ),
        libc::ERANGE => msg!("a value in arg.array is above SEMVMX {}", SEMVMX),
        libc::EFAULT if arg == 0 => msg!("{} needs arg.{} and it is NULL", name, field),
        libc::EFAULT => msg!(
            "arg.{} {} is not memory the kernel can read or write",
            field,
            Arg::Pointer(arg)
        ),
        libc::EACCES => match cmd {
            libc::SETVAL | libc::SETALL => msg!(
                "{} needs write permission on set {}, which its mode does not grant",
                name,
                semid
            ),
            _ => msg!(
                "{} needs read permission on set {}, which its mode does not grant",
                name,
                semid
            ),
        },
        libc::EPERM => msg!(
            "{} needs the caller to be the owner or creator of set {}, or CAP_SYS_ADMIN",
            name,
            semid
        ),
        libc::EIDRM => msg!("set {} was removed", semid),
        libc::ENOMEM => msg!("the kernel has no memory for the values of set {}", semid),
        libc::EOVERFLOW => msg!("a value does not fit the structure's fields"),
        _ => msg!("the kernel refused {}", name),
    };
    Error::from_errno(errno, call, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_command_checks_agree_with_the_tables() {
        for cmd in -300..300 {
            assert_eq!(
                semctl_known(cmd),
                command_name(&SEMCTL_COMMANDS, cmd).is_some(),
                "{cmd}"
            );
            assert_eq!(
                semctl_reads_arg(cmd),
                semctl_arg_field(cmd).is_some(),
                "{cmd}"
            );
        }
    }
}
