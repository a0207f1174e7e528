//! The cases: each sets up, forks its peer onto CPU 1, runs the plan it is
//! given through [`Plan::run`] (one `step` = one round trip, or one message
//! received), reaps the peer and removes what it made. The peer serves exactly
//! `plan.total()` iterations.

use crate::method::{Batches, Plan};
use crate::peer::{fork_peer, SharedMem, SharedPage};
use rshm::{Channel, ChannelOptions, Key, OpenOptions, Role};
use std::hint::{black_box, spin_loop};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::*};
use std::sync::OnceLock;

// ---------- the floors: cache lines bounced between the two CPUs ----------

/// How many lines the floor spreads over, one per page.
const FLOOR_LINES: usize = 16;
/// Round trips on one line before the floor moves to the next.
const STINT: u64 = 32;

/// The floor's lines: allocated once, so that every floor measurement of the
/// run bounces the same physical lines; inherited by every peer forked after.
/// Each is the address of a line's first byte; the line after it, on the same
/// page, is the second line of the two-line floor.
fn floor_lines() -> &'static [usize] {
    static LINES: OnceLock<Vec<usize>> = OnceLock::new();
    LINES.get_or_init(|| {
        (0..FLOOR_LINES)
            // One line per page, at different offsets (different cache sets):
            // lines 0 to 57 of their pages, so the next line is on the page too.
            .map(|j| Box::leak(Box::new(SharedPage::new())).ptr() as usize + 64 * ((j * 11) % 64))
            .collect()
    })
}

/// The word at the start of a floor line: the flag both floors bounce.
fn flag(line: usize) -> &'static AtomicU64 {
    // SAFETY: a line of a leaked page (floor_lines), 64-aligned, used only atomically.
    unsafe { &*(line as *const AtomicU64) }
}

/// The line a floor uses at its `i`th round trip: [`STINT`] round trips on
/// each of `lines` in turn.
fn line_at(lines: &[usize], i: u64) -> usize {
    lines[((i / STINT) % lines.len() as u64) as usize]
}

/// Ping-pong: this side writes an odd number into a line, the peer answers
/// with the next even one; one step is one round trip of one line. The line
/// changes every [`STINT`] round trips, cycling through `lines`. Both sides
/// wait the way the channel does (load, `pause`, load).
fn ping_pong(lines: &[usize], plan: &Plan) -> Batches {
    for &line in lines {
        flag(line).store(0, SeqCst);
    }
    let total = plan.total();
    let peer = fork_peer(|| {
        for i in 0..total {
            let flag = flag(line_at(lines, i));
            while flag.load(Acquire) != 2 * i + 1 {
                spin_loop();
            }
            flag.store(2 * i + 2, Release);
        }
    });
    let mut i = 0u64;
    let batches = plan.run(|| {
        let flag = flag(line_at(lines, i));
        flag.store(2 * i + 1, Release);
        while flag.load(Acquire) != 2 * i + 2 {
            spin_loop();
        }
        i += 1;
    });
    peer.wait();
    batches
}

/// The floor: one 64-byte line bounced between the CPUs per round trip, over
/// the same 16 lines on 16 pages all run, 32 round trips on each in turn.
///
/// Why 16 lines: a line's round trip depends on its physical address (the L3
/// slice that homes it): 130 to 210 ns across lines on the development
/// machine, each line steady. One line would make every ratio of a run depend
/// on the slice it drew; 16 in turn give the mean over slices (as a channel's
/// ring does), and 32 round trips per stint keep the switches out of it.
pub fn floor(plan: &Plan) -> Batches {
    ping_pong(floor_lines(), plan)
}

/// A 64-byte message where a channel puts one: after an 8-byte word, so that
/// it spans two lines (56 bytes in the first, 8 in the second).
const MESSAGE_AT: usize = 8;

/// Copies the 64-byte message out of the two lines at `line`.
///
/// # Safety
/// `line` is a floor line; the caller holds it (it saw the peer's flag).
unsafe fn read_message(line: usize, buf: &mut [u8; 64]) {
    std::ptr::copy_nonoverlapping((line + MESSAGE_AT) as *const u8, buf.as_mut_ptr(), 64);
}

