//! The boundary every export of librshm runs in: one helper per export shape,
//! each given the export's name once. Panics are caught (none crosses into
//! C), a failure sets errno and records its message for `rshm_last_error()`,
//! and pointer arguments are checked here (NULL is refused even for a length
//! of 0; out-parameters are written raw, NULL first, the result last).

use crate::last_error;
use crate::status::{rshm_status, status_of, RSHM_OK};
use rshm::{Error, Result};
use rshm_compat::boundary::{errno_call, run, set_errno};

/// An errno-style export: its value, or `failed` with errno set.
#[inline]
pub(crate) fn errno_export<T: Copy>(
    export: &'static str,
    failed: T,
    body: impl FnOnce() -> Result<T>,
) -> T {
    errno_call(failed, body, |failure| last_error::record(export, failure))
}

/// A status export: `RSHM_OK`, or the failure's status with errno set.
#[inline]
pub(crate) fn status_export(
    export: &'static str,
    body: impl FnOnce() -> Result<()>,
) -> rshm_status {
    let ok = || body().map(|()| RSHM_OK);
    run(ok, |failure| {
        last_error::record(export, failure);
        set_errno(failure.errno());
        status_of(failure)
    })
}

/// A constructor: `*out` is set to NULL first, and to the new handle (which
/// `body` makes) on success; a NULL `out` is refused.
#[inline]
pub(crate) fn new_handle_export<T>(
    export: &'static str,
    out: *mut *mut T,
    body: impl FnOnce() -> Result<T>,
) -> rshm_status {
    status_export(export, || {
        require(out, "out")?;
        // SAFETY: out is not NULL and points to a pointer the caller owns; a raw
        // write reads nothing, so it may be uninitialised.
        unsafe { out.write(std::ptr::null_mut()) };
        let handle = Box::into_raw(Box::new(body()?));
        // SAFETY: as above.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// A destructor: NULL is a no-op; otherwise the handle is freed after
/// `close` has had it (a failure is recorded, and the handle freed anyway).
#[inline]
pub(crate) fn close_export<T>(
    export: &'static str,
    handle: *mut T,
    close: impl FnOnce(T) -> Result<()>,
) {
    if handle.is_null() {
        return;
    }
    let _: rshm_status = status_export(export, || {
        // SAFETY: a non-NULL handle came from its constructor's Box and, by contract, is closed once.
        close(*unsafe { Box::from_raw(handle) })
    });
}

/// A handle or struct argument, or `NullPointer` naming it.
#[inline]
pub(crate) fn arg<'a, T>(ptr: *const T, name: &'static str) -> Result<&'a T> {
    // SAFETY: a non-NULL pointer from C points to a live T by the API's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::null_pointer(name))
}

/// A handle argument used by one thread at a time (its documented rule), or `NullPointer`.
#[inline]
pub(crate) fn arg_mut<'a, T>(ptr: *mut T, name: &'static str) -> Result<&'a mut T> {
    // SAFETY: as `arg`; the header documents that one handle of this type is
    // not used by two threads at once, so the reference is unique.
    unsafe { ptr.as_mut() }.ok_or_else(|| Error::null_pointer(name))
}

/// Checks that a raw pointer argument is not NULL (even for a length of 0).
#[inline]
pub(crate) fn require<T>(ptr: *const T, name: &'static str) -> Result<()> {
    if ptr.is_null() {
        Err(Error::null_pointer(name))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last_error() -> String {
        // SAFETY: rshm_last_error returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(last_error::rshm_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_is_an_internal_error_named_by_its_export() {
        let status = status_export("rshm_test", || panic!("deliberate test panic"));
        assert_eq!(status, rshm::ErrorKind::Panic.status_code());
        assert_eq!(
            last_error(),
            "rshm_test: internal error in rshm: deliberate test panic (ENOTRECOVERABLE)"
        );
    }

    #[test]
    fn a_null_out_is_refused_and_named() {
        let status = new_handle_export::<u8>("rshm_make", std::ptr::null_mut(), || Ok(1));
        assert_eq!(status, rshm::ErrorKind::NullPointer.status_code());
        assert_eq!(last_error(), "rshm_make: out is NULL (EFAULT)");
    }

    #[test]
    fn a_failed_constructor_leaves_out_null() {
        let mut out: *mut u8 = 8 as *mut u8;
        let status = new_handle_export("rshm_make", &mut out, || Err(Error::null_pointer("opts")));
        assert_eq!(status, rshm::ErrorKind::NullPointer.status_code());
        assert!(out.is_null());
        let status = new_handle_export("rshm_make", &mut out, || Ok(7u8));
        assert_eq!(status, RSHM_OK);
        // SAFETY: out holds the handle just made; closing frees it.
        assert_eq!(unsafe { *out }, 7);
        close_export("rshm_free", out, |value| {
            assert_eq!(value, 7);
            Ok(())
        });
    }
}
