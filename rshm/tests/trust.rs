//! The segment is untrusted input: what a peer (or any process that can write
//! the segment) may do to channels and mutexes, and what it can never make
//! rshm do. A "peer" here is a second attachment of the segment, writing the
//! control words as another process could. One test at a time (they fork).

mod common;

use common::{channel_options, keyed_segment, kill, reap, serial, spawn, unique_key};
use rshm::{Channel, ChannelOptions, ErrorKind, Mutex, OpenOptions, OpenSegment, Role};
use std::time::{Duration, Instant};

/// Offsets in a channel's header (layout 3): the head and the tail.
const HEAD: usize = 64;
const TAIL: usize = 128;

fn peer_view(key: rshm::Key) -> OpenSegment {
    OpenOptions::new().key(key).open().unwrap()
}

fn channel_pair(key: rshm::Key, capacity: usize) -> (Channel, Channel) {
    let options = channel_options(key);
    let sender = Channel::create(&options, capacity, Role::Sender).unwrap();
    let receiver = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap();
    (sender, receiver)
}

// ---- channels ----

#[test]
fn an_unaligned_tail_from_a_peer_is_corrupt_never_an_access_past_the_ring() {
    let _serial = serial();
    let key = unique_key(line!());
    // The ring ends exactly at a page end: an overrun would leave the mapping.
    let (mut sender, mut receiver) = channel_pair(key, 4096 - 320);
    let mut peer = peer_view(key);
    sender.send(b"one", None).unwrap();
    let capacity = sender.capacity() as u64;
    peer.write(TAIL, &(capacity - 3).to_le_bytes()).unwrap();
    // The receiver keeps its own tail: its next message is where it left off.
    let mut buf = [0u8; 8];
    assert_eq!(receiver.recv(&mut buf, None).unwrap(), 3);
    assert_eq!(&buf[..3], b"one");
    // The sender reads the receiver's tail as a claim, and refuses this one when it needs it.
    let mut outcome = Ok(());
    for _ in 0..capacity / 16 + 2 {
        outcome = sender.send(&[7; 8], Some(Duration::from_millis(200)));
        if outcome.is_err() {
            break;
        }
        // Keep the tail the peer wrote, whatever the receiver publishes.
        peer.write(TAIL, &(capacity - 3).to_le_bytes()).unwrap();
    }
    let error = outcome.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    assert!(
        error.to_string().contains("the receiver claims tail"),
        "{error}"
    );
}

#[test]
fn positions_near_two_to_the_64_are_refused_at_open() {
    let _serial = serial();
    let key = unique_key(line!());
    let options = channel_options(key);
    let _sender = Channel::create(&options, 64, Role::Sender).unwrap();
    let mut peer = peer_view(key);
    let near = (u64::MAX - 15).to_le_bytes();
    peer.write(HEAD, &near).unwrap();
    peer.write(TAIL, &near).unwrap();
    let error = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    assert!(
        error.to_string().contains("do not fit a ring of 64"),
        "{error}"
    );
    let half = (1u64 << 63).to_le_bytes();
    peer.write(HEAD, &half).unwrap();
    peer.write(TAIL, &half).unwrap();
    let error = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::Corrupt,
        "2^63 is refused too: {error}"
    );
}

#[test]
fn eight_processes_opening_one_end_at_once_make_one_holder() {
    let _serial = serial();
    for round in 0..20 {
        let key = unique_key(line!() * 100 + round);
        let options = channel_options(key);
        let _sender = Channel::create(&options, 64, Role::Sender).unwrap();
        let (read_end, write_end) = {
            let mut fds = [0; 2];
            // SAFETY: fds is a valid array of two.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            (fds[0], fds[1])
        };
        let children: Vec<i32> = (0..8)
            .map(|_| {
                spawn(move || {
                    let mut byte = [0u8];
                    // SAFETY: our pipe; all children start together when the parent closes its end.
                    unsafe {
                        libc::close(write_end);
                        libc::read(read_end, byte.as_mut_ptr().cast(), 1);
                    }
                    match Channel::open(ChannelOptions::new().key(key), Role::Receiver) {
                        Ok(end) => {
                            std::thread::sleep(Duration::from_millis(150)); // hold it while the others try
                            drop(end);
                            0
                        }
                        Err(error) if error.kind() == ErrorKind::Exists => {
                            if error.to_string().contains("held by process")
                                && !error.to_string().contains("RSHM_EXCLUSIVE")
                            {
                                1
                            } else {
                                3
                            }
                        }
                        Err(_) => 2,
                    }
                })
            })
            .collect();
        // SAFETY: closing our ends starts the children.
        unsafe {
            libc::close(write_end);
            libc::close(read_end);
        }
        let codes: Vec<i32> = children.into_iter().map(reap).collect();
        assert_eq!(
            codes.iter().filter(|&&c| c == 0).count(),
            1,
            "round {round}: {codes:?}"
        );
        assert_eq!(
            codes.iter().filter(|&&c| c == 1).count(),
            7,
            "round {round}: {codes:?}"
        );
    }
}

