//! The boundary of the handle exports: [`status_call`] catches panics and
//! turns an error into its `rshm_status`, recording the message for
//! `rshm_last_error()`; errno-style exports use `rshm_compat`'s `errno_call`.

use crate::segment::{fail_status, rshm_status};
use libc::c_char;
use rshm_compat::boundary::fail_with_panic;

/// Runs the body of a handle export: `RSHM_OK`, or the error's status
/// (recorded for `rshm_last_error()`), or `RSHM_ERR_PANIC` for a panic.
#[inline]
pub fn status_call(name: &'static str, body: impl FnOnce() -> rshm::Result<()>) -> rshm_status {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(())) => rshm_status::RSHM_OK,
        Ok(Err(error)) => fail_status(&error),
        Err(payload) => {
            fail_with_panic(name, payload);
            rshm_status::RSHM_ERR_PANIC
        }
    }
}

/// The message of the last call that failed on this thread: the call with
/// its arguments, the cause and the errno name, e.g.
/// `shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600): a segment with this key exists with 4096 bytes, fewer than requested (EINVAL)`.
///
/// Returns "" if no rshm call has failed on this thread. Successful calls leave
/// it unchanged, like errno. The string belongs to rshm and stays valid until
/// the next failing rshm call on the same thread; copy it to keep it.
#[no_mangle]
pub extern "C" fn rshm_last_error() -> *const c_char {
    rshm_compat::boundary::last_error()
}
