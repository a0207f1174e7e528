//! The boundary every C export runs in: panics are caught, the error message
//! is recorded for `last_error()` and errno is set.

use libc::c_char;
use rshm::Error;
use std::cell::RefCell;
use std::ffi::CString;

thread_local! {
    /// The message of the last failed call on this thread, NUL-terminated.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as this thread's last error.
pub fn set_last_error(message: String) {
    // A message never holds NUL; should one slip in, keep what precedes it.
    let message = CString::new(message).unwrap_or_else(|error| {
        let end = error.nul_position();
        let mut bytes = error.into_vec();
        bytes.truncate(end);
        CString::new(bytes).unwrap_or_default()
    });
    LAST_ERROR.with(|last| *last.borrow_mut() = message);
}

/// Sets this thread's errno.
pub fn set_errno(errno: i32) {
    // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() = errno };
}

/// Records a failure: the message for `last_error()` and the errno.
pub fn fail(error: &Error) {
    set_last_error(error.to_string());
    set_errno(error.errno());
}

/// Records a panic caught at the boundary (a bug in rshm, never the caller's).
pub fn fail_with_panic(call: &str, payload: Box<dyn std::any::Any + Send>) {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    set_last_error(format!(
        "{call}: internal error in rshm: {what} (ENOTRECOVERABLE)"
    ));
    set_errno(libc::ENOTRECOVERABLE);
}

/// Runs the body of an errno-style export: `body` yields `Result<T>`; on
/// `Err` (or a panic, which never crosses into C) the export sets errno and
/// the last error, and returns `failed`. Every such export goes through here.
#[inline]
pub fn errno_call<T>(name: &'static str, failed: T, body: impl FnOnce() -> rshm::Result<T>) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            fail(&error);
            failed
        }
        Err(payload) => {
            fail_with_panic(name, payload);
            failed
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
pub fn last_error() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn message() -> String {
        // SAFETY: last_error returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    fn errno() -> i32 {
        // SAFETY: __errno_location always returns a valid pointer.
        unsafe { *libc::__errno_location() }
    }

    #[test]
    fn a_panic_becomes_enotrecoverable_with_a_message() {
        let ret: i32 = errno_call("shmget", -1, || {
            if errno() != 12345 {
                panic!("deliberate test panic");
            }
            Ok(0)
        });
        assert_eq!(ret, -1);
        assert_eq!(errno(), libc::ENOTRECOVERABLE);
        assert_eq!(
            message(),
            "shmget: internal error in rshm: deliberate test panic (ENOTRECOVERABLE)"
        );
    }

    #[test]
    fn an_error_sets_errno_and_message_and_success_changes_neither() {
        let failed: i32 = errno_call("x", -1, || {
            Err(Error::from_errno(
                rshm::Errno(libc::EIDRM),
                "shmat(shmid=1)".into(),
                "gone".into(),
            ))
        });
        assert_eq!((failed, errno()), (-1, libc::EIDRM));
        set_errno(0);
        let ok: i32 = errno_call("x", -1, || Ok(7));
        assert_eq!((ok, errno()), (7, 0));
        assert_eq!(message(), "shmat(shmid=1): gone (EIDRM)");
    }

    #[test]
    fn a_message_with_a_nul_keeps_what_precedes_it() {
        set_last_error("before\0after".into());
        assert_eq!(message(), "before");
    }
}
