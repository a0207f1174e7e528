//! Helpers shared by the Rust integration tests.
#![allow(dead_code)]

use rshm::{ChannelOptions, GetFlags, Key, Mode, OpenOptions, OpenSegment, Segment};

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
    Key::from_raw(0x5200_0000 | ((std::process::id() as i32 & 0xfff) << 12) | line as i32 & 0xfff)
}

/// One test at a time, for tests that fork: a forked child holds every
/// attachment of the process, which would disturb the counts another test checks.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Forks; the child runs `child` and exits with its code (a child still
/// running after 20 s dies of SIGALRM). Returns the child's pid.
pub fn spawn(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork in a test; the child runs `child`, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm and _exit are safe to call in the child.
        unsafe { libc::alarm(20) };
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Waits for the child: its exit code, or 128 + the signal that killed it.
pub fn reap(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: pid is our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// Kills the child with SIGKILL and reaps it.
pub fn kill(pid: i32) {
    // SAFETY: pid is our child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap(pid);
}

/// Runs `child` in a forked process and returns its exit code; a child that
/// dies of a signal (a hang ends with SIGALRM) fails the test.
pub fn in_child(child: impl FnOnce() -> i32) -> i32 {
    let code = reap(spawn(child));
    assert!(
        code < 128,
        "child died of signal {} (a hang ends with SIGALRM)",
        code - 128
    );
    code
}

pub fn become_nobody() {
    // SAFETY: plain syscalls in a forked child.
    unsafe {
        assert_eq!(libc::setgid(65534), 0);
        assert_eq!(libc::setuid(65534), 0);
    }
}

/// A new segment of `size` bytes for `key`, removed when this handle closes.
pub fn keyed_segment(key: Key, size: usize) -> OpenSegment {
    OpenOptions::new()
        .key(key)
        .create(true)
        .size(size)
        .remove_on_close(true)
        .open()
        .unwrap()
}

/// The options of a new channel for `key`, whose segment goes when its creator closes.
pub fn channel_options(key: Key) -> ChannelOptions {
    ChannelOptions::new().key(key).remove_on_close(true).clone()
}
