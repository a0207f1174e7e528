//! The cases: each sets up, forks its peer onto CPU 1, runs the plan it is
//! given through [`Plan::run`] (one `step` = one round trip, or one message
//! received), reaps the peer and removes what it made. The peer serves exactly
//! `plan.total()` iterations.

use crate::method::{Batches, Plan};
use crate::peer::{fork_peer, SharedPage};
use rshm::{Channel, ChannelOptions, Key, OpenOptions, Role};
use std::hint::spin_loop;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::*};
use std::sync::OnceLock;

// ---------- the floor: one cache line bounced between the two CPUs ----------

/// How many lines the floor spreads over, one per page.
const FLOOR_LINES: usize = 16;
/// Round trips on one line before the floor moves to the next.
const STINT: u64 = 32;

/// The floor's lines: allocated once, so that every floor measurement of the
/// run bounces the same physical lines; inherited by every peer forked after.
fn floor_lines() -> &'static [&'static AtomicU64] {
    static LINES: OnceLock<Vec<&'static AtomicU64>> = OnceLock::new();
    LINES.get_or_init(|| {
        (0..FLOOR_LINES)
            // One line per page, at different offsets (different cache sets).
            .map(|j| Box::leak(Box::new(SharedPage::new())).word(8 * ((j * 11) % 64)))
            .collect()
    })
}

/// Ping-pong: this side writes an odd number into a line, the peer answers
/// with the next even one; one step is one round trip of one line. The line
/// changes every [`STINT`] round trips, cycling through `lines`. Both sides
/// wait the way the channel does (load, `pause`, load).
fn ping_pong(lines: &[&AtomicU64], plan: &Plan) -> Batches {
    for line in lines {
        line.store(0, SeqCst);
    }
    let line = |i: u64| lines[((i / STINT) % lines.len() as u64) as usize];
    let total = plan.total();
    let peer = fork_peer(|| {
        for i in 0..total {
            let line = line(i);
            while line.load(Acquire) != 2 * i + 1 {
                spin_loop();
            }
            line.store(2 * i + 2, Release);
        }
    });
    let mut i = 0u64;
    let batches = plan.run(|| {
        let line = line(i);
        line.store(2 * i + 1, Release);
        while line.load(Acquire) != 2 * i + 2 {
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

/// What the floor's lines take one by one (ns per round trip): min, mean, max.
pub fn floor_lines_note() -> String {
    let plan = Plan {
        warmup: 3000,
        per_batch: 1000,
        batches: 5,
    };
    let ns: Vec<f64> = floor_lines()
        .iter()
        .map(|line| {
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

// ---------- rshm channel ----------

static NEXT_KEY: AtomicI32 = AtomicI32::new(0x5253_4200);

fn key() -> Key {
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
struct MsgBuf {
    mtype: libc::c_long,
    text: [u8; 65536],
}

fn msg_buf(mtype: libc::c_long, fill: u8) -> Box<MsgBuf> {
    Box::new(MsgBuf {
        mtype,
        text: [fill; 65536],
    })
}

fn msgsnd(q: i32, msg: &MsgBuf, size: usize) {
    // SAFETY: msg is a valid message of at least `size` bytes of text.
    let rc = unsafe { libc::msgsnd(q, (msg as *const MsgBuf).cast(), size, 0) };
    assert_eq!(rc, 0, "msgsnd failed");
}

fn msgrcv(q: i32, msg: &mut MsgBuf, size: usize, mtype: libc::c_long) {
    // SAFETY: msg has room for `size` bytes of text.
    let n = unsafe { libc::msgrcv(q, (msg as *mut MsgBuf).cast(), size, mtype, 0) };
    assert_eq!(n, size as isize, "msgrcv failed");
}

/// A private queue, removed on drop.
struct Queue(i32);

impl Queue {
    fn new() -> Queue {
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
