//! One to many: one sender, 1 or 2 receivers, each receiver getting every
//! message (rshm's broadcast channel; iceoryx2's publish-subscribe in
//! `iox.rs`), measured in time per *delivered* message: the wall time over
//! the messages that reached any receiver.
//!
//! Placement: the sender is forked onto CPU 1 alone; the receivers share
//! CPU 0 (this process is one of them and times the batches; a second is
//! forked onto CPU 0 too). Receivers wait without burning the CPU they
//! share: rshm's spin briefly, then sleep on a futex; iceoryx2's poll and
//! yield the CPU after [`SPINS`] empty polls (a notification per sample
//! through its event service would cost its sender a syscall per message).
//! A lone iceoryx2 subscriber, which shares its CPU with nobody, only spins.
//!
//! The protocol, on a [`Board`] shared by all: the sender makes the channel
//! (or service) and says so; each receiver opens its end and checks in; the
//! sender waits for all of them, then sends messages numbered 0, 1, 2...
//! until this process says stop, then an end marker ([`END`]), and waits
//! until every receiver has read it. Each receiver checks that the numbers
//! it gets only grow (by exactly one where nothing may be lost) and
//! publishes how many it got on a line of its own; this process counts its
//! own. A batch's time divided by the messages delivered to all receivers
//! during it ([`Plan::run_counted`]) is the measurement.

use crate::method::{Batches, Plan};
use crate::peer::{fork_peer_on, Peer, SharedPage};
use rshm::{Channel, ChannelOptions, ErrorKind, Role};
use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering::*};

/// The CPU of the sender; the receivers have CPU 0.
const SENDER_CPU: usize = 1;
const RECEIVERS_CPU: usize = 0;
/// Empty polls before a polling receiver starts yielding the CPU: few, as
/// the receivers share a CPU (4000, as many as rshm's channel spins before
/// it sleeps, gave iceoryx2 with 2 subscribers no better times here).
pub const SPINS: u32 = 64;
/// The sequence number of the end marker.
pub const END: u64 = u64::MAX;
/// What a receiving function returns instead of a number when its end
/// answered a protocol error and it reopened it (counted, reported).
pub const REOPENED: u64 = u64::MAX - 1;

/// The most receivers a case has.
pub const MAX_RECEIVERS: usize = 8;

/// What the parties share: flags and counters, each on a line of its own.
pub struct Board(SharedPage);

impl Board {
    fn new() -> Board {
        Board(SharedPage::new())
    }
    /// The sender has made the channel or service.
    pub fn made(&self) -> &AtomicU64 {
        self.0.word(0)
    }
    /// Receivers that have opened their ends.
    pub fn ready(&self) -> &AtomicU64 {
        self.0.word(8)
    }
    /// This process has measured enough: the sender ends the stream.
    pub fn stop(&self) -> &AtomicU64 {
        self.0.word(16)
    }
    /// Receivers that have read the end marker.
    pub fn finished(&self) -> &AtomicU64 {
        self.0.word(24)
    }
    /// Messages delivered to receiver `j` (1..: the forked ones).
    fn delivered(&self, j: usize) -> &AtomicU64 {
        self.0.word(32 + 8 * j)
    }
    /// Messages receiver `j` saw skipped (numbers that never reached it).
    fn skipped(&self, j: usize) -> &AtomicU64 {
        self.0.word(33 + 8 * j)
    }

    /// Receivers that had to reopen their end after a protocol error (`Corrupt`).
    fn reopened(&self) -> &AtomicU64 {
        self.0.word(104)
    }

    /// Waits (yielding) until `word` reaches `value`.
    pub fn wait_for(word: &AtomicU64, value: u64) {
        while word.load(Acquire) < value {
            std::thread::yield_now();
        }
    }
}

/// Totals over the run's one-to-many cases, for the report.
static DELIVERED: AtomicU64 = AtomicU64::new(0);
static DELIVERED_LOSSLESS: AtomicU64 = AtomicU64::new(0);
static SKIPPED: AtomicU64 = AtomicU64::new(0);
static REOPENINGS: AtomicU64 = AtomicU64::new(0);

/// Messages delivered to receivers where none may be lost (iceoryx2's).
pub fn delivered_lossless() -> u64 {
    DELIVERED_LOSSLESS.load(Relaxed)
}

/// Messages delivered to receivers, numbers skipped (lost to a lagging
/// receiver), and receivers reopened after a protocol error, over all
/// one-to-many cases of the run.
pub fn totals() -> (u64, u64, u64) {
    (
        DELIVERED.load(Relaxed),
        SKIPPED.load(Relaxed),
        REOPENINGS.load(Relaxed),
    )
}

