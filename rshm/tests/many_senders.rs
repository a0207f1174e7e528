//! Many senders, one receiver: exactly once, per-sender order, fairness,
//! senders that die mid-message, the end of the stream, slots, refusals, and
//! what a hostile writer of the segment can (not) do. One test at a time (they fork).

mod common;

use common::{channel_options, kill, reap, serial, spawn, unique_key};
use rshm::{Channel, ChannelOptions, ErrorKind, Key, OpenOptions, Role, Shape};
use std::time::{Duration, Instant};

const SECOND: Option<Duration> = Some(Duration::from_secs(1));

fn many(key: Key, capacity: usize, max_peers: u32) -> Channel {
    let mut options = channel_options(key);
    options.many_senders(true).max_peers(max_peers);
    Channel::create(&options, capacity, Role::Receiver).unwrap()
}

fn open_sender(key: Key) -> rshm::Result<Channel> {
    Channel::open(ChannelOptions::new().key(key), Role::Sender)
}

/// A small deterministic generator (xorshift), per sender.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Message `seq` of sender `id`: id, seq, length-dependent bytes, checksum last.
fn message(id: u8, seq: u32, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len.max(10)];
    bytes[0] = id;
    bytes[1..5].copy_from_slice(&seq.to_le_bytes());
    let n = bytes.len();
    for (i, byte) in bytes[5..n - 4].iter_mut().enumerate() {
        *byte = (i as u32)
            .wrapping_mul(31)
            .wrapping_add(seq)
            .wrapping_add(id as u32) as u8;
    }
    let sum = checksum(&bytes[..n - 4]);
    bytes[n - 4..].copy_from_slice(&sum.to_le_bytes());
    bytes
}

fn checksum(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(2166136261u32, |h, &b| (h ^ b as u32).wrapping_mul(16777619))
}

/// Checks a received message: (sender id, seq), or a panic naming what is wrong.
fn check(bytes: &[u8]) -> (u8, u32) {
    let n = bytes.len();
    assert!(n >= 10, "a message of {n} bytes");
    let sum = u32::from_le_bytes(bytes[n - 4..].try_into().unwrap());
    assert_eq!(
        sum,
        checksum(&bytes[..n - 4]),
        "checksum of a {n}-byte message"
    );
    (
        bytes[0],
        u32::from_le_bytes(bytes[1..5].try_into().unwrap()),
    )
}

