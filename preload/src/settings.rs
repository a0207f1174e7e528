//! What the environment asks of the preload, read once into statics: at load,
//! or at the first call if another library's constructor calls in first.
//! Reading them does nothing else: the library's loader (lib.rs) acts on them.
//!
//! Any call may come from a signal handler, so there is no lock and no
//! one-time initialiser a handler could find half-done: whoever finds the
//! settings unread reads them and stores them; two racers (or a handler and
//! the code it interrupted) store the same values, which is harmless.
//!
//! What is kept is copied out of the environment (the `RSHM_TRACE` path into
//! a fixed buffer): programs that set their process title (nginx,
//! PostgreSQL) write over the environment's memory, so a pointer into it
//! would later name the title instead.
//!
//! In a privileged process (setuid or setgid, file capabilities: the kernel's
//! `AT_SECURE`) none of them is read (`secure_getenv`): they come from the
//! unprivileged user who started it, and `RSHM_TRACE` would make it create
//! and append to files of that user's choosing. Such a process says nothing.

use libc::c_char;
use rshm::Validation;
use std::ffi::CStr;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::*};

extern "C" {
    /// glibc's (and musl's) getenv that returns NULL in secure mode.
    fn secure_getenv(name: *const c_char) -> *mut c_char;
    static environ: *const *const c_char;
}

/// Where trace lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceTo {
    Nowhere,
    Stderr,
    /// Appended to the file [`trace_path`] names (opened at the first line; see trace.rs).
    File,
}

/// The settings the preload reads, and the names the project's tools read
/// (so that they are not taken for typos): `RSHM_BENCH_*` is a family.
const KNOWN: [&[u8]; 8] = [
    b"RSHM_STRICT",
    b"RSHM_TRACE",
    b"RSHM_LEAK_CHECK",
    RUN_VARIABLE.to_bytes(),
    b"RSHM_PRELOAD_LIB",
    b"RSHM_FUZZ_CASES",
    b"RSHM_ISOLATED",
    b"RSHM_PG_WORK",
];
const KNOWN_FAMILY: &[u8] = b"RSHM_BENCH_";

/// The leak check's run directory, as the first process of a run names it
/// for the others (see run.rs).
pub const RUN_VARIABLE: &CStr = c"RSHM_LEAK_CHECK_RUN";

const UNREAD: u8 = 0;
const READ: u8 = 1;

static STATE: AtomicU8 = AtomicU8::new(UNREAD);
static STRICT: AtomicBool = AtomicBool::new(false);
static LEAK_CHECK: AtomicBool = AtomicBool::new(false);
static TRACE: AtomicU8 = AtomicU8::new(TraceTo::Nowhere as u8);

/// The longest `RSHM_TRACE` path kept (`PATH_MAX`, its NUL included).
const PATH_BYTES: usize = 4096;
/// The `RSHM_TRACE` path, copied with its NUL (bytes, as atomics: racing
/// readers of the environment store the same bytes).
#[allow(clippy::declare_interior_mutable_const)] // a template for the array
const ZERO: AtomicU8 = AtomicU8::new(0);
static PATH: [AtomicU8; PATH_BYTES] = [ZERO; PATH_BYTES];
static PATH_LEN: AtomicUsize = AtomicUsize::new(0);

fn env(name: &CStr) -> Option<&CStr> {
    // SAFETY: secure_getenv returns NULL or a string of the environment.
    let value = unsafe { secure_getenv(name.as_ptr()) };
    // SAFETY: non-NULL results are NUL-terminated strings.
    (!value.is_null()).then(|| unsafe { CStr::from_ptr(value) })
}

/// What a switch (`RSHM_STRICT`, `RSHM_LEAK_CHECK`) says: `None` when the value is not understood.
fn switch(value: Option<&[u8]>) -> Option<bool> {
    match value {
        None | Some(b"" | b"0" | b"no" | b"false" | b"off") => Some(false),
        Some(b"1" | b"yes" | b"true" | b"on") => Some(true),
        Some(_) => None,
    }
}