#[test]
fn the_send_after_the_receiver_closes_fails_closed() {
    let _serial = serial();
    let key = unique_key(line!());
    let (mut sender, receiver) = channel_pair(key, 1 << 16);
    sender.send(b"read or not", None).unwrap();
    drop(receiver);
    let error = sender.send(b"lost?", None).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Closed, "{error}");
}

#[test]
fn a_dead_receiver_is_noticed_within_the_probe_interval_though_the_ring_never_fills() {
    let _serial = serial();
    let key = unique_key(line!());
    let options = channel_options(key);
    let mut sender = Channel::create(&options, 1 << 20, Role::Sender).unwrap();
    let receiver = spawn(move || {
        let _end = Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    // Wait for the receiver to hold its end (a second opener is refused), then kill it.
    while Channel::open(ChannelOptions::new().key(key), Role::Receiver).is_ok_and(|end| {
        drop(end); // we were first: give the end back for the receiver
        true
    }) {
        std::thread::sleep(Duration::from_millis(5));
    }
    sender.send(b"ok", None).unwrap();
    kill(receiver);
    let died = Instant::now();
    let mut sent = 0;
    let error = loop {
        match sender.send(&[1; 16], None) {
            Ok(()) => sent += 1,
            Err(error) => break error,
        }
        std::thread::sleep(Duration::from_millis(5));
        assert!(
            died.elapsed() < Duration::from_secs(2),
            "the dead receiver was never noticed"
        );
    };
    assert_eq!(error.kind(), ErrorKind::PeerDied, "{error}");
    assert!(
        died.elapsed() <= rshm::RECEIVER_PROBE_INTERVAL + Duration::from_millis(100),
        "noticed after {:?} and {sent} sends",
        died.elapsed()
    );
}

// ---- mutexes ----

fn mutex_segment(key: rshm::Key) -> OpenSegment {
    let segment = keyed_segment(key, 4096);
    Mutex::init(&segment, 0).unwrap();
    segment
}

/// Offsets in a mutex cell (layout 2): the owner word and the state.
const OWNER: usize = 8;
const STATE: usize = 16;
const NAMESPACE: usize = 32;
const NAMESPACE_OF: usize = 40;

#[test]
fn a_thread_that_exits_holding_the_mutex_leaves_it_owner_died() {
    let _serial = serial();
    let key = unique_key(line!());
    let segment = mutex_segment(key);
    // A joined thread has run its exit hooks (a scoped thread may not have, yet).
    std::thread::spawn(move || {
        let segment = peer_view(key);
        Mutex::at(&segment, 0).unwrap().lock(None).unwrap();
        std::mem::forget(segment); // keep it attached: only the thread's exit releases the lock
    })
    .join()
    .unwrap();
    let mutex = Mutex::at(&segment, 0).unwrap();
    let error = mutex.lock(Some(Duration::ZERO)).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OwnerDied, "{error}");
    mutex.consistent().unwrap();
    mutex.unlock().unwrap();
    mutex.lock(Some(Duration::ZERO)).unwrap();
    mutex.unlock().unwrap();
}

#[test]
fn closing_a_segment_while_holding_its_mutex_releases_it_owner_died() {
    let _serial = serial();
    let key = unique_key(line!());
    let segment = mutex_segment(key);
    let second = peer_view(key);
    Mutex::at(&second, 0).unwrap().lock(None).unwrap();
    drop(second); // closed while holding: no crash, and the lock does not stay held
    let error = Mutex::at(&segment, 0)
        .unwrap()
        .lock(Some(Duration::ZERO))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OwnerDied, "{error}");
    Mutex::at(&segment, 0).unwrap().unlock().unwrap();
}

