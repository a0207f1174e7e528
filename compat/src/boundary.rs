//! The boundary between C and rshm's Rust code: a body runs with panics
//! caught (none crosses into C), and a failure sets errno. librshm's
//! exports add the message for `rshm_last_error()`; the preload's add their
//! trace. Nothing here allocates.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// How a call failed.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // an Error is plain data, inline so that no failure allocates
pub enum Failure {
    /// rshm refused the call, or the kernel failed it.
    Error(rshm::Error),
    /// A bug in rshm: a panic, caught here.
    Panic(Box<dyn Any + Send>),
}

impl Failure {
    /// The errno a C caller sees: the error's, or `ENOTRECOVERABLE` for a panic.
    pub fn errno(&self) -> i32 {
        match self {
            Failure::Error(error) => error.errno(),
            Failure::Panic(_) => libc::ENOTRECOVERABLE,
        }
    }

    /// What the panic said, when it said it in words.
    pub fn panic_text(payload: &(dyn Any + Send)) -> &str {
        payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown panic")
    }
}

/// Runs `body` with panics caught (none crosses into C): its value, or
/// what `failed` makes of the failure. A failure is handed over where it
/// happened, by reference, so that the success path moves no error (an
/// `Error` is a few hundred bytes of plain data) and copies nothing.
#[inline]
pub fn run<T>(body: impl FnOnce() -> rshm::Result<T>, failed: impl Fn(&Failure) -> T) -> T {
    let outcome = catch_unwind(AssertUnwindSafe(|| match body() {
        Ok(value) => value,
        Err(error) => fail(&failed, Failure::Error(error)),
    }));
    match outcome {
        Ok(value) => value,
        Err(payload) => fail(&failed, Failure::Panic(payload)),
    }
}

#[cold]
#[inline(never)]
fn fail<T>(failed: &impl Fn(&Failure) -> T, failure: Failure) -> T {
    failed(&failure)
}

/// Sets this thread's errno.
#[inline]
pub fn set_errno(errno: i32) {
    // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
    unsafe { *libc::__errno_location() = errno };
}

/// Runs the body of an errno-style export: its value, or, on failure, errno
/// set (after `report` has seen the failure) and `failed`.
#[inline]
pub fn errno_call<T: Copy>(
    failed: T,
    body: impl FnOnce() -> rshm::Result<T>,
    report: impl Fn(&Failure),
) -> T {
    run(body, |failure| {
        report(failure);
        set_errno(failure.errno());
        failed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno() -> i32 {
        // SAFETY: __errno_location always returns a valid pointer.
        unsafe { *libc::__errno_location() }
    }

    #[test]
    fn a_panic_becomes_enotrecoverable_and_is_reported() {
        let seen = std::cell::RefCell::new(String::new());
        let ret: i32 = errno_call(
            -1,
            || {
                if errno() != 12345 {
                    panic!("deliberate test panic");
                }
                Ok(0)
            },
            |failure| match failure {
                Failure::Panic(payload) => {
                    *seen.borrow_mut() = Failure::panic_text(payload.as_ref()).to_string()
                }
                Failure::Error(_) => unreachable!(),
            },
        );
        assert_eq!((ret, errno()), (-1, libc::ENOTRECOVERABLE));
        assert_eq!(seen.into_inner(), "deliberate test panic");
    }

    #[test]
    fn an_error_sets_errno_and_success_leaves_it() {
        let failed: i32 = errno_call(
            -1,
            || crate::shmget(0, 0, 0, rshm::Validation::Strict),
            |_| {},
        );
        assert_eq!(failed, -1);
        assert_ne!(errno(), 0);
        set_errno(0);
        let ok: i32 = errno_call(-1, || Ok(7), |_| panic!("no failure"));
        assert_eq!((ok, errno()), (7, 0));
    }
}
