//! `Channel`: a single-producer single-consumer message channel in one
//! segment. Lock-free on the fast path; a side with nothing to do spins
//! briefly, then sleeps on a futex in the segment, and its peer wakes it only
//! when it sleeps.
//!
//! Layout (version 3): a header (magic, version, sizes), the sender's cache
//! line (head), the receiver's (tail), a line of control words for each side,
//! then the ring. Each message is an 8-byte word holding its length + 1, then
//! its bytes, padded to 8; a message may wrap around the ring's end. The
//! sender writes the word last (Release), so the receiver polls the word
//! itself: one cache line brings it both the news and a small message, and it
//! may read a message before the sender publishes the head. The receiver
//! zeroes each word it consumes; the sender zeroes the word after its message
//! when that lies in free space (old bytes there could otherwise pass for a word).
//!
//! The segment is untrusted input: the other end, or any process that can
//! write the segment, may write anything into it. Each end keeps its own
//! position in private memory and never reads it back; the peer's position is
//! a claim, checked (aligned, within one ring of ours, never moving back, below
//! 2^63) before it is used; a length word is checked against the ring. A bad
//! claim fails the call with `Corrupt`; no byte outside the ring is ever read
//! or written, and every wait that was given a timeout ends in time.

use crate::error::{msg, Arg, Call, Error, ErrorKind, Message, Result};
use crate::options::{object_builders, ObjectOptions};
use crate::process::{pid_namespace, Liveness, PackedId, ProcessId};
use crate::segment::open::{OpenOptions, OpenSegment};
use crate::sys;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

/// "RSHMCHAN", written last when a channel is made.
const MAGIC: u64 = 0x5253_484d_4348_414e;
const VERSION: u32 = 3;
/// How often a sleeping side wakes to check that its peer still lives.
const LIVENESS_CHECK: Duration = Duration::from_millis(50);
/// How often a sender that is sending checks that the receiver still lives:
/// a receiver that dies is noticed by the first send this long after the
/// last check (the sends in between succeed into the ring).
pub const RECEIVER_PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// Busy polls before sleeping: enough to catch a peer that answers within microseconds.
const SPINS: u32 = 4000;
/// Positions at or above this are refused (2^63 bytes at 10 GB/s is 29 years).
const POSITION_LIMIT: u64 = 1 << 63;

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

    /// The other end, in words.
    fn peer_name(self) -> &'static str {
        match self {
            Role::Sender => "receiver",
            Role::Receiver => "sender",
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
    /// The process holding this end ([`ProcessId::pack`]), or 0; claimed with a compare-and-swap.
    holder: AtomicU64,
    /// The holder's PID namespace (written after it claimed the end).
    namespace: AtomicU64,
    /// The holder word again, written after `namespace`: a namespace record is
    /// the current holder's only if this equals `holder`.
    namespace_of: AtomicU64,
    /// Bumped when this side moves while the peer sleeps: the peer's futex word.
    signal: AtomicU32,
    /// Set while this side sleeps waiting for the peer.
    sleeping: AtomicU32,
    /// Set when this side closed the channel.
    closed: AtomicU32,
}

#[repr(C, align(64))]
struct Header {
    magic: AtomicU64,
    version: AtomicU32,
    header_size: AtomicU32,
    capacity: AtomicU64,
    head: Position,
    tail: Position,
    sender: Side,
    receiver: Side,
}

/// The header's size: the ring starts right after it.
pub const CHANNEL_HEADER_SIZE: usize = 320;
const _: () = assert!(std::mem::size_of::<Header>() == CHANNEL_HEADER_SIZE);

/// A channel end (see the module documentation). One end is used by one
/// thread at a time (`send` and `recv` take `&mut self`).
///
/// A process that can write the segment may corrupt the messages and make
/// calls fail (with [`ErrorKind::Corrupt`], after a bounded time when a
/// timeout was given); it can never make this end read or write outside the
/// ring, crash the process, write into private memory, or hang a call that
/// was given a timeout.
#[derive(Debug)]
pub struct Channel {
    segment: OpenSegment,
    role: Role,
    capacity: u64,
    /// This end's position (the sender's head, the receiver's tail), kept in
    /// private memory: the segment's copy is what the peer reads, never trusted back.
    position: u64,
    /// The peer's position when last read and checked: re-read only when it says full.
    peer_position: u64,
    /// When the sender last checked that the receiver lives (coarse monotonic ns).
    last_probe: u64,
}

// SAFETY: every header field is an atomic; the ring is shared memory whose use
// is ordered by the positions, and a Channel is used by one thread at a time.
unsafe impl Send for Channel {}

fn ch_call(what: &'static str, len: usize) -> Call {
    Call::Other(msg!("{}(len={})", what, len))
}

fn named_call(call: &'static str) -> Call {
    Call::Other(msg!("{}", call))
}

