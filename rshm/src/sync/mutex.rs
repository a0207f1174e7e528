//! `Mutex`: a robust mutex shared between processes, in 64 bytes of a
//! segment, that trusts nothing the segment holds.
//!
//! The lock word names the holding thread by its id and its start time; no
//! pointer is ever read from (or written into) the segment, so a peer that
//! writes the cell can make calls fail or wait, never make this process
//! write into its own memory. A holder that dies is found out without the
//! kernel's robust list (which would need pointers in the segment):
//! - a thread that exits holding a mutex releases it as owner-died (a
//!   thread-exit hook walks this process's table of held locks);
//! - closing the segment (dropping its `OpenSegment`, `rshm_close`) while
//!   this process holds one of its mutexes releases it as owner-died too;
//! - a process that dies (SIGKILL) is found by the waiters, which check the
//!   holder's id and start time every [`LIVENESS_CHECK`] (so a lock word
//!   naming a dead process, even one that never held it, is recovered).
//!
//! The next locker then gets `OwnerDied`, holding the lock: it repairs the
//! data and calls `consistent`, or unlocks without it and the mutex becomes
//! `NotRecoverable`, as with pthread's robust mutexes. Processes in another
//! PID namespace (sharing the IPC namespace) cannot judge each other's ids:
//! the holder records its namespace, and a holder from another one is never
//! declared dead (waits with a timeout still end in time).
//!
//! Uncontended lock and unlock make no syscall.

use crate::error::{msg, Call, Error, ErrorKind, Message, Result};
use crate::liveness::{judge_recorded, pid_namespace, Liveness, PackedId, ProcessId};
use crate::segment::held;
use crate::segment::open::OpenSegment;
use crate::sys;
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::sync::Once;
use std::time::{Duration, Instant};

/// "RSHMMTX2": written last by `init`, checked by every other call.
const MAGIC: u64 = 0x5253_484d_4d54_5832;
/// The first layout's magic ("RSHMMUTX", glibc's robust mutex): refused with a clear word.
const OLD_MAGIC: u64 = 0x5253_484d_4d55_5458;

/// How often a waiter checks that the holder still lives: the latency with
/// which a process that died holding the mutex is found out.
pub const LIVENESS_CHECK: Duration = Duration::from_millis(50);

/// The bytes a mutex takes in the segment, at an offset that is a multiple of 8.
pub const MUTEX_SIZE: usize = 64;
const _: () = assert!(std::mem::size_of::<Cell64>() <= MUTEX_SIZE);

const CONSISTENT: u32 = 0;
const OWNER_DIED: u32 = 1;
const NOT_RECOVERABLE: u32 = 2;

/// The mutex's cell in the segment: atomics only.
#[repr(C)]
struct Cell64 {
    magic: AtomicU64,
    /// The holder ([`ProcessId::pack`] of its thread), or 0 when free: the lock.
    owner: AtomicU64,
    /// CONSISTENT, OWNER_DIED (held; the data needs repair) or NOT_RECOVERABLE.
    state: AtomicU32,
    /// The futex word waiters sleep on: bumped by an unlock that has waiters.
    wake: AtomicU32,
    /// How many wait (an unlock wakes one only when some do).
    waiters: AtomicU32,
    _pad: u32,
    /// The holder's PID namespace, and the owner word it belongs to (written after it).
    namespace: AtomicU64,
    namespace_of: AtomicU64,
}

/// A robust, process-shared mutex at an offset of an open segment (see the
/// module documentation).
///
/// A process that can write the segment may corrupt the mutex and make calls
/// fail (`Corrupt`) or wait (`TimedOut` when given a timeout); it can never
/// make this process read or write outside the cell, write into its private
/// memory, abort, or hang a call that was given a timeout.
///
/// ```
/// use rshm::{Mutex, OpenOptions};
/// let segment = OpenOptions::new().create(true).size(4096).remove_on_close(true).open()?;
/// let mutex = Mutex::init(&segment, 0)?;
/// mutex.lock(None)?;
/// mutex.unlock()?;
/// # Ok::<(), rshm::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Mutex<'a> {
    segment: &'a OpenSegment,
    offset: usize,
}

