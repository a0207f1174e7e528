//! The five libc-compatible calls: glibc's signatures, results and errno for
//! every input, except the strict list in the README (certain bugs → EINVAL).
//! After a failure, `rshm_last_error()` says what went wrong.

use super::errno_call;
use crate::flags::{AttachFlags, GetFlags, Validation};
use crate::{control, Key, Segment};
use libc::{c_char, c_int, c_void, key_t, shmid_ds};

/// `ftok(3)`: the key for an existing file `path` and `proj_id`, computed as
/// glibc does. Returns -1 and sets errno on failure: `EFAULT` for a NULL path,
/// the errno of stat(2) for a path that cannot be used, and `EINVAL` when the
/// low 8 bits of `proj_id` are zero (glibc accepts those; ftok(3) forbids them).
#[no_mangle]
pub extern "C" fn rshm_ftok(path: *const c_char, proj_id: c_int) -> key_t {
    errno_call("ftok", -1, || {
        // SAFETY: path comes from the caller as for ftok(3); the kernel checks it.
        unsafe { Key::ftok_raw(path, proj_id, Validation::Strict) }.map(Key::raw)
    })
}

/// `shmget(2)`: the id of the segment for `key`, created with the permission
/// bits of `shmflg` when it has `IPC_CREAT` and the key has none (always, for
/// `IPC_PRIVATE`). Returns -1 and sets errno on failure; undefined bits in
/// `shmflg` fail with `EINVAL` (glibc passes them to the kernel, which ignores them).
#[no_mangle]
pub extern "C" fn rshm_shmget(key: key_t, size: usize, shmflg: c_int) -> c_int {
    errno_call("shmget", -1, || {
        let (flags, mode) = GetFlags::split_c(shmflg);
        Segment::get(Key(key), size, flags, mode).map(Segment::id)
    })
}

/// `shmat(2)`: maps segment `shmid` at `shmaddr` (NULL: the kernel chooses)
/// and returns its address. Returns `(void *)-1` and sets errno on failure;
/// flags beyond `SHM_RDONLY`, `SHM_RND`, `SHM_REMAP` and `SHM_EXEC` (such as
/// permission bits passed by mistake) fail with `EINVAL`.
#[no_mangle]
pub extern "C" fn rshm_shmat(shmid: c_int, shmaddr: *const c_void, shmflg: c_int) -> *mut c_void {
    errno_call("shmat", usize::MAX as *mut c_void, || {
        let flags = AttachFlags::from_bits_retain(shmflg as u32);
        // SAFETY: the address range is the caller's, as with shmat(2).
        unsafe { Segment::from_id(shmid).attach_raw(shmaddr, flags, Validation::Strict) }
    })
}

/// `shmdt(2)`: detaches the segment attached at `shmaddr`, which must be the
/// address `shmat` returned. Returns 0, or -1 with errno `EINVAL`; the message
/// says when the address lies inside a segment and where that segment starts.
#[no_mangle]
pub extern "C" fn rshm_shmdt(shmaddr: *const c_void) -> c_int {
    errno_call("shmdt", -1, || {
        // SAFETY: the caller gives up the mapping, as with shmdt(2).
        unsafe { crate::detach_raw(shmaddr) }.map(|()| 0)
    })
}

/// `shmctl(2)`: every command glibc accepts (`IPC_STAT`, `IPC_SET`,
/// `IPC_RMID`, `IPC_INFO`, `SHM_INFO`, `SHM_STAT`, `SHM_STAT_ANY`, `SHM_LOCK`,
/// `SHM_UNLOCK`), with glibc's structures: `buf` points to a `struct shmid_ds`,
/// or a `struct shminfo` for `IPC_INFO`, or a `struct shm_info` for `SHM_INFO`.
/// Returns what the kernel returns (0; an index for `IPC_INFO`/`SHM_INFO`; an
/// id for `SHM_STAT`), or -1 with errno as glibc sets it (a NULL `buf` where
/// one is needed is `EFAULT`).
#[no_mangle]
pub extern "C" fn rshm_shmctl(shmid: c_int, cmd: c_int, buf: *mut shmid_ds) -> c_int {
    errno_call("shmctl", -1, || {
        // SAFETY: buf goes to the kernel as with shmctl(2); bad pointers come back as EFAULT.
        unsafe { control::control_raw(shmid, cmd, buf.cast()) }
    })
}
