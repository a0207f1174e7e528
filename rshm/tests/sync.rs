//! Semaphores, robust mutexes and channels, including crashes: a holder or a
//! peer killed with SIGKILL. One test at a time (they fork).

mod common;

use common::{channel_options, keyed_segment, kill, reap, serial, spawn, unique_key};
use rshm::{
    Channel, ChannelOptions, ErrorKind, Mutex, OpenOptions, Role, Semaphore, SemaphoreOptions,
    MUTEX_SIZE,
};
use std::time::{Duration, Instant};

// ---- semaphores ----

/// A new semaphore for `key` holding `initial` units (made here, exclusively).
fn new_semaphore(key: rshm::Key, initial: u16) -> Semaphore {
    Semaphore::open(
        SemaphoreOptions::new()
            .key(key)
            .create(true)
            .exclusive(true)
            .initial(initial),
    )
    .unwrap()
}

#[test]
fn semaphore_counts_times_out_and_refuses_bad_opens() {
    let _serial = serial();
    let key = unique_key(line!());
    let sem = new_semaphore(key, 1);
    let _removing = RemoveSem(&sem);
    assert_eq!(sem.value().unwrap(), 1);
    let other = Semaphore::open(SemaphoreOptions::new().key(key).initial(0)).unwrap();
    assert_eq!(other.id(), sem.id());
    sem.wait(None).unwrap();
    assert_eq!(other.value().unwrap(), 0);
    let error = other.wait(Some(Duration::ZERO)).unwrap_err();
    assert!((error.kind() == ErrorKind::WouldBlock), "{error}");
    let started = Instant::now();
    let error = other.wait(Some(Duration::from_millis(50))).unwrap_err();
    assert!((error.kind() == ErrorKind::TimedOut), "{error}");
    assert!(started.elapsed() >= Duration::from_millis(45));
    sem.post().unwrap();
    other.wait(Some(Duration::from_secs(1))).unwrap();
    other.post().unwrap();
    let error = Semaphore::open(
        SemaphoreOptions::new()
            .key(key)
            .create(true)
            .exclusive(true)
            .initial(0),
    )
    .unwrap_err();
    assert!((error.kind() == ErrorKind::Exists), "{error}");
    let error =
        Semaphore::open(SemaphoreOptions::new().key(unique_key(line!())).initial(0)).unwrap_err();
    assert!((error.kind() == ErrorKind::NotFound), "{error}");
    assert!(error.to_string().starts_with("sem_open(key=0x"), "{error}");
    let wide = Semaphore::open(
        SemaphoreOptions::new()
            .key(key)
            .create(true)
            .mode(rshm::Mode::from_bits_retain(0o1777)),
    );
    assert!(
        matches!(wide, Err(ref e) if e.kind() == ErrorKind::InvalidArgument),
        "{wide:?}"
    );
    let exclusive = Semaphore::open(SemaphoreOptions::new().key(key).exclusive(true).initial(0));
    assert!(
        matches!(exclusive, Err(ref e) if e.kind() == ErrorKind::InvalidArgument),
        "{exclusive:?}"
    );
}

struct RemoveSem<'a>(&'a Semaphore);
impl Drop for RemoveSem<'_> {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

