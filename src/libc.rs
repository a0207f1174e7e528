//! The five libc-compatible calls: glibc's signatures, results and errno for
//! every input, except the strict list in the docs (certain bugs → EINVAL).
//! After a failure, `rshm_last_error()` says what went wrong. The one
//! implementation is `rshm_compat`'s, which the preload shares.

use crate::boundary::errno_export;
use libc::{c_char, c_int, c_void, key_t, shmid_ds};
use rshm::Validation::Strict;

/// `ftok(3)`: the key for an existing file `path` and `proj_id`, computed as
/// glibc does. Returns -1 and sets errno on failure: `EFAULT` for a NULL path,
/// the errno of stat(2) for a path that cannot be used, and `EINVAL` when the
/// low 8 bits of `proj_id` are zero (glibc accepts those; ftok(3) forbids them).
#[no_mangle]
pub extern "C" fn rshm_ftok(path: *const c_char, proj_id: c_int) -> key_t {
    // SAFETY: path comes from the caller as for ftok(3); the kernel checks it.
    errno_export("rshm_ftok", -1, || unsafe {
        rshm_compat::ftok(path, proj_id, Strict)
    })
}

/// `shmget(2)`: the id of the segment for `key`, created with the permission
/// bits of `shmflg` when it has `IPC_CREAT` and the key has none (always, for
/// `IPC_PRIVATE`). Returns -1 and sets errno on failure; undefined bits in
/// `shmflg` fail with `EINVAL` (glibc passes them to the kernel, which ignores them).
#[no_mangle]
pub extern "C" fn rshm_shmget(key: key_t, size: usize, shmflg: c_int) -> c_int {
    errno_export("rshm_shmget", -1, || {
        rshm_compat::shmget(key, size, shmflg, Strict)
    })
}

/// `shmat(2)`: maps segment `shmid` at `shmaddr` (NULL: the kernel chooses)
/// and returns its address. Returns `(void *)-1` and sets errno on failure;
/// flags beyond `SHM_RDONLY`, `SHM_RND`, `SHM_REMAP` and `SHM_EXEC` (such as
/// permission bits passed by mistake) fail with `EINVAL`.
#[no_mangle]
pub extern "C" fn rshm_shmat(shmid: c_int, shmaddr: *const c_void, shmflg: c_int) -> *mut c_void {
    // SAFETY: the address range is the caller's, as with shmat(2).
    errno_export("rshm_shmat", usize::MAX as *mut c_void, || unsafe {
        rshm_compat::shmat(shmid, shmaddr, shmflg, Strict)
    })
}

/// `shmdt(2)`: detaches the segment attached at `shmaddr`, which must be the
/// address `shmat` returned. Returns 0, or -1 with errno `EINVAL`; the message
/// says when the address lies inside a segment and where that segment starts.
#[no_mangle]
pub extern "C" fn rshm_shmdt(shmaddr: *const c_void) -> c_int {
    // SAFETY: the caller gives up the mapping, as with shmdt(2).
    errno_export("rshm_shmdt", -1, || unsafe { rshm_compat::shmdt(shmaddr) })
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
    // SAFETY: buf goes to the kernel as with shmctl(2); bad pointers come back as EFAULT.
    errno_export("rshm_shmctl", -1, || unsafe {
        rshm_compat::shmctl(shmid, cmd, buf)
    })
}
