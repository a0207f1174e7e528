//! What a broadcast channel's segment holds (layout "RSHMCAST" version 1):
//! a header (magic, version, sizes; the sender's cursor: head, intent,
//! oldest record, message count; the sender's control words; the line
//! receivers sleep on), then `slots` receiver slots of one cache line each,
//! then the ring. Each record is a length word (length + 1, or a skip
//! marker), the message's sequence number, then its bytes padded to 8.
//! Every field is an atomic: any process that can write the segment may
//! write anything into it.

use super::layout::Side;
use super::shape_header::{Expected, Sizes};
use crate::error::{msg, Message};
use std::sync::atomic::{AtomicU32, AtomicU64};

/// "RSHMCAST", written last when a broadcast channel is made.
pub(super) const MAGIC: u64 = 0x5253_484d_4341_5354;
/// The first layout of the shape.
pub(super) const VERSION: u32 = 1;
/// A record's header: its length word and its sequence number.
pub(super) const RECORD_HEADER: u64 = 16;

/// Where the sender is. Readers validate every record they read against
/// `intent` (seqlock style): a record at `p` is intact while `intent <= p + capacity`.
#[repr(C, align(64))]
pub(super) struct Cursor {
    /// The end of the last published record: readers read below it.
    pub head: AtomicU64,
    /// The end of what the sender may be writing: raised before it writes.
    pub intent: AtomicU64,
    /// The oldest record still whole in the ring: where a lapped reader resumes.
    pub oldest: AtomicU64,
    /// Messages published, ever: the next message's sequence number.
    pub count: AtomicU64,
}

/// The line receivers sleep on.
#[repr(C, align(64))]
pub(super) struct News {
    /// Bumped by the sender when it publishes while a receiver sleeps, or closes.
    pub sent: AtomicU32,
    /// Receivers asleep (or about to be): the sender wakes them only then.
    pub sleepers: AtomicU32,
}

#[repr(C, align(64))]
pub(super) struct Header {
    /// Magic, version and sizes: the capacity is the ring's, the slots are receivers'.
    pub sizes: Sizes,
    pub cursor: Cursor,
    pub sender: Side,
    pub news: News,
}

pub(super) const HEADER_SIZE: usize = 256;
/// A receiver slot is a `Side` (holder, namespace record, `sleeping`).
pub(super) const SLOT_SIZE: usize = 64;
const _: () = assert!(std::mem::size_of::<Header>() == HEADER_SIZE);
const _: () = assert!(std::mem::size_of::<Side>() == SLOT_SIZE);

/// What the header must say: checked by `Expected::read`.
pub(super) const EXPECTED: Expected = Expected {
    name: "broadcast",
    magic: MAGIC,
    version: VERSION,
    header_size: HEADER_SIZE,
    slot_size: SLOT_SIZE,
    smallest: 64,
    segment_size,
    inconsistent,
};

fn inconsistent(slots: u32, capacity: u64, size: usize) -> Message {
    msg!(
        "inconsistent sizes: {} receiver slots and a ring of {} in a segment of {}",
        slots,
        capacity,
        size
    )
}

/// The segment size for `slots` receivers and a ring of `capacity` bytes.
pub(super) fn segment_size(slots: u32, capacity: u64) -> Option<u64> {
    (SLOT_SIZE as u64)
        .checked_mul(slots as u64)?
        .checked_add(HEADER_SIZE as u64)?
        .checked_add(capacity)
}