/// What `RSHM_TRACE` asks for.
fn trace_to(value: Option<&[u8]>) -> TraceTo {
    match value {
        None | Some(b"" | b"0" | b"no" | b"false" | b"off") => TraceTo::Nowhere,
        Some(b"1" | b"yes" | b"true" | b"on" | b"stderr" | b"/dev/stderr" | b"/dev/fd/2") => {
            TraceTo::Stderr
        }
        Some(_) => TraceTo::File,
    }
}

/// Reads the environment into the statics. Idempotent: racers store the same values.
fn read() {
    let trace = env(c"RSHM_TRACE");
    let mut to = trace_to(trace.map(CStr::to_bytes));
    if let (TraceTo::File, Some(path)) = (to, trace) {
        let bytes = path.to_bytes_with_nul();
        if bytes.len() <= PATH_BYTES {
            for (slot, &byte) in PATH.iter().zip(bytes) {
                slot.store(byte, Relaxed);
            }
            PATH_LEN.store(bytes.len() - 1, Relaxed);
        } else {
            to = TraceTo::Nowhere; // said at load (see warnings)
        }
    }
    STRICT.store(
        switch(env(c"RSHM_STRICT").map(CStr::to_bytes)) == Some(true),
        Relaxed,
    );
    LEAK_CHECK.store(
        switch(env(c"RSHM_LEAK_CHECK").map(CStr::to_bytes)) == Some(true),
        Relaxed,
    );
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

/// The `RSHM_TRACE` path, when it names a file: a NUL-terminated string in
/// static memory, for open(2).
pub fn trace_path() -> Option<*const c_char> {
    ensure_read();
    (trace_to_setting() == TraceTo::File).then(|| PATH.as_ptr().cast::<c_char>())
}

/// The `RSHM_TRACE` path's bytes (for messages), copied into `buf`.
pub fn trace_path_bytes(buf: &mut [u8; 256]) -> &[u8] {
    let len = PATH_LEN.load(Relaxed).min(buf.len());
    for (byte, slot) in buf.iter_mut().zip(&PATH[..len]) {
        *byte = slot.load(Relaxed);
    }
    &buf[..len]
}

/// `name`'s value from the environment, copied into `buf` with its NUL if it
/// fits; None if unset, too long, or in a privileged process. For the loader,
/// before `main` (the program has not yet written over its environment).
pub fn copy_env<'b>(name: &CStr, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let value = env(name)?.to_bytes_with_nul();
    let target = buf.get_mut(..value.len())?;
    target.copy_from_slice(value);
    Some(&target[..value.len() - 1])
}

/// Whether the kernel runs this process in secure mode (setuid, setgid, capabilities).
fn privileged() -> bool {
    // SAFETY: getauxval has no preconditions.
    unsafe { libc::getauxval(libc::AT_SECURE) != 0 }
}

/// Reads the settings now (at load), so that calls only load atomics, and
/// says once on stderr what the preload does not understand.
pub fn load() {
    ensure_read();
    if !privileged() {
        say_what_is_not_understood();
    }
}

/// A value that is not understood, or an `RSHM_` name that is not known: what to say.
#[derive(Debug, PartialEq, Eq)]
enum Complaint<'a> {
    Switch(&'a [u8], &'a [u8]),
    PathTooLong(usize),
    UnknownName(&'a [u8]),
}

impl fmt::Display for Complaint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Complaint::Switch(name, value) => write!(
                f,
                "{}={} is not understood (on: 1, yes, true, on; off: 0, no, false, off or empty): off",
                name.escape_ascii(),
                value.escape_ascii()
            ),
            Complaint::PathTooLong(len) => write!(
                f,
                "RSHM_TRACE names a path of {len} bytes, longer than {} (PATH_MAX): not tracing",
                PATH_BYTES - 1
            ),
            Complaint::UnknownName(name) => write!(
                f,
                "{} is not a setting of the preload (it reads RSHM_STRICT, RSHM_TRACE and RSHM_LEAK_CHECK): ignored",
                name.escape_ascii()
            ),
        }
    }
}