#[test]
fn four_sender_processes_deliver_every_message_once_in_each_senders_order() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut receiver = many(key, 4096, 8);
    assert_eq!(receiver.shape(), Shape::ManySenders);
    const PER_SENDER: u32 = 3000;
    // Each sender says on a pipe that its end is open, and receiving starts once all four
    // have: a receiver whose senders have all come and gone is at the end of its stream.
    let mut opened = [0i32; 2];
    // SAFETY: a pipe to hear that the children opened.
    assert_eq!(unsafe { libc::pipe(opened.as_mut_ptr()) }, 0);
    let senders: Vec<i32> = (0..4u8)
        .map(|id| {
            spawn(move || {
                let mut tx = open_sender(key).unwrap();
                // SAFETY: write to the pipe the parent reads.
                assert_eq!(
                    unsafe { libc::write(opened[1], b"o".as_ptr().cast(), 1) },
                    1
                );
                let mut state = 0x9e37_79b9_7f4a_7c15 ^ id as u64;
                for seq in 0..PER_SENDER {
                    // Sizes from 10 bytes to past half the ring (those wrap; only send takes them).
                    let len = 10 + (next(&mut state) % 2500) as usize;
                    let bytes = message(id, seq, len);
                    if len <= tx.max_reservation() && next(&mut state) % 2 == 0 {
                        let mut room = tx.reserve(len, None).unwrap();
                        room.copy_from_slice(&bytes);
                        room.commit(len).unwrap();
                    } else {
                        tx.send(&bytes, None).unwrap();
                    }
                }
                0
            })
        })
        .collect();
    // SAFETY: the parent's write end closed, so a child that died before opening ends the read.
    unsafe { libc::close(opened[1]) };
    let mut heard = 0;
    while heard < 4 {
        let mut said = [0u8; 4];
        // SAFETY: read from the pipe into a local buffer.
        let n = unsafe { libc::read(opened[0], said.as_mut_ptr().cast(), 4 - heard) };
        assert!(n > 0, "only {heard} of 4 senders opened");
        heard += n as usize;
    }
    // SAFETY: close the read end.
    unsafe { libc::close(opened[0]) };
    let mut expected = [0u32; 4];
    let mut buf = vec![0u8; 4096];
    let mut turn = 0u64;
    while expected.iter().any(|&n| n < PER_SENDER) {
        turn += 1;
        // Copying and zero-copy receives, mixed.
        let (id, seq) = if turn % 3 == 0 {
            let peeked = match receiver.peek(Some(Duration::from_secs(10))) {
                Ok(lent) => Some(check(&lent)),
                Err(e) if e.kind() == ErrorKind::OutOfBounds => None,
                Err(e) => panic!("peek: {e}"),
            };
            peeked.unwrap_or_else(|| {
                let n = receiver.recv(&mut buf, None).unwrap();
                check(&buf[..n])
            })
        } else {
            let n = receiver
                .recv(&mut buf, Some(Duration::from_secs(10)))
                .unwrap();
            check(&buf[..n])
        };
        assert!(id < 4, "sender id {id}");
        assert_eq!(seq, expected[id as usize], "sender {id}'s order");
        expected[id as usize] += 1;
    }
    for pid in senders {
        assert_eq!(reap(pid), 0);
    }
    // Every sender closed, every ring drained: the end of the stream.
    let error = receiver.recv(&mut buf, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
}

#[test]
fn a_sender_killed_between_reserve_and_commit_costs_only_its_own_messages() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut receiver = many(key, 1024, 3);
    let mut buf = [0u8; 1024];
    const STEADY: u32 = 6000;
    // A steady sender in its own process, through every round.
    let steady = spawn(move || {
        let mut tx = open_sender(key).unwrap();
        for seq in 0..STEADY {
            tx.send(&message(1, seq, 40), None).unwrap();
            std::thread::sleep(Duration::from_micros(500));
        }
        0
    });
    // The steady sender is there before the first death (else that death ends the stream).
    let n = receiver
        .recv(&mut buf, Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(check(&buf[..n]), (1, 0));
    let mut steady_seq = 1u32;
    for round in 0..5u32 {
        // A sender that commits one message, reserves room for a second, and
        // is killed before committing it.
        let mut ready = [0i32; 2];
        // SAFETY: a pipe to hear that the child reserved.
        assert_eq!(unsafe { libc::pipe(ready.as_mut_ptr()) }, 0);
        let doomed = spawn(move || {
            let mut tx = open_sender(key).unwrap();
            tx.send(&message(2, round, 30), None).unwrap();
            let mut room = tx.reserve(100, None).unwrap();
            room.fill(0xee);
            // SAFETY: write to the pipe the parent reads.
            unsafe { libc::write(ready[1], b"r".as_ptr().cast(), 1) };
            std::thread::sleep(Duration::from_secs(30));
            0
        });
        let mut byte = 0u8;
        // SAFETY: read from the pipe.
        assert_eq!(
            unsafe { libc::read(ready[0], (&mut byte as *mut u8).cast(), 1) },
            1
        );
        kill(doomed);
        // SAFETY: close both ends.
        unsafe {
            libc::close(ready[0]);
            libc::close(ready[1]);
        }
        // Its committed message comes; its reservation never does; the steady sender goes on.
        let mut seen_doomed = false;
        let until = Instant::now() + Duration::from_millis(300);
        while Instant::now() < until || !seen_doomed {
            let n = receiver
                .recv(&mut buf, Some(Duration::from_secs(5)))
                .unwrap();
            let (id, seq) = check(&buf[..n]);
            match id {
                1 => {
                    assert_eq!(seq, steady_seq);
                    steady_seq += 1;
                }
                2 => {
                    assert!(!seen_doomed && seq == round, "round {round}: {seq}");
                    seen_doomed = true;
                }
                _ => panic!("a message from sender {id} ({n} bytes): a reservation showed"),
            }
        }
    }
    // Three slots, one steady sender: the dead senders' slots were freed, so two can open.
    let a = open_sender(key).unwrap();
    let b = open_sender(key).unwrap();
    let error = open_sender(key).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSpace, "{error}");
    drop((a, b));
    while steady_seq < STEADY {
        let n = receiver
            .recv(&mut buf, Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(check(&buf[..n]), (1, steady_seq));
        steady_seq += 1;
    }
    assert_eq!(reap(steady), 0);
}

