//! Reading files and directories without allocating, for the leak check's
//! run (run.rs): NUL-terminated paths built on the stack, a directory's
//! entries through `getdents64`, a file's lines or bytes through a stack buffer.

use libc::{c_char, c_int};
use std::ops::ControlFlow;

/// A NUL-terminated path built on the stack; too long a path is refused.
pub struct CPath {
    buf: [u8; 400],
    len: usize,
}

impl CPath {
    /// The longest path kept, its NUL excluded.
    pub const MAX: usize = 399;

    pub fn new() -> CPath {
        CPath {
            buf: [0; 400],
            len: 0,
        }
    }

    /// Appends `bytes`; false (and the path unchanged) if they do not fit or hold a NUL.
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        if self.len + bytes.len() > Self::MAX || bytes.contains(&0) {
            return false;
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        self.buf[self.len] = 0;
        true
    }

    /// Appends `value` in decimal.
    pub fn push_num(&mut self, mut value: u64) -> bool {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.push(&digits[at..])
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The path for a system call (always NUL-terminated).
    pub fn as_ptr(&self) -> *const c_char {
        self.buf.as_ptr().cast()
    }
}

/// The calling thread's errno.
pub fn errno() -> c_int {
    // SAFETY: __errno_location always returns this thread's errno.
    unsafe { *libc::__errno_location() }
}

/// An open descriptor, closed on drop.
struct Fd(c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor was opened by this module and is closed once.
        unsafe { libc::close(self.0) };
    }
}

fn open(path: &CPath, flags: c_int) -> Result<Fd, c_int> {
    // SAFETY: path is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        Err(errno())
    } else {
        Ok(Fd(fd))
    }
}

/// Calls `each` with the name of every entry of directory `dir` but `.` and
/// `..`, until it breaks. An error of open or getdents64 is its errno.
pub fn each_entry(
    dir: &CPath,
    mut each: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> Result<(), c_int> {
    let fd = open(dir, libc::O_RDONLY | libc::O_DIRECTORY)?;
    let mut buf = [0u64; 512]; // 4 KiB, aligned for linux_dirent64
    loop {
        // SAFETY: buf is a writable buffer of the size given.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                fd.0,
                buf.as_mut_ptr(),
                std::mem::size_of_val(&buf),
            )
        };
        if n < 0 {
            return Err(errno());
        }
        if n == 0 {
            return Ok(());
        }
        // SAFETY: the kernel filled n bytes of buf, which are plain bytes.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) };
        let mut at = 0;
        // linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name (NUL-terminated).
        while at + 19 <= bytes.len() {
            let reclen = u16::from_ne_bytes([bytes[at + 16], bytes[at + 17]]) as usize;
            if reclen == 0 || at + reclen > bytes.len() {
                return Err(libc::EIO);
            }
            let name = &bytes[at + 19..at + reclen];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            at += reclen;
            if name == b"." || name == b".." {
                continue;
            }
            if each(name).is_break() {
                return Ok(());
            }
        }
    }
}

