//! `Queue`: a SysV message queue opened by a key (or an ftok path), with
//! `msgrcv`'s type rules and timeouts that SysV lacks.
//!
//! SysV has no timed `msgsnd` or `msgrcv`. A wait with a timeout polls with
//! `IPC_NOWAIT`, sleeping between attempts from 10 µs, doubling, up to
//! [`POLL_CAP`] (1 ms): a message that arrives while the waiter sleeps is
//! taken at most 1 ms later, and a waiter costs at most about 1,000 calls a
//! second once it has waited a few milliseconds. Each attempt is one atomic
//! `msgrcv` (or `msgsnd`): a message is either taken whole by it, and
//! returned, or left in the queue, so a timeout that races a send never
//! loses or duplicates a message. A wait without a timeout is one blocking
//! call, woken by the kernel at once.

use crate::error::{msg, Call, Errno, Error, ErrorKind, Message, Result, MSG_COPY};
use crate::key::Key;
use crate::options::{object_builders, ObjectOptions};
use crate::sys;
use std::time::{Duration, Instant};

/// The longest sleep between two attempts of a wait with a timeout.
pub const POLL_CAP: Duration = Duration::from_millis(1);
/// The first sleep between two attempts.
const POLL_FIRST: Duration = Duration::from_micros(10);
/// The size of a message's type, before its text.
const TYPE_SIZE: usize = std::mem::size_of::<libc::c_long>();

/// What queue to open and how.
///
/// ```
/// use rshm::QueueOptions;
/// let queue = QueueOptions::new().create(true).open()?;
/// queue.send(1, b"hello", None)?;
/// let mut buf = [0u8; 16];
/// let got = queue.recv(0, &mut buf, None)?;
/// assert_eq!((&buf[..got.len], got.mtype), (&b"hello"[..], 1));
/// queue.remove()?;
/// # Ok::<(), rshm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueOptions {
    object: ObjectOptions,
}

object_builders!(QueueOptions, create);

impl QueueOptions {
    /// A private queue (`IPC_PRIVATE`), mode 0600.
    pub fn new() -> QueueOptions {
        QueueOptions::default()
    }

    /// Opens (or, with `create`, creates) the queue: see [`Queue::open`].
    pub fn open(&self) -> Result<Queue> {
        Queue::open(self)
    }
}

/// A message received: its length in bytes and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    pub len: usize,
    pub mtype: i64,
}

/// A SysV message queue shared between processes.
///
/// Anyone the queue's mode allows may send, take or remove messages, or
/// remove the queue (`Removed`); that can make a receive wait longer (until
/// its timeout) or end early, never make rshm read or write outside the
/// caller's buffers. Dropping a `Queue` leaves the queue in the kernel;
/// [`remove`](Queue::remove) removes it.
#[derive(Debug)]
pub struct Queue {
    id: i32,
    key: Key,
}

fn queue_call(what: &'static str, id: i32) -> Call {
    Call::Other(msg!("{}(msqid={})", what, id))
}

impl Queue {
    /// Opens (or, with `create`, creates) the queue for the key `options`
    /// name; mode, `exclusive` and `verify_owner` apply as for segments.
    pub fn open(options: &QueueOptions) -> Result<Queue> {
        let object = &options.object;
        object.validate(|| Call::Other(msg!("queue_open()")))?;
        let key = object.resolve_key()?;
        let call = Call::Other(msg!(
            "queue_open(key={}, mode={})",
            key,
            crate::error::Arg::Mode(object.mode.bits())
        ));
        if object.is_private() && !object.create {
            let reason = msg!("IPC_PRIVATE always makes a new queue: pass CREATE");
            return Err(Error::new(ErrorKind::InvalidArgument, call, reason));
        }
        let mode = object.mode.bits() as i32;
        let rewrap =
            |error: Error| Error::from_errno(Errno::new(error.errno()), call, *error.reason());
        if object.create {
            let flags = libc::IPC_CREAT | libc::IPC_EXCL | mode;
            match sys::msgget(key.raw(), flags) {
                Ok(id) => return Ok(Queue { id, key }),
                Err(errno) if errno.raw() == libc::EEXIST && !object.exclusive => {}
                Err(errno) => {
                    return Err(rewrap(crate::sysv::msg::explain_msgget(
                        errno,
                        key.raw(),
                        flags,
                    )))
                }
            }
        }
        let id = sys::msgget(key.raw(), 0)
            .map_err(|errno| rewrap(crate::sysv::msg::explain_msgget(errno, key.raw(), 0)))?;
        let queue = Queue { id, key };
        if object.verify_owner {
            let ds = queue.stat().map_err(|errno| queue.error(errno, call))?;
            // SAFETY: geteuid cannot fail.
            let me = unsafe { libc::geteuid() };
            if ds.msg_perm.cuid != me || ds.msg_perm.uid != me {
                let reason = msg!(
                    "queue {} was created by uid {} and is owned by uid {}, not by the caller (uid {})",
                    id,
                    ds.msg_perm.cuid,
                    ds.msg_perm.uid,
                    me
                );
                return Err(Error::new(ErrorKind::OwnerMismatch, call, reason));
            }
        }
        Ok(queue)
    }