#[test]
fn a_stalled_sender_does_not_hold_back_the_others_and_one_fast_sender_does_not_starve_them() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut receiver = many(key, 4096, 4);
    let mut stalled = open_sender(key).unwrap();
    let mut fast = open_sender(key).unwrap();
    let mut slow = open_sender(key).unwrap();
    let _open = stalled.reserve(64, None).unwrap().into_raw();
    for i in 0..50u32 {
        fast.send(&message(1, i, 20), None).unwrap();
    }
    slow.send(&message(2, 0, 20), None).unwrap();
    // Round-robin: the slow sender's message comes within the first two, not after 50.
    let mut buf = [0u8; 64];
    let mut order = Vec::new();
    for _ in 0..2 {
        let n = receiver.recv(&mut buf, SECOND).unwrap();
        order.push(check(&buf[..n]).0);
    }
    assert!(order.contains(&2), "{order:?}");
    for _ in 0..49 {
        receiver.recv(&mut buf, SECOND).unwrap();
    }
    let error = receiver.try_recv_for_test(&mut buf);
    assert_eq!(error, ErrorKind::WouldBlock);
    stalled.cancel().unwrap();
}

trait TryRecv {
    fn try_recv_for_test(&mut self, buf: &mut [u8]) -> ErrorKind;
}

impl TryRecv for Channel {
    fn try_recv_for_test(&mut self, buf: &mut [u8]) -> ErrorKind {
        self.recv(buf, Some(Duration::ZERO)).unwrap_err().kind()
    }
}

