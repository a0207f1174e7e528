//! What a channel end has lent out of its ring (zero-copy), and the rules
//! every shape applies to it: a sender's open reservation and a receiver's
//! peeked message, one at a time; a reservation committed at most as long as
//! reserved; each call out of order an `InvalidArgument` naming why. The
//! many-party shapes keep theirs in a [`Reserved`] and a [`Lent`]; the
//! pair's lives in its own `Lent` state (`lend.rs`) and uses the same errors.

use super::layout::Placement;
use super::named_call;
use crate::error::{msg, Call, Error, ErrorKind, Result};

/// The reservation a sender has open, if any: where, and how many bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Reserved(Option<(Placement, usize)>);

impl Reserved {
    /// `InvalidArgument` if a reservation is open (a send or a second reserve).
    pub(super) fn check_none(&self, call: impl Fn() -> Call) -> Result<()> {
        if self.0.is_some() {
            return Err(still_open(call()));
        }
        Ok(())
    }

    /// Opens a reservation of `len` bytes at `placement`.
    pub(super) fn open(&mut self, placement: Placement, len: usize) {
        self.0 = Some((placement, len));
    }

    /// Closes the reservation to commit `len` bytes of it: where it lies.
    pub(super) fn commit(&mut self, len: usize, call: impl Fn() -> Call) -> Result<Placement> {
        let Some((placement, reserved)) = self.0 else {
            return Err(nothing_reserved(call()));
        };
        check_commit(len, reserved, call)?;
        self.0 = None;
        Ok(placement)
    }

    /// Gives the reservation back unsent.
    pub(super) fn cancel(&mut self) -> Result<()> {
        if self.0.take().is_none() {
            return Err(nothing_reserved(named_call("channel_cancel")));
        }
        Ok(())
    }
}

/// The message a receiver has lent out (peeked), if any: what the shape
/// needs to take it off the ring at release.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lent<T>(Option<T>);

impl<T> Default for Lent<T> {
    fn default() -> Self {
        Lent(None)
    }
}

impl<T: Copy> Lent<T> {
    /// `InvalidArgument` if a message is lent (a receive or a second peek).
    pub(super) fn check_none(&self, call: impl Fn() -> Call) -> Result<()> {
        if self.0.is_some() {
            return Err(message_lent(call()));
        }
        Ok(())
    }

    /// Lends `message`.
    pub(super) fn lend(&mut self, message: T) {
        self.0 = Some(message);
    }

    /// Ends the lending, for a release: what was lent.
    pub(super) fn release(&mut self) -> Result<T> {
        self.0
            .take()
            .ok_or_else(|| nothing_lent(named_call("channel_release")))
    }
}

/// A call that needs no lent message found one.
pub(super) fn message_lent(call: Call) -> Error {
    let reason = msg!("a message is lent: release it first");
    Error::new(ErrorKind::InvalidArgument, call, reason)
}

/// A release with nothing lent.
pub(super) fn nothing_lent(call: Call) -> Error {
    let reason = msg!("no message is lent: peek first");
    Error::new(ErrorKind::InvalidArgument, call, reason)
}

/// A call that needs no open reservation found one.
pub(super) fn still_open(call: Call) -> Error {
    let reason = msg!("a reservation is open: commit it (or cancel it) first");
    Error::new(ErrorKind::InvalidArgument, call, reason)
}

/// A commit or cancel with nothing reserved.
pub(super) fn nothing_reserved(call: Call) -> Error {
    let reason = msg!("nothing is reserved: reserve first");
    Error::new(ErrorKind::InvalidArgument, call, reason)
}

/// `InvalidArgument` if `len` bytes are more than the `reserved`.
pub(super) fn check_commit(len: usize, reserved: usize, call: impl Fn() -> Call) -> Result<()> {
    if len > reserved {
        let reason = msg!(
            "{} bytes committed, more than the {} reserved",
            len,
            reserved
        );
        return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
    }
    Ok(())
}
