//! `rshm_last_error()`: the message of the last failed call on this thread.
//!
//! Messages are written into fixed buffers of this thread (no allocation, no
//! lock, no destructor to register), so a failing call is safe in a signal
//! handler. A handler may fail a call while the thread it interrupted is
//! writing its own message: each writer claims a buffer that is neither the
//! one shown nor one being written, so neither message is garbled; the
//! message shown is the one finished last.

use rshm_compat::boundary::Failure;
use std::cell::UnsafeCell;
use std::fmt::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

/// Bytes of one message, NUL included; a longer message is cut.
const CAPACITY: usize = 1024;
/// Buffers per thread: the one shown, one being written, and two for nested handlers.
const BUFFERS: usize = 4;
/// `shown` before any failure.
const NONE: u8 = u8::MAX;

struct LastError {
    buffers: [UnsafeCell<[u8; CAPACITY]>; BUFFERS],
    /// The buffer `rshm_last_error` returns, or NONE.
    shown: AtomicU8,
    /// Buffers being written, a bit each.
    writing: AtomicU8,
}

thread_local! {
    static LAST_ERROR: LastError = const {
        LastError {
            buffers: [const { UnsafeCell::new([0; CAPACITY]) }; BUFFERS],
            shown: AtomicU8::new(NONE),
            writing: AtomicU8::new(0),
        }
    };
}

/// Writes into one buffer, cutting what does not fit (and keeping room for the NUL).
struct Cursor<'a> {
    buffer: &'a mut [u8; CAPACITY],
    len: usize,
}

impl Write for Cursor<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let take = text.len().min(CAPACITY - 1 - self.len);
        self.buffer[self.len..self.len + take].copy_from_slice(&text.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

impl LastError {
    /// Claims a buffer that is neither shown nor being written, or None if a
    /// deeper nesting of handlers than BUFFERS allows has taken them all.
    fn claim(&self) -> Option<usize> {
        loop {
            let writing = self.writing.load(Relaxed);
            let shown = self.shown.load(Relaxed);
            let free =
                (0..BUFFERS).find(|&i| i != usize::from(shown) && writing & (1 << i) == 0)?;
            if self
                .writing
                .compare_exchange(writing, writing | (1 << free), Relaxed, Relaxed)
                .is_ok()
            {
                return Some(free);
            }
        }
    }

    fn record(&self, message: fmt::Arguments<'_>) {
        let Some(index) = self.claim() else {
            return;
        };
        // SAFETY: the claim makes this buffer ours alone: no other writer takes
        // a claimed buffer, and readers only read the shown one, which this is not.
        let buffer = unsafe { &mut *self.buffers[index].get() };
        let mut cursor = Cursor { buffer, len: 0 };
        let _ = cursor.write_fmt(message);
        let end = cursor.len;
        // A message never holds NUL; should one slip in, C reads what precedes it.
        cursor.buffer[end] = 0;
        self.shown.store(index as u8, Relaxed);
        self.writing.fetch_and(!(1 << index), Relaxed);
    }

    fn shown(&self) -> *const u8 {
        match self.shown.load(Relaxed) {
            NONE => c"".as_ptr().cast(),
            index => self.buffers[usize::from(index)].get().cast_const().cast(),
        }
    }
}

/// Records `failure`, which happened in `export`, as this thread's last error.
pub(crate) fn record(export: &'static str, failure: &Failure) {
    let _ = LAST_ERROR.try_with(|last| match failure {
        Failure::Error(error) => last.record(format_args!("{}", error.in_export(export))),
        Failure::Panic(payload) => last.record(format_args!(
            "{export}: internal error in rshm: {} (ENOTRECOVERABLE)",
            Failure::panic_text(payload.as_ref())
        )),
    });
}

/// The message of the last call that failed on this thread: the call with
/// its arguments, the cause and the errno name, e.g.
/// `shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600): a segment with this key exists with 4096 bytes, fewer than requested (EINVAL)`.
///
/// Returns "" if no rshm call has failed on this thread. Successful calls leave
/// it unchanged, like errno. The string belongs to rshm and stays valid until
/// the next failing rshm call on the same thread; copy it to keep it. A
/// message longer than 1023 bytes is cut.
#[no_mangle]
pub extern "C" fn rshm_last_error() -> *const libc::c_char {
    LAST_ERROR
        .try_with(LastError::shown)
        .unwrap_or(c"".as_ptr().cast())
        .cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: rshm_last_error returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(rshm_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn empty_until_a_failure_then_the_latest_message() {
        assert_eq!(last(), "");
        LAST_ERROR.with(|l| l.record(format_args!("first")));
        let first = rshm_last_error();
        LAST_ERROR.with(|l| l.record(format_args!("second {}", 2)));
        assert_eq!(last(), "second 2");
        // SAFETY: the previous message stays valid until the next failure.
        assert_eq!(unsafe { CStr::from_ptr(first) }.to_str().unwrap(), "first");
    }

    #[test]
    fn a_long_message_is_cut_and_terminated() {
        let long = "x".repeat(5000);
        LAST_ERROR.with(|l| l.record(format_args!("{long}")));
        assert_eq!(last().len(), CAPACITY - 1);
    }

    #[test]
    fn a_nested_writer_takes_another_buffer() {
        LAST_ERROR.with(|l| {
            // An outer writer holds a buffer (as if interrupted by a signal handler).
            let outer = l.claim().unwrap();
            l.record(format_args!("from the handler"));
            assert_ne!(usize::from(l.shown.load(Relaxed)), outer);
            l.writing.fetch_and(!(1 << outer), Relaxed);
        });
        assert_eq!(last(), "from the handler");
    }
}