#[test]
fn the_end_of_the_stream_waits_for_a_first_sender_and_says_how_the_last_one_left() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut receiver = many(key, 1024, 4);
    let mut buf = [0u8; 64];
    // No sender yet: it waits.
    let error = receiver
        .recv(&mut buf, Some(Duration::from_millis(50)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}");
    let mut tx = open_sender(key).unwrap();
    tx.send(b"last words", None).unwrap();
    drop(tx);
    assert_eq!(receiver.recv(&mut buf, SECOND).unwrap(), 10);
    let error = receiver.recv(&mut buf, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
    // A sender that dies: PeerDied once it is seen gone.
    let pid = spawn(move || {
        let mut tx = open_sender(key).unwrap();
        tx.send(b"bye", None).unwrap();
        std::mem::forget(tx);
        0
    });
    assert_eq!(reap(pid), 0);
    assert_eq!(receiver.recv(&mut buf, SECOND).unwrap(), 3);
    let error = receiver
        .recv(&mut buf, Some(Duration::from_secs(2)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::PeerDied, "{error}");
}

#[test]
fn the_shape_is_read_at_open_and_wrong_expectations_are_refused() {
    let _serial = serial();
    let key = unique_key(line!());
    let _receiver = many(key, 1024, 2);
    let error =
        Channel::open(ChannelOptions::new().key(key).broadcast(true), Role::Sender).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(error.to_string().contains("many-senders"), "{error}");
    let tx = Channel::open(
        ChannelOptions::new().key(key).many_senders(true),
        Role::Sender,
    )
    .unwrap();
    assert_eq!(tx.shape(), Shape::ManySenders);
    let error =
        Channel::open(ChannelOptions::new().key(key).max_peers(3), Role::Sender).unwrap_err();
    assert!(error.to_string().contains("max_peers"), "{error}");
    // A second receiver: Exists, as for a pair.
    let error = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Exists, "{error}");
    // A pair opened as many-senders is refused too.
    let pair_key = unique_key(line!());
    let _pair = Channel::create(&channel_options(pair_key), 1024, Role::Receiver).unwrap();
    let error = Channel::open(
        ChannelOptions::new().key(pair_key).many_senders(true),
        Role::Sender,
    )
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(error.to_string().contains("single-sender"), "{error}");
}

#[test]
fn options_that_do_not_apply_are_refused() {
    let both = ChannelOptions::new()
        .many_senders(true)
        .broadcast(true)
        .clone();
    let error = Channel::create(&both, 1024, Role::Sender).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(error.to_string().contains("not both"), "{error}");
    let pair = ChannelOptions::new().max_peers(4).clone();
    let error = Channel::create(&pair, 1024, Role::Sender).unwrap_err();
    assert!(error.to_string().contains("max_peers"), "{error}");
    let huge = ChannelOptions::new()
        .many_senders(true)
        .max_peers(100_000)
        .clone();
    let error = Channel::create(&huge, 1024, Role::Sender).unwrap_err();
    assert!(error.to_string().contains("max_peers"), "{error}");
}

// ---- a hostile writer of the segment ----

const HEADER: usize = 192;
const SLOT: usize = 192;

#[test]
fn a_rewritten_length_word_costs_only_that_senders_ring() {
    let _serial = serial();
    let key = unique_key(line!());
    let capacity = 1024;
    let mut receiver = many(key, capacity, 2);
    let mut bad = open_sender(key).unwrap();
    let mut good = open_sender(key).unwrap();
    bad.send(b"one", None).unwrap();
    let mut peer = OpenOptions::new().key(key).open().unwrap();
    let ring0 = HEADER + 2 * SLOT;
    peer.write(ring0, &u64::MAX.wrapping_sub(7).to_le_bytes())
        .unwrap();
    good.send(b"fine", None).unwrap();
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    let mut corrupt = 0;
    for _ in 0..3 {
        match receiver.recv(&mut buf, Some(Duration::from_millis(200))) {
            Ok(n) => got.push(buf[..n].to_vec()),
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                assert!(e.to_string().contains("sender slot 0"), "{e}");
                corrupt += 1
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}"),
        }
    }
    assert_eq!(corrupt, 1, "one Corrupt, then the ring is skipped");
    assert_eq!(got, vec![b"fine".to_vec()]);
    good.send(b"more", None).unwrap();
    assert_eq!(receiver.recv(&mut buf, SECOND).unwrap(), 4);
}

/// A ring the receiver skips (its words made no sense) is not taken over by
/// a new sender, even once it looks drained and its sender closed: the
/// receiver would never read the newcomer's messages. The receiver frees it.
#[test]
fn a_ring_the_receiver_skips_goes_to_a_new_sender_only_through_the_receiver() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut receiver = many(key, 1024, 1);
    let mut bad = open_sender(key).unwrap();
    bad.send(b"one", None).unwrap();
    let mut peer = OpenOptions::new().key(key).open().unwrap();
    let ring0 = HEADER + SLOT;
    peer.write(ring0, &u64::MAX.wrapping_sub(7).to_le_bytes())
        .unwrap();
    let mut buf = [0u8; 64];
    let error = receiver.recv(&mut buf, Some(Duration::ZERO)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    // The writer makes the ring look drained (no word, head at 0), and closes.
    peer.write(ring0, &0u64.to_le_bytes()).unwrap();
    peer.write(HEADER + 64, &0u64.to_le_bytes()).unwrap();
    drop(bad);
    let error = open_sender(key).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSpace, "{error}");
    // The receiver frees it when it has nothing to read; a new sender's messages then come.
    let error = receiver
        .recv(&mut buf, Some(Duration::from_millis(20)))
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Closed | ErrorKind::TimedOut),
        "{error}"
    );
    let mut fresh = open_sender(key).unwrap();
    fresh.send(b"two", None).unwrap();
    let n = receiver.recv(&mut buf, SECOND).unwrap();
    assert_eq!(&buf[..n], b"two");
}

