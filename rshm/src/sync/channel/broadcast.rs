//! One sender, many receivers: one ring that the sender writes without ever
//! waiting, and that every receiver reads at its own private position.
//!
//! Before it writes a record the sender raises `intent` to the record's end
//! (and moves `oldest` past the records it is about to overwrite); it then
//! writes the record and publishes `head`. A receiver reads a record below
//! `head`, copies it, and only then checks `intent` (seqlock style): if the
//! sender may have overwritten the record meanwhile, the copy is thrown away
//! and the call answers `Lagged` (nothing consumed); the receiver's missed
//! count grows by the messages it lost, and it resumes at `oldest`. A lent
//! message (peek) is checked the same way at release. Each record carries its
//! sequence number, so the loss is counted exactly.
//!
//! Where a lapped receiver resumes and the number it expects there are both
//! read from one record (confirmed intact afterwards), never from the cursor's
//! `head` and `count`, which the sender stores one after the other and which
//! therefore never make a reliable pair (see `Receiver::lagged`).
//!
//! Receivers claim slots (`max_peers`) only to be counted and to be woken: the
//! sender never reads them, so a dead or stalled receiver holds nobody back;
//! its slot is taken over by the next receiver to open once it is `Gone`.

use super::broadcast_layout::{Header, EXPECTED, HEADER_SIZE, RECORD_HEADER, SLOT_SIZE};
use super::layout::{largest_whole_record, record_size, Placement, Side, POSITION_LIMIT, SKIP};
use super::lending::{Lent, Reserved};
use super::ring::Ring;
use super::sleep_on;
use super::{ch_call, claim_end, corrupt, holder_liveness, named_call, Role, Wait, LIVENESS_CHECK};
use crate::error::{msg, Call, Error, ErrorKind, Result};
use crate::liveness::{pid_namespace, Liveness, PackedId, ProcessId};
use crate::sync::fence;
use crate::sys;
use std::mem::MaybeUninit;
use std::sync::atomic::{fence as atomic_fence, Ordering::*};
use std::time::{Duration, Instant};

/// A broadcast channel's geometry, read from (and checked against) its segment.
#[derive(Debug, Clone, Copy)]
pub(super) struct Geometry {
    base: *mut u8,
    slots: usize,
    ring: Ring,
}

impl Geometry {
    /// The ring, in bytes.
    pub(super) fn capacity(&self) -> u64 {
        self.ring.capacity
    }

    fn header(&self) -> &Header {
        // SAFETY: the header lies at the segment's start (checked at open/create).
        unsafe { &*(self.base as *const Header) }
    }

    fn slot(&self, i: usize) -> &Side {
        debug_assert!(i < self.slots);
        // SAFETY: i < slots, and the segment holds every slot (checked at open/create).
        unsafe { &*(self.base.add(HEADER_SIZE + i * SLOT_SIZE) as *const Side) }
    }

    fn at(base: *mut u8, slots: u32, capacity: u64) -> Geometry {
        Geometry {
            base,
            slots: slots as usize,
            ring: Ring {
                // SAFETY: the segment holds the header, the slots and the ring (checked by callers).
                base: unsafe { base.add(HEADER_SIZE + slots as usize * SLOT_SIZE) },
                capacity,
            },
        }
    }

    /// Writes the header of a new channel in `base` (zeroed, large enough).
    pub(super) fn init(base: *mut u8, slots: u32, capacity: u64) -> Geometry {
        // SAFETY: the segment is new, 8-aligned and large enough for the header.
        unsafe { EXPECTED.init(base, slots, capacity) };
        Geometry::at(base, slots, capacity)
    }

    /// The geometry of the channel in `base` (`size` bytes), checked.
    pub(super) fn read(base: *mut u8, size: usize, call: impl Fn() -> Call) -> Result<Geometry> {
        let (slots, capacity) = EXPECTED.read(base, size, call)?;
        Ok(Geometry::at(base, slots, capacity))
    }

    /// The largest message: half the ring, less the record's 16-byte header.
    fn max_message(&self) -> usize {
        (largest_whole_record(self.ring.capacity) - RECORD_HEADER).min(u32::MAX as u64) as usize
    }
}

/// The record size of a message of `len` bytes.
fn record(len: usize) -> u64 {
    record_size(len) + RECORD_HEADER - 8
}

fn claim_side(side: &Side, me: u64) {
    side.namespace.store(pid_namespace(), Relaxed);
    side.namespace_of.store(me, Release);
}

