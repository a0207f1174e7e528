//! `RSHM_TRACE`: one line per call, `rshm[PID]: CALL = RESULT`, written with
//! a single write(2) from a stack buffer, so lines never interleave mid-line.
//! Tracing allocates nothing and takes no lock: the calls may come from a
//! signal handler, or from a child that `_Fork` made while another thread
//! was writing a line.
//!
//! A trace file is opened once, at the first line, and kept (its descriptor
//! is inherited by `fork` children, which append to it too, and closed by
//! `exec`). It must be a regular file: it is opened with `O_NOFOLLOW` (never
//! through a symbolic link) and `O_NONBLOCK` (a FIFO without a reader would
//! block the call), then checked with `fstat`; anything else is refused, said
//! once on stderr, and the program runs untraced. The descriptor is moved
//! high, out of the numbers programs pick, and before each line its device
//! and inode are checked: a program that closed it, or reused its number for
//! a file of its own (as daemons do), gets nothing written into that file,
//! and the trace file is opened again.

use crate::line::{write_line, KeepErrno};
use crate::settings::{self, TraceTo};
use libc::c_int;
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

/// Whether tracing is on (callers skip formatting when it is not).
pub fn enabled() -> bool {
    match settings::trace_to_setting() {
        TraceTo::Nowhere => false,
        TraceTo::Stderr => true,
        TraceTo::File => FILE.load(Relaxed) != REFUSED,
    }
}

/// Writes `rshm[PID]: ` + `message` as one line to the trace's destination.
pub fn line(message: fmt::Arguments<'_>) {
    let _errno = KeepErrno::new();
    match settings::trace_to_setting() {
        TraceTo::Nowhere => {}
        TraceTo::Stderr => write_line(libc::STDERR_FILENO, message),
        TraceTo::File => {
            if let Some(fd) = trace_file() {
                write_line(fd, message);
            }
        }
    }
}

/// Writes a report line (the leak check's) where the trace goes, or to stderr when tracing is off.
pub fn report(message: fmt::Arguments<'_>) {
    let _errno = KeepErrno::new();
    let fd = match settings::trace_to_setting() {
        TraceTo::File => trace_file().unwrap_or(libc::STDERR_FILENO),
        TraceTo::Nowhere | TraceTo::Stderr => libc::STDERR_FILENO,
    };
    write_line(fd, message);
}

// ---- the trace file ----
//
// FILE holds the state in one word, so that threads, handlers and children
// see it change at once: UNOPENED, REFUSED, or the descriptor with the
// generation of its opening (`generation << 32 | fd`). The file's identity
// (device, inode) is published after the descriptor, tagged with the same
// generation: until it is, the descriptor was opened an instant ago and is
// trusted; once a newer generation is installed, an older one is not used.
// Whoever finds the file unopened (or its descriptor taken) opens it and
// installs it with one compare-and-swap; a racer that loses closes its own
// and uses the winner's. A descriptor once installed is never closed by the
// preload: when it fails the check, its number belongs to the program.

const UNOPENED: u64 = 0;
const REFUSED: u64 = u64::MAX;
static FILE: AtomicU64 = AtomicU64::new(UNOPENED);
static IDENTITY_GENERATION: AtomicU32 = AtomicU32::new(0);
static IDENTITY_DEV: AtomicU64 = AtomicU64::new(0);
static IDENTITY_INO: AtomicU64 = AtomicU64::new(0);

fn unpack(held: u64) -> (u32, c_int) {
    ((held >> 32) as u32, held as u32 as c_int)
}

/// Why a trace path is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// open(2) failed with this errno.
    Open(c_int),
    /// It opened, but is not a regular file: what it is.
    NotRegular(&'static str),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Refusal::Open(libc::ELOOP) => f.write_str("it is a symbolic link (ELOOP)"),
            Refusal::Open(libc::ENXIO) => {
                f.write_str("it is a FIFO or socket without a reader, not a regular file (ENXIO)")
            }
            Refusal::Open(libc::EISDIR) => f.write_str("it is a directory (EISDIR)"),
            Refusal::Open(errno) => write!(f, "it cannot be opened ({})", rshm::Errno::new(errno)),
            Refusal::NotRegular(what) => write!(f, "it is {what}, not a regular file"),
        }
    }
}

/// The descriptor of the trace file, opened (again) if needed; None once refused.
fn trace_file() -> Option<c_int> {
    // A few rounds: each lost race means that another thread installed a file.
    for _ in 0..4 {
        let held = FILE.load(Acquire);
        if held == REFUSED {
            return None;
        }
        if held != UNOPENED {
            let (generation, fd) = unpack(held);
            match still_ours(generation, fd) {
                Some(true) => return Some(fd),
                Some(false) => {} // closed, or its number reused by the program: open anew
                None => continue, // a newer one was installed meanwhile
            }
        }
        let generation = ((held >> 32) as u32).wrapping_add(1).max(1);
        match open_trace_file() {
            Ok((fd, dev, ino)) => {
                let installed = (u64::from(generation) << 32) | u64::from(fd as u32);
                if FILE
                    .compare_exchange(held, installed, AcqRel, Acquire)
                    .is_ok()
                {
                    IDENTITY_DEV.store(dev, Relaxed);
                    IDENTITY_INO.store(ino, Relaxed);
                    IDENTITY_GENERATION.store(generation, Release);
                    return Some(fd);
                }
                // SAFETY: fd was opened just above and never shared.
                unsafe { libc::close(fd) };
            }
            Err(refusal) => {
                if FILE
                    .compare_exchange(held, REFUSED, AcqRel, Acquire)
                    .is_ok()
                {
                    say_refused(refusal);
                    return None;
                }
            }
        }
    }
    None
}

