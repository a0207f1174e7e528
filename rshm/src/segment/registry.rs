//! The process-wide registry of live attachments: start address → (segment id,
//! size, read-only). It explains bad `shmdt` addresses and reports leaks, stays
//! consistent across threads and `fork`, and never allocates (a preloaded rshm
//! may be called from inside an allocator).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// How many attachments the registry records; beyond that, attachments work
/// but go unrecorded (their `shmdt` errors are explained less precisely).
pub const CAPACITY: usize = 4096;

/// What the registry knows of one attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachmentRecord {
    /// The segment's id.
    pub shmid: i32,
    /// The segment's size in bytes, or 0 when it was not asked for at attach time
    /// (the libc-compatible `shmat` spends no syscall on it; `size_of` finds it).
    pub size: usize,
    /// Attached with `SHM_RDONLY`.
    pub read_only: bool,
}

/// A lock that a forked child never inherits held: `pthread_atfork` takes it
/// before `fork` and releases it on both sides, so the map is whole in the child.
struct ForkSafeLock<T> {
    held: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is only reached through `with`, which holds `held` exclusively.
unsafe impl<T: Send> Sync for ForkSafeLock<T> {}

impl<T> ForkSafeLock<T> {
    const fn new(value: T) -> Self {
        ForkSafeLock {
            held: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    fn acquire(&self) {
        while self
            .held
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Critical sections are a map operation long; yield rather than burn the core.
            std::thread::yield_now();
        }
    }

    fn release(&self) {
        self.held.store(false, Ordering::Release);
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        self.acquire();
        struct Release<'a, T>(&'a ForkSafeLock<T>);
        impl<T> Drop for Release<'_, T> {
            fn drop(&mut self) {
                self.0.release();
            }
        }
        let _release = Release(self);
        // SAFETY: `held` is ours until `_release` drops, so no other reference exists.
        f(unsafe { &mut *self.value.get() })
    }
}

/// A fixed table of attachments: the first `len` slots are in use, unordered.
struct Table {
    len: usize,
    slots: [(usize, AttachmentRecord); CAPACITY],
}

// All zero, so the table lives in .bss rather than in the library file.
const EMPTY: AttachmentRecord = AttachmentRecord {
    shmid: 0,
    size: 0,
    read_only: false,
};

impl Table {
    fn position(&self, addr: usize) -> Option<usize> {
        self.slots[..self.len]
            .iter()
            .position(|&(start, _)| start == addr)
    }

    fn insert(&mut self, addr: usize, record: AttachmentRecord) {
        match self.position(addr) {
            Some(i) => self.slots[i].1 = record,
            None if self.len < CAPACITY => {
                self.slots[self.len] = (addr, record);
                self.len += 1;
            }
            None => {} // full: the attachment works, unrecorded
        }
    }

    fn remove_at(&mut self, i: usize) -> AttachmentRecord {
        let record = self.slots[i].1;
        self.len -= 1;
        self.slots[i] = self.slots[self.len];
        record
    }

    fn live(&self) -> &[(usize, AttachmentRecord)] {
        &self.slots[..self.len]
    }
}

static ATTACHMENTS: ForkSafeLock<Table> = ForkSafeLock::new(Table {
    len: 0,
    slots: [(0, EMPTY); CAPACITY],
});
static AT_FORK: Once = Once::new();

extern "C" fn before_fork() {
    ATTACHMENTS.acquire();
}

extern "C" fn after_fork() {
    ATTACHMENTS.release();
}

fn attachments<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    AT_FORK.call_once(|| {
        // SAFETY: the handlers are plain functions that live for the whole process.
        // pthread_atfork fails only with ENOMEM; then fork-safety is lost, not memory safety.
        #[cfg(not(miri))] // Miri has no fork, and no pthread_atfork
        unsafe {
            libc::pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork))
        };
    });
    ATTACHMENTS.with(f)
}

/// Records an attachment that starts at `addr`.
pub(crate) fn insert(addr: usize, record: AttachmentRecord) {
    attachments(|table| table.insert(addr, record));
}

/// Forgets the attachment that starts at `addr`, returning what was known of it.
pub(crate) fn remove(addr: usize) -> Option<AttachmentRecord> {
    attachments(|table| table.position(addr).map(|i| table.remove_at(i)))
}

/// Forgets every attachment that starts inside `start..end` (the kernel replaced them: `SHM_REMAP`).
pub(crate) fn remove_range(start: usize, end: usize) {
    attachments(|table| {
        let mut i = 0;
        while i < table.len {
            if (start..end).contains(&table.slots[i].0) {
                table.remove_at(i);
            } else {
                i += 1;
            }
        }
    });
}

/// The attachment with the highest start address at or below `addr`: the only one that can contain it.
pub(crate) fn nearest_at_or_below(addr: usize) -> Option<(usize, AttachmentRecord)> {
    attachments(|table| {
        table
            .live()
            .iter()
            .filter(|&&(start, _)| start <= addr)
            .max_by_key(|&&(start, _)| start)
            .copied()
    })
}

/// How many attachments of segment `shmid` this process holds through rshm.
pub fn attachments_of(shmid: i32) -> usize {
    attachments(|table| {
        table
            .live()
            .iter()
            .filter(|(_, record)| record.shmid == shmid)
            .count()
    })
}

/// Every live attachment this process made through rshm, by start address.
pub fn live_attachments() -> Vec<(usize, AttachmentRecord)> {
    let mut live = attachments(|table| table.live().to_vec());
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
        assert_eq!(remove(BASE), Some(record(7)));
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
    }
}
