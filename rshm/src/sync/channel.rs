//! `Channel`: a single-producer single-consumer message channel in one
//! segment. Lock-free on the fast path; a side with nothing to do spins
//! briefly, then sleeps on a futex in the segment, and its peer wakes it only
//! when it sleeps. A peer that dies is noticed (an error, never a hang), and
//! `open` refuses a segment whose layout is not a channel's.
//!
//! Layout: a header (magic, version, sizes), the sender's cache line (head),
//! the receiver's (tail), then the ring. Each message is an 8-byte word
//! holding its length + 1, then its bytes, padded to 8; a message may wrap
//! around the ring's end. The sender writes the word last (Release), so the
//! receiver polls the word itself: one cache line brings it both the news and
//! a small message, and it may read a message before the sender publishes the
//! head (its tail may run ahead of the head for a moment). The receiver zeroes
//! each word it consumes; the sender zeroes the word after its message when
//! that lies in free space (old bytes there could otherwise pass for a word).

use crate::error::{msg, Arg, Call, Error, ErrorKind, Message, Result};
use crate::options::{object_builders, ObjectOptions};
use crate::process::alive;
use crate::segment::open::{OpenOptions, OpenSegment};
use crate::sys;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

/// "RSHMCHAN", written last when a channel is made.
const MAGIC: u64 = 0x5253_484d_4348_414e;
const VERSION: u32 = 2;
/// How often a sleeping side wakes to check that its peer still lives.
const LIVENESS_CHECK: Duration = Duration::from_millis(50);
/// Busy polls before sleeping: enough to catch a peer that answers within microseconds.
const SPINS: u32 = 4000;

/// Which channel to make or open: its key (or path), the mode of a new
/// one, and whether to refuse one made or owned by another user.
///
/// ```
/// use rshm::{Channel, ChannelOptions, Role};
/// let mut tx = Channel::create(&ChannelOptions::new(), 4096, Role::Sender)?;
/// tx.send(b"hello", None)?;
/// tx.segment().remove()?;
/// # Ok::<(), rshm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChannelOptions {
    object: ObjectOptions,
    remove_on_close: bool,
}

object_builders!(ChannelOptions);

impl ChannelOptions {
    /// A private channel (`IPC_PRIVATE`), mode 0600.
    pub fn new() -> ChannelOptions {
        ChannelOptions::default()
    }

    /// Remove the channel's segment when this end closes (the other end keeps
    /// what it has attached until it closes too; nobody can open it any more).
    pub fn remove_on_close(&mut self, remove_on_close: bool) -> &mut Self {
        self.remove_on_close = remove_on_close;
        self
    }

    /// The options of the channel's segment.
    fn segment(&self) -> OpenOptions {
        let mut options = OpenOptions::from_object(self.object.clone());
        options.remove_on_close(self.remove_on_close);
        options
    }
}

/// Which end of the channel a handle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Sender,
    Receiver,
}

impl Role {
    /// The role's name, as messages show it.
    fn name(self) -> &'static str {
        match self {
            Role::Sender => "Sender",
            Role::Receiver => "Receiver",
        }
    }
}

/// What a side waits to do: the slow path's call names and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    Send,
    Recv,
}

impl Wait {
    fn call(self) -> &'static str {
        match self {
            Wait::Send => "channel_send",
            Wait::Recv => "channel_recv",
        }
    }

    fn try_call(self) -> &'static str {
        match self {
            Wait::Send => "channel_try_send",
            Wait::Recv => "channel_try_recv",
        }
    }

    /// Why a try-call would wait.
    fn idle(self) -> Message {
        match self {
            Wait::Send => msg!("the ring is full"),
            Wait::Recv => msg!("the ring is empty"),
        }
    }

    /// What did not happen by the deadline.
    fn missed(self, timeout: Duration) -> Message {
        match self {
            Wait::Send => msg!("the receiver made no room within {}", timeout),
            Wait::Recv => msg!("no message came within {}", timeout),
        }
    }
}

/// A side's position, alone on its cache line: written at every message.
#[repr(C, align(64))]
struct Position {
    /// Bytes this side has moved through the ring, ever: the sender's head, the receiver's tail.
    value: AtomicU64,
}

/// A side's control words, on a line of their own: written rarely, so that
/// reading the peer's (at every message) costs no cache-line transfer.
#[repr(C, align(64))]
struct Side {
    /// Bumped when this side moves while the peer sleeps: the peer's futex word.
    signal: AtomicU32,
    /// Set while this side sleeps waiting for the peer.
    sleeping: AtomicU32,
    /// This side's process, or 0.
    pid: AtomicI32,
    /// Set when this side closed the channel.
    closed: AtomicU32,
}

