//! `ErrorKind`: the one table of what can go wrong. Each row gives a kind its
//! stable status code (C's `rshm_status`), its status name and summary (what
//! `rshm_status_str` returns), the errno it usually carries and its
//! documentation. The C header's `rshm_status` enum and the docs' table of
//! statuses are generated from this table (`make header`), and every match on
//! `ErrorKind` is exhaustive: a new kind is written here, once, and the
//! compiler then names every place that must handle it.

use super::errno::Errno;

macro_rules! error_kinds {
    ($(
        $(#[doc = $doc:literal])+
        $kind:ident = $code:literal, $status:literal, $errno:ident, $summary:literal;
    )+) => {
        /// What kind of failure an [`Error`](super::Error) is. The discriminant is
        /// the status code a C caller sees (`rshm_status`); codes never change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum ErrorKind {
            $( $(#[doc = $doc])+ $kind = $code, )+
        }

        impl ErrorKind {
            /// Every kind, by status code.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind),+];

            /// The stable status code (C's `rshm_status`): never 0, which is success.
            pub const fn status_code(self) -> i32 {
                self as i32
            }

            /// The status's name in C, e.g. `RSHM_ERR_SIZE_MISMATCH`.
            pub const fn status_name(self) -> &'static str {
                match self { $(ErrorKind::$kind => $status,)+ }
            }

            /// What the status means, in a few words.
            pub const fn summary(self) -> &'static str {
                match self { $(ErrorKind::$kind => $summary,)+ }
            }

            /// `NAME: summary`, NUL-terminated: what `rshm_status_str` returns.
            pub const fn status_line_with_nul(self) -> &'static str {
                match self { $(ErrorKind::$kind => concat!($status, ": ", $summary, "\0"),)+ }
            }

            /// The documentation of the kind (and of its C status), one sentence or more.
            pub const fn description(self) -> &'static str {
                match self { $(ErrorKind::$kind => concat!($($doc),+),)+ }
            }

            /// The errno an error of this kind carries unless it says otherwise.
            pub const fn default_errno(self) -> Errno {
                match self { $(ErrorKind::$kind => Errno::new(libc::$errno),)+ }
            }

            /// The kind whose status code is `code`.
            pub const fn from_status_code(code: i32) -> Option<ErrorKind> {
                match code {
                    $($code => Some(ErrorKind::$kind),)+
                    _ => None,
                }
            }
        }
    };
}

error_kinds! {
    /// An argument is invalid (a flag, a mode, a size of 0 to create, proj_id 0, ...).
    InvalidArgument = 1, "RSHM_ERR_INVALID_ARGUMENT", EINVAL, "an argument is invalid";
    /// The path (for ftok) or the segment does not exist.
    NotFound = 2, "RSHM_ERR_NOT_FOUND", ENOENT, "the path or segment does not exist";
    /// The object exists already (RSHM_EXCLUSIVE was given), or another live process holds the channel end asked for.
    Exists = 3, "RSHM_ERR_EXISTS", EEXIST, "it exists already, or another process holds it";
    /// The segment's mode or owner does not allow this.
    PermissionDenied = 4, "RSHM_ERR_PERMISSION", EACCES, "the segment's mode or owner does not allow this";
    /// The kernel is out of memory or address space.
    NoMemory = 5, "RSHM_ERR_NO_MEMORY", ENOMEM, "out of memory or address space";
    /// A system limit on segments or pages is reached.
    NoSpace = 6, "RSHM_ERR_NO_SPACE", ENOSPC, "a system limit on segments or pages is reached";
    /// An offset and length reach outside the segment or the buffer.
    OutOfBounds = 7, "RSHM_ERR_OUT_OF_BOUNDS", ERANGE, "the range reaches outside the segment or buffer";
    /// A write through a handle opened with RSHM_READ_ONLY.
    ReadOnly = 8, "RSHM_ERR_READ_ONLY", EACCES, "the handle is read-only";
    /// The segment was removed.
    Removed = 9, "RSHM_ERR_REMOVED", EIDRM, "the segment was removed";
    /// The existing segment is smaller than the size asked for.
    SizeMismatch = 10, "RSHM_ERR_SIZE_MISMATCH", EINVAL, "the segment is smaller than the size asked for";
    /// With RSHM_VERIFY_OWNER: the segment was made or is owned by another user.
    OwnerMismatch = 11, "RSHM_ERR_OWNER_MISMATCH", EPERM, "the segment belongs to another user";
    /// A required pointer argument is NULL.
    NullPointer = 12, "RSHM_ERR_NULL_POINTER", EFAULT, "a required pointer is NULL";
    /// An internal error in rshm (a bug): please report it.
    Panic = 13, "RSHM_ERR_PANIC", ENOTRECOVERABLE, "internal error in rshm";
    /// Another error from the operating system; errno and rshm_last_error() say which.
    Os = 14, "RSHM_ERR_OS", EIO, "operating system error (see errno and rshm_last_error)";
    /// A wait (semaphore, mutex, channel) ran out of time.
    TimedOut = 15, "RSHM_ERR_TIMEOUT", ETIMEDOUT, "the wait ran out of time";
    /// A try-call would have had to wait.
    WouldBlock = 16, "RSHM_ERR_WOULD_BLOCK", EAGAIN, "the call would have had to wait";
    /// The mutex is yours, but its last holder died holding it: repair, then rshm_mutex_consistent.
    OwnerDied = 17, "RSHM_ERR_OWNER_DIED", EOWNERDEAD, "the mutex's last holder died; repair, then mark it consistent";
    /// The mutex's dead holder's data was never marked consistent: it cannot be used again.
    NotRecoverable = 18, "RSHM_ERR_NOT_RECOVERABLE", ENOTRECOVERABLE, "the mutex cannot be used again";
    /// The other end of the channel died.
    PeerDied = 19, "RSHM_ERR_PEER_DIED", EPIPE, "the other end of the channel died";
    /// The other end of the channel closed it.
    Closed = 20, "RSHM_ERR_CLOSED", EPIPE, "the other end of the channel closed it";
    /// The segment does not hold what the call expects (not a channel, a damaged one, no mutex there).
    Corrupt = 21, "RSHM_ERR_CORRUPT", EPROTO, "the segment does not hold what the call expects";
    /// A broadcast receiver fell more than its ring behind the sender: messages were lost (see rshm_channel_missed); nothing was consumed, and the next call returns the oldest message still in the ring.
    Lagged = 22, "RSHM_ERR_LAGGED", EOVERFLOW, "the receiver fell behind and lost messages";
}

