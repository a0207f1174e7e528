//! Helpers shared by the Rust integration tests.
#![allow(dead_code)]

use rshm::{GetFlags, Key, Mode, Segment};

/// Removes the segment when the test ends, passed or failed.
pub struct Removing(pub Segment);

impl Drop for Removing {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

pub fn private(size: usize) -> Removing {
    Removing(
        Segment::get(Key::PRIVATE, size, GetFlags::CREATE, Mode::OWNER_RW)
            .expect("create a private segment"),
    )
}

/// A key no other test uses: from the test's line and this process.
pub fn unique_key(line: u32) -> Key {
    Key(0x5200_0000 | ((std::process::id() as i32 & 0xfff) << 12) | line as i32 & 0xfff)
}

/// Runs `child` in a forked process and returns its exit code (a hang of more
/// than 10 s is killed and fails).
pub fn in_child(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork in a test; the child runs `child`, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm and _exit are safe to call in the child.
        unsafe { libc::alarm(10) };
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: pid is our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status),
        "child died of signal {} (a hang ends with SIGALRM)",
        libc::WTERMSIG(status)
    );
    libc::WEXITSTATUS(status)
}

pub fn become_nobody() {
    // SAFETY: plain syscalls in a forked child.
    unsafe {
        assert_eq!(libc::setgid(65534), 0);
        assert_eq!(libc::setuid(65534), 0);
    }
}
