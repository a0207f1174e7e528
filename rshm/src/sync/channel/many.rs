//! Many senders, one receiver: one SPSC sub-ring per sender slot.
//!
//! A sender claims a free slot with a compare-and-swap on its holder word
//! (its identity, then its PID namespace), and from then on is the single
//! producer of that slot's ring, with the SPSC channel's record format and
//! trust rules: its head is private, the receiver's tail is a claim it checks.
//! The receiver reads the rings round-robin, starting after the slot it served
//! last (fairness: a fast sender cannot starve the others; each sender's
//! messages keep their order), and keeps every tail in private memory. A
//! sender that stalls or dies between reserve and commit holds back only its
//! own ring: its length word is never written, and the receiver goes on with
//! the other rings. A ring whose words make no sense (a hostile sender) fails
//! one receive with `Corrupt` and is skipped from then on: it costs only that
//! sender's messages.
//!
//! The receiver sleeps once for all senders, on one futex word (`news.sent`)
//! that a sender bumps after publishing while the receiver sleeps; a sender
//! waiting for room sleeps on the receiver's signal word. A slot is freed
//! once its sender closed (or is judged `Gone`) and its ring is drained: by
//! the receiver, or by the next sender to open, which takes it over (see
//! `Sender::take_over`). A partial message of a dead sender is never seen, and
//! a ring with undelivered messages keeps its slot for the receiver.

use super::layout::{largest_whole_record, record_size, Placement, Side, POSITION_LIMIT, SKIP};
use super::lending::{Lent, Reserved};
use super::many_layout::{ring_offset, segment_size, slot_offset, Header, Slot, EXPECTED};
use super::pacing::{stay_away, Pacing};
use super::ring::Ring;
use super::{
    ch_call, claim_end, corrupt, end_state, holder_liveness, named_call, sleep_on,
    spin_for_looking, Role, Wait, LIVENESS_CHECK, RECEIVER_PROBE_INTERVAL,
};
use crate::error::{msg, Call, Error, ErrorKind, Result};
use crate::liveness::{pid_namespace, Liveness, ProcessId};
use crate::sync::fence;
use crate::sys;
use std::mem::MaybeUninit;
use std::sync::atomic::Ordering::*;
use std::time::Duration;

/// The top bit of a slot's holder word: the slot is being turned over (its
/// sender closed or is gone) by the process in the low bits. No holder has it:
/// a process id is below 2^22.
const VACATING: u64 = 1 << 63;

/// The most holders one receive judges (each a look at the kernel and `/proc`): a
/// judging turn (every `LIVENESS_CHECK`) takes the next this many, where the
/// last turn stopped, so that a receive with many held slots stays short.
const JUDGED_PER_TURN: usize = 16;

/// The points of a receiver's wait where a unit test runs another party's
/// step, as a race could interleave it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    /// In `reap`: a slot judged free, before it is marked.
    BeforeMark,
    /// In `next_message`: after the last look, before the sleep.
    BeforeSleep,
}

/// A unit test's step for one window.
#[cfg(test)]
type Step = (Window, Box<dyn FnOnce()>);

