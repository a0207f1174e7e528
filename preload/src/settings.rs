//! What the environment asks of the preload, read once into atomics: at load,
//! or at the first call if another library's constructor calls in first.
//! Reading them does nothing else: the library's loader (lib.rs) acts on them.
//!
//! Any call may come from a signal handler, so there is no lock and no
//! one-time initialiser a handler could find half-done: whoever finds the
//! settings unread reads them and stores them; two racers (or a handler and
//! the code it interrupted) store the same values, which is harmless.
//!
//! In a privileged process (setuid or setgid, file capabilities: the kernel's
//! `AT_SECURE`) none of them is read (`secure_getenv`): they come from the
//! unprivileged user who started it, and `RSHM_TRACE` would make it create
//! and append to files of that user's choosing.

use libc::c_char;
use rshm::Validation;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering::*};

extern "C" {
    /// glibc's (and musl's) getenv that returns NULL in secure mode.
    fn secure_getenv(name: *const c_char) -> *mut c_char;
}

/// Where trace lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceTo {
    Nowhere,
    Stderr,
    /// Appended to the file [`trace_path`] names (opened at the first line; see trace.rs).
    File,
}

const UNREAD: u8 = 0;
const READ: u8 = 1;

static STATE: AtomicU8 = AtomicU8::new(UNREAD);
static STRICT: AtomicBool = AtomicBool::new(false);
static LEAK_CHECK: AtomicBool = AtomicBool::new(false);
static TRACE: AtomicU8 = AtomicU8::new(TraceTo::Nowhere as u8);
/// The `RSHM_TRACE` path: the environment's own string, which lives as long as
/// the process (glibc frees no environment string, even when a program changes
/// or removes the variable), so a later change of the variable is not seen.
static PATH: AtomicPtr<c_char> = AtomicPtr::new(std::ptr::null_mut());

fn env(name: &CStr) -> Option<&'static CStr> {
    // SAFETY: secure_getenv returns NULL or a string that lives as long as the environment entry.
    let value = unsafe { secure_getenv(name.as_ptr()) };
    // SAFETY: non-NULL results are NUL-terminated strings.
    (!value.is_null()).then(|| unsafe { CStr::from_ptr(value) })
}

fn is_on(value: Option<&CStr>) -> bool {
    matches!(
        value.map(CStr::to_bytes),
        Some(b"1" | b"yes" | b"true" | b"on")
    )
}

/// What `RSHM_TRACE` asks for.
fn trace_to(value: Option<&[u8]>) -> TraceTo {
    match value {
        None | Some(b"" | b"0" | b"no" | b"false" | b"off") => TraceTo::Nowhere,
        Some(b"1" | b"yes" | b"true" | b"on" | b"stderr") => TraceTo::Stderr,
        Some(_) => TraceTo::File,
    }
}

/// Reads the environment into the atomics. Idempotent: racers store the same values.
fn read() {
    let trace = env(c"RSHM_TRACE");
    let to = trace_to(trace.map(CStr::to_bytes));
    if let (TraceTo::File, Some(path)) = (to, trace) {
        PATH.store(path.as_ptr().cast_mut(), Relaxed);
    }
    STRICT.store(is_on(env(c"RSHM_STRICT")), Relaxed);
    LEAK_CHECK.store(is_on(env(c"RSHM_LEAK_CHECK")), Relaxed);
    TRACE.store(to as u8, Relaxed);
    STATE.store(READ, Release);
}

#[inline]
fn ensure_read() {
    if STATE.load(Acquire) != READ {
        read();
    }
}

/// The validation `RSHM_STRICT` chose.
#[inline]
pub fn validation() -> Validation {
    ensure_read();
    if STRICT.load(Relaxed) {
        Validation::Strict
    } else {
        Validation::LikeGlibc
    }
}

/// Whether `RSHM_LEAK_CHECK` is on.
#[inline]
pub fn leak_check() -> bool {
    ensure_read();
    LEAK_CHECK.load(Relaxed)
}

/// Where `RSHM_TRACE` sends lines.
#[inline]
pub fn trace_to_setting() -> TraceTo {
    ensure_read();
    match TRACE.load(Relaxed) {
        x if x == TraceTo::Stderr as u8 => TraceTo::Stderr,
        x if x == TraceTo::File as u8 => TraceTo::File,
        _ => TraceTo::Nowhere,
    }
}

/// The `RSHM_TRACE` path, when it names a file.
pub fn trace_path() -> Option<&'static CStr> {
    ensure_read();
    let path = PATH.load(Relaxed);
    // SAFETY: PATH is NULL or a NUL-terminated environment string, never freed (see PATH).
    (!path.is_null()).then(|| unsafe { CStr::from_ptr(path) })
}

/// Reads the settings now (at load), so that calls only load atomics.
pub fn load() {
    ensure_read();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_accept_the_usual_spellings_of_on() {
        for on in [c"1", c"yes", c"true", c"on"] {
            assert!(is_on(Some(on)), "{on:?}");
        }
        for off in [c"0", c"", c"no", c"2", c"TRUE"] {
            assert!(!is_on(Some(off)), "{off:?}");
        }
        assert!(!is_on(None));
    }

    #[test]
    fn trace_names_stderr_a_file_or_nothing() {
        assert_eq!(trace_to(None), TraceTo::Nowhere);
        for off in [&b""[..], b"0", b"off"] {
            assert_eq!(trace_to(Some(off)), TraceTo::Nowhere);
        }
        for on in [&b"1"[..], b"stderr", b"yes"] {
            assert_eq!(trace_to(Some(on)), TraceTo::Stderr);
        }
        assert_eq!(trace_to(Some(b"/tmp/trace.log")), TraceTo::File);
        assert_eq!(trace_to(Some(b"/dev/stderr")), TraceTo::File);
    }
}
