//! Who we are, as peers record us: this process and this thread by id and
//! start time, and the PID namespace the ids mean something in.
//!
//! Asked of the kernel, and cached only where every kind of fork resets the
//! cache: a page that the kernel gives each child zero-filled
//! (`MADV_WIPEONFORK`), whether the child came from `fork`, `_Fork` or a raw
//! `clone`, with no atfork handler to run. A child in a new PID namespace
//! (pid 1 there, maybe like its parent in its own) therefore never reuses its
//! parent's id, start time or namespace. Where the kernel has no such page
//! (before 4.14), nothing is cached: each question goes to the kernel.

use super::procfs::{self, Who};
use crate::sys;
use std::cell::Cell;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::*};

/// A process or thread as peers record it: its id and its start time (clock
/// ticks after boot, `/proc/ID/stat` field 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcessId {
    pub id: i32,
    pub start: u64,
}

/// What this process knows of itself, on the wipe-on-fork page: all zero in
/// a new child until the first question.
#[repr(C)]
struct Known {
    /// Non-zero once the fields below are set: this process's token (see `token`).
    token: AtomicU64,
    pid: AtomicU64,
    start: AtomicU64,
    namespace: AtomicU64,
}

/// The page, once made; `NO_PAGE` where the kernel cannot wipe one on fork.
static PAGE: AtomicPtr<Known> = AtomicPtr::new(std::ptr::null_mut());
const NO_PAGE: *mut Known = 1 as *mut Known;
/// Tokens given out in this address space's lineage: a child starts from its
/// parent's count, so its token differs from every one its ancestors had.
static TOKENS: AtomicU64 = AtomicU64::new(0);

fn page() -> Option<&'static Known> {
    let mut page = PAGE.load(Acquire);
    if page.is_null() {
        let made = sys::wipe_on_fork_page().map_or(NO_PAGE, |p| p.cast::<Known>());
        page = match PAGE.compare_exchange(std::ptr::null_mut(), made, AcqRel, Acquire) {
            Ok(_) => made,
            Err(winner) => {
                if made != NO_PAGE {
                    // SAFETY: our page lost the race; nobody else has seen it.
                    unsafe { sys::free_page(made.cast()) };
                }
                winner
            }
        };
    }
    // SAFETY: a page from wipe_on_fork_page lives for the whole process (it is
    // never unmapped once published) and holds only atomics, zero being valid.
    (page != NO_PAGE).then(|| unsafe { &*page })
}

/// This process's facts, from the page or, the first time in this process
/// (or without a page), from the kernel.
fn known() -> (u64, i32, u64, u64) {
    let Some(known) = page() else {
        let pid = sys::getpid();
        return (0, pid, own_start(), read_namespace());
    };
    let token = known.token.load(Acquire);
    if token != 0 {
        return (
            token,
            known.pid.load(Relaxed) as i32,
            known.start.load(Relaxed),
            known.namespace.load(Relaxed),
        );
    }
    // Racers (threads, a signal handler) store the same facts; one token wins.
    let pid = sys::getpid();
    let (start, namespace) = (own_start(), read_namespace());
    known.pid.store(pid as u64, Relaxed);
    known.start.store(start, Relaxed);
    known.namespace.store(namespace, Relaxed);
    let fresh = TOKENS.fetch_add(1, Relaxed) + 1;
    let token = match known.token.compare_exchange(0, fresh, Release, Acquire) {
        Ok(_) => fresh,
        Err(winner) => winner,
    };
    (token, pid, start, namespace)
}

fn own_start() -> u64 {
    procfs::stat(Who::This)
        .ok()
        .flatten()
        .map_or(0, |stat| stat.start)
}

/// This process's PID namespace, by the inode of `/proc/self/ns/pid` (0 if it cannot be read).
fn read_namespace() -> u64 {
    // SAFETY: the path is a NUL-terminated string.
    unsafe { sys::stat_dev_ino(c"/proc/self/ns/pid".as_ptr()) }.map_or(0, |(_, ino)| ino)
}

/// A number that names this process among the processes that share its
/// memory's history: it changes in every child, however made, so a record
/// made by the parent (a lock held, an end claimed) is never taken for the
/// child's. Without a wipe-on-fork page it is the packed id and start time.
#[inline]
pub(crate) fn process_token() -> u64 {
    // The hot path (every mutex lock asks): one load from the page.
    if let Some(known) = page() {
        let token = known.token.load(Acquire);
        if token != 0 {
            return token;
        }
    }
    match known() {
        (0, pid, start, _) => ProcessId { id: pid, start }.pack() | 1 << 31,
        (token, ..) => token,
    }
}