#[test]
fn a_holder_killed_with_sigkill_releases_the_semaphore() {
    let _serial = serial();
    let key = unique_key(line!());
    let sem = Semaphore::open(SemaphoreOptions::new().key(key).create(true).initial(1)).unwrap();
    let _removing = RemoveSem(&sem);
    let holder = spawn(move || {
        let sem = Semaphore::open(SemaphoreOptions::new().key(key).initial(0)).unwrap();
        sem.wait(None).unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while sem.value().unwrap() != 0 {
        assert!(Instant::now() < deadline, "the child never took the unit");
        std::thread::sleep(Duration::from_millis(1));
    }
    kill(holder);
    sem.wait(Some(Duration::from_secs(2)))
        .expect("SEM_UNDO gave the dead holder's unit back");
    sem.post().unwrap();
}

#[test]
fn a_post_used_as_a_signal_outlives_its_poster_and_removal_wakes_waiters() {
    let _serial = serial();
    let key = unique_key(line!());
    let sem = Semaphore::open(SemaphoreOptions::new().key(key).create(true).initial(0)).unwrap();
    let poster = spawn(move || {
        let sem = Semaphore::open(SemaphoreOptions::new().key(key).initial(0)).unwrap();
        sem.post().map_or(1, |()| 0)
    });
    assert_eq!(reap(poster), 0);
    assert_eq!(
        sem.value().unwrap(),
        1,
        "the signal stays after its poster exits"
    );
    sem.wait(None).unwrap();
    let waiter = spawn(move || {
        let sem = Semaphore::open(SemaphoreOptions::new().key(key).initial(0)).unwrap();
        match sem.wait(None) {
            Err(ref e) if e.kind() == ErrorKind::Removed => 0,
            other => {
                eprintln!("{other:?}");
                1
            }
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    sem.remove().unwrap();
    assert_eq!(reap(waiter), 0, "a waiter learns of the removal");
}

// ---- robust mutexes ----

fn segment_for_mutexes() -> rshm::OpenSegment {
    OpenOptions::new()
        .create(true)
        .size(4096)
        .remove_on_close(true)
        .open()
        .unwrap()
}

#[test]
fn mutex_locks_unlocks_and_refuses_what_is_not_a_mutex() {
    let _serial = serial();
    let segment = segment_for_mutexes();
    let error = Mutex::at(&segment, 64).unwrap_err();
    assert!((error.kind() == ErrorKind::Corrupt), "{error}");
    assert!(
        Mutex::init(&segment, 4096 - MUTEX_SIZE + 8).is_err(),
        "past the end"
    );
    assert!(
        (Mutex::init(&segment, 4).unwrap_err().kind() == ErrorKind::InvalidArgument),
        "misaligned"
    );
    Mutex::init(&segment, 64).unwrap();
    Mutex::at(&segment, 64).unwrap().lock(None).unwrap();
    let error = Mutex::at(&segment, 64)
        .unwrap()
        .lock(Some(Duration::ZERO))
        .unwrap_err();
    assert!(
        matches!(
            error.kind(),
            ErrorKind::InvalidArgument | ErrorKind::WouldBlock
        ),
        "{error}"
    );
    let mut other = None;
    std::thread::scope(|scope| {
        other = Some(
            scope
                .spawn(|| {
                    Mutex::at(&segment, 64)
                        .unwrap()
                        .lock(Some(Duration::from_millis(30)))
                })
                .join()
                .unwrap(),
        );
    });
    assert!(
        matches!(other, Some(Err(ref e)) if e.kind() == ErrorKind::TimedOut),
        "{other:?}"
    );
    Mutex::at(&segment, 64).unwrap().unlock().unwrap();
    let error = Mutex::at(&segment, 64).unwrap().unlock().unwrap_err();
    assert!((error.kind() == ErrorKind::PermissionDenied), "{error}");
}

#[test]
fn a_mutex_holder_killed_with_sigkill_gives_owner_died_then_repair() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut segment = keyed_segment(key, 4096);
    Mutex::init(&segment, 0).unwrap();
    segment.write(MUTEX_SIZE, &[0]).unwrap();
    let holder = spawn(move || {
        let mut segment = OpenOptions::new().key(key).open().unwrap();
        Mutex::at(&segment, 0).unwrap().lock(None).unwrap();
        segment.write(MUTEX_SIZE, &[1]).unwrap(); // half-done work, then death
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while segment.read(MUTEX_SIZE, &mut [0u8; 1]).is_ok() && {
        let mut byte = [0u8];
        segment.read(MUTEX_SIZE, &mut byte).unwrap();
        byte[0] == 0
    } {
        assert!(Instant::now() < deadline, "the child never locked");
        std::thread::sleep(Duration::from_millis(1));
    }
    kill(holder);
    let error = Mutex::at(&segment, 0)
        .unwrap()
        .lock(Some(Duration::from_secs(2)))
        .unwrap_err();
    assert!((error.kind() == ErrorKind::OwnerDied), "{error}");
    segment.write(MUTEX_SIZE, &[0]).unwrap(); // repair
    Mutex::at(&segment, 0).unwrap().consistent().unwrap();
    Mutex::at(&segment, 0).unwrap().unlock().unwrap();
    Mutex::at(&segment, 0)
        .unwrap()
        .lock(Some(Duration::ZERO))
        .unwrap();
    Mutex::at(&segment, 0).unwrap().unlock().unwrap();

    // Unlocking without marking it consistent makes it unusable, said plainly.
    let holder = spawn(move || {
        let mut segment = OpenOptions::new().key(key).open().unwrap();
        Mutex::at(&segment, 0).unwrap().lock(None).unwrap();
        segment.write(MUTEX_SIZE, &[2]).unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let mut byte = [0u8];
    while {
        segment.read(MUTEX_SIZE, &mut byte).unwrap();
        byte[0] != 2
    } {
        std::thread::sleep(Duration::from_millis(1));
    }
    kill(holder);
    assert_eq!(
        Mutex::at(&segment, 0)
            .unwrap()
            .lock(None)
            .unwrap_err()
            .kind(),
        ErrorKind::OwnerDied
    );
    Mutex::at(&segment, 0).unwrap().unlock().unwrap();
    let error = Mutex::at(&segment, 0).unwrap().lock(None).unwrap_err();
    assert!((error.kind() == ErrorKind::NotRecoverable), "{error}");
}

// ---- channels ----

fn checksum(data: &[u8]) -> u32 {
    data.iter().fold(2166136261u32, |hash, &byte| {
        (hash ^ u32::from(byte)).wrapping_mul(16777619)
    })
}

#[test]
fn channel_carries_messages_of_every_size_across_the_wrap_in_order() {
    let _serial = serial();
    let key = unique_key(line!());
    let options = channel_options(key);
    let mut receiver = Channel::create(&options, 1024, Role::Receiver).unwrap();
    let sender_pid = spawn(move || {
        let mut sender = Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap();
        for i in 0..20_000usize {
            let len = (i * 7919) % 1017; // up to capacity - 8, every alignment
            let mut message = vec![0u8; len];
            for (j, byte) in message.iter_mut().enumerate() {
                *byte = (i + j) as u8;
            }
            if len >= 4 {
                message[..4].copy_from_slice(&(i as u32).to_le_bytes());
            }
            sender
                .send(&message, Some(Duration::from_secs(10)))
                .unwrap();
        }
        0
    });
    let mut buf = vec![0u8; 1016];
    for i in 0..20_000usize {
        let len = receiver
            .recv(&mut buf, Some(Duration::from_secs(10)))
            .unwrap();
        assert_eq!(len, (i * 7919) % 1017, "message {i}");
        let mut expect = vec![0u8; len];
        for (j, byte) in expect.iter_mut().enumerate() {
            *byte = (i + j) as u8;
        }
        if len >= 4 {
            expect[..4].copy_from_slice(&(i as u32).to_le_bytes());
        }
        assert_eq!(
            checksum(&buf[..len]),
            checksum(&expect),
            "message {i} arrived intact"
        );
    }
    assert_eq!(reap(sender_pid), 0);
    let error = receiver.recv(&mut buf, None).unwrap_err();
    assert!(
        (error.kind() == ErrorKind::Closed),
        "after the sender closes: {error}"
    );
}

#[test]
fn channel_limits_full_ring_small_buffers_and_corrupt_segments() {
    let _serial = serial();
    let key = unique_key(line!());
    let options = channel_options(key);
    let mut sender = Channel::create(&options, 64, Role::Sender).unwrap();
    let mut receiver = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap();
    let too_big = sender.send(&[0; 57], None).unwrap_err();
    assert!((too_big.kind() == ErrorKind::InvalidArgument), "{too_big}");
    sender.send(&[1; 56], None).unwrap();
    let full = sender.send(&[2; 1], Some(Duration::ZERO)).unwrap_err();
    assert!((full.kind() == ErrorKind::WouldBlock), "{full}");
    let timed = sender
        .send(&[2; 1], Some(Duration::from_millis(20)))
        .unwrap_err();
    assert!((timed.kind() == ErrorKind::TimedOut), "{timed}");
    let small = receiver.recv(&mut [0u8; 10], None).unwrap_err();
    assert!(
        small
            .to_string()
            .contains("the next message holds 56 bytes"),
        "{small}"
    );
    assert_eq!(
        receiver.recv(&mut [0u8; 56], None).unwrap(),
        56,
        "it stayed in the channel"
    );
    assert!(matches!(
        receiver.recv(&mut [0u8; 8], Some(Duration::ZERO)),
        Err(ref e) if e.kind() == ErrorKind::WouldBlock
    ));
    let second = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap_err();
    assert!((second.kind() == ErrorKind::Exists), "{second}");
    drop(receiver);
    let closed = sender
        .send(&[1; 8], None)
        .and_then(|()| sender.send(&[1; 56], None))
        .unwrap_err();
    assert!((closed.kind() == ErrorKind::Closed), "{closed}");

    // A segment that is not a channel, or a damaged one, is refused, never used.
    let not_a_channel = OpenOptions::new()
        .create(true)
        .size(4096)
        .remove_on_close(true)
        .open()
        .unwrap();
    let plain_key = unique_key(line!());
    let mut plain = keyed_segment(plain_key, 4096);
    plain.write(0, &[0xAB; 64]).unwrap();
    let error = Channel::open(ChannelOptions::new().key(plain_key), Role::Receiver).unwrap_err();
    assert!(
        (error.kind() == ErrorKind::Corrupt)
            && error.to_string().contains("does not hold a channel"),
        "{error}"
    );
    drop(not_a_channel);
    let damaged_key = unique_key(line!());
    let _channel = Channel::create(
        ChannelOptions::new().key(damaged_key).remove_on_close(true),
        256,
        Role::Sender,
    )
    .unwrap();
    // A peer's view of the same segment, to damage the header as another process could.
    let mut peer = OpenOptions::new().key(damaged_key).open().unwrap();
    let mut version = [0u8; 4];
    peer.read(8, &mut version).unwrap();
    peer.write(8, &99u32.to_le_bytes()).unwrap(); // a version this rshm does not read
    let error = Channel::open(ChannelOptions::new().key(damaged_key), Role::Receiver).unwrap_err();
    assert!(error.to_string().contains("version 99"), "{error}");
    peer.write(8, &version).unwrap(); // this rshm's layout again
    peer.write(16, &(1u64 << 40).to_le_bytes()).unwrap(); // a ring larger than the segment
    let error = Channel::open(ChannelOptions::new().key(damaged_key), Role::Receiver).unwrap_err();
    assert!(error.to_string().contains("inconsistent sizes"), "{error}");
}

#[test]
fn a_sender_killed_mid_stream_is_detected_after_its_messages_are_drained() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut receiver = Channel::create(
        ChannelOptions::new().key(key).remove_on_close(true),
        4096,
        Role::Receiver,
    )
    .unwrap();
    let sender_pid = spawn(move || {
        let mut sender = Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap();
        for i in 0u32..10 {
            sender.send(&i.to_le_bytes(), None).unwrap();
        }
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    let mut buf = [0u8; 4];
    for i in 0u32..10 {
        receiver
            .recv(&mut buf, Some(Duration::from_secs(5)))
            .unwrap();
        assert_eq!(u32::from_le_bytes(buf), i);
    }
    // SAFETY: our child.
    unsafe { libc::kill(sender_pid, libc::SIGKILL) };
    let started = Instant::now();
    let error = receiver
        .recv(&mut buf, Some(Duration::from_secs(5)))
        .unwrap_err();
    assert!((error.kind() == ErrorKind::PeerDied), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "noticed quickly, not at the timeout"
    );
    reap(sender_pid);

    // And a receiver that dies leaves a blocked sender an error, not a hang.
    let key = unique_key(line!());
    let mut sender = Channel::create(
        ChannelOptions::new().key(key).remove_on_close(true),
        64,
        Role::Sender,
    )
    .unwrap();
    let receiver_pid = spawn(move || {
        let _receiver = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    sender.send(&[0; 56], None).unwrap();
    // SAFETY: our child.
    unsafe { libc::kill(receiver_pid, libc::SIGKILL) };
    let error = sender
        .send(&[0; 56], Some(Duration::from_secs(5)))
        .unwrap_err();
    assert!((error.kind() == ErrorKind::PeerDied), "{error}");
    reap(receiver_pid);
}

#[test]
fn two_threads_stream_200000_messages_of_varying_length_over_many_laps() {
    let _serial = serial();
    let key = unique_key(line!());
    let mut rx = Channel::create(
        ChannelOptions::new().key(key).remove_on_close(true),
        65536,
        Role::Receiver,
    )
    .unwrap();
    let mut tx = Channel::open(ChannelOptions::new().key(key), Role::Sender).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 0..200_000u32 {
            let mut message = vec![(i % 251) as u8; 8 + (i as usize % 248)];
            message[..4].copy_from_slice(&i.to_le_bytes());
            tx.send(&message, None).unwrap();
        }
    });
    let mut buf = [0u8; 256];
    for i in 0..200_000u32 {
        let len = rx
            .recv(&mut buf, None)
            .unwrap_or_else(|error| panic!("message {i}: {error}"));
        assert_eq!(len, 8 + (i as usize % 248), "message {i}");
        assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()), i);
        assert!(
            buf[4..len].iter().all(|&b| b == (i % 251) as u8),
            "message {i} intact"
        );
    }
    sender.join().unwrap();
}

/// Busy-waits `d` (sleeping could overshoot by a scheduler tick).
fn busy(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// The nanoseconds a task has spent on a CPU and waiting for one (runnable),
/// from its `schedstat`: whatever it did not spend asleep. `None` where the
/// kernel keeps no such counts.
fn awake_ns(schedstat: &str) -> Option<u64> {
    let text = std::fs::read_to_string(schedstat).ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<u64>().ok());
    Some(fields.next()?? + fields.next()??)
}

/// How long both ends of a ping-pong slept at once during a wait: at least the
/// wait's length less what either spent awake (on a CPU or runnable, waiting
/// for one). A lost wakeup leaves both asleep (each waits for the other)
/// until the periodic check; a loaded machine makes one of them wait for a
/// CPU, which is not asleep. Without `schedstat` counts, the wait's length.
struct BothAsleep {
    paths: [String; 2],
}

impl BothAsleep {
    fn awake(&self) -> Option<u64> {
        Some(awake_ns(&self.paths[0])? + awake_ns(&self.paths[1])?)
    }

    /// Times `wait`: its length, and how long both ends slept at once.
    fn time(&self, wait: impl FnOnce()) -> (Duration, Duration) {
        let before = self.awake();
        let start = Instant::now();
        wait();
        let elapsed = start.elapsed();
        let awake = before.zip(self.awake()).map(|(b, a)| a.saturating_sub(b));
        let asleep = awake.map_or(elapsed, |ns| {
            elapsed.saturating_sub(Duration::from_nanos(ns))
        });
        (elapsed, asleep)
    }
}

/// A wakeup lost by the sleep protocol shows as a wait that lasts until the
/// sleeper's periodic check, 50 ms on, with both ends asleep meanwhile (each
/// waits for the other). Two processes here make each side wait thousands of
/// times, for delays that straddle the switch from spinning to sleeping: a
/// receiver for a message (a ping-pong, each end answering late), then a
/// sender for room (a ring that holds one message, read late). A wait
/// during which both ends slept at once for 30 ms more than the longest
/// delay counts as lost; time either end spent on a CPU or waiting for one
/// (a loaded machine) does not count, so load cannot pass for a lost wakeup.
#[test]
fn sleeping_ends_are_woken_without_waiting_for_their_periodic_check() {
    let _serial = serial();
    let (ping, pong) = (unique_key(line!()), unique_key(line!() + 1000));
    const ROUNDS: usize = 1000;
    // The longest delay, 2 ms, and 30 ms more.
    const LOST: Duration = Duration::from_millis(32);
    let delay = |round: usize| {
        let us = [0, 2, 10, 30, 60, 120, 250, 500, 1000, 2000][round % 10];
        Duration::from_micros(us)
    };
    // A ring of 64 bytes holds one 40-byte message (a record of 48 bytes).
    let made = |key, role| {
        Channel::create(
            ChannelOptions::new().key(key).remove_on_close(true),
            64,
            role,
        )
        .unwrap()
    };
    let (mut there, mut back) = (made(ping, Role::Sender), made(pong, Role::Receiver));
    let peer = spawn(move || {
        let mut rx = Channel::open(ChannelOptions::new().key(ping), Role::Receiver).unwrap();
        let mut tx = Channel::open(ChannelOptions::new().key(pong), Role::Sender).unwrap();
        let mut buf = [0u8; 64];
        for round in 0..ROUNDS {
            rx.recv(&mut buf, None).unwrap();
            busy(delay(round * 7));
            tx.send(&buf[..8], None).unwrap();
        }
        for round in 0..ROUNDS {
            busy(delay(round * 3));
            rx.recv(&mut buf, None).unwrap();
        }
        0
    });
    let both = BothAsleep {
        paths: [
            "/proc/thread-self/schedstat".into(),
            format!("/proc/{peer}/schedstat"),
        ],
    };
    // Without the counts a long wait is all there is to go by, and a loaded
    // machine may stall a few (the test's rule before it had the counts).
    let allowed = if both.awake().is_some() {
        0
    } else {
        eprintln!("no schedstat counts: every long wait counts as lost, load or not");
        3
    };
    let message = [7u8; 40];
    let mut buf = [0u8; 64];
    let (mut lost, mut slow) = (Vec::new(), Vec::new());
    let mut judge = |end, round, (elapsed, asleep): (Duration, Duration)| {
        if asleep > LOST {
            lost.push((end, round, elapsed, asleep));
        } else if elapsed > LOST {
            slow.push((elapsed, asleep));
        }
    };
    // Receivers wait: the peer for each ping, this side for each late answer.
    for round in 0..ROUNDS {
        busy(delay(round));
        let times = both.time(|| {
            there.send(&message, None).unwrap();
            back.recv(&mut buf, None).unwrap();
        });
        judge("receiver", round, times);
    }
    // The sender waits: each message finds the ring full until the peer reads the last.
    for round in 0..ROUNDS {
        let times = both.time(|| there.send(&message, None).unwrap());
        judge("sender", round, times);
    }
    assert_eq!(reap(peer), 0);
    if let Some(longest) = slow.iter().max() {
        let most_asleep = slow.iter().map(|&(_, asleep)| asleep).max();
        eprintln!(
            "{} waits lasted over {LOST:?} with an end awake (a loaded machine): the longest {:?}, both asleep at most {most_asleep:?}",
            slow.len(),
            longest.0
        );
    }
    assert!(
        lost.len() <= allowed,
        "{} of {} waits had both ends asleep until the periodic check (end, round, length, both asleep): {lost:?}",
        lost.len(),
        2 * ROUNDS
    );
}

/// `Some(Duration::MAX)` (a timeout past what the clock can hold) waits as
/// long as it takes, as `None` does: never a panic from `Instant + Duration`.
#[test]
fn a_timeout_too_long_for_the_clock_waits_as_long_as_it_takes() {
    let _serial = serial();
    let forever = Some(Duration::MAX);

    let key = unique_key(line!());
    let sem = new_semaphore(key, 1);
    let _removing = RemoveSem(&sem);
    sem.wait(forever).unwrap();

    let (mut tx, mut rx) = {
        let key = unique_key(line!());
        let tx = Channel::create(&channel_options(key), 64, Role::Sender).unwrap();
        let rx = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap();
        (tx, rx)
    };
    tx.send(b"now", forever).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(rx.recv(&mut buf, forever).unwrap(), 3);

    let segment = segment_for_mutexes();
    Mutex::init(&segment, 0).unwrap();
    let mutex = Mutex::at(&segment, 0).unwrap();
    mutex.lock(None).unwrap();
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let mutex = Mutex::at(&segment, 0).unwrap();
            mutex.lock(forever).map(|()| mutex.unlock())
        });
        std::thread::sleep(Duration::from_millis(20));
        mutex.unlock().unwrap();
        waiter.join().unwrap().unwrap().unwrap();
    });
}