/// The sending end of a broadcast channel.
#[derive(Debug)]
pub(super) struct Sender {
    geometry: Geometry,
    /// The head (private).
    position: u64,
    /// The intent as this sender last wrote it.
    intent: u64,
    /// The oldest whole record, as this sender keeps track of it.
    oldest: u64,
    /// The next message's sequence number.
    count: u64,
    reserved: Reserved,
}

impl Sender {
    /// Claims the sending end (a dead sender's is taken over).
    pub(super) fn claim(geometry: Geometry, call: impl Fn() -> Call) -> Result<Sender> {
        let side = &geometry.header().sender;
        let me = claim_end(side, Role::Sender, &call)?;
        side.closed.store(0, SeqCst);
        fence::register();
        let cursor = &geometry.header().cursor;
        let capacity = geometry.ring.capacity;
        let head = cursor.head.load(Acquire);
        if head % 8 != 0 || head >= POSITION_LIMIT {
            let _ = side.holder.compare_exchange(me, 0, AcqRel, Relaxed);
            let reason = msg!("the head {} does not fit a ring of {}", head, capacity);
            return Err(corrupt(call(), reason));
        }
        let intent = cursor.intent.load(Acquire);
        let intent = if intent >= head && intent - head <= capacity {
            intent
        } else {
            head
        };
        let oldest = cursor.oldest.load(Acquire);
        let oldest = if oldest % 8 == 0 && oldest <= head && head - oldest <= capacity {
            oldest
        } else {
            head
        };
        Ok(Sender {
            geometry,
            position: head,
            intent,
            oldest,
            count: cursor.count.load(Acquire),
            reserved: Reserved::default(),
        })
    }

    pub(super) fn max_reservation(&self) -> usize {
        self.geometry.max_message()
    }

    /// Where a message of `len` bytes goes; raises `intent` and moves
    /// `oldest` past what it will overwrite, before anything is written.
    fn make_room(&mut self, len: usize, call: impl Fn() -> Call) -> Result<Placement> {
        if len > self.geometry.max_message() {
            let reason = msg!(
                "a message may hold at most {} bytes in this broadcast channel (half its ring, less a 16-byte record header)",
                self.geometry.max_message()
            );
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        }
        let ring = self.geometry.ring;
        let placement = Placement::of(
            self.position,
            ring.offset(self.position),
            record(len),
            ring.capacity,
        );
        let end = self.position + placement.need;
        if end >= POSITION_LIMIT {
            let reason = msg!("the channel has carried 2^63 bytes; positions would overflow");
            return Err(corrupt(call(), reason));
        }
        let cursor = &self.geometry.header().cursor;
        self.intent = self.intent.max(end);
        cursor.intent.store(self.intent, Relaxed);
        // The records this one overwrites, even in part, are lost: the oldest whole one follows them.
        let floor = self.intent.saturating_sub(ring.capacity);
        while self.oldest < floor {
            if self.oldest >= self.position {
                self.oldest = self.position;
                break;
            }
            let word = ring.word(self.oldest).load(Relaxed);
            let step = match word {
                SKIP => Some(ring.room_to_end(self.oldest)),
                word => ring.message_len(word, RECORD_HEADER).map(record),
            };
            match step {
                Some(step) if step > 0 => self.oldest += step,
                // Not this sender's record (a writer of the segment changed it): start afresh.
                _ => self.oldest = self.position,
            }
        }
        cursor.oldest.store(self.oldest, Relaxed);
        // Orders intent (and oldest) before the writes that follow, against readers'
        // acquire fence after their copy.
        atomic_fence(Release);
        Ok(placement)
    }

    /// Publishes the record at `placement` (bytes in place): its sequence
    /// number, its length word, the skip marker, then the head.
    fn publish(&mut self, placement: Placement, len: usize) {
        let ring = self.geometry.ring;
        ring.word(placement.at + 8).store(self.count, Relaxed);
        ring.word(placement.at).store(len as u64 + 1, Relaxed);
        if let Some(from) = placement.skip_from {
            ring.word(from).store(SKIP, Relaxed);
        }
        self.count += 1;
        self.position = placement.at + record(len);
        let header = self.geometry.header();
        header.cursor.count.store(self.count, Relaxed);
        header.cursor.head.store(self.position, Release);
        fence::light();
        if header.news.sleepers.load(Relaxed) != 0 {
            header.news.sent.fetch_add(1, SeqCst);
            sys::futex_wake(&header.news.sent);
        }
    }

