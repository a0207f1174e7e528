//! `Key`, the name of a segment, and `ftok`, computed in Rust with glibc's
//! formula so that both give the same key for every path and proj_id.

use crate::error::call::{FtokCall, FtokPath};
use crate::error::{Errno, Error, Result};
use crate::flags::Validation;
use crate::sys;
use libc::c_char;
use std::ffi::{CStr, CString};
use std::fmt;
use std::path::Path;

/// A System V IPC key (`key_t`). Printed in hex, as `ipcs` shows it: `0x41012345`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key(pub libc::key_t);

impl Key {
    /// `IPC_PRIVATE`: a key that always makes a new segment.
    pub const PRIVATE: Key = Key(libc::IPC_PRIVATE);

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
        let path = path.as_ref();
        let c_path = CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| {
            Error::InvalidArgument {
                call: format!("ftok(path={path:?}, proj_id={proj_id})"),
                reason: "the path contains a NUL byte".into(),
            }
        })?;
        // SAFETY: c_path is a valid NUL-terminated string.
        unsafe { Key::ftok_raw(c_path.as_ptr(), proj_id, Validation::Strict) }
    }

    /// `ftok` on a C string pointer, as the C face receives it: NULL or an
    /// unreadable pointer is `EFAULT`, exactly as with glibc.
    ///
    /// # Safety
    /// `path` is NULL, or points to a NUL-terminated string, or to memory the
    /// kernel reports as unmapped (EFAULT).
    #[inline]
    pub unsafe fn ftok_raw(
        path: *const c_char,
        proj_id: i32,
        validation: Validation,
    ) -> Result<Key> {
        if path.is_null() {
            return Err(Error::NullPointer {
                call: ftok_call(FtokPath::Null, proj_id),
                argument: "path",
            });
        }
        // SAFETY: forwarded contract: path is handed to the kernel, which checks it.
        let stat = unsafe { sys::stat_dev_ino(path) };
        if validation == Validation::Strict && proj_id & 0xff == 0 {
            // Checked after stat(2), which changes nothing, so that the message
            // reads the path only if the kernel could (an unmapped one stays EFAULT-safe).
            let errno = stat.err().unwrap_or(Errno(0));
            return Err(Error::InvalidArgument {
                // SAFETY: path was just handed to stat(2), which gave errno.
                call: ftok_call(unsafe { FtokPath::after_stat(path, errno) }, proj_id),
                reason: format!(
                    "the low 8 bits of proj_id ({proj_id:#x}) are zero; ftok(3) requires them non-zero"
                ),
            });
        }
        match stat {
            Ok((dev, ino)) => Ok(Key::from_file_ids(dev, ino, proj_id)),
            // SAFETY: path was just handed to stat(2), which gave errno.
            Err(errno) => Err(stat_error(
                errno,
                unsafe { FtokPath::after_stat(path, errno) },
                proj_id,
            )),
        }
    }

    /// glibc's formula: `(ino & 0xffff) | (dev & 0xff) << 16 | (proj_id & 0xff) << 24`.
    pub fn from_file_ids(dev: u64, ino: u64, proj_id: i32) -> Key {
        let key =
            (ino & 0xffff) as u32 | ((dev & 0xff) as u32) << 16 | ((proj_id as u32) & 0xff) << 24;
        Key(key as libc::key_t)
    }

    /// The raw `key_t`.
    pub fn raw(self) -> libc::key_t {
        self.0
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0 as u32)
    }
}

fn ftok_call(path: FtokPath<'_>, proj_id: i32) -> String {
    FtokCall { path, proj_id }.to_string()
}

impl FtokPath<'_> {
    /// The path as far as it may be read, given what stat(2) said of it.
    ///
    /// # Safety
    /// `path` is NULL or was just handed to stat(2), which failed with `errno`
    /// (or succeeded: pass `Errno(0)`).
    pub unsafe fn after_stat<'a>(path: *const c_char, errno: Errno) -> FtokPath<'a> {
        match errno.0 {
            _ if path.is_null() => FtokPath::Null,
            libc::EFAULT => FtokPath::Unreadable(path),
            // The kernel stopped at PATH_MAX without a NUL: do not read past what it read.
            libc::ENAMETOOLONG => FtokPath::TooLong,
            // SAFETY: the kernel copied the whole string in, NUL included.
            _ => FtokPath::Text(unsafe { CStr::from_ptr(path) }),
        }
    }
}

#[cold]
#[inline(never)]
fn stat_error(errno: Errno, path: FtokPath<'_>, proj_id: i32) -> Error {
    let reason = match errno.0 {
        libc::ENOENT => "the path does not exist (ftok needs an existing file)",
        libc::EACCES => "search permission is denied on a directory of the path",
        libc::ENOTDIR => "a component of the path is not a directory",
        libc::ENAMETOOLONG => "the path is longer than PATH_MAX",
        libc::ELOOP => "too many symbolic links in the path",
        libc::EFAULT => "path points outside the process's memory",
        libc::ENOMEM => "the kernel ran out of memory",
        _ => "stat of the path failed",
    };
    Error::from_errno(errno, ftok_call(path, proj_id), reason.into())
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
            error
                .to_string()
                .starts_with("ftok(path=\"/\", proj_id=256): the low 8 bits"),
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
            unsafe { Key::ftok_raw(16 as *const c_char, 0, Validation::Strict) }.unwrap_err();
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
            unsafe { Key::ftok_raw(std::ptr::null(), 65, Validation::LikeGlibc) }.unwrap_err();
        assert_eq!(error.errno(), libc::EFAULT);
    }
}
