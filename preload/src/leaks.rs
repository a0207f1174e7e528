//! `RSHM_LEAK_CHECK`: records each System V object the traced program makes
//! and, when the whole program is done, reports those still there and unused.
//!
//! "The whole program" is the leak check's run (run.rs): every process
//! started under it, daemons that outlive their launcher included. Each
//! creation is appended to the run's `created` file with one write(2)
//! ([`created`]: the segment calls here; semaphore sets and queues call it
//! too). The last process of the run to exit reads the file back and judges
//! each object by what the kernel says of it then:
//! - gone, or marked for removal: fine;
//! - a segment still attached by a process (other than the last one itself,
//!   which is exiting): in use, not leaked;
//! - otherwise leaked: one line, on the trace's destination (the trace file,
//!   else stderr). Nothing else is ever printed: no summary, and nothing at
//!   all from a program that leaked nothing.
//!
//! A creation is recorded once per process (a fixed, lock-free table of what
//! this process recorded), so a program that opens its own segment again
//! with `IPC_CREAT` writes no more lines.

use crate::procfs;
use crate::run;
use rshm::ipc::Kind;
use rshm::liveness::ProcessId;
use rshm::{Key, Segment};
use std::fmt::{self, Write};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering};

/// How many creations a process remembers having recorded; later ones are
/// recorded without that check (a line more at worst).
const CAPACITY: usize = 1024;

/// (pid, kind, id) of each creation this process recorded: `pid << 34 | kind << 32 | id`.
#[allow(clippy::declare_interior_mutable_const)] // a template for the array, never used as a value
const UNUSED: AtomicU64 = AtomicU64::new(0);
static RECORDED: [AtomicU64; CAPACITY] = [UNUSED; CAPACITY];
static COUNT: AtomicUsize = AtomicUsize::new(0);
/// The process RECORDED belongs to: a forked child starts its own.
static OWNER: AtomicI32 = AtomicI32::new(0);

fn kind_code(kind: Kind) -> u64 {
    match kind {
        Kind::Segment => 0,
        Kind::SemaphoreSet => 1,
        Kind::MessageQueue => 2,
    }
}

/// Whether this process recorded `kind` `id` already; remembers it if not.
fn first_time(me: i32, kind: Kind, id: i32) -> bool {
    if OWNER.swap(me, Ordering::AcqRel) != me {
        COUNT.store(0, Ordering::Release); // a forked child: the parent's list is not ours
    }
    let word = (me as u32 as u64) << 34 | kind_code(kind) << 32 | id as u32 as u64;
    let seen = COUNT.load(Ordering::Acquire).min(CAPACITY);
    if RECORDED[..seen]
        .iter()
        .any(|w| w.load(Ordering::Relaxed) == word)
    {
        return false;
    }
    if let Some(slot) = RECORDED.get(COUNT.fetch_add(1, Ordering::AcqRel)) {
        slot.store(word, Ordering::Relaxed);
    }
    true
}

/// A record line built on the stack; too long a line is cut.
struct Record {
    buf: [u8; 512],
    len: usize,
}

impl Write for Record {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let take = s.len().min(self.buf.len() - 1 - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// This process made `kind` `id` with key `key` by `call` (shmget, semget or
/// msgget, shown as the trace shows it): recorded for the verdict if the
/// leak check is on and the call did make it. A keyed call with `IPC_CREAT`
/// may have opened an existing object: `made` says which (`Some(true)` for
/// `IPC_PRIVATE` or `IPC_EXCL`), or None to ask the kernel, which knows a
/// segment's creator only (a set or a queue records none: None records
/// nothing, so an unsure caller never causes a false report).
/// Async-signal-safe: one open, one write, one close.
pub fn created(kind: Kind, id: i32, key: Key, made: Option<bool>, call: &dyn fmt::Display) {
    if !crate::settings::leak_check() {
        return;
    }
    let Some(file) = run::path(b"created") else {
        return; // not in a run
    };
    let me = ProcessId::this_process();
    let made = made.unwrap_or_else(|| match kind {
        Kind::Segment => Segment::from_id(id)
            .stat()
            .is_ok_and(|info| info.cpid == me.id),
        _ => false,
    });
    if !made || !first_time(me.id, kind, id) {
        return;
    }
    let mut record = Record {
        buf: [0; 512],
        len: 0,
    };
    let _ = write!(
        record,
        "{} {id} {} {} {} {call}",
        kind.name(),
        key.raw(),
        me.id,
        me.start
    );
    record.buf[record.len] = b'\n';
    let _errno = KeepErrno::new();
    let _ = procfs::append(&file, &record.buf[..=record.len]);
}

/// After a successful `shmget`: records the segment if this call made it.
pub fn note(shmid: i32, key: Key, size: usize, shmflg: i32) {
    if key != Key::PRIVATE && shmflg & libc::IPC_CREAT == 0 {
        return; // only opened
    }
    let made = if key == Key::PRIVATE || shmflg & libc::IPC_EXCL != 0 {
        Some(true)
    } else {
        None
    };
    let call = rshm::error::Call::Shmget {
        key: key.raw(),
        size,
        shmflg,
    };
    created(Kind::Segment, shmid, key, made, &call);
}

/// errno is the caller's: recording leaves it as it was.
struct KeepErrno(i32);

impl KeepErrno {
    fn new() -> KeepErrno {
        KeepErrno(procfs::errno())
    }
}

impl Drop for KeepErrno {
    fn drop(&mut self) {
        // SAFETY: __errno_location always returns this thread's errno.
        unsafe { *libc::__errno_location() = self.0 };
    }
}

/// One line of `created` read back.
#[derive(Debug, PartialEq, Eq)]
struct Creation<'a> {
    kind: Kind,
    id: i32,
    key: i32,
    pid: i32,
    call: &'a [u8],
}

fn parse(line: &[u8]) -> Option<Creation<'_>> {
    let mut fields = line.splitn(6, |&b| b == b' ');
    let kind = match fields.next()? {
        b"shm" => Kind::Segment,
        b"sem" => Kind::SemaphoreSet,
        b"msg" => Kind::MessageQueue,
        _ => return None,
    };
    let mut number = || -> Option<i64> { std::str::from_utf8(fields.next()?).ok()?.parse().ok() };
    let id = i32::try_from(number()?).ok()?;
    let key = i32::try_from(number()?).ok()?;
    let pid = i32::try_from(number()?).ok()?;
    let _start = number()?;
    Some(Creation {
        kind,
        id,
        key,
        pid,
        call: fields.next()?,
    })
}