/// Copies a 64-byte message into the two lines at `line`.
///
/// # Safety
/// As [`read_message`].
unsafe fn write_message(line: usize, message: &[u8; 64]) {
    std::ptr::copy_nonoverlapping(message.as_ptr(), (line + MESSAGE_AT) as *mut u8, 64);
}

/// The two-line floor: a 64-byte message laid out as a channel lays one
/// (an 8-byte word, then the 64 bytes: two lines), bounced between the CPUs.
/// This side writes the 64 bytes and then an odd flag in the word; the peer
/// waits for the flag, reads the 64 bytes, writes them back and raises the
/// flag to the next even number; this side waits for it and reads the 64
/// bytes. One step is one round trip of a 64-byte message, two lines each
/// way: the physical limit for a message of that size with its word. Same
/// lines as [`floor`] (plus the next line of each), same stints.
pub fn floor_two_lines(plan: &Plan) -> Batches {
    let lines = floor_lines();
    for &line in lines {
        flag(line).store(0, SeqCst);
    }
    let total = plan.total();
    let peer = fork_peer(|| {
        let mut buf = [0u8; 64];
        for i in 0..total {
            let line = line_at(lines, i);
            let flag = flag(line);
            while flag.load(Acquire) != 2 * i + 1 {
                spin_loop();
            }
            // SAFETY: the flag handed the lines to this side until it raises it again.
            unsafe { read_message(line, &mut buf) };
            // The bytes are used: the compiler must read them and write them back.
            black_box(&mut buf);
            // SAFETY: as above.
            unsafe { write_message(line, &buf) };
            flag.store(2 * i + 2, Release);
        }
    });
    let mut message = [7u8; 64];
    let mut buf = [0u8; 64];
    let mut i = 0u64;
    let batches = plan.run(|| {
        let line = line_at(lines, i);
        let flag = flag(line);
        message[0] = i as u8;
        // SAFETY: the peer waits for the odd flag before it touches the lines.
        unsafe { write_message(line, black_box(&message)) };
        flag.store(2 * i + 1, Release);
        while flag.load(Acquire) != 2 * i + 2 {
            spin_loop();
        }
        // SAFETY: the even flag handed the lines back.
        unsafe { read_message(line, &mut buf) };
        black_box(&buf);
        i += 1;
    });
    peer.wait();
    batches
}

/// What the floor's lines take one by one (ns per round trip): min, mean, max.
pub fn floor_lines_note() -> String {
    let plan = Plan {
        warmup: 3000,
        per_batch: 1000,
        batches: 5,
    };
    let ns: Vec<f64> = floor_lines()
        .iter()
        .map(|&line| {
            let Batches(mut b) = ping_pong(&[line], &plan);
            b.sort_by(f64::total_cmp);
            b[b.len() / 2] / plan.per_batch as f64
        })
        .collect();
    let spread = crate::method::Spread::of(ns.iter().copied());
    format!(
        "floor: {} lines on {} pages, {} round trips on each in turn; one by one they take {:.0}-{:.0} ns (median {:.0})",
        FLOOR_LINES, FLOOR_LINES, STINT, spread.min, spread.max, spread.median
    )
}

/// The one-line floor now, in ns per round trip (the median of 5 batches of
/// 1000): what placement the vCPUs have, printed next to every section.
pub fn floor_now() -> f64 {
    let plan = Plan {
        warmup: 1000,
        per_batch: 1000,
        batches: 5,
    };
    let Batches(mut b) = floor(&plan);
    b.sort_by(f64::total_cmp);
    b[b.len() / 2] / plan.per_batch as f64
}

// ---------- the streaming floor: lines flowing one way through a ring ----------

/// The streaming floor's ring: 1 MiB of lines, as the throughput channel's ring.
const STREAM_LINES: usize = (1 << 20) / 64;
/// The consumer publishes its position once per this many lines.
const STREAM_POST_EVERY: u64 = 64;