/// A receiver's bookkeeping: the last number it got, what it got and skipped.
struct Tally {
    next: u64,
    got: u64,
    skipped: u64,
    lossless: bool,
}

impl Tally {
    /// A receiver's tally before its first message.
    fn new(lossless: bool) -> Tally {
        Tally {
            next: 0,
            got: 0,
            skipped: 0,
            lossless,
        }
    }

    /// Takes message number `seq`: false for the end marker. A reopened
    /// end is counted on `board`, and its receiver goes on.
    fn take(&mut self, seq: u64, board: &Board) -> bool {
        if seq == END {
            return false;
        }
        if seq == REOPENED {
            board.reopened().fetch_add(1, AcqRel);
            return true;
        }
        assert!(
            seq >= self.next,
            "message {seq} after {}: out of order",
            self.next
        );
        if self.lossless {
            assert_eq!(seq, self.next, "a message lost");
        }
        self.skipped += seq - self.next;
        self.next = seq + 1;
        self.got += 1;
        true
    }
}

/// Runs a one-to-many case with `receivers` receivers.
///
/// - `sender(board)` runs in the sender's process: it makes the channel or
///   service, raises `made`, waits for `ready` to reach `receivers`, sends
///   numbered messages until `stop`, then [`END`], and (iceoryx2, whose
///   subscribers would lose what they have not read) waits for `finished`
///   to reach `receivers` before it closes.
/// - `open()` runs in each receiver's process once `made` is up, and returns
///   its receiving function: each call returns the number of the next
///   message it got (after any lag), having checked its contents.
/// - `lossless`: numbers must come without gaps (iceoryx2, whose sender
///   waits for a full subscriber).
pub fn run<R: FnMut() -> u64>(
    plan: &Plan,
    receivers: usize,
    lossless: bool,
    sender: impl FnOnce(&Board),
    open: impl Fn() -> R,
) -> Batches {
    assert!((1..=MAX_RECEIVERS).contains(&receivers));
    let board = Board::new();
    let sending = fork_peer_on(SENDER_CPU, || sender(&board));
    let mut others: Vec<Peer> = Vec::new();
    for j in 1..receivers {
        let (board, open) = (&board, &open);
        others.push(fork_peer_on(RECEIVERS_CPU, move || {
            Board::wait_for(board.made(), 1);
            let mut recv = open();
            board.ready().fetch_add(1, AcqRel);
            let mut tally = Tally::new(lossless);
            while tally.take(recv(), board) {
                board.delivered(j).store(tally.got, Relaxed);
            }
            board.skipped(j).store(tally.skipped, Relaxed);
            board.finished().fetch_add(1, AcqRel);
        }));
    }
    Board::wait_for(board.made(), 1);
    let mut recv = open();
    board.ready().fetch_add(1, AcqRel);
    let mut tally = Tally::new(lossless);
    let got = std::cell::Cell::new(0u64);
    let batches = plan.run_counted(
        || loop {
            let seq = recv();
            assert!(tally.take(seq, &board), "the stream ended early");
            if seq != REOPENED {
                got.set(tally.got);
                break;
            }
        },
        || {
            got.get()
                + (1..receivers)
                    .map(|j| board.delivered(j).load(Relaxed))
                    .sum::<u64>()
        },
    );
    board.stop().store(1, Release);
    while tally.take(recv(), &board) {}
    board.finished().fetch_add(1, AcqRel);
    sending.wait();
    for peer in others {
        peer.wait();
    }
    let delivered = tally.got
        + (1..receivers)
            .map(|j| board.delivered(j).load(Relaxed))
            .sum::<u64>();
    let skipped = tally.skipped
        + (1..receivers)
            .map(|j| board.skipped(j).load(Relaxed))
            .sum::<u64>();
    DELIVERED.fetch_add(delivered, Relaxed);
    if lossless {
        DELIVERED_LOSSLESS.fetch_add(delivered, Relaxed);
    }
    SKIPPED.fetch_add(skipped, Relaxed);
    REOPENINGS.fetch_add(board.reopened().load(Acquire), Relaxed);
    batches
}