#[test]
fn a_rewritten_tail_or_head_never_moves_an_end_outside_its_ring() {
    let _serial = serial();
    let key = unique_key(line!());
    let capacity = 1024u64;
    let mut receiver = many(key, capacity as usize, 1);
    let mut tx = open_sender(key).unwrap();
    let mut peer = OpenOptions::new().key(key).open().unwrap();
    // The head is the sender's own, in private memory: a rewrite changes nothing.
    peer.write(HEADER + 64, &(capacity * 1000 + 3).to_le_bytes())
        .unwrap();
    tx.send(b"abc", None).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(receiver.recv(&mut buf, SECOND).unwrap(), 3);
    // The tail is a claim the sender checks when it needs room.
    peer.write(HEADER + 128, &(capacity * 7 + 5).to_le_bytes())
        .unwrap();
    let mut outcome = Ok(());
    for _ in 0..capacity / 16 + 2 {
        outcome = tx.send(&[1; 8], Some(Duration::from_millis(100)));
        if outcome.is_err() {
            break;
        }
        peer.write(HEADER + 128, &(capacity * 7 + 5).to_le_bytes())
            .unwrap();
    }
    let error = outcome.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    assert!(error.to_string().contains("claims tail"), "{error}");
    // Slot holders rewritten: a claim nobody holds is taken, never an overrun.
    peer.write(HEADER, &u64::MAX.to_le_bytes()).unwrap();
    let error = open_sender(key).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSpace, "{error}");
    // Sizes rewritten: refused at open.
    peer.write(16, &(u32::MAX).to_le_bytes()).unwrap();
    let error = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    drop(receiver);
}

#[test]
fn a_message_too_long_for_the_buffer_stays_next_whatever_comes_meanwhile() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut receiver = many(key, 1024, 2);
    let mut first = open_sender(key).unwrap(); // slot 0
    let mut second = open_sender(key).unwrap(); // slot 1
    second.send(&[7u8; 100], None).unwrap();
    let mut small = [0u8; 10];
    let error = receiver.recv(&mut small, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfBounds, "{error}");
    // A message in an earlier slot, meanwhile: the long one is still the one pending.
    first.send(b"x", None).unwrap();
    assert_eq!(receiver.pending_len(), Some(100));
    let mut big = [0u8; 128];
    assert_eq!(receiver.recv(&mut big, SECOND).unwrap(), 100);
    assert_eq!(receiver.recv(&mut big, SECOND).unwrap(), 1);
}

/// A sender waiting for room is woken once half its ring is free, not at
/// every record; one whose deadline comes first must still take the room
/// that came before it (and not answer `TimedOut` with room free).
#[test]
fn a_waiting_sender_takes_the_room_that_came_before_its_deadline() {
    let _serial = serial();
    // A ring of 800 bytes holds eleven 72-byte records.
    const TIMEOUT: Duration = Duration::from_millis(40);
    let mut conclusive = 0;
    for _ in 0..20 {
        let key = unique_key(line!());
        let mut rx = many(key, 800, 1);
        let mut tx = open_sender(key).unwrap();
        let mut sent = 0;
        while tx.send(&[1u8; 64], Some(Duration::ZERO)).is_ok() {
            sent += 1;
        }
        assert_eq!(sent, 11, "the ring holds eleven records");
        let freed = std::thread::scope(|scope| {
            let reader = scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(5));
                let mut buf = [0u8; 64];
                rx.recv(&mut buf, SECOND).unwrap();
                Instant::now()
            });
            let start = Instant::now();
            let sent = tx.send(&[2u8; 64], Some(TIMEOUT));
            let freed = reader.join().unwrap();
            // Conclusive only if the room came well before the deadline.
            if freed + Duration::from_millis(10) < start + TIMEOUT {
                assert!(
                    sent.is_ok(),
                    "room came {:?} into a {TIMEOUT:?} wait, yet: {sent:?}",
                    freed - start
                );
                1
            } else {
                0
            }
        });
        conclusive += freed;
        drop(tx);
        rx.segment().remove().unwrap();
    }
    assert!(
        conclusive >= 10,
        "only {conclusive} of 20 rounds were conclusive"
    );
}