fn mutex_call(what: &'static str, offset: usize) -> Call {
    Call::Other(msg!("{}(offset={})", what, offset))
}

impl<'a> Mutex<'a> {
    /// Makes a mutex at `offset` (`MUTEX_SIZE` bytes, a multiple of 8). Do it
    /// once, before any process uses it, and never while it is held.
    pub fn init(segment: &'a OpenSegment, offset: usize) -> Result<Mutex<'a>> {
        let mutex = Mutex::place(segment, offset, "mutex_init")?;
        let cell = mutex.cell();
        cell.owner.store(0, Relaxed);
        cell.state.store(CONSISTENT, Relaxed);
        cell.wake.store(0, Relaxed);
        cell.waiters.store(0, Relaxed);
        cell.namespace.store(0, Relaxed);
        cell.namespace_of.store(0, Relaxed);
        cell.magic.store(MAGIC, Release);
        Ok(mutex)
    }

    /// The mutex at `offset`, made there by `init` (by any process).
    pub fn at(segment: &'a OpenSegment, offset: usize) -> Result<Mutex<'a>> {
        let what = "mutex";
        let mutex = Mutex::place(segment, offset, what)?;
        match mutex.cell().magic.load(Acquire) {
            MAGIC => Ok(mutex),
            OLD_MAGIC => Err(mutex.corrupt(
                what,
                msg!("the mutex was made by an older rshm (layout 1, glibc's robust mutex): initialise it again"),
            )),
            _ => Err(mutex.corrupt(what, msg!("no mutex was initialised at this offset (rshm_mutex_init)"))),
        }
    }

    /// Checks room, alignment and writability of a cell at `offset`.
    fn place(segment: &'a OpenSegment, offset: usize, what: &'static str) -> Result<Mutex<'a>> {
        let call = || mutex_call(what, offset);
        match offset.checked_add(MUTEX_SIZE) {
            Some(end) if end <= segment.size() => {}
            _ => {
                let reason = msg!(
                    "a mutex takes {} bytes, past the end of the {}-byte segment",
                    MUTEX_SIZE,
                    segment.size()
                );
                return Err(Error::new(ErrorKind::OutOfBounds, call(), reason));
            }
        }
        if offset % 8 != 0 {
            let reason = msg!("a mutex must be at an offset that is a multiple of {}", 8);
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        }
        if segment.is_read_only() {
            return Err(Error::new(
                ErrorKind::ReadOnly,
                call(),
                msg!("the segment is attached read-only"),
            ));
        }
        Ok(Mutex { segment, offset })
    }

    fn cell(&self) -> &Cell64 {
        // SAFETY: offset..offset+MUTEX_SIZE lies inside the mapping, 8-aligned (checked
        // by `place`), which the borrowed segment keeps attached; the cell holds atomics only.
        unsafe { &*(self.segment.as_ptr().add(self.offset) as *const Cell64) }
    }

    fn address(&self) -> usize {
        self.cell() as *const Cell64 as usize
    }

    fn corrupt(&self, what: &'static str, reason: Message) -> Error {
        Error::new(ErrorKind::Corrupt, mutex_call(what, self.offset), reason)
    }

    /// Locks the mutex, waiting at most `timeout` (`None`: forever;
    /// `Some(ZERO)`: not at all, `WouldBlock` if held). `Err(OwnerDied)` means
    /// the lock is held now but its last holder died holding it: repair the
    /// data, then call [`consistent`](Self::consistent) (or unlock without it:
    /// the mutex becomes unusable, `NotRecoverable`).
    pub fn lock(&self, timeout: Option<Duration>) -> Result<()> {
        let cell = self.cell();
        let call = || mutex_call("mutex_lock", self.offset);
        let me = this_thread();
        if cell.owner.load(Relaxed) == me {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                call(),
                msg!("this thread holds it already"),
            ));
        }
        let acquired = match cell.owner.compare_exchange(0, me, Acquire, Relaxed) {
            Ok(_) => Acquired::Free,
            Err(_) => self.wait(me, timeout)?,
        };
        self.taken(me, acquired)
    }

    /// Records the lock as this thread's, and tells what state it is in.
    fn taken(&self, me: u64, acquired: Acquired) -> Result<()> {
        let cell = self.cell();
        let call = || mutex_call("mutex_lock", self.offset);
        cell.namespace.store(pid_namespace(), Relaxed);
        cell.namespace_of.store(me, Release);
        if !held::insert(self.address(), me) {
            self.release(me, None);
            let reason = msg!(
                "this process holds {} mutexes already, the most rshm tracks",
                held::CAPACITY
            );
            return Err(Error::new(ErrorKind::NoSpace, call(), reason));
        }
        match (cell.state.load(Acquire), acquired) {
            (CONSISTENT, Acquired::Free) => Ok(()),
            (CONSISTENT, Acquired::FromDead) => {
                cell.state.store(OWNER_DIED, Release);
                Err(owner_died(call()))
            }
            (OWNER_DIED, _) => Err(owner_died(call())),
            (NOT_RECOVERABLE, _) => {
                self.unlock_as(me)?;
                Err(not_recoverable(call()))
            }
            (state, _) => {
                self.unlock_as(me)?;
                Err(self.corrupt(
                    "mutex_lock",
                    msg!("the mutex's state word holds {}, not a state", state),
                ))
            }
        }
    }

    /// The contended path: sleeps on the wake word, checking the holder's
    /// liveness every LIVENESS_CHECK; takes over from a dead holder.
    fn wait(&self, me: u64, timeout: Option<Duration>) -> Result<Acquired> {
        let cell = self.cell();
        let call = || mutex_call("mutex_lock", self.offset);
        if cell.state.load(Acquire) == NOT_RECOVERABLE {
            return Err(not_recoverable(call()));
        }
        let deadline = super::deadline(timeout);
        cell.waiters.fetch_add(1, SeqCst);
        let _waiting = Waiting(cell);
        let mut next_check = Instant::now();
        loop {
            let seen = cell.wake.load(SeqCst);
            let holder = cell.owner.load(SeqCst);
            if holder == 0 {
                if cell.owner.compare_exchange(0, me, Acquire, Relaxed).is_ok() {
                    return Ok(Acquired::Free);
                }
                continue;
            }
            let now = Instant::now();
            if now >= next_check {
                next_check = now + LIVENESS_CHECK;
                if self.holder_is_gone(holder)
                    && cell
                        .owner
                        .compare_exchange(holder, me, Acquire, Relaxed)
                        .is_ok()
                {
                    return Ok(Acquired::FromDead);
                }
            }
            let mut slice = next_check.saturating_duration_since(now);
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(now);
                if left.is_zero() {
                    return Err(match timeout {
                        Some(Duration::ZERO) => {
                            Error::new(ErrorKind::WouldBlock, call(), msg!("the mutex is held"))
                        }
                        _ => Error::new(
                            ErrorKind::TimedOut,
                            call(),
                            msg!("the mutex stayed held for {}", timeout.unwrap_or_default()),
                        ),
                    });
                }
                slice = slice.min(left);
            }
            let wait = libc::timespec {
                tv_sec: slice.as_secs() as libc::time_t,
                tv_nsec: slice.subsec_nanos().max(1) as libc::c_long,
            };
            sys::futex_wait(&cell.wake, seen, Some(&wait));
        }
    }

    /// Whether `holder` is gone: judged by its thread id and start time, in
    /// this PID namespace only. A holder that has not recorded its namespace
    /// (between its compare-and-swap and its record, or killed there) cannot
    /// be told: it is waited for, never taken from.
    fn holder_is_gone(&self, holder: u64) -> bool {
        let cell = self.cell();
        let recorded =
            (cell.namespace_of.load(Acquire) == holder).then(|| cell.namespace.load(Relaxed));
        judge_recorded(recorded, || PackedId::from_word(holder).thread_liveness()) == Liveness::Gone
    }

    /// Unlocks the mutex, which this thread must hold. Unlocking after
    /// `OwnerDied` without [`consistent`](Self::consistent) makes it `NotRecoverable`.
    pub fn unlock(&self) -> Result<()> {
        self.unlock_as(this_thread())
    }

    fn unlock_as(&self, me: u64) -> Result<()> {
        let cell = self.cell();
        if cell.owner.load(Acquire) != me {
            let reason = msg!("this thread does not hold the mutex");
            let error = Error::new(
                ErrorKind::PermissionDenied,
                mutex_call("mutex_unlock", self.offset),
                reason,
            );
            return Err(error.with_errno(crate::Errno::new(libc::EPERM)));
        }
        held::remove(self.address(), me);
        let state = match cell.state.load(Acquire) {
            OWNER_DIED => NOT_RECOVERABLE,
            state => state,
        };
        self.release(me, Some(state));
        Ok(())
    }

    /// Frees the lock held by `holder`, setting `state` first; wakes a waiter.
    fn release(&self, holder: u64, state: Option<u32>) {
        release_cell(self.cell(), holder, state);
    }

    /// After `OwnerDied` and repairs: marks the mutex consistent again (this thread holds it).
    pub fn consistent(&self) -> Result<()> {
        let cell = self.cell();
        if cell.owner.load(Acquire) != this_thread() || cell.state.load(Acquire) != OWNER_DIED {
            let reason =
                msg!("the mutex is not held in the inconsistent state that OwnerDied leaves");
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                mutex_call("mutex_consistent", self.offset),
                reason,
            ));
        }
        cell.state.store(CONSISTENT, Release);
        Ok(())
    }
}

