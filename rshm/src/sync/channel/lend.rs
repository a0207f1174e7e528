//! Zero-copy messages: the sender reserves room in the ring, writes its
//! message there in place and commits it; the receiver peeks at the next
//! message in place and releases it. A reservation is always one piece (of
//! at most half the ring: see `Channel::max_reservation`), placed after a
//! skip marker when it would cross the ring's end.
//!
//! A reservation that is never committed (dropped, or its sender closed or
//! died) never shows as a message: the length word is written at commit, last.
//! Calls out of order (commit without reserve, a second peek, recv while a
//! message is lent, ...) are `InvalidArgument`, never corruption.
//!
//! Trust: the bytes a peek lends are still in shared memory, where a hostile
//! sender can change them while they are read: validate a copy of what you
//! validate, never the lent bytes themselves.

use super::layout::{record_size, Placement};
use super::lending::{check_commit, message_lent, nothing_lent, nothing_reserved, still_open};
use super::{ch_call, named_call, Channel, Role, Wait};
use crate::error::{msg, Call, Error, ErrorKind, Result};
use std::ops::{Deref, DerefMut};
use std::time::Duration;

/// What an end has lent out of its ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lent {
    Nothing,
    /// The sender reserved `len` bytes at `placement`.
    Reserved {
        placement: Placement,
        len: usize,
    },
    /// The receiver lends the message of `len` bytes at `at`.
    Peeked {
        at: u64,
        len: usize,
    },
}

/// Room reserved in the ring, written in place: commit it with
/// [`commit`](Reservation::commit); dropped, it is given back unsent.
#[derive(Debug)]
pub struct Reservation<'a> {
    channel: &'a mut Channel,
    bytes: *mut u8,
    len: usize,
}

/// The next message, lent in place; dropping it releases it (takes it off the ring).
#[derive(Debug)]
pub struct Peeked<'a> {
    channel: &'a mut Channel,
    bytes: *const u8,
    len: usize,
}

impl Channel {
    /// `InvalidArgument` if this end has lent something that must be given back first.
    pub(super) fn check_nothing_lent(&self, call: impl Fn() -> Call) -> Result<()> {
        match self.lent {
            Lent::Nothing => Ok(()),
            Lent::Reserved { .. } => Err(still_open(call())),
            Lent::Peeked { .. } => Err(message_lent(call())),
        }
    }

