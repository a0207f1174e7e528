//! The two sides of a case: this process pinned to CPU 0, a forked peer
//! pinned to CPU 1, and memory they share.

use std::sync::atomic::AtomicU64;

/// Pins the calling process to `cpu`.
pub fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A forked peer process; [`wait`](Peer::wait) reaps it.
#[must_use = "a peer must be waited for"]
pub struct Peer(libc::pid_t);

/// Runs `child` in a forked process pinned to CPU 1, which dies with its
/// parent and exits 1 if `child` panics (it never returns into the caller).
pub fn fork_peer(child: impl FnOnce()) -> Peer {
    fork_peer_on(1, child)
}

/// [`fork_peer`] onto `cpu`: the many-party cases put a third process on a
/// CPU that one of the others already has.
pub fn fork_peer_on(cpu: usize, child: impl FnOnce()) -> Peer {
    // SAFETY: fork in a single-threaded process; the child runs `child`, then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        pin(cpu);
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).is_ok();
        // SAFETY: leave without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    Peer(pid)
}

impl Peer {
    /// Reaps the peer; panics if it failed.
    pub fn wait(self) {
        let mut status = 0;
        // SAFETY: self.0 is our child; status is a valid int.
        unsafe { libc::waitpid(self.0, &mut status, 0) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the peer failed (wait status {status:#x})"
        );
    }
}

/// A page of anonymous memory shared with the peers forked after it: no
/// SysV object, nothing to clean up but the mapping.
pub struct SharedPage(SharedMem);

impl SharedPage {
    pub fn new() -> SharedPage {
        SharedPage(SharedMem::new(4096))
    }

    /// The 8-byte word at `index` (0..512); words 0-7 share the page's first cache line.
    pub fn word(&self, index: usize) -> &AtomicU64 {
        self.0.word(index)
    }

    /// The page's first byte.
    pub fn ptr(&self) -> *mut u8 {
        self.0.ptr()
    }
}

/// Anonymous memory (whole pages, zeroed) shared with the peers forked after it.
pub struct SharedMem {
    ptr: *mut libc::c_void,
    len: usize,
}

impl SharedMem {
    /// `len` bytes (a multiple of the page size).
    pub fn new(len: usize) -> SharedMem {
        assert!(len > 0 && len.is_multiple_of(4096));
        // SAFETY: a fresh anonymous mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "mmap failed");
        SharedMem { ptr: p, len }
    }

    /// The 8-byte word at `index`; words 8k to 8k+7 share a cache line.
    pub fn word(&self, index: usize) -> &AtomicU64 {
        assert!(index < self.len / 8);
        // SAFETY: inside the mapping, 8-aligned, zero-initialised; whoever uses a
        // word as an atomic uses it only atomically.
        unsafe { &*(self.ptr.cast::<AtomicU64>().add(index)) }
    }

    /// The first byte.
    pub fn ptr(&self) -> *mut u8 {
        self.ptr.cast()
    }
}

impl Drop for SharedMem {
    fn drop(&mut self) {
        // SAFETY: our mapping, no reference into it outlives self.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}