/// The complaint about one `NAME=VALUE` entry of the environment, if any.
fn complaint(entry: &[u8]) -> Option<Complaint<'_>> {
    let (name, value) = match entry.iter().position(|&b| b == b'=') {
        Some(at) => (&entry[..at], &entry[at + 1..]),
        None => (entry, &b""[..]),
    };
    if !name.starts_with(b"RSHM_") {
        return None;
    }
    match name {
        b"RSHM_STRICT" | b"RSHM_LEAK_CHECK" => switch(Some(value))
            .is_none()
            .then_some(Complaint::Switch(name, value)),
        b"RSHM_TRACE" => (trace_to(Some(value)) == TraceTo::File && value.len() >= PATH_BYTES)
            .then_some(Complaint::PathTooLong(value.len())),
        _ if KNOWN.contains(&name) || name.starts_with(KNOWN_FAMILY) => None,
        _ => Some(Complaint::UnknownName(name)),
    }
}

/// Each value not understood and each unknown `RSHM_` name, one line each on
/// stderr. Runs once per process, at load: forked children do not say it again.
fn say_what_is_not_understood() {
    // SAFETY: at load, environ is the NULL-terminated array the loader set up.
    let mut entry = unsafe { environ };
    if entry.is_null() {
        return;
    }
    loop {
        // SAFETY: entry points into the NULL-terminated array.
        let string = unsafe { *entry };
        if string.is_null() {
            return;
        }
        // SAFETY: each entry is a NUL-terminated string.
        let bytes = unsafe { CStr::from_ptr(string) }.to_bytes();
        if let Some(complaint) = complaint(bytes) {
            crate::line::say(format_args!("{complaint}"));
        }
        // SAFETY: the array goes on until its NULL.
        entry = unsafe { entry.add(1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_accept_the_usual_spellings_and_nothing_else() {
        for on in [&b"1"[..], b"yes", b"true", b"on"] {
            assert_eq!(switch(Some(on)), Some(true), "{on:?}");
        }
        for off in [&b"0"[..], b"", b"no", b"false", b"off"] {
            assert_eq!(switch(Some(off)), Some(false), "{off:?}");
        }
        assert_eq!(switch(None), Some(false));
        for odd in [&b"2"[..], b"TRUE", b" 1", b"enable"] {
            assert_eq!(switch(Some(odd)), None, "{odd:?}");
        }
    }

    #[test]
    fn trace_names_stderr_a_file_or_nothing() {
        assert_eq!(trace_to(None), TraceTo::Nowhere);
        for off in [&b""[..], b"0", b"off"] {
            assert_eq!(trace_to(Some(off)), TraceTo::Nowhere);
        }
        for on in [&b"1"[..], b"stderr", b"yes", b"/dev/stderr", b"/dev/fd/2"] {
            assert_eq!(trace_to(Some(on)), TraceTo::Stderr, "{on:?}");
        }
        assert_eq!(trace_to(Some(b"/tmp/trace.log")), TraceTo::File);
        assert_eq!(trace_to(Some(b"/dev/fd/3")), TraceTo::File);
    }

    #[test]
    fn complaints_name_odd_values_and_unknown_names_only() {
        assert_eq!(
            complaint(b"RSHM_STRICT=2"),
            Some(Complaint::Switch(b"RSHM_STRICT", b"2"))
        );
        assert_eq!(
            complaint(b"RSHM_TRAC=1"),
            Some(Complaint::UnknownName(b"RSHM_TRAC"))
        );
        let long = [b"RSHM_TRACE=".as_slice(), &[b'x'; PATH_BYTES]].concat();
        assert_eq!(complaint(&long), Some(Complaint::PathTooLong(PATH_BYTES)));
        for fine in [
            &b"RSHM_STRICT=1"[..],
            b"RSHM_LEAK_CHECK=off",
            b"RSHM_TRACE=/tmp/x",
            b"RSHM_TRACE=/dev/stderr",
            b"RSHM_BENCH_RUNS=3",
            b"RSHM_PRELOAD_LIB=/x.so",
            b"RSHM_LEAK_CHECK_RUN=/tmp/r",
            b"HOME=/root",
            b"XRSHM_TRACE=1",
        ] {
            assert_eq!(complaint(fine), None, "{}", fine.escape_ascii());
        }
        assert_eq!(
            Complaint::Switch(b"RSHM_STRICT", b"2").to_string(),
            "RSHM_STRICT=2 is not understood (on: 1, yes, true, on; off: 0, no, false, off or empty): off"
        );
    }
}
