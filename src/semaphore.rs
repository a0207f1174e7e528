//! `rshm_sem_*`: a SysV semaphore set of one, opened by a key (typically its
//! segment's). Timeouts are in milliseconds: negative waits forever, 0 does not wait.

use crate::boundary::{arg, close_export, new_handle_export, require, status_export};
use crate::options::{rshm_options, semaphore_options};
use crate::status::rshm_status;
use crate::timeout::timeout;
use libc::{c_long, c_uint};
use rshm::Semaphore;

/// A semaphore (opaque). Made by rshm_sem_open, freed by rshm_sem_close. One
/// handle may be used by several threads at once.
#[allow(non_camel_case_types)]
pub struct rshm_sem {
    sem: Semaphore,
}

fn sem<'a>(sem: *mut rshm_sem) -> rshm::Result<&'a Semaphore> {
    arg(sem, "sem").map(|sem| &sem.sem)
}

/// Opens (or, with RSHM_CREATE, creates with value `initial`) the SysV
/// semaphore set of one for the key `opts` names (path and proj_id, or key:
/// the same key as its segment). mode, RSHM_EXCLUSIVE and RSHM_VERIFY_OWNER
/// apply; size is ignored. On failure `*out` is NULL.
#[no_mangle]
pub extern "C" fn rshm_sem_open(
    opts: *const rshm_options,
    initial: u16,
    out: *mut *mut rshm_sem,
) -> rshm_status {
    new_handle_export("rshm_sem_open", out, || {
        let options = semaphore_options(opts, initial)?;
        Ok(rshm_sem {
            sem: options.open()?,
        })
    })
}

/// Takes one unit, waiting at most `timeout_ms` (negative: forever; 0:
/// RSHM_ERR_WOULD_BLOCK at once). Taken with SEM_UNDO: if this process dies
/// holding it, the kernel gives it back.
#[no_mangle]
pub extern "C" fn rshm_sem_wait(sem: *mut rshm_sem, timeout_ms: c_long) -> rshm_status {
    status_export("rshm_sem_wait", || {
        self::sem(sem)?.wait(timeout(timeout_ms))
    })
}

/// Adds one unit: gives back one this handle holds, or, holding none, adds
/// one that stays after this process exits (a signal to another process).
#[no_mangle]
pub extern "C" fn rshm_sem_post(sem: *mut rshm_sem) -> rshm_status {
    status_export("rshm_sem_post", || self::sem(sem)?.post())
}

/// Stores the semaphore's value now in `*value`.
#[no_mangle]
pub extern "C" fn rshm_sem_value(sem: *mut rshm_sem, value: *mut c_uint) -> rshm_status {
    status_export("rshm_sem_value", || {
        require(value, "value")?;
        let now = self::sem(sem)?.value()?;
        // SAFETY: value is not NULL and writable by the API's contract.
        unsafe { value.write(now) };
        Ok(())
    })
}

/// Stores in `*count` how many processes wait for a unit now.
#[no_mangle]
pub extern "C" fn rshm_sem_waiters(sem: *mut rshm_sem, count: *mut c_uint) -> rshm_status {
    status_export("rshm_sem_waiters", || {
        require(count, "count")?;
        let now = self::sem(sem)?.waiters()?;
        // SAFETY: count is not NULL and writable by the API's contract.
        unsafe { count.write(now) };
        Ok(())
    })
}

/// Removes the semaphore set (IPC_RMID): processes waiting on it get RSHM_ERR_REMOVED.
#[no_mangle]
pub extern "C" fn rshm_sem_remove(sem: *mut rshm_sem) -> rshm_status {
    status_export("rshm_sem_remove", || self::sem(sem)?.remove())
}

/// Frees the handle (the set stays, unless removed). NULL is a no-op.
#[no_mangle]
pub extern "C" fn rshm_sem_close(sem: *mut rshm_sem) {
    close_export("rshm_sem_close", sem, |_sem| Ok(()));
}