#[cfg(test)]
thread_local! {
    /// The step a unit test runs at a window, once.
    static RACE: std::cell::RefCell<Option<Step>> =
        const { std::cell::RefCell::new(None) };
    /// The ring words a receiver's waits looked at (`anything_waiting`), for unit tests.
    static LOOKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs the step a unit test set for `window`, if any (nothing outside tests).
#[inline(always)]
fn race_window(window: Window) {
    #[cfg(test)]
    {
        let step = RACE.with(|race| {
            let mut race = race.borrow_mut();
            match race.take() {
                Some((at, step)) if at == window => Some(step),
                other => {
                    *race = other;
                    None
                }
            }
        });
        if let Some(step) = step {
            step();
        }
    }
    #[cfg(not(test))]
    let _ = window;
}

/// A many-senders channel's geometry, read from (and checked against) its segment.
#[derive(Debug, Clone, Copy)]
pub(super) struct Geometry {
    base: *mut u8,
    slots: usize,
    capacity: u64,
}

impl Geometry {
    /// Each slot's ring, in bytes.
    pub(super) fn capacity(&self) -> u64 {
        self.capacity
    }

    fn header(&self) -> &Header {
        // SAFETY: the header lies at the segment's start (checked at open/create).
        unsafe { &*(self.base as *const Header) }
    }

    fn slot(&self, i: usize) -> &Slot {
        debug_assert!(i < self.slots);
        // SAFETY: i < slots, and the segment holds every slot (checked at open/create).
        unsafe { &*(self.base.add(slot_offset(i)) as *const Slot) }
    }

    /// Whether slot `i`'s ring is drained: its head (published after the
    /// sender's last length word) is the receiver's tail, and nothing is at the tail.
    fn drained(&self, i: usize) -> bool {
        let slot = self.slot(i);
        let tail = slot.tail.value.load(Acquire);
        let head = slot.head.value.load(Acquire);
        tail % 8 == 0
            && tail < POSITION_LIMIT
            && head == tail
            && self.ring(i).word(tail).load(Acquire) == 0
    }

    /// Whether no receiver may be reading: the end is free or its holder is `Gone`.
    fn no_receiver(&self) -> bool {
        let receiver = &self.header().receiver;
        let holder = receiver.holder.load(Acquire);
        holder == 0 || holder_liveness(receiver, holder) == Liveness::Gone
    }

    /// Whether slot `i`, held by `holder`, was left by its sender so that a
    /// new sender may take it: the sender closed and its ring is drained; or
    /// it is `Gone`, its ring drained and no receiver reads (a sender that died
    /// between its length word and its head leaves a message that a receiver
    /// may be taking while the ring already looks drained: a receiver frees
    /// such a slot itself).
    fn vacated(&self, i: usize, holder: u64) -> bool {
        if holder & VACATING != 0 {
            return false;
        }
        let side = &self.slot(i).side;
        // `closed` first: with it, the head the sender published before it.
        if side.closed.load(Acquire) != 0 {
            return self.drained(i);
        }
        self.drained(i) && self.no_receiver() && holder_liveness(side, holder) == Liveness::Gone
    }

    /// The largest reservation in a slot's ring: half of it (in 8-byte
    /// words), less the length word, below 4 GiB.
    fn max_reservation(&self) -> usize {
        (largest_whole_record(self.capacity) - 8).min(u32::MAX as u64) as usize
    }

    fn ring(&self, i: usize) -> Ring {
        Ring {
            // SAFETY: as slot(): the segment holds every ring.
            base: unsafe { self.base.add(ring_offset(self.slots, self.capacity, i)) },
            capacity: self.capacity,
        }
    }

    /// Writes the header of a new channel in `base` (`size` bytes, zeroed).
    pub(super) fn init(base: *mut u8, size: usize, slots: u32, capacity: u64) -> Geometry {
        debug_assert!(segment_size(slots, capacity) <= Some(size as u64));
        // SAFETY: the segment is new, 8-aligned and large enough for the header.
        unsafe { EXPECTED.init(base, slots, capacity) };
        Geometry {
            base,
            slots: slots as usize,
            capacity,
        }
    }

    /// The geometry of the channel in `base` (`size` bytes), checked.
    pub(super) fn read(base: *mut u8, size: usize, call: impl Fn() -> Call) -> Result<Geometry> {
        let (slots, capacity) = EXPECTED.read(base, size, call)?;
        Ok(Geometry {
            base,
            slots: slots as usize,
            capacity,
        })
    }
}

/// The sending end of a many-senders channel: one slot, its ring.
#[derive(Debug)]
pub(super) struct Sender {
    geometry: Geometry,
    slot: usize,
    ring: Ring,
    /// This sender's head (private).
    position: u64,
    /// The receiver's tail when last read and checked.
    peer_position: u64,
    last_probe: u64,
    /// The open reservation, if any.
    reserved: Reserved,
}

/// The receiving end of a many-senders channel.
#[derive(Debug)]
pub(super) struct Receiver {
    geometry: Geometry,
    /// Each ring's tail (private).
    tails: Vec<u64>,
    /// Rings found corrupt: skipped until their sender is gone.
    broken: Vec<bool>,
    /// The slot to look at first (round-robin).
    next: usize,
    /// How the last sender to leave left (`Closed` or `PeerDied`).
    last_gone: ErrorKind,
    /// When the holders were last judged (coarse monotonic ns).
    last_judged: u64,
    /// The slot whose holder the next judging turn judges first (round-robin).
    judge_next: usize,
    /// The message lent (slot, position, length), if any.
    lent: Lent<(usize, u64, usize)>,
    /// How this receiver keeps out of streaming senders' way (as the SPSC
    /// receiver does, see `pacing`).
    pacing: Pacing,
}

fn check_claim(side: &Side, me: u64) {
    side.namespace.store(pid_namespace(), Relaxed);
    side.namespace_of.store(me, Release);
    side.closed.store(0, SeqCst);
}

impl Sender {
    /// Claims a free slot of the channel: `NoSpace` when every slot is held.
    /// A free slot whose positions make no sense (a writer of the segment
    /// rewrote them) is left as it is, its holder word given back, and the
    /// next one tried: `Corrupt`, naming the first such slot, only when no
    /// slot could be claimed.
    pub(super) fn claim(geometry: Geometry, call: impl Fn() -> Call) -> Result<Sender> {
        let me = ProcessId::this_process().pack();
        // The first corrupt slot: its index, head and tail.
        let mut corrupt_slot: Option<(usize, u64, u64)> = None;
        for i in 0..geometry.slots {
            let slot = geometry.slot(i);
            let taken = match slot.side.holder.load(Acquire) {
                0 => slot
                    .side
                    .holder
                    .compare_exchange(0, me, AcqRel, Acquire)
                    .is_ok(),
                holder => Sender::take_over(geometry, i, holder, me),
            };
            if !taken {
                continue;
            }
            // Checked before the claim is recorded: a corrupt slot is left as it was.
            let head = slot.head.value.load(Acquire);
            let tail = slot.tail.value.load(Acquire);
            if head % 8 != 0
                || tail % 8 != 0
                || head >= POSITION_LIMIT
                || tail > head
                || head - tail > geometry.capacity
            {
                let _ = slot.side.holder.compare_exchange(me, 0, AcqRel, Relaxed);
                corrupt_slot.get_or_insert((i, head, tail));
                continue;
            }
            check_claim(&slot.side, me);
            let header = geometry.header();
            header.news.used.fetch_max(i as u32 + 1, AcqRel);
            header.news.opened.store(1, Release);
            fence::register();
            return Ok(Sender {
                geometry,
                slot: i,
                ring: geometry.ring(i),
                position: head,
                peer_position: tail,
                last_probe: sys::coarse_now_ns(),
                reserved: Reserved::default(),
            });
        }
        if let Some((i, head, tail)) = corrupt_slot {
            let reason = msg!(
                "sender slot {}: positions head {} and tail {} do not fit a ring of {}; no other slot is free",
                i,
                head,
                tail,
                geometry.capacity
            );
            return Err(corrupt(call(), reason));
        }
        let reason = msg!(
            "all {} sender slots of the channel are held (max_peers)",
            geometry.slots
        );
        Err(Error::new(ErrorKind::NoSpace, call(), reason))
    }

    /// Takes slot `i` from `holder`, a sender that left it vacated (closed,
    /// or gone, and drained: `Geometry::vacated`), without waiting for the
    /// receiver to free it. The slot is marked `VACATING` first, with a
    /// compare-and-swap that a receiver freeing it at the same time makes too,
    /// so exactly one of them turns it over; then checked again (its holder
    /// may have been freed and the same process may hold it anew), and its
    /// `closed` cleared before it is this sender's, so that a receiver never
    /// sees the new holder with the old one's `closed`.
    fn take_over(geometry: Geometry, i: usize, holder: u64, me: u64) -> bool {
        let side = &geometry.slot(i).side;
        let marker = VACATING | me;
        if !geometry.vacated(i, holder)
            || side
                .holder
                .compare_exchange(holder, marker, AcqRel, Acquire)
                .is_err()
        {
            return false;
        }
        if !geometry.vacated(i, holder) {
            let _ = side
                .holder
                .compare_exchange(marker, holder, AcqRel, Relaxed);
            return false;
        }
        side.closed.store(0, SeqCst);
        side.holder
            .compare_exchange(marker, me, AcqRel, Acquire)
            .is_ok()
    }

    fn slot(&self) -> &Slot {
        self.geometry.slot(self.slot)
    }

    pub(super) fn max_reservation(&self) -> usize {
        self.geometry.max_reservation()
    }

    pub(super) fn send(&mut self, message: &[u8], timeout: Option<Duration>) -> Result<()> {
        let len = message.len();
        let call = || ch_call("channel_send", len);
        self.reserved.check_none(call)?;
        let fits = (len <= u32::MAX as usize).then(|| record_size(len));
        let Some(record) = fits.filter(|&record| record <= self.ring.capacity) else {
            let reason = msg!(
                "a message may hold at most {} bytes in this channel",
                self.ring.capacity - 8
            );
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        };
        let placement = self.make_room(Wait::Send, len, record, timeout)?;
        // SAFETY: the record's bytes lie in the free part of this slot's ring, which only
        // this sender writes; len + 8 <= capacity.
        unsafe { self.ring.copy_in(placement.at + 8, message.as_ptr(), len) };
        self.finish(placement, len, call)
    }

    pub(super) fn reserve(&mut self, len: usize, timeout: Option<Duration>) -> Result<*mut u8> {
        let call = || ch_call("channel_reserve", len);
        self.reserved.check_none(call)?;
        if len > self.max_reservation() {
            let reason = msg!(
                "a reservation may hold at most {} bytes in this channel (half its ring, less the 8-byte length word)",
                self.max_reservation()
            );
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        }
        let placement = self.make_room(Wait::Reserve, len, record_size(len), timeout)?;
        self.reserved.open(placement, len);
        Ok(self.ring.at(placement.at + 8))
    }

    pub(super) fn commit(&mut self, len: usize) -> Result<()> {
        let call = || ch_call("channel_commit", len);
        let placement = self.reserved.commit(len, call)?;
        self.finish(placement, len, call)
    }

    pub(super) fn cancel(&mut self) -> Result<()> {
        self.reserved.cancel()
    }

    /// The receiver's tail, read and checked as the SPSC sender checks it.
    fn read_tail(&self, call: impl Fn() -> Call) -> Result<u64> {
        let tail = self.slot().tail.value.load(Acquire);
        if tail % 8 != 0
            || tail > self.position
            || tail < self.peer_position
            || self.position - tail > self.ring.capacity
        {
            let reason = msg!(
                "the receiver claims tail {}, which does not fit this sender's head {} and its last tail {} in a ring of {}",
                tail,
                self.position,
                self.peer_position,
                self.ring.capacity
            );
            return Err(corrupt(call(), reason));
        }
        Ok(tail)
    }

    /// `Closed` or `PeerDied` if the receiver is gone.
    fn check_receiver(&self, call: impl Fn() -> Call) -> Result<()> {
        end_state(&self.geometry.header().receiver, "receiver", call)
    }

    /// Waits (blocking, at most `timeout`) until a record of `record` bytes fits.
    fn make_room(
        &mut self,
        wait: Wait,
        len: usize,
        record: u64,
        timeout: Option<Duration>,
    ) -> Result<Placement> {
        let call = || wait.call(len);
        let capacity = self.ring.capacity;
        let placement = Placement::of(
            self.position,
            self.ring.offset(self.position),
            record,
            capacity,
        );
        if self.position + placement.need >= POSITION_LIMIT {
            let reason = msg!("the channel has carried 2^63 bytes; positions would overflow");
            return Err(corrupt(call(), reason));
        }
        let geometry = self.geometry;
        let receiver = &geometry.header().receiver;
        if receiver.closed.load(Acquire) != 0 {
            return Err(Error::new(
                ErrorKind::Closed,
                call(),
                msg!("the receiver closed the channel"),
            ));
        }
        let now = sys::coarse_now_ns();
        if now.wrapping_sub(self.last_probe) >= RECEIVER_PROBE_INTERVAL.as_nanos() as u64 {
            self.last_probe = now;
            self.check_receiver(call)?;
        }
        let head = self.position;
        let free = |tail: u64| capacity - (head - tail);
        if free(self.peer_position) >= placement.need {
            return Ok(placement);
        }
        self.peer_position = self.read_tail(call)?;
        let deadline = crate::sync::deadline(timeout);
        let geometry = self.geometry;
        let side = &geometry.slot(self.slot).side;
        while free(self.peer_position) < placement.need {
            let left = match wait.time_left(len, timeout, deadline) {
                Ok(left) => left,
                // Woken late (see `Receiver::publish`): room that came before the deadline counts.
                Err(late) => {
                    self.peer_position = self.read_tail(call)?;
                    if free(self.peer_position) >= placement.need {
                        break;
                    }
                    return Err(late);
                }
            };
            let signal = receiver.signal.load(SeqCst);
            side.sleeping.store(1, SeqCst);
            // A full fence, not the heavy one: the receiver takes one too before it
            // goes idle, and wakes every sleeping sender then (`Receiver::wake_senders`).
            std::sync::atomic::fence(SeqCst);
            let state = self.check_receiver(call);
            let tail = self.read_tail(call);
            let tail = match tail {
                Ok(tail) => tail,
                Err(error) => {
                    side.sleeping.store(0, SeqCst);
                    return Err(error);
                }
            };
            self.peer_position = tail;
            if free(tail) >= placement.need {
                side.sleeping.store(0, SeqCst);
                break;
            }
            if let Err(error) = state {
                side.sleeping.store(0, SeqCst);
                return Err(error);
            }
            sleep_on(&receiver.signal, signal, true, left);
            side.sleeping.store(0, SeqCst);
        }
        Ok(placement)
    }

    /// Publishes a record whose bytes are in place, as the SPSC sender does;
    /// wakes the receiver if it sleeps.
    fn finish(&mut self, placement: Placement, len: usize, call: impl Fn() -> Call) -> Result<()> {
        let capacity = self.ring.capacity;
        let next = placement.at + record_size(len);
        if capacity - (next - self.peer_position) < 8 {
            self.peer_position = self.read_tail(&call)?;
        }
        if capacity - (next - self.peer_position) >= 8 {
            let after = self.ring.word(next);
            if after.load(Relaxed) != 0 {
                after.store(0, Relaxed);
            }
        }
        self.ring.word(placement.at).store(len as u64 + 1, Release);
        if let Some(from) = placement.skip_from {
            self.ring.word(from).store(SKIP, Release);
        }
        self.position = next;
        self.slot().head.value.store(next, Release);
        fence::light();
        let header = self.geometry.header();
        if header.receiver.sleeping.load(Relaxed) != 0 {
            header.news.sent.fetch_add(1, SeqCst);
            sys::futex_wake(&header.news.sent);
        }
        Ok(())
    }

    /// Closes this sender: the receiver frees the slot once it drained it.
    pub(super) fn close(&mut self) {
        self.slot().side.closed.store(1, SeqCst);
        let news = &self.geometry.header().news;
        news.sent.fetch_add(1, SeqCst);
        sys::futex_wake(&news.sent);
    }
}

impl Receiver {
    /// Claims the receiving end (a dead receiver's is taken over: its tails,
    /// as published, are where this one starts).
    pub(super) fn claim(geometry: Geometry, call: impl Fn() -> Call) -> Result<Receiver> {
        let side = &geometry.header().receiver;
        claim_end(side, Role::Receiver, &call)?;
        side.closed.store(0, SeqCst);
        fence::register();
        let mut tails = Vec::with_capacity(geometry.slots);
        let mut broken = Vec::with_capacity(geometry.slots);
        for i in 0..geometry.slots {
            let slot = geometry.slot(i);
            let tail = slot.tail.value.load(Acquire);
            let head = slot.head.value.load(Acquire);
            let sound =
                tail % 8 == 0 && tail < POSITION_LIMIT && head.abs_diff(tail) <= geometry.capacity;
            tails.push(if sound { tail } else { 0 });
            broken.push(!sound);
        }
        Ok(Receiver {
            geometry,
            tails,
            broken,
            next: 0,
            last_gone: ErrorKind::Closed,
            last_judged: 0,
            judge_next: 0,
            lent: Lent::default(),
            pacing: Pacing::new(),
        })
    }

    /// The largest reservation of the channel's senders.
    pub(super) fn max_reservation(&self) -> usize {
        self.geometry.max_reservation()
    }

    pub(super) fn recv_uninit(
        &mut self,
        buf: &mut [MaybeUninit<u8>],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        let cap = buf.len();
        let call = || ch_call("channel_recv", cap);
        self.lent.check_none(call)?;
        let (i, at, len, waited) = self.next_message(Wait::Recv, cap, timeout)?;
        if len > cap {
            // The message stays, and stays next: pending_len and the next receive see it.
            self.next = i;
            self.pacing.not_taken(waited);
            let reason = msg!(
                "the next message holds {} bytes, more than the buffer's {}; it stays in the channel",
                len,
                cap
            );
            return Err(Error::new(ErrorKind::OutOfBounds, call(), reason));
        }
        // SAFETY: len <= cap, and len + 8 <= the ring's capacity (message_len).
        unsafe {
            self.geometry
                .ring(i)
                .copy_out(at + 8, buf.as_mut_ptr().cast(), len)
        };
        self.pacing.on_message(waited);
        self.consume(i, at, len);
        // The next receive starts after this slot: round-robin.
        self.next = i + 1;
        Ok(len)
    }

    pub(super) fn peek(&mut self, timeout: Option<Duration>) -> Result<(*const u8, usize)> {
        let call = || named_call("channel_peek");
        self.lent.check_none(call)?;
        let (i, at, len, waited) = self.next_message(Wait::Peek, 0, timeout)?;
        let ring = self.geometry.ring(i);
        if !ring.in_one_piece(at, record_size(len)) {
            self.next = i;
            self.pacing.not_taken(waited);
            let reason = msg!(
                "the next message ({} bytes) wraps around the ring's end and cannot be lent in one piece: receive it",
                len
            );
            return Err(Error::new(ErrorKind::OutOfBounds, call(), reason));
        }
        self.pacing.on_message(waited);
        self.lent.lend((i, at, len));
        Ok((ring.at(at + 8), len))
    }

    pub(super) fn release(&mut self) -> Result<()> {
        let (i, at, len) = self.lent.release()?;
        self.consume(i, at, len);
        self.next = i + 1;
        Ok(())
    }

    pub(super) fn pending_len(&self) -> Option<usize> {
        let used = self.used();
        (0..used)
            .map(|k| (self.next + k) % used)
            .filter(|&i| !self.broken[i])
            .find_map(|i| {
                let ring = self.geometry.ring(i);
                let mut at = self.tails[i];
                let mut word = ring.word(at).load(Acquire);
                if word == SKIP {
                    at += ring.room_to_end(at);
                    word = ring.word(at).load(Acquire);
                }
                match word {
                    0 | SKIP => None,
                    word => ring.message_len(word, 8),
                }
            })
    }

    /// Every ring is empty: wakes every sender that sleeps waiting for room
    /// (it has a whole ring now). The full fence orders this receiver's tail
    /// stores before its reads of the senders' `sleeping` words, as a sender
    /// orders its `sleeping` before its read of the tail: so either the sender
    /// sees the room and does not sleep, or this sees it sleeping. This is
    /// what lets a sender sleep without the heavy fence (a membarrier, which
    /// interrupts every CPU, this receiver's too, each time a ring fills):
    /// `publish` reads `sleeping` with no fence, as the pair's channel does.
    fn wake_senders(&self) {
        std::sync::atomic::fence(SeqCst);
        let mut woke = false;
        for i in 0..self.used() {
            let side = &self.geometry.slot(i).side;
            if side.sleeping.load(Relaxed) != 0 && side.sleeping.swap(0, SeqCst) != 0 {
                woke = true;
            }
        }
        if woke {
            let signal = &self.geometry.header().receiver.signal;
            signal.fetch_add(1, SeqCst);
            sys::futex_wake(signal);
        }
    }

    /// The slots to scan: those claimed at least once.
    fn used(&self) -> usize {
        (self.geometry.header().news.used.load(Acquire) as usize).min(self.geometry.slots)
    }

    /// The next message (slot, position, length), waiting for one at most
    /// `timeout`, and whether this call waited for it. Every ring empty: a
    /// stream that ran dry gets a pause (`pacing`), then the receiver spins
    /// on the rings' next words, then sleeps.
    fn next_message(
        &mut self,
        wait: Wait,
        cap: usize,
        timeout: Option<Duration>,
    ) -> Result<(usize, u64, usize, bool)> {
        let call = || wait.call(cap);
        let deadline = crate::sync::deadline(timeout);
        let geometry = self.geometry;
        let header = geometry.header();
        let mut waited = false;
        loop {
            if let Some((i, at, len)) = self.scan(call)? {
                return Ok((i, at, len, waited));
            }
            if timeout != Some(Duration::ZERO) && self.pacing.streaming() {
                stay_away(self.pacing.on_empty());
                continue;
            }
            // Idle (not a stream's pause, which looks again at once): wake full senders.
            self.wake_senders();
            if timeout != Some(Duration::ZERO) {
                waited = true;
                if spin_for_looking(deadline, self.used(), || self.anything_waiting()) {
                    continue;
                }
            }
            // Read before the last look at the slots (reap): a close after it is a wake-up.
            let seen = header.news.sent.load(SeqCst);
            let now = sys::coarse_now_ns();
            let judge = now.wrapping_sub(self.last_judged) >= LIVENESS_CHECK.as_nanos() as u64;
            if judge {
                self.last_judged = now;
            }
            if let Some(end) = self.reap(judge) {
                // A last message may have come just before its sender closed.
                if let Some((i, at, len)) = self.scan(call)? {
                    return Ok((i, at, len, true));
                }
                let reason = match end {
                    ErrorKind::PeerDied => msg!("every sender is gone; the last one died"),
                    _ => msg!("every sender closed the channel"),
                };
                return Err(Error::new(end, call(), reason));
            }
            let left = wait.time_left(cap, timeout, deadline)?;
            race_window(Window::BeforeSleep);
            header.receiver.sleeping.store(1, SeqCst);
            let fenced = fence::heavy();
            if !self.anything_waiting() {
                sleep_on(&header.news.sent, seen, fenced, left);
            }
            header.receiver.sleeping.store(0, SeqCst);
        }
    }

    /// Whether any ring has a word waiting (a message, or a skip marker).
    fn anything_waiting(&self) -> bool {
        #[cfg(test)]
        LOOKS.with(|looks| looks.set(looks.get() + self.used()));
        (0..self.used()).any(|i| {
            !self.broken[i] && self.geometry.ring(i).word(self.tails[i]).load(Acquire) != 0
        })
    }

    /// Looks at each ring once, round-robin from `next`: the first message found.
    /// A ring whose words make no sense fails this call and is skipped from now on.
    fn scan(&mut self, call: impl Fn() -> Call) -> Result<Option<(usize, u64, usize)>> {
        let used = self.used();
        // `next` may lie past `used` (the last slot was served, or a segment writer
        // lowered `used`): then the scan starts at slot 0.
        let start = if self.next < used { self.next } else { 0 };
        for k in 0..used {
            let mut i = start + k;
            if i >= used {
                i -= used;
            }
            if self.broken[i] {
                continue;
            }
            match self.look(i) {
                Ok(Some((at, len))) => return Ok(Some((i, at, len))),
                Ok(None) => {}
                Err(problem) => {
                    self.broken[i] = true;
                    // A tail no ring position has: no new sender takes the slot over while
                    // this receiver skips its ring (it frees it itself), and its sender's
                    // next wait for room says the ring is not read.
                    let tail = &self.geometry.slot(i).tail.value;
                    tail.store(self.tails[i] | 1, Release);
                    let reason = msg!(
                        "sender slot {}: {}; that sender's messages are skipped from now on (the ring is {} bytes)",
                        i,
                        problem,
                        self.geometry.capacity
                    );
                    return Err(corrupt(call(), reason));
                }
            }
        }
        Ok(None)
    }

    /// The message at ring `i`'s tail, if one is there (after stepping over a skip marker).
    fn look(&mut self, i: usize) -> std::result::Result<Option<(u64, usize)>, &'static str> {
        let ring = self.geometry.ring(i);
        loop {
            let at = self.tails[i];
            let word = ring.word(at).load(Acquire);
            match word {
                0 => return Ok(None),
                SKIP => {
                    let to_end = ring.room_to_end(at);
                    if to_end == ring.capacity {
                        return Err("a skip marker at the start of the ring");
                    }
                    if at + to_end >= POSITION_LIMIT {
                        return Err("positions would overflow");
                    }
                    ring.word(at).store(0, Relaxed);
                    self.publish(i, at + to_end);
                }
                word => {
                    let Some(len) = ring.message_len(word, 8) else {
                        return Err("a length word claims more bytes than the ring holds");
                    };
                    if at + record_size(len) >= POSITION_LIMIT {
                        return Err("positions would overflow");
                    }
                    return Ok(Some((at, len)));
                }
            }
        }
    }

    fn consume(&mut self, i: usize, at: u64, len: usize) {
        self.geometry.ring(i).word(at).store(0, Relaxed);
        self.publish(i, at + record_size(len));
    }

    /// Takes `position` as ring `i`'s tail and publishes it; wakes its
    /// sender if it waits for room, once half its ring is free (a record
    /// longer than half is woken for at every record from then on, the last
    /// when the ring is empty): a sender woken for every record would sleep
    /// and wake again for every message while its ring stays full. A sender
    /// with a deadline checks the room once more at the deadline.
    fn publish(&mut self, i: usize, position: u64) {
        self.tails[i] = position;
        let slot = self.geometry.slot(i);
        slot.tail.value.store(position, Release);
        fence::light();
        let side = &slot.side;
        if side.sleeping.load(Relaxed) != 0 {
            // The head is the sender's claim: a false one only delays that sender's wake-up
            // (it sleeps in slices).
            let used = slot.head.value.load(Acquire).wrapping_sub(position);
            if used <= self.geometry.capacity / 2 && side.sleeping.swap(0, SeqCst) != 0 {
                let signal = &self.geometry.header().receiver.signal;
                signal.fetch_add(1, SeqCst);
                sys::futex_wake(signal);
            }
        }
    }

    /// Frees the slots whose sender closed (or, with `judge`, is `Gone`) and
    /// whose ring is drained. The end of the stream (`Closed` or `PeerDied`)
    /// once a sender has opened and no slot is held any more. A judging turn
    /// judges at most `JUDGED_PER_TURN` holders, from `judge_next` on: each
    /// held slot's holder is judged within one turn per `JUDGED_PER_TURN` slots.
    fn reap(&mut self, judge: bool) -> Option<ErrorKind> {
        let header = self.geometry.header();
        let mut held = false;
        let mut marker = None;
        let used = self.used();
        // `judge_next` may lie past `used` (a segment writer lowered it): from slot 0 then.
        let start = if self.judge_next < used {
            self.judge_next
        } else {
            0
        };
        let mut to_judge = if judge { JUDGED_PER_TURN } else { 0 };
        for k in 0..used {
            let i = (start + k) % used;
            let side = &self.geometry.slot(i).side;
            let holder = side.holder.load(Acquire);
            if holder == 0 {
                continue;
            }
            if holder & VACATING != 0 {
                // A sender taking the slot over (or one killed while it did: cannot tell).
                held = true;
                continue;
            }
            let gone = if side.closed.load(Acquire) != 0 {
                Some(ErrorKind::Closed)
            } else if to_judge > 0 {
                to_judge -= 1;
                if to_judge == 0 {
                    // The next turn goes on after this slot.
                    self.judge_next = i + 1;
                }
                (holder_liveness(side, holder) == Liveness::Gone).then_some(ErrorKind::PeerDied)
            } else {
                None
            };
            let drained =
                self.broken[i] || self.geometry.ring(i).word(self.tails[i]).load(Acquire) == 0;
            match gone {
                Some(kind) if drained => {
                    race_window(Window::BeforeMark);
                    // Marked first, as a sender taking it over marks it: one of the two turns it over.
                    let marker =
                        *marker.get_or_insert_with(|| VACATING | ProcessId::this_process().pack());
                    if side
                        .holder
                        .compare_exchange(holder, marker, AcqRel, Relaxed)
                        .is_err()
                    {
                        held = true;
                        continue;
                    }
                    // The holder word was read before: a sender of the same process may have
                    // taken the slot over (and sent) since, leaving the same word. The mark
                    // stands only if the slot is still left (a take-over clears `closed`
                    // before it writes the holder) and drained.
                    let left = (kind != ErrorKind::Closed || side.closed.load(Acquire) != 0)
                        && (self.broken[i]
                            || self.geometry.ring(i).word(self.tails[i]).load(Acquire) == 0);
                    if !left {
                        let _ = side
                            .holder
                            .compare_exchange(marker, holder, AcqRel, Relaxed);
                        held = true;
                        continue;
                    }
                    let slot = self.geometry.slot(i);
                    let tail = if self.broken[i] { 0 } else { self.tails[i] };
                    if self.broken[i] {
                        // A fresh start for the next sender: an empty ring at 0.
                        self.tails[i] = 0;
                        // The first word must read as "nothing" for the next sender.
                        self.geometry.ring(i).word(0).store(0, Relaxed);
                    }
                    slot.head.value.store(tail, Release);
                    slot.tail.value.store(tail, Release);
                    side.closed.store(0, Release);
                    side.holder.store(0, Release);
                    self.broken[i] = false;
                    self.last_gone = kind;
                }
                _ => held = true,
            }
        }
        (!held && header.news.opened.load(Acquire) != 0).then_some(self.last_gone)
    }

    pub(super) fn close(&mut self) {
        let side = &self.geometry.header().receiver;
        side.closed.store(1, SeqCst);
        let me = ProcessId::this_process().pack();
        let _ = side.holder.compare_exchange(me, 0, AcqRel, Relaxed);
        side.signal.fetch_add(1, SeqCst);
        sys::futex_wake(&side.signal);
    }
}

