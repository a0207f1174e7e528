//! Many to one: [`SENDERS`] sender processes, one receiver, 64-byte messages,
//! through an rshm many-senders channel, Boost.Interprocess's
//! `message_queue` and a SysV message queue.
//!
//! Placement: three processes on two vCPUs. The receiver is this process, on
//! CPU 0 alone; both senders are forked onto CPU 1, where they take turns.
//! Every transport blocks a side with nothing to do (rshm: a short spin, then
//! a futex; Boost: a process-shared mutex and condition variables; SysV: the
//! kernel's queue), so the senders sharing CPU 1 do not burn each other's
//! time slices spinning.
//!
//! Each transport holds about 1 MiB of messages: the rshm channel's ring,
//! 16384 Boost messages of 64 bytes, the SysV queue's 1 MiB (`msgmnb`, raised
//! in the bench's own IPC namespace). One step is one message received; the
//! receiver checks each message's sender and sequence number (each sender's
//! messages in the order it sent them, none lost or repeated), the same work
//! for every transport.

use crate::boost;
use crate::cases::{msg_buf, msgrcv, msgsnd, Queue};
use crate::method::{Batches, Plan};
use crate::peer::{fork_peer_on, Peer, SharedPage};
use rshm::{Channel, ChannelOptions, Role};
use std::sync::atomic::Ordering::{AcqRel, Acquire};

/// Sender processes.
pub const SENDERS: usize = 2;
/// The message size.
pub const SIZE: usize = 64;
/// The CPU both senders share (the receiver has CPU 0).
const SENDERS_CPU: usize = 1;
/// Messages each transport can hold: 1 MiB of 64-byte messages.
const QUEUED: usize = (1 << 20) / SIZE;

/// Writes a message of sender `sender`: its id in word 0, `seq` in word 1,
/// the rest a fill.
fn stamp(message: &mut [u8], sender: usize, seq: u64) {
    message[..8].copy_from_slice(&(sender as u64).to_ne_bytes());
    message[8..16].copy_from_slice(&seq.to_ne_bytes());
}

/// The receiver's check: each sender's messages arrive once each, in order.
struct Order([u64; SENDERS]);

impl Order {
    fn check(&mut self, message: &[u8]) {
        assert_eq!(message.len(), SIZE, "a message of the wrong size");
        let word = |i: usize| u64::from_ne_bytes(message[8 * i..8 * i + 8].try_into().unwrap());
        let (sender, seq) = (word(0) as usize, word(1));
        assert!(sender < SENDERS, "a message from no sender ({sender})");
        assert_eq!(
            seq, self.0[sender],
            "sender {sender}'s messages out of order, lost or repeated"
        );
        self.0[sender] += 1;
    }
}

/// How many of `total` messages sender `s` sends (together: `total`).
fn share(total: u64, s: usize) -> u64 {
    total / SENDERS as u64 + u64::from((s as u64) < total % SENDERS as u64)
}

/// Forks the senders (each runs `send_all(its id, its share, opened)`,
/// where `opened()` says "my end is open" and waits for the other senders
/// to say it: an rshm receiver whose senders have all come and gone is at
/// the end of its stream, so none may close before the last has opened),
/// receives
/// `plan.total()` messages with `recv` (which fills the buffer and returns
/// the length), checks each, reaps the senders.
fn run(
    plan: &Plan,
    send_all: impl Fn(usize, u64, &dyn Fn()),
    mut recv: impl FnMut(&mut [u8; SIZE]) -> usize,
) -> Batches {
    let total = plan.total();
    let board = SharedPage::new();
    let opened = || {
        board.word(0).fetch_add(1, AcqRel);
        while board.word(0).load(Acquire) < SENDERS as u64 {
            std::thread::yield_now();
        }
    };
    let senders: Vec<Peer> = (0..SENDERS)
        .map(|s| fork_peer_on(SENDERS_CPU, || send_all(s, share(total, s), &opened)))
        .collect();
    let mut order = Order([0; SENDERS]);
    let mut buf = [0u8; SIZE];
    let batches = plan.run(|| {
        let n = recv(&mut buf);
        order.check(&buf[..n]);
    });
    for sender in senders {
        sender.wait();
    }
    batches
}

/// Sends `count` stamped messages of sender `s` through `send`.
fn send_stamped(s: usize, count: u64, mut send: impl FnMut(&[u8])) {
    let mut message = [7u8; SIZE];
    for seq in 0..count {
        stamp(&mut message, s, seq);
        send(&message);
    }
}

/// Each sender's ring in the rshm channel: half a MiB, 1 MiB in all.
const RSHM_RING: usize = (1 << 20) / SENDERS;

/// An rshm many-senders channel: made here (the receiver's end, with
/// `max_peers` = [`SENDERS`]), one sub-ring per sender, opened by each.
pub fn rshm(plan: &Plan) -> Batches {
    let key = crate::cases::key();
    let mut rx = Channel::create(
        ChannelOptions::new()
            .key(key)
            .many_senders(true)
            .max_peers(SENDERS as u32)
            .remove_on_close(true),
        RSHM_RING,
        Role::Receiver,
    )
    .expect("rshm: cannot create the many-senders channel");
    run(
        plan,
        |s, count, opened| {
            let mut tx = Channel::open(ChannelOptions::new().key(key), Role::Sender)
                .expect("rshm: cannot open a sender");
            opened();
            send_stamped(s, count, |m| tx.send(m, None).expect("rshm: send failed"));
        },
        |buf| rx.recv(buf, None).expect("rshm: recv failed"),
    )
}

/// Boost.Interprocess `message_queue`: made here, opened by each sender.
pub fn boost(plan: &Plan) -> Batches {
    let name = boost::fresh_name();
    let queue = boost::Queue::create(&name, QUEUED, SIZE);
    run(
        plan,
        |s, count, opened| {
            let queue = boost::Queue::open(&name);
            opened();
            send_stamped(s, count, |m| queue.send(m));
        },
        |buf| queue.receive(buf),
    )
}

/// A SysV message queue: every sender `msgsnd`s type 1, the receiver takes
/// any type (`msgrcv` with type 0: first in, first out).
pub fn sysv(plan: &Plan) -> Batches {
    let queue = Queue::new();
    let q = queue.0;
    let mut msg = msg_buf(0, 0);
    run(
        plan,
        |s, count, opened| {
            let mut out = msg_buf(1, 7);
            opened();
            send_stamped(s, count, |m| {
                out.text[..SIZE].copy_from_slice(m);
                msgsnd(q, &out, SIZE);
            });
        },
        |buf| {
            msgrcv(q, &mut msg, SIZE, 0);
            buf.copy_from_slice(&msg.text[..SIZE]);
            SIZE
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shares_add_up_to_the_total() {
        for total in [0, 1, 2, 3, 1001] {
            let sum: u64 = (0..SENDERS).map(|s| share(total, s)).sum();
            assert_eq!(sum, total);
        }
    }

    #[test]
    fn order_takes_each_senders_messages_in_turn_and_refuses_a_repeat() {
        let mut order = Order([0; SENDERS]);
        let mut message = [0u8; SIZE];
        for (sender, seq) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            stamp(&mut message, sender, seq);
            order.check(&message);
        }
        stamp(&mut message, 1, 1);
        let repeat =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| order.check(&message)));
        assert!(repeat.is_err(), "a repeated message went unnoticed");
    }
}
