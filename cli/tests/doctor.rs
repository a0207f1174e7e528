//! `rshm doctor` in IPC namespaces of its own, whose settings each test sets
//! (kernel.shm_rmid_forced and the limits are per IPC namespace), with a test
//! logind.conf: each finding, its severity, and the exit code.

mod common;

use common::*;
use serde_json::Value;
use std::path::PathBuf;

/// A logind.conf (and its drop-in folder) of this test's own.
struct Logind(PathBuf);

impl Logind {
    fn new(name: &str, main: &str, dropins: &[(&str, &str)]) -> Logind {
        let dropins: Vec<(&str, &[u8])> = dropins
            .iter()
            .map(|(file, text)| (*file, text.as_bytes()))
            .collect();
        Logind::bytes(name, main.as_bytes(), &dropins)
    }

    /// Files of any bytes, not only UTF-8 text.
    fn bytes(name: &str, main: &[u8], dropins: &[(&str, &[u8])]) -> Logind {
        let dir = std::env::temp_dir().join(format!("rshm-doctor-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("logind.conf.d")).unwrap();
        std::fs::write(dir.join("logind.conf"), main).unwrap();
        for (file, text) in dropins {
            std::fs::write(dir.join("logind.conf.d").join(file), text).unwrap();
        }
        Logind(dir)
    }

    fn path(&self) -> String {
        self.0.join("logind.conf").display().to_string()
    }
}

impl Drop for Logind {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `doctor --json --logind-conf CONF`: the findings by check name, and the exit code.
fn doctor(conf: &Logind) -> (Value, i32) {
    let out = rshm(&["doctor", "--json", "--logind-conf", &conf.path()]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let code = out.status.code().unwrap();
    assert_eq!(
        code,
        i32::from(report["wrong"] == true),
        "the exit code follows the worst finding: {report:#}"
    );
    (report, code)
}

fn finding<'a>(report: &'a Value, check: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no {check} in {report:#}"))
}

fn set(sysctl: &str, value: &str) {
    std::fs::write(format!("/proc/sys/kernel/{sysctl}"), value).unwrap();
}

#[test]
fn a_clean_namespace_has_every_check_and_only_notes() {
    isolate!();
    let conf = Logind::new("clean", "[Login]\nRemoveIPC=no\n", &[]);
    let (report, _) = doctor(&conf);
    for check in [
        "shm_rmid_forced",
        "logind_remove_ipc",
        "shmmni",
        "shmall",
        "shmmax",
        "semmni",
        "semmns",
        "msgmni",
        "queues_full",
        "huge_pages",
        "ipc_namespace",
        "abandoned",
    ] {
        let f = finding(&report, check);
        assert!(
            f["evidence"].is_string() && f["meaning"].is_string(),
            "{f:#}"
        );
    }
    for check in [
        "shm_rmid_forced",
        "logind_remove_ipc",
        "shmmni",
        "semmni",
        "msgmni",
        "abandoned",
    ] {
        assert_eq!(finding(&report, check)["severity"], "ok", "{check}");
    }
    let ns = finding(&report, "ipc_namespace");
    assert_eq!(
        ns["severity"], "info",
        "this test runs in a namespace of its own"
    );
    assert!(ns["fix"].as_str().unwrap().contains("--ipc=host"));
    let text = expect(
        &rshm(&["doctor", "--logind-conf", &conf.path()]),
        report["wrong"].as_bool().map_or(1, i32::from),
    );
    assert!(
        text.contains("ok       kernel.shm_rmid_forced = 0"),
        "{text}"
    );
    assert!(
        text.contains("info     an IPC namespace of its own"),
        "{text}"
    );
}

#[test]
fn shm_rmid_forced_is_a_warning_with_its_fix() {
    isolate!();
    set("shm_rmid_forced", "1");
    let conf = Logind::new("rmid", "[Login]\nRemoveIPC=no\n", &[]);
    let (report, code) = doctor(&conf);
    assert_eq!(code, 1);
    let f = finding(&report, "shm_rmid_forced");
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        f["evidence"],
        "kernel.shm_rmid_forced = 1 in this IPC namespace"
    );
    assert!(f["fix"]
        .as_str()
        .unwrap()
        .contains("sysctl -w kernel.shm_rmid_forced=0"));
    let text = rshm(&["doctor", "--logind-conf", &conf.path()]);
    assert!(text.status.code() == Some(1));
    assert!(text_of(&text).contains("fix: sysctl -w kernel.shm_rmid_forced=0"));
}

fn text_of(out: &std::process::Output) -> String {
    text(&out.stdout)
}

#[test]
fn limits_reached_are_errors() {
    isolate!();
    set("shmmni", "1");
    set("sem", "250 32000 32 1");
    set("msgmni", "1");
    ipcmk(&["-M", "4096"]);
    ipcmk(&["-S", "1"]);
    ipcmk(&["-Q"]);
    let conf = Logind::new("limits", "[Login]\nRemoveIPC=no\n", &[]);
    let (report, code) = doctor(&conf);
    assert_eq!(code, 1);
    assert_eq!(report["worst"], "error");
    for (check, evidence) in [
        (
            "shmmni",
            "segments: 1 in use of kernel.shmmni = 1 (100.00%)",
        ),
        (
            "semmni",
            "semaphore sets: 1 in use of SEMMNI (kernel.sem, 4th) = 1 (100.00%)",
        ),
        (
            "msgmni",
            "message queues: 1 in use of kernel.msgmni = 1 (100.00%)",
        ),
    ] {
        let f = finding(&report, check);
        assert_eq!(f["severity"], "error", "{f:#}");
        assert_eq!(f["evidence"], evidence);
        assert!(f["fix"].as_str().unwrap().contains("sysctl -w"), "{f:#}");
    }
    // A segment larger than kernel.shmmax allows now could not be made again.
    set("shmmni", "8");
    ipcmk(&["-M", "1048576"]);
    set("shmmax", "65536");
    let (report, _) = doctor(&conf);
    let f = finding(&report, "shmmax");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["evidence"].as_str().unwrap().contains("(1.0 MiB)"),
        "{f:#}"
    );
}

#[test]
fn remove_ipc_from_drop_ins_warns_for_regular_users_objects() {
    isolate!();
    let conf = Logind::new(
        "removeipc",
        "[Login]\nRemoveIPC=no\n",
        &[("20-ipc.conf", "[Login]\nRemoveIPC=yes\n")],
    );
    // Root's objects only: a note (root and system users are not affected).
    ipcmk(&["-M", "4096"]);
    let (report, _) = doctor(&conf);
    let f = finding(&report, "logind_remove_ipc");
    assert_eq!(f["severity"], "info", "{f:#}");
    assert!(f["evidence"].as_str().unwrap().contains("RemoveIPC=yes"));
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("20-ipc.conf, line 2"),
        "{f:#}"
    );

    // A regular user's segment: a warning that names the user.
    let users = segment_by_child(0x5401, 4096, false, Some(1000));
    assert!(users >= 0);
    let (report, code) = doctor(&conf);
    let f = finding(&report, "logind_remove_ipc");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert!(
        f["meaning"].as_str().unwrap().contains("1 object of"),
        "{f:#}"
    );
    assert!(
        f["meaning"].as_str().unwrap().contains("(uid 1000)"),
        "{f:#}"
    );
    assert!(f["fix"].as_str().unwrap().contains("RemoveIPC=no"));
    assert_eq!(code, 1);

    // A later drop-in turns it off again.
    let off = Logind::new(
        "removeipc-off",
        "[Login]\n",
        &[
            ("20-ipc.conf", "[Login]\nRemoveIPC=yes\n"),
            ("90-keep.conf", "[Login]\nRemoveIPC=no\n"),
        ],
    );
    let (report, _) = doctor(&off);
    assert_eq!(finding(&report, "logind_remove_ipc")["severity"], "ok");
    // With no setting anywhere, the default is yes.
    let none = Logind::new("removeipc-default", "", &[]);
    let (report, _) = doctor(&none);
    let f = finding(&report, "logind_remove_ipc");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["evidence"].as_str().unwrap().contains("the default"),
        "{f:#}"
    );
}

