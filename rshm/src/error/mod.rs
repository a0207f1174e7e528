//! `Error`: what went wrong, in which call, with which arguments.
//! Every variant maps to the errno the C face sets (`Error::errno`).

use std::fmt;

pub mod call;

/// A Unix error number, printed by its symbolic name (`EINVAL`, `EACCES`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// The symbolic name of this errno, or `None` for one rshm never meets.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
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
            libc::ERANGE => "ERANGE",
            libc::ENAMETOOLONG => "ENAMETOOLONG",
            libc::ENOSYS => "ENOSYS",
            libc::ELOOP => "ELOOP",
            libc::EIDRM => "EIDRM",
            libc::EOVERFLOW => "EOVERFLOW",
            libc::ETIMEDOUT => "ETIMEDOUT",
            libc::EPIPE => "EPIPE",
            libc::EPROTO => "EPROTO",
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

/// Why a call failed. Each variant carries `call`, the call as it was made
/// (`shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600)`), and a reason
/// in plain words; `Display` gives `call: reason (ERRNO)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument is outside what the call accepts (`EINVAL`).
    #[error("{call}: {reason} (EINVAL)")]
    InvalidArgument { call: String, reason: String },

    /// The path, key or segment does not exist (`ENOENT`).
    #[error("{call}: {reason} (ENOENT)")]
    NotFound { call: String, reason: String },

    /// A segment exists where a new one was demanded (`EEXIST`).
    #[error("{call}: {reason} (EEXIST)")]
    Exists { call: String, reason: String },

    /// The caller may not do this: `EACCES` (mode bits) or `EPERM` (ownership, privilege).
    #[error("{call}: {reason} ({errno})")]
    PermissionDenied {
        call: String,
        reason: String,
        errno: Errno,
    },

    /// The kernel could not allocate memory or address space (`ENOMEM`).
    #[error("{call}: {reason} (ENOMEM)")]
    NoMemory { call: String, reason: String },

    /// A system-wide limit on segments or pages is reached (`ENOSPC`).
    #[error("{call}: {reason} (ENOSPC)")]
    NoSpace { call: String, reason: String },

    /// A pointer argument is NULL or does not point to usable memory (`EFAULT`).
    #[error("{call}: {reason} (EFAULT)")]
    BadAddress { call: String, reason: String },

    /// The segment was removed while in use (`EIDRM`).
    #[error("{call}: {reason} (EIDRM)")]
    Removed { call: String, reason: String },

    /// An existing segment is smaller than the size asked for (`EINVAL`).
    #[error(
        "{call}: a segment with this key exists with {actual} bytes, fewer than requested (EINVAL)"
    )]
    SizeMismatch {
        call: String,
        requested: usize,
        actual: usize,
    },

    /// An offset and length reach outside the segment or the caller's buffer (`ERANGE`).
    #[error("{call}: {reason} (ERANGE)")]
    OutOfBounds { call: String, reason: String },

    /// A write through an attachment that is read-only (`EACCES`).
    #[error("{call}: the segment is attached read-only (EACCES)")]
    ReadOnly { call: String },

    /// An existing segment belongs to another user (`EPERM`): the defence
    /// against segments pre-created on a predictable key.
    #[error("{call}: {reason} (EPERM)")]
    OwnerMismatch { call: String, reason: String },

    /// A required pointer is NULL (`EFAULT`).
    #[error("{call}: {argument} is NULL (EFAULT)")]
    NullPointer {
        call: String,
        argument: &'static str,
    },

    /// A wait ran out of time (`ETIMEDOUT`).
    #[error("{call}: {reason} (ETIMEDOUT)")]
    TimedOut { call: String, reason: String },

    /// A try-operation would have to wait (`EAGAIN`).
    #[error("{call}: {reason} (EAGAIN)")]
    WouldBlock { call: String, reason: String },

    /// A robust mutex was taken over from a holder that died (`EOWNERDEAD`):
    /// the lock is held now; repair the data, then mark it consistent.
    #[error("{call}: {reason} (EOWNERDEAD)")]
    OwnerDied { call: String, reason: String },

    /// A robust mutex whose dead holder's data was never marked consistent (`ENOTRECOVERABLE`).
    #[error("{call}: {reason} (ENOTRECOVERABLE)")]
    NotRecoverable { call: String, reason: String },

    /// The other side of a channel died (`EPIPE`).
    #[error("{call}: {reason} (EPIPE)")]
    PeerDied { call: String, reason: String },

    /// The other side of a channel closed it (`EPIPE`).
    #[error("{call}: {reason} (EPIPE)")]
    Closed { call: String, reason: String },

    /// What the segment holds is not what the call expects (`EPROTO`): a wrong
    /// or corrupt channel or mutex layout.
    #[error("{call}: {reason} (EPROTO)")]
    Corrupt { call: String, reason: String },

    /// Any other failure the kernel reports, with its errno.
    #[error("{call}: {reason} ({errno})")]
    Os {
        call: String,
        reason: String,
        errno: Errno,
    },
}

