//! The semaphore and message queue calls of libc, exported under their own
//! names (`semget`, `semop`, `semtimedop`, `semctl`, `msgget`, `msgsnd`,
//! `msgrcv`, `msgctl`), unversioned, so that they take over from glibc's
//! versioned ones. Each runs rshm's one implementation with the validation
//! the environment chose (`RSHM_STRICT`), and adds only the trace line
//! (`RSHM_TRACE`) and the leak check's record of what this process created
//! (`RSHM_LEAK_CHECK`); errno and results are glibc's.
//!
//! `semctl` is variadic in libc; it is defined here with a fixed fourth word,
//! which is the same call on the targets rshm builds for (see librshm's
//! src/libc_sem.rs), and read only for the commands that use it.

use crate::{leaks, settings, trace};
use libc::{c_int, c_long, c_void, key_t, msqid_ds, sembuf, ssize_t, timespec};
use rshm::error::Call;
use rshm::ipc::Kind;
use rshm::Key;
use trace::Value;

/// The preload's boundary: the failure was traced inside the body; errno is set here.
fn errno_call<T: Copy>(failed: T, body: impl FnOnce() -> rshm::Result<T>) -> T {
    rshm_compat::boundary::errno_call(failed, body, |_| {})
}

/// Runs a `semget` or `msgget` (`get`, given its flags) and says whether it
/// made the object it returned, for the leak check: sets and queues record no
/// creator pid, so this is learned from the call. `IPC_PRIVATE` always makes a
/// new one, and `IPC_CREAT|IPC_EXCL` makes it or fails. `IPC_CREAT` alone may
/// open an existing one: with the leak check on, the call is made with
/// `IPC_EXCL` first, which succeeds exactly when the plain call would create
/// (same errors otherwise, but `EEXIST`, on which the plain call is made and
/// opens). A set made by another process between the two calls is taken as
/// opened: never a false report, at worst a leak not seen.
fn get_and_whether_made(
    key: key_t,
    flags: c_int,
    get: impl Fn(c_int) -> rshm::Result<c_int>,
) -> (rshm::Result<c_int>, bool) {
    let create = flags & libc::IPC_CREAT != 0;
    let exclusive = create && flags & libc::IPC_EXCL != 0;
    if key == libc::IPC_PRIVATE || exclusive || !create || !settings::leak_check() {
        let result = get(flags);
        let made = result.is_ok() && (key == libc::IPC_PRIVATE || exclusive);
        return (result, made);
    }
    match get(flags | libc::IPC_EXCL) {
        Ok(id) => (Ok(id), true),
        Err(error) if error.errno() == libc::EEXIST => (get(flags), false),
        Err(error) => (Err(error), false),
    }
}

#[no_mangle]
pub extern "C" fn semget(key: key_t, nsems: c_int, semflg: c_int) -> c_int {
    errno_call(-1, || {
        let validation = settings::validation();
        let (result, made) = get_and_whether_made(key, semflg, |flags| {
            rshm_compat::semget(key, nsems, flags, validation)
        });
        let call = Call::Semget { key, nsems, semflg };
        trace::result(&call, &result, "-1", |&id| Value::Int(id.into()));
        if let (true, Ok(id)) = (made, &result) {
            leaks::created(
                Kind::SemaphoreSet,
                *id,
                Key::from_raw(key),
                Some(true),
                &call,
            );
        }
        result
    })
}

#[no_mangle]
pub extern "C" fn semop(semid: c_int, sops: *mut sembuf, nsops: usize) -> c_int {
    errno_call(-1, || {
        // SAFETY: sops goes to the kernel as with semop(2).
        let result =
            unsafe { rshm_compat::semtimedop(semid, sops, nsops, std::ptr::null(), false) };
        let call = Call::Semop {
            semid,
            sops: sops as usize,
            nsops,
            timeout: None,
        };
        trace::result(&call, &result, "-1", |&ret| Value::Int(ret.into()));
        result
    })
}

#[no_mangle]
pub extern "C" fn semtimedop(
    semid: c_int,
    sops: *mut sembuf,
    nsops: usize,
    timeout: *const timespec,
) -> c_int {
    errno_call(-1, || {
        // SAFETY: sops and timeout go to the kernel as with semtimedop(2).
        let result = unsafe { rshm_compat::semtimedop(semid, sops, nsops, timeout, true) };
        let call = Call::Semop {
            semid,
            sops: sops as usize,
            nsops,
            timeout: Some(timeout as usize),
        };
        trace::result(&call, &result, "-1", |&ret| Value::Int(ret.into()));
        result
    })
}

#[no_mangle]
pub extern "C" fn semctl(semid: c_int, semnum: c_int, cmd: c_int, arg: usize) -> c_int {
    errno_call(-1, || {
        // SAFETY: arg goes to the kernel as with semctl(2), for the commands that read it.
        let result = unsafe { rshm_compat::semctl(semid, semnum, cmd, arg) };
        let call = Call::Semctl {
            semid,
            semnum,
            cmd,
            arg,
        };
        trace::result(&call, &result, "-1", |&ret| Value::Int(ret.into()));
        result
    })
}

#[no_mangle]
pub extern "C" fn msgget(key: key_t, msgflg: c_int) -> c_int {
    errno_call(-1, || {
        let validation = settings::validation();
        let (result, made) = get_and_whether_made(key, msgflg, |flags| {
            rshm_compat::msgget(key, flags, validation)
        });
        let call = Call::Msgget { key, msgflg };
        trace::result(&call, &result, "-1", |&id| Value::Int(id.into()));
        if let (true, Ok(id)) = (made, &result) {
            leaks::created(
                Kind::MessageQueue,
                *id,
                Key::from_raw(key),
                Some(true),
                &call,
            );
        }
        result
    })
}

#[no_mangle]
pub extern "C" fn msgsnd(msqid: c_int, msgp: *const c_void, msgsz: usize, msgflg: c_int) -> c_int {
    errno_call(-1, || {
        // SAFETY: msgp goes to the kernel as with msgsnd(2).
        let result =
            unsafe { rshm_compat::msgsnd(msqid, msgp, msgsz, msgflg, settings::validation()) };
        let call = Call::Msgsnd {
            msqid,
            msgp: msgp as usize,
            msgsz,
            msgflg,
        };
        trace::result(&call, &result, "-1", |&ret| Value::Int(ret.into()));
        result
    })
}

#[no_mangle]
pub extern "C" fn msgrcv(
    msqid: c_int,
    msgp: *mut c_void,
    msgsz: usize,
    msgtyp: c_long,
    msgflg: c_int,
) -> ssize_t {
    errno_call(-1, || {
        // SAFETY: msgp goes to the kernel as with msgrcv(2).
        let result = unsafe {
            rshm_compat::msgrcv(msqid, msgp, msgsz, msgtyp, msgflg, settings::validation())
        };
        let call = Call::Msgrcv {
            msqid,
            msgp: msgp as usize,
            msgsz,
            msgtyp,
            msgflg,
        };
        trace::result(&call, &result, "-1", |&len| Value::Int(len as i64));
        result
    })
}

#[no_mangle]
pub extern "C" fn msgctl(msqid: c_int, cmd: c_int, buf: *mut msqid_ds) -> c_int {
    errno_call(-1, || {
        // SAFETY: buf goes to the kernel as with msgctl(2); bad pointers come back as EFAULT.
        let result = unsafe { rshm_compat::msgctl(msqid, cmd, buf) };
        let call = Call::Msgctl {
            msqid,
            cmd,
            buf: buf as usize,
        };
        trace::result(&call, &result, "-1", |&ret| Value::Int(ret.into()));
        result
    })
}