/// Polls `poll` until it gives something: spins `spins` times, then
/// yields the CPU between polls (for receivers that share a CPU; a lone
/// receiver passes `u32::MAX` and only spins, as the pairs' cases do).
pub fn poll_yielding<T>(spins: u32, mut poll: impl FnMut() -> Option<T>) -> T {
    let mut empty = 0u32;
    loop {
        if let Some(x) = poll() {
            return x;
        }
        if empty < spins {
            empty += 1;
            spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Writes message `seq` of `len` bytes: the number in the first 8 bytes,
/// the rest filled with its low byte.
///
/// # Safety
/// `at` points to `len` (>= 8, a multiple of 8) writable bytes.
pub unsafe fn write_numbered(at: *mut u8, len: usize, seq: u64) {
    std::ptr::write_bytes(at.add(8), seq as u8, len - 8);
    std::ptr::copy_nonoverlapping(seq.to_ne_bytes().as_ptr(), at, 8);
}

/// Reads all of a message [`write_numbered`] wrote: its number and the sum
/// of the rest, for [`check_numbered`] (after a zero-copy read has been
/// validated: bytes being overwritten may not match).
pub fn read_numbered(bytes: &[u8]) -> (u64, u64) {
    let seq = u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"));
    (seq, crate::cases::read_all(&bytes[8..]))
}

/// Checks what [`read_numbered`] read from a message of `len` bytes: its number.
pub fn check_numbered(len: usize, (seq, sum): (u64, u64)) -> u64 {
    let expected = u64::from_ne_bytes([seq as u8; 8]).wrapping_mul((len / 8 - 1) as u64);
    assert_eq!(
        sum, expected,
        "message {seq}: its bytes do not match its number"
    );
    seq
}

/// Makes `seq` a message of `message.len()` bytes (see [`write_numbered`]).
fn number(message: &mut [u8], seq: u64) {
    // SAFETY: the whole of `message`, whose length is a multiple of 8.
    unsafe { write_numbered(message.as_mut_ptr(), message.len(), seq) };
}

/// Messages of at least this size go zero-copy through the rshm channel
/// (reserve/commit, peek/release), as through iceoryx2's loans; smaller ones
/// through `send`/`recv`, whose copies cost less than a lend's bookkeeping.
const ZERO_COPY_FROM: usize = 4096;

/// The rshm broadcast ring: 1 MiB (16 messages of 64 KiB and their words).
fn rshm_ring(size: usize) -> usize {
    if size >= ZERO_COPY_FROM {
        16 * (size + 8)
    } else {
        1 << 20
    }
}

/// One to many through an rshm broadcast channel: the sender makes it with
/// `max_peers` = `receivers`; every receiver opens its end. A receiver that
/// falls a ring behind gets `Lagged` and goes on from the oldest message in
/// the ring (the numbers it skipped are counted, not delivered). At 64 KiB
/// the sender fills a reservation in place and each receiver reads the lent
/// message in place, then releases it: a release that answers `Lagged` (the
/// sender overwrote the message while it was read) discards what was read.
pub fn rshm(size: usize, receivers: usize, plan: &Plan) -> Batches {
    let key = crate::cases::key();
    let zero_copy = size >= ZERO_COPY_FROM;
    run(
        plan,
        receivers,
        false,
        |board| {
            let mut tx = Channel::create(
                ChannelOptions::new()
                    .key(key)
                    .broadcast(true)
                    .max_peers(receivers as u32)
                    .remove_on_close(true),
                rshm_ring(size),
                Role::Sender,
            )
            .expect("rshm: cannot create the broadcast channel");
            board.made().store(1, Release);
            Board::wait_for(board.ready(), receivers as u64);
            let mut message = vec![0u8; size];
            let mut seq = 0u64;
            loop {
                let stop = board.stop().load(Relaxed) != 0;
                let n = if stop { END } else { seq };
                if zero_copy {
                    let mut room = tx.reserve(size, None).expect("rshm: reserve failed");
                    // SAFETY: the reservation lends `size` writable bytes.
                    unsafe { write_numbered(room.as_mut_ptr(), size, n) };
                    room.commit(size).expect("rshm: commit failed");
                } else {
                    number(&mut message, n);
                    tx.send(&message, None).expect("rshm: send failed");
                }
                if stop {
                    break;
                }
                seq += 1;
            }
            // Closes at once: a receiver reads what remains, then gets
            // `Closed` (which ends its stream too, should it have been
            // lapped past the end marker).
        },
        || {
            let open = || {
                Channel::open(ChannelOptions::new().key(key), Role::Receiver)
                    .expect("rshm: cannot open the broadcast channel")
            };
            let mut end = Some(open());
            let mut buf = vec![0u8; size];
            move || loop {
                let rx = end.as_mut().expect("an open end");
                let answer = if zero_copy {
                    let read = rx.peek(None).map(|lent| {
                        assert_eq!(lent.len(), size);
                        let read = read_numbered(&lent);
                        let _ = lent.into_raw();
                        read
                    });
                    read.and_then(|read| rx.release().map(|()| read))
                } else {
                    rx.recv(&mut buf, None).map(|n| read_numbered(&buf[..n]))
                };
                match answer {
                    Ok(read) => return check_numbered(size, read),
                    Err(e) if e.kind() == ErrorKind::Lagged => continue,
                    Err(e) if e.kind() == ErrorKind::Closed => return END,
                    // A protocol error (a bug, or a hostile writer: neither
                    // is expected here) is reported and survived by
                    // reopening: the new end reads on from the messages sent
                    // after it opened, still in order.
                    Err(e) if e.kind() == ErrorKind::Corrupt => {
                        eprintln!("rshm broadcast receiver: {e}; reopening");
                        end = None; // closes the end, freeing its slot
                        end = Some(open());
                        return REOPENED;
                    }
                    Err(e) => panic!("rshm broadcast receiver: {e}"),
                }
            }
        },
    )
}

/// What reading a 64 KiB message costs this CPU, whatever carries it:
/// the median ns to read (`read_all`) 64 KiB that a peer on the sender's CPU
/// has just written, and to read the same bytes again at once (now in this
/// CPU's cache). Ping-pong, one buffer of 16 at a time, nothing else running:
/// a one-to-many receiver reading in place pays the first for every message
/// it is the first on its CPU to read, and the second at best for a message
/// another receiver on its CPU has just read.
pub fn read_costs(size: usize) -> (f64, f64) {
    const BUFFERS: usize = 16;
    const ROUNDS: usize = 400;
    let buffers = crate::peer::SharedMem::new(BUFFERS * size);
    let turn = SharedPage::new();
    let at = |n: usize| buffers.ptr().wrapping_add((n % BUFFERS) * size);
    let writer = fork_peer_on(SENDER_CPU, || {
        for n in 0..ROUNDS {
            while turn.word(0).load(Acquire) != 2 * n as u64 {
                spin_loop();
            }
            // SAFETY: buffer n % BUFFERS, `size` bytes inside the mapping.
            unsafe { write_numbered(at(n), size, n as u64) };
            turn.word(0).store(2 * n as u64 + 1, Release);
        }
    });
    let (mut first, mut again) = (Vec::new(), Vec::new());
    for n in 0..ROUNDS {
        while turn.word(0).load(Acquire) != 2 * n as u64 + 1 {
            spin_loop();
        }
        // SAFETY: the buffer the writer has finished, `size` bytes inside the mapping.
        let bytes = unsafe { std::slice::from_raw_parts(at(n), size) };
        let start = std::time::Instant::now();
        let read = read_numbered(bytes);
        let middle = std::time::Instant::now();
        let reread = read_numbered(bytes);
        let end = std::time::Instant::now();
        assert_eq!(check_numbered(size, read), n as u64);
        assert_eq!(read, reread);
        first.push((middle - start).as_nanos() as f64);
        again.push((end - middle).as_nanos() as f64);
        turn.word(0).store(2 * n as u64 + 2, Release);
    }
    writer.wait();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(first), median(again))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numbered_message_checks_out_and_a_changed_byte_does_not() {
        let mut message = vec![0u8; 64];
        number(&mut message, 300);
        assert_eq!(check_numbered(64, read_numbered(&message)), 300);
        message[40] ^= 1;
        let changed = std::panic::catch_unwind(|| check_numbered(64, read_numbered(&message)));
        assert!(changed.is_err(), "a changed byte went unnoticed");
    }

    #[test]
    fn a_tally_counts_skipped_numbers_and_refuses_going_back() {
        let board = Board::new();
        let mut tally = Tally::new(false);
        assert!(tally.take(0, &board) && tally.take(3, &board) && tally.take(REOPENED, &board));
        assert_eq!((tally.got, tally.skipped), (2, 2));
        assert_eq!(board.reopened().load(Relaxed), 1);
        assert!(!tally.take(END, &board), "the end marker ends the stream");
        let back = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tally.take(1, &board)));
        assert!(back.is_err(), "a number going back went unnoticed");
    }

    #[test]
    fn a_lossless_tally_refuses_a_gap() {
        let board = Board::new();
        let mut tally = Tally::new(true);
        assert!(tally.take(0, &board));
        let gap = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tally.take(2, &board)));
        assert!(gap.is_err(), "a lost message went unnoticed");
    }
}