/// The ring's first line and the consumer's position (a line on a page of its
/// own), allocated once like the floor's lines.
fn stream_ring() -> (usize, &'static AtomicU64) {
    static RING: OnceLock<(usize, usize)> = OnceLock::new();
    let &(lines, consumed) = RING.get_or_init(|| {
        let lines = Box::leak(Box::new(SharedMem::new(STREAM_LINES * 64))).ptr() as usize;
        let consumed = Box::leak(Box::new(SharedPage::new())).ptr() as usize;
        (lines, consumed)
    });
    // SAFETY: a leaked page's first word, used only atomically.
    (lines, unsafe { &*(consumed as *const AtomicU64) })
}

/// Word `w` (0..8) of line `k` of the streaming ring.
fn stream_word(lines: usize, k: usize, w: usize) -> &'static AtomicU64 {
    // SAFETY: inside the leaked ring, 8-aligned, used only atomically.
    unsafe { &*((lines + 64 * k + 8 * w) as *const AtomicU64) }
}

/// The streaming floor: the peer on CPU 1 writes one 64-byte line per message
/// into a ring of 16384 lines (1 MiB), seven payload words and then the
/// message's sequence number (plus one) in word 0; this side, on CPU 0, waits
/// for the number it expects in the next line and reads the line's eight
/// words. The sequence tags mean no line is read before it is written; the
/// consumer publishes its position every 64 lines (on a line of its own), and
/// the producer reads it only when its last reading says the ring is full. One
/// step is one message received: one line moved from CPU 1 to CPU 0, nothing
/// else, the least a one-way 64-byte message can cost.
pub fn stream_floor(plan: &Plan) -> Batches {
    let (lines, consumed) = stream_ring();
    for k in 0..STREAM_LINES {
        stream_word(lines, k, 0).store(0, Relaxed);
    }
    consumed.store(0, SeqCst);
    let total = plan.total();
    let ring = STREAM_LINES as u64;
    let peer = fork_peer(|| {
        let mut free_until = ring;
        for i in 0..total {
            while i >= free_until {
                free_until = consumed.load(Acquire) + ring;
                spin_loop();
            }
            let k = (i % ring) as usize;
            for w in 1..8 {
                stream_word(lines, k, w).store(i ^ w as u64, Relaxed);
            }
            stream_word(lines, k, 0).store(i + 1, Release);
        }
    });
    let mut i = 0u64;
    let batches = plan.run(|| {
        let k = (i % ring) as usize;
        let tag = stream_word(lines, k, 0);
        while tag.load(Acquire) != i + 1 {
            spin_loop();
        }
        let mut x = 0;
        for w in 1..8 {
            x ^= stream_word(lines, k, w).load(Relaxed);
        }
        black_box(x);
        i += 1;
        if i.is_multiple_of(STREAM_POST_EVERY) {
            consumed.store(i, Release);
        }
    });
    peer.wait();
    batches
}

// ---------- rshm channel ----------

static NEXT_KEY: AtomicI32 = AtomicI32::new(0x5253_4200);

pub fn key() -> Key {
    Key::from_raw(NEXT_KEY.fetch_add(1, Relaxed))
}

/// A pair of channels (there and back); the peer echoes each message.
pub fn channel_rtt(size: usize, plan: &Plan) -> Batches {
    let (ping, pong) = (key(), key());
    let capacity = (size + 8) * 16;
    let made = |key, role| {
        Channel::create(
            ChannelOptions::new().key(key).remove_on_close(true),
            capacity,
            role,
        )
        .unwrap()
    };
    let (mut there, mut back) = (made(ping, Role::Sender), made(pong, Role::Receiver));
    let total = plan.total();
    let peer = fork_peer(|| {
        let mut rx = Channel::open(ChannelOptions::new().key(ping), Role::Receiver).unwrap();
        let mut tx = Channel::open(ChannelOptions::new().key(pong), Role::Sender).unwrap();
        let mut buf = vec![0u8; size];
        for _ in 0..total {
            let n = rx.recv(&mut buf, None).unwrap();
            tx.send(&buf[..n], None).unwrap();
        }
    });
    let message = vec![7u8; size];
    let mut buf = vec![0u8; size];
    let batches = plan.run(|| {
        there.send(&message, None).unwrap();
        back.recv(&mut buf, None).unwrap();
    });
    peer.wait();
    batches
}