/// With no receiver open, a slot whose sender closed, or is gone, and whose
/// ring is drained is taken by the next sender; a ring with undelivered
/// messages keeps its slot for the receiver, which then gets them.
#[test]
fn a_closed_or_dead_senders_drained_slot_is_taken_without_a_receiver() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut options = channel_options(key);
    options.many_senders(true).max_peers(4);
    let _creator = Channel::create(&options, 1024, Role::Sender).unwrap(); // slot 0
    let mut with_mail = open_sender(key).unwrap(); // slot 1
    let silent = open_sender(key).unwrap(); // slot 2
    let dead = spawn(move || {
        std::mem::forget(open_sender(key).unwrap()); // slot 3, never closed
        0
    });
    assert_eq!(reap(dead), 0);
    with_mail.send(b"from slot 1", None).unwrap();
    drop(with_mail);
    drop(silent);
    // The closed and drained slot 2, then the dead sender's drained slot 3.
    let mut second = open_sender(key).expect("the closed sender's drained slot");
    let mut third = open_sender(key).expect("the dead sender's drained slot");
    // Slot 1 still holds a message: it stays the receiver's to read.
    let error = open_sender(key).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSpace, "{error}");
    second.send(b"second", None).unwrap();
    third.send(b"third", None).unwrap();
    let mut receiver = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    for _ in 0..3 {
        let len = receiver.recv(&mut buf, SECOND).unwrap();
        got.push(buf[..len].to_vec());
    }
    got.sort();
    assert_eq!(
        got,
        [
            b"from slot 1".to_vec(),
            b"second".to_vec(),
            b"third".to_vec()
        ]
    );
    // Drained now, slot 1 is freed by the receiver (when it has nothing to read).
    let error = receiver
        .recv(&mut buf, Some(Duration::from_millis(20)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}");
    let mut fourth = open_sender(key).expect("slot 1, drained and freed");
    fourth.send(b"fourth", None).unwrap();
    let len = receiver.recv(&mut buf, SECOND).unwrap();
    assert_eq!(&buf[..len], b"fourth");
}

/// Both many-party layouts check their header at open in one way, each
/// naming its own shape: another layout version, or sizes that do not fit
/// the segment, are `Corrupt`.
#[test]
fn a_rewritten_header_of_either_shape_is_refused_at_open_naming_it() {
    let _serial = serial();
    // Each shape's layout version, and one it does not read (many senders: 0.2.1's).
    for (broadcast, name, sizes, version, other) in [
        (false, "many-senders", "slots of", 2u32, 1u32),
        (true, "broadcast", "receiver slots and a ring", 1, 2),
    ] {
        let key = unique_key(line!() + broadcast as u32);
        let mut options = channel_options(key);
        options
            .broadcast(broadcast)
            .many_senders(!broadcast)
            .max_peers(2);
        let _first = Channel::create(&options, 1024, Role::Receiver).unwrap();
        let mut peer = OpenOptions::new().key(key).open().unwrap();
        let open = || Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap_err();
        peer.write(8, &other.to_le_bytes()).unwrap(); // the version
        let error = open();
        assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
        assert!(
            error.to_string().contains(&format!(
                "{name} channel layout version {other}; this rshm reads version {version}"
            )),
            "{error}"
        );
        peer.write(8, &version.to_le_bytes()).unwrap();
        peer.write(24, &3000u32.to_le_bytes()).unwrap(); // slots beyond the segment
        let error = open();
        assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
        assert!(
            error.to_string().contains(&format!("3000 {sizes}")),
            "{error}"
        );
        peer.write(24, &2u32.to_le_bytes()).unwrap();
        drop(Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap());
    }
}