#[cfg(test)]
mod tests {
    //! Races whose window is too narrow to hit from outside: the other
    //! party's step runs inside it (`race_window`).
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    const ZERO: Option<Duration> = Some(Duration::ZERO);

    /// A cache line of private memory: the header's alignment.
    #[derive(Clone, Copy)]
    #[repr(C, align(64))]
    struct Line([u8; 64]);

    /// A channel of `slots` rings of 64 bytes in private memory (zeroed, 64-aligned as a
    /// segment is).
    fn channel(memory: &mut Vec<Line>, slots: u32) -> Geometry {
        let size = segment_size(slots, 64).unwrap() as usize;
        *memory = vec![Line([0; 64]); size.div_ceil(64)];
        Geometry::init(memory.as_mut_ptr().cast(), size, slots, 64)
    }

    fn call() -> Call {
        named_call("test")
    }

    fn race(window: Window, step: impl FnOnce() + 'static) {
        RACE.with(|race| *race.borrow_mut() = Some((window, Box::new(step))));
    }

    fn recv(receiver: &mut Receiver, timeout: Option<Duration>) -> Result<Vec<u8>> {
        let mut buf = [MaybeUninit::<u8>::uninit(); 64];
        let n = receiver.recv_uninit(&mut buf, timeout)?;
        // SAFETY: recv_uninit wrote the first n bytes.
        Ok(buf[..n]
            .iter()
            .map(|b| unsafe { b.assume_init() })
            .collect())
    }

