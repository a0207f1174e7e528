//! A ring of records in shared memory, as the many-party shapes use it: a
//! base pointer and a size, with the SPSC channel's record format (an 8-byte
//! word, then the bytes padded to 8; skip markers). Every position given is
//! private (this end's own, or one checked to be 8-aligned), so every offset
//! lies inside the ring whatever the segment says.

use super::layout::record_size;
use std::sync::atomic::AtomicU64;

/// One ring: `capacity` bytes (a multiple of 8, at least 16) at `base`, 8-aligned.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ring {
    pub base: *mut u8,
    pub capacity: u64,
}

impl Ring {
    /// Where position `at` lies in the ring: always below `capacity`.
    #[inline]
    pub fn offset(&self, at: u64) -> u64 {
        // A ring of a power of two (the usual size) takes a mask, not a division.
        if self.capacity.is_power_of_two() {
            return at & (self.capacity - 1);
        }
        at % self.capacity
    }

    /// The bytes from position `at` to the ring's end.
    #[inline]
    pub fn room_to_end(&self, at: u64) -> u64 {
        self.capacity - self.offset(at)
    }

    /// The 8-byte word at position `at` (8-aligned).
    #[inline]
    pub fn word(&self, at: u64) -> &AtomicU64 {
        debug_assert!(at % 8 == 0);
        // SAFETY: at is 8-aligned and the ring's size a multiple of 8, so the offset is
        // 8-aligned and at most capacity - 8: inside the ring, whose base is 8-aligned;
        // these 8 bytes are only used atomically.
        unsafe { &*(self.base.add(self.offset(at) as usize) as *const AtomicU64) }
    }

    /// The address of the byte at position `at`.
    #[inline]
    pub fn at(&self, at: u64) -> *mut u8 {
        // SAFETY: the offset is below capacity: inside the ring.
        unsafe { self.base.add(self.offset(at) as usize) }
    }

    /// Whether a record of `record` bytes at `at` lies in one piece.
    pub fn in_one_piece(&self, at: u64, record: u64) -> bool {
        self.offset(at) + record <= self.capacity
    }

    /// Copies `len` bytes into the ring at position `at`, wrapping at its end.
    ///
    /// # Safety
    /// `src` is readable for `len` bytes and `len <= capacity`.
    pub unsafe fn copy_in(&self, at: u64, src: *const u8, len: usize) {
        let start = self.offset(at) as usize;
        let first = len.min(self.capacity as usize - start);
        // SAFETY: start+first <= capacity and the rest wraps to the ring's start.
        unsafe {
            std::ptr::copy_nonoverlapping(src, self.base.add(start), first);
            if first < len {
                std::ptr::copy_nonoverlapping(src.add(first), self.base, len - first);
            }
        }
    }

    /// Copies `len` bytes out of the ring from position `at`, wrapping at its end.
    ///
    /// # Safety
    /// `dst` is writable for `len` bytes and `len <= capacity`.
    pub unsafe fn copy_out(&self, at: u64, dst: *mut u8, len: usize) {
        let start = self.offset(at) as usize;
        let first = len.min(self.capacity as usize - start);
        // SAFETY: as copy_in.
        unsafe {
            std::ptr::copy_nonoverlapping(self.base.add(start), dst, first);
            if first < len {
                std::ptr::copy_nonoverlapping(self.base, dst.add(first), len - first);
            }
        }
    }

    /// The length a record's word announces (`len + 1`), if it fits this
    /// ring with `overhead` header bytes: `None` for a word no sender wrote.
    pub fn message_len(&self, word: u64, overhead: u64) -> Option<usize> {
        let length = word.wrapping_sub(1);
        (length <= u32::MAX as u64 && record_size(length as usize) + overhead - 8 <= self.capacity)
            .then_some(length as usize)
    }
}
