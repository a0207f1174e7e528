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