/// One channel with a 1 MiB ring; the peer sends, this side receives.
pub fn channel_throughput(size: usize, plan: &Plan) -> Batches {
    let k = key();
    let mut rx = Channel::create(
        ChannelOptions::new().key(k).remove_on_close(true),
        1 << 20,
        Role::Receiver,
    )
    .unwrap();
    let total = plan.total();
    let peer = fork_peer(|| {
        let mut tx = Channel::open(ChannelOptions::new().key(k), Role::Sender).unwrap();
        let message = vec![7u8; size];
        for _ in 0..total {
            tx.send(&message, None).unwrap();
        }
    });
    let mut buf = vec![0u8; size];
    let batches = plan.run(|| {
        rx.recv(&mut buf, None).unwrap();
    });
    peer.wait();
    batches
}

// ---------- 64 KiB: zero-copy against copying (and iceoryx2, in iox.rs) ----------

/// The large message of the zero-copy comparison.
pub const BIG: usize = 64 << 10;

/// Fills `len` bytes at `at` with `value` (a memset the compiler must keep).
///
/// # Safety
/// `at` points to `len` writable bytes.
pub unsafe fn fill_raw(at: *mut u8, len: usize, value: u8) {
    std::ptr::write_bytes(at, value, len);
    black_box(at);
}

/// Reads every byte of `bytes`: the wrapping sum of its 8-byte words.
pub fn read_all(bytes: &[u8]) -> u64 {
    let words = bytes.chunks_exact(8);
    assert!(words.remainder().is_empty());
    black_box(words.fold(0u64, |sum, w| {
        sum.wrapping_add(u64::from_ne_bytes(w.try_into().unwrap()))
    }))
}

/// What [`read_all`] gives for [`BIG`] bytes filled with `value`.
pub fn expected_sum(value: u8) -> u64 {
    u64::from_ne_bytes([value; 8]).wrapping_mul((BIG / 8) as u64)
}

/// The 64 KiB round trip with an 8-byte acknowledgement, through two rshm
/// channels: this side fills a whole message, the peer reads all of it (the
/// sum of its words) and sends the sum back, which this side checks.
///
/// - copying (`zero_copy` false): this side fills a private buffer and
///   `send`s it (a copy into the ring); the peer `recv`s it into a private
///   buffer (a copy out of the ring) and reads that;
/// - zero-copy: this side `reserve`s 64 KiB in the ring, fills the guard and
///   commits it; the peer `peek`s, reads the lent bytes in place and drops
///   the guard (release).
///
/// The ring holds 16 records of 64 KiB (more than the 2 × (64 KiB + 8) a
/// reservation of 64 KiB needs: one is at most half the ring), the
/// acknowledgement channel 16 of 8 bytes. (Rings of 4 and 2 records gave
/// the same ratios within their spread on the development machine.)
pub fn channel_big_rtt(zero_copy: bool, plan: &Plan) -> Batches {
    let (ping, pong) = (key(), key());
    let made = |key, capacity, role| {
        Channel::create(
            ChannelOptions::new().key(key).remove_on_close(true),
            capacity,
            role,
        )
        .unwrap()
    };
    let mut there = made(ping, (BIG + 8) * 16, Role::Sender);
    let mut back = made(pong, 16 * 16, Role::Receiver);
    let total = plan.total();
    let peer = fork_peer(|| {
        let mut rx = Channel::open(ChannelOptions::new().key(ping), Role::Receiver).unwrap();
        let mut tx = Channel::open(ChannelOptions::new().key(pong), Role::Sender).unwrap();
        let mut buf = vec![0u8; BIG];
        for _ in 0..total {
            let sum = if zero_copy {
                let message = rx.peek(None).unwrap();
                assert_eq!(message.len(), BIG);
                read_all(&message)
            } else {
                let n = rx.recv(&mut buf, None).unwrap();
                assert_eq!(n, BIG);
                read_all(&buf)
            };
            tx.send(&sum.to_ne_bytes(), None).unwrap();
        }
    });
    let mut message = vec![0u8; BIG];
    let mut ack = [0u8; 8];
    let mut i = 0u8;
    let batches = plan.run(|| {
        i = i.wrapping_add(1);
        if zero_copy {
            let mut room = there.reserve(BIG, None).unwrap();
            // SAFETY: the guard lends BIG writable bytes.
            unsafe { fill_raw(room.as_mut_ptr(), BIG, i) };
            room.commit(BIG).unwrap();
        } else {
            // SAFETY: message holds BIG bytes.
            unsafe { fill_raw(message.as_mut_ptr(), BIG, i) };
            there.send(&message, None).unwrap();
        }
        assert_eq!(back.recv(&mut ack, None).unwrap(), 8);
        assert_eq!(
            u64::from_ne_bytes(ack),
            expected_sum(i),
            "a wrong acknowledgement"
        );
    });
    peer.wait();
    batches
}

