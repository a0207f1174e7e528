//! Asymmetric fences for the channel's sleep protocol, after liburcu and
//! folly's `asymmetricLightBarrier`.
//!
//! A side that moves publishes (a length word, its position), then reads
//! whether its peer sleeps; a side about to sleep announces it, then reads
//! whether the peer moved. Each needs its write ordered before its read
//! (store-load), or both may miss the other and a wakeup is lost. A full
//! fence on every message costs the sender and the receiver a drained store
//! buffer each: the wait for every pending cache-line transfer, once per
//! message. Sleeping is rare, so the cost moves there: the moving side
//! ([`light`]) only keeps the compiler from reordering, and the sleeping side
//! ([`heavy`]) makes every CPU that runs a registered process execute a
//! full barrier (`membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`), which orders
//! the mover's write before its read wherever it stands.
//!
//! Each process registers once ([`light`] does it on first use). Where the
//! kernel or a seccomp filter refuses membarrier, [`light`] is a full fence,
//! and a [`heavy`] that cannot run says so: its caller then sleeps in short
//! slices, so that a lost wakeup costs at most one slice.

use crate::sys;
use std::sync::atomic::{compiler_fence, fence, AtomicU8, Ordering::*};

/// From `<linux/membarrier.h>`.
const MEMBARRIER_CMD_GLOBAL_EXPEDITED: libc::c_int = 1 << 1;
const MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED: libc::c_int = 1 << 2;

/// Whether this process registered for expedited barriers: 0 not asked yet, 1 yes, 2 no.
static REGISTERED: AtomicU8 = AtomicU8::new(0);

/// Registers this process for expedited barriers, once; whether it is.
fn registered() -> bool {
    match REGISTERED.load(Relaxed) {
        1 => true,
        2 => false,
        _ => {
            let ok = sys::membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED).is_ok();
            REGISTERED.store(if ok { 1 } else { 2 }, Relaxed);
            ok
        }
    }
}

/// Registers this process ahead of its first message (a channel end calls
/// it when it opens), so that the hot path never makes the syscall.
pub(crate) fn register() {
    registered();
}

/// The mover's side: orders its earlier writes before its later reads,
/// together with a [`heavy`] on the sleeper's side.
#[inline]
pub(crate) fn light() {
    if REGISTERED.load(Relaxed) == 1 {
        compiler_fence(SeqCst);
    } else {
        fence(SeqCst);
    }
}

/// The sleeper's side: a full fence here and on every CPU that runs a
/// registered process. `false` if membarrier is refused: a mover may then
/// have taken the light fence without it, and a wakeup may be lost.
pub(crate) fn heavy() -> bool {
    fence(SeqCst);
    let done = sys::membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED).is_ok();
    fence(SeqCst);
    done
}