/// Senders that come and go faster than the slots allow, while the receiver
/// reads: each open takes a slot that is free, or one whose sender closed
/// and whose ring is drained, racing the receiver that frees it too; no
/// message is lost or seen twice, and each sender's come in order (each
/// visit of a child is a sender of its own: two of them may be read in turn).
#[test]
fn senders_that_come_and_go_race_the_receiver_for_slots_and_lose_nothing() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut receiver = many(key, 256, 2);
    const CHILDREN: u8 = 4;
    const VISITS: u16 = 300;
    const EACH: u8 = 4;
    let children: Vec<i32> = (0..CHILDREN)
        .map(|id| {
            spawn(move || {
                for visit in 0..VISITS {
                    let mut tx = loop {
                        match open_sender(key) {
                            Ok(tx) => break tx,
                            Err(e) if e.kind() == ErrorKind::NoSpace => std::thread::yield_now(),
                            Err(e) => panic!("{e}"),
                        }
                    };
                    for k in 0..EACH {
                        let [a, b] = visit.to_le_bytes();
                        tx.send(&[id, a, b, k], Some(Duration::from_secs(5)))
                            .unwrap();
                    }
                }
                0
            })
        })
        .collect();
    let total = CHILDREN as usize * VISITS as usize * EACH as usize;
    // The next message expected of each visit of each child.
    let mut next = vec![vec![0u8; VISITS as usize]; CHILDREN as usize];
    let mut buf = [0u8; 16];
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    while got < total {
        assert!(Instant::now() < deadline, "{got} of {total} messages");
        match receiver.recv(&mut buf, Some(Duration::from_millis(100))) {
            Ok(4) => {
                let (id, visit, k) = (buf[0], u16::from_le_bytes([buf[1], buf[2]]), buf[3]);
                let expected = &mut next[id as usize][visit as usize];
                assert_eq!(k, *expected, "child {id}, visit {visit}");
                *expected += 1;
                got += 1;
                // Now and then away from the channel: senders find closed, drained slots
                // that the receiver has not freed, and take them over.
                if got % 3 == 0 {
                    let away = Instant::now();
                    while away.elapsed() < Duration::from_micros(50 * (got % 7) as u64) {
                        std::hint::spin_loop();
                    }
                }
            }
            Ok(n) => panic!("a message of {n} bytes"),
            // Between two senders the stream may end (none holds a slot), or pause.
            Err(e) if matches!(e.kind(), ErrorKind::Closed | ErrorKind::TimedOut) => {}
            Err(e) => panic!("{e}"),
        }
    }
    for pid in children {
        assert_eq!(reap(pid), 0);
    }
    assert!(next.iter().flatten().all(|&n| n == EACH), "{next:?}");
    let error = receiver
        .recv(&mut buf, Some(Duration::from_millis(200)))
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Closed | ErrorKind::TimedOut),
        "{error}"
    );
}

/// Every judgement this process made so far (alive, gone or cannot tell).
fn judgements() -> u64 {
    let (alive, gone, cannot_tell) = rshm::liveness::judgements();
    alive + gone + cannot_tell
}