    fn stat(&self) -> std::result::Result<libc::msqid_ds, Errno> {
        // SAFETY: all-zero is a valid msqid_ds.
        let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
        // SAFETY: IPC_STAT fills a msqid_ds.
        unsafe {
            sys::msgctl_raw(
                self.id,
                libc::IPC_STAT,
                (&mut ds as *mut libc::msqid_ds).cast(),
            )
        }?;
        Ok(ds)
    }

    /// A failure of a call on this queue, in words.
    #[cold]
    fn error(&self, errno: Errno, call: Call) -> Error {
        let reason: Message = match errno.raw() {
            libc::EIDRM | libc::EINVAL => msg!("queue {} was removed", self.id),
            libc::EACCES => msg!("the queue's mode does not grant the caller access"),
            libc::EPERM => msg!("only the queue's owner or creator may remove it"),
            _ => msg!("the kernel refused the call"),
        };
        match errno.raw() {
            libc::EINVAL | libc::EIDRM => Error::new(ErrorKind::Removed, call, reason),
            _ => Error::from_errno(errno, call, reason),
        }
    }

    /// Sends `message` with type `mtype` (greater than 0), waiting for room at
    /// most `timeout` (`None`: as long as it takes; `Some(ZERO)`: not at all,
    /// `WouldBlock` if the queue is full).
    pub fn send(&self, mtype: i64, message: &[u8], timeout: Option<Duration>) -> Result<()> {
        let call = || {
            Call::Other(msg!(
                "queue_send(msqid={}, type={}, len={})",
                self.id,
                mtype,
                message.len()
            ))
        };
        if mtype < 1 {
            let reason = msg!("type must be greater than 0 (it is {})", mtype);
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        }
        let mut buf = Vec::with_capacity(TYPE_SIZE + message.len());
        buf.extend_from_slice(&(mtype as libc::c_long).to_ne_bytes());
        buf.extend_from_slice(message);
        let attempt = |nowait: bool| {
            let flags = if nowait { libc::IPC_NOWAIT } else { 0 };
            // SAFETY: buf holds the type and message.len() bytes, as msgsnd reads them.
            unsafe { sys::msgsnd_raw(self.id, buf.as_ptr().cast(), message.len(), flags) }
        };
        match wait(timeout, libc::EAGAIN, attempt) {
            Ok(()) => Ok(()),
            Err(Waited::Full) => Err(Error::new(
                ErrorKind::WouldBlock,
                call(),
                msg!("the queue is full"),
            )),
            Err(Waited::TimedOut) => Err(Error::new(
                ErrorKind::TimedOut,
                call(),
                msg!(
                    "the queue had no room within {}",
                    timeout.unwrap_or_default()
                ),
            )),
            Err(Waited::Failed(errno)) => {
                let explained = crate::sysv::msg::explain_msgsnd(
                    errno,
                    Call::Msgsnd {
                        msqid: self.id,
                        msgp: buf.as_ptr() as usize,
                        msgsz: message.len(),
                        msgflg: 0,
                    },
                );
                Err(self.rewrap(errno, explained, call()))
            }
        }
    }