fn corrupt(call: Call, reason: Message) -> Error {
    Error::new(ErrorKind::Corrupt, call, reason)
}

fn record_size(len: usize) -> u64 {
    8 + (len as u64).div_ceil(8) * 8
}

impl Channel {
    /// Makes a channel of `capacity` ring bytes (rounded up to 8; messages up
    /// to `capacity - 8` bytes) in a new segment for the key `options` name,
    /// and opens its `role` end. The segment is always created exclusively,
    /// so a live channel is never reinitialised.
    pub fn create(options: &ChannelOptions, capacity: usize, role: Role) -> Result<Channel> {
        let rounded = (capacity as u64).checked_next_multiple_of(8);
        let Some(ring) = rounded.filter(|ring| (16..=(1 << 40)).contains(ring)) else {
            let call = Call::Other(msg!("channel_create(capacity={})", capacity));
            let reason = msg!("the capacity must be between 16 bytes and 1 TiB");
            return Err(Error::new(ErrorKind::InvalidArgument, call, reason));
        };
        let mut options = options.segment();
        options
            .create(true)
            .exclusive(true)
            .size(CHANNEL_HEADER_SIZE + ring as usize);
        let segment = options.open()?;
        let header = segment.as_ptr() as *const Header;
        // SAFETY: the segment is new and large enough for the header; the
        // magic is written last, with Release, so openers see the rest first.
        unsafe {
            (*header).version.store(VERSION, Relaxed);
            (*header)
                .header_size
                .store(CHANNEL_HEADER_SIZE as u32, Relaxed);
            (*header).capacity.store(ring, Relaxed);
            (*header).magic.store(MAGIC, Release);
        }
        Channel::claim(segment, role, ring, named_call("channel_create"))
    }

