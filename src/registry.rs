//! The process-wide registry of live attachments: start address → (segment id,
//! size, read-only). It explains bad `shmdt` addresses and reports leaks, and
//! stays consistent across threads and `fork`.

use std::cell::UnsafeCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

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

static ATTACHMENTS: ForkSafeLock<BTreeMap<usize, AttachmentRecord>> =
    ForkSafeLock::new(BTreeMap::new());
static AT_FORK: Once = Once::new();

extern "C" fn before_fork() {
    ATTACHMENTS.acquire();
}

extern "C" fn after_fork() {
    ATTACHMENTS.release();
}

fn attachments<R>(f: impl FnOnce(&mut BTreeMap<usize, AttachmentRecord>) -> R) -> R {
    AT_FORK.call_once(|| {
        // SAFETY: the handlers are plain functions that live for the whole process.
        // pthread_atfork fails only with ENOMEM; then fork-safety is lost, not memory safety.
        unsafe { libc::pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork)) };
    });
    ATTACHMENTS.with(f)
}

/// Records an attachment that starts at `addr`.
pub(crate) fn insert(addr: usize, record: AttachmentRecord) {
    attachments(|map| map.insert(addr, record));
}

/// Forgets the attachment that starts at `addr`, returning what was known of it.
pub(crate) fn remove(addr: usize) -> Option<AttachmentRecord> {
    attachments(|map| map.remove(&addr))
}

/// Forgets every attachment that starts inside `start..end` (the kernel replaced them: `SHM_REMAP`).
pub(crate) fn remove_range(start: usize, end: usize) {
    attachments(|map| {
        let inside: Vec<usize> = map.range(start..end).map(|(&addr, _)| addr).collect();
        for addr in inside {
            map.remove(&addr);
        }
    });
}

/// The attachment with the highest start address at or below `addr`: the only one that can contain it.
pub(crate) fn nearest_at_or_below(addr: usize) -> Option<(usize, AttachmentRecord)> {
    attachments(|map| {
        map.range(..=addr)
            .next_back()
            .map(|(&start, &record)| (start, record))
    })
}

/// Every live attachment this process made through rshm, by start address.
pub fn live_attachments() -> Vec<(usize, AttachmentRecord)> {
    attachments(|map| map.iter().map(|(&addr, &record)| (addr, record)).collect())
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
    fn threads_keep_the_map_consistent() {
        let base = BASE + 0x40000;
        let threads: Vec<_> = (0..8)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..500 {
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