    /// Takes a message by `msgrcv`'s type rules (`mtype` 0: the first; > 0:
    /// the first of that type; < 0: the first of the lowest type up to
    /// |mtype|) into `buf`, waiting at most `timeout` (as [`send`](Queue::send)).
    /// A message longer than `buf` stays in the queue: `OutOfBounds`, and
    /// [`pending_len`](Queue::pending_len) says its length.
    pub fn recv(&self, mtype: i64, buf: &mut [u8], timeout: Option<Duration>) -> Result<Received> {
        let call = || {
            Call::Other(msg!(
                "queue_recv(msqid={}, type={}, cap={})",
                self.id,
                mtype,
                buf.len()
            ))
        };
        let mut message = vec![0u8; TYPE_SIZE + buf.len()];
        let cap = buf.len();
        let attempt = |nowait: bool| {
            let flags = if nowait { libc::IPC_NOWAIT } else { 0 };
            // SAFETY: message has room for the type and cap bytes, as msgrcv writes them.
            unsafe {
                sys::msgrcv_raw(
                    self.id,
                    message.as_mut_ptr().cast(),
                    cap,
                    mtype as libc::c_long,
                    flags,
                )
            }
        };
        match wait(timeout, libc::ENOMSG, attempt) {
            Ok(len) => {
                let mut kind = [0u8; TYPE_SIZE];
                kind.copy_from_slice(&message[..TYPE_SIZE]);
                buf[..len].copy_from_slice(&message[TYPE_SIZE..TYPE_SIZE + len]);
                Ok(Received {
                    len,
                    mtype: libc::c_long::from_ne_bytes(kind),
                })
            }
            Err(Waited::Full) => Err(Error::new(
                ErrorKind::WouldBlock,
                call(),
                msg!("no message of this type is in the queue"),
            )),
            Err(Waited::TimedOut) => Err(Error::new(
                ErrorKind::TimedOut,
                call(),
                msg!(
                    "no message of this type came within {}",
                    timeout.unwrap_or_default()
                ),
            )),
            Err(Waited::Failed(errno)) if errno.raw() == libc::E2BIG => Err(Error::new(
                ErrorKind::OutOfBounds,
                call(),
                msg!(
                    "the message is longer than the buffer's {} bytes; it stays in the queue",
                    cap
                ),
            )),
            Err(Waited::Failed(errno)) => {
                let explained = crate::sysv::msg::explain_msgrcv(
                    errno,
                    Call::Msgrcv {
                        msqid: self.id,
                        msgp: message.as_ptr() as usize,
                        msgsz: cap,
                        msgtyp: mtype as libc::c_long,
                        msgflg: 0,
                    },
                );
                Err(self.rewrap(errno, explained, call()))
            }
        }
    }

    /// The length of the message [`recv`](Queue::recv) with `mtype` would
    /// take now, peeked with `MSG_COPY` (which leaves it in place); `None`
    /// when there is none, or the kernel cannot peek (`MSG_COPY` needs
    /// `CONFIG_CHECKPOINT_RESTORE`).
    pub fn pending_len(&self, mtype: i64) -> Option<usize> {
        let count = self.stat().ok()?.msg_qnum;
        let max = crate::ipc::queue_limits().ok()?.max_message as usize;
        let mut message = vec![0u8; TYPE_SIZE + max];
        let mut best: Option<(i64, usize)> = None;
        for index in 0..count {
            // SAFETY: message has room for the type and max bytes.
            let len = unsafe {
                sys::msgrcv_raw(
                    self.id,
                    message.as_mut_ptr().cast(),
                    max,
                    index as libc::c_long,
                    libc::IPC_NOWAIT | MSG_COPY,
                )
            }
            .ok()?;
            let mut kind = [0u8; TYPE_SIZE];
            kind.copy_from_slice(&message[..TYPE_SIZE]);
            let kind = libc::c_long::from_ne_bytes(kind);
            match mtype {
                0 => return Some(len),
                t if t > 0 && kind == t => return Some(len),
                t if t < 0 && kind <= t.saturating_neg() && best.is_none_or(|(b, _)| kind < b) => {
                    best = Some((kind, len));
                }
                _ => {}
            }
        }
        best.map(|(_, len)| len)
    }

    #[cold]
    fn rewrap(&self, errno: Errno, explained: Error, call: Call) -> Error {
        let gone = errno.raw() == libc::EIDRM
            || (errno.raw() == libc::EINVAL
                && self
                    .stat()
                    .is_err_and(|e| matches!(e.raw(), libc::EINVAL | libc::EIDRM)));
        if gone {
            self.error(errno, call)
        } else {
            Error::from_errno(errno, call, *explained.reason())
        }
    }

    /// Removes the queue (`IPC_RMID`): waiters get `Removed`, its messages are lost.
    pub fn remove(&self) -> Result<()> {
        // SAFETY: IPC_RMID reads no buffer.
        unsafe { sys::msgctl_raw(self.id, libc::IPC_RMID, std::ptr::null_mut()) }
            .map(drop)
            .map_err(|errno| self.error(errno, queue_call("queue_remove", self.id)))
    }

    /// The queue's id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// The key it was opened with.
    pub fn key(&self) -> Key {
        self.key
    }
}

/// How a wait ended without its call succeeding.
enum Waited {
    /// `Some(ZERO)` and the call would have waited.
    Full,
    TimedOut,
    Failed(Errno),
}

