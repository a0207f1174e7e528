//! The four libc-compatible message queue calls: `rshm_msgget`,
//! `rshm_msgsnd`, `rshm_msgrcv` and `rshm_msgctl`, with glibc's results and
//! errno for every input (strict list: undefined flag bits). After a failure,
//! `rshm_last_error()` says what went wrong.

use crate::boundary::errno_export;
use libc::{c_int, c_long, c_void, key_t, msqid_ds, ssize_t};
use rshm::Validation::Strict;

/// `msgget(2)`: the id of the message queue for `key`, created with the
/// permission bits of `msgflg` when it has `IPC_CREAT` and the key has none
/// (always, for `IPC_PRIVATE`). Returns -1 and sets errno on failure; bits
/// beyond `IPC_CREAT`, `IPC_EXCL` and 0777 fail with `EINVAL`.
#[no_mangle]
pub extern "C" fn rshm_msgget(key: key_t, msgflg: c_int) -> c_int {
    errno_export("rshm_msgget", -1, || {
        rshm_compat::msgget(key, msgflg, Strict)
    })
}

/// `msgsnd(2)`: sends the message at `msgp` (a `long` type greater than 0,
/// then `msgsz` bytes of text) to queue `msqid`, waiting for room unless
/// `msgflg` has `IPC_NOWAIT`. Returns 0, or -1 with errno as glibc sets it;
/// flags beyond `IPC_NOWAIT` fail with `EINVAL`.
#[no_mangle]
pub extern "C" fn rshm_msgsnd(
    msqid: c_int,
    msgp: *const c_void,
    msgsz: usize,
    msgflg: c_int,
) -> c_int {
    // SAFETY: msgp goes to the kernel as with msgsnd(2); bad pointers come back as EFAULT.
    errno_export("rshm_msgsnd", -1, || unsafe {
        rshm_compat::msgsnd(msqid, msgp, msgsz, msgflg, Strict)
    })
}

/// `msgrcv(2)`: takes a message from queue `msqid` into `msgp` (its type,
/// then at most `msgsz` bytes of text), chosen by `msgtyp`: 0 the first, > 0
/// the first of that type (of another with `MSG_EXCEPT`), < 0 the first of
/// the lowest type up to |msgtyp|. `MSG_NOERROR` cuts a longer text;
/// `MSG_COPY` (with `IPC_NOWAIT`) copies the message at index `msgtyp`
/// without taking it. Returns the bytes of text, or -1 with errno as glibc
/// sets it; flags beyond those four and `IPC_NOWAIT` fail with `EINVAL`.
#[no_mangle]
pub extern "C" fn rshm_msgrcv(
    msqid: c_int,
    msgp: *mut c_void,
    msgsz: usize,
    msgtyp: c_long,
    msgflg: c_int,
) -> ssize_t {
    // SAFETY: msgp goes to the kernel as with msgrcv(2); bad pointers come back as EFAULT.
    errno_export("rshm_msgrcv", -1, || unsafe {
        rshm_compat::msgrcv(msqid, msgp, msgsz, msgtyp, msgflg, Strict)
    })
}

/// `msgctl(2)`: every command glibc accepts (`IPC_STAT`, `IPC_SET`,
/// `IPC_RMID`, `IPC_INFO`, `MSG_INFO`, `MSG_STAT`, `MSG_STAT_ANY`), with
/// glibc's structures (`struct msginfo` for `IPC_INFO` and `MSG_INFO`).
/// Returns what the kernel returns (0, an index or an id), or -1 with errno
/// as glibc sets it.
#[no_mangle]
pub extern "C" fn rshm_msgctl(msqid: c_int, cmd: c_int, buf: *mut msqid_ds) -> c_int {
    // SAFETY: buf goes to the kernel as with msgctl(2); bad pointers come back as EFAULT.
    errno_export("rshm_msgctl", -1, || unsafe {
        rshm_compat::msgctl(msqid, cmd, buf)
    })
}
