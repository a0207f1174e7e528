//! What the command's tests share: an IPC namespace of its own for each test
//! (so that tests neither see each other's objects nor the machine's, and
//! whatever a test leaves goes with its namespace), the command run from it,
//! and child processes that make objects and go.

#![allow(dead_code)]

use serde_json::Value;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const RSHM: &str = env!("CARGO_BIN_EXE_rshm");

/// Moves this test's thread into an IPC namespace of its own; everything it
/// runs or forks from now on lives there. Returns from the test, with a note,
/// where that is not allowed (it needs root, as `make rust-test` runs it).
#[macro_export]
macro_rules! isolate {
    () => {
        if !$crate::common::private_namespace() {
            eprintln!("skipped: making an IPC namespace needs root (make rust-test runs as root)");
            return;
        }
    };
}

/// `unshare(CLONE_NEWIPC)` for the calling thread only.
pub fn private_namespace() -> bool {
    // SAFETY: unshare changes only the calling thread's namespaces.
    unsafe { libc::unshare(libc::CLONE_NEWIPC) == 0 }
}

/// Runs `rshm ARGS` in this thread's namespace.
pub fn rshm(args: &[&str]) -> Output {
    Command::new(RSHM).args(args).output().expect("run rshm")
}

/// Runs `rshm ARGS` as user `uid` (not root), with setpriv.
pub fn rshm_as(uid: u32, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args([
            &format!("--reuid={uid}"),
            &format!("--regid={uid}"),
            "--clear-groups",
            RSHM,
        ])
        .args(args)
        .output()
        .expect("setpriv (util-linux)")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// stderr of `rshm ARGS`, asserting a usage error: exit 2, and a message
/// that starts with `error: `.
pub fn usage_error(args: &[&str]) -> String {
    let out = rshm(args);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
    assert!(said.starts_with("error: "), "{args:?}: {said}");
    said
}

/// stdout, asserting the exit code.
pub fn expect(output: &Output, code: i32) -> String {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// `rshm ARGS` (with --json among them), parsed.
pub fn json(args: &[&str]) -> Value {
    let out = rshm(args);
    serde_json::from_str(&expect(&out, 0)).expect("valid JSON")
}

/// The object of `kind` with `id` in an `ls --json` array.
pub fn object<'a>(list: &'a Value, kind: &str, id: i32) -> &'a Value {
    list.as_array()
        .expect("an array")
        .iter()
        .find(|o| o["kind"] == kind && o["id"] == id)
        .unwrap_or_else(|| panic!("no {kind} {id} in {list:#}"))
}

/// The class of `kind` `id` in `list`.
pub fn class_of(list: &Value, kind: &str, id: i32) -> String {
    object(list, kind, id)["class"]
        .as_str()
        .expect("a class")
        .to_string()
}

/// Runs `body` in a forked child and waits for it: its exit code. The child
/// makes raw libc calls only (the test process has threads: nothing that
/// may take a lock), then exits.
pub fn in_child(body: impl FnOnce() -> i32) -> i32 {
    let pid = spawn_child(body);
    let mut status = 0;
    // SAFETY: pid is our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    libc::WEXITSTATUS(status)
}

/// Forks a child that runs `body` (which may block) and exits; its pid.
pub fn spawn_child(body: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child makes raw libc calls only, then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let code = body();
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    pid
}

/// Kills and reaps a child.
pub fn kill(pid: i32) {
    // SAFETY: pid is our child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

/// Waits until `check` holds (5 s at most).
pub fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// In a child: the segment for `key` (made if need be), attached and detached
/// if `attach`. The child then exits: its creator and last user are gone.
pub fn segment_by_child(key: i32, size: usize, attach: bool, uid: Option<u32>) -> i32 {
    let code = in_child(|| {
        // SAFETY: raw calls in the child; the pointer is only detached.
        unsafe {
            if let Some(uid) = uid {
                if libc::setgid(uid) != 0 || libc::setuid(uid) != 0 {
                    return 3;
                }
            }
            let id = libc::shmget(key, size, libc::IPC_CREAT | 0o600);
            if id < 0 {
                return 1;
            }
            if attach {
                let at = libc::shmat(id, std::ptr::null(), 0);
                if at as isize == -1 {
                    return 2;
                }
                libc::shmdt(at);
            }
            0
        }
    });
    assert_eq!(code, 0, "the child could not make segment {key:#x}");
    // SAFETY: shmget without flags opens the existing segment.
    let id = unsafe { libc::shmget(key, 0, 0) };
    assert!(id >= 0);
    id
}

/// In a child: a semaphore set of one for `key`, given one unit with semop; the child exits.
pub fn semaphore_by_child(key: i32) -> i32 {
    let code = in_child(|| {
        // SAFETY: raw calls in the child.
        unsafe {
            let id = libc::semget(key, 1, libc::IPC_CREAT | 0o600);
            let mut op = libc::sembuf {
                sem_num: 0,
                sem_op: 1,
                sem_flg: 0,
            };
            if id < 0 || libc::semop(id, &mut op, 1) != 0 {
                return 1;
            }
            0
        }
    });
    assert_eq!(code, 0);
    // SAFETY: semget without flags opens the existing set.
    unsafe { libc::semget(key, 0, 0) }
}

/// In a child: a message queue for `key` with one message of 14 bytes left in it; the child exits.
pub fn queue_by_child(key: i32) -> i32 {
    let code = in_child(|| send(key));
    assert_eq!(code, 0);
    // SAFETY: msgget without flags opens the existing queue.
    unsafe { libc::msgget(key, 0) }
}

/// Sends one message of 14 bytes to the queue for `key` (made if need be): 0 when done.
pub fn send(key: i32) -> i32 {
    #[repr(C)]
    struct Message {
        mtype: libc::c_long,
        text: [u8; 14],
    }
    let message = Message {
        mtype: 1,
        text: *b"for the reader",
    };
    // SAFETY: message is an mtype and 14 bytes, as msgsnd reads them.
    unsafe {
        let id = libc::msgget(key, libc::IPC_CREAT | 0o600);
        if id < 0 || libc::msgsnd(id, (&message as *const Message).cast(), 14, 0) != 0 {
            return 1;
        }
    }
    0
}

/// `ipcmk ARGS`: the id it printed.
pub fn ipcmk(args: &[&str]) -> i32 {
    let out = Command::new("ipcmk")
        .args(args)
        .output()
        .expect("ipcmk (util-linux)");
    let printed = expect(&out, 0);
    printed
        .split_whitespace()
        .last()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no id in {printed:?}"))
}