    /// A sender that closed is followed, in the same process (another thread),
    /// by a new sender that takes its drained slot over and sends, between
    /// the receiver's look at the slot and its mark. The holder word reads the
    /// same before and after (the same process): the receiver must not free
    /// the slot under the new sender, whose messages a next sender would
    /// overwrite, and whose channel would look ended.
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn a_slot_retaken_in_the_same_process_while_the_receiver_frees_it_stays_held() {
        let mut memory = Vec::new();
        let geometry = channel(&mut memory, 2);
        let mut receiver = Receiver::claim(geometry, call).unwrap();
        let mut first = Sender::claim(geometry, call).unwrap();
        first.send(b"one", ZERO).unwrap();
        assert_eq!(recv(&mut receiver, ZERO).unwrap(), b"one");
        first.close();
        let retaken = Rc::new(RefCell::new(None));
        let slot = Rc::clone(&retaken);
        race(Window::BeforeMark, move || {
            let mut sender = Sender::claim(geometry, call).unwrap();
            assert_eq!(sender.slot, 0, "the closed, drained slot is taken over");
            sender.send(b"two", ZERO).unwrap();
            *slot.borrow_mut() = Some(sender);
        });
        assert_eq!(receiver.reap(false), None, "a sender holds slot 0");
        assert!(retaken.borrow().is_some(), "the race ran");
        let me = ProcessId::this_process().pack();
        assert_eq!(geometry.slot(0).side.holder.load(Acquire), me);
        // A third sender takes the other slot, not the one in use.
        let third = Sender::claim(geometry, call).unwrap();
        assert_eq!(third.slot, 1);
        assert_eq!(recv(&mut receiver, ZERO).unwrap(), b"two");
    }