#[repr(C, align(64))]
struct Header {
    magic: AtomicU64,
    version: u32,
    header_size: u32,
    capacity: u64,
    head: Position,
    tail: Position,
    sender: Side,
    receiver: Side,
}

/// The header's size: the ring starts right after it.
pub const CHANNEL_HEADER_SIZE: usize = 320;
const _: () = assert!(std::mem::size_of::<Header>() == CHANNEL_HEADER_SIZE);

/// A channel end (see the module documentation).
#[derive(Debug)]
pub struct Channel {
    segment: OpenSegment,
    role: Role,
    capacity: u64,
    /// The peer's position when last read: re-read only when it says full (or empty).
    peer_position: u64,
}

// SAFETY: the header's fields are atomics or written once before the magic;
// the ring is shared memory whose use is ordered by the head and tail.
unsafe impl Send for Channel {}

fn ch_call(what: &'static str, len: usize) -> Call {
    Call::Other(msg!("{}(len={})", what, len))
}

fn corrupt(call: &'static str, reason: Message) -> Error {
    Error::new(ErrorKind::Corrupt, Call::Other(msg!("{}", call)), reason)
}

fn record_size(len: usize) -> u64 {
    8 + (len as u64).div_ceil(8) * 8
}

impl Channel {
    /// Makes a channel of `capacity` ring bytes (rounded up to 8; messages up
    /// to `capacity - 8` bytes) in a new segment for the key `options` name,
    /// and opens its `role` end. `options.size` is ignored; the segment is
    /// always created exclusively, so a live channel is never reinitialised.
    pub fn create(options: &ChannelOptions, capacity: usize, role: Role) -> Result<Channel> {
        let capacity = (capacity as u64).div_ceil(8) * 8;
        if !(16..=(1 << 40)).contains(&capacity) {
            let call = Call::Other(msg!("channel_create(capacity={})", capacity));
            let reason = msg!("the capacity must be between 16 bytes and 1 TiB");
            return Err(Error::new(ErrorKind::InvalidArgument, call, reason));
        }
        let mut options = options.segment();
        options
            .create(true)
            .exclusive(true)
            .size(CHANNEL_HEADER_SIZE + capacity as usize);
        let segment = options.open()?;
        let header = segment.as_ptr() as *mut Header;
        // SAFETY: the segment is new, ours alone, and large enough for the header;
        // the magic is written last, with Release, so openers see the rest first.
        unsafe {
            std::ptr::addr_of_mut!((*header).version).write(VERSION);
            std::ptr::addr_of_mut!((*header).header_size).write(CHANNEL_HEADER_SIZE as u32);
            std::ptr::addr_of_mut!((*header).capacity).write(capacity);
            (*header).magic.store(MAGIC, Release);
        }
        let channel = Channel {
            segment,
            role,
            capacity,
            peer_position: 0,
        };
        channel.claim("channel_create")?;
        Ok(channel)
    }

    /// Opens the `role` end of the channel in the segment `options` name,
    /// after checking its layout: a wrong or corrupt segment is refused.
    pub fn open(options: &ChannelOptions, role: Role) -> Result<Channel> {
        let segment = options.segment().open()?;
        let call = "channel_open";
        let corrupt = |reason| corrupt(call, reason);
        if segment.size() < CHANNEL_HEADER_SIZE {
            return Err(corrupt(msg!(
                "the segment holds {} bytes, too few for a channel header",
                segment.size()
            )));
        }
        let header = segment.as_ptr() as *const Header;
        // The creator may still be writing the header: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(1);
        // SAFETY: the header lies inside the segment (checked above).
        while unsafe { (*header).magic.load(Acquire) } == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        // SAFETY: as above.
        let (magic, version, header_size, capacity) = unsafe {
            (
                (*header).magic.load(Acquire),
                (*header).version,
                (*header).header_size,
                (*header).capacity,
            )
        };
        if magic != MAGIC {
            return Err(corrupt(msg!(
                "the segment does not hold a channel (magic {})",
                Arg::Hex(magic)
            )));
        }
        if version != VERSION {
            return Err(corrupt(msg!(
                "channel layout version {}; this rshm reads version {}",
                version,
                VERSION
            )));
        }
        if header_size as usize != CHANNEL_HEADER_SIZE
            || capacity % 8 != 0
            || capacity < 16
            || (CHANNEL_HEADER_SIZE as u64)
                .checked_add(capacity)
                .map_or(true, |end| end > segment.size() as u64)
        {
            return Err(corrupt(msg!(
                "inconsistent sizes: header {}, ring {}, segment {}",
                header_size,
                capacity,
                segment.size()
            )));
        }
        let mut channel = Channel {
            segment,
            role,
            capacity,
            peer_position: 0,
        };
        channel.check_positions(call)?;
        channel.peer_position = channel.peer_position_now();
        channel.claim(call)?;
        Ok(channel)
    }