/// With many held slots, a receive judges only a few holders through
/// `/proc` (a review measured a `try_recv` of 9.5 ms with 1024 judged at
/// once), resuming where the last one stopped: a dead sender in the last
/// slot is still found, within one turn per 16 slots. Counted, not timed.
#[test]
fn a_receive_judges_a_bounded_number_of_holders_and_still_finds_the_dead() {
    let _serial = serial();
    const SLOTS: u32 = 256;
    const PER_CALL: u64 = 16;
    let key = unique_key(line!());
    let mut receiver = many(key, 64, SLOTS);
    let alive: Vec<Channel> = (0..SLOTS - 1).map(|_| open_sender(key).unwrap()).collect();
    // The last slot's sender dies without closing.
    let dead = spawn(move || {
        std::mem::forget(open_sender(key).unwrap());
        0
    });
    assert_eq!(reap(dead), 0);
    let peer = OpenOptions::new().key(key).open().unwrap();
    let last_holder = || {
        let mut word = [0u8; 8];
        peer.read(HEADER + (SLOTS as usize - 1) * SLOT, &mut word)
            .unwrap();
        u64::from_le_bytes(word)
    };
    assert_ne!(last_holder(), 0, "the dead sender holds the last slot");
    let mut buf = [0u8; 8];
    let mut judged = 0;
    let mut turns = 0;
    while last_holder() != 0 {
        turns += 1;
        assert!(
            turns <= SLOTS as u64 / PER_CALL,
            "the dead sender's slot is still held after {turns} judging turns"
        );
        // Past the receiver's 50 ms between two judging turns (on a coarse clock).
        std::thread::sleep(Duration::from_millis(70));
        let before = judgements();
        assert_eq!(receiver.try_recv_for_test(&mut buf), ErrorKind::WouldBlock);
        let made = judgements() - before;
        assert!(
            made <= PER_CALL,
            "one receive judged {made} holders (at most {PER_CALL})"
        );
        judged += made;
    }
    assert!(
        judged >= SLOTS as u64 - PER_CALL,
        "{judged} judgements in {turns} turns"
    );
    // The freed slot is a new sender's; the end of the stream still comes.
    let mut fresh = open_sender(key).expect("the dead sender's slot, freed");
    fresh.send(b"new", None).unwrap();
    assert_eq!(receiver.recv(&mut buf, SECOND).unwrap(), 3);
    drop(fresh);
    drop(alive);
    let error = receiver.recv(&mut buf, SECOND).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
}

/// A free slot whose positions a writer of the segment rewrote is skipped
/// by a new sender, left as it is: one corrupt slot does not lock every new
/// sender out. `Corrupt`, naming it, only when no other slot could be taken.
#[test]
fn a_corrupt_free_slot_is_skipped_by_a_new_sender() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut receiver = many(key, 1024, 3);
    let mut peer = OpenOptions::new().key(key).open().unwrap();
    // Slot 0's head: not a ring position (unaligned).
    let head0 = HEADER + 64;
    peer.write(head0, &5u64.to_le_bytes()).unwrap();
    let mut first = open_sender(key).expect("slot 1, past the corrupt slot 0");
    let mut second = open_sender(key).expect("slot 2");
    first.send(b"one", None).unwrap();
    second.send(b"two", None).unwrap();
    let mut buf = [0u8; 8];
    let mut got = Vec::new();
    for _ in 0..2 {
        let n = receiver.recv(&mut buf, SECOND).unwrap();
        got.push(buf[..n].to_vec());
    }
    got.sort();
    assert_eq!(got, [b"one".to_vec(), b"two".to_vec()]);
    // Every other slot held: the corrupt one is named.
    let error = open_sender(key).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    assert!(error.to_string().contains("sender slot 0"), "{error}");
    // Left as it was, its holder word given back.
    let mut word = [0u8; 8];
    peer.read(HEADER, &mut word).unwrap();
    assert_eq!(u64::from_le_bytes(word), 0, "slot 0's holder word");
    peer.read(head0, &mut word).unwrap();
    assert_eq!(u64::from_le_bytes(word), 5, "slot 0's head");
    // Once repaired, it is taken again; with every slot held, NoSpace.
    peer.write(head0, &0u64.to_le_bytes()).unwrap();
    let _third = open_sender(key).expect("slot 0, repaired");
    let error = open_sender(key).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NoSpace, "{error}");
}
