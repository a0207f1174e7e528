//! What a many-senders channel's segment holds (layout "RSHMMANY" version 2):
//! a header (magic, version, sizes, the receiver's control words, the line
//! senders signal on), then `slots` sender slots (each: its holder's control
//! words, the sender's head, the receiver's tail, each on its own cache line),
//! then one ring of `capacity` bytes per slot. Every field is an atomic: any
//! process that can write the segment may write anything into it.

use super::layout::{Position, Side};
use super::shape_header::{Expected, Sizes};
use crate::error::{msg, Message};
use std::sync::atomic::AtomicU32;

/// "RSHMMANY", written last when a many-senders channel is made.
pub(super) const MAGIC: u64 = 0x5253_484d_4d41_4e59;
/// The layout's version. 2 (same bytes as 1): a slot is turned over to a new
/// sender through a mark in its holder word, which a version 1 receiver does
/// not know and could free the slot under, so the two do not mix.
pub(super) const VERSION: u32 = 2;

/// The receiver's news: senders bump `sent` (the receiver's one futex word)
/// when they move while it sleeps.
#[repr(C, align(64))]
pub(super) struct News {
    /// Bumped by a sender that published while the receiver slept, or closed.
    pub sent: AtomicU32,
    /// Set once a sender has opened: before that, an empty channel is not at its end.
    pub opened: AtomicU32,
    /// Slots claimed at least once (the receiver scans these; clamped to `slots`).
    pub used: AtomicU32,
}

#[repr(C, align(64))]
pub(super) struct Header {
    /// Magic, version and sizes: the capacity is each slot's ring, the slots are senders'.
    pub sizes: Sizes,
    pub receiver: Side,
    pub news: News,
}

/// One sender's slot: its holder (claimed with a compare-and-swap), its
/// position and the receiver's position in its ring.
#[repr(C, align(64))]
pub(super) struct Slot {
    /// The holder; `sleeping` set while it waits for room; `closed` once it
    /// closed (the receiver frees the slot after draining it).
    pub side: Side,
    pub head: Position,
    pub tail: Position,
}

pub(super) const HEADER_SIZE: usize = 192;
pub(super) const SLOT_SIZE: usize = 192;
const _: () = assert!(std::mem::size_of::<Header>() == HEADER_SIZE);
const _: () = assert!(std::mem::size_of::<Slot>() == SLOT_SIZE);

/// What the header must say: checked by `Expected::read`.
pub(super) const EXPECTED: Expected = Expected {
    name: "many-senders",
    magic: MAGIC,
    version: VERSION,
    header_size: HEADER_SIZE,
    slot_size: SLOT_SIZE,
    smallest: 16,
    segment_size,
    inconsistent,
};

fn inconsistent(slots: u32, capacity: u64, size: usize) -> Message {
    msg!(
        "inconsistent sizes: {} slots of {} bytes in a segment of {}",
        slots,
        capacity,
        size
    )
}

/// The segment size for `slots` rings of `capacity` bytes, if it is representable.
pub(super) fn segment_size(slots: u32, capacity: u64) -> Option<u64> {
    (SLOT_SIZE as u64 + capacity)
        .checked_mul(slots as u64)?
        .checked_add(HEADER_SIZE as u64)
}

/// Where slot `i`'s control words start.
pub(super) fn slot_offset(i: usize) -> usize {
    HEADER_SIZE + i * SLOT_SIZE
}

/// Where slot `i`'s ring starts, in a channel of `slots` slots of `capacity` bytes.
pub(super) fn ring_offset(slots: usize, capacity: u64, i: usize) -> usize {
    HEADER_SIZE + slots * SLOT_SIZE + i * capacity as usize
}
