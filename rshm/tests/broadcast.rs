//! One sender, many receivers: every receiver gets every message sent after
//! it opened, in order; a receiver a ring behind gets `Lagged` and counts what
//! it lost; dead receivers hold nobody back; what a hostile writer of the
//! segment can (not) do. One test at a time (they fork).

mod common;

use common::{channel_options, kill, reap, serial, spawn, unique_key};
use rshm::{Channel, ChannelOptions, ErrorKind, Key, OpenOptions, Role, Shape};
use std::time::Duration;

const SECOND: Option<Duration> = Some(Duration::from_secs(1));

fn broadcast(key: Key, capacity: usize, max_peers: u32) -> Channel {
    let mut options = channel_options(key);
    options.broadcast(true).max_peers(max_peers);
    Channel::create(&options, capacity, Role::Sender).unwrap()
}

fn open_receiver(key: Key) -> rshm::Result<Channel> {
    Channel::open(ChannelOptions::new().key(key), Role::Receiver)
}

fn numbered(seq: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![(seq % 251) as u8; len.max(8)];
    bytes[..8].copy_from_slice(&seq.to_le_bytes());
    bytes
}

fn number(bytes: &[u8]) -> u64 {
    assert!(bytes[8..].iter().all(|&b| b == bytes[8]), "torn message");
    u64::from_le_bytes(bytes[..8].try_into().unwrap())
}

