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
use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering::*};

/// The CPU of the sender; the receivers have CPU 0.
const SENDER_CPU: usize = 1;
const RECEIVERS_CPU: usize = 0;
/// Empty polls before a polling receiver starts yielding the CPU (as many
/// as rshm's channel spins before it sleeps).
pub const SPINS: u32 = 64;
/// The sequence number of the end marker.
pub const END: u64 = u64::MAX;

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

    /// Waits (yielding) until `word` reaches `value`.
    pub fn wait_for(word: &AtomicU64, value: u64) {
        while word.load(Acquire) < value {
            std::thread::yield_now();
        }
    }
}

/// Totals over the run's one-to-many cases, for the report.
static DELIVERED: AtomicU64 = AtomicU64::new(0);
static SKIPPED: AtomicU64 = AtomicU64::new(0);

/// Messages delivered to receivers and numbers skipped (lost to a lagging
/// receiver) over all one-to-many cases of the run.
pub fn totals() -> (u64, u64) {
    (DELIVERED.load(Relaxed), SKIPPED.load(Relaxed))
}

/// A receiver's bookkeeping: the last number it got, what it got and skipped.
struct Tally {
    next: u64,
    got: u64,
    skipped: u64,
    lossless: bool,
}

impl Tally {
    /// Takes message number `seq`: false for the end marker.
    fn take(&mut self, seq: u64) -> bool {
        if seq == END {
            return false;
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
///   numbered messages until `stop`, then [`END`], and waits for `finished`
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
            let mut tally = Tally {
                next: 0,
                got: 0,
                skipped: 0,
                lossless,
            };
            while tally.take(recv()) {
                board.delivered(j).store(tally.got, Relaxed);
            }
            board.skipped(j).store(tally.skipped, Relaxed);
            board.finished().fetch_add(1, AcqRel);
        }));
    }
    Board::wait_for(board.made(), 1);
    let mut recv = open();
    board.ready().fetch_add(1, AcqRel);
    let mut tally = Tally {
        next: 0,
        got: 0,
        skipped: 0,
        lossless,
    };
    let got = std::cell::Cell::new(0u64);
    let batches = plan.run_counted(
        || {
            assert!(tally.take(recv()), "the stream ended early");
            got.set(tally.got);
        },
        || {
            got.get()
                + (1..receivers)
                    .map(|j| board.delivered(j).load(Relaxed))
                    .sum::<u64>()
        },
    );
    board.stop().store(1, Release);
    while tally.take(recv()) {}
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
    SKIPPED.fetch_add(skipped, Relaxed);
    batches
}

/// Polls `poll` until it gives something: spins [`SPINS`] times, then
/// yields the CPU between polls (for receivers that share a CPU).
pub fn poll_yielding<T>(mut poll: impl FnMut() -> Option<T>) -> T {
    let mut empty = 0u32;
    loop {
        if let Some(x) = poll() {
            return x;
        }
        if empty < SPINS {
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

/// Reads all of a message [`write_numbered`] wrote and checks it: its number.
pub fn read_numbered(bytes: &[u8]) -> u64 {
    let seq = u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"));
    let sum = crate::cases::read_all(&bytes[8..]);
    let expected = u64::from_ne_bytes([seq as u8; 8]).wrapping_mul((bytes.len() / 8 - 1) as u64);
    assert_eq!(
        sum, expected,
        "message {seq}: its bytes do not match its number"
    );
    seq
}
