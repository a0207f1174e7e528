//! `Key`, the name of a SysV object, and `ftok`, computed in Rust with glibc's
//! formula so that both give the same key for every path and proj_id.

use crate::error::{msg, Arg, Call, Errno, Error, ErrorKind, Message, PathText, Result};
use crate::flags::Validation;
use crate::sys;
use libc::c_char;
use std::ffi::CString;
use std::fmt;
use std::path::Path;

/// A System V IPC key (`key_t`). Printed in hex, as `ipcs` shows it: `0x41012345`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(libc::key_t);

impl Key {
    /// `IPC_PRIVATE`: a key that always makes a new object.
    pub const PRIVATE: Key = Key(libc::IPC_PRIVATE);

    /// The key `raw`, as C's `key_t` holds it.
    pub const fn from_raw(raw: libc::key_t) -> Key {
        Key(raw)
    }

    /// The raw `key_t`.
    pub const fn raw(self) -> libc::key_t {
        self.0
    }

    /// The key for `path` and `proj_id`, as `ftok(3)` makes it: the low 16 bits
    /// of the file's inode, the low 8 bits of its device and of `proj_id`.
    ///
    /// `proj_id` must have a non-zero low byte (the man page's rule; glibc lets
    /// it through, rshm does not).
    ///
    /// ```
    /// # let dir = std::env::temp_dir();
    /// let key = rshm::Key::ftok(&dir, 65)?;
    /// assert_eq!(key.raw() as u32 >> 24, 65);
    /// # Ok::<(), rshm::Error>(())
    /// ```
    pub fn ftok(path: impl AsRef<Path>, proj_id: i32) -> Result<Key> {
        let bytes = path.as_ref().as_os_str().as_encoded_bytes();
        let Ok(c_path) = CString::new(bytes) else {
            let call = Call::Ftok {
                path: PathText::new(bytes),
                proj_id,
            };
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                call,
                msg!("the path contains a NUL byte"),
            ));
        };
        // SAFETY: c_path is a valid NUL-terminated string.
        unsafe { Key::ftok_ptr(c_path.as_ptr(), proj_id, Validation::Strict) }
    }

    /// `ftok` on a C string pointer, as a C caller passes it: NULL or an
    /// unreadable pointer is `EFAULT`, exactly as with glibc, and the path is
    /// read only as far as the kernel could read it.
    ///
    /// # Safety
    /// `path` is NULL, or points to a NUL-terminated string, or to memory the
    /// kernel reports as unmapped (EFAULT).
    #[inline]
    pub unsafe fn ftok_ptr(
        path: *const c_char,
        proj_id: i32,
        validation: Validation,
    ) -> Result<Key> {
        if path.is_null() {
            let call = Call::Ftok {
                path: PathText::Null,
                proj_id,
            };
            return Err(Error::new(
                ErrorKind::NullPointer,
                call,
                msg!("path is NULL"),
            ));
        }
        // SAFETY: forwarded contract: path is handed to the kernel, which checks it.
        let stat = unsafe { sys::stat_dev_ino(path) };
        if validation == Validation::Strict && proj_id & 0xff == 0 {
            // Checked after stat(2), which changes nothing, so that the message
            // reads the path only if the kernel could (an unmapped one stays EFAULT-safe).
            // SAFETY: path was just handed to stat(2), which gave this result.
            return Err(unsafe { zero_proj_id(path, proj_id, stat.err()) });
        }
        match stat {
            Ok((dev, ino)) => Ok(Key::from_file_ids(dev, ino, proj_id)),
            // SAFETY: path was just handed to stat(2), which gave errno.
            Err(errno) => Err(unsafe { stat_error(errno, path, proj_id) }),
        }
    }

    /// glibc's formula: `(ino & 0xffff) | (dev & 0xff) << 16 | (proj_id & 0xff) << 24`.
    pub fn from_file_ids(dev: u64, ino: u64, proj_id: i32) -> Key {
        let key =
            (ino & 0xffff) as u32 | ((dev & 0xff) as u32) << 16 | ((proj_id as u32) & 0xff) << 24;
        Key(key as libc::key_t)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Arg::from(*self).fmt(f)
    }
}

impl From<Key> for Arg {
    fn from(key: Key) -> Arg {
        Arg::Key(key.0)
    }
}

