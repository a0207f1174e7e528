//! The `rshm` command against real segments (make test runs it in a private
//! IPC namespace): the JSON schema, an orphan left by a killed process, a
//! segment of another user, stat, key, limits and the exit codes.

use rshm::{GetFlags, Key, Mode, Segment};
use std::process::{Command, Output};
use std::sync::Mutex;
use std::time::Duration;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn rshm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rshm"))
        .args(args)
        .output()
        .expect("run rshm")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn key(line: u32) -> Key {
    Key::from_raw(0x5243_0000 | ((std::process::id() as i32 & 0xff) << 8) | (line as i32 & 0xff))
}

/// A segment made by a child process that is then killed: an orphan.
fn orphan(key: Key) -> i32 {
    // SAFETY: fork in a test; the child makes the segment and waits to be killed.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let made = Segment::get(key, 8192, GetFlags::CREATE, Mode::OWNER_RW).is_ok();
        // SAFETY: plain calls in the child.
        unsafe {
            if !made {
                libc::_exit(1);
            }
            libc::pause();
            libc::_exit(0);
        }
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let id = loop {
        if let Ok(segment) = Segment::open_existing(key) {
            break segment.id();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the child made no segment"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    // SAFETY: our child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    id
}

#[test]
fn ls_json_has_the_documented_schema() {
    let _serial = serial();
    let key = key(line!());
    let segment = Segment::create(key, 1234, Mode::from_bits_truncate(0o640)).unwrap();
    let out = rshm(&["ls", "--json", "--key", &key.to_string()]);
    assert!(out.status.success());
    let json = text(&out.stdout);
    assert!(
        json.trim().starts_with("[{") && json.trim().ends_with("}]"),
        "{json}"
    );
    for field in [
        format!("\"key\":\"{key}\""),
        format!("\"id\":{}", segment.id()),
        "\"size\":1234".into(),
        "\"nattch\":0".into(),
        format!("\"cpid\":{}", std::process::id()),
        "\"cpid_alive\":true".into(),
        "\"lpid\":0".into(),
        "\"owner\":\"root\"".into(),
        "\"mode\":\"0640\"".into(),
        "\"orphan\":false".into(),
        "\"marked_for_removal\":false".into(),
    ] {
        assert!(json.contains(&field), "{field} missing from {json}");
    }
    let table = text(&rshm(&["ls", "--key", &key.to_string()]).stdout);
    assert!(
        table.starts_with("KEY")
            && table.contains("0640 rw-r-----")
            && table.contains("1.2 KiB (1234)"),
        "{table}"
    );
    segment.remove().unwrap();
    assert_eq!(
        text(&rshm(&["ls", "--json", "--key", &key.to_string()]).stdout).trim(),
        "[]"
    );
}

#[test]
fn an_orphan_of_a_killed_process_is_listed_and_removed_and_dry_run_removes_nothing() {
    let _serial = serial();
    let key = key(line!());
    let id = orphan(key);
    let listed = text(&rshm(&["ls", "--orphans", "--json"]).stdout);
    assert!(
        listed.contains(&format!("\"id\":{id},")) && listed.contains("\"orphan\":true"),
        "{listed}"
    );
    let stat = text(&rshm(&["stat", "--key", &key.to_string()]).stdout);
    assert!(
        stat.contains("status    orphan") && stat.contains("(gone)"),
        "{stat}"
    );

    let dry = rshm(&["rm", "--orphans", "--dry-run"]);
    assert!(dry.status.success());
    assert!(
        text(&dry.stdout).contains(&format!("would remove segment {id} (key {key}")),
        "{}",
        text(&dry.stdout)
    );
    assert!(
        Segment::open_existing(key).is_ok(),
        "a dry run removes nothing"
    );

    // An attached segment is no orphan, whatever became of its creator.
    let kept = orphan(self::key(line!()));
    let attachment = Segment::from_id(kept)
        .attach(rshm::AttachFlags::empty())
        .unwrap();
    let removed = rshm(&["rm", "--orphans"]);
    assert!(removed.status.success(), "{}", text(&removed.stderr));
    assert!(
        text(&removed.stdout).contains(&format!("removed segment {id}")),
        "{}",
        text(&removed.stdout)
    );
    assert!(Segment::open_existing(key).is_err(), "the orphan is gone");
    assert!(
        Segment::from_id(kept).stat().is_ok(),
        "the attached one is left"
    );
    drop(attachment);
    Segment::from_id(kept).remove().unwrap();
    assert!(text(&rshm(&["rm", "--orphans"]).stdout).contains("no orphans"));
}

#[test]
fn another_users_segment_is_listed_by_owner_and_refused_to_others() {
    let _serial = serial();
    let key = key(line!());
    // SAFETY: fork; the child becomes nobody, makes a segment and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: plain calls in the child.
        unsafe {
            libc::setgid(65534);
            libc::setuid(65534);
            let made = Segment::get(key, 100, GetFlags::CREATE, Mode::OWNER_RW).is_ok();
            libc::_exit(if made { 0 } else { 1 });
        }
    }
    let mut status = 0;
    // SAFETY: our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let id = Segment::open_existing(key).unwrap().id();
    let theirs = text(&rshm(&["ls", "--json", "--owner", "nobody"]).stdout);
    assert!(
        theirs.contains(&format!("\"id\":{id},")) && theirs.contains("\"owner\":\"nobody\""),
        "{theirs}"
    );
    let mine = text(&rshm(&["ls", "--json", "--owner", "root"]).stdout);
    assert!(!mine.contains(&format!("\"id\":{id},")), "{mine}");

    // A third user may not remove it: exit 1 and a reason.
    let refused = Command::new("setpriv")
        .args([
            "--reuid=12345",
            "--regid=12345",
            "--clear-groups",
            env!("CARGO_BIN_EXE_rshm"),
            "rm",
            &id.to_string(),
        ])
        .output()
        .expect("setpriv (util-linux)");
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stderr));
    assert!(
        text(&refused.stderr).contains(&format!("cannot remove segment {id}: permission denied")),
        "{}",
        text(&refused.stderr)
    );
    let removed = rshm(&["rm", &id.to_string(), "999999"]);
    assert_eq!(
        removed.status.code(),
        Some(1),
        "one of two failed: partial failure"
    );
    assert!(text(&removed.stdout).contains(&format!("removed segment {id}")));
    assert!(
        text(&removed.stderr).contains("cannot remove segment 999999: no such segment"),
        "{}",
        text(&removed.stderr)
    );
}

