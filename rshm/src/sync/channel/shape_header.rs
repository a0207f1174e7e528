//! The start of a many-party channel's header, the same in both layouts
//! (many-senders and broadcast): magic, version and sizes, written once when
//! a channel is made and checked in one place when one is opened.

use super::corrupt;
use crate::error::{msg, Call, Message, Result};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

/// The first 32 bytes of a many-party layout's header. Atomics: any process
/// that can write the segment may write anything into it.
#[repr(C)]
pub(super) struct Sizes {
    pub magic: AtomicU64,
    pub version: AtomicU32,
    pub header_size: AtomicU32,
    /// The ring (broadcast) or each sender's ring (many-senders), in bytes.
    pub capacity: AtomicU64,
    /// Slots (max_peers): senders (many-senders) or receivers (broadcast).
    pub slots: AtomicU32,
    pub slot_size: AtomicU32,
}

/// What a layout expects of its header, and what it says when the sizes do not fit.
pub(super) struct Expected {
    /// The shape's name, as messages show it.
    pub name: &'static str,
    pub magic: u64,
    pub version: u32,
    pub header_size: usize,
    pub slot_size: usize,
    /// The smallest ring.
    pub smallest: u64,
    /// The segment size for `slots` slots and rings of `capacity` bytes.
    pub segment_size: fn(u32, u64) -> Option<u64>,
    /// The reason for sizes that do not fit: slots, capacity, segment size.
    pub inconsistent: fn(u32, u64, usize) -> Message,
}

impl Expected {
    /// Writes the header's sizes into a new, zeroed segment at `base`; the
    /// magic last, with Release, so that openers see the rest first.
    ///
    /// # Safety
    /// `base` is 8-aligned and the segment holds at least `header_size` bytes.
    pub unsafe fn init(&self, base: *mut u8, slots: u32, capacity: u64) {
        // SAFETY: the caller's promise; the fields are atomics.
        let sizes = unsafe { &*(base as *const Sizes) };
        sizes.version.store(self.version, Relaxed);
        sizes.header_size.store(self.header_size as u32, Relaxed);
        sizes.slot_size.store(self.slot_size as u32, Relaxed);
        sizes.capacity.store(capacity, Relaxed);
        sizes.slots.store(slots, Relaxed);
        sizes.magic.store(self.magic, Release);
    }

    /// The slots and ring size of the channel in `base` (`size` bytes),
    /// checked: `Corrupt` for a segment too small for the header, another
    /// layout version, or sizes that do not fit the segment.
    pub fn read(&self, base: *mut u8, size: usize, call: impl Fn() -> Call) -> Result<(u32, u64)> {
        if size < self.header_size {
            let reason = msg!(
                "the segment holds {} bytes, too few for a {} channel header",
                size,
                self.name
            );
            return Err(corrupt(call(), reason));
        }
        // SAFETY: the header lies inside the segment (checked above); its fields are atomics.
        let sizes = unsafe { &*(base as *const Sizes) };
        let version = sizes.version.load(Relaxed);
        if version != self.version {
            let reason = msg!(
                "{} channel layout version {}; this rshm reads version {}",
                self.name,
                version,
                self.version
            );
            return Err(corrupt(call(), reason));
        }
        let (slots, capacity) = (sizes.slots.load(Relaxed), sizes.capacity.load(Relaxed));
        let fits = (self.segment_size)(slots, capacity).is_some_and(|need| need <= size as u64);
        if sizes.header_size.load(Relaxed) as usize != self.header_size
            || sizes.slot_size.load(Relaxed) as usize != self.slot_size
            || slots == 0
            || capacity % 8 != 0
            || capacity < self.smallest
            || !fits
        {
            return Err(corrupt(call(), (self.inconsistent)(slots, capacity, size)));
        }
        Ok((slots, capacity))
    }
}
