//! The process-wide registry of live attachments: start address → (segment
//! id, size, read-only). It explains bad `shmdt` addresses and reports leaks.
//!
//! It is a fixed table of slots claimed and released with one compare-and-swap
//! each: no lock, so a child made by `fork`, `_Fork` or a raw `clone` while
//! another thread is inside rshm never inherits one held, a signal handler may
//! attach and detach while the thread it interrupted is halfway through, and
//! nothing allocates (a preloaded rshm may be called from inside an allocator).
//! A slot a child inherits half-written stays unused; its attachment works,
//! unrecorded.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering::*};

/// How many attachments the registry records; beyond that, attachments work
/// but go unrecorded (their `shmdt` errors say so).
pub const CAPACITY: usize = 4096;

/// What the registry knows of one attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// The segment's id.
    pub shmid: i32,
    /// The segment's size in bytes, or 0 when it was not asked for at attach time
    /// (the libc-compatible `shmat` spends no syscall on it).
    pub size: usize,
    /// Attached with `SHM_RDONLY`.
    pub read_only: bool,
}

/// `Slot::addr` of a free slot.
const FREE: usize = 0;
/// `Slot::addr` of a slot being written or emptied: no attachment starts at 1
/// (mappings are page-aligned), so it never names one.
const BUSY: usize = 1;

/// One attachment: its start address, published last, names it.
struct Slot {
    addr: AtomicUsize,
    shmid: AtomicI32,
    size: AtomicUsize,
    read_only: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)] // a template for the array, never used as a value
const UNUSED: Slot = Slot {
    addr: AtomicUsize::new(FREE),
    shmid: AtomicI32::new(0),
    size: AtomicUsize::new(0),
    read_only: AtomicBool::new(false),
};

// All zero, so the table lives in .bss rather than in the library file.
static SLOTS: [Slot; CAPACITY] = [UNUSED; CAPACITY];
/// How many slots from the start have ever been used: searches stop there.
static USED: AtomicUsize = AtomicUsize::new(0);
/// Set once an attachment could not be recorded (every slot was taken).
static OVERFLOWED: AtomicBool = AtomicBool::new(false);

fn used() -> &'static [Slot] {
    &SLOTS[..USED.load(Acquire).min(CAPACITY)]
}

impl Slot {
    /// Claims the slot if it holds `from`: it is then BUSY and ours alone.
    fn claim(&self, from: usize) -> bool {
        self.addr
            .compare_exchange(from, BUSY, Acquire, Relaxed)
            .is_ok()
    }

    fn record(&self) -> AttachmentRecord {
        AttachmentRecord {
            shmid: self.shmid.load(Relaxed),
            size: self.size.load(Relaxed),
            read_only: self.read_only.load(Relaxed),
        }
    }

    /// The attachment in the slot, if one is published: read, then checked unchanged.
    fn read(&self) -> Option<(usize, AttachmentRecord)> {
        let addr = self.addr.load(Acquire);
        if addr <= BUSY {
            return None;
        }
        let record = self.record();
        (self.addr.load(Acquire) == addr).then_some((addr, record))
    }

    /// Fills a slot this thread claimed and publishes it under `addr`.
    fn publish(&self, addr: usize, record: AttachmentRecord) {
        self.shmid.store(record.shmid, Relaxed);
        self.size.store(record.size, Relaxed);
        self.read_only.store(record.read_only, Relaxed);
        self.addr.store(addr, Release);
    }

    /// Empties a slot this thread claimed, returning what it held.
    fn release(&self) -> AttachmentRecord {
        let record = self.record();
        self.addr.store(FREE, Release);
        record
    }
}

/// Records an attachment that starts at `addr` (replacing a record there).
pub(crate) fn insert(addr: usize, record: AttachmentRecord) {
    if addr <= BUSY {
        return;
    }
    remove(addr);
    loop {
        if let Some(slot) = used().iter().find(|slot| slot.claim(FREE)) {
            return slot.publish(addr, record);
        }
        // Every used slot is taken: bring one more into use (whoever claims it first has it).
        if USED.fetch_add(1, AcqRel) >= CAPACITY {
            USED.fetch_min(CAPACITY, AcqRel);
            OVERFLOWED.store(true, Relaxed);
            return; // full: the attachment works, unrecorded
        }
    }
}