// ---------- byte streams: pipe and Unix socket pair ----------

fn write_all(fd: i32, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: data is a valid buffer.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        assert!(n > 0, "write failed");
        data = &data[n as usize..];
    }
}

fn read_exact(fd: i32, mut buf: &mut [u8]) {
    while !buf.is_empty() {
        // SAFETY: buf is a valid buffer.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        assert!(n > 0, "read failed");
        buf = &mut buf[n as usize..];
    }
}

/// Two byte-stream connections, `there` (this side writes [1], the peer reads
/// [0]) and `back` (the peer writes [1], this side reads [0]).
pub type Streams = fn() -> ([i32; 2], [i32; 2]);

pub fn pipes() -> ([i32; 2], [i32; 2]) {
    let (mut a, mut b) = ([0; 2], [0; 2]);
    // SAFETY: valid arrays for pipe(2).
    let ok = unsafe { libc::pipe(a.as_mut_ptr()) == 0 && libc::pipe(b.as_mut_ptr()) == 0 };
    assert!(ok, "pipe failed");
    (a, b)
}

pub fn socket_pair() -> ([i32; 2], [i32; 2]) {
    let mut fds = [0; 2];
    // SAFETY: a valid array for socketpair(2).
    let ok = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) };
    assert_eq!(ok, 0, "socketpair failed");
    // One connection both ways: this side writes and reads fds[0], the peer fds[1].
    ([fds[1], fds[0]], [fds[0], fds[1]])
}

fn close_all(fds: &[[i32; 2]; 2]) {
    let mut all: Vec<i32> = fds.iter().flatten().copied().collect();
    all.sort_unstable();
    all.dedup();
    for fd in all {
        // SAFETY: our descriptors, each closed once.
        unsafe { libc::close(fd) };
    }
}

pub fn stream_rtt(size: usize, make: Streams, plan: &Plan) -> Batches {
    let (there, back) = make();
    let total = plan.total();
    let peer = fork_peer(|| {
        let mut buf = vec![0u8; size];
        for _ in 0..total {
            read_exact(there[0], &mut buf);
            write_all(back[1], &buf);
        }
    });
    let message = vec![7u8; size];
    let mut buf = vec![0u8; size];
    let batches = plan.run(|| {
        write_all(there[1], &message);
        read_exact(back[0], &mut buf);
    });
    peer.wait();
    close_all(&[there, back]);
    batches
}

pub fn stream_throughput(size: usize, make: Streams, plan: &Plan) -> Batches {
    let (there, back) = make();
    let total = plan.total();
    // The peer writes on `back`: this side reads what it sends.
    let peer = fork_peer(|| {
        let message = vec![7u8; size];
        for _ in 0..total {
            write_all(back[1], &message);
        }
    });
    let mut buf = vec![0u8; size];
    let batches = plan.run(|| read_exact(back[0], &mut buf));
    peer.wait();
    close_all(&[there, back]);
    batches
}

// ---------- SysV message queue ----------

#[repr(C)]
pub struct MsgBuf {
    pub mtype: libc::c_long,
    pub text: [u8; 65536],
}

pub fn msg_buf(mtype: libc::c_long, fill: u8) -> Box<MsgBuf> {
    Box::new(MsgBuf {
        mtype,
        text: [fill; 65536],
    })
}

pub fn msgsnd(q: i32, msg: &MsgBuf, size: usize) {
    // SAFETY: msg is a valid message of at least `size` bytes of text.
    let rc = unsafe { libc::msgsnd(q, (msg as *const MsgBuf).cast(), size, 0) };
    assert_eq!(rc, 0, "msgsnd failed");
}

