//! `rshm_mutex_*`: robust, process-shared mutexes at offsets of a segment.
//! Timeouts are in milliseconds: negative waits forever, 0 does not wait.

use crate::boundary::status_export;
use crate::segment::{rshm_segment, segment};
use crate::status::rshm_status;
use crate::timeout::timeout;
use libc::c_long;

/// The bytes a mutex takes in a segment (rshm_mutex_init); its offset must be a multiple of 8.
pub const RSHM_MUTEX_SIZE: usize = 64;
const _: () = assert!(RSHM_MUTEX_SIZE == rshm::MUTEX_SIZE);

/// Makes a robust, process-shared mutex at `offset` of the segment
/// (RSHM_MUTEX_SIZE bytes, offset a multiple of 8). Once, before any use.
#[no_mangle]
pub extern "C" fn rshm_mutex_init(seg: *mut rshm_segment, offset: usize) -> rshm_status {
    status_export("rshm_mutex_init", || segment(seg)?.init_mutex(offset))
}

/// Locks the mutex at `offset`, waiting at most `timeout_ms` (negative:
/// forever; 0: RSHM_ERR_WOULD_BLOCK at once). No syscall when it is free.
/// RSHM_ERR_OWNER_DIED: the lock is yours, but its last holder died holding
/// it; repair the data, then call rshm_mutex_consistent before unlocking.
#[no_mangle]
pub extern "C" fn rshm_mutex_lock(
    seg: *mut rshm_segment,
    offset: usize,
    timeout_ms: c_long,
) -> rshm_status {
    status_export("rshm_mutex_lock", || {
        segment(seg)?.lock_mutex(offset, timeout(timeout_ms))
    })
}

/// Unlocks the mutex at `offset` (held by this thread).
#[no_mangle]
pub extern "C" fn rshm_mutex_unlock(seg: *mut rshm_segment, offset: usize) -> rshm_status {
    status_export("rshm_mutex_unlock", || segment(seg)?.unlock_mutex(offset))
}

/// After RSHM_ERR_OWNER_DIED and repairs: marks the mutex usable again.
#[no_mangle]
pub extern "C" fn rshm_mutex_consistent(seg: *mut rshm_segment, offset: usize) -> rshm_status {
    status_export("rshm_mutex_consistent", || {
        segment(seg)?.mutex_consistent(offset)
    })
}