    fn header(&self) -> &Header {
        // SAFETY: open/create checked that the header lies inside the mapping.
        unsafe { &*(self.segment.as_ptr() as *const Header) }
    }

    fn mine(&self) -> &Side {
        match self.role {
            Role::Sender => &self.header().sender,
            Role::Receiver => &self.header().receiver,
        }
    }

    fn peer(&self) -> &Side {
        match self.role {
            Role::Sender => &self.header().receiver,
            Role::Receiver => &self.header().sender,
        }
    }

    fn my_position(&self) -> &AtomicU64 {
        match self.role {
            Role::Sender => &self.header().head.value,
            Role::Receiver => &self.header().tail.value,
        }
    }

    fn peer_position_now(&self) -> u64 {
        match self.role {
            Role::Sender => self.header().tail.value.load(Acquire),
            Role::Receiver => self.header().head.value.load(Acquire),
        }
    }

    fn ring(&self) -> *mut u8 {
        // SAFETY: the ring follows the header inside the mapping (checked at open).
        unsafe { self.segment.as_ptr().add(CHANNEL_HEADER_SIZE) }
    }

    /// Registers this process as the role's end, unless a live process holds it.
    fn claim(&self, call: &'static str) -> Result<()> {
        // SAFETY: getpid cannot fail.
        let me = unsafe { libc::getpid() };
        let side = self.mine();
        let holder = side.pid.load(Acquire);
        if holder != 0 && alive(holder) && side.closed.load(Acquire) == 0 {
            let reason = msg!(
                "the channel's {} end is held by live process {}",
                self.role.name(),
                holder
            );
            return Err(Error::new(
                ErrorKind::Exists,
                Call::Other(msg!("{}", call)),
                reason,
            ));
        }
        side.closed.store(0, Release);
        side.pid.store(me, Release);
        Ok(())
    }

    fn check_positions(&self, call: &'static str) -> Result<()> {
        let head = self.header().head.value.load(Acquire);
        let tail = self.header().tail.value.load(Acquire);
        // The receiver may run ahead of the published head by what it read early.
        if head.abs_diff(tail) > self.capacity || tail % 8 != 0 || head % 8 != 0 {
            return Err(corrupt(
                call,
                msg!(
                    "positions head {} and tail {} do not fit a ring of {}",
                    head,
                    tail,
                    self.capacity
                ),
            ));
        }
        Ok(())
    }

    /// The ring's size in bytes; the largest message is 8 bytes less.
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The end this handle is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The segment the channel lives in.
    pub fn segment(&self) -> &OpenSegment {
        &self.segment
    }

    /// The length word of the message at position `at` (8-aligned).
    fn word(&self, at: u64) -> &AtomicU64 {
        // SAFETY: at % capacity is 8-aligned and at most capacity - 8: inside the
        // ring, which starts 64-aligned; these 8 bytes are only used atomically.
        unsafe { &*(self.ring().add((at % self.capacity) as usize) as *const AtomicU64) }
    }

    /// Copies `len` bytes into the ring at position `at`, wrapping at its end.
    ///
    /// # Safety
    /// `src` is readable for `len` bytes and `len <= capacity`.
    unsafe fn copy_in(&self, at: u64, src: *const u8, len: usize) {
        let start = (at % self.capacity) as usize;
        let first = len.min(self.capacity as usize - start);
        // SAFETY: start+first <= capacity and the rest wraps to the ring's start; the
        // range belongs to the sender until it publishes the new head.
        unsafe {
            std::ptr::copy_nonoverlapping(src, self.ring().add(start), first);
            std::ptr::copy_nonoverlapping(src.add(first), self.ring(), len - first);
        }
    }

