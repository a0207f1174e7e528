//! `Errno`: a Unix error number, printed by its symbolic name.

use std::fmt;

/// A Unix error number, printed by its symbolic name (`EINVAL`, `EACCES`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(i32);

impl Errno {
    /// The errno `raw` (a value of `libc::E*`).
    pub const fn new(raw: i32) -> Errno {
        Errno(raw)
    }

    /// The number, as C's `errno` holds it.
    pub const fn raw(self) -> i32 {
        self.0
    }

    /// The symbolic name of this errno, or `None` for one rshm never meets.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::ESRCH => "ESRCH",
            libc::EINTR => "EINTR",
            libc::EIO => "EIO",
            libc::E2BIG => "E2BIG",
            libc::EBADF => "EBADF",
            libc::EAGAIN => "EAGAIN",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::ENOTDIR => "ENOTDIR",
            libc::EINVAL => "EINVAL",
            libc::ENFILE => "ENFILE",
            libc::EMFILE => "EMFILE",
            libc::EFBIG => "EFBIG",
            libc::ENOSPC => "ENOSPC",
            libc::EPIPE => "EPIPE",
            libc::ERANGE => "ERANGE",
            libc::EDEADLK => "EDEADLK",
            libc::ENAMETOOLONG => "ENAMETOOLONG",
            libc::ENOSYS => "ENOSYS",
            libc::ELOOP => "ELOOP",
            libc::ENOMSG => "ENOMSG",
            libc::EIDRM => "EIDRM",
            libc::EPROTO => "EPROTO",
            libc::EOVERFLOW => "EOVERFLOW",
            libc::ETIMEDOUT => "ETIMEDOUT",
            libc::EOWNERDEAD => "EOWNERDEAD",
            libc::ENOTRECOVERABLE => "ENOTRECOVERABLE",
            _ => return None,
        })
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "errno {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_its_name_or_its_number() {
        assert_eq!(Errno::new(libc::EIDRM).to_string(), "EIDRM");
        assert_eq!(Errno::new(4242).to_string(), "errno 4242");
    }
}