/// This process's PID namespace (the inode of `/proc/self/ns/pid`, 0 if it
/// cannot be read): processes whose namespaces differ cannot judge each
/// other's ids.
pub fn pid_namespace() -> u64 {
    known().3
}

impl ProcessId {
    /// The process or thread with id `id` now, if `/proc` shows one.
    pub fn of(id: i32) -> Option<ProcessId> {
        if id <= 0 {
            return None;
        }
        let stat = procfs::stat(Who::Id(id)).ok()??;
        Some(ProcessId {
            id,
            start: stat.start,
        })
    }

    /// This process.
    pub fn this_process() -> ProcessId {
        let (_, id, start, _) = known();
        ProcessId { id, start }
    }

    /// The calling thread: asked of the kernel once per thread and process
    /// (a forked child's thread asks again, its process token having changed).
    pub fn this_thread() -> ProcessId {
        thread_local! {
            /// The process token this thread's identity was read under, and the identity.
            static THREAD: Cell<(u64, ProcessId)> = const { Cell::new((0, ProcessId { id: 0, start: 0 })) };
        }
        let token = process_token();
        let (seen, me) = THREAD.with(Cell::get);
        if seen == token && seen != 0 {
            return me;
        }
        let me = ProcessId {
            id: sys::gettid(),
            start: procfs::stat(Who::ThisThread)
                .ok()
                .flatten()
                .map_or(0, |stat| stat.start),
        };
        THREAD.with(|thread| thread.set((token, me)));
        me
    }

    /// `id` and the low 32 bits of the start time in one word (0 for none),
    /// for peers that record a holder in one atomic: a reused id matches only
    /// if its start time agrees in 32 bits (497 days of ticks at 100 Hz).
    pub fn pack(self) -> u64 {
        (self.id as u32 as u64) << 32 | (self.start & 0xffff_ffff)
    }

    /// The inverse of [`pack`](Self::pack): `None` for 0.
    pub fn unpack(word: u64) -> Option<PackedId> {
        (word != 0).then_some(PackedId(word))
    }
}

/// A holder recorded by [`ProcessId::pack`]: its id and 32 bits of its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedId(u64);

impl PackedId {
    /// The holder a word records (a word of 0 records none: its id is 0).
    pub fn from_word(word: u64) -> PackedId {
        PackedId(word)
    }

    /// The id.
    pub fn id(self) -> i32 {
        (self.0 >> 32) as u32 as i32
    }

    /// The low 32 bits of the start time.
    pub(crate) fn start_low(self) -> u32 {
        self.0 as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "/proc: Miri cannot make syscalls")]
    fn this_process_and_thread_are_the_kernels() {
        let me = ProcessId::this_process();
        assert_eq!(me.id, std::process::id() as i32);
        assert!(me.start > 0);
        assert_eq!(ProcessId::of(me.id), Some(me));
        let main = ProcessId::this_thread();
        let other = std::thread::spawn(ProcessId::this_thread).join().unwrap();
        assert_ne!(other.id, main.id);
        assert_eq!(main, ProcessId::this_thread(), "cached for the thread");
        let packed = ProcessId::unpack(me.pack()).unwrap();
        assert_eq!(packed.id(), me.id);
        assert_eq!(packed.start_low(), me.start as u32);
        assert!(ProcessId::unpack(0).is_none());
        assert_ne!(pid_namespace(), 0);
        assert_ne!(process_token(), 0);
        assert_eq!(process_token(), process_token());
    }

    #[test]
    #[cfg_attr(miri, ignore = "fork: Miri cannot make syscalls")]
    fn a_child_made_without_atfork_handlers_knows_itself() {
        let parent = (
            process_token(),
            ProcessId::this_process(),
            ProcessId::this_thread(),
        );
        // SAFETY: the child only reads its identity and leaves with _exit.
        let child = unsafe { libc::syscall(libc::SYS_clone, libc::SIGCHLD, 0, 0, 0, 0) } as i32;
        if child == 0 {
            let me = ProcessId::this_process();
            let thread = ProcessId::this_thread();
            let fresh = process_token() != parent.0
                && me.id == sys::getpid()
                && me != parent.1
                && thread.id == sys::gettid()
                && thread != parent.2;
            // SAFETY: _exit ends the child at once.
            unsafe { libc::_exit(if fresh { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: child is our child; status is a valid int.
        assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
        assert_eq!(status, 0, "a raw clone child must see its own identity");
    }
}