    /// Opens the `role` end of the channel in the segment `options` name,
    /// after checking its layout: a wrong or corrupt segment is refused, and
    /// so is an end that a live process holds.
    pub fn open(options: &ChannelOptions, role: Role) -> Result<Channel> {
        let segment = options.segment().open()?;
        let call = || named_call("channel_open");
        if segment.size() < CHANNEL_HEADER_SIZE {
            let reason = msg!(
                "the segment holds {} bytes, too few for a channel header",
                segment.size()
            );
            return Err(corrupt(call(), reason));
        }
        let header = segment.as_ptr() as *const Header;
        // The creator may still be writing the header: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(1);
        // SAFETY: the header lies inside the segment (checked above); its fields are atomics.
        let header = unsafe { &*header };
        while header.magic.load(Acquire) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let magic = header.magic.load(Acquire);
        let version = header.version.load(Relaxed);
        let header_size = header.header_size.load(Relaxed);
        let capacity = header.capacity.load(Relaxed);
        if magic != MAGIC {
            let reason = msg!(
                "the segment does not hold a channel (magic {})",
                Arg::Hex(magic)
            );
            return Err(corrupt(call(), reason));
        }
        if version != VERSION {
            let reason = msg!(
                "channel layout version {}; this rshm reads version {}",
                version,
                VERSION
            );
            return Err(corrupt(call(), reason));
        }
        if header_size as usize != CHANNEL_HEADER_SIZE
            || capacity % 8 != 0
            || capacity < 16
            || (CHANNEL_HEADER_SIZE as u64)
                .checked_add(capacity)
                .is_none_or(|end| end > segment.size() as u64)
        {
            let reason = msg!(
                "inconsistent sizes: header {}, ring {}, segment {}",
                header_size,
                capacity,
                segment.size()
            );
            return Err(corrupt(call(), reason));
        }
        let mut channel = Channel::claim(segment, role, capacity, call())?;
        let (head, tail) = channel.checked_positions(call())?;
        (channel.position, channel.peer_position) = match role {
            Role::Sender => (head, tail),
            Role::Receiver => (tail, head),
        };
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

    fn ring(&self) -> *mut u8 {
        // SAFETY: the ring follows the header inside the mapping (checked at open).
        unsafe { self.segment.as_ptr().add(CHANNEL_HEADER_SIZE) }
    }

    /// Claims the `role` end of the channel in `segment` with a
    /// compare-and-swap: exactly one of several openers wins and becomes the
    /// end; the others get `Exists`, naming the holder. An end whose holder is
    /// dead (judged in this PID namespace only) is taken over.
    fn claim(segment: OpenSegment, role: Role, capacity: u64, call: Call) -> Result<Channel> {
        let me = ProcessId::this_process().pack();
        // SAFETY: the caller checked that the header lies inside the segment; its fields are atomics.
        let header = unsafe { &*(segment.as_ptr() as *const Header) };
        let side = match role {
            Role::Sender => &header.sender,
            Role::Receiver => &header.receiver,
        };
        let mut current = 0;
        loop {
            match side.holder.compare_exchange(current, me, AcqRel, Acquire) {
                Ok(_) => break,
                Err(holder) if holder == current => {}
                Err(holder) => match holder_liveness(side, holder) {
                    Liveness::Dead => current = holder,
                    _ => {
                        let reason = msg!(
                            "the channel's {} end is held by process {}, which is not known to be gone",
                            role.name(),
                            PackedId::from_word(holder).id()
                        );
                        return Err(Error::new(ErrorKind::Exists, call, reason));
                    }
                },
            }
        }
        side.namespace.store(pid_namespace(), Relaxed);
        side.namespace_of.store(me, Release);
        side.closed.store(0, SeqCst);
        Ok(Channel {
            segment,
            role,
            capacity,
            position: 0,
            peer_position: 0,
            last_probe: sys::coarse_now_ns(),
        })
    }

    /// The head and tail as the segment holds them, checked: aligned, below
    /// 2^63, within one ring of each other (the receiver may be one message
    /// ahead of the published head).
    fn checked_positions(&self, call: Call) -> Result<(u64, u64)> {
        let head = self.header().head.value.load(Acquire);
        let tail = self.header().tail.value.load(Acquire);
        if head.abs_diff(tail) > self.capacity
            || tail % 8 != 0
            || head % 8 != 0
            || head >= POSITION_LIMIT
            || tail >= POSITION_LIMIT
        {
            let reason = msg!(
                "positions head {} and tail {} do not fit a ring of {}",
                head,
                tail,
                self.capacity
            );
            return Err(corrupt(call, reason));
        }
        Ok((head, tail))
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

    /// Removes the channel's segment (`IPC_RMID`): nobody can open it any
    /// more, and its memory goes when both ends have closed.
    pub fn remove(&self) -> Result<()> {
        self.segment.remove()
    }

    /// The length word of the message at position `at` (8-aligned).
    fn word(&self, at: u64) -> &AtomicU64 {
        debug_assert!(at % 8 == 0);
        // SAFETY: at is a private, 8-aligned position, so at % capacity is 8-aligned and at
        // most capacity - 8: inside the ring, which starts 64-aligned; these 8 bytes are
        // only used atomically.
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

    /// Takes `position` as this end's and publishes it; wakes the peer if it sleeps.
    #[inline]
    fn publish(&mut self, position: u64) {
        self.position = position;
        self.my_position().store(position, SeqCst);
        let (mine, peer) = (self.mine(), self.peer());
        if peer.sleeping.load(SeqCst) != 0 {
            mine.signal.fetch_add(1, SeqCst);
            sys::futex_wake(&mine.signal);
        }
    }

    /// `Corrupt` unless `need` more bytes keep this end's position below 2^63.
    fn check_limit(&self, call: Call, need: u64) -> Result<()> {
        if self.position + need >= POSITION_LIMIT {
            let reason = msg!("the channel has carried 2^63 bytes; positions would overflow");
            return Err(corrupt(call, reason));
        }
        Ok(())
    }

    /// The receiver's tail, read and checked: aligned, never ahead of what
    /// this sender wrote, never behind what it claimed before, at most one
    /// ring behind.
    fn read_tail(&self, call: impl Fn() -> Call) -> Result<u64> {
        let tail = self.header().tail.value.load(Acquire);
        if tail % 8 != 0
            || tail > self.position
            || tail < self.peer_position
            || self.position - tail > self.capacity
        {
            let reason = msg!(
                "the receiver claims tail {}, which does not fit head {} and its last tail {} in a ring of {}",
                tail,
                self.position,
                self.peer_position,
                self.capacity
            );
            return Err(corrupt(call(), reason));
        }
        Ok(tail)
    }

    /// The state of the peer: `Closed` or `PeerDied` as an error, else fine.
    fn check_peer(&self, call: Call) -> Result<()> {
        let peer = self.peer();
        if peer.closed.load(Acquire) != 0 {
            return Err(self.closed(call));
        }
        let holder = peer.holder.load(Acquire);
        if holder != 0 && holder_liveness(peer, holder) == Liveness::Dead {
            let reason = msg!(
                "the {} (pid {}) died",
                self.role.peer_name(),
                PackedId::from_word(holder).id()
            );
            return Err(Error::new(ErrorKind::PeerDied, call, reason));
        }
        Ok(())
    }

    /// The peer closed the channel.
    #[cold]
    fn closed(&self, call: Call) -> Error {
        let reason = msg!("the {} closed the channel", self.role.peer_name());
        Error::new(ErrorKind::Closed, call, reason)
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
            if let Err(error) = self.check_peer(ch_call(wait.call(), len)) {
                mine.sleeping.store(0, SeqCst);
                return Err(error);
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
    /// `Closed` as soon as the receiver closed; `PeerDied` once it is seen
    /// dead, which a send notices at most [`RECEIVER_PROBE_INTERVAL`] after
    /// its previous check, whether or not the ring is full.
    pub fn send(&mut self, message: &[u8], timeout: Option<Duration>) -> Result<()> {
        let len = message.len();
        let call = || ch_call("channel_send", len);
        if self.role != Role::Sender {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                call(),
                msg!("this is the receiving end"),
            ));
        }
        let need = record_size(len);
        if len > u32::MAX as usize || need > self.capacity {
            let reason = msg!(
                "a message may hold at most {} bytes in this channel",
                self.capacity - 8
            );
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        }
        self.check_limit(call(), need)?;
        if self.peer().closed.load(Acquire) != 0 {
            return Err(self.closed(call()));
        }
        let now = sys::coarse_now_ns();
        if now.wrapping_sub(self.last_probe) >= RECEIVER_PROBE_INTERVAL.as_nanos() as u64 {
            self.last_probe = now;
            self.check_peer(call())?;
        }
        let head = self.position;
        // Free bytes by a tail read earlier (the real tail can only be further on).
        let free = |tail: u64| self.capacity - (head - tail);
        if free(self.peer_position) < need {
            self.peer_position = self.read_tail(call)?;
        }
        if free(self.peer_position) < need {
            let tail = &self.header().tail.value;
            // A bogus tail only wakes this wait; read_tail checks it below.
            let room = || {
                self.capacity
                    .saturating_sub(head.saturating_sub(tail.load(Acquire)))
                    >= need
            };
            self.wait_until(Wait::Send, len, timeout, room)?;
            self.peer_position = self.read_tail(call)?;
        }
        let next = head + need;
        // The word after this message: zero it when it lies in free space (old
        // bytes live there); when the ring is exactly full it is the receiver's
        // unread word, which the receiver zeroes once read.
        if self.capacity - (next - self.peer_position) < 8 {
            self.peer_position = self.read_tail(call)?;
        }
        // SAFETY: the record fits the free part of the ring, which only the sender writes.
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
        let call = || ch_call("channel_recv", cap);
        if self.role != Role::Receiver {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                call(),
                msg!("this is the sending end"),
            ));
        }
        let tail = self.position;
        let word = self.word(tail);
        if word.load(Acquire) == 0 {
            let head = &self.header().head.value;
            // Spinning polls the word alone (one cache line); a sleeper also checks
            // the head, which pairs with the sender's publish against a lost wakeup.
            // A bogus head only wakes this wait: an empty word is then Corrupt below.
            let ready = || word.load(Acquire) != 0 || head.load(SeqCst) > tail;
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
            return Err(Error::new(ErrorKind::OutOfBounds, call(), reason));
        }
        let need = record_size(len);
        self.check_limit(call(), need)?;
        // SAFETY: len <= cap, and the record lies in the ring from the private, aligned tail.
        unsafe { self.copy_out(tail + 8, buf.as_mut_ptr().cast(), len) };
        word.store(0, Relaxed);
        self.publish(tail + need);
        Ok(len)
    }

    /// The length of the message a length word announces, checked against the ring.
    fn message_len(&self, word: u64, cap: usize) -> Result<usize> {
        let length = word.wrapping_sub(1);
        if length > u32::MAX as u64 || record_size(length as usize) > self.capacity {
            let reason = msg!(
                "a message claims {} bytes, more than the ring's {}",
                length,
                self.capacity
            );
            return Err(corrupt(ch_call("channel_recv", cap), reason));
        }
        Ok(length as usize)
    }

    /// The length of the next message, if one is waiting (receiving end only).
    pub fn pending_len(&self) -> Option<usize> {
        if self.role != Role::Receiver {
            return None;
        }
        match self.word(self.position).load(Acquire) {
            0 => None,
            word => self.message_len(word, 0).ok(),
        }
    }
}

/// Whether the holder `holder` of `side` lives. Its namespace record counts
/// only if it is its own (written after it claimed); a holder in another PID
/// namespace, or one whose record is missing, is never judged dead.
fn holder_liveness(side: &Side, holder: u64) -> Liveness {
    if side.namespace_of.load(Acquire) != holder || side.namespace.load(Relaxed) != pid_namespace()
    {
        return Liveness::Unknown;
    }
    PackedId::from_word(holder).liveness()
}

impl Drop for Channel {
    fn drop(&mut self) {
        let mine = self.mine();
        mine.closed.store(1, SeqCst);
        // Give the end up, unless another process took it over already.
        let me = ProcessId::this_process().pack();
        let _ = mine.holder.compare_exchange(me, 0, AcqRel, Relaxed);
        // Wake a sleeping peer so that it sees the close at once.
        mine.signal.fetch_add(1, SeqCst);
        sys::futex_wake(&mine.signal);
    }
}