    /// Reserves room for a message of `len` bytes (at most
    /// [`max_reservation`](Self::max_reservation)) in one piece of the ring,
    /// waiting for it at most `timeout`, as `send` waits.
    ///
    /// ```
    /// use rshm::{Channel, ChannelOptions, Role};
    /// let mut tx = Channel::create(ChannelOptions::new().remove_on_close(true), 4096, Role::Sender)?;
    /// let mut room = tx.reserve(5, None)?;
    /// room.copy_from_slice(b"hello");
    /// room.commit(5)?;
    /// # Ok::<(), rshm::Error>(())
    /// ```
    pub fn reserve(&mut self, len: usize, timeout: Option<Duration>) -> Result<Reservation<'_>> {
        if let Some(party) = self.party.as_deref_mut() {
            let bytes = party.reserve(len, timeout)?;
            return Ok(Reservation {
                channel: self,
                bytes,
                len,
            });
        }
        let call = || ch_call("channel_reserve", len);
        self.check_role(Role::Sender, call)?;
        self.check_nothing_lent(call)?;
        // max_reservation keeps the record within half the ring and the length within 32 bits.
        if len > self.max_reservation() {
            let reason = msg!(
                "a reservation may hold at most {} bytes in this channel (half its ring, less the 8-byte length word, and below 4 GiB)",
                self.max_reservation()
            );
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        }
        let record = record_size(len);
        let placement = self.make_room(Wait::Reserve, len, record, timeout)?;
        self.lent = Lent::Reserved { placement, len };
        // SAFETY: the reserved record lies in one piece of the ring (placement), after its word.
        let bytes = unsafe { self.ring().add(self.offset(placement.at) as usize + 8) };
        Ok(Reservation {
            channel: self,
            bytes,
            len,
        })
    }

    /// Commits the first `len` bytes of the open reservation as a message
    /// (`len` at most what was reserved). For a reservation given up with
    /// [`Reservation::into_raw`]; a `Reservation` commits itself.
    pub fn commit(&mut self, len: usize) -> Result<()> {
        if let Some(party) = self.party.as_deref_mut() {
            return party.commit(len);
        }
        let call = || ch_call("channel_commit", len);
        let Lent::Reserved {
            placement,
            len: reserved,
        } = self.lent
        else {
            return Err(nothing_reserved(call()));
        };
        check_commit(len, reserved, call)?;
        self.lent = Lent::Nothing;
        self.finish_record("channel_commit", placement, len)
    }

    /// Gives the open reservation back unsent (nothing shows: its length
    /// word was never written). For a reservation given up with
    /// [`Reservation::into_raw`]; a `Reservation` dropped uncommitted does this itself.
    pub fn cancel(&mut self) -> Result<()> {
        if let Some(party) = self.party.as_deref_mut() {
            return party.cancel();
        }
        if !matches!(self.lent, Lent::Reserved { .. }) {
            return Err(nothing_reserved(named_call("channel_cancel")));
        }
        self.lent = Lent::Nothing;
        Ok(())
    }

    /// Lends the next message in place, waiting for one at most `timeout`,
    /// as `recv` waits; release it to take it off the ring. A message longer
    /// than half the ring (only `send` takes those) may wrap around the ring's
    /// end: it cannot be lent in one piece, and is `OutOfBounds` (receive it
    /// with `recv`).
    pub fn peek(&mut self, timeout: Option<Duration>) -> Result<Peeked<'_>> {
        if let Some(party) = self.party.as_deref_mut() {
            let (bytes, len) = party.peek(timeout)?;
            return Ok(Peeked {
                channel: self,
                bytes,
                len,
            });
        }
        let call = || named_call("channel_peek");
        self.check_role(Role::Receiver, call)?;
        self.check_nothing_lent(call)?;
        let (at, len, waited) = self.next_message(Wait::Peek, 0, timeout)?;
        if self.offset(at) + record_size(len) > self.capacity {
            self.pacing.not_taken(waited);
            let reason = msg!(
                "the next message ({} bytes) wraps around the ring's end and cannot be lent in one piece: receive it",
                len
            );
            return Err(Error::new(ErrorKind::OutOfBounds, call(), reason));
        }
        self.pacing.on_message(waited);
        self.lent = Lent::Peeked { at, len };
        // SAFETY: the record lies in one piece of the ring (checked above), after its word.
        let bytes = unsafe { self.ring().add(self.offset(at) as usize + 8) };
        Ok(Peeked {
            channel: self,
            bytes,
            len,
        })
    }

    /// Takes the lent message off the ring. For a message given up with
    /// [`Peeked::into_raw`]; a `Peeked` releases itself when dropped.
    pub fn release(&mut self) -> Result<()> {
        if let Some(party) = self.party.as_deref_mut() {
            return party.release();
        }
        let Lent::Peeked { at, len } = self.lent else {
            return Err(nothing_lent(named_call("channel_release")));
        };
        self.lent = Lent::Nothing;
        self.consume(at, len);
        Ok(())
    }
}

impl<'a> Reservation<'a> {
    /// Commits the first `len` bytes (at most the length reserved) as a message.
    pub fn commit(self, len: usize) -> Result<()> {
        let channel = self.give_up();
        channel.commit(len)
    }

    /// Keeps the reservation open and gives up the guard: the raw start of the
    /// reserved bytes, valid until [`Channel::commit`] (or until the channel
    /// is used otherwise).
    pub fn into_raw(self) -> *mut u8 {
        let bytes = self.bytes;
        self.give_up();
        bytes
    }

    /// The channel, with the reservation still open: the guard goes without
    /// its Drop (which would give the reservation back).
    fn give_up(self) -> &'a mut Channel {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the reference is moved out of `this`, which is never used or dropped
        // again, so it stays the only one.
        unsafe { std::ptr::read(&this.channel) }
    }
}

impl Deref for Reservation<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the reserved bytes lie in the ring, lent to this guard alone.
        unsafe { std::slice::from_raw_parts(self.bytes, self.len) }
    }
}

impl DerefMut for Reservation<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above; only the sender writes this part of the ring until it commits.
        unsafe { std::slice::from_raw_parts_mut(self.bytes, self.len) }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        // Given back unsent: no word was written, so nothing shows.
        let _ = self.channel.cancel();
    }
}

impl Peeked<'_> {
    /// Keeps the message lent and gives up the guard: the raw start and length
    /// of its bytes, valid until [`Channel::release`].
    pub fn into_raw(self) -> (*const u8, usize) {
        let this = std::mem::ManuallyDrop::new(self);
        (this.bytes, this.len)
    }
}

impl Deref for Peeked<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: the message's bytes lie in the ring; the sender does not write them
        // until they are released (a hostile one might: see the module documentation).
        unsafe { std::slice::from_raw_parts(self.bytes, self.len) }
    }
}

impl Drop for Peeked<'_> {
    fn drop(&mut self) {
        let _ = self.channel.release();
    }
}
