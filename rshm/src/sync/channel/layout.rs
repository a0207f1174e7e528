//! What a channel's segment holds: the header (magic, version, sizes), the
//! two positions and the two sides' control words, each on a cache line of
//! its own, then the ring of records. Every field is an atomic: the segment
//! is shared with a peer that may write anything, at any time.

use std::sync::atomic::{AtomicU32, AtomicU64};

/// "RSHMCHAN", written last when a channel is made.
pub(super) const MAGIC: u64 = 0x5253_484d_4348_414e;
/// Layout 4: layout 3 (private positions, claimed ends) with skip markers,
/// so a record of up to half the ring always lies in one piece.
pub(super) const VERSION: u32 = 4;
/// Positions at or above this are refused (2^63 bytes at 10 GB/s is 29 years).
pub(super) const POSITION_LIMIT: u64 = 1 << 63;
/// A length word that says: nothing more in this lap of the ring, the next
/// record starts at the ring's beginning.
pub(super) const SKIP: u64 = u64::MAX;

/// A side's position, alone on its cache line: written at every message.
#[repr(C, align(64))]
pub(super) struct Position {
    /// Bytes this side has moved through the ring, ever: the sender's head, the receiver's tail.
    pub value: AtomicU64,
}

/// A side's control words, on a line of their own: written rarely, so that
/// reading the peer's (at every message) costs no cache-line transfer.
#[repr(C, align(64))]
pub(super) struct Side {
    /// The process holding this end (`ProcessId::pack`), or 0; claimed with a compare-and-swap.
    pub holder: AtomicU64,
    /// The holder's PID namespace (written after it claimed the end).
    pub namespace: AtomicU64,
    /// The holder word again, written after `namespace`: a namespace record is
    /// the current holder's only if this equals `holder`.
    pub namespace_of: AtomicU64,
    /// Bumped when this side moves while the peer sleeps: the peer's futex word.
    pub signal: AtomicU32,
    /// Set while this side sleeps waiting for the peer.
    pub sleeping: AtomicU32,
    /// Set when this side closed the channel.
    pub closed: AtomicU32,
}

#[repr(C, align(64))]
pub(super) struct Header {
    pub magic: AtomicU64,
    pub version: AtomicU32,
    pub header_size: AtomicU32,
    pub capacity: AtomicU64,
    pub head: Position,
    pub tail: Position,
    pub sender: Side,
    pub receiver: Side,
}

/// The header's size: the ring starts right after it.
pub const CHANNEL_HEADER_SIZE: usize = 320;
const _: () = assert!(std::mem::size_of::<Header>() == CHANNEL_HEADER_SIZE);

/// The bytes a record of `len` message bytes takes: its length word, then the bytes padded to 8.
pub(super) fn record_size(len: usize) -> u64 {
    8 + (len as u64).div_ceil(8) * 8
}

/// Where a record of `record` bytes goes when the sender's position is
/// `head` (at `offset` in a ring of `capacity`): a record of at most half the ring goes in
/// one piece, after a skip marker at `head` when it would cross the ring's
/// end; a longer one wraps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placement {
    /// The position of the record's length word.
    pub at: u64,
    /// Where a skip marker goes first, if one does.
    pub skip_from: Option<u64>,
    /// The bytes the record takes from `head`, skipped ones included.
    pub need: u64,
}

impl Placement {
    pub fn of(head: u64, offset: u64, record: u64, capacity: u64) -> Placement {
        debug_assert_eq!(offset, head % capacity);
        let room_to_end = capacity - offset;
        if record <= room_to_end || record > largest_whole_record(capacity) {
            Placement {
                at: head,
                skip_from: None,
                need: record,
            }
        } else {
            Placement {
                at: head + room_to_end,
                skip_from: Some(head),
                need: room_to_end + record,
            }
        }
    }
}

/// The largest record that is always placed in one piece: half the ring, in 8-byte words.
pub(super) fn largest_whole_record(capacity: u64) -> u64 {
    capacity / 2 / 8 * 8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_of_up_to_half_the_ring_lie_in_one_piece() {
        let capacity = 1000;
        assert_eq!(largest_whole_record(capacity), 496);
        // Fits before the end: in place.
        let here = Placement::of(2000 + 100, (2000 + 100) % capacity, 400, capacity);
        assert_eq!((here.at, here.skip_from, here.need), (2100, None, 400));
        // Would cross the end: after a skip marker, at the next lap.
        let skipped = Placement::of(2000 + 800, (2000 + 800) % capacity, 400, capacity);
        assert_eq!(
            (skipped.at, skipped.skip_from, skipped.need),
            (3000, Some(2800), 600)
        );
        assert!(
            skipped.need <= capacity,
            "always satisfiable in an empty ring"
        );
        // Longer than half: wraps in place.
        let wraps = Placement::of(2000 + 800, (2000 + 800) % capacity, 504, capacity);
        assert_eq!((wraps.at, wraps.skip_from, wraps.need), (2800, None, 504));
        for head in (0..3 * capacity).step_by(8) {
            for record in (16..=largest_whole_record(capacity)).step_by(8) {
                let p = Placement::of(head, head % capacity, record, capacity);
                assert!(p.need <= capacity);
                assert!(
                    p.at % capacity + record <= capacity,
                    "one piece: {head} {record}"
                );
            }
        }
    }
}
