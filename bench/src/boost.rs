//! Boost.Interprocess `message_queue` (Debian's libboost-dev) through the
//! C shim in benches/boost_mq.cpp: the many-to-one section's bracket.
//!
//! Each queue is a POSIX shared-memory object named `rshmbenchPID_boostN`
//! (in /dev/shm); [`Queue`] removes it when the process that made it drops
//! it, and [`left`] lists any the run left behind.

use std::ffi::{c_char, c_int, c_long, c_void, CStr, CString};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

extern "C" {
    fn rshm_bench_boost_error() -> *const c_char;
    fn rshm_bench_boost_create(
        name: *const c_char,
        max_msgs: usize,
        msg_size: usize,
    ) -> *mut c_void;
    fn rshm_bench_boost_open(name: *const c_char) -> *mut c_void;
    fn rshm_bench_boost_send(queue: *mut c_void, buf: *const c_void, len: usize) -> c_int;
    fn rshm_bench_boost_receive(queue: *mut c_void, buf: *mut c_void, cap: usize) -> c_long;
    fn rshm_bench_boost_close(queue: *mut c_void);
    fn rshm_bench_boost_remove(name: *const c_char) -> c_int;
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// The prefix of every queue this run makes.
fn prefix() -> String {
    format!("rshmbench{}_boost", std::process::id())
}

/// The shim's message for the last failure of this thread.
fn error() -> String {
    // SAFETY: the shim returns a NUL-terminated thread-local buffer.
    unsafe { CStr::from_ptr(rshm_bench_boost_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A fresh queue name for one measurement.
pub fn fresh_name() -> CString {
    CString::new(format!("{}{}", prefix(), NEXT.fetch_add(1, Relaxed))).expect("no NUL")
}

/// One process's handle on a queue; the creator's also removes it on drop.
pub struct Queue {
    handle: *mut c_void,
    owned: Option<CString>,
}

impl Queue {
    /// Makes the queue `name` for `max_msgs` messages of up to `msg_size` bytes.
    pub fn create(name: &CString, max_msgs: usize, msg_size: usize) -> Queue {
        // SAFETY: a NUL-terminated name; the shim catches every exception.
        let handle = unsafe { rshm_bench_boost_create(name.as_ptr(), max_msgs, msg_size) };
        assert!(!handle.is_null(), "Boost: {}", error());
        Queue {
            handle,
            owned: Some(name.clone()),
        }
    }

    /// Opens the queue `name` another process made.
    pub fn open(name: &CString) -> Queue {
        // SAFETY: as above.
        let handle = unsafe { rshm_bench_boost_open(name.as_ptr()) };
        assert!(!handle.is_null(), "Boost: {}", error());
        Queue {
            handle,
            owned: None,
        }
    }

    /// Sends `message`, waiting while the queue is full.
    pub fn send(&self, message: &[u8]) {
        // SAFETY: a live handle and a valid buffer.
        let rc =
            unsafe { rshm_bench_boost_send(self.handle, message.as_ptr().cast(), message.len()) };
        assert_eq!(rc, 0, "Boost: {}", error());
    }

    /// Receives one message into `buf`, waiting while the queue is empty: its length.
    pub fn receive(&self, buf: &mut [u8]) -> usize {
        // SAFETY: a live handle and a valid buffer of buf.len() bytes.
        let n =
            unsafe { rshm_bench_boost_receive(self.handle, buf.as_mut_ptr().cast(), buf.len()) };
        assert!(n >= 0, "Boost: {}", error());
        n as usize
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: a live handle, closed once.
        unsafe { rshm_bench_boost_close(self.handle) };
        if let Some(name) = &self.owned {
            // SAFETY: a NUL-terminated name.
            unsafe { rshm_bench_boost_remove(name.as_ptr()) };
        }
    }
}

/// The Boost queues of this run still in /dev/shm (removing them): none, normally.
pub fn left() -> Vec<String> {
    let prefix = prefix();
    let mut left = Vec::new();
    for entry in std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
            left.push(format!("/dev/shm/{name}"));
        }
    }
    left
}