#[test]
fn key_matches_ftok_and_warns_about_a_zero_proj_id() {
    let _serial = serial();
    let out = rshm(&["key", "/tmp", "65"]);
    assert!(out.status.success());
    let expected = Key::ftok("/tmp", 65).unwrap().to_string();
    assert_eq!(text(&out.stdout).lines().next(), Some(expected.as_str()));
    assert!(text(&out.stdout).contains("made of inode"));
    assert_eq!(
        text(&rshm(&["key", "/tmp", "A"]).stdout).lines().next(),
        Some(expected.as_str()),
        "'A' is 65"
    );
    let zero = rshm(&["key", "/tmp", "256"]);
    assert!(
        zero.status.success()
            && text(&zero.stderr).contains("warning: the low 8 bits of proj_id are 0")
    );
    assert_eq!(rshm(&["key", "/no/such/file", "1"]).status.code(), Some(1));
}

#[test]
fn limits_name_the_three_sysctls() {
    let _serial = serial();
    let out = text(&rshm(&["limits"]).stdout);
    assert!(
        out.contains("kernel.shmmax")
            && out.contains("kernel.shmall")
            && out.contains("kernel.shmmni"),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let _serial = serial();
    for args in [
        &["bogus"][..],
        &["rm"],
        &["rm", "--key", "zz"],
        &["rm", "1", "--orphans"],
        &["ls", "--frobnicate"],
        &["stat"],
        &["key", "/tmp"],
    ] {
        let out = rshm(args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains("rshm --help"), "{args:?}");
    }
    for command in ["ls", "rm", "stat", "key", "limits"] {
        let out = rshm(&[command, "--help"]);
        assert!(
            out.status.success() && text(&out.stdout).contains(&format!("rshm {command}")),
            "{command}"
        );
    }
    assert!(text(&rshm(&["--help"]).stdout)
        .contains("Exit codes: 0 done, 1 partly failed, 2 usage error"));
}
