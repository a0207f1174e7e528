//! `Error`: what went wrong ([`ErrorKind`]), in which call ([`Call`]), why (a
//! [`Message`]) and with which errno. An error is plain data: making one
//! allocates nothing, and its text is written only when it is displayed, as
//! `call: reason (ERRNO)`.

mod c_values;
pub mod call;
mod errno;
pub mod kind;
mod message;
mod sysv_values;

pub(crate) use crate::msg;
pub use call::{Call, FlagNames, KeyText, PathText};
pub use errno::Errno;
pub use kind::ErrorKind;
pub use message::{placeholders, Arg, Message, MAX_ARGS};

pub(crate) use c_values::{
    shmctl_command_name, HUGE_SIZE_MASK, HUGE_SIZE_SHIFT, MODE_BITS, SHM_EXEC, SHM_INFO, SHM_REMAP,
    SHM_STAT, SHM_STAT_ANY,
};
pub(crate) use sysv_values::{
    command_name, semctl_arg_field, MSGCTL_COMMANDS, MSG_COPY, MSG_EXCEPT, MSG_INFO, MSG_STAT,
    MSG_STAT_ANY, SEMCTL_COMMANDS, SEM_INFO, SEM_STAT, SEM_STAT_ANY,
};

/// Why a call failed: its kind, errno, the call with its arguments and the
/// reason in plain words. `Display` gives `call: reason (ERRNO)`, e.g.
/// `shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600): a segment with
/// this key exists with 4096 bytes, fewer than requested (EINVAL)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{call}: {reason} ({errno})")]
pub struct Error {
    kind: ErrorKind,
    errno: Errno,
    call: Call,
    reason: Message,
}

impl Error {
    /// An error of `kind`, with the errno such errors carry.
    pub fn new(kind: ErrorKind, call: Call, reason: Message) -> Error {
        Error {
            kind,
            errno: kind.default_errno(),
            call,
            reason,
        }
    }

    /// A failure the kernel reported with `errno`: its kind follows from it.
    pub fn from_errno(errno: Errno, call: Call, reason: Message) -> Error {
        Error {
            kind: ErrorKind::of_errno(errno),
            errno,
            call,
            reason,
        }
    }

    /// A required pointer argument was NULL; the C boundary names the call.
    #[cold]
    pub fn null_pointer(argument: &'static str) -> Error {
        Error::new(
            ErrorKind::NullPointer,
            Call::Unnamed,
            msg!("{} is NULL", argument),
        )
    }

    /// The same error with another errno (`EPERM` rather than `EACCES`, say).
    pub fn with_errno(self, errno: Errno) -> Error {
        Error { errno, ..self }
    }

    /// The same error, in `export` if no call is named yet.
    pub fn in_export(self, export: &'static str) -> Error {
        match self.call {
            Call::Unnamed => Error {
                call: Call::Export(export),
                ..self
            },
            _ => self,
        }
    }

    /// What kind of failure this is (its C status).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The errno a C caller sees for this error.
    pub fn errno(&self) -> i32 {
        self.errno.raw()
    }

    /// The call as it was made, with its arguments.
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The cause in words, without the call before it and the errno after it.
    pub fn reason(&self) -> &Message {
        &self.reason
    }
}

/// The result of every fallible rshm call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_call_reason_and_errno() {
        let call = Call::Other(msg!("shmat(shmid={})", 3));
        let error = Error::from_errno(Errno::new(libc::EACCES), call, msg!("no"));
        assert_eq!(error.to_string(), "shmat(shmid=3): no (EACCES)");
        assert_eq!(error.kind(), ErrorKind::PermissionDenied);
        assert_eq!(error.reason().to_string(), "no");
        let error = Error::from_errno(Errno::new(4242), Call::Export("x"), msg!("odd"));
        assert_eq!(error.to_string(), "x: odd (errno 4242)");
        assert_eq!(error.kind(), ErrorKind::Os);
    }

    #[test]
    fn a_null_pointer_is_named_by_its_export() {
        let error = Error::null_pointer("opts").in_export("rshm_open");
        assert_eq!(error.to_string(), "rshm_open: opts is NULL (EFAULT)");
        assert_eq!(
            error.in_export("other").to_string(),
            "rshm_open: opts is NULL (EFAULT)"
        );
    }

    #[test]
    fn an_error_is_small_enough_to_return_and_has_no_heap() {
        // Plain data (Copy): nothing to free, nothing allocated to make it.
        fn copy<T: Copy>() {}
        copy::<Error>();
        assert!(
            std::mem::size_of::<Error>() <= 320,
            "{}",
            std::mem::size_of::<Error>()
        );
    }
}