    pub(super) fn send(&mut self, message: &[u8]) -> Result<()> {
        let len = message.len();
        let call = || ch_call("channel_send", len);
        self.reserved.check_none(call)?;
        let placement = self.make_room(len, call)?;
        // SAFETY: the record lies in one piece of the ring; len + 16 <= capacity / 2.
        unsafe {
            self.geometry
                .ring
                .copy_in(placement.at + RECORD_HEADER, message.as_ptr(), len)
        };
        self.publish(placement, len);
        Ok(())
    }

    pub(super) fn reserve(&mut self, len: usize) -> Result<*mut u8> {
        let call = || ch_call("channel_reserve", len);
        self.reserved.check_none(call)?;
        let placement = self.make_room(len, call)?;
        self.reserved.open(placement, len);
        Ok(self.geometry.ring.at(placement.at + RECORD_HEADER))
    }

    pub(super) fn commit(&mut self, len: usize) -> Result<()> {
        let call = || ch_call("channel_commit", len);
        let placement = self.reserved.commit(len, call)?;
        self.publish(placement, len);
        Ok(())
    }

    /// Gives the reservation back: nothing is published (the records it
    /// made room for may be lost to lagging receivers all the same).
    pub(super) fn cancel(&mut self) -> Result<()> {
        self.reserved.cancel()
    }

    pub(super) fn close(&mut self) {
        let header = self.geometry.header();
        header.sender.closed.store(1, SeqCst);
        let me = ProcessId::this_process().pack();
        let _ = header
            .sender
            .holder
            .compare_exchange(me, 0, AcqRel, Relaxed);
        header.news.sent.fetch_add(1, SeqCst);
        sys::futex_wake(&header.news.sent);
    }
}

/// The receiving end of a broadcast channel.
#[derive(Debug)]
pub(super) struct Receiver {
    geometry: Geometry,
    slot: usize,
    /// This receiver's position (private).
    position: u64,
    /// The next message's sequence number, when it is known: after a message
    /// was read, or a lap resumed at a record whose number was read.
    next_seq: Option<u64>,
    /// While `next_seq` is unknown, the first sequence number not yet counted
    /// as received or missed (the count at open, or where a lap left off): the
    /// next record read settles `missed` against it.
    floor: u64,
    /// Messages lost to the sender lapping this receiver, since open.
    missed: u64,
    /// When the sender was last judged (coarse monotonic ns).
    last_judged: u64,
    /// The message lent (position, length, sequence number).
    lent: Lent<(u64, usize, u64)>,
}

impl Receiver {
    /// Claims a receiver slot (a free one, or a `Gone` holder's): `NoSpace` when all are held.
    pub(super) fn claim(geometry: Geometry, call: impl Fn() -> Call) -> Result<Receiver> {
        let me = ProcessId::this_process().pack();
        let news = &geometry.header().news;
        let claimed = (0..geometry.slots).find(|&i| {
            let slot = geometry.slot(i);
            let holder = slot.holder.load(Acquire);
            let free = holder == 0 || holder_liveness(slot, holder) == Liveness::Gone;
            if !free
                || slot
                    .holder
                    .compare_exchange(holder, me, AcqRel, Acquire)
                    .is_err()
            {
                return false;
            }
            // A dead receiver may have died asleep: its count goes with it.
            if slot.sleeping.swap(0, SeqCst) != 0 {
                let _ = news
                    .sleepers
                    .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
            }
            claim_side(slot, me);
            true
        });
        let Some(slot) = claimed else {
            let reason = msg!(
                "all {} receiver slots of the channel are held (max_peers)",
                geometry.slots
            );
            return Err(Error::new(ErrorKind::NoSpace, call(), reason));
        };
        fence::register();
        let cursor = &geometry.header().cursor;
        let head = cursor.head.load(Acquire);
        let count = cursor.count.load(Acquire);
        if head % 8 != 0 || head >= POSITION_LIMIT {
            let _ = geometry
                .slot(slot)
                .holder
                .compare_exchange(me, 0, AcqRel, Relaxed);
            let reason = msg!("the head {} does not fit the ring", head);
            return Err(corrupt(call(), reason));
        }
        Ok(Receiver {
            geometry,
            slot,
            position: head,
            next_seq: None,
            floor: count,
            missed: 0,
            last_judged: 0,
            lent: Lent::default(),
        })
    }

    pub(super) fn missed(&self) -> u64 {
        self.missed
    }

