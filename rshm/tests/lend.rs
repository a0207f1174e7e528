//! Zero-copy messages: reserve and commit, peek and release, with skip
//! markers at the ring's end, mixed with send and recv, and every call made
//! out of order.

mod common;

use common::{channel_options, unique_key};
use rshm::{Channel, ChannelOptions, ErrorKind, Role};
use std::time::Duration;

fn pair(line: u32, capacity: usize) -> (Channel, Channel) {
    let key = unique_key(line);
    let options = channel_options(key);
    let sender = Channel::create(&options, capacity, Role::Sender).unwrap();
    let receiver = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap();
    (sender, receiver)
}

#[test]
fn messages_written_and_read_in_place_cross_the_ring_end_in_one_piece() {
    let (mut tx, mut rx) = pair(line!(), 1000);
    assert_eq!(tx.max_reservation(), 488, "capacity/2 - 8, in words");
    for i in 0..5_000usize {
        let len = (i * 37) % (tx.max_reservation() + 1);
        let mut room = tx.reserve(len, Some(Duration::ZERO)).unwrap();
        for (j, byte) in room.iter_mut().enumerate() {
            *byte = (i + j) as u8;
        }
        room.commit(len).unwrap();
        let message = rx.peek(Some(Duration::ZERO)).unwrap();
        assert_eq!(message.len(), len, "message {i}");
        assert!(
            message.iter().enumerate().all(|(j, &b)| b == (i + j) as u8),
            "message {i} intact"
        );
        drop(message); // releases it
    }
}

#[test]
fn zero_copy_and_copying_calls_mix_in_one_stream() {
    let (mut tx, mut rx) = pair(line!(), 256);
    for i in 0..2_000usize {
        let len = i % 100;
        let payload: Vec<u8> = (0..len).map(|j| (i * 3 + j) as u8).collect();
        if i % 2 == 0 {
            tx.send(&payload, None).unwrap();
        } else {
            let mut room = tx.reserve(len + 10, None).unwrap();
            room[..len].copy_from_slice(&payload);
            room.commit(len).unwrap(); // less than reserved
        }
        if i % 3 == 0 {
            let message = rx.peek(None).unwrap();
            assert_eq!(&message[..], &payload[..], "message {i}");
        } else {
            let mut buf = [0u8; 128];
            let n = rx.recv(&mut buf, None).unwrap();
            assert_eq!(&buf[..n], &payload[..], "message {i}");
        }
    }
}

#[test]
fn the_largest_reservation_is_half_the_ring_less_its_word() {
    let (mut tx, mut rx) = pair(line!(), 4096);
    let max = tx.max_reservation();
    assert_eq!(max, 2040);
    let error = tx.reserve(max + 1, Some(Duration::ZERO)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument);
    assert!(error.to_string().contains("at most 2040 bytes"), "{error}");
    for _ in 0..10 {
        tx.reserve(max, Some(Duration::ZERO))
            .unwrap()
            .commit(max)
            .unwrap();
        assert_eq!(rx.peek(Some(Duration::ZERO)).unwrap().len(), max);
    }
    // A full ring: the reservation that finds no room names itself.
    let _held = tx.reserve(max, None).unwrap().into_raw();
    tx.commit(max).unwrap();
    let _second = tx.reserve(max, None).unwrap().into_raw();
    tx.commit(max).unwrap();
    let full = tx.reserve(8, Some(Duration::from_millis(5))).unwrap_err();
    assert_eq!(full.kind(), ErrorKind::TimedOut, "{full}");
    assert!(
        full.to_string().starts_with("channel_reserve(len=8): "),
        "{full}"
    );
    for _ in 0..2 {
        rx.peek(None).unwrap();
    }
    // A message longer than half the ring wraps (only send takes one): it cannot be lent.
    for _ in 0..3 {
        tx.send(&vec![9u8; 3000], None).unwrap();
        match rx.peek(Some(Duration::ZERO)).map(|message| message.len()) {
            Err(error) => {
                assert_eq!(error.kind(), ErrorKind::OutOfBounds, "{error}");
                let mut buf = vec![0u8; 4096];
                assert_eq!(rx.recv(&mut buf, None).unwrap(), 3000);
            }
            Ok(len) => assert_eq!(len, 3000, "it happened to lie in one piece"),
        }
    }
}

