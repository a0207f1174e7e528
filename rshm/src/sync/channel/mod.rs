//! `Channel`: a single-producer single-consumer message channel in one
//! segment. Lock-free on the fast path; a side with nothing to do spins
//! briefly, then sleeps on a futex in the segment, and its peer wakes it only
//! when it sleeps.
//!
//! Layout (version 4, in `layout`): a header (magic, version, sizes), the
//! sender's cache line (head), the receiver's (tail), a line of control words
//! for each side, then the ring. Each message is an 8-byte word holding its
//! length + 1, then its bytes, padded to 8. A message of up to half the ring
//! lies in one piece (after a skip marker when it would cross the ring's end),
//! so that it can be lent in place (`lend`: reserve and commit, peek and
//! release); a longer one, which only `send` takes, wraps around the end. The
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

mod broadcast;
mod broadcast_layout;
mod layout;
mod lend;
mod lending;
mod many;
mod many_layout;
mod pacing;
mod party;
mod ring;
mod shape_header;

pub use layout::CHANNEL_HEADER_SIZE;
pub use lend::{Peeked, Reservation};
pub use party::Shape;

use crate::error::{msg, Arg, Call, Error, ErrorKind, Message, Result};
use crate::liveness::{judge_recorded, pid_namespace, Liveness, PackedId, ProcessId};
use crate::options::{max_peers, object_builders, ObjectOptions};
use crate::segment::open::{OpenOptions, OpenSegment};
use crate::sync::fence;
use crate::sys;
use layout::{
    largest_whole_record, record_size, Header, Placement, Side, MAGIC, POSITION_LIMIT, SKIP,
    VERSION,
};
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::time::{Duration, Instant};

/// How often a sleeping side wakes to check that its peer still lives.
const LIVENESS_CHECK: Duration = Duration::from_millis(50);
/// How long a side sleeps at a time where the kernel refuses the heavy
/// fence (`fence`): a wakeup lost then costs at most this.
const UNFENCED_SLEEP: Duration = Duration::from_millis(1);
/// How often a sender that is sending checks that the receiver still lives:
/// a receiver that dies is noticed by the first send this long after the
/// last check (the sends in between succeed into the ring).
pub const RECEIVER_PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// Busy polls before sleeping: enough to catch a peer that answers within microseconds.
const SPINS: u32 = 4000;
/// Spins between two looks at the clock while spinning (a few microseconds).
const DEADLINE_EVERY: u32 = 256;
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
    many_senders: bool,
    broadcast: bool,
    max_peers: u32,
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

    /// Make (or expect, at open) a many-senders channel: up to `max_peers`
    /// senders, one receiver. Not together with [`broadcast`](Self::broadcast).
    pub fn many_senders(&mut self, many_senders: bool) -> &mut Self {
        self.many_senders = many_senders;
        self
    }

    /// Make (or expect, at open) a broadcast channel: one sender, up to
    /// `max_peers` receivers. Not together with [`many_senders`](Self::many_senders).
    ///
    /// ```
    /// use rshm::{Channel, ChannelOptions, ErrorKind, Key, Role, Shape};
    ///
    /// let key = Key::from_raw(0x52534362);
    /// let mut options = ChannelOptions::new();
    /// options.key(key).broadcast(true).max_peers(4).remove_on_close(true);
    /// let mut tx = Channel::create(&options, 1024, Role::Sender)?;
    /// let mut rx = Channel::open(ChannelOptions::new().key(key), Role::Receiver)?; // the shape is read
    /// assert_eq!(rx.shape(), Shape::Broadcast);
    /// for i in 0u32..100 {
    ///     tx.send(&i.to_le_bytes(), None)?;                  // never waits for receivers
    /// }
    /// let mut buf = [0u8; 4];
    /// let lagged = rx.recv(&mut buf, None).unwrap_err();     // a ring behind: nothing consumed
    /// assert_eq!(lagged.kind(), ErrorKind::Lagged);
    /// rx.recv(&mut buf, None)?;                               // the oldest message still there
    /// assert_eq!(u32::from_le_bytes(buf) as u64, rx.missed());
    /// # Ok::<(), rshm::Error>(())
    /// ```
    pub fn broadcast(&mut self, broadcast: bool) -> &mut Self {
        self.broadcast = broadcast;
        self
    }

    /// The most senders (many-senders) or receivers (broadcast) a new
    /// many-party channel takes; 0 (the default) means 64. Only a many-party
    /// create takes a non-zero value.
    pub fn max_peers(&mut self, max_peers: u32) -> &mut Self {
        self.max_peers = max_peers;
        self
    }

    /// The shape these options ask for (`None`: a pair, or whatever an open finds).
    fn shape(&self, call: impl Fn() -> Call) -> Result<Option<Shape>> {
        match (self.many_senders, self.broadcast) {
            (true, true) => Err(Error::new(
                ErrorKind::InvalidArgument,
                call(),
                msg!("a channel is many-senders or broadcast, not both"),
            )),
            (true, false) => Ok(Some(Shape::ManySenders)),
            (false, true) => Ok(Some(Shape::Broadcast)),
            (false, false) => Ok(None),
        }
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
    Reserve,
    Recv,
    Peek,
}