/// Whether `fd` (installed as `generation`) still refers to the trace file:
/// None if a newer generation was installed since.
fn still_ours(generation: u32, fd: c_int) -> Option<bool> {
    let published = IDENTITY_GENERATION.load(Acquire);
    if published != generation {
        // Newer: another opening was installed since FILE was read: read it again.
        // Older: this one was installed an instant ago and its identity is on its way.
        let newer = published.wrapping_sub(generation) as i32 > 0;
        return if newer { None } else { Some(true) };
    }
    let (dev, ino) = (IDENTITY_DEV.load(Relaxed), IDENTITY_INO.load(Relaxed));
    // SAFETY: an all-zero stat is a valid value for fstat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is a valid stat buffer; a closed fd is EBADF.
    let ok = unsafe { libc::fstat(fd, &mut st) } == 0;
    Some(ok && st.st_dev == dev && st.st_ino == ino)
}

/// Opens the `RSHM_TRACE` file for appending, on a high descriptor: a regular
/// file, or refused. Returns the descriptor, device and inode.
fn open_trace_file() -> Result<(c_int, u64, u64), Refusal> {
    let Some(path) = settings::trace_path() else {
        return Err(Refusal::Open(libc::ENOENT));
    };
    let flags = libc::O_WRONLY
        | libc::O_APPEND
        | libc::O_CREAT
        | libc::O_NOFOLLOW
        | libc::O_NONBLOCK
        | libc::O_NOCTTY
        | libc::O_CLOEXEC;
    // SAFETY: path is a NUL-terminated string in static memory (settings.rs).
    let fd = unsafe { libc::open(path, flags, 0o644) };
    if fd < 0 {
        return Err(Refusal::Open(errno()));
    }
    // SAFETY: as in still_ours.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open; st is a valid stat buffer.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        let refusal = Refusal::Open(errno());
        // SAFETY: fd was opened just above.
        unsafe { libc::close(fd) };
        return Err(refusal);
    }
    let what = match st.st_mode & libc::S_IFMT {
        libc::S_IFREG => None,
        libc::S_IFIFO => Some("a FIFO"),
        libc::S_IFCHR => Some("a character device"),
        libc::S_IFBLK => Some("a block device"),
        libc::S_IFSOCK => Some("a socket"),
        _ => Some("not a file"),
    };
    if let Some(what) = what {
        // SAFETY: fd was opened just above.
        unsafe { libc::close(fd) };
        return Err(Refusal::NotRegular(what));
    }
    Ok((move_high(fd), st.st_dev, st.st_ino))
}

/// `fd` moved to a number near the top of the usual range (below 1024, for
/// programs that use select), where programs rarely pick or reuse numbers;
/// `fd` itself if that fails.
fn move_high(fd: c_int) -> c_int {
    // SAFETY: an all-zero rlimit is a valid value for getrlimit to overwrite.
    let mut limit: libc::rlimit = unsafe { std::mem::zeroed() };
    // SAFETY: limit is a valid rlimit buffer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return fd;
    }
    let top = limit.rlim_cur.min(1024) as c_int;
    let floor = if top > 128 { top - 64 } else { top / 2 };
    if floor <= fd {
        return fd;
    }
    // SAFETY: F_DUPFD_CLOEXEC on an open descriptor; failure leaves it as it is.
    let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, floor) };
    if high < 0 {
        return fd;
    }
    // SAFETY: fd was opened by open_trace_file and is now duplicated.
    unsafe { libc::close(fd) };
    high
}

fn errno() -> c_int {
    // SAFETY: __errno_location always returns this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// Says on stderr, once (the caller won the switch to REFUSED), why the path is refused.
fn say_refused(refusal: Refusal) {
    let mut buf = [0; 256];
    let path = settings::trace_path_bytes(&mut buf);
    write_line(
        libc::STDERR_FILENO,
        format_args!(
            "RSHM_TRACE={} refused: {refusal}; not tracing",
            path.escape_ascii()
        ),
    );
}

/// Traces a finished call: `CALL = VALUE`, or `CALL = FAILED ERRNO (reason)`.
pub fn result<T>(
    call: &dyn fmt::Display,
    result: &rshm::Result<T>,
    failed: &str,
    value: impl FnOnce(&T) -> Value,
) {
    if !enabled() {
        return;
    }
    match result {
        Ok(ok) => line(format_args!("{call} = {}", value(ok))),
        Err(error) => line(format_args!(
            "{call} = {failed} {} ({})",
            rshm::Errno::new(error.errno()),
            error.reason()
        )),
    }
}

/// A successful result as the trace shows it.
pub enum Value {
    Int(i64),
    Hex(u32),
    Pointer(*const libc::c_void),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Int(value) => write!(f, "{value}"),
            Value::Hex(value) => write!(f, "{value:#010x}"),
            Value::Pointer(ptr) => write!(f, "{ptr:p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_like_c() {
        assert_eq!(Value::Int(-1).to_string(), "-1");
        assert_eq!(Value::Hex(0x4100c09d).to_string(), "0x4100c09d");
        assert_eq!(Value::Hex(0x1).to_string(), "0x00000001");
        assert_eq!(
            Value::Pointer(0x7f00_0000_1000 as *const libc::c_void).to_string(),
            "0x7f0000001000"
        );
    }

    #[test]
    fn refusals_say_why() {
        assert_eq!(
            Refusal::Open(libc::ELOOP).to_string(),
            "it is a symbolic link (ELOOP)"
        );
        assert_eq!(
            Refusal::Open(libc::EACCES).to_string(),
            "it cannot be opened (EACCES)"
        );
        assert_eq!(
            Refusal::NotRegular("a FIFO").to_string(),
            "it is a FIFO, not a regular file"
        );
    }
}