/// The strict refusal of a `proj_id` whose low byte is zero.
///
/// # Safety
/// As [`PathText::after_stat`].
#[cold]
#[inline(never)]
unsafe fn zero_proj_id(path: *const c_char, proj_id: i32, errno: Option<Errno>) -> Error {
    // SAFETY: forwarded contract.
    let path = unsafe { PathText::after_stat(path, errno) };
    let reason = msg!(
        "the low 8 bits of proj_id ({}) are zero; ftok(3) requires them non-zero",
        Arg::Hex(proj_id as u32 as u64)
    );
    Error::new(
        ErrorKind::InvalidArgument,
        Call::Ftok { path, proj_id },
        reason,
    )
}

/// Why stat(2) of the path failed.
///
/// # Safety
/// As [`PathText::after_stat`].
#[cold]
#[inline(never)]
unsafe fn stat_error(errno: Errno, path: *const c_char, proj_id: i32) -> Error {
    let reason: Message = match errno.raw() {
        libc::ENOENT => msg!("the path does not exist (ftok needs an existing file)"),
        libc::EACCES => msg!("search permission is denied on a directory of the path"),
        libc::ENOTDIR => msg!("a component of the path is not a directory"),
        libc::ENAMETOOLONG => msg!("the path is longer than PATH_MAX"),
        libc::ELOOP => msg!("too many symbolic links in the path"),
        libc::EFAULT => msg!("path points outside the process's memory"),
        libc::ENOMEM => msg!("the kernel ran out of memory"),
        _ => msg!("stat of the path failed"),
    };
    // SAFETY: forwarded contract.
    let path = unsafe { PathText::after_stat(path, Some(errno)) };
    Error::from_errno(errno, Call::Ftok { path, proj_id }, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_takes_low_bits_of_each_part() {
        let key = Key::from_file_ids(0x1234_5678, 0xdead_beef, 0x141);
        assert_eq!(key.raw() as u32, 0x4178_beef);
    }

    #[test]
    fn key_prints_as_ipcs_does() {
        assert_eq!(Key(0x41012345).to_string(), "0x41012345");
        assert_eq!(Key(-1).to_string(), "0xffffffff");
        assert_eq!(Key::PRIVATE.to_string(), "0x00000000");
    }

    #[test]
    #[cfg_attr(miri, ignore = "stat(2): Miri cannot make syscalls")]
    fn proj_id_with_zero_low_byte_is_einval() {
        let error = Key::ftok("/", 0x100).unwrap_err();
        assert_eq!(error.errno(), libc::EINVAL);
        assert!(
            error.to_string().starts_with(
                "ftok(path=\"/\", proj_id=256): the low 8 bits of proj_id (0x100) are zero"
            ),
            "{error}"
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "stat(2): Miri cannot make syscalls")]
    fn missing_path_is_enoent_and_named() {
        let error = Key::ftok("/no/such/rshm/path", 65).unwrap_err();
        assert_eq!(error.errno(), libc::ENOENT);
        assert_eq!(
            error.to_string(),
            "ftok(path=\"/no/such/rshm/path\", proj_id=65): the path does not exist (ftok needs an existing file) (ENOENT)"
        );
    }

    #[test]
    #[cfg_attr(miri, ignore = "stat(2): Miri cannot make syscalls")]
    fn strict_proj_id_with_an_unmapped_path_does_not_read_it() {
        // SAFETY: the kernel reports the unmapped pointer as EFAULT; rshm must not read it.
        let error =
            unsafe { Key::ftok_ptr(16 as *const c_char, 0, Validation::Strict) }.unwrap_err();
        assert_eq!(error.errno(), libc::EINVAL);
        assert!(
            error
                .to_string()
                .starts_with("ftok(path=0x10, proj_id=0): the low 8 bits"),
            "{error}"
        );
    }

    #[test]
    fn null_path_is_efault() {
        // SAFETY: NULL is allowed by the contract.
        let error =
            unsafe { Key::ftok_ptr(std::ptr::null(), 65, Validation::LikeGlibc) }.unwrap_err();
        assert_eq!(error.errno(), libc::EFAULT);
        assert_eq!(
            error.to_string(),
            "ftok(path=NULL, proj_id=65): path is NULL (EFAULT)"
        );
    }

    #[test]
    fn a_path_with_a_nul_is_refused_without_a_syscall() {
        let error = Key::ftok("a\0b", 65).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            error.to_string(),
            "ftok(path=\"a\\x00b\", proj_id=65): the path contains a NUL byte (EINVAL)"
        );
    }
}
