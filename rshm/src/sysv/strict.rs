//! The strict list of the semaphore and message queue calls: inputs that are
//! certainly bugs although the kernel accepts them (it ignores the bits), refused
//! with EINVAL before any syscall under [`Validation::Strict`]. Each entry's
//! reason is in docs/c-api.md ("The strict list").
//!
//! - `semget`/`msgget`: `flags` bits beyond `IPC_CREAT`, `IPC_EXCL` and the
//!   permission bits 0777 (such as `IPC_NOWAIT`, `SEM_UNDO` or a mode like
//!   01666 written for `open(2)`): nothing reads them, so the caller's intent is lost.
//! - `msgsnd`: `flags` bits beyond `IPC_NOWAIT` (`MSG_NOERROR`, `MSG_EXCEPT` and
//!   `MSG_COPY` are `msgrcv`'s): a sender that asks to truncate or copy gets neither.
//! - `msgrcv`: `flags` bits beyond `IPC_NOWAIT`, `MSG_NOERROR`, `MSG_EXCEPT`
//!   and `MSG_COPY`.

use crate::error::{msg, Arg, Call, Error, ErrorKind, MSG_COPY, MSG_EXCEPT};
use crate::Validation;
use libc::c_int;

/// The bits `semget` and `msgget` read.
pub(crate) const GET_DEFINED: c_int = libc::IPC_CREAT | libc::IPC_EXCL | 0o777;
/// The bits `msgsnd` reads.
pub(crate) const SND_DEFINED: c_int = libc::IPC_NOWAIT;
/// The bits `msgrcv` reads.
pub(crate) const RCV_DEFINED: c_int = libc::IPC_NOWAIT | libc::MSG_NOERROR | MSG_EXCEPT | MSG_COPY;

/// EINVAL when `validation` is strict and `flags` has bits outside `defined`.
#[inline]
pub(super) fn check_flags(
    validation: Validation,
    flags: c_int,
    defined: c_int,
    which: &'static str,
    call: impl FnOnce() -> Call,
) -> crate::Result<()> {
    if validation == Validation::Strict && flags & !defined != 0 {
        return Err(undefined_bits(flags & !defined, which, call()));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn undefined_bits(bits: c_int, which: &'static str, call: Call) -> Error {
    let reason = msg!(
        "flags has bits 0{} that {} does not use (strict list: the kernel would ignore them)",
        Arg::Octal(bits as u32),
        which
    );
    Error::new(ErrorKind::InvalidArgument, call, reason)
}