    /// The largest reservation of the channel's sender (every message is lent whole).
    pub(super) fn max_reservation(&self) -> usize {
        self.geometry.max_message()
    }

    /// Whether the record at `at` is still intact: the sender has not raised
    /// its intent past it. Called after the record was read (the fence orders the reads first).
    fn intact(&self, at: u64) -> bool {
        atomic_fence(Acquire);
        self.geometry.header().cursor.intent.load(Relaxed) <= at + self.geometry.ring.capacity
    }

    /// This receiver was lapped: moves to a record still in the ring, counts
    /// what it lost, and answers `Lagged`.
    ///
    /// The resume point and its sequence number must agree, or the next
    /// record read looks like a gap (`Corrupt`) from an honest sender. They
    /// are never taken from the cursor's `head` and `count`: the sender stores
    /// those one after the other while it runs, so no order of reading the
    /// two gives a matching pair. The number is read from the record itself,
    /// then confirmed intact (`resume_point`). Should the sender overwrite
    /// every record looked at, the receiver goes on at the head with its
    /// number unknown, and the first record read there settles the count.
    fn lagged(&mut self, call: impl Fn() -> Call) -> Error {
        let expected = self.next_seq.unwrap_or(self.floor);
        let reason = match self.resume_point(expected) {
            Some((position, seq)) => {
                let lost = seq - expected;
                self.missed = self.missed.saturating_add(lost);
                self.position = position;
                self.next_seq = Some(seq);
                msg!(
                    "the sender lapped this receiver: {} messages lost ({} since open); the next call returns the oldest message still in the ring",
                    lost,
                    self.missed
                )
            }
            None => {
                let cursor = &self.geometry.header().cursor;
                let head = cursor.head.load(Acquire);
                self.next_seq = None;
                self.floor = expected;
                if head % 8 == 0 && head < POSITION_LIMIT && head > self.position {
                    self.position = head;
                    // Every message before the head is lost. `count`, read after the
                    // head, is at least the number of the record that will lie there
                    // (more only if the sender published meanwhile: the first record
                    // read there gives the excess back).
                    self.floor = cursor.count.load(Acquire).max(expected);
                    self.missed = self.missed.saturating_add(self.floor - expected);
                }
                msg!(
                    "the sender lapped this receiver, and again while it looked for the oldest message: it goes on at the head, {} messages lost ({} since open)",
                    self.floor - expected,
                    self.missed
                )
            }
        };
        Error::new(ErrorKind::Lagged, call(), reason)
    }

    /// Where a lapped receiver resumes, and that record's sequence number
    /// (at least `expected`): the oldest record (`oldest`), or, once it was
    /// overwritten while looked at a few times, the record at a head seen on
    /// an earlier look (published since, so nearly a ring from being
    /// overwritten). `None` if every look failed.
    ///
    /// `oldest` at this receiver's own position is passed over from the first
    /// look: the sender has just overwritten the record before it (a message
    /// lent or copied while the sender wrote it), so it is the record the
    /// sender overwrites next, and a receiver that resumed there would most
    /// likely lose that read too; a record near the head leaves it a ring.
    fn resume_point(&self, expected: u64) -> Option<(u64, u64)> {
        const LOOKS: usize = 8;
        /// Looks at `oldest` alone before a head seen earlier is tried too.
        const OLDEST_ONLY: usize = 3;
        let cursor = &self.geometry.header().cursor;
        let mut earlier = None;
        for look in 0..LOOKS {
            let head = cursor.head.load(Acquire);
            if head % 8 != 0 || head >= POSITION_LIMIT {
                return None;
            }
            let oldest = cursor.oldest.load(Acquire);
            let next_overwritten = oldest <= self.position;
            let found = (!next_overwritten)
                .then(|| self.record_at(oldest, head, expected))
                .flatten()
                .or_else(|| earlier.and_then(|at| self.record_at(at, head, expected)));
            if found.is_some() {
                return found;
            }
            if next_overwritten || look + 1 >= OLDEST_ONLY {
                earlier = Some(head);
            }
            std::hint::spin_loop();
        }
        None
    }

