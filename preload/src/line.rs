//! One line of the preload's own, `rshm[PID]: MESSAGE`, formatted on the
//! stack and written with a single write(2), keeping the caller's errno: what
//! the trace, the leak report and the settings' complaints are written with.
//! Nothing here allocates or locks (a call may come from a signal handler).

use libc::c_int;
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

/// Says something about the preload's own settings on stderr, whatever the trace's destination.
pub fn say(message: fmt::Arguments<'_>) {
    let _errno = KeepErrno::new();
    write_line(libc::STDERR_FILENO, message);
}

/// errno is the caller's: tracing keeps it as it was.
pub(crate) struct KeepErrno(c_int);

impl KeepErrno {
    pub(crate) fn new() -> KeepErrno {
        // SAFETY: __errno_location always returns this thread's errno.
        KeepErrno(unsafe { *libc::__errno_location() })
    }
}

impl Drop for KeepErrno {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = self.0 };
    }
}

pub(crate) fn write_line(fd: c_int, message: fmt::Arguments<'_>) {
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
    write_all(fd, &line.buf[..line.len]);
}

fn write_all(fd: c_int, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: bytes is a valid buffer of bytes.len() bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
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
}
