//! The command's judgement of processes on live ones that look dead: a
//! process whose main thread has exited (`pthread_exit`) while another
//! thread runs shows its leader as a zombie in `/proc/PID/stat`, and is
//! alive. `ls`, `stat` and `rm --orphans` must keep what it made and used.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `cli/tests/programs/NAME.c`, built with `$CC` (or cc) into a folder of this test's own.
fn build(name: &str) -> PathBuf {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/programs/{name}.c"));
    let dir = std::env::temp_dir().join(format!("rshm-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg(&source)
        .arg("-o")
        .arg(&program)
        .output()
        .unwrap_or_else(|error| panic!("{cc}: {error}"));
    assert!(out.status.success(), "{cc}: {}", text(&out.stderr));
    program
}

/// A running child, killed and reaped (all its threads) when dropped, and its folder removed.
struct Running(Child, PathBuf);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_dir_all(self.1.parent().unwrap());
    }
}

/// The state letter of `/proc/PID/stat` (after the command name's closing parenthesis).
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

#[test]
fn a_process_whose_main_thread_exited_keeps_its_objects() {
    isolate!();
    let program = build("zombie_leader");
    let child = Command::new(&program)
        .stdout(Stdio::piped())
        .spawn()
        .expect("run zombie_leader");
    let pid = child.id();
    let mut running = Running(child, program);
    let mut line = String::new();
    BufReader::new(running.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ids: Vec<i32> = line
        .split_whitespace()
        .map(|id| id.parse().unwrap())
        .collect();
    let [shm, sem, msg] = ids[..] else {
        panic!("zombie_leader printed {line:?}")
    };
    wait_for("the main thread's exit (state Z)", || {
        state(pid) == Some('Z')
    });
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        threads.contains("\nThreads:\t2\n"),
        "its second thread runs: {threads}"
    );
    // Past --older-than 1s since their last use: gone processes would make them abandoned.
    std::thread::sleep(Duration::from_millis(2100));

    let list = json(&["ls", "--json", "--older-than", "1s"]);
    for (kind, id, fields) in [
        ("shm", shm, &["cpid_state", "lpid_state"][..]),
        ("msg", msg, &["lspid_state"]),
    ] {
        let found = object(&list, kind, id);
        assert_eq!(found["class"], "idle", "{kind} {id}: {found:#}");
        for field in fields {
            assert_eq!(found[field], "running", "{kind} {id} {field}: {found:#}");
        }
    }
    let set = object(&list, "sem", sem);
    assert_eq!(set["class"], "idle", "{set:#}");
    assert_eq!(set["semaphores"][0]["pid"], pid);
    assert_eq!(set["semaphores"][0]["pid_state"], "running", "{set:#}");

    for object in [
        format!("shm:{shm}"),
        format!("sem:{sem}"),
        format!("msg:{msg}"),
    ] {
        let said = expect(&rshm(&["stat", &object, "--older-than", "1s"]), 0);
        assert!(said.contains("idle: "), "{object}: {said}");
        assert!(!said.contains("gone"), "{object}: {said}");
    }

    let cleanup = expect(
        &rshm(&["rm", "--orphans", "-m", "-s", "-q", "--older-than", "1s"]),
        0,
    );
    assert!(
        cleanup.contains("removed 0, skipped 0, kept 3"),
        "{cleanup}"
    );
    assert!(!cleanup.contains("gone"), "{cleanup}");
    let after = json(&["ls", "--json"]);
    for (kind, id) in [("shm", shm), ("sem", sem), ("msg", msg)] {
        object(&after, kind, id);
    }

    drop(running);
    // SAFETY: IPC_RMID on the ids the program printed; no buffer is passed.
    unsafe {
        assert_eq!(libc::shmctl(shm, libc::IPC_RMID, std::ptr::null_mut()), 0);
        assert_eq!(libc::semctl(sem, 0, libc::IPC_RMID), 0);
        assert_eq!(libc::msgctl(msg, libc::IPC_RMID, std::ptr::null_mut()), 0);
    }
}
