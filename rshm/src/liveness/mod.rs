//! Liveness: whether a peer recorded in shared memory (a channel end's
//! holder, a mutex's holder, an object's creator or last user) still runs.
//! Everything rshm does on a peer's death (take an end over, hand a lock on
//! as owner-died, remove an object, report a leak) asks this module, and acts
//! only on [`Liveness::Gone`]: "I cannot tell" is an honest answer, after
//! which the caller waits, times out or keeps the object.
//!
//! - Identities (`identity.rs`): a process or thread by id *and* start time (an
//!   id is reused once its owner is gone), recorded with the PID namespace its
//!   id means something in; this process's own identity comes from the kernel,
//!   cached only on a page every fork wipes.
//! - The judgement (`judge.rs`): `Gone` only on the kernel's word or a `/proc`
//!   proven to be our namespace's (`procfs.rs`). A process lives while any of
//!   its threads does.

mod identity;
mod judge;
mod procfs;

pub(crate) use identity::process_token;
pub use identity::{pid_namespace, PackedId, ProcessId};
#[doc(hidden)]
pub use judge::judgements;
pub(crate) use judge::process as judge_process;
pub(crate) use judge::Start;

/// What a judgement found out about a recorded process or thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liveness {
    /// It runs (a process: at least one of its threads does).
    Alive = 0,
    /// It is gone, on positive evidence: no such id in this PID namespace, an
    /// exited process or thread, or the id now names a later one.
    Gone = 1,
    /// It cannot be told (its `/proc` entry is hidden from us, our `/proc`
    /// describes another PID namespace, the holder is in another namespace):
    /// never act as if it were gone.
    CannotTell = 2,
}

/// Judges a holder recorded with the PID namespace it claimed in: a holder
/// whose namespace record is missing, or is not ours, cannot be told.
pub(crate) fn judge_recorded(
    recorded_namespace: Option<u64>,
    judge: impl FnOnce() -> Liveness,
) -> Liveness {
    let ours = pid_namespace();
    match recorded_namespace {
        Some(namespace) if namespace != 0 && namespace == ours => judge(),
        _ => Liveness::CannotTell,
    }
}