#[test]
fn every_receiver_gets_every_message_sent_after_it_opened_in_order() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut tx = broadcast(key, 1 << 16, 4);
    assert_eq!(tx.shape(), Shape::Broadcast);
    // No receiver: the send succeeds, and nobody will see it.
    tx.send(&numbered(0, 16), None).unwrap();
    let mut early = open_receiver(key).unwrap();
    for seq in 1..=10 {
        tx.send(&numbered(seq, 16 + seq as usize), None).unwrap();
    }
    let mut late = open_receiver(key).unwrap();
    for seq in 11..=20 {
        tx.send(&numbered(seq, 16), None).unwrap();
    }
    let mut buf = [0u8; 64];
    for seq in 1..=20 {
        let n = early.recv(&mut buf, SECOND).unwrap();
        assert_eq!(number(&buf[..n]), seq);
    }
    for seq in 11..=20 {
        let lent = late.peek(SECOND).unwrap();
        assert_eq!(number(&lent), seq);
    }
    assert_eq!(early.missed() + late.missed(), 0);
    for rx in [&mut early, &mut late] {
        let error = rx.recv(&mut buf, Some(Duration::ZERO)).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::WouldBlock, "{error}");
    }
    // Receivers in other processes, each with every message from its open on.
    let children: Vec<i32> = (0..2)
        .map(|_| {
            spawn(move || {
                let mut rx = open_receiver(key).unwrap();
                let mut buf = [0u8; 64];
                // The first message is the parent's "go".
                let n = rx.recv(&mut buf, Some(Duration::from_secs(5))).unwrap();
                let mut expected = number(&buf[..n]) + 1;
                loop {
                    match rx.recv(&mut buf, Some(Duration::from_secs(5))) {
                        Ok(n) => {
                            if number(&buf[..n]) != expected {
                                return 2;
                            }
                            expected += 1;
                        }
                        Err(e) if e.kind() == ErrorKind::Closed => {
                            return if expected == 2021 { 0 } else { 3 };
                        }
                        Err(_) => return 4,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    drop((early, late));
    for seq in 21..=2020 {
        tx.send(&numbered(seq, 24), None).unwrap();
        if seq % 64 == 0 {
            // Slow enough that nobody is lapped (a ring of 64 KiB holds 1600 of these).
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    drop(tx);
    for pid in children {
        assert_eq!(reap(pid), 0);
    }
}

#[test]
fn a_slow_receiver_gets_lagged_then_the_oldest_message_and_counts_what_it_lost() {
    let _serial = serial();
    let key = unique_key(line!());
    let capacity = 1024;
    let mut tx = broadcast(key, capacity, 2);
    let mut rx = open_receiver(key).unwrap();
    let mut buf = [0u8; 512];
    // 40-byte records (16 header + 24): a ring of 1024 holds 25.
    for seq in 0..100 {
        tx.send(&numbered(seq, 24), None).unwrap();
    }
    let error = rx.recv(&mut buf, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Lagged, "{error}");
    let lost = rx.missed();
    assert!(lost >= 75, "{lost}");
    // The next call: the oldest message still in the ring, then in order.
    let n = rx.recv(&mut buf, SECOND).unwrap();
    assert_eq!(number(&buf[..n]), lost, "resumes right after what it lost");
    for seq in lost + 1..100 {
        let n = rx.recv(&mut buf, SECOND).unwrap();
        assert_eq!(number(&buf[..n]), seq);
    }
    // A message lent while the sender laps the receiver: release says Lagged.
    tx.send(&numbered(100, 24), None).unwrap();
    let lent = rx.peek(SECOND).unwrap().into_raw();
    assert_eq!(lent.1, 24);
    for seq in 101..200 {
        tx.send(&numbered(seq, 24), None).unwrap();
    }
    let error = rx.release().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Lagged, "{error}");
    let n = rx.recv(&mut buf, SECOND).unwrap();
    let resumed = number(&buf[..n]);
    assert_eq!(
        rx.missed(),
        lost + (resumed - 100),
        "the lent one counts as lost"
    );
    // try_recv and peek report a lap the same way.
    for seq in 200..300 {
        tx.send(&numbered(seq, 24), None).unwrap();
    }
    let error = rx.peek(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Lagged, "{error}");
    let error = rx.recv(&mut [0u8; 4], SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfBounds, "{error}");
    assert_eq!(rx.pending_len(), Some(24));
}

#[test]
fn a_dead_receiver_holds_nobody_back_and_its_slot_is_taken_over() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut tx = broadcast(key, 4096, 2);
    let mut rx = open_receiver(key).unwrap();
    let mut ready = [0i32; 2];
    // SAFETY: a pipe to hear that the child opened.
    assert_eq!(unsafe { libc::pipe(ready.as_mut_ptr()) }, 0);
    let doomed = spawn(move || {
        let mut rx = open_receiver(key).unwrap();
        // SAFETY: tell the parent.
        unsafe { libc::write(ready[1], b"o".as_ptr().cast(), 1) };
        // Asleep in a receive when it is killed.
        let _ = rx.recv(&mut [0u8; 64], None);
        0
    });
    let mut byte = 0u8;
    // SAFETY: read the child's byte.
    assert_eq!(
        unsafe { libc::read(ready[0], (&mut byte as *mut u8).cast(), 1) },
        1
    );
    // Both slots held: a third receiver is refused.
    let error = open_receiver(key).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSpace, "{error}");
    std::thread::sleep(Duration::from_millis(50));
    kill(doomed);
    // SAFETY: close both ends.
    unsafe {
        libc::close(ready[0]);
        libc::close(ready[1]);
    }
    // The sender never waits; the live receiver reads on.
    let mut buf = [0u8; 64];
    for seq in 0..1000 {
        tx.send(&numbered(seq, 16), None).unwrap();
        if seq % 50 == 49 {
            for expected in seq - 49..=seq {
                let n = rx.recv(&mut buf, SECOND).unwrap();
                assert_eq!(number(&buf[..n]), expected);
            }
        }
    }
    // The dead receiver's slot goes to the next one.
    let mut third = open_receiver(key).unwrap();
    tx.send(&numbered(1000, 16), None).unwrap();
    let n = third.recv(&mut buf, SECOND).unwrap();
    assert_eq!(number(&buf[..n]), 1000);
}

#[test]
fn receivers_see_the_end_once_they_read_what_remains() {
    let _serial = serial();
    let key = unique_key(line!());
    // The receiver makes it (and removes it at the end): the senders come and go.
    let mut options = channel_options(key);
    options.broadcast(true);
    let mut rx = Channel::create(&options, 4096, Role::Receiver).unwrap();
    let mut buf = [0u8; 64];
    let error = rx
        .recv(&mut buf, Some(Duration::from_millis(50)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TimedOut, "no sender yet: it waits");
    let mut tx = Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap();
    tx.send(b"last words", None).unwrap();
    drop(tx);
    assert_eq!(rx.recv(&mut buf, SECOND).unwrap(), 10);
    let error = rx.recv(&mut buf, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    // A sender that dies: PeerDied.
    let pid = spawn(move || {
        let mut tx = Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap();
        tx.send(b"bye", None).unwrap();
        std::mem::forget(tx);
        0
    });
    assert_eq!(reap(pid), 0);
    assert_eq!(rx.recv(&mut buf, SECOND).unwrap(), 3);
    let error = rx.recv(&mut buf, Some(Duration::from_secs(2))).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PeerDied, "{error}");
}

// ---- a hostile writer of the segment ----

const HEAD: usize = 64;
const INTENT: usize = 72;
const OLDEST: usize = 80;

#[test]
fn rewritten_positions_and_length_words_fail_calls_never_reach_outside_the_ring() {
    let _serial = serial();
    let key = unique_key(line!());
    let capacity = 1024u64;
    let slots = 2;
    let ring = 256 + 64 * slots;
    let mut tx = broadcast(key, capacity as usize, slots as u32);
    let mut rx = open_receiver(key).unwrap();
    let mut peer = OpenOptions::new().key(key).open().unwrap();
    let mut buf = [0u8; 600];
    tx.send(&numbered(0, 24), None).unwrap();
    // A length word of garbage: Corrupt (the record is intact but makes no sense).
    peer.write(ring, &(u64::MAX - 9).to_le_bytes()).unwrap();
    let error = rx.recv(&mut buf, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    // A length word that reaches past the head: Corrupt, nothing read beyond.
    peer.write(ring, &(500u64 + 1).to_le_bytes()).unwrap();
    let error = rx.recv(&mut buf, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    peer.write(ring, &(24u64 + 1).to_le_bytes()).unwrap();
    assert_eq!(rx.recv(&mut buf, SECOND).unwrap(), 24);
    // A head moved back: Corrupt. Moved far ahead: Lagged, then the oldest
    // message the (garbage) cursor names, all within the ring.
    peer.write(HEAD, &0u64.to_le_bytes()).unwrap();
    let error = rx.recv(&mut buf, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    for (head, intent, oldest) in [
        (capacity * 50 + 8, capacity * 50 + 8, capacity * 49 + 3),
        (u64::MAX - 7, u64::MAX, 8),
        (capacity * 9, capacity * 99, capacity * 8 + 16),
    ] {
        peer.write(HEAD, &head.to_le_bytes()).unwrap();
        peer.write(INTENT, &intent.to_le_bytes()).unwrap();
        peer.write(OLDEST, &oldest.to_le_bytes()).unwrap();
        for _ in 0..4 {
            match rx.recv(&mut buf, Some(Duration::from_millis(20))) {
                Ok(n) => assert!(n <= buf.len()),
                Err(e) => assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::Corrupt | ErrorKind::Lagged | ErrorKind::TimedOut
                    ),
                    "{e}"
                ),
            }
        }
    }
    // The sender keeps its own positions: it goes on whatever the cursor says.
    for seq in 0..100 {
        tx.send(&numbered(seq, 100), None).unwrap();
    }
    // A fresh receiver opens at the (garbage) head, or is refused; never worse.
    let _ = open_receiver(key);
}

#[test]
fn a_rewritten_cursor_never_moves_a_lapped_receiver_back() {
    let _serial = serial();
    let key = unique_key(line!());
    let capacity = 1024u64;
    let mut tx = broadcast(key, capacity as usize, 2);
    let mut rx = open_receiver(key).unwrap();
    let mut peer = OpenOptions::new().key(key).open().unwrap();
    let mut buf = [0u8; 64];
    // 40-byte records from position 0: message n lies at 40 n.
    for seq in 0..10 {
        tx.send(&numbered(seq, 24), None).unwrap();
    }
    for seq in 0..10 {
        let n = rx.recv(&mut buf, SECOND).unwrap();
        assert_eq!(number(&buf[..n]), seq);
    }
    // A head a ring ahead laps the receiver; `oldest` names message 8, intact
    // but already read: the receiver must not go back to it.
    peer.write(HEAD, &(400 + capacity + 80).to_le_bytes())
        .unwrap();
    peer.write(OLDEST, &320u64.to_le_bytes()).unwrap();
    let error = rx.recv(&mut buf, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Lagged, "{error}");
    for _ in 0..3 {
        match rx.recv(&mut buf, Some(Duration::from_millis(20))) {
            Ok(n) => assert!(number(&buf[..n]) >= 10, "read again: {}", number(&buf[..n])),
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Corrupt | ErrorKind::Lagged | ErrorKind::TimedOut
                ),
                "{e}"
            ),
        }
    }
}

#[test]
fn rewritten_claims_refuse_opens_and_never_take_a_live_end() {
    let _serial = serial();
    let key = unique_key(line!());
    let slots = 2usize;
    let mut tx = broadcast(key, 1024, slots as u32);
    let mut rx = open_receiver(key).unwrap();
    let mut peer = OpenOptions::new().key(key).open().unwrap();
    // Garbage in the free receiver slot: a holder nobody can judge is never taken.
    peer.write(256 + 64, &u64::MAX.to_le_bytes()).unwrap();
    let error = open_receiver(key).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSpace, "{error}");
    // Garbage in the sender's holder word: a second sender is refused, the first goes on.
    peer.write(128, &(u64::MAX - 1).to_le_bytes()).unwrap(); // the sender's holder word
    let error = Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Exists, "{error}");
    tx.send(&numbered(1, 16), None).unwrap();
    let mut buf = [0u8; 64];
    let n = rx.recv(&mut buf, SECOND).unwrap();
    assert_eq!(number(&buf[..n]), 1);
    // A garbage sleeper count only costs wakeups.
    peer.write(256 - 64 + 4, &u32::MAX.to_le_bytes()).unwrap();
    tx.send(&numbered(2, 16), None).unwrap();
    let n = rx.recv(&mut buf, SECOND).unwrap();
    assert_eq!(number(&buf[..n]), 2);
}

// ---- an honest sender lapping honest receivers ----

/// A small xorshift generator: the receivers' pauses and calls, and the sender's sizes.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// What a receiver child tells the parent: messages received, `missed()`, laps.
const REPORT: usize = 24;

/// Reads until `Closed`, pausing at random, by `recv` or `peek`/`release` at
/// random; every message's number must be the messages received before it plus
/// `missed()` (the receivers open before the first message). Exit code 0, or
/// 2 for `Corrupt`, 3 for another error, 4 for a message out of place.
fn lapped_reader(key: Key, ready: i32, report: i32, seed: u64) -> i32 {
    let mut rx = open_receiver(key).unwrap();
    // SAFETY: tell the parent this end is open.
    unsafe { libc::write(ready, b"o".as_ptr().cast(), 1) };
    let mut dice = Dice(seed);
    let mut buf = [0u8; 1024];
    let (mut received, mut laps) = (0u64, 0u64);
    loop {
        match dice.roll(100) {
            0 => std::thread::sleep(Duration::from_micros(500 + dice.roll(3000))),
            1..=9 => std::thread::sleep(Duration::from_micros(dice.roll(50))),
            10..=29 => (0..dice.roll(2000)).for_each(|_| std::hint::spin_loop()),
            _ => {}
        }
        let answer = if dice.roll(2) == 0 {
            rx.recv(&mut buf, Some(Duration::from_secs(5)))
                .map(|n| buf[..n].to_vec())
        } else {
            let copy = rx.peek(Some(Duration::from_secs(5))).map(|lent| {
                let copy = lent.to_vec();
                let _ = lent.into_raw();
                copy
            });
            copy.and_then(|copy| rx.release().map(|()| copy))
        };
        match answer {
            Ok(message) => {
                if number(&message) != received + rx.missed() {
                    eprintln!(
                        "message {} after {} received and {} missed",
                        number(&message),
                        received,
                        rx.missed()
                    );
                    return 4;
                }
                received += 1;
            }
            Err(e) if e.kind() == ErrorKind::Lagged => laps += 1,
            Err(e) if e.kind() == ErrorKind::Closed => break,
            Err(e) => {
                eprintln!("receiver: {e}");
                return if e.kind() == ErrorKind::Corrupt { 2 } else { 3 };
            }
        }
    }
    let mut words = [0u8; REPORT];
    for (word, value) in words.chunks_mut(8).zip([received, rx.missed(), laps]) {
        word.copy_from_slice(&value.to_le_bytes());
    }
    // SAFETY: one write of less than PIPE_BUF bytes: whole.
    unsafe { libc::write(report, words.as_ptr().cast(), REPORT) };
    0
}

#[test]
fn an_honest_sender_lapping_slow_receivers_never_makes_them_see_corrupt() {
    let _serial = serial();
    let key = unique_key(line!());
    // A small ring (about 40 messages) and a sender that never pauses: the
    // receivers are lapped over and over, often while they look for where to resume.
    let mut tx = broadcast(key, 4096, 2);
    let (mut ready, mut report) = ([0i32; 2], [0i32; 2]);
    // SAFETY: two pipes: "opened", and each receiver's report.
    assert_eq!(unsafe { libc::pipe(ready.as_mut_ptr()) }, 0);
    assert_eq!(unsafe { libc::pipe(report.as_mut_ptr()) }, 0);
    let children: Vec<i32> = (0..2u64)
        .map(|i| spawn(move || lapped_reader(key, ready[1], report[1], 0x9e37_79b9 + i)))
        .collect();
    let mut byte = 0u8;
    for _ in &children {
        // SAFETY: read one child's byte.
        assert_eq!(
            unsafe { libc::read(ready[0], (&mut byte as *mut u8).cast(), 1) },
            1
        );
    }
    let mut dice = Dice(7);
    let start = std::time::Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        // Sizes from 8 to 200 bytes (skip markers at the ring's end), sent by
        // copy or in place, and now and then a reservation given back.
        let len = 8 + dice.roll(193) as usize;
        let message = numbered(sent, len);
        match dice.roll(16) {
            0 => drop(tx.reserve(len, None).unwrap()),
            1..=4 => {
                let mut room = tx.reserve(len, None).unwrap();
                room.copy_from_slice(&message);
                room.commit(len).unwrap();
                sent += 1;
            }
            _ => {
                tx.send(&message, None).unwrap();
                sent += 1;
            }
        }
    }
    drop(tx);
    let codes: Vec<i32> = children.into_iter().map(reap).collect();
    assert_eq!(
        codes,
        [0, 0],
        "2: Corrupt, 3: another error, 4: out of place"
    );
    let mut laps = 0;
    for _ in 0..2 {
        let mut words = [0u8; REPORT];
        // SAFETY: read one report (written whole).
        assert_eq!(
            unsafe { libc::read(report[0], words.as_mut_ptr().cast(), REPORT) },
            REPORT as isize
        );
        let word = |i: usize| u64::from_le_bytes(words[i * 8..i * 8 + 8].try_into().unwrap());
        let (received, missed) = (word(0), word(1));
        assert_eq!(
            received + missed,
            sent,
            "received {received}, missed {missed}"
        );
        laps += word(2);
    }
    // SAFETY: close the pipes.
    unsafe {
        for fd in ready.into_iter().chain(report) {
            libc::close(fd);
        }
    }
    assert!(laps > 0, "nobody was lapped: the test proves nothing");
}

/// Waits for one byte on `fd` (false at its end).
fn take_byte(fd: i32) -> bool {
    let mut byte = 0u8;
    // SAFETY: reads one byte into a local.
    unsafe { libc::read(fd, (&mut byte as *mut u8).cast(), 1) == 1 }
}

fn give_byte(fd: i32) {
    // SAFETY: writes one byte from a static.
    assert_eq!(unsafe { libc::write(fd, b"s".as_ptr().cast(), 1) }, 1);
}

/// The batches the sender child sends, one per step: by far (4 rings), by a
/// little (one message more than the ring holds), one to lend then a ring
/// over it, a lap before a resume at the head, the messages after it, and a
/// last lap before the end.
const STEPS: [u64; 7] = [100, 26, 1, 30, 60, 5, 60];

/// Every message sent after a receiver opened is received or counted by
/// `missed()`, however it was lapped: by far, by a little, while a message
/// was lent, and resumed at the head (a rewritten `oldest` leaves it nothing
/// else), with the sender closing or dying right after such a resume.
#[test]
fn every_message_sent_is_received_or_missed_however_the_receiver_is_lapped() {
    let _serial = serial();
    for dies in [false, true] {
        let key = unique_key(line!() + dies as u32);
        let mut options = channel_options(key);
        options.broadcast(true).max_peers(2);
        // 40-byte records (16 header + 24): a ring of 1024 holds 25.
        let mut rx = Channel::create(&options, 1024, Role::Receiver).unwrap();
        let mut peer = OpenOptions::new().key(key).open().unwrap();
        let (mut go, mut done) = ([0i32; 2], [0i32; 2]);
        // SAFETY: two pipes, one each way.
        assert_eq!(unsafe { libc::pipe(go.as_mut_ptr()) }, 0);
        assert_eq!(unsafe { libc::pipe(done.as_mut_ptr()) }, 0);
        let child = spawn(move || {
            let mut tx = Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap();
            let mut seq = 0;
            for batch in STEPS {
                if !take_byte(go[0]) {
                    return 1;
                }
                for _ in 0..batch {
                    tx.send(&numbered(seq, 24), None).unwrap();
                    seq += 1;
                }
                give_byte(done[1]);
            }
            if dies {
                std::mem::forget(tx);
            }
            0
        });
        let mut buf = [0u8; 64];
        let mut received = 0u64;
        let step = |batch: usize| {
            give_byte(go[1]);
            assert!(take_byte(done[0]), "step {batch}");
        };
        // Reads what is there now: every message numbered received + missed.
        let mut drain = |rx: &mut Channel, received: &mut u64| loop {
            match rx.recv(&mut buf, Some(Duration::ZERO)) {
                Ok(n) => {
                    assert_eq!(number(&buf[..n]), *received + rx.missed());
                    *received += 1;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        };
        let lagged = |rx: &mut Channel, lent: bool| {
            let error = if lent {
                rx.release().unwrap_err()
            } else {
                rx.recv(&mut [0u8; 64], SECOND).unwrap_err()
            };
            assert_eq!(error.kind(), ErrorKind::Lagged, "{error}");
        };
        let resume_at_head = |rx: &mut Channel, peer: &mut rshm::OpenSegment| {
            // An `oldest` no record lies at: the receiver resumes at the head.
            peer.write(OLDEST, &3u64.to_le_bytes()).unwrap();
            let error = rx.recv(&mut [0u8; 64], SECOND).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Lagged, "{error}");
        };
        step(0); // by far
        lagged(&mut rx, false);
        drain(&mut rx, &mut received);
        step(1); // by a little
        lagged(&mut rx, false);
        drain(&mut rx, &mut received);
        step(2); // one to lend, then a ring over it while lent
        let _ = rx.peek(SECOND).unwrap().into_raw();
        step(3);
        lagged(&mut rx, true);
        drain(&mut rx, &mut received);
        step(4); // lapped, and nothing to resume at but the head
        resume_at_head(&mut rx, &mut peer);
        let after = received + rx.missed();
        assert_eq!(after, 100 + 26 + 1 + 30 + 60, "counted at the lap");
        step(5);
        drain(&mut rx, &mut received);
        step(6); // again, and then the sender goes
        resume_at_head(&mut rx, &mut peer);
        assert_eq!(reap(child), 0);
        let end = rx.recv(&mut buf, Some(Duration::from_secs(2))).unwrap_err();
        let expected = if dies {
            ErrorKind::PeerDied
        } else {
            ErrorKind::Closed
        };
        assert_eq!(end.kind(), expected, "{end}");
        let sent: u64 = STEPS.iter().sum();
        assert_eq!(
            received + rx.missed(),
            sent,
            "received {received}, missed {} (the sender {})",
            rx.missed(),
            if dies { "died" } else { "closed" }
        );
        // SAFETY: close the pipes.
        unsafe {
            for fd in go.into_iter().chain(done) {
                libc::close(fd);
            }
        }
    }
}
