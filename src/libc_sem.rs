//! The three libc-compatible semaphore calls, four exports: `rshm_semget`,
//! `rshm_semop`, `rshm_semtimedop` and `rshm_semctl`, with glibc's results
//! and errno for every input (strict list: undefined `semget` flags). After
//! a failure, `rshm_last_error()` says what went wrong.
//!
//! `semctl` is variadic in C, and stable Rust cannot define a C-variadic
//! function. On x86_64 and aarch64 Linux a variadic argument of integer or
//! pointer class travels exactly as a fourth fixed one would (in rcx / x3;
//! the callee ignores x86_64's `al`), so `rshm_semctl` takes a fixed fourth
//! word, which the header declares `...` (three-argument callers leave it
//! unset, and it is read only for the commands that use it, as glibc reads
//! it). Other targets pass variadic arguments differently (Apple arm64 on the
//! stack, for one), so the build refuses them rather than guess; a small C
//! shim would be the way there.

use crate::boundary::errno_export;
use libc::{c_int, c_void, key_t, sembuf, timespec};
use rshm::Validation::Strict;

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
compile_error!(
    "rshm_semctl takes its variadic fourth argument as a fixed word, which holds on \
     x86_64 and aarch64 Linux only: port it (a C shim) before building elsewhere"
);

/// `semget(2)`: the id of the semaphore set for `key`, created with `nsems`
/// semaphores and the permission bits of `semflg` when it has `IPC_CREAT`
/// and the key has none (always, for `IPC_PRIVATE`). Returns -1 and sets
/// errno on failure; bits of `semflg` beyond `IPC_CREAT`, `IPC_EXCL` and
/// 0777 fail with `EINVAL` (the kernel would ignore them).
#[no_mangle]
pub extern "C" fn rshm_semget(key: key_t, nsems: c_int, semflg: c_int) -> c_int {
    errno_export("rshm_semget", -1, || {
        rshm_compat::semget(key, nsems, semflg, Strict)
    })
}

/// `semop(2)`: the `nsops` operations of `sops` on set `semid`, all at once,
/// waiting as long as it takes unless one has `IPC_NOWAIT`. Returns 0, or -1
/// with errno as glibc sets it (`EIDRM` when the set is removed under a
/// waiter, `EINTR` on a signal).
#[no_mangle]
pub extern "C" fn rshm_semop(semid: c_int, sops: *mut sembuf, nsops: usize) -> c_int {
    // SAFETY: sops goes to the kernel as with semop(2); bad pointers come back as EFAULT.
    errno_export("rshm_semop", -1, || unsafe {
        rshm_compat::semtimedop(semid, sops, nsops, std::ptr::null(), false)
    })
}

/// `semtimedop(2)`: `semop` waiting at most `timeout` (NULL: as long as it
/// takes); -1 with `EAGAIN` when it expires.
#[no_mangle]
pub extern "C" fn rshm_semtimedop(
    semid: c_int,
    sops: *mut sembuf,
    nsops: usize,
    timeout: *const timespec,
) -> c_int {
    // SAFETY: sops and timeout go to the kernel as with semtimedop(2).
    errno_export("rshm_semtimedop", -1, || unsafe {
        rshm_compat::semtimedop(semid, sops, nsops, timeout, true)
    })
}

/// `semctl(2)`: `cmd` on set `semid` (on semaphore `semnum` for `GETVAL`,
/// `SETVAL`, `GETPID`, `GETNCNT` and `GETZCNT`), with a fourth argument,
/// `union semun`, for the commands that use it (`SETVAL`: `val`; `GETALL`,
/// `SETALL`: `array`; `IPC_STAT`, `IPC_SET`, `SEM_STAT`, `SEM_STAT_ANY`:
/// `buf`; `IPC_INFO`, `SEM_INFO`: a `struct seminfo`). Declared variadic in
/// the header, as in libc. Returns what the kernel returns (a value, a
/// count, a pid, an id, an index, or 0), or -1 with errno as glibc sets it.
#[no_mangle]
pub extern "C" fn rshm_semctl(semid: c_int, semnum: c_int, cmd: c_int, arg: usize) -> c_int {
    // SAFETY: arg goes to the kernel as with semctl(2), for the commands that read it.
    errno_export("rshm_semctl", -1, || unsafe {
        rshm_compat::semctl(semid, semnum, cmd, arg)
    })
}

// The fourth word carries a pointer or an int: a usize holds either.
const _: () = assert!(std::mem::size_of::<*const c_void>() == std::mem::size_of::<usize>());