pub fn msgrcv(q: i32, msg: &mut MsgBuf, size: usize, mtype: libc::c_long) {
    // SAFETY: msg has room for `size` bytes of text.
    let n = unsafe { libc::msgrcv(q, (msg as *mut MsgBuf).cast(), size, mtype, 0) };
    assert_eq!(n, size as isize, "msgrcv failed");
}

/// A private queue, removed on drop.
pub struct Queue(pub i32);

impl Queue {
    pub fn new() -> Queue {
        // SAFETY: msgget takes no pointers.
        let q = unsafe { libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600) };
        assert!(q >= 0, "msgget failed");
        Queue(q)
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        // SAFETY: removing our queue.
        unsafe { libc::msgctl(self.0, libc::IPC_RMID, std::ptr::null_mut()) };
    }
}

/// One queue: type 1 there, type 2 back.
pub fn msgq_rtt(size: usize, plan: &Plan) -> Batches {
    let queue = Queue::new();
    let q = queue.0;
    let total = plan.total();
    let peer = fork_peer(|| {
        let mut msg = msg_buf(1, 0);
        for _ in 0..total {
            msgrcv(q, &mut msg, size, 1);
            msg.mtype = 2;
            msgsnd(q, &msg, size);
        }
    });
    let mut msg = msg_buf(1, 7);
    let batches = plan.run(|| {
        msg.mtype = 1;
        msgsnd(q, &msg, size);
        msgrcv(q, &mut msg, size, 2);
    });
    peer.wait();
    batches
}

pub fn msgq_throughput(size: usize, plan: &Plan) -> Batches {
    let queue = Queue::new();
    let q = queue.0;
    let total = plan.total();
    let peer = fork_peer(|| {
        let msg = msg_buf(1, 7);
        for _ in 0..total {
            msgsnd(q, &msg, size);
        }
    });
    let mut msg = msg_buf(0, 0);
    let batches = plan.run(|| msgrcv(q, &mut msg, size, 0));
    peer.wait();
    batches
}

// ---------- SysV semaphores with the message in a shared segment ----------

/// A private set of two semaphores, removed on drop.
struct SemSet(i32);

impl SemSet {
    fn op(&self, num: u16, op: i16) {
        let mut buf = libc::sembuf {
            sem_num: num,
            sem_op: op,
            sem_flg: 0,
        };
        // SAFETY: a valid sembuf.
        let rc = unsafe { libc::semop(self.0, &mut buf, 1) };
        assert_eq!(rc, 0, "semop failed");
    }
}

impl Drop for SemSet {
    fn drop(&mut self) {
        // SAFETY: removing our set.
        unsafe { libc::semctl(self.0, 0, libc::IPC_RMID) };
    }
}

/// The message goes through an rshm segment; semaphore 0 says "there",
/// semaphore 1 "back".
pub fn sem_rtt(size: usize, plan: &Plan) -> Batches {
    let shm = OpenOptions::new()
        .create(true)
        .size(size.max(8))
        .remove_on_close(true)
        .open()
        .unwrap();
    // SAFETY: semget takes no pointers.
    let set = SemSet(unsafe { libc::semget(libc::IPC_PRIVATE, 2, libc::IPC_CREAT | 0o600) });
    assert!(set.0 >= 0, "semget failed");
    let data = shm.as_ptr();
    let total = plan.total();
    let peer = fork_peer(|| {
        let mut buf = vec![0u8; size];
        for _ in 0..total {
            set.op(0, -1);
            // SAFETY: the segment holds size bytes; the semaphores order the accesses.
            unsafe {
                std::ptr::copy_nonoverlapping(data, buf.as_mut_ptr(), size);
                std::ptr::copy_nonoverlapping(buf.as_ptr(), data, size);
            }
            set.op(1, 1);
        }
    });
    let message = vec![7u8; size];
    let mut buf = vec![0u8; size];
    let batches = plan.run(|| {
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(message.as_ptr(), data, size) };
        set.op(0, 1);
        set.op(1, -1);
        // SAFETY: as above.
        unsafe { std::ptr::copy_nonoverlapping(data, buf.as_mut_ptr(), size) };
    });
    peer.wait();
    drop(shm);
    batches
}