    /// A receiver of many rings spins on all of them at each spin: a short
    /// timeout must end within the spinning after as many ring looks as a
    /// pair's receiver makes (the clock read every `DEADLINE_EVERY` looks),
    /// not after `DEADLINE_EVERY` spins of 1024 looks each (about 1.6 ms past
    /// a 10 µs timeout where this was found). Counted, not timed.
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn a_short_timeout_ends_within_the_spin_however_many_rings() {
        const SLOTS: u32 = 1024;
        let mut memory = Vec::new();
        let geometry = channel(&mut memory, SLOTS);
        // As if every slot had been claimed once (no sender holds one: the stream has not ended).
        geometry.header().news.used.store(SLOTS, Release);
        let mut receiver = Receiver::claim(geometry, call).unwrap();
        LOOKS.with(|looks| looks.set(0));
        let late = recv(&mut receiver, Some(Duration::from_nanos(1))).unwrap_err();
        assert_eq!(late.kind(), ErrorKind::TimedOut, "{late}");
        let looks = LOOKS.with(|looks| looks.get());
        let allowed = 2 * (super::super::DEADLINE_EVERY as usize + SLOTS as usize);
        assert!(
            looks <= allowed,
            "{looks} ring words looked at past the deadline (at most {allowed})"
        );
    }

