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
    // SAFETY: fork in a single-threaded process; the child runs `child`, then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: prctl with integer arguments only.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        pin(1);
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
pub struct SharedPage(*mut libc::c_void);

impl SharedPage {
    pub fn new() -> SharedPage {
        // SAFETY: a fresh anonymous mapping.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "mmap failed");
        SharedPage(p)
    }

    /// The 8-byte word at `index` (0..512); words 0-7 share the page's first cache line.
    pub fn word(&self, index: usize) -> &AtomicU64 {
        assert!(index < 512);
        // SAFETY: inside the page, 8-aligned, zero-initialised, used only atomically.
        unsafe { &*(self.0.cast::<AtomicU64>().add(index)) }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: our mapping, no reference into it outlives self.
        unsafe { libc::munmap(self.0, 4096) };
    }
}
