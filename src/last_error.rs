//! `rshm_last_error()`: the message of the last failed call on this thread.
//!
//! A failing call stores its error (plain data: the call's arguments, the
//! cause, the errno) in a fixed slot of this thread, and `rshm_last_error`
//! formats it into that slot's text the first time it is asked: a failure
//! that nobody reads costs a copy, not a formatting. Nothing allocates,
//! locks or registers a destructor, so a failing call is safe in a signal
//! handler. A handler may fail a call while the thread it interrupted is
//! writing a slot (storing or formatting): each writer claims a slot that is
//! neither the one shown nor one being written, so neither is garbled; the
//! error shown is the one stored last.

use rshm::Error;
use rshm_compat::boundary::Failure;
use std::cell::UnsafeCell;
use std::fmt::{self, Write};
use std::sync::atomic::{
    AtomicU8,
    Ordering::{AcqRel, Acquire, Release},
};

/// Bytes of one message, NUL included; a longer message is cut.
const CAPACITY: usize = 1024;
/// Buffers per thread: the one shown, one being written, and two for nested handlers.
const BUFFERS: usize = 4;
/// `shown` before any failure.
const NONE: u8 = u8::MAX;

/// One slot: an error stored and not yet formatted, or the text of one.
struct Slot {
    /// The error and the export it failed in, until it is formatted into `text`.
    pending: Option<(Error, &'static str)>,
    /// The message, NUL-terminated, once formatted.
    text: [u8; CAPACITY],
}

/// A signal handler runs on the thread it interrupts, so the orderings below are
/// about the compiler: Release before a slot is shown or given back and Acquire
/// after one is claimed keep every read and write of a slot inside its claim.
struct LastError {
    buffers: [UnsafeCell<Slot>; BUFFERS],
    /// The buffer `rshm_last_error` returns, or NONE.
    shown: AtomicU8,
    /// Buffers being written, a bit each.
    writing: AtomicU8,
}

thread_local! {
    static LAST_ERROR: LastError = const {
        LastError {
            buffers: [const {
                UnsafeCell::new(Slot {
                    pending: None,
                    text: [0; CAPACITY],
                })
            }; BUFFERS],
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
            let writing = self.writing.load(Acquire);
            let shown = self.shown.load(Acquire);
            let free =
                (0..BUFFERS).find(|&i| i != usize::from(shown) && writing & (1 << i) == 0)?;
            if self
                .writing
                .compare_exchange(writing, writing | (1 << free), AcqRel, Acquire)
                .is_ok()
            {
                return Some(free);
            }
        }
    }

    /// Stores `error`, failed in `export`, as the error shown; formatted when read.
    fn record_error(&self, error: Error, export: &'static str) {
        let Some(index) = self.claim() else {
            return;
        };
        // SAFETY: the claim makes this slot ours alone: no other writer takes a
        // claimed slot, and readers only read the shown one, which this is not.
        let slot = unsafe { &mut *self.buffers[index].get() };
        slot.pending = Some((error, export));
        self.show(index);
    }

    /// Writes `message` as the text shown (a panic's, whose payload cannot be kept).
    fn record_text(&self, message: fmt::Arguments<'_>) {
        let Some(index) = self.claim() else {
            return;
        };
        // SAFETY: as in record_error.
        let slot = unsafe { &mut *self.buffers[index].get() };
        slot.pending = None;
        write_text(&mut slot.text, message);
        self.show(index);
    }

    /// Makes the claimed slot `index` the one shown, and releases it.
    fn show(&self, index: usize) {
        self.shown.store(index as u8, Release);
        self.writing.fetch_and(!(1 << index), Release);
    }

    /// The text shown, formatted first if it is still an error. A handler
    /// that asks while the code it interrupted is formatting that same slot
    /// gets "" rather than half a message.
    fn shown(&self) -> *const u8 {
        let index = match self.shown.load(Acquire) {
            NONE => return c"".as_ptr().cast(),
            index => usize::from(index),
        };
        let slot = self.buffers[index].get();
        let bit = 1 << index;
        let writing = self.writing.fetch_or(bit, AcqRel);
        if writing & bit != 0 {
            return c"".as_ptr().cast();
        }
        // SAFETY: the writing bit makes this slot ours alone until it is cleared:
        // writers skip it, and a nested reader returns above.
        let slot = unsafe { &mut *slot };
        if let Some((error, export)) = slot.pending.take() {
            write_text(&mut slot.text, format_args!("{}", error.in_export(export)));
        }
        self.writing.fetch_and(!bit, Release);
        slot.text.as_ptr()
    }
}

/// Writes `message` into `text`, cut to fit, NUL-terminated.
fn write_text(text: &mut [u8; CAPACITY], message: fmt::Arguments<'_>) {
    let mut cursor = Cursor {
        buffer: text,
        len: 0,
    };
    let _ = cursor.write_fmt(message);
    let end = cursor.len;
    // A message never holds NUL; should one slip in, C reads what precedes it.
    cursor.buffer[end] = 0;
}

/// Records `failure`, which happened in `export`, as this thread's last error.
pub(crate) fn record(export: &'static str, failure: &Failure) {
    let _ = LAST_ERROR.try_with(|last| match failure {
        Failure::Error(error) => last.record_error(*error, export),
        Failure::Panic(payload) => last.record_text(format_args!(
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
    // Formatting is plain code that does not panic; should it, C gets "".
    let shown = std::panic::catch_unwind(|| LAST_ERROR.try_with(LastError::shown).ok());
    shown.ok().flatten().unwrap_or(c"".as_ptr().cast()).cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::sync::atomic::Ordering::Relaxed;

    fn last() -> String {
        // SAFETY: rshm_last_error returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(rshm_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn empty_until_a_failure_then_the_latest_message() {
        assert_eq!(last(), "");
        LAST_ERROR.with(|l| l.record_text(format_args!("first")));
        let first = rshm_last_error();
        LAST_ERROR.with(|l| l.record_text(format_args!("second {}", 2)));
        assert_eq!(last(), "second 2");
        // SAFETY: the previous message stays valid until the next failure.
        assert_eq!(unsafe { CStr::from_ptr(first) }.to_str().unwrap(), "first");
    }

    #[test]
    fn a_long_message_is_cut_and_terminated() {
        let long = "x".repeat(5000);
        LAST_ERROR.with(|l| l.record_text(format_args!("{long}")));
        assert_eq!(last().len(), CAPACITY - 1);
    }

    #[test]
    fn an_error_is_formatted_when_first_read_and_then_kept() {
        let error = rshm::Error::null_pointer("seg");
        LAST_ERROR.with(|l| l.record_error(error, "rshm_size"));
        LAST_ERROR.with(|l| {
            let index = usize::from(l.shown.load(Relaxed));
            // SAFETY: a test on this thread's own slots; nothing else touches them.
            assert!(
                unsafe { (*l.buffers[index].get()).pending.is_some() },
                "not formatted yet"
            );
        });
        let first = rshm_last_error();
        assert_eq!(last(), "rshm_size: seg is NULL (EFAULT)");
        assert_eq!(
            rshm_last_error(),
            first,
            "formatted once, then the same text"
        );
    }

    #[test]
    fn a_reader_nested_in_the_formatting_of_the_same_slot_gets_nothing_garbled() {
        LAST_ERROR.with(|l| l.record_error(rshm::Error::null_pointer("ch"), "rshm_channel_send"));
        LAST_ERROR.with(|l| {
            // The interrupted code is formatting the shown slot: its writing bit is set.
            let index = usize::from(l.shown.load(Relaxed));
            l.writing.fetch_or(1 << index, Relaxed);
            assert_eq!(last(), "");
            l.writing.fetch_and(!(1 << index), Relaxed);
        });
        assert_eq!(last(), "rshm_channel_send: ch is NULL (EFAULT)");
    }

    #[test]
    fn a_nested_writer_takes_another_buffer() {
        LAST_ERROR.with(|l| {
            // An outer writer holds a buffer (as if interrupted by a signal handler).
            let outer = l.claim().unwrap();
            l.record_text(format_args!("from the handler"));
            assert_ne!(usize::from(l.shown.load(Relaxed)), outer);
            l.writing.fetch_and(!(1 << outer), Relaxed);
        });
        assert_eq!(last(), "from the handler");
    }
}
