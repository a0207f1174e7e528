//! `RSHM_TRACE`: one line per call, `rshm[PID]: CALL = RESULT`, written with
//! a single write(2) from a stack buffer, so lines never interleave mid-line
//! and tracing a successful call allocates nothing.

use crate::settings::{settings, TraceTo};
use std::fmt::{self, Write};

/// A line being built on the stack; what does not fit is cut (with `...`).
struct Line {
    buf: [u8; 1024],
    len: usize,
    cut: bool,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - 4 - self.len; // keep room for "...\n"
        let take = s.len().min(room);
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        self.cut |= take < s.len();
        Ok(())
    }
}

/// Whether tracing is on (callers skip formatting when it is not).
pub fn enabled() -> bool {
    !matches!(settings().trace, TraceTo::Nowhere)
}

/// Writes `rshm[PID]: ` + `message` as one line to the trace's destination.
pub fn line(message: fmt::Arguments<'_>) {
    write_line(&settings().trace, message);
}

/// Writes a report line (the leak check's) where the trace goes, or to stderr when tracing is off.
pub fn report(message: fmt::Arguments<'_>) {
    match settings().trace {
        TraceTo::Nowhere => write_line(&TraceTo::Stderr, message),
        ref to => write_line(to, message),
    }
}

fn write_line(to: &TraceTo, message: fmt::Arguments<'_>) {
    let mut line = Line {
        buf: [0; 1024],
        len: 0,
        cut: false,
    };
    // SAFETY: getpid cannot fail.
    let _ = write!(line, "rshm[{}]: {message}", unsafe { libc::getpid() });
    if line.cut {
        line.buf[line.len..line.len + 3].copy_from_slice(b"...");
        line.len += 3;
    }
    line.buf[line.len] = b'\n';
    line.len += 1;
    // errno is the caller's: keep it as it was.
    // SAFETY: __errno_location always returns this thread's errno.
    let saved = unsafe { *libc::__errno_location() };
    match to {
        TraceTo::Nowhere => {}
        TraceTo::Stderr => write_all(libc::STDERR_FILENO, &line.buf[..line.len]),
        TraceTo::File(path) => {
            // SAFETY: path is a valid C string; the flags create or append.
            let fd = unsafe {
                libc::open(
                    path.as_ptr(),
                    libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC,
                    0o644,
                )
            };
            if fd >= 0 {
                write_all(fd, &line.buf[..line.len]);
                // SAFETY: fd was opened just above.
                unsafe { libc::close(fd) };
            }
        }
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved };
}

fn write_all(fd: libc::c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: bytes is a valid buffer of bytes.len() bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
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
    fn a_long_line_is_cut_with_an_ellipsis_and_keeps_room_for_it() {
        let mut line = Line {
            buf: [0; 1024],
            len: 0,
            cut: false,
        };
        let long = "x".repeat(2000);
        write!(line, "{long}").unwrap();
        assert!(line.cut);
        assert_eq!(line.len, 1020);
        assert!(line.buf[..line.len].iter().all(|&b| b == b'x'));
    }

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
}
