//! `RSHM_LEAK_CHECK`: remembers the segments this process creates and, at
//! exit, reports those it leaked. The record is a fixed, lock-free table,
//! safe across threads, fork and signal handlers.
//!
//! At exit, each segment this process created is, by what the kernel says of it:
//! - gone or marked for removal (`IPC_RMID`): not leaked;
//! - handed off, when another process attached it: attached now more often than
//!   by this process (`shm_nattch`), or last attached or detached by another
//!   process (`shm_lpid`, which a forked child that held it also sets). Handing
//!   a segment to others to remove (as PostgreSQL does with its dynamic shared
//!   memory) is deliberate: counted in the summary, not reported;
//! - leaked otherwise: nobody but this process ever attached it, and it stays.
//!
//! A process that created no segment says nothing (most processes of a
//! traced program never touch shared memory).

use rshm::error::Call;
use rshm::{Key, Segment};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

/// How many creations are remembered; later ones go unchecked.
const CAPACITY: usize = 1024;

struct Created {
    ready: AtomicBool,
    /// The process that created it (a forked child inherits the table).
    pid: AtomicI32,
    shmid: AtomicI32,
    key: AtomicI32,
    shmflg: AtomicI32,
    size: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)] // a template for the array, never used as a value
const UNUSED: Created = Created {
    ready: AtomicBool::new(false),
    pid: AtomicI32::new(0),
    shmid: AtomicI32::new(0),
    key: AtomicI32::new(0),
    shmflg: AtomicI32::new(0),
    size: AtomicUsize::new(0),
};

static CREATED: [Created; CAPACITY] = [UNUSED; CAPACITY];
static COUNT: AtomicUsize = AtomicUsize::new(0);

fn recorded() -> impl Iterator<Item = &'static Created> {
    CREATED[..COUNT.load(Ordering::Acquire).min(CAPACITY)]
        .iter()
        .filter(|c| c.ready.load(Ordering::Acquire))
}

/// After a successful `shmget`: remembers the segment if this process created it.
pub fn note(shmid: i32, key: Key, size: usize, shmflg: i32) {
    if key != Key::PRIVATE && shmflg & libc::IPC_CREAT == 0 {
        return; // only opened
    }
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    // A keyed shmget with IPC_CREAT may have opened an existing segment: ask who made it.
    match Segment::from_id(shmid).stat() {
        Ok(info) if info.cpid == me => {}
        _ => return,
    }
    if recorded().any(|c| c.shmid.load(Ordering::Relaxed) == shmid) {
        return;
    }
    let index = COUNT.fetch_add(1, Ordering::AcqRel);
    if let Some(slot) = CREATED.get(index) {
        slot.pid.store(me, Ordering::Relaxed);
        slot.shmid.store(shmid, Ordering::Relaxed);
        slot.key.store(key.raw(), Ordering::Relaxed);
        slot.shmflg.store(shmflg, Ordering::Relaxed);
        slot.size.store(size, Ordering::Relaxed);
        slot.ready.store(true, Ordering::Release);
    }
}

extern "C" fn at_exit() {
    // SAFETY: getpid cannot fail.
    let me = unsafe { libc::getpid() };
    let (mut made, mut leaked, mut handed_off) = (0, 0, 0);
    for created in recorded().filter(|c| c.pid.load(Ordering::Relaxed) == me) {
        made += 1;
        let shmid = created.shmid.load(Ordering::Relaxed);
        let segment = Segment::from_id(shmid);
        let Ok(info) = segment.stat() else {
            continue; // removed and gone
        };
        if info.cpid != me || info.marked_for_removal {
            continue; // another segment under a reused id, or removed
        }
        let ours = segment.attachments_in_this_process() as u64;
        if info.nattch > ours || (info.lpid != 0 && info.lpid != me) {
            handed_off += 1;
            continue;
        }
        leaked += 1;
        let call = Call::Shmget {
            key: created.key.load(Ordering::Relaxed),
            size: created.size.load(Ordering::Relaxed),
            shmflg: created.shmflg.load(Ordering::Relaxed),
        };
        crate::trace::report(format_args!(
            "leak: segment {shmid} (key {}, {} bytes) made by {call} was neither removed nor left attached",
            info.key, info.size
        ));
    }
    if made == 0 {
        return;
    }
    if handed_off == 0 {
        crate::trace::report(format_args!(
            "leak check: {leaked} of the {made} segments this process created leaked"
        ));
    } else {
        crate::trace::report(format_args!(
            "leak check: {leaked} of the {made} segments this process created leaked; \
             {handed_off} handed off to other processes"
        ));
    }
}

/// Registers the report to run at exit.
pub fn report_at_exit() {
    // SAFETY: at_exit is a plain function that lives for the whole process.
    unsafe { libc::atexit(at_exit) };
}
