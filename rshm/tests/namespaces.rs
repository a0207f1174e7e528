//! Liveness across PID namespaces: a process in a nested namespace (pid 1
//! there, like its parent in its own) never acts with its parent's identity,
//! and a `/proc` that describes another namespace is never believed.
//! Needs root (`unshare(CLONE_NEWPID)`); its own test binary, since every test
//! here forks.

mod common;

use common::{in_child, keyed_segment, reap, serial, spawn, unique_key};
use rshm::liveness::{pid_namespace, Liveness, ProcessId};
use rshm::{Channel, ChannelOptions, ErrorKind, Key, Mutex, OpenOptions, Role};
use std::time::Duration;

/// Runs `child` as pid 1 of a new PID namespace (the calling process stays
/// where it is: an intermediate child makes the namespace) and returns its
/// exit code.
fn in_new_pid_namespace(child: impl FnOnce() -> i32) -> i32 {
    in_child(move || {
        // SAFETY: unshare in a forked, single-threaded child.
        if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
            eprintln!("unshare(CLONE_NEWPID): {}", std::io::Error::last_os_error());
            return 90;
        }
        reap(spawn(child))
    })
}

/// A pipe: (read end, write end).
fn pipe() -> (i32, i32) {
    let mut fds = [0; 2];
    // SAFETY: fds is an array of two ints.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    (fds[0], fds[1])
}

fn signal(fd: i32) {
    // SAFETY: one byte from a valid buffer.
    assert_eq!(unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) }, 1);
}

fn wait_for(fd: i32) -> bool {
    let mut byte = 0u8;
    // SAFETY: one byte into a valid buffer.
    unsafe { libc::read(fd, (&mut byte as *mut u8).cast(), 1) == 1 }
}

fn open(key: Key) -> rshm::OpenSegment {
    OpenOptions::new().key(key).open().unwrap()
}

#[test]
fn a_child_in_a_new_pid_namespace_has_its_own_namespace_and_identity() {
    let _serial = serial();
    let parent = (pid_namespace(), ProcessId::this_process());
    let code = in_new_pid_namespace(move || {
        use std::os::unix::fs::MetadataExt;
        let ns = std::fs::metadata("/proc/self/ns/pid").map_or(0, |m| m.ino());
        let me = ProcessId::this_process();
        let ok = me.id == 1 && pid_namespace() != parent.0 && pid_namespace() == ns;
        if ok {
            0
        } else {
            eprintln!(
                "child: {me:?} in {} ({ns:?}); parent {parent:?}",
                pid_namespace()
            );
            1
        }
    });
    assert_eq!(
        code, 0,
        "a forked child must not keep its parent's namespace or start time"
    );
}

#[test]
fn a_nested_pid_1_closing_its_inherited_handle_leaves_its_parents_lock_held() {
    let _serial = serial();
    let key = unique_key(line!());
    let segment = keyed_segment(key, 4096);
    Mutex::init(&segment, 0).unwrap();
    let (locked_r, locked_w) = pipe();
    let (done_r, done_w) = pipe();
    let holder = spawn(move || {
        // SAFETY: unshare in a forked child.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWPID) }, 0);
        reap(spawn(move || {
            // A: pid 1 of its namespace, holding the lock.
            let mut segment = Some(open(key));
            Mutex::at(segment.as_ref().unwrap(), 0)
                .unwrap()
                .lock(None)
                .unwrap();
            // B: pid 1 of a namespace nested in A's, closes the handle it inherited.
            // SAFETY: unshare in this single-threaded child.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWPID) }, 0);
            let nested = reap(spawn(|| {
                drop(segment.take()); // the usual close of what a child does not use
                0
            }));
            let segment = segment.expect("A keeps its handle");
            let mutex = Mutex::at(&segment, 0).unwrap();
            signal(locked_w);
            wait_for(done_r);
            match (nested, mutex.unlock()) {
                (0, Ok(())) => 0,
                (0, Err(error)) => {
                    eprintln!("A's unlock: {error}");
                    2
                }
                _ => 3,
            }
        }))
    });
    assert!(wait_for(locked_r), "the holder did not lock");
    let outsider = Mutex::at(&segment, 0)
        .unwrap()
        .lock(Some(Duration::from_millis(300)));
    signal(done_w);
    assert_eq!(
        reap(holder),
        0,
        "A must still hold its lock after B closed its copy"
    );
    assert_eq!(
        outsider.unwrap_err().kind(),
        ErrorKind::TimedOut,
        "a live holder's lock must not be handed on"
    );
}

#[test]
fn a_nested_pid_1_dropping_its_inherited_channel_end_leaves_its_parents_end_held() {
    let _serial = serial();
    let key = unique_key(line!());
    let options = ChannelOptions::new().key(key).remove_on_close(true).clone();
    let tx = Channel::create(&options, 4096, Role::Sender).unwrap();
    let (open_r, open_w) = pipe();
    let (done_r, done_w) = pipe();
    let holder = spawn(move || {
        // SAFETY: unshare in a forked child.
        assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWPID) }, 0);
        reap(spawn(move || {
            let mut rx =
                Some(Channel::open(ChannelOptions::new().key(key), Role::Receiver).unwrap());
            // SAFETY: unshare in this single-threaded child.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWPID) }, 0);
            let nested = reap(spawn(|| {
                drop(rx.take());
                0
            }));
            signal(open_w);
            wait_for(done_r);
            nested
        }))
    });
    assert!(wait_for(open_r));
    let third = Channel::open(ChannelOptions::new().key(key), Role::Receiver);
    signal(done_w);
    assert_eq!(reap(holder), 0);
    let error = third.expect_err("a third receiver opened a live holder's end");
    assert_eq!(error.kind(), ErrorKind::Exists, "{error}");
    drop(tx);
}

#[test]
fn a_proc_of_another_pid_namespace_is_never_believed() {
    let _serial = serial();
    let key = unique_key(line!());
    let segment = keyed_segment(key, 4096);
    Mutex::init(&segment, 0).unwrap();
    // Pid 1 of a new PID namespace whose /proc is still the parent's (no
    // --mount-proc): /proc/2 there is some other process.
    let code = in_new_pid_namespace(move || {
        let (locked_r, locked_w) = pipe();
        let holder = spawn(move || {
            let segment = open(key);
            Mutex::at(&segment, 0).unwrap().lock(None).unwrap();
            signal(locked_w);
            loop {
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        assert!(wait_for(locked_r));
        let segment = open(key);
        let me = ProcessId::this_process();
        let waited = Mutex::at(&segment, 0)
            .unwrap()
            .lock(Some(Duration::from_millis(300)));
        let holder_judged = ProcessId {
            id: holder,
            start: 1,
        }
        .liveness();
        common::kill(holder);
        match (waited, holder_judged) {
            (Err(error), Liveness::CannotTell) if error.kind() == ErrorKind::TimedOut => 0,
            (waited, judged) => {
                eprintln!("as {me:?}: the lock {waited:?}, the holder judged {judged:?}");
                1
            }
        }
    });
    assert_eq!(
        code, 0,
        "a live holder's lock was taken on a foreign /proc's word"
    );
    // Afterwards the lock word names the killed holder: from here (our /proc) it is gone?
    // Its namespace is not ours, so it cannot be told: the lock stays until it is
    // initialised again.
    let error = Mutex::at(&segment, 0)
        .unwrap()
        .lock(Some(Duration::from_millis(100)))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}");
}
