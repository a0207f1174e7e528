//! iceoryx2 (0.10) as a peer: its publish-subscribe services over shared
//! memory, between the same two processes as the rshm cases (this one on
//! CPU 0, the forked peer on CPU 1), with the same payloads and brackets.
//!
//! As iceoryx2 is meant to be used at its fastest: the loan API (the sender
//! writes its payload into a loaned sample and sends it; the receiver reads
//! the payload in place), `ipc::Service` (single-threaded ports, no locks),
//! busy-polling `receive` on the subscriber (no waitset, no event service),
//! `spin_loop` between empty polls as the rshm channel spins. No message may
//! be lost: `enable_safe_overflow(false)` with `RetryUntilDelivered` makes a
//! full subscriber buffer hold the publisher back rather than drop a sample,
//! and every `send` is checked to have reached its one subscriber (a sample
//! that reached none would hang the receiving side: the peer raises a flag
//! that the receiver checks between polls, and the case fails).
//! [`delivered_count`] says how many samples crossed in all.
//!
//! Setting up: the peer creates both services and its ports, then raises a
//! flag; this side opens the services, creates its ports, waits until each
//! of its publishers sees its subscriber (`number_of_subscribers`, then
//! `update_connections`), and only then sends. The peer does the same before
//! its first send. None of it is timed.

use crate::broadcast::{
    check_numbered, poll_yielding, read_numbered, write_numbered, Board, END, SPINS,
};
use crate::cases::{expected_sum, fill_raw, read_all, BIG};
use crate::method::{Batches, Plan};
use crate::peer::{fork_peer, SharedPage};
use iceoryx2::port::update_connections::UpdateConnections;
use iceoryx2::prelude::*;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::OnceLock;

/// Samples a subscriber may hold back before its publisher must wait, in the
/// round trips (one message in flight).
const RTT_BUFFER: usize = 2;
/// The same in the one-way throughput (2, 16 and 256 gave the same rate
/// within 3% on the development machine; 4096 halved it).
pub const THROUGHPUT_BUFFER: usize = 256;

static DELIVERED: AtomicU64 = AtomicU64::new(0);
static NEXT_SERVICE: AtomicU64 = AtomicU64::new(0);

/// Samples delivered over iceoryx2 in the run, both ways, every one of them
/// received and checked (by its number, its echo or its sum): a lost one
/// fails its case instead.
pub fn delivered_count() -> u64 {
    DELIVERED.load(Relaxed)
}

/// Fresh service names for one measurement: `rshm-bench/PID/N/what`.
fn name(n: u64, what: &str) -> ServiceName {
    let text = format!("rshm-bench/{}/{n}/{what}", std::process::id());
    text.as_str().try_into().expect("a valid service name")
}

/// The bench's own iceoryx2 domain: files prefixed `rshmbenchPID_` (in
/// /dev/shm) under the root /tmp/rshm-bench-iox2-PID, so that nothing it makes
/// meets another iceoryx2 user, and [`cleanup`] can remove all of it.
fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let pid = std::process::id();
        let mut config = Config::default();
        config.global.prefix =
            FileName::new(format!("rshmbench{pid}_").as_bytes()).expect("a valid prefix");
        config.global.set_root_path(
            &Path::new(format!("/tmp/rshm-bench-iox2-{pid}").as_bytes()).expect("a valid path"),
        );
        config
    })
}

/// Sets the domain up and quiets iceoryx2's log to errors: call before any
/// peer is forked, so that every process uses the same domain.
pub fn init() {
    set_log_level(LogLevel::Error);
    config();
}

/// Removes what the domain left once every node is gone (iceoryx2 keeps a
/// global management segment per domain, and its directories) and returns
/// what is still left: files of the domain's prefix in /dev/shm, and the root.
pub fn cleanup() -> Vec<String> {
    let config = config();
    // SAFETY: every node of this domain is gone (the cases drop theirs, the
    // peers have been reaped), and no other process uses the domain.
    let _ = unsafe { iceoryx2::testing::remove_global_mgmt_segment::<ipc::Service>(config) };
    let root = String::from_utf8_lossy(config.global.root_path().as_bytes()).into_owned();
    let _ = std::fs::remove_dir_all(&root);
    let prefix = String::from_utf8_lossy(config.global.prefix.as_bytes()).into_owned();
    let mut left: Vec<String> = std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix))
        .map(|name| format!("/dev/shm/{name}"))
        .collect();
    if std::path::Path::new(&root).exists() {
        left.push(root);
    }
    left
}