    /// The voluntary context switches of this thread so far.
    fn sleeps() -> i64 {
        let mut usage = MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: usage is writable; RUSAGE_THREAD reports on this thread.
        let done = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) };
        assert_eq!(done, 0);
        // SAFETY: getrusage filled it.
        unsafe { usage.assume_init() }.ru_nvcsw
    }

    /// The last sender closes after the receiver's last look at the slots
    /// and before it sleeps: its wake-up must not be lost (the receiver
    /// would sleep a whole slice before it sees the end of the stream). The
    /// receiver's thread must not sleep at all (counted by the kernel, not
    /// timed).
    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn a_close_just_before_the_receiver_sleeps_wakes_it() {
        let mut memory = Vec::new();
        let geometry = channel(&mut memory, 1);
        let mut receiver = Receiver::claim(geometry, call).unwrap();
        let mut sender = Sender::claim(geometry, call).unwrap();
        race(Window::BeforeSleep, move || sender.close());
        let before = sleeps();
        let started = std::time::Instant::now();
        let end = recv(&mut receiver, None).unwrap_err();
        let (slept, took) = (sleeps() - before, started.elapsed());
        assert_eq!(end.kind(), ErrorKind::Closed, "{end}");
        assert_eq!(
            slept, 0,
            "the receiver slept ({took:?}) with the close to see"
        );
    }
}