/// One read(2) into `buf`, again when a signal interrupted it: the bytes read (0 at the end).
fn read_into(fd: &Fd, buf: &mut [u8]) -> Result<usize, c_int> {
    loop {
        // SAFETY: buf is writable for its length.
        let n = unsafe { libc::read(fd.0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        if errno() != libc::EINTR {
            return Err(errno());
        }
    }
}

/// Calls `each` with every line of file `path` (without its newline) until it
/// breaks; a line longer than the buffer is cut into pieces.
pub fn each_line(
    path: &CPath,
    mut each: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> Result<(), c_int> {
    let fd = open(path, libc::O_RDONLY | libc::O_NOFOLLOW)?;
    let mut buf = [0u8; 4096];
    let mut held = 0; // bytes of an unfinished line at the start of buf
    loop {
        let n = read_into(&fd, &mut buf[held..])?;
        let end = held + n;
        if n == 0 {
            if held > 0 {
                let _ = each(&buf[..held]);
            }
            return Ok(());
        }
        let mut start = 0;
        while let Some(newline) = buf[start..end].iter().position(|&b| b == b'\n') {
            if each(&buf[start..start + newline]).is_break() {
                return Ok(());
            }
            start += newline + 1;
        }
        if start == 0 && end == buf.len() {
            // A line longer than the buffer: hand it on in pieces.
            if each(&buf[..end]).is_break() {
                return Ok(());
            }
            held = 0;
        } else {
            buf.copy_within(start..end, 0);
            held = end - start;
        }
    }
}

/// Whether file `path` holds `needle` (at most 64 bytes) anywhere.
pub fn contains(path: &CPath, needle: &[u8]) -> Result<bool, c_int> {
    let fd = open(path, libc::O_RDONLY)?;
    let keep = needle.len().min(64).saturating_sub(1);
    let mut buf = [0u8; 4096];
    let mut held = 0;
    loop {
        let n = read_into(&fd, &mut buf[held..])?;
        if n == 0 {
            return Ok(false);
        }
        let end = held + n;
        if buf[..end].windows(needle.len()).any(|w| w == needle) {
            return Ok(true);
        }
        let from = end.saturating_sub(keep);
        buf.copy_within(from..end, 0);
        held = end - from;
    }
}

/// Writes `bytes` to file `path` with one write(2), appending (and creating it, mode 0600).
pub fn append(path: &CPath, bytes: &[u8]) -> Result<(), c_int> {
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NOFOLLOW;
    // SAFETY: path is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC, 0o600) };
    if fd < 0 {
        return Err(errno());
    }
    let fd = Fd(fd);
    // SAFETY: bytes is a readable buffer of its length.
    let n = unsafe { libc::write(fd.0, bytes.as_ptr().cast(), bytes.len()) };
    if n == bytes.len() as isize {
        Ok(())
    } else {
        Err(if n < 0 { errno() } else { libc::EIO })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(s: &str) -> CPath {
        let mut p = CPath::new();
        assert!(p.push(s.as_bytes()));
        p
    }

    #[test]
    fn paths_refuse_what_does_not_fit() {
        let mut p = CPath::new();
        assert!(p.push(b"/tmp/p.") && p.push_num(0) && p.push(b".") && p.push_num(u64::MAX));
        assert_eq!(p.bytes(), b"/tmp/p.0.18446744073709551615");
        assert!(!p.push(&[b'x'; CPath::MAX]));
        assert!(!p.push(b"a\0b"));
        assert_eq!(p.bytes(), b"/tmp/p.0.18446744073709551615");
    }

    #[test]
    fn lines_entries_and_needles_are_read_through_small_buffers() {
        let dir = std::env::temp_dir().join(format!("rshm-procfs-{}", std::process::id()));
        std::fs::create_dir(&dir).unwrap();
        let file = dir.join("f");
        let long = "y".repeat(5000);
        let text = format!("one\n{long}\nthree");
        std::fs::write(&file, &text).unwrap();
        let file_path = path(file.to_str().unwrap());
        let mut lines = Vec::new();
        each_line(&file_path, |l| {
            lines.push(l.len());
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(lines.iter().sum::<usize>(), 3 + 5000 + 5);
        assert_eq!((lines[0], *lines.last().unwrap()), (3, 5));
        assert!(contains(&file_path, b"three").unwrap());
        assert!(contains(&file_path, b"yyyy\nthr").unwrap());
        assert!(!contains(&file_path, b"four").unwrap());
        append(&path(dir.join("g").to_str().unwrap()), b"x\n").unwrap();
        let mut names = Vec::new();
        each_entry(&path(dir.to_str().unwrap()), |n| {
            names.push(n.to_vec());
            ControlFlow::Continue(())
        })
        .unwrap();
        names.sort();
        assert_eq!(names, [b"f".to_vec(), b"g".to_vec()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