/// After a failure of the main process: removes every file of the domain
/// (live nodes' too: the process is going), so a failed run leaves nothing.
pub fn remove_all() {
    let config = config();
    let prefix = String::from_utf8_lossy(config.global.prefix.as_bytes()).into_owned();
    for entry in std::fs::read_dir("/dev/shm")
        .into_iter()
        .flatten()
        .flatten()
    {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let root = String::from_utf8_lossy(config.global.root_path().as_bytes()).into_owned();
    let _ = std::fs::remove_dir_all(root);
}

fn node() -> Node<ipc::Service> {
    NodeBuilder::new()
        .config(config())
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()
        .expect("iceoryx2: cannot create a node")
}

/// A fixed-size service of `P` with one publisher, one subscriber, no history,
/// a subscriber buffer of `buffer`, and no overflow: a full buffer holds the
/// publisher back.
macro_rules! service {
    ($node:expr, $name:expr, $payload:ty, $buffer:expr) => {
        $node
            .service_builder(&$name)
            .publish_subscribe::<$payload>()
            .max_publishers(1)
            .max_subscribers(1)
            .history_size(0)
            .subscriber_max_buffer_size($buffer)
            .subscriber_max_borrowed_samples(1)
            .enable_safe_overflow(false)
            .open_or_create()
            .expect("iceoryx2: cannot open or create the service")
    };
}

/// A publisher that loans one sample at a time and waits rather than drops.
macro_rules! publisher {
    ($service:expr) => {
        $service
            .publisher_builder()
            .max_loaned_samples(1)
            .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
            .create()
            .expect("iceoryx2: cannot create the publisher")
    };
    ($service:expr, slice $len:expr) => {
        $service
            .publisher_builder()
            .initial_max_slice_len($len)
            .max_loaned_samples(1)
            .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
            .create()
            .expect("iceoryx2: cannot create the publisher")
    };
}

macro_rules! subscriber {
    ($service:expr, $buffer:expr) => {
        $service
            .subscriber_builder()
            .buffer_size($buffer)
            .create()
            .expect("iceoryx2: cannot create the subscriber")
    };
}

/// Waits until `service` has a subscriber, then connects `publisher` to it.
macro_rules! connect {
    ($service:expr, $publisher:expr) => {{
        while $service.dynamic_config().number_of_subscribers() < 1 {
            std::thread::yield_now();
        }
        $publisher
            .update_connections()
            .expect("iceoryx2: cannot connect the publisher");
    }};
}

/// Polls `subscriber` until a sample arrives; fails if the peer lost one.
macro_rules! receive {
    ($subscriber:expr, $lost:expr) => {
        loop {
            match $subscriber.receive().expect("iceoryx2: receive failed") {
                Some(sample) => break sample,
                None => {
                    assert_eq!($lost.load(Relaxed), 0, "iceoryx2 lost a sample");
                    spin_loop();
                }
            }
        }
    };
}

/// Sends a loaned sample; it must reach its one subscriber.
fn delivered(recipients: usize, lost: &AtomicU64) {
    if recipients != 1 {
        lost.store(1, Release);
        panic!("iceoryx2 delivered a sample to {recipients} subscribers, not 1");
    }
}

/// Flags shared with the peer: word 0 "the peer is set up", word 8 "a sample was lost".
struct Flags(SharedPage);

impl Flags {
    fn new() -> Flags {
        Flags(SharedPage::new())
    }
    fn ready(&self) -> &AtomicU64 {
        self.0.word(0)
    }
    fn lost(&self) -> &AtomicU64 {
        self.0.word(8)
    }
    fn wait_ready(&self) {
        while self.ready().load(Acquire) == 0 {
            std::thread::yield_now();
        }
    }
}

/// 64-byte round trip: this side publishes on `ping` and subscribes to
/// `pong`; the peer echoes each payload (reads it in place, writes it into a
/// loaned sample of `pong`). One step is one round trip.
pub fn rtt_64(plan: &Plan) -> Batches {
    type Msg = [u8; 64];
    let n = NEXT_SERVICE.fetch_add(1, Relaxed);
    let (ping, pong) = (name(n, "ping"), name(n, "pong"));
    let flags = Flags::new();
    let total = plan.total();
    let peer = fork_peer(|| {
        let node = node();
        let there = service!(node, ping, Msg, RTT_BUFFER);
        let back = service!(node, pong, Msg, RTT_BUFFER);
        let rx = subscriber!(there, RTT_BUFFER);
        let tx = publisher!(back);
        flags.ready().store(1, Release);
        connect!(back, tx);
        for _ in 0..total {
            let sample = receive!(rx, flags.lost());
            let reply = tx.loan_uninit().expect("iceoryx2: loan failed");
            let reply = reply.write_payload(*sample.payload());
            drop(sample);
            delivered(reply.send().expect("iceoryx2: send failed"), flags.lost());
        }
    });
    flags.wait_ready();
    let node = node();
    let there = service!(node, ping, Msg, RTT_BUFFER);
    let back = service!(node, pong, Msg, RTT_BUFFER);
    let tx = publisher!(there);
    let rx = subscriber!(back, RTT_BUFFER);
    connect!(there, tx);
    let mut message: Msg = [7; 64];
    let mut buf: Msg = [0; 64];
    let mut i = 0u8;
    let batches = plan.run(|| {
        i = i.wrapping_add(1);
        message[0] = i;
        let sample = tx.loan_uninit().expect("iceoryx2: loan failed");
        let sample = sample.write_payload(message);
        delivered(sample.send().expect("iceoryx2: send failed"), flags.lost());
        let reply = receive!(rx, flags.lost());
        buf.copy_from_slice(reply.payload());
        assert_eq!(buf[0], i, "iceoryx2: an echo out of order");
    });
    peer.wait();
    DELIVERED.fetch_add(2 * total, Relaxed);
    batches
}

/// 64-byte one-way throughput: the peer publishes `plan.total()` samples
/// (each numbered), this side receives and checks each number. One step is
/// one message received. The subscriber's buffer holds [`THROUGHPUT_BUFFER`]
/// samples.
pub fn throughput_64(plan: &Plan) -> Batches {
    type Msg = [u8; 64];
    let n = NEXT_SERVICE.fetch_add(1, Relaxed);
    let stream = name(n, "stream");
    let flags = Flags::new();
    let total = plan.total();
    let peer = fork_peer(|| {
        let node = node();
        let service = service!(node, stream, Msg, THROUGHPUT_BUFFER);
        let tx = publisher!(service);
        flags.ready().store(1, Release);
        connect!(service, tx);
        let mut message: Msg = [7; 64];
        for i in 0..total {
            message[..8].copy_from_slice(&i.to_ne_bytes());
            let sample = tx.loan_uninit().expect("iceoryx2: loan failed");
            let sample = sample.write_payload(message);
            delivered(sample.send().expect("iceoryx2: send failed"), flags.lost());
        }
    });
    flags.wait_ready();
    let node = node();
    let service = service!(node, stream, Msg, THROUGHPUT_BUFFER);
    let rx = subscriber!(service, THROUGHPUT_BUFFER);
    let mut buf: Msg = [0; 64];
    let mut i = 0u64;
    let batches = plan.run(|| {
        let sample = receive!(rx, flags.lost());
        buf.copy_from_slice(sample.payload());
        assert_eq!(
            u64::from_ne_bytes(buf[..8].try_into().unwrap()),
            i,
            "iceoryx2: a sample lost or out of order"
        );
        i += 1;
    });
    peer.wait();
    DELIVERED.fetch_add(total, Relaxed);
    batches
}

/// 64 KiB round trip with an 8-byte acknowledgement: this side loans a
/// 64 KiB slice, fills all of it in place and sends it; the peer reads all
/// of it in place (a sum of its words), drops the sample and publishes the
/// sum as the acknowledgement, which this side checks. As the rshm cases of
/// the same section do.
pub fn rtt_64k(plan: &Plan) -> Batches {
    let n = NEXT_SERVICE.fetch_add(1, Relaxed);
    let (big, ack) = (name(n, "big"), name(n, "ack"));
    let flags = Flags::new();
    let total = plan.total();
    let peer = fork_peer(|| {
        let node = node();
        let there = service!(node, big, [u8], RTT_BUFFER);
        let back = service!(node, ack, u64, RTT_BUFFER);
        let rx = subscriber!(there, RTT_BUFFER);
        let tx = publisher!(back);
        flags.ready().store(1, Release);
        connect!(back, tx);
        for _ in 0..total {
            let sample = receive!(rx, flags.lost());
            assert_eq!(sample.payload().len(), BIG);
            let sum = read_all(sample.payload());
            drop(sample);
            let reply = tx.loan_uninit().expect("iceoryx2: loan failed");
            delivered(
                reply
                    .write_payload(sum)
                    .send()
                    .expect("iceoryx2: send failed"),
                flags.lost(),
            );
        }
    });
    flags.wait_ready();
    let node = node();
    let there = service!(node, big, [u8], RTT_BUFFER);
    let back = service!(node, ack, u64, RTT_BUFFER);
    let tx = publisher!(there, slice BIG);
    let rx = subscriber!(back, RTT_BUFFER);
    connect!(there, tx);
    let mut i = 0u8;
    let batches = plan.run(|| {
        i = i.wrapping_add(1);
        let mut sample = tx.loan_slice_uninit(BIG).expect("iceoryx2: loan failed");
        let payload = sample.payload_mut();
        // SAFETY: the loaned slice's BIG bytes (MaybeUninit<u8> has u8's layout).
        unsafe { fill_raw(payload.as_mut_ptr().cast(), BIG, i) };
        // SAFETY: every byte was written just above.
        let sample = unsafe { sample.assume_init() };
        delivered(sample.send().expect("iceoryx2: send failed"), flags.lost());
        let reply = receive!(rx, flags.lost());
        assert_eq!(
            *reply.payload(),
            expected_sum(i),
            "iceoryx2: a wrong acknowledgement"
        );
    });
    peer.wait();
    DELIVERED.fetch_add(2 * total, Relaxed);
    batches
}

/// Samples a subscriber may hold in the one-to-many cases: 256 of 64 B (as
/// the throughput), 16 of 64 KiB (1 MiB, as the rshm broadcast ring).
fn broadcast_buffer(size: usize) -> usize {
    if size > 4096 {
        16
    } else {
        THROUGHPUT_BUFFER
    }
}

/// One to many (see `broadcast.rs`): one publisher, `receivers`
/// subscribers, `size`-byte slices numbered and filled in place in loaned
/// samples, read all in place by every subscriber. Nothing may be lost: a
/// full subscriber holds the publisher back, and every send must reach all
/// `receivers`.
pub fn broadcast(size: usize, receivers: usize, plan: &Plan) -> Batches {
    let n = NEXT_SERVICE.fetch_add(1, Relaxed);
    let topic = name(n, "broadcast");
    let buffer = broadcast_buffer(size);
    // Receivers that share CPU 0 yield it; a lone one spins, as in the pairs.
    let spins = if receivers > 1 { SPINS } else { u32::MAX };
    let service = |node: &Node<ipc::Service>| {
        node.service_builder(&topic)
            .publish_subscribe::<[u8]>()
            .max_publishers(1)
            .max_subscribers(receivers)
            .history_size(0)
            .subscriber_max_buffer_size(buffer)
            .subscriber_max_borrowed_samples(1)
            .enable_safe_overflow(false)
            .open_or_create()
            .expect("iceoryx2: cannot open or create the service")
    };
    crate::broadcast::run(
        plan,
        receivers,
        true,
        |board| {
            let node = node();
            let service = service(&node);
            let tx = publisher!(service, slice size);
            board.made().store(1, Release);
            Board::wait_for(board.ready(), receivers as u64);
            while service.dynamic_config().number_of_subscribers() < receivers {
                std::thread::yield_now();
            }
            tx.update_connections()
                .expect("iceoryx2: cannot connect the publisher");
            let mut seq = 0u64;
            loop {
                let stop = board.stop().load(Relaxed) != 0;
                let number = if stop { END } else { seq };
                let mut sample = tx.loan_slice_uninit(size).expect("iceoryx2: loan failed");
                // SAFETY: the loaned slice's `size` bytes (MaybeUninit<u8> has u8's layout).
                unsafe { write_numbered(sample.payload_mut().as_mut_ptr().cast(), size, number) };
                // SAFETY: every byte was written just above.
                let sample = unsafe { sample.assume_init() };
                let reached = sample.send().expect("iceoryx2: send failed");
                assert_eq!(reached, receivers, "iceoryx2: a sample missed a subscriber");
                if stop {
                    break;
                }
                seq += 1;
            }
            Board::wait_for(board.finished(), receivers as u64);
        },
        || {
            let node = node();
            let service = service(&node);
            let rx = subscriber!(service, buffer);
            move || {
                let _keep = (&node, &service);
                poll_yielding(spins, || {
                    rx.receive()
                        .expect("iceoryx2: receive failed")
                        .map(|sample| check_numbered(size, read_numbered(sample.payload())))
                })
            }
        },
    )
}