#[test]
fn calls_out_of_order_are_statuses_never_corruption() {
    let (mut tx, mut rx) = pair(line!(), 512);
    let out_of_order = |result: rshm::Result<()>, what: &str| {
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{what}: {error}");
    };
    out_of_order(tx.commit(1), "commit without reserve");
    out_of_order(rx.release(), "release without peek");
    out_of_order(tx.peek(None).map(drop), "peek on the sending end");
    out_of_order(
        rx.reserve(8, None).map(drop),
        "reserve on the receiving end",
    );
    let raw = tx.reserve(16, None).unwrap().into_raw();
    assert!(!raw.is_null());
    out_of_order(tx.send(b"x", None), "send with a reservation open");
    out_of_order(tx.reserve(8, None).map(drop), "a second reservation");
    out_of_order(tx.commit(17), "commit more than reserved");
    // SAFETY: the reservation is open: 16 bytes at raw are the sender's to write.
    unsafe { raw.copy_from(b"sixteen bytes ok".as_ptr(), 16) };
    tx.commit(16).unwrap();
    let (bytes, len) = rx.peek(None).unwrap().into_raw();
    // SAFETY: the message stays lent until release.
    assert_eq!(
        unsafe { std::slice::from_raw_parts(bytes, len) },
        b"sixteen bytes ok"
    );
    out_of_order(rx.peek(None).map(drop), "a second peek");
    out_of_order(
        rx.recv(&mut [0u8; 32], None).map(drop),
        "recv while a message is lent",
    );
    rx.release().unwrap();
    out_of_order(rx.release(), "release twice");
    out_of_order(tx.cancel(), "cancel without reserve");
    let _given_up = tx.reserve(24, None).unwrap().into_raw();
    tx.cancel().unwrap();
    out_of_order(tx.commit(8), "commit after cancel");
    let nothing = rx.peek(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(
        nothing.kind(),
        ErrorKind::WouldBlock,
        "a cancelled reservation shows: {nothing}"
    );
    tx.send(b"after", None).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(rx.recv(&mut buf, None).unwrap(), 5, "the stream goes on");
}

#[test]
fn a_reservation_never_committed_never_shows() {
    let (mut tx, mut rx) = pair(line!(), 512);
    {
        let mut room = tx.reserve(100, None).unwrap();
        room.fill(0xEE);
    } // dropped: given back
    let error = rx.peek(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::WouldBlock, "{error}");
    assert!(error.to_string().starts_with("channel_peek: "), "{error}");
    tx.send(b"next", None).unwrap();
    assert_eq!(&rx.peek(None).unwrap()[..], b"next");
    let _open = tx.reserve(64, None).unwrap().into_raw();
    drop(tx); // the sender closes with a reservation open
    let error = rx.peek(Some(Duration::from_millis(50))).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
}

#[test]
fn two_threads_stream_100000_messages_in_place() {
    let (mut tx, mut rx) = pair(line!(), 4096);
    let sender = std::thread::spawn(move || {
        for i in 0..100_000u64 {
            let len = 8 + (i as usize * 13) % 300;
            let mut room = tx.reserve(len, None).unwrap();
            room[..8].copy_from_slice(&i.to_le_bytes());
            room.commit(len).unwrap();
        }
    });
    for i in 0..100_000u64 {
        let message = rx.peek(Some(Duration::from_secs(10))).unwrap();
        assert_eq!(message.len(), 8 + (i as usize * 13) % 300);
        assert_eq!(u64::from_le_bytes(message[..8].try_into().unwrap()), i);
    }
    sender.join().unwrap();
}

#[test]
fn a_reservation_never_exceeds_what_a_length_word_holds() {
    // A ring of 9 GiB, never touched beyond its header: half of it is more
    // than a 32-bit length word can announce, so 4 GiB - 1 is the limit.
    let (mut tx, _rx) = pair(line!(), 9 << 30);
    assert_eq!(tx.max_reservation(), u32::MAX as usize);
    let error = tx.reserve(u32::MAX as usize + 1, None).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
    assert!(error.to_string().contains("4294967295"), "{error}");
    // The largest length there is: refused, not an overflow.
    let error = tx.reserve(usize::MAX, None).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{error}");
}

/// `max_reservation` is the channel's: the largest message its senders can
/// reserve, which every end answers alike, as a pair's two ends do (so a
/// receiver knows the largest message `peek` always lends in one piece).
#[test]
fn every_end_of_every_shape_answers_the_channels_largest_reservation() {
    let (tx, rx) = pair(line!(), 1024);
    assert_eq!((tx.max_reservation(), rx.max_reservation()), (504, 504));
    for (shape, largest) in [("many", 504), ("broadcast", 1024 / 2 - 16)] {
        let key = unique_key(line!() + largest as u32);
        let mut options = channel_options(key);
        if shape == "many" {
            options.many_senders(true);
        } else {
            options.broadcast(true);
        }
        let first = Channel::create(&options, 1024, Role::Receiver).unwrap();
        let second = Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap();
        assert_eq!(
            (first.max_reservation(), second.max_reservation()),
            (largest, largest),
            "{shape}: the receiver's and the sender's"
        );
        // The sender reserves exactly that much, and no more.
        let mut second = second;
        drop(second.reserve(largest, Some(Duration::ZERO)).unwrap()); // given back
        let error = second
            .reserve(largest + 1, Some(Duration::ZERO))
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgument, "{shape}: {error}");
    }
}