    /// Copies `len` bytes out of the ring from position `at`, wrapping at its end.
    ///
    /// # Safety
    /// `dst` is writable for `len` bytes and `len <= capacity`.
    unsafe fn copy_out(&self, at: u64, dst: *mut u8, len: usize) {
        let start = (at % self.capacity) as usize;
        let first = len.min(self.capacity as usize - start);
        // SAFETY: as copy_in; the range belongs to the receiver until it publishes the new tail.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ring().add(start), dst, first);
            std::ptr::copy_nonoverlapping(self.ring(), dst.add(first), len - first);
        }
    }

    /// Publishes this side's new position and wakes the peer if it sleeps.
    #[inline]
    fn publish(&self, position: u64) {
        let mine = self.mine();
        self.my_position().store(position, SeqCst);
        if self.peer().sleeping.load(SeqCst) != 0 {
            mine.signal.fetch_add(1, SeqCst);
            sys::futex_wake(&mine.signal);
        }
    }

    /// The slow path of send and recv: `Closed` if the peer closed and
    /// `ready` still fails, `WouldBlock` for a zero timeout, else waits, with
    /// `TimedOut` at the end.
    fn wait_until(
        &self,
        wait: Wait,
        len: usize,
        timeout: Option<Duration>,
        ready: impl Fn() -> bool,
    ) -> Result<()> {
        let call = || ch_call(wait.call(), len);
        if self.peer().closed.load(Acquire) != 0 && !ready() {
            return Err(self.closed(call()));
        }
        if timeout == Some(Duration::ZERO) {
            return Err(Error::new(
                ErrorKind::WouldBlock,
                ch_call(wait.try_call(), len),
                wait.idle(),
            ));
        }
        if self.wait_for(wait, len, timeout.map(|t| Instant::now() + t), ready)? {
            Ok(())
        } else {
            let reason = wait.missed(timeout.unwrap_or_default());
            Err(Error::new(ErrorKind::TimedOut, call(), reason))
        }
    }

    /// The peer closed the channel.
    #[cold]
    fn closed(&self, call: Call) -> Error {
        let reason = msg!("the {} closed the channel", self.peer_name());
        Error::new(ErrorKind::Closed, call, reason)
    }

    /// The other end, in words.
    fn peer_name(&self) -> &'static str {
        match self.role {
            Role::Sender => "receiver",
            Role::Receiver => "sender",
        }
    }

    /// Waits until `ready()` holds: spins, then sleeps on the peer's signal,
    /// checking that the peer lives. `Ok(false)` on timeout.
    fn wait_for(
        &self,
        wait: Wait,
        len: usize,
        deadline: Option<Instant>,
        ready: impl Fn() -> bool,
    ) -> Result<bool> {
        for _ in 0..SPINS {
            if ready() {
                return Ok(true);
            }
            std::hint::spin_loop();
        }
        let (mine, peer) = (self.mine(), self.peer());
        loop {
            let signal = peer.signal.load(SeqCst);
            mine.sleeping.store(1, SeqCst);
            if ready() {
                mine.sleeping.store(0, SeqCst);
                return Ok(true);
            }
            if peer.closed.load(Acquire) != 0 {
                mine.sleeping.store(0, SeqCst);
                return Err(self.closed(ch_call(wait.call(), len)));
            }
            let pid = peer.pid.load(Acquire);
            if pid != 0 && !alive(pid) {
                mine.sleeping.store(0, SeqCst);
                let reason = msg!("the {} (pid {}) died", self.peer_name(), pid);
                return Err(Error::new(
                    ErrorKind::PeerDied,
                    ch_call(wait.call(), len),
                    reason,
                ));
            }
            let mut slice = LIVENESS_CHECK;
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    mine.sleeping.store(0, SeqCst);
                    return Ok(ready());
                }
                slice = slice.min(left);
            }
            let timeout = libc::timespec {
                tv_sec: 0,
                tv_nsec: slice.as_nanos() as libc::c_long,
            };
            // Woken, timed out or interrupted: the loop checks again either way.
            sys::futex_wait(&peer.signal, signal, Some(&timeout));
            mine.sleeping.store(0, SeqCst);
        }
    }

    /// Sends `message` (at most `capacity - 8` bytes), waiting for room at most
    /// `timeout` (`None`: forever; `Some(ZERO)`: not at all, `WouldBlock`).
    pub fn send(&mut self, message: &[u8], timeout: Option<Duration>) -> Result<()> {
        let len = message.len();
        if self.role != Role::Sender {
            let reason = msg!("this is the receiving end");
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                ch_call("channel_send", len),
                reason,
            ));
        }
        let need = record_size(len);
        if len > u32::MAX as usize || need > self.capacity {
            let reason = msg!(
                "a message may hold at most {} bytes in this channel",
                self.capacity - 8
            );
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                ch_call("channel_send", len),
                reason,
            ));
        }
        let head = self.my_position().load(Relaxed);
        // Free bytes by a tail read earlier (the real tail can only be further on).
        let free = |tail: u64| self.capacity.saturating_sub(head.saturating_sub(tail));
        if free(self.peer_position) < need {
            self.peer_position = self.peer_position_now();
        }
        let tail = &self.header().tail.value;
        let room = || free(tail.load(Acquire)) >= need;
        if free(self.peer_position) < need {
            self.wait_until(Wait::Send, len, timeout, room)?;
        }
        if free(self.peer_position) < need {
            self.peer_position = self.peer_position_now();
        }
        let next = head + need;
        // The word after this message: zero it when it lies in free space (old
        // bytes live there); when the ring is exactly full it is the receiver's
        // unread word, which the receiver zeroes once read.
        if self.capacity - (next - self.peer_position) < 8 {
            self.peer_position = self.peer_position_now();
        }
        // SAFETY: the record fits the free part of the ring (room), which only the sender writes.
        unsafe { self.copy_in(head + 8, message.as_ptr(), len) };
        if self.capacity - (next - self.peer_position) >= 8 {
            self.word(next).store(0, Relaxed);
        }
        self.word(head).store(len as u64 + 1, Release);
        self.publish(next);
        Ok(())
    }

    /// Receives the next message into `buf`, returning its length, waiting at
    /// most `timeout`. A message longer than `buf` stays in the channel:
    /// `OutOfBounds` ([`pending_len`](Self::pending_len) gives its length).
    pub fn recv(&mut self, buf: &mut [u8], timeout: Option<Duration>) -> Result<usize> {
        // SAFETY: initialised bytes are valid MaybeUninit<u8>s, and recv_uninit writes only bytes.
        let buf = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
        self.recv_uninit(buf, timeout)
    }

    /// [`recv`](Self::recv) into a buffer that need not be initialised (a C caller's).
    pub fn recv_uninit(
        &mut self,
        buf: &mut [MaybeUninit<u8>],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        let cap = buf.len();
        if self.role != Role::Receiver {
            let reason = msg!("this is the sending end");
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                ch_call("channel_recv", cap),
                reason,
            ));
        }
        let tail = self.my_position().load(Relaxed);
        let word = self.word(tail);
        let head = &self.header().head.value;
        // The word is what to poll (one cache line); the head is what a sleeper must
        // check, and it may still lag behind our tail after we read a message early.
        let ready = || word.load(Acquire) != 0 || head.load(SeqCst) > tail;
        if word.load(Acquire) == 0 {
            self.wait_until(Wait::Recv, cap, timeout, ready)?;
        }
        // The sender sets the word before it moves the head: either way the word is set now.
        let len = self.message_len(word.load(Acquire), cap)?;
        if len > cap {
            let reason = msg!(
                "the next message holds {} bytes, more than the buffer's {}; it stays in the channel",
                len,
                cap
            );
            return Err(Error::new(
                ErrorKind::OutOfBounds,
                ch_call("channel_recv", cap),
                reason,
            ));
        }
        // SAFETY: len <= cap, and the record is published (checked above).
        unsafe { self.copy_out(tail + 8, buf.as_mut_ptr().cast(), len) };
        word.store(0, Relaxed);
        self.publish(tail + record_size(len));
        Ok(len)
    }
}

impl Channel {
    /// The length of the message a length word announces, checked against the ring.
    fn message_len(&self, word: u64, cap: usize) -> Result<usize> {
        let length = word.wrapping_sub(1);
        if length > u32::MAX as u64 || record_size(length as usize) > self.capacity {
            let reason = msg!(
                "a message claims {} bytes, more than the ring's {}",
                length,
                self.capacity
            );
            return Err(Error::new(
                ErrorKind::Corrupt,
                ch_call("channel_recv", cap),
                reason,
            ));
        }
        Ok(length as usize)
    }

    /// The length of the next message, if one is waiting (receiving end only).
    pub fn pending_len(&self) -> Option<usize> {
        if self.role != Role::Receiver {
            return None;
        }
        match self.word(self.my_position().load(Relaxed)).load(Acquire) {
            0 => None,
            word => self.message_len(word, 0).ok(),
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        let mine = self.mine();
        mine.closed.store(1, SeqCst);
        mine.pid.store(0, Release);
        // Wake a sleeping peer so that it sees the close at once.
        mine.signal.fetch_add(1, SeqCst);
        sys::futex_wake(&mine.signal);
    }
}