/// Forgets the attachment that starts at `addr`, returning what was known of it.
pub(crate) fn remove(addr: usize) -> Option<AttachmentRecord> {
    if addr <= BUSY {
        return None;
    }
    used()
        .iter()
        .find(|slot| slot.claim(addr))
        .map(Slot::release)
}

/// Forgets every attachment that starts inside `start..end` (the kernel replaced them: `SHM_REMAP`).
pub(crate) fn remove_range(start: usize, end: usize) {
    for slot in used() {
        if let Some((addr, _)) = slot.read() {
            if (start..end).contains(&addr) && slot.claim(addr) {
                slot.release();
            }
        }
    }
}

/// The attachment with the highest start address at or below `addr`: the only one that can contain it.
pub(crate) fn nearest_at_or_below(addr: usize) -> Option<(usize, AttachmentRecord)> {
    used()
        .iter()
        .filter_map(Slot::read)
        .filter(|&(start, _)| start <= addr)
        .max_by_key(|&(start, _)| start)
}

/// How many attachments of segment `shmid` this process holds through rshm.
pub(crate) fn attachments_of(shmid: i32) -> usize {
    used()
        .iter()
        .filter_map(Slot::read)
        .filter(|(_, record)| record.shmid == shmid)
        .count()
}

/// Whether some attachment of this process went unrecorded (the table was full).
pub(crate) fn overflowed() -> bool {
    OVERFLOWED.load(Relaxed)
}

/// Every live attachment this process made through rshm, by start address.
pub(crate) fn live_attachments() -> Vec<(usize, AttachmentRecord)> {
    let mut live: Vec<_> = used().iter().filter_map(Slot::read).collect();
    live.sort_unstable_by_key(|&(addr, _)| addr);
    live
}

#[cfg(test)]
mod tests {
    use super::*;

    // Addresses far above any real mapping, so these tests never meet real attachments.
    const BASE: usize = usize::MAX - (1 << 20);

    fn record(shmid: i32) -> AttachmentRecord {
        AttachmentRecord {
            shmid,
            size: 4096,
            read_only: false,
        }
    }

    #[test]
    fn insert_find_remove() {
        insert(BASE, record(7));
        assert_eq!(nearest_at_or_below(BASE + 100), Some((BASE, record(7))));
        insert(BASE, record(8));
        assert_eq!(
            remove(BASE),
            Some(record(8)),
            "a second insert replaces the first"
        );
        assert_eq!(remove(BASE), None);
    }

    #[test]
    fn remove_range_takes_only_what_is_inside() {
        let base = BASE + 0x10000;
        insert(base, record(1));
        insert(base + 0x1000, record(2));
        insert(base + 0x3000, record(3));
        remove_range(base, base + 0x2000);
        assert_eq!(remove(base), None);
        assert_eq!(remove(base + 0x1000), None);
        assert_eq!(remove(base + 0x3000), Some(record(3)));
    }

    #[test]
    fn nearest_is_the_highest_start_at_or_below() {
        let base = BASE + 0x80000;
        insert(base, record(1));
        insert(base + 0x2000, record(2));
        assert_eq!(
            nearest_at_or_below(base + 0x1fff).map(|(a, r)| (a, r.shmid)),
            Some((base, 1))
        );
        assert_eq!(
            nearest_at_or_below(base + 0x2000).map(|(a, r)| (a, r.shmid)),
            Some((base + 0x2000, 2))
        );
        assert_eq!(attachments_of(2), 1);
        remove(base);
        remove(base + 0x2000);
    }

    #[test]
    fn threads_keep_the_map_consistent() {
        let base = BASE + 0x40000;
        let threads: Vec<_> = (0..8)
            .map(|t| {
                std::thread::spawn(move || {
                    let rounds = if cfg!(miri) { 20 } else { 500 };
                    for i in 0..rounds {
                        let addr = base + (t * 500 + i) * 8;
                        insert(addr, record(i as i32));
                        assert_eq!(remove(addr), Some(record(i as i32)));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(live_attachments()
            .iter()
            .all(|&(addr, _)| addr < base || addr >= base + 8 * 4000));
        assert!(USED.load(Relaxed) <= 8 + 16, "freed slots are reused");
    }
}
