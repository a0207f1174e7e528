//! The locks this process holds inside its attachments (the robust mutexes
//! of `sync::mutex`), so that a lock is never left pointing into memory that
//! is gone: when an attachment goes, the locks its threads hold in it are
//! released first (their next owner is told that their holder died), and a
//! thread that exits releases the ones it holds.
//!
//! A fixed, lock-free table of slots, claimed with one compare-and-swap each
//! (as the registry of attachments): no lock, no allocation. The kind of lock
//! is not known here: the module that takes locks gives the function that
//! releases one (`set_release`), so this lower layer never imports it.

use crate::liveness::process_token;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering::*};

/// How many locks one process can hold at once.
pub const CAPACITY: usize = 1024;

/// A slot's states: free; being filled; recording a held lock; being emptied
/// (its lock being released). Only the thread that moved a slot out of FREE
/// or LIVE touches its other fields until it moves it on.
const FREE: u8 = 0;
const FILLING: u8 = 1;
const LIVE: u8 = 2;
const EMPTYING: u8 = 3;

/// What releases a lock at an address, held by a holder: set by the lock's module.
pub(crate) type Release = fn(addr: usize, holder: u64);

struct Slot {
    state: AtomicU8,
    /// The lock's address in this process.
    addr: AtomicUsize,
    /// Who holds it (the lock's own word for its holder).
    holder: AtomicU64,
    /// The process that took it, by its token (a forked child inherits the
    /// table, not the locks, and has a token of its own, even when its pid
    /// in a new PID namespace is its parent's).
    process: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)] // a template for the array, never used as a value
const UNUSED: Slot = Slot {
    state: AtomicU8::new(FREE),
    addr: AtomicUsize::new(0),
    holder: AtomicU64::new(0),
    process: AtomicU64::new(0),
};

static SLOTS: [Slot; CAPACITY] = [UNUSED; CAPACITY];
static USED: AtomicUsize = AtomicUsize::new(0);
static RELEASE: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

fn used() -> &'static [Slot] {
    &SLOTS[..USED.load(Acquire).min(CAPACITY)]
}

impl Slot {
    fn take(&self, from: u8, to: u8) -> bool {
        self.state
            .compare_exchange(from, to, Acquire, Relaxed)
            .is_ok()
    }
}

/// Sets the function that releases a held lock.
pub(crate) fn set_release(release: Release) {
    RELEASE.store(release as *mut (), Release);
}

/// Records that `holder` (of this process) took the lock at `addr`; false when the table is full.
pub(crate) fn insert(addr: usize, holder: u64) -> bool {
    let process = process_token();
    loop {
        if let Some(slot) = used().iter().find(|slot| slot.take(FREE, FILLING)) {
            slot.addr.store(addr, Relaxed);
            slot.holder.store(holder, Relaxed);
            slot.process.store(process, Relaxed);
            slot.state.store(LIVE, Release);
            return true;
        }
        if USED.fetch_add(1, AcqRel) >= CAPACITY {
            USED.fetch_min(CAPACITY, AcqRel);
            return false;
        }
    }
}

/// Forgets that `holder` holds the lock at `addr`.
pub(crate) fn remove(addr: usize, holder: u64) {
    for slot in used() {
        if slot.state.load(Acquire) == LIVE
            && slot.addr.load(Relaxed) == addr
            && slot.holder.load(Relaxed) == holder
            && slot.take(LIVE, EMPTYING)
        {
            slot.state.store(FREE, Release);
            return;
        }
    }
}

/// Releases, through the lock's module, every lock of this process that
/// matches `which(addr, holder)`, and forgets it.
fn release_where(which: impl Fn(usize, u64) -> bool) {
    let release = RELEASE.load(Acquire);
    if release.is_null() {
        return; // no lock was ever taken
    }
    // SAFETY: RELEASE only ever holds a `Release` function (set_release).
    let release: Release = unsafe { std::mem::transmute::<*mut (), Release>(release) };
    let process = process_token();
    for slot in used() {
        if slot.state.load(Acquire) != LIVE || slot.process.load(Relaxed) != process {
            continue;
        }
        if !which(slot.addr.load(Relaxed), slot.holder.load(Relaxed)) || !slot.take(LIVE, EMPTYING)
        {
            continue;
        }
        // The slot is ours now: read it again, in case it was emptied and refilled meanwhile.
        let (addr, holder) = (slot.addr.load(Relaxed), slot.holder.load(Relaxed));
        if which(addr, holder) {
            release(addr, holder);
            slot.state.store(FREE, Release);
        } else {
            slot.state.store(LIVE, Release);
        }
    }
}

/// Releases the locks this process holds inside `start..end` (an attachment
/// that is going), and waits for releases in there that other threads are
/// making: nothing touches the range once this returns.
pub(crate) fn release_in(start: usize, end: usize) {
    let inside = |addr: usize| (start..end).contains(&addr);
    release_where(|addr, _| inside(addr));
    for slot in used() {
        while slot.state.load(Acquire) == EMPTYING && inside(slot.addr.load(Relaxed)) {
            std::thread::yield_now();
        }
    }
}

/// Releases the locks `holder` holds (a thread that is exiting).
pub(crate) fn release_held_by(holder: u64) {
    release_where(|_, held_by| held_by == holder);
}
