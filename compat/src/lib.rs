//! rshm's libc-compatible face: `ftok`, `shmget`, `shmat`, `shmdt` and
//! `shmctl` over C values, with glibc's results and errno for every input
//! (and, with [`Validation::Strict`], EINVAL for the certain bugs glibc lets
//! through). C values become rshm's typed ones here, once. librshm's
//! `rshm_*` exports and the preload's `ftok`, `shmget`, ... exports both run
//! these inside [`boundary::errno_call`]; neither has a copy of its own.

// The calls take raw pointers from C, where no call is `unsafe`; each one
// hands them to rshm's core, which passes them to the kernel (bad ones are EFAULT).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod boundary;

/// The semaphore and message queue calls over C values: rshm's core takes
/// them as they are (`rshm::sysv`), so librshm and the preload share these.
pub use rshm::sysv::{msgctl, msgget, msgrcv, msgsnd, semctl, semget, semtimedop};

use libc::{c_char, c_int, c_void, key_t, shmid_ds};
use rshm::error::Call;
use rshm::{AttachFlags, Command, Error, ErrorKind, GetFlags, Key, Segment, Validation};

/// `ftok(3)`: the key for an existing file `path` and `proj_id`, computed as
/// glibc does: `EFAULT` for a NULL path, the errno of stat(2) for a path that
/// cannot be used; strict validation refuses a `proj_id` whose low 8 bits are zero.
///
/// # Safety
/// `path` is NULL, a NUL-terminated string, or memory the kernel reports as unmapped.
#[inline]
pub unsafe fn ftok(
    path: *const c_char,
    proj_id: c_int,
    validation: Validation,
) -> rshm::Result<key_t> {
    // SAFETY: forwarded contract.
    unsafe { Key::ftok_ptr(path, proj_id, validation) }.map(Key::raw)
}

/// `shmget(2)`: the id of the segment for `key`; strict validation refuses undefined bits in `shmflg`.
#[inline]
pub fn shmget(
    key: key_t,
    size: usize,
    shmflg: c_int,
    validation: Validation,
) -> rshm::Result<c_int> {
    let (flags, mode) = GetFlags::split_c(shmflg);
    Segment::get_with(Key::from_raw(key), size, flags, mode, validation).map(Segment::id)
}

/// `shmat(2)`: maps segment `shmid` at `shmaddr` (NULL: the kernel chooses);
/// strict validation refuses flags beyond `SHM_RDONLY`, `SHM_RND`, `SHM_REMAP` and `SHM_EXEC`.
///
/// # Safety
/// As shmat(2): a fixed address with `SHM_REMAP` replaces what is mapped there.
#[inline]
pub unsafe fn shmat(
    shmid: c_int,
    shmaddr: *const c_void,
    shmflg: c_int,
    validation: Validation,
) -> rshm::Result<*mut c_void> {
    let flags = AttachFlags::from_bits_retain(shmflg as u32);
    // SAFETY: forwarded contract.
    unsafe { Segment::from_id(shmid).attach_at(shmaddr, flags, validation) }
}

/// `shmdt(2)`: detaches the segment attached at `shmaddr`; 0 on success.
///
/// # Safety
/// Nothing may use the memory at `shmaddr` afterwards.
#[inline]
pub unsafe fn shmdt(shmaddr: *const c_void) -> rshm::Result<c_int> {
    // SAFETY: forwarded contract.
    unsafe { rshm::detach(shmaddr) }.map(|()| 0)
}

/// `shmctl(2)` with glibc's structures: every command glibc accepts; an
/// unknown `cmd` fails with EINVAL, as the kernel would, without a syscall.
///
/// # Safety
/// `buf` goes to the kernel as with shmctl(2); bad pointers come back as `EFAULT`.
#[inline]
pub unsafe fn shmctl(shmid: c_int, cmd: c_int, buf: *mut shmid_ds) -> rshm::Result<c_int> {
    let Some(command) = Command::from_raw(cmd) else {
        return Err(unknown_command(shmid, cmd, buf));
    };
    // SAFETY: forwarded contract.
    unsafe { rshm::shmctl(shmid, command, buf.cast()) }
}

#[cold]
#[inline(never)]
fn unknown_command(shmid: c_int, cmd: c_int, buf: *mut shmid_ds) -> Error {
    let call = Call::Shmctl {
        shmid,
        cmd,
        buf: buf as usize,
    };
    let reason = rshm::msg!(
        "cmd {} is not a shmctl command (IPC_STAT, IPC_SET, IPC_RMID, IPC_INFO, SHM_INFO, \
         SHM_STAT, SHM_STAT_ANY, SHM_LOCK, SHM_UNLOCK)",
        cmd
    );
    Error::new(ErrorKind::InvalidArgument, call, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_is_einval_without_a_syscall() {
        // SAFETY: an unknown command never reaches the kernel, so buf is not used.
        let error = unsafe { shmctl(0, 12345, std::ptr::null_mut()) }.unwrap_err();
        assert_eq!(error.errno(), libc::EINVAL);
        assert!(error.to_string().starts_with(
            "shmctl(shmid=0, cmd=12345, buf=NULL): cmd 12345 is not a shmctl command (IPC_STAT,"
        ));
    }
}