/// Why an object counts as leaked, or None.
fn leaked(creation: &Creation<'_>) -> Option<Leak> {
    match creation.kind {
        Kind::Segment => {
            let segment = Segment::from_id(creation.id);
            // A process that left the run an instant ago may still be unmapping: give it a moment.
            for _ in 0..25 {
                let info = segment.stat().ok()?;
                if info.key.raw() != creation.key || info.cpid != creation.pid {
                    return None; // another segment under a reused id
                }
                if info.marked_for_removal {
                    return None;
                }
                if info.nattch <= segment.attachments_in_this_process() as u64 {
                    return Some(Leak::Segment { size: info.size });
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            None // attached by a process still running
        }
        kind => {
            let object = rshm::ipc::find(kind, creation.id).ok()??;
            (object.key().raw() == creation.key).then_some(Leak::Other)
        }
    }
}

enum Leak {
    Segment { size: usize },
    Other,
}

/// The verdict: each object of the run that is still there and unused, one
/// line each. Given once per run, by the process that claimed it (run.rs).
pub fn verdict() {
    let Some(file) = run::path(b"created") else {
        return;
    };
    let mut reported = [(Kind::Segment, -1i32); 256];
    let mut count = 0;
    let _ = procfs::each_line(&file, |line| {
        let Some(creation) = parse(line) else {
            return ControlFlow::Continue(());
        };
        let once = (creation.kind, creation.id);
        if reported[..count].contains(&once) {
            return ControlFlow::Continue(());
        }
        let Some(leak) = leaked(&creation) else {
            return ControlFlow::Continue(());
        };
        if count < reported.len() {
            reported[count] = once;
            count += 1;
        }
        report(&creation, leak);
        ControlFlow::Continue(())
    });
}

fn report(creation: &Creation<'_>, leak: Leak) {
    let (id, key, pid) = (creation.id, Key::from_raw(creation.key), creation.pid);
    let call = Text(creation.call);
    match leak {
        Leak::Segment { size } => crate::trace::report(format_args!(
            "leak: segment {id} (key {key}, {size} bytes) made by {call} in process {pid} \
             was neither removed nor left attached"
        )),
        Leak::Other => crate::trace::report(format_args!(
            "leak: {} {id} (key {key}) made by {call} in process {pid} was not removed",
            creation.kind.noun()
        )),
    }
}

/// Recorded bytes (written by the preload, so text), shown without allocating.
struct Text<'a>(&'a [u8]);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match std::str::from_utf8(self.0) {
            Ok(text) => f.write_str(text),
            Err(_) => write!(f, "{}", self.0.escape_ascii()),
        }
    }
}

extern "C" fn at_exit() {
    if run::leave_or_claim_verdict() {
        verdict();
        run::clean();
    }
}

/// Joins the run and registers the verdict to run at exit (at load).
pub fn start() {
    if run::join_at_load(verdict) {
        // SAFETY: at_exit is a plain function that lives for the whole process.
        unsafe { libc::atexit(at_exit) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back() {
        let line =
            b"shm 5 1381232129 1234 987654 shmget(key=0x5253ee01, size=4096, flags=IPC_CREAT|0600)";
        assert_eq!(
            parse(line),
            Some(Creation {
                kind: Kind::Segment,
                id: 5,
                key: 0x5253ee01,
                pid: 1234,
                call: b"shmget(key=0x5253ee01, size=4096, flags=IPC_CREAT|0600)",
            })
        );
        assert_eq!(
            parse(b"sem 3 0 9 9 semget()").map(|c| c.kind),
            Some(Kind::SemaphoreSet)
        );
        for odd in [
            &b""[..],
            b"shm",
            b"shm x 0 1 2 c",
            b"pipe 1 2 3 4 c",
            b"shm 1 2 3 4",
        ] {
            assert_eq!(parse(odd), None, "{}", odd.escape_ascii());
        }
    }
}