/// The name and summary of success, status code 0 (`RSHM_OK`), which no error has.
pub const OK_STATUS: (&str, &str) = ("RSHM_OK", "success");

/// What `rshm_status_str` returns for any status code, NUL-terminated: the
/// line of its kind, of success, or "unknown rshm_status".
pub fn status_line_with_nul(code: i32) -> &'static str {
    match ErrorKind::from_status_code(code) {
        Some(kind) => kind.status_line_with_nul(),
        None if code == 0 => "RSHM_OK: success\0",
        None => "unknown rshm_status\0",
    }
}

impl ErrorKind {
    /// The kind of a failure the kernel reported with `errno`.
    pub const fn of_errno(errno: Errno) -> ErrorKind {
        match errno.raw() {
            libc::EINVAL | libc::EFAULT => ErrorKind::InvalidArgument,
            libc::ENOENT => ErrorKind::NotFound,
            libc::EEXIST => ErrorKind::Exists,
            libc::EACCES | libc::EPERM => ErrorKind::PermissionDenied,
            libc::ENOMEM => ErrorKind::NoMemory,
            libc::ENOSPC => ErrorKind::NoSpace,
            libc::EIDRM => ErrorKind::Removed,
            _ => ErrorKind::Os,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_dense_from_one_and_round_trip() {
        for (i, kind) in ErrorKind::ALL.iter().enumerate() {
            assert_eq!(kind.status_code(), i as i32 + 1);
            assert_eq!(ErrorKind::from_status_code(kind.status_code()), Some(*kind));
        }
        assert_eq!(ErrorKind::from_status_code(0), None);
        assert_eq!(ErrorKind::from_status_code(99), None);
    }

    #[test]
    fn status_lines_name_the_status_and_end_with_nul() {
        assert_eq!(
            ErrorKind::SizeMismatch.status_line_with_nul(),
            "RSHM_ERR_SIZE_MISMATCH: the segment is smaller than the size asked for\0"
        );
        assert_eq!(status_line_with_nul(0), "RSHM_OK: success\0");
        assert_eq!(status_line_with_nul(-5), "unknown rshm_status\0");
        for kind in ErrorKind::ALL {
            let line = kind.status_line_with_nul();
            assert!(line.starts_with(kind.status_name()) && line.ends_with('\0'));
            assert_eq!(line.matches('\0').count(), 1);
            assert!(kind.status_name().starts_with("RSHM_ERR_"));
            assert!(!kind.description().trim().is_empty());
        }
    }

    #[test]
    fn success_has_its_own_line() {
        let (name, summary) = OK_STATUS;
        assert_eq!(status_line_with_nul(0), format!("{name}: {summary}\0"));
    }

    #[test]
    fn errnos_map_to_their_kind() {
        assert_eq!(
            ErrorKind::of_errno(Errno::new(libc::EFAULT)),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            ErrorKind::of_errno(Errno::new(libc::EPERM)),
            ErrorKind::PermissionDenied
        );
        assert_eq!(
            ErrorKind::of_errno(Errno::new(libc::ENAMETOOLONG)),
            ErrorKind::Os
        );
    }
}
