//! A sending end's open reservation (zero-copy sends), and the rules every
//! shape applies to it: one at a time, committed at most as long as
//! reserved, and each call out of order an `InvalidArgument` naming why.
//! The many-party shapes keep theirs in a [`Reserved`]; the pair's lives in
//! its `Lent` state (`lend.rs`) and uses the same errors.

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