#[test]
fn abandoned_objects_are_a_warning() {
    isolate!();
    segment_by_child(0x5411, 4096, true, None);
    let conf = Logind::new("abandoned", "[Login]\nRemoveIPC=no\n", &[]);
    let (report, _) = doctor(&conf);
    assert_eq!(
        finding(&report, "abandoned")["severity"],
        "ok",
        "used a moment ago: recent"
    );
    let out = rshm(&[
        "doctor",
        "--json",
        "--older-than",
        "0",
        "--logind-conf",
        &conf.path(),
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = finding(&report, "abandoned");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(f["evidence"], "abandoned: 1 segment holding 4.0 KiB");
    assert!(f["fix"]
        .as_str()
        .unwrap()
        .contains("rshm rm --orphans --dry-run"));
    assert_eq!(out.status.code(), Some(1));
}

/// The `RemoveIPC` finding's evidence for `conf`.
fn remove_ipc_evidence(conf: &Logind) -> String {
    let (report, _) = doctor(conf);
    finding(&report, "logind_remove_ipc")["evidence"]
        .as_str()
        .unwrap()
        .to_string()
}

/// systemd reads bytes: a drop-in whose comment is Latin-1 (not UTF-8) is
/// read like any other, and its `RemoveIPC=yes` wins over the main file's
/// `no`. It used to be skipped whole, and doctor said `no` where logind
/// removes objects.
#[test]
fn a_drop_in_with_a_latin1_comment_is_read() {
    isolate!();
    let conf = Logind::bytes(
        "latin1",
        b"[Login]\nRemoveIPC=no\n",
        &[(
            "50-ipc.conf",
            b"[Login]\n# R\xe9glage du site: l'IPC des sessions est retir\xe9\nRemoveIPC=yes\n",
        )],
    );
    let evidence = remove_ipc_evidence(&conf);
    assert!(evidence.contains("RemoveIPC=yes"), "{evidence}");
    assert!(evidence.contains("50-ipc.conf, line 3"), "{evidence}");
}

/// systemd.syntax(7): a line ending in a backslash continues on the next
/// one, and comment lines inside a continuation are ignored. A line after a
/// continued one is part of that setting, not a setting of its own.
#[test]
fn a_continued_line_belongs_to_the_setting_before_it() {
    isolate!();
    // `RemoveIPC=no` continues KillExcludeUsers=: logind keeps the yes of line 2.
    let appended = Logind::new(
        "continued",
        "[Login]\nRemoveIPC=yes\nKillExcludeUsers=root \\\nRemoveIPC=no\n",
        &[],
    );
    let evidence = remove_ipc_evidence(&appended);
    assert!(evidence.contains("RemoveIPC=yes"), "{evidence}");
    assert!(evidence.contains("logind.conf, line 2)"), "{evidence}");
    // The same through comment lines, as systemd.syntax(7)'s example [Section C].
    let through_comments = Logind::new(
        "continued-comments",
        "[Login]\nRemoveIPC=no\nKillExcludeUsers=root\\\n# this line is ignored\n\
         ; this line is ignored too\n       RemoveIPC=yes\n",
        &[],
    );
    let evidence = remove_ipc_evidence(&through_comments);
    assert!(evidence.contains("RemoveIPC=no"), "{evidence}");
    assert!(evidence.contains("logind.conf, line 2)"), "{evidence}");
    // A value on the next line is the setting's value.
    let value_below = Logind::new("continued-value", "[Login]\nRemoveIPC=\\\n    no\n", &[]);
    let evidence = remove_ipc_evidence(&value_below);
    assert!(evidence.contains("RemoveIPC=no"), "{evidence}");
    assert!(evidence.contains("logind.conf, lines 2-3)"), "{evidence}");
}

/// systemd ignores a value it cannot parse as a boolean, the empty one
/// included (config_parse_bool): `RemoveIPC=` keeps the setting before it.
/// And a setting line that is not UTF-8 stops logind's reading of its
/// configuration there: what was read before holds, later drop-ins are not read.
#[test]
fn an_empty_value_is_ignored_and_a_line_not_utf8_stops_the_reading() {
    isolate!();
    let empty = Logind::new(
        "empty",
        "[Login]\nRemoveIPC=no\n",
        &[("50-reset.conf", "[Login]\nRemoveIPC=\nRemoveIPC=maybe\n")],
    );
    let evidence = remove_ipc_evidence(&empty);
    assert!(evidence.contains("RemoveIPC=no"), "{evidence}");
    assert!(evidence.contains("logind.conf, line 2)"), "{evidence}");

    let stopped = Logind::bytes(
        "stopped",
        b"[Login]\n",
        &[
            (
                "10-a.conf",
                b"[Login]\nRemoveIPC=no\nKillExcludeUsers=r\xe9my\n",
            ),
            ("20-b.conf", b"[Login]\nRemoveIPC=yes\n"),
        ],
    );
    let evidence = remove_ipc_evidence(&stopped);
    assert!(evidence.contains("RemoveIPC=no"), "{evidence}");
    assert!(evidence.contains("10-a.conf, line 2;"), "{evidence}");
    assert!(
        evidence.contains("logind reads no further than ")
            && evidence.contains("10-a.conf, line 3: it is not UTF-8"),
        "{evidence}"
    );
}

/// A drop-in this user may not read may set RemoveIPC=yes for logind (which
/// reads it as root): doctor, run by that user, says so instead of an ok; a
/// folder named like a drop-in is not one (systemd lists files only).
#[test]
fn a_drop_in_this_user_cannot_read_is_named() {
    isolate!();
    let conf = Logind::new(
        "unreadable",
        "[Login]\nRemoveIPC=no\n",
        &[("50-secret.conf", "[Login]\nRemoveIPC=yes\n")],
    );
    std::fs::create_dir(conf.0.join("logind.conf.d/60-folder.conf")).unwrap();
    let secret = conf.0.join("logind.conf.d/50-secret.conf");
    let mode = |path: &std::path::Path, mode| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(&conf.0, 0o755);
    mode(&conf.0.join("logind.conf.d"), 0o755);
    mode(&conf.0.join("logind.conf"), 0o644);
    mode(&secret, 0o600);
    // Root reads it: yes. (A folder named like a drop-in changes nothing.)
    assert!(remove_ipc_evidence(&conf).contains("RemoveIPC=yes"));
    // Another user cannot: what it sees is no, with the file named.
    let out = rshm_as(65534, &["doctor", "--json", "--logind-conf", &conf.path()]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let f = finding(&report, "logind_remove_ipc");
    assert_eq!(f["severity"], "info", "{f:#}");
    let evidence = f["evidence"].as_str().unwrap();
    assert!(evidence.contains("RemoveIPC=no"), "{evidence}");
    assert!(
        evidence.contains("this user cannot read ")
            && evidence.contains("50-secret.conf (permission denied)"),
        "{evidence}"
    );
    assert!(f["fix"].as_str().unwrap().contains("as root"), "{f:#}");
}
