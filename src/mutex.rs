//! `rshm_mutex_*`: robust, process-shared mutexes at offsets of a segment.
//! Timeouts are in milliseconds: negative waits forever, 0 does not wait.

use crate::boundary::status_export;
use crate::segment::{rshm_segment, segment};
use crate::status::rshm_status;
use crate::timeout::timeout;
use libc::c_long;
use rshm::Mutex;

/// The bytes a mutex takes in a segment (rshm_mutex_init); its offset must be a multiple of 8.
pub const RSHM_MUTEX_SIZE: usize = 64;
const _: () = assert!(RSHM_MUTEX_SIZE == rshm::MUTEX_SIZE);

/// Makes a robust, process-shared mutex at `offset` of the segment
/// (RSHM_MUTEX_SIZE bytes, offset a multiple of 8). Once, before any use.
///
/// A process that can write the segment may corrupt a mutex and make calls
/// on it fail (RSHM_ERR_CORRUPT) or wait (RSHM_ERR_TIMEOUT when given a
/// timeout); it can never make rshm read or write outside the mutex's 64
/// bytes, write this process's private memory, abort it, or hang a call that
/// was given a timeout. No pointer is kept in the segment.
#[no_mangle]
pub extern "C" fn rshm_mutex_init(seg: *mut rshm_segment, offset: usize) -> rshm_status {
    status_export("rshm_mutex_init", || {
        Mutex::init(segment(seg)?, offset).map(drop)
    })
}

/// Locks the mutex at `offset`, waiting at most `timeout_ms` (negative:
/// forever; 0: RSHM_ERR_WOULD_BLOCK at once). No syscall when it is free.
/// RSHM_ERR_OWNER_DIED: the lock is yours, but its last holder died holding
/// it (a process killed, a thread that exited, or a segment closed while it
/// held the lock); repair the data, then call rshm_mutex_consistent before
/// unlocking. A waiter notices a dead holder within 50 ms.
#[no_mangle]
pub extern "C" fn rshm_mutex_lock(
    seg: *mut rshm_segment,
    offset: usize,
    timeout_ms: c_long,
) -> rshm_status {
    status_export("rshm_mutex_lock", || {
        Mutex::at(segment(seg)?, offset)?.lock(timeout(timeout_ms))
    })
}

/// Unlocks the mutex at `offset` (held by this thread).
#[no_mangle]
pub extern "C" fn rshm_mutex_unlock(seg: *mut rshm_segment, offset: usize) -> rshm_status {
    status_export("rshm_mutex_unlock", || {
        Mutex::at(segment(seg)?, offset)?.unlock()
    })
}

/// After RSHM_ERR_OWNER_DIED and repairs: marks the mutex usable again.
#[no_mangle]
pub extern "C" fn rshm_mutex_consistent(seg: *mut rshm_segment, offset: usize) -> rshm_status {
    status_export("rshm_mutex_consistent", || {
        Mutex::at(segment(seg)?, offset)?.consistent()
    })
}