impl Wait {
    /// The call that waits, as its errors name it (`len`: the message's
    /// length, or the buffer's for a receive).
    fn call(self, len: usize) -> Call {
        match self {
            Wait::Send => ch_call("channel_send", len),
            Wait::Reserve => ch_call("channel_reserve", len),
            Wait::Recv => ch_call("channel_recv", len),
            Wait::Peek => named_call("channel_peek"),
        }
    }

    /// The call that was asked not to wait (a zero timeout).
    fn try_call(self, len: usize) -> Call {
        match self {
            Wait::Send => ch_call("channel_try_send", len),
            Wait::Recv => ch_call("channel_try_recv", len),
            Wait::Reserve | Wait::Peek => self.call(len),
        }
    }

    /// Why a try-call would wait.
    fn idle(self) -> Message {
        match self {
            Wait::Send | Wait::Reserve => msg!("the ring is full"),
            Wait::Recv | Wait::Peek => msg!("the ring is empty"),
        }
    }

    /// What did not happen by the deadline.
    /// What is left of a wait's `timeout` (`None`: no limit), or the error
    /// that ends the wait: `WouldBlock` for a try (a zero timeout), `TimedOut`
    /// once `deadline` has passed.
    fn time_left(
        self,
        len: usize,
        timeout: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Result<Option<Duration>> {
        if timeout == Some(Duration::ZERO) {
            return Err(Error::new(
                ErrorKind::WouldBlock,
                self.try_call(len),
                self.idle(),
            ));
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|left| left.is_zero()) {
            let reason = self.missed(timeout.unwrap_or_default());
            return Err(Error::new(ErrorKind::TimedOut, self.call(len), reason));
        }
        Ok(left)
    }

    fn missed(self, timeout: Duration) -> Message {
        match self {
            Wait::Send | Wait::Reserve => msg!("the receiver made no room within {}", timeout),
            Wait::Recv | Wait::Peek => msg!("no message came within {}", timeout),
        }
    }
}

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
    /// Where `position` lies in the ring (`position % capacity`), kept along
    /// with it so that the hot path finds offsets without a division.
    offset: u64,
    /// The peer's position when last read and checked: re-read only when it says full.
    peer_position: u64,
    /// When the sender last checked that the receiver lives (coarse monotonic ns).
    last_probe: u64,
    /// What this end has lent out of the ring (zero-copy), if anything.
    lent: lend::Lent,
    /// How a receiving end keeps out of a streaming sender's way (`pacing`).
    pacing: pacing::Pacing,
    /// A many-party channel's end (`None` for a pair, whose calls never look further).
    party: Option<Box<party::Party>>,
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

impl Channel {
    /// Makes a channel of `capacity` ring bytes (rounded up to 8; messages up
    /// to `capacity - 8` bytes) in a new segment for the key `options` name,
    /// and opens its `role` end. The segment is always created exclusively,
    /// so a live channel is never reinitialised.
    ///
    /// With [`many_senders`](ChannelOptions::many_senders) or
    /// [`broadcast`](ChannelOptions::broadcast), makes that shape instead:
    /// `capacity` is then each sender's ring (many-senders) or the one ring
    /// (broadcast).
    pub fn create(options: &ChannelOptions, capacity: usize, role: Role) -> Result<Channel> {
        let call = || Call::Other(msg!("channel_create(capacity={})", capacity));
        let shape = options.shape(call)?;
        let slots = max_peers(options.max_peers, shape.is_some(), call)?;
        if let Some(shape) = shape {
            return Channel::create_party(options, capacity, role, shape, slots);
        }
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
    ///
    /// The shape is read from the segment; options that name one
    /// ([`many_senders`](ChannelOptions::many_senders),
    /// [`broadcast`](ChannelOptions::broadcast)) must match it
    /// (`InvalidArgument` naming the shape). `NoSpace` when every slot of a
    /// many-party channel's side is held.
    pub fn open(options: &ChannelOptions, role: Role) -> Result<Channel> {
        let call = || named_call("channel_open");
        let expected = options.shape(call)?;
        max_peers(options.max_peers, false, call)?;
        let segment = options.segment().open()?;
        if segment.size() < 8 {
            let reason = msg!(
                "the segment holds {} bytes, too few for a channel",
                segment.size()
            );
            return Err(corrupt(call(), reason));
        }
        // SAFETY: the segment holds at least 8 bytes, 8-aligned at its start; only read atomically.
        let magic = unsafe { &*(segment.as_ptr() as *const AtomicU64) };
        // The creator may still be writing the header: give it a moment.
        let deadline = Instant::now() + Duration::from_secs(1);
        while magic.load(Acquire) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let shape = match magic.load(Acquire) {
            many_layout::MAGIC => Shape::ManySenders,
            broadcast_layout::MAGIC => Shape::Broadcast,
            _ => Shape::Pair,
        };
        if let Some(expected) = expected.filter(|&expected| expected != shape) {
            let reason = msg!(
                "the channel is a {} channel, not a {} one",
                shape.name(),
                expected.name()
            );
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        }
        if shape != Shape::Pair {
            return Channel::open_party(segment, role, shape);
        }
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
        channel.offset = channel.position % capacity;
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
        // SAFETY: the caller checked that the header lies inside the segment; its fields are atomics.
        let header = unsafe { &*(segment.as_ptr() as *const Header) };
        let side = match role {
            Role::Sender => &header.sender,
            Role::Receiver => &header.receiver,
        };
        claim_end(side, role, || call)?;
        side.closed.store(0, SeqCst);
        fence::register();
        Ok(Channel {
            segment,
            role,
            capacity,
            position: 0,
            offset: 0,
            peer_position: 0,
            last_probe: sys::coarse_now_ns(),
            lent: lend::Lent::Nothing,
            pacing: pacing::Pacing::new(),
            party: None,
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

    /// The ring's size in bytes (each sender's ring, for many senders). The
    /// largest message is 8 bytes less (a pair, many senders), or half the
    /// ring less 16 (broadcast).
    pub fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The end this handle is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The channel's shape.
    pub fn shape(&self) -> Shape {
        self.party
            .as_deref()
            .map_or(Shape::Pair, party::Party::shape)
    }

    /// Messages a broadcast receiver lost by falling a ring behind (each
    /// loss reported once as `Lagged`), since it opened; 0 for every other end.
    pub fn missed(&self) -> u64 {
        self.party.as_deref().map_or(0, party::Party::missed)
    }

    /// Makes a many-party channel (see [`create`](Self::create)).
    fn create_party(
        options: &ChannelOptions,
        capacity: usize,
        role: Role,
        shape: Shape,
        slots: u32,
    ) -> Result<Channel> {
        let call = || Call::Other(msg!("channel_create(capacity={})", capacity));
        let smallest = if shape == Shape::Broadcast { 64 } else { 16 };
        let rounded = (capacity as u64).checked_next_multiple_of(8);
        let ring = rounded.filter(|ring| (smallest..=(1 << 40)).contains(ring));
        let size = ring.and_then(|ring| match shape {
            Shape::Broadcast => broadcast_layout::segment_size(slots, ring),
            _ => many_layout::segment_size(slots, ring),
        });
        let (Some(ring), Some(size)) = (ring, size.filter(|&size| size <= (1 << 41))) else {
            let reason = msg!(
                "the capacity must be between {} bytes and 1 TiB, and its {} rings at most 2 TiB in all",
                smallest,
                if shape == Shape::Broadcast { 1 } else { slots }
            );
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        };
        let mut segment_options = options.segment();
        segment_options
            .create(true)
            .exclusive(true)
            .size(size as usize);
        let segment = segment_options.open()?;
        let base = segment.as_ptr();
        let party = match shape {
            Shape::Broadcast => {
                let geometry = broadcast::Geometry::init(base, slots, ring);
                match role {
                    Role::Sender => {
                        party::Party::BroadcastSender(broadcast::Sender::claim(geometry, call)?)
                    }
                    Role::Receiver => {
                        party::Party::BroadcastReceiver(broadcast::Receiver::claim(geometry, call)?)
                    }
                }
            }
            _ => {
                let geometry = many::Geometry::init(base, size as usize, slots, ring);
                match role {
                    Role::Sender => party::Party::ManySender(many::Sender::claim(geometry, call)?),
                    Role::Receiver => {
                        party::Party::ManyReceiver(many::Receiver::claim(geometry, call)?)
                    }
                }
            }
        };
        Ok(Channel::with_party(segment, role, ring, party))
    }

    /// Opens the `role` end of the many-party channel in `segment`.
    fn open_party(segment: OpenSegment, role: Role, shape: Shape) -> Result<Channel> {
        let call = || named_call("channel_open");
        let (base, size) = (segment.as_ptr(), segment.size());
        let (party, capacity) = match shape {
            Shape::Broadcast => {
                let geometry = broadcast::Geometry::read(base, size, call)?;
                let capacity = geometry.capacity();
                let party = match role {
                    Role::Sender => {
                        party::Party::BroadcastSender(broadcast::Sender::claim(geometry, call)?)
                    }
                    Role::Receiver => {
                        party::Party::BroadcastReceiver(broadcast::Receiver::claim(geometry, call)?)
                    }
                };
                (party, capacity)
            }
            _ => {
                let geometry = many::Geometry::read(base, size, call)?;
                let capacity = geometry.capacity();
                let party = match role {
                    Role::Sender => party::Party::ManySender(many::Sender::claim(geometry, call)?),
                    Role::Receiver => {
                        party::Party::ManyReceiver(many::Receiver::claim(geometry, call)?)
                    }
                };
                (party, capacity)
            }
        };
        Ok(Channel::with_party(segment, role, capacity, party))
    }

    /// A handle for the many-party end `party` (the pair's fields unused).
    fn with_party(segment: OpenSegment, role: Role, capacity: u64, party: party::Party) -> Channel {
        Channel {
            segment,
            role,
            capacity,
            position: 0,
            offset: 0,
            peer_position: 0,
            last_probe: 0,
            lent: lend::Lent::Nothing,
            pacing: pacing::Pacing::new(),
            party: Some(Box::new(party)),
        }
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

    /// Where position `at` lies in the ring: always below `capacity`. The
    /// hot path asks only for positions at most one ring ahead of this end's,
    /// which one subtraction from the kept offset finds; any other takes a division.
    #[inline]
    fn offset(&self, at: u64) -> u64 {
        let ahead = at.wrapping_sub(self.position);
        if ahead > self.capacity {
            return at % self.capacity;
        }
        let offset = self.offset + ahead;
        if offset >= self.capacity {
            offset - self.capacity
        } else {
            offset
        }
    }

    /// The length word of the message at position `at` (8-aligned).
    fn word(&self, at: u64) -> &AtomicU64 {
        debug_assert!(at % 8 == 0);
        // SAFETY: at is a private, 8-aligned position and the ring's size a multiple of 8,
        // so its offset is 8-aligned and at most capacity - 8: inside the ring, which
        // starts 64-aligned; these 8 bytes are only used atomically.
        unsafe { &*(self.ring().add(self.offset(at) as usize) as *const AtomicU64) }
    }

    /// Copies `len` bytes into the ring at position `at`, wrapping at its end.
    ///
    /// # Safety
    /// `src` is readable for `len` bytes and `len <= capacity`.
    unsafe fn copy_in(&self, at: u64, src: *const u8, len: usize) {
        let start = self.offset(at) as usize;
        let first = len.min(self.capacity as usize - start);
        // SAFETY: start+first <= capacity and the rest wraps to the ring's start; the
        // range belongs to the sender until it publishes the new head.
        unsafe {
            std::ptr::copy_nonoverlapping(src, self.ring().add(start), first);
            if first < len {
                std::ptr::copy_nonoverlapping(src.add(first), self.ring(), len - first);
            }
        }
    }

    /// Copies `len` bytes out of the ring from position `at`, wrapping at its end.
    ///
    /// # Safety
    /// `dst` is writable for `len` bytes and `len <= capacity`.
    unsafe fn copy_out(&self, at: u64, dst: *mut u8, len: usize) {
        let start = self.offset(at) as usize;
        let first = len.min(self.capacity as usize - start);
        // SAFETY: as copy_in; the range belongs to the receiver until it publishes the new tail.
        unsafe {
            std::ptr::copy_nonoverlapping(self.ring().add(start), dst, first);
            if first < len {
                std::ptr::copy_nonoverlapping(self.ring(), dst.add(first), len - first);
            }
        }
    }

    /// Takes `position` as this end's and publishes it; wakes the peer if it
    /// sleeps. The light fence (see `fence`) orders the write before the read
    /// of `sleeping`, against the heavy one a sleeper takes.
    #[inline]
    fn publish(&mut self, position: u64) {
        self.offset = self.offset(position);
        self.position = position;
        self.my_position().store(position, Release);
        fence::light();
        let (mine, peer) = (self.mine(), self.peer());
        if peer.sleeping.load(Relaxed) != 0 {
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
        end_state(self.peer(), self.role.peer_name(), || call)
    }

    /// The peer closed the channel.
    #[cold]
    fn closed(&self, call: Call) -> Error {
        closed(self.role.peer_name(), call)
    }

    /// The slow path of send and recv: `Closed` if the peer closed and
    /// `ready` still fails, `WouldBlock` for a zero timeout, else waits (see
    /// [`wait_for`](Self::wait_for)), with `TimedOut` at the end.
    fn wait_until(
        &self,
        wait: Wait,
        len: usize,
        timeout: Option<Duration>,
        spin: impl Fn() -> bool,
        ready: impl Fn() -> bool,
    ) -> Result<()> {
        let call = || wait.call(len);
        if self.peer().closed.load(Acquire) != 0 && !ready() {
            return Err(self.closed(call()));
        }
        if timeout == Some(Duration::ZERO) {
            return Err(Error::new(
                ErrorKind::WouldBlock,
                wait.try_call(len),
                wait.idle(),
            ));
        }
        let deadline = crate::sync::deadline(timeout);
        if self.wait_for(wait, len, deadline, spin, ready)? {
            Ok(())
        } else {
            let reason = wait.missed(timeout.unwrap_or_default());
            Err(Error::new(ErrorKind::TimedOut, call(), reason))
        }
    }

    /// Waits until the peer has moved: spins on `spin` (the cheapest sign of
    /// it, read from one cache line), then sleeps on the peer's signal,
    /// checking that the peer lives. Before each sleep it announces it
    /// (`sleeping`) and checks `ready`, the full test, which reads the peer's
    /// position: the peer publishes its position, then reads `sleeping`, so
    /// one of the two always sees the other and no wakeup is lost.
    /// `Ok(false)` on timeout.
    fn wait_for(
        &self,
        wait: Wait,
        len: usize,
        deadline: Option<Instant>,
        spin: impl Fn() -> bool,
        ready: impl Fn() -> bool,
    ) -> Result<bool> {
        if spin_for(deadline, spin) {
            return Ok(true);
        }
        let (mine, peer) = (self.mine(), self.peer());
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|left| left.is_zero()) {
                return Ok(ready());
            }
            let signal = peer.signal.load(SeqCst);
            mine.sleeping.store(1, SeqCst);
            let fenced = fence::heavy();
            // The peer's state first, then `ready`: a peer sends its last message
            // before it closes (or dies), so a close seen here comes with that message.
            let peer_state = self.check_peer(wait.call(len));
            if ready() {
                mine.sleeping.store(0, SeqCst);
                return Ok(true);
            }
            if let Err(error) = peer_state {
                mine.sleeping.store(0, SeqCst);
                return Err(error);
            }
            // Woken, timed out or interrupted: the loop checks again either way.
            sleep_on(&peer.signal, signal, fenced, left);
            mine.sleeping.store(0, SeqCst);
        }
    }

    /// Sends `message` (at most `capacity - 8` bytes), waiting for room at most
    /// `timeout` (`None`: forever; `Some(ZERO)`: not at all, `WouldBlock`).
    /// `Closed` as soon as the receiver closed; `PeerDied` once it is seen
    /// dead, which a send notices at most [`RECEIVER_PROBE_INTERVAL`] after
    /// its previous check, whether or not the ring is full.
    pub fn send(&mut self, message: &[u8], timeout: Option<Duration>) -> Result<()> {
        if let Some(party) = self.party.as_deref_mut() {
            return party.send(message, timeout);
        }
        let len = message.len();
        let call = || ch_call("channel_send", len);
        self.check_role(Role::Sender, call)?;
        self.check_nothing_lent(call)?;
        // The length first: record_size of a length past 32 bits could overflow.
        let fits = (len <= u32::MAX as usize).then(|| record_size(len));
        let Some(record) = fits.filter(|&record| record <= self.capacity) else {
            let reason = msg!(
                "a message may hold at most {} bytes in this channel",
                self.capacity - 8
            );
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        };
        let placement = self.make_room(Wait::Send, len, record, timeout)?;
        // SAFETY: the record's bytes lie in the free part of the ring, which only the sender writes.
        unsafe { self.copy_in(placement.at + 8, message.as_ptr(), len) };
        self.finish_record("channel_send", placement, len)
    }

    /// `InvalidArgument` unless this end is `role`.
    fn check_role(&self, role: Role, call: impl Fn() -> Call) -> Result<()> {
        if self.role == role {
            return Ok(());
        }
        let reason = match self.role {
            Role::Sender => msg!("this is the sending end"),
            Role::Receiver => msg!("this is the receiving end"),
        };
        Err(Error::new(ErrorKind::InvalidArgument, call(), reason))
    }

    /// Waits until a record of `record` bytes (for a message of `len`) fits,
    /// and says where it goes. Checks on the way that the receiver has not
    /// closed and (every RECEIVER_PROBE_INTERVAL) that it lives.
    fn make_room(
        &mut self,
        wait: Wait,
        len: usize,
        record: u64,
        timeout: Option<Duration>,
    ) -> Result<Placement> {
        let call = || wait.call(len);
        let placement = Placement::of(self.position, self.offset, record, self.capacity);
        self.check_limit(call(), placement.need)?;
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
        if free(self.peer_position) < placement.need {
            self.peer_position = self.read_tail(call)?;
        }
        if free(self.peer_position) < placement.need {
            let tail = &self.header().tail.value;
            // A bogus tail only wakes this wait; read_tail checks it below.
            let room = || {
                self.capacity
                    .saturating_sub(head.saturating_sub(tail.load(Acquire)))
                    >= placement.need
            };
            self.wait_until(wait, len, timeout, room, room)?;
            self.peer_position = self.read_tail(call)?;
        }
        Ok(placement)
    }

    /// Publishes a record whose bytes are in place: the word after it is
    /// zeroed when it lies in free space (old bytes live there), then the
    /// length word is written, then the skip marker before it, if any (each
    /// last, with Release: the receiver polls them), then the new head.
    fn finish_record(
        &mut self,
        call: &'static str,
        placement: Placement,
        len: usize,
    ) -> Result<()> {
        let next = placement.at + record_size(len);
        // When the ring is exactly full the word after is the receiver's unread
        // word, which the receiver zeroes once read.
        if self.capacity - (next - self.peer_position) < 8 {
            self.peer_position = self.read_tail(|| ch_call(call, len))?;
        }
        if self.capacity - (next - self.peer_position) >= 8 {
            // Written only when not zero already: the receiver may be polling it.
            let after = self.word(next);
            if after.load(Relaxed) != 0 {
                after.store(0, Relaxed);
            }
        }
        self.word(placement.at).store(len as u64 + 1, Release);
        if let Some(from) = placement.skip_from {
            self.word(from).store(SKIP, Release);
        }
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
        if let Some(party) = self.party.as_deref_mut() {
            return party.recv_uninit(buf, timeout);
        }
        let cap = buf.len();
        let call = || ch_call("channel_recv", cap);
        self.check_role(Role::Receiver, call)?;
        self.check_nothing_lent(call)?;
        let (at, len, waited) = self.next_message(Wait::Recv, cap, timeout)?;
        if len > cap {
            self.pacing.not_taken(waited);
            let reason = msg!(
                "the next message holds {} bytes, more than the buffer's {}; it stays in the channel",
                len,
                cap
            );
            return Err(Error::new(ErrorKind::OutOfBounds, call(), reason));
        }
        // SAFETY: len <= cap, and the record lies in the ring from the private, aligned position.
        unsafe { self.copy_out(at + 8, buf.as_mut_ptr().cast(), len) };
        self.pacing.on_message(waited);
        self.consume(at, len);
        Ok(len)
    }

    /// The next message's position and length, once one is there, and whether
    /// this call waited for it: waits (at most `timeout`) while the ring is
    /// empty, and steps over skip markers. Every word is read at this end's
    /// own, aligned position. The caller tells `pacing` once it takes the message.
    fn next_message(
        &mut self,
        wait: Wait,
        cap: usize,
        timeout: Option<Duration>,
    ) -> Result<(u64, usize, bool)> {
        let call = || wait.call(cap);
        let deadline = crate::sync::deadline(timeout);
        let mut woken = false;
        let mut waited = false;
        loop {
            let tail = self.position;
            let word = self.word(tail);
            match word.load(Acquire) {
                0 if woken => {
                    let reason = msg!(
                        "the sender's head claims a message at {} that is not there",
                        tail
                    );
                    return Err(corrupt(call(), reason));
                }
                0 if self.pacing.streaming() && timeout != Some(Duration::ZERO) => {
                    // A stream ran dry: give the sender a head start (see `pacing`).
                    pacing::stay_away(self.pacing.on_empty());
                }
                0 => {
                    waited = true;
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    if left.is_some_and(|left| left.is_zero()) && timeout != Some(Duration::ZERO) {
                        return Err(Error::new(
                            ErrorKind::TimedOut,
                            call(),
                            wait.missed(timeout.unwrap_or_default()),
                        ));
                    }
                    let head = &self.header().head.value;
                    // Spinning polls the word alone (one cache line, which brings the
                    // message too); a sleeper also checks the head, against a lost wakeup.
                    let arrived = || word.load(Acquire) != 0;
                    let published = || arrived() || head.load(SeqCst) > tail;
                    self.wait_until(wait, cap, left, arrived, published)?;
                    woken = true;
                }
                SKIP => {
                    let to_end = self.capacity - self.offset;
                    if to_end == self.capacity {
                        return Err(corrupt(
                            call(),
                            msg!("a skip marker at the start of the ring"),
                        ));
                    }
                    // The record follows at the lap's start (its word was written before the
                    // marker); a second marker there would be Corrupt, so this loops once.
                    self.check_limit(call(), to_end)?;
                    word.store(0, Relaxed);
                    self.publish(tail + to_end);
                    woken = false;
                }
                word => {
                    let len = self.message_len(word, call)?;
                    self.check_limit(call(), record_size(len))?;
                    return Ok((tail, len, waited));
                }
            }
        }
    }

    /// Takes the message at `at` of `len` bytes off the ring: its word zeroed, the tail moved.
    fn consume(&mut self, at: u64, len: usize) {
        self.word(at).store(0, Relaxed);
        self.publish(at + record_size(len));
    }

    /// The length of the message a length word announces, checked against the ring.
    fn message_len(&self, word: u64, call: impl Fn() -> Call) -> Result<usize> {
        let length = word.wrapping_sub(1);
        if length > u32::MAX as u64 || record_size(length as usize) > self.capacity {
            let reason = msg!(
                "a message claims {} bytes, more than the ring's {}",
                length,
                self.capacity
            );
            return Err(corrupt(call(), reason));
        }
        Ok(length as usize)
    }

    /// The length of the next message, if one is waiting (receiving end only).
    pub fn pending_len(&self) -> Option<usize> {
        if let Some(party) = self.party.as_deref() {
            return party.pending_len();
        }
        if self.role != Role::Receiver {
            return None;
        }
        let mut at = self.position;
        let mut word = self.word(at).load(Acquire);
        if word == SKIP {
            at += self.capacity - self.offset;
            word = self.word(at).load(Acquire);
        }
        match word {
            0 | SKIP => None,
            word => self
                .message_len(word, || named_call("channel_pending_len"))
                .ok(),
        }
    }

    /// The largest message [`reserve`](Self::reserve) lends: half the ring (in
    /// 8-byte words), less the record's 8-byte length word, and at most
    /// 4 GiB - 1 (a length word holds 32 bits), as for [`send`](Self::send).
    /// A broadcast record's header is 16 bytes; a many-senders channel's ring
    /// is each sender's. Every end of a channel answers the same: at a
    /// receiver, the largest message its senders can reserve, which
    /// [`peek`](Self::peek) always lends in one piece.
    pub fn max_reservation(&self) -> usize {
        if let Some(party) = self.party.as_deref() {
            return party.max_reservation();
        }
        (largest_whole_record(self.capacity) - 8).min(u32::MAX as u64) as usize
    }
}

/// Sleeps on `word` while it holds `seen`, a slice at a time (at most `left`).
pub(super) fn sleep_on(
    word: &std::sync::atomic::AtomicU32,
    seen: u32,
    fenced: bool,
    left: Option<Duration>,
) {
    let mut slice = if fenced {
        LIVENESS_CHECK
    } else {
        UNFENCED_SLEEP
    };
    if let Some(left) = left {
        slice = slice.min(left);
    }
    let timeout = libc::timespec {
        tv_sec: 0,
        tv_nsec: slice.as_nanos() as libc::c_long,
    };
    sys::futex_wait(word, seen, Some(&timeout));
}

/// Spins (up to [`SPINS`] times, and not past `deadline`) until `arrived`
/// says the peer moved: whether it did. A side with nothing to do spins
/// before it sleeps, since a futex sleep costs its peer a wake-up call.
pub(super) fn spin_for(deadline: Option<Instant>, arrived: impl Fn() -> bool) -> bool {
    spin_for_looking(deadline, 1, arrived)
}

/// [`spin_for`], for an `arrived` that looks at `looks` words each time (a
/// many-senders receiver looks at every ring): the clock is read every
/// [`DEADLINE_EVERY`] words looked at, so that a short timeout ends as soon
/// as a pair's does, however many rings.
pub(super) fn spin_for_looking(
    deadline: Option<Instant>,
    looks: usize,
    arrived: impl Fn() -> bool,
) -> bool {
    let every = (DEADLINE_EVERY as usize / looks.max(1)).max(1) as u32;
    for spun in 0..SPINS {
        if arrived() {
            return true;
        }
        // A short timeout ends within the spinning too.
        if spun % every == every - 1 && past(deadline) {
            return arrived();
        }
        std::hint::spin_loop();
    }
    false
}

/// The state of the end whose control words are `side` (`name`: "sender"
/// or "receiver"), as its peer sees it: `Closed` if it closed, `PeerDied`
/// if its holder is `Gone` (the liveness model; alive or cannot tell is
/// fine), else fine. Every shape asks this before it answers a wait.
fn end_state(side: &Side, name: &'static str, call: impl Fn() -> Call) -> Result<()> {
    if side.closed.load(Acquire) != 0 {
        return Err(closed(name, call()));
    }
    let holder = side.holder.load(Acquire);
    if holder != 0 && holder_liveness(side, holder) == Liveness::Gone {
        let reason = msg!(
            "the {} (pid {}) died",
            name,
            PackedId::from_word(holder).id()
        );
        return Err(Error::new(ErrorKind::PeerDied, call(), reason));
    }
    Ok(())
}

/// The end `name` closed the channel.
#[cold]
fn closed(name: &'static str, call: Call) -> Error {
    let reason = msg!("the {} closed the channel", name);
    Error::new(ErrorKind::Closed, call, reason)
}

/// Whether `deadline` has passed (never, without one).
fn past(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|deadline| Instant::now() >= deadline)
}

/// Claims the `role` end whose control words are `side` with a
/// compare-and-swap on its holder word, for this process: exactly one of
/// several openers wins; the others get `Exists`, naming the holder. An end
/// whose holder is `Gone` (the liveness model, in this PID namespace only) is
/// taken over; one that is alive or cannot be told is not. Records this
/// process's PID namespace after the claim, and returns its holder word.
/// Every shape's ends are claimed here.
fn claim_end(side: &Side, role: Role, call: impl FnOnce() -> Call) -> Result<u64> {
    let me = ProcessId::this_process().pack();
    let mut current = 0;
    loop {
        match side.holder.compare_exchange(current, me, AcqRel, Acquire) {
            Ok(_) => break,
            Err(holder) if holder == current => {}
            Err(holder) => match holder_liveness(side, holder) {
                Liveness::Gone => current = holder,
                _ => {
                    let reason = msg!(
                        "the channel's {} end is held by process {}, which is not known to be gone",
                        role.name(),
                        PackedId::from_word(holder).id()
                    );
                    return Err(Error::new(ErrorKind::Exists, call(), reason));
                }
            },
        }
    }
    side.namespace.store(pid_namespace(), Relaxed);
    side.namespace_of.store(me, Release);
    Ok(me)
}

/// Whether the holder `holder` of `side` lives. Its namespace record counts
/// only if it is its own (written after it claimed); a holder in another PID
/// namespace, or one whose record is missing, cannot be told.
fn holder_liveness(side: &Side, holder: u64) -> Liveness {
    let recorded =
        (side.namespace_of.load(Acquire) == holder).then(|| side.namespace.load(Relaxed));
    judge_recorded(recorded, || PackedId::from_word(holder).liveness())
}

impl Drop for Channel {
    /// Closes the end, in the process that holds it. A forked child that
    /// drops the copy it inherited (never holding the end) closes nothing:
    /// it releases its own mapping, and the holder and its peer go on.
    fn drop(&mut self) {
        if !self.segment.opened_here() {
            return;
        }
        if let Some(party) = self.party.as_deref_mut() {
            party.close();
            return;
        }
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