impl Error {
    /// The errno a C caller sees for this error.
    pub fn errno(&self) -> i32 {
        match self {
            Error::InvalidArgument { .. } | Error::SizeMismatch { .. } => libc::EINVAL,
            Error::NotFound { .. } => libc::ENOENT,
            Error::Exists { .. } => libc::EEXIST,
            Error::PermissionDenied { errno, .. } | Error::Os { errno, .. } => errno.0,
            Error::NoMemory { .. } => libc::ENOMEM,
            Error::NoSpace { .. } => libc::ENOSPC,
            Error::BadAddress { .. } => libc::EFAULT,
            Error::Removed { .. } => libc::EIDRM,
            Error::OutOfBounds { .. } => libc::ERANGE,
            Error::ReadOnly { .. } => libc::EACCES,
            Error::OwnerMismatch { .. } => libc::EPERM,
            Error::NullPointer { .. } => libc::EFAULT,
            Error::TimedOut { .. } => libc::ETIMEDOUT,
            Error::WouldBlock { .. } => libc::EAGAIN,
            Error::OwnerDied { .. } => libc::EOWNERDEAD,
            Error::NotRecoverable { .. } => libc::ENOTRECOVERABLE,
            Error::PeerDied { .. } | Error::Closed { .. } => libc::EPIPE,
            Error::Corrupt { .. } => libc::EPROTO,
        }
    }

    /// The call as it was made, with its arguments.
    pub fn call(&self) -> &str {
        match self {
            Error::InvalidArgument { call, .. }
            | Error::NotFound { call, .. }
            | Error::Exists { call, .. }
            | Error::PermissionDenied { call, .. }
            | Error::NoMemory { call, .. }
            | Error::NoSpace { call, .. }
            | Error::BadAddress { call, .. }
            | Error::Removed { call, .. }
            | Error::SizeMismatch { call, .. }
            | Error::OutOfBounds { call, .. }
            | Error::ReadOnly { call }
            | Error::OwnerMismatch { call, .. }
            | Error::NullPointer { call, .. }
            | Error::TimedOut { call, .. }
            | Error::WouldBlock { call, .. }
            | Error::OwnerDied { call, .. }
            | Error::NotRecoverable { call, .. }
            | Error::PeerDied { call, .. }
            | Error::Closed { call, .. }
            | Error::Corrupt { call, .. }
            | Error::Os { call, .. } => call,
        }
    }

    /// The cause in words, without the call before it and the errno after it.
    pub fn reason(&self) -> String {
        let message = self.to_string();
        let start = self.call().len() + ": ".len();
        let end = message.rfind(" (").unwrap_or(message.len());
        message.get(start..end).unwrap_or(&message).to_string()
    }

    /// The error of the class that `errno` belongs to.
    pub fn from_errno(errno: Errno, call: String, reason: String) -> Error {
        match errno.0 {
            libc::EINVAL => Error::InvalidArgument { call, reason },
            libc::ENOENT => Error::NotFound { call, reason },
            libc::EEXIST => Error::Exists { call, reason },
            libc::EACCES | libc::EPERM => Error::PermissionDenied {
                call,
                reason,
                errno,
            },
            libc::ENOMEM => Error::NoMemory { call, reason },
            libc::ENOSPC => Error::NoSpace { call, reason },
            libc::EFAULT => Error::BadAddress { call, reason },
            libc::EIDRM => Error::Removed { call, reason },
            _ => Error::Os {
                call,
                reason,
                errno,
            },
        }
    }
}

/// The result of every fallible rshm call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_round_trips_its_errno() {
        for errno in [
            libc::EINVAL,
            libc::ENOENT,
            libc::EEXIST,
            libc::EACCES,
            libc::EPERM,
            libc::ENOMEM,
            libc::ENOSPC,
            libc::EFAULT,
            libc::EIDRM,
            libc::ENAMETOOLONG,
        ] {
            let error = Error::from_errno(Errno(errno), "call()".into(), "why".into());
            assert_eq!(error.errno(), errno, "{error}");
            assert_eq!(error.call(), "call()");
        }
    }

    #[test]
    fn message_names_call_reason_and_errno() {
        let error = Error::from_errno(Errno(libc::EACCES), "shmat(shmid=3)".into(), "no".into());
        assert_eq!(error.to_string(), "shmat(shmid=3): no (EACCES)");
        assert_eq!(error.reason(), "no");
        let error = Error::from_errno(Errno(4242), "x()".into(), "odd".into());
        assert_eq!(error.to_string(), "x(): odd (errno 4242)");
    }
}