/// How a lock was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acquired {
    Free,
    FromDead,
}

/// Counts a waiter for as long as it waits.
struct Waiting<'a>(&'a Cell64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, SeqCst);
    }
}

fn owner_died(call: Call) -> Error {
    let reason = msg!("the lock is yours, but its last holder died holding it: repair the data, then mark it consistent");
    Error::new(ErrorKind::OwnerDied, call, reason)
}

fn not_recoverable(call: Call) -> Error {
    let reason =
        msg!("a holder died and the next one unlocked without marking the data consistent");
    Error::new(ErrorKind::NotRecoverable, call, reason)
}

/// Frees a cell held by `holder` (if it still is): `state` first, then the
/// owner word, then a wake if anyone waits.
fn release_cell(cell: &Cell64, holder: u64, state: Option<u32>) {
    if let Some(state) = state {
        cell.state.store(state, Release);
    }
    if cell
        .owner
        .compare_exchange(holder, 0, SeqCst, Relaxed)
        .is_ok()
        && cell.waiters.load(SeqCst) > 0
    {
        cell.wake.fetch_add(1, SeqCst);
        sys::futex_wake_some(&cell.wake, 1);
    }
}

/// What `held` calls for a mutex whose holder is gone from this process (its
/// thread exited, or its segment is being detached): owner-died, and free.
fn release_as_owner_died(addr: usize, holder: u64) {
    // SAFETY: held records only cells of live attachments, and calls this before the
    // attachment goes or from the exiting thread, whose attachments are still mapped.
    let cell = unsafe { &*(addr as *const Cell64) };
    if cell.owner.load(Acquire) == holder {
        let state = match cell.state.load(Acquire) {
            NOT_RECOVERABLE => NOT_RECOVERABLE,
            _ => OWNER_DIED,
        };
        release_cell(cell, holder, Some(state));
    }
}

static HOOKS: Once = Once::new();

/// Releases, as owner-died, the mutexes a thread holds when it exits.
struct ExitHook;

impl Drop for ExitHook {
    fn drop(&mut self) {
        if let Some(me) = THREAD.with(Cell::get) {
            held::release_held_by(me);
        }
    }
}

thread_local! {
    /// This thread's packed id, once it took a lock (for the exit hook).
    static THREAD: Cell<Option<u64>> = const { Cell::new(None) };
    static EXIT_HOOK: ExitHook = const { ExitHook };
}

/// The calling thread as a lock word names it (id and start time), from
/// `ProcessId::this_thread`, which a forked child's thread asks again.
fn this_thread() -> u64 {
    HOOKS.call_once(|| held::set_release(release_as_owner_died));
    let me = ProcessId::this_thread().pack();
    if THREAD.with(Cell::get) != Some(me) {
        THREAD.with(|thread| thread.set(Some(me)));
        EXIT_HOOK.with(|_| {}); // registers the exit hook
    }
    me
}