    /// The record at `at` (a record's start, or a skip marker before one) as
    /// a resume point: `at` and the record's sequence number, if `at` lies
    /// between this receiver's position and `head` (so the record is
    /// published), both words read are intact, and the number is at least
    /// `expected` (never back over what was read).
    fn record_at(&self, at: u64, head: u64, expected: u64) -> Option<(u64, u64)> {
        let ring = self.geometry.ring;
        if at % 8 != 0 || at < self.position || at >= head || head - at > ring.capacity {
            return None;
        }
        let mut record = at;
        if ring.word(at).load(Acquire) == SKIP {
            record = at + ring.room_to_end(at);
            if record >= head {
                return None;
            }
        }
        let seq = ring.word(record + 8).load(Acquire);
        // `at` is the lower of the two words read: intact there, intact both.
        (self.intact(at) && seq >= expected).then_some((at, seq))
    }

    /// The next record (position, length, sequence number), waiting for one
    /// at most `timeout`; not yet validated against `intent` for its bytes.
    fn next_record(
        &mut self,
        wait: Wait,
        cap: usize,
        timeout: Option<Duration>,
    ) -> Result<(u64, usize, u64)> {
        let call = || wait.call(cap);
        let deadline = crate::sync::deadline(timeout);
        let geometry = self.geometry;
        let ring = geometry.ring;
        let header = geometry.header();
        loop {
            let head = header.cursor.head.load(Acquire);
            let at = self.position;
            if head % 8 != 0 || head >= POSITION_LIMIT || head < at {
                let reason = msg!(
                    "the sender's head {} is behind this receiver's position {}",
                    head,
                    at
                );
                return Err(corrupt(call(), reason));
            }
            if head - at > ring.capacity {
                return Err(self.lagged(call));
            }
            if head == at {
                self.wait(wait, cap, timeout, deadline)?;
                continue;
            }
            let word = ring.word(at).load(Acquire);
            if word == SKIP {
                let to_end = ring.room_to_end(at);
                if !self.intact(at) {
                    return Err(self.lagged(call));
                }
                if to_end == ring.capacity {
                    return Err(corrupt(
                        call(),
                        msg!("a skip marker at the start of the ring"),
                    ));
                }
                self.position = at + to_end;
                continue;
            }
            let len = ring.message_len(word, RECORD_HEADER).filter(|&len| {
                len <= self.geometry.max_message() && ring.in_one_piece(at, record(len))
            });
            let seq = ring.word(at + 8).load(Acquire);
            if !self.intact(at) {
                return Err(self.lagged(call));
            }
            let Some(len) = len else {
                let reason = msg!(
                    "a record claims {} bytes, which do not fit the ring",
                    word.wrapping_sub(1)
                );
                return Err(corrupt(call(), reason));
            };
            if at + record(len) > head {
                let reason = msg!(
                    "a record of {} bytes at {} reaches past the head {}",
                    len,
                    at,
                    head
                );
                return Err(corrupt(call(), reason));
            }
            match self.next_seq {
                Some(expected) if expected != seq => {
                    let reason = msg!(
                        "the record at {} has sequence number {}, not the {} expected",
                        at,
                        seq,
                        expected
                    );
                    return Err(corrupt(call(), reason));
                }
                Some(_) => {}
                // The first record since open or since a lap resumed at the head:
                // what lies between `floor` and it was lost (none after an open); a
                // record below `floor` (published while the head and the count were
                // read) was counted as lost at the lap, and is not.
                None => {
                    self.missed = match seq.checked_sub(self.floor) {
                        Some(lost) => self.missed.saturating_add(lost),
                        None => self.missed.saturating_sub(self.floor - seq),
                    };
                    self.next_seq = Some(seq);
                }
            }
            return Ok((at, len, seq));
        }
    }

    /// Waits for the head to move (the ring is empty for this receiver): the
    /// end of the stream if the sender is gone.
    fn wait(
        &mut self,
        wait: Wait,
        cap: usize,
        timeout: Option<Duration>,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let call = || wait.call(cap);
        let geometry = self.geometry;
        let header = geometry.header();
        // The end of the stream is seen after the head was: the sender may have
        // published between the two, and what it published is read first.
        if header.sender.closed.load(Acquire) != 0 {
            if header.cursor.head.load(Acquire) != self.position {
                return Ok(());
            }
            // Everything the sender stored before it closed is seen, and its
            // head is this receiver's position.
            self.settle_at_end();
            return Err(Error::new(
                ErrorKind::Closed,
                call(),
                msg!("the sender closed the channel"),
            ));
        }
        let now = sys::coarse_now_ns();
        if now.wrapping_sub(self.last_judged) >= LIVENESS_CHECK.as_nanos() as u64 {
            self.last_judged = now;
            let holder = header.sender.holder.load(Acquire);
            if holder != 0 && holder_liveness(&header.sender, holder) == Liveness::Gone {
                if header.cursor.head.load(Acquire) != self.position {
                    self.last_judged = 0; // judged again once that is read
                    return Ok(());
                }
                self.settle_at_end();
                let reason = msg!("the sender (pid {}) died", PackedId::from_word(holder).id());
                return Err(Error::new(ErrorKind::PeerDied, call(), reason));
            }
        }
        let left = wait.time_left(cap, timeout, deadline)?;
        let slot = self.geometry.slot(self.slot);
        let seen = header.news.sent.load(SeqCst);
        slot.sleeping.store(1, SeqCst);
        header.news.sleepers.fetch_add(1, SeqCst);
        let fenced = fence::heavy();
        let moved = header.cursor.head.load(SeqCst) != self.position
            || header.sender.closed.load(SeqCst) != 0;
        if !moved {
            sleep_on(&header.news.sent, seen, fenced, left);
        }
        let _ = header
            .news
            .sleepers
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
        slot.sleeping.store(0, SeqCst);
        Ok(())
    }