/// Runs `attempt` as `timeout` says: one blocking call (`None`, retried on
/// EINTR), one non-blocking call (`Some(ZERO)`), or non-blocking calls with
/// a capped backoff until the deadline. `would_block` is the errno of a
/// non-blocking call that would have waited.
fn wait<T>(
    timeout: Option<Duration>,
    would_block: i32,
    mut attempt: impl FnMut(bool) -> std::result::Result<T, Errno>,
) -> std::result::Result<T, Waited> {
    let Some(deadline) = super::deadline(timeout) else {
        loop {
            match attempt(timeout.is_some_and(|t| t.is_zero())) {
                Err(errno) if errno.raw() == libc::EINTR => continue,
                other => return other.map_err(Waited::Failed),
            }
        }
    };
    let mut pause = POLL_FIRST;
    loop {
        match attempt(true) {
            Ok(value) => return Ok(value),
            Err(errno) if errno.raw() == would_block => {}
            Err(errno) => return Err(Waited::Failed(errno)),
        }
        if timeout == Some(Duration::ZERO) {
            return Err(Waited::Full);
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(Waited::TimedOut);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(POLL_CAP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private() -> Queue {
        QueueOptions::new().create(true).open().unwrap()
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn messages_are_taken_by_type_rules() {
        let queue = private();
        for (kind, text) in [(3, &b"three"[..]), (1, b"one"), (2, b"two")] {
            queue.send(kind, text, None).unwrap();
        }
        let mut buf = [0u8; 8];
        let got = queue.recv(2, &mut buf, Some(Duration::ZERO)).unwrap();
        assert_eq!((&buf[..got.len], got.mtype), (&b"two"[..], 2));
        let got = queue.recv(-5, &mut buf, Some(Duration::ZERO)).unwrap();
        assert_eq!((&buf[..got.len], got.mtype), (&b"one"[..], 1));
        let got = queue.recv(0, &mut buf, Some(Duration::ZERO)).unwrap();
        assert_eq!((&buf[..got.len], got.mtype), (&b"three"[..], 3));
        let empty = queue.recv(0, &mut buf, Some(Duration::ZERO)).unwrap_err();
        assert_eq!(empty.kind(), ErrorKind::WouldBlock);
        queue.remove().unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn a_message_longer_than_the_buffer_stays_and_its_length_is_known() {
        let queue = private();
        queue.send(7, &[1u8; 100], None).unwrap();
        let mut small = [0u8; 10];
        let error = queue.recv(0, &mut small, None).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::OutOfBounds, "{error}");
        assert_eq!(queue.pending_len(0), Some(100));
        assert_eq!(queue.pending_len(-7), Some(100));
        assert_eq!(queue.pending_len(6), None);
        let mut big = [0u8; 100];
        assert_eq!(
            queue.recv(7, &mut big, None).unwrap(),
            Received { len: 100, mtype: 7 }
        );
        queue.remove().unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn a_timed_receive_times_out_and_a_removed_queue_is_removed() {
        let queue = private();
        let mut buf = [0u8; 8];
        let start = Instant::now();
        let error = queue
            .recv(0, &mut buf, Some(Duration::from_millis(20)))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::TimedOut);
        assert!(start.elapsed() >= Duration::from_millis(20));
        assert_eq!(
            queue.send(0, b"x", None).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        queue.remove().unwrap();
        let error = queue
            .recv(0, &mut buf, Some(Duration::from_millis(5)))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Removed, "{error}");
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn timeouts_racing_sends_lose_and_duplicate_nothing() {
        // A sender sends numbered messages at its own pace; a receiver takes
        // them with short timeouts, many of which expire as a send lands.
        let queue = std::sync::Arc::new(private());
        const COUNT: u32 = 2000;
        let sender = {
            let queue = queue.clone();
            std::thread::spawn(move || {
                for i in 0..COUNT {
                    queue.send(1, &i.to_ne_bytes(), None).unwrap();
                    if i % 7 == 0 {
                        std::thread::sleep(Duration::from_micros(50 + u64::from(i % 300)));
                    }
                }
            })
        };
        let (mut next, mut timeouts) = (0u32, 0u32);
        let mut buf = [0u8; 4];
        while next < COUNT {
            match queue.recv(0, &mut buf, Some(Duration::from_micros(100))) {
                Ok(got) => {
                    assert_eq!(got.len, 4);
                    assert_eq!(u32::from_ne_bytes(buf), next, "lost or duplicated");
                    next += 1;
                }
                Err(error) if error.kind() == ErrorKind::TimedOut => timeouts += 1,
                Err(error) => panic!("{error}"),
            }
        }
        sender.join().unwrap();
        assert!(
            queue.recv(0, &mut buf, Some(Duration::ZERO)).is_err(),
            "an extra message"
        );
        assert!(timeouts > 0, "no timeout raced a send");
        queue.remove().unwrap();
    }
}