#[test]
fn a_lock_word_naming_a_dead_process_is_recovered_not_waited_on_forever() {
    let _serial = serial();
    let key = unique_key(line!());
    let segment = mutex_segment(key);
    let dead = spawn(|| 0);
    reap(dead);
    let mut peer = peer_view(key);
    // The words a process that never held it would leave: id and an arbitrary
    // start time, with its record of this PID namespace.
    let word = (dead as u32 as u64) << 32 | 12345;
    peer.write(OWNER, &word.to_le_bytes()).unwrap();
    peer.write(NAMESPACE, &rshm::liveness::pid_namespace().to_le_bytes())
        .unwrap();
    peer.write(NAMESPACE_OF, &word.to_le_bytes()).unwrap();
    let started = Instant::now();
    let error = Mutex::at(&segment, 0).unwrap().lock(None).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OwnerDied, "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    Mutex::at(&segment, 0).unwrap().consistent().unwrap();
    Mutex::at(&segment, 0).unwrap().unlock().unwrap();
}

#[test]
fn a_lock_word_without_its_namespace_record_is_never_taken_over() {
    let _serial = serial();
    let key = unique_key(line!());
    let segment = mutex_segment(key);
    let dead = spawn(|| 0);
    reap(dead);
    let mut peer = peer_view(key);
    // A holder stopped (or killed) between its compare-and-swap and its
    // namespace record: its id may belong to another PID namespace, so it
    // cannot be told, and a wait ends only by its timeout.
    // (0.2.0 judged such a holder anyway after a grace of 1 s: the wait outlasts it.)
    let word = (dead as u32 as u64) << 32 | 12345;
    peer.write(OWNER, &word.to_le_bytes()).unwrap();
    let error = Mutex::at(&segment, 0)
        .unwrap()
        .lock(Some(Duration::from_millis(1500)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}");
    peer.write(OWNER, &0u64.to_le_bytes()).unwrap();
}

#[test]
fn hostile_mutex_words_fail_with_a_status_and_never_abort() {
    let _serial = serial();
    let key = unique_key(line!());
    let segment = mutex_segment(key);
    let mut peer = peer_view(key);
    peer.write(STATE, &7u32.to_le_bytes()).unwrap();
    let error = Mutex::at(&segment, 0)
        .unwrap()
        .lock(Some(Duration::ZERO))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Corrupt, "{error}");
    peer.write(STATE, &0u32.to_le_bytes()).unwrap();
    // A live holder that is not this thread (this process, as a word): waits end in time.
    let word = (std::process::id() as u64) << 32 | 1;
    peer.write(OWNER, &word.to_le_bytes()).unwrap();
    let started = Instant::now();
    let error = Mutex::at(&segment, 0)
        .unwrap()
        .lock(Some(Duration::from_millis(100)))
        .unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::TimedOut | ErrorKind::OwnerDied),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let error = Mutex::at(&segment, 0).unwrap().unlock();
    assert!(error.is_err() || started.elapsed() > Duration::ZERO);
    // The old layout (glibc's robust mutex) is named as such.
    peer.write(0, &0x5253_484d_4d55_5458u64.to_le_bytes())
        .unwrap();
    let error = Mutex::at(&segment, 0).unwrap_err();
    assert!(error.to_string().contains("older rshm"), "{error}");
}

#[test]
fn a_mutex_holder_killed_mid_wait_is_found_by_a_waiter_without_a_timeout() {
    let _serial = serial();
    let key = unique_key(line!());
    let segment = mutex_segment(key);
    let holder = spawn(move || {
        let segment = peer_view(key);
        Mutex::at(&segment, 0).unwrap().lock(None).unwrap();
        loop {
            std::thread::sleep(Duration::from_secs(1));
        }
    });
    // Wait until it holds the lock, then kill it while this thread waits.
    let mutex = Mutex::at(&segment, 0).unwrap();
    while mutex.lock(Some(Duration::ZERO)).is_ok() {
        mutex.unlock().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let waiter = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| Mutex::at(&segment, 0).unwrap().lock(None));
        std::thread::sleep(Duration::from_millis(100));
        kill(holder);
        waiter.join().unwrap()
    });
    assert_eq!(waiter.unwrap_err().kind(), ErrorKind::OwnerDied);
}