    /// At the end of the stream (the sender gone, its head at this receiver's
    /// position): the count is the number of the message that would have come
    /// next, which settles what a lap that resumed at the head lost.
    fn settle_at_end(&mut self) {
        if self.next_seq.is_none() {
            let count = self.geometry.header().cursor.count.load(Acquire);
            self.missed = self.missed.saturating_add(count.saturating_sub(self.floor));
            self.floor = self.floor.max(count);
        }
    }

    /// Takes the record at `at` as read.
    fn consume(&mut self, at: u64, len: usize, seq: u64) {
        self.position = at + record(len);
        self.next_seq = Some(seq.wrapping_add(1));
    }

    pub(super) fn recv_uninit(
        &mut self,
        buf: &mut [MaybeUninit<u8>],
        timeout: Option<Duration>,
    ) -> Result<usize> {
        let cap = buf.len();
        let call = || ch_call("channel_recv", cap);
        self.lent.check_none(call)?;
        let (at, len, seq) = self.next_record(Wait::Recv, cap, timeout)?;
        if len > cap {
            let reason = msg!(
                "the next message holds {} bytes, more than the buffer's {}; it stays in the channel",
                len,
                cap
            );
            return Err(Error::new(ErrorKind::OutOfBounds, call(), reason));
        }
        // SAFETY: len <= cap, and the record lies in one piece of the ring (next_record).
        unsafe {
            self.geometry
                .ring
                .copy_out(at + RECORD_HEADER, buf.as_mut_ptr().cast(), len)
        };
        if !self.intact(at) {
            return Err(self.lagged(call));
        }
        self.consume(at, len, seq);
        Ok(len)
    }

    pub(super) fn peek(&mut self, timeout: Option<Duration>) -> Result<(*const u8, usize)> {
        let call = || named_call("channel_peek");
        self.lent.check_none(call)?;
        let (at, len, seq) = self.next_record(Wait::Peek, 0, timeout)?;
        self.lent.lend((at, len, seq));
        Ok((self.geometry.ring.at(at + RECORD_HEADER), len))
    }

    /// Takes the lent message as read; `Lagged` if the sender may have
    /// overwritten it while it was lent (what was read of it is not the message).
    pub(super) fn release(&mut self) -> Result<()> {
        let call = || named_call("channel_release");
        let (at, len, seq) = self.lent.release()?;
        let intact = self.intact(at);
        self.consume(at, len, seq);
        if !intact {
            // The lent message counts as lost, and so does whatever else was overwritten.
            self.next_seq = Some(seq);
            return Err(self.lagged(call));
        }
        Ok(())
    }

    pub(super) fn pending_len(&self) -> Option<usize> {
        let ring = self.geometry.ring;
        let head = self.geometry.header().cursor.head.load(Acquire);
        let mut at = self.position;
        if head <= at || head - at > ring.capacity {
            return None;
        }
        let mut word = ring.word(at).load(Acquire);
        if word == SKIP {
            at += ring.room_to_end(at);
            if at >= head {
                return None;
            }
            word = ring.word(at).load(Acquire);
        }
        let len = ring.message_len(word, RECORD_HEADER)?;
        self.intact(at).then_some(len)
    }

    pub(super) fn close(&mut self) {
        let slot = self.geometry.slot(self.slot);
        let me = ProcessId::this_process().pack();
        let _ = slot.holder.compare_exchange(me, 0, AcqRel, Relaxed);
    }
}
