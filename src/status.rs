//! `rshm_status`, the outcome of a handle call, and `rshm_status_str`. The
//! codes, names and meanings are rshm's table of error kinds
//! (`rshm::ErrorKind`); the header's `rshm_status` enum is generated from it.

use libc::{c_char, c_int};
use rshm_compat::boundary::Failure;

/// The outcome of a handle call: `RSHM_OK` (0) or an `RSHM_ERR_*` code. The
/// enum of codes in `rshm.h` is generated from `rshm::ErrorKind`, so C sees
/// an int-sized enum and Rust an int.
#[allow(non_camel_case_types)]
pub type rshm_status = c_int;

/// Success.
pub(crate) const RSHM_OK: rshm_status = 0;

/// The status C sees for `failure`.
pub(crate) fn status_of(failure: &Failure) -> rshm_status {
    match failure {
        Failure::Error(error) => error.kind().status_code(),
        Failure::Panic(_) => rshm::ErrorKind::Panic.status_code(),
    }
}

/// The name of a status, e.g. "RSHM_ERR_SIZE_MISMATCH", with a short meaning.
/// Any int is accepted: values that are not statuses give "unknown rshm_status".
#[no_mangle]
pub extern "C" fn rshm_status_str(status: c_int) -> *const c_char {
    rshm::error::kind::status_line_with_nul(status)
        .as_ptr()
        .cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn text(status: c_int) -> &'static str {
        // SAFETY: rshm_status_str returns a static NUL-terminated string.
        unsafe { CStr::from_ptr(rshm_status_str(status)) }
            .to_str()
            .unwrap()
    }

    #[test]
    fn every_int_has_a_line() {
        assert_eq!(text(0), "RSHM_OK: success");
        assert_eq!(
            text(10),
            "RSHM_ERR_SIZE_MISMATCH: the segment is smaller than the size asked for"
        );
        assert_eq!(text(-1), "unknown rshm_status");
        assert_eq!(text(c_int::MAX), "unknown rshm_status");
    }
}
