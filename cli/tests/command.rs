//! The command as a whole: usage and exit codes, --version, help that states
//! the rule, the man page (rendered by man -l without a warning), the shell
//! completions, `key`, `limits`, and the JSON schema of every kind.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;

#[test]
fn no_arguments_print_usage_and_exit_2() {
    let out = rshm(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Usage: rshm [OPTIONS] <COMMAND>"));
    for args in [
        &["bogus"][..],
        &["ls", "--frobnicate"],
        &["stat"],
        &["key", "/tmp"],
        &["ls", "--class", "lost"],
    ] {
        usage_error(args);
    }
}

#[test]
fn version_help_and_the_rule_in_help_rm() {
    let version = expect(&rshm(&["--version"]), 0);
    assert_eq!(
        version.trim(),
        format!("rshm {}", env!("CARGO_PKG_VERSION"))
    );
    let help = expect(&rshm(&["--help"]), 0);
    assert!(
        help.contains("Exit codes: 0 done, 1 something failed"),
        "{help}"
    );
    for command in ["ls", "stat", "rm", "doctor", "limits", "key", "completions"] {
        assert!(
            help.contains(&format!("  {command} ")),
            "{command} in {help}"
        );
        let own = expect(&rshm(&[command, "--help"]), 0);
        assert!(own.contains(&format!("Usage: rshm {command}")), "{own}");
    }
    let rule = expect(&rshm(&["help", "rm"]), 0);
    for words in [
        "abandoned           every recorded process is gone",
        "unused              never attached",
        "A small window remains",
        "forgotten one only by its age",
        "A process lives while any of its threads does",
    ] {
        assert!(rule.contains(words), "{words:?} in {rule}");
    }
}

/// The kernel records only the last process to change each semaphore, and no
/// process can read another's SEM_UNDO adjustments: a set whose last user is
/// gone may still have a unit held by a running process. `rm --orphans -s`
/// cannot see it, and says so wherever the rule is stated.
#[test]
fn the_help_of_rm_says_a_semaphore_sets_holders_cannot_be_seen() {
    let man = expect(&rshm(&["manpage"]), 0);
    for (args, text) in [
        (&["help", "rm"][..], expect(&rshm(&["help", "rm"]), 0)),
        (&["rm", "--help"], expect(&rshm(&["rm", "--help"]), 0)),
        (&["manpage"], man.replace("\\-", "-").replace("\\*(Aq", "'")),
    ] {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for words in [
            "records only the last process to change each semaphore",
            "no process can read another's SEM_UNDO adjustments",
            "the holder's next operation on the set fails",
        ] {
            assert!(flat.contains(words), "{words:?} in {args:?}: {text}");
        }
    }
}

#[test]
fn the_man_page_renders_without_warnings() {
    let page = std::env::temp_dir().join(format!("rshm-{}.1", std::process::id()));
    let roff = rshm(&["manpage"]);
    std::fs::write(&page, expect(&roff, 0)).unwrap();
    let man = Command::new("man")
        .args(["--warnings", "-P", "cat", "-l"])
        .arg(&page)
        .env("MANWIDTH", "80")
        .output()
        .expect("man (man-db)");
    std::fs::remove_file(&page).unwrap();
    assert_eq!(man.status.code(), Some(0), "{}", text(&man.stderr));
    assert_eq!(text(&man.stderr), "", "man reports warnings");
    let shown = text(&man.stdout);
    for section in [
        "NAME",
        "SYNOPSIS",
        "COMMANDS",
        "CLASSES",
        "JSON",
        "EXIT STATUS",
        "FILES",
        "SEE ALSO",
    ] {
        assert!(
            shown.contains(&format!("\n{section}\n")),
            "{section} in {shown}"
        );
    }
    for command in ["rshm ls", "rshm rm", "rshm doctor", "rshm stat"] {
        assert!(shown.contains(&format!("   {command}\n")), "{command}");
    }
}

#[test]
fn completions_are_generated_for_bash_zsh_and_fish() {
    for (shell, mark) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef rshm"),
        ("fish", "complete -c rshm"),
    ] {
        let script = expect(&rshm(&["completions", shell]), 0);
        assert!(script.contains(mark), "{shell}");
        for word in ["doctor", "orphans", "older-than"] {
            assert!(script.contains(word), "{shell} completes {word}");
        }
    }
    let syntax = Command::new("bash")
        .args(["-n", "-c", &expect(&rshm(&["completions", "bash"]), 0)])
        .output()
        .unwrap();
    assert!(syntax.status.success(), "{}", text(&syntax.stderr));
}

#[test]
fn key_matches_ftok_and_warns_about_a_zero_proj_id() {
    let out = expect(&rshm(&["key", "/tmp", "65"]), 0);
    let expected = rshm::Key::ftok("/tmp", 65).unwrap().to_string();
    assert_eq!(out.lines().next(), Some(expected.as_str()));
    assert!(out.contains("made of inode"));
    assert_eq!(
        expect(&rshm(&["key", "/tmp", "A"]), 0).lines().next(),
        Some(expected.as_str())
    );
    let zero = rshm(&["key", "/tmp", "256"]);
    assert!(zero.status.success());
    assert!(text(&zero.stderr).contains("warning: the low 8 bits of proj_id are 0"));
    let missing = rshm(&["key", "/no/such/file", "1"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        text(&missing.stderr),
        "rshm: /no/such/file: it does not exist: ftok needs an existing file\n"
    );
    let verbose = rshm(&["--verbose", "key", "/no/such/file", "1"]);
    assert!(
        text(&verbose.stderr).contains("system error: ENOENT"),
        "{}",
        text(&verbose.stderr)
    );
}

#[test]
fn limits_cover_every_kind_in_text_and_json() {
    isolate!();
    ipcmk(&["-S", "3"]);
    let out = expect(&rshm(&["limits"]), 0);
    for name in [
        "kernel.shmmax",
        "kernel.shmall",
        "kernel.shmmni",
        "SEMMNI",
        "SEMMSL",
        "kernel.msgmni",
        "kernel.msgmnb",
    ] {
        assert!(out.contains(name), "{name} in {out}");
    }
    let limits = json(&["limits", "--json"]);
    assert_eq!(limits["sem"]["sets"], 1);
    assert_eq!(limits["sem"]["semaphores"], 3);
    assert_eq!(limits["shm"]["segments"], 0);
    assert!(limits["msg"]["msgmni"].as_u64().unwrap() > 0);
}

/// Every field the docs promise, with its JSON type.
#[test]
fn ls_json_has_the_documented_schema_for_every_kind() {
    isolate!();
    segment_by_child(0x5501, 1234, true, None);
    semaphore_by_child(0x5502);
    queue_by_child(0x5503);
    let list = json(&["ls", "--json"]);
    let common = [
        ("kind", "string"),
        ("key", "string"),
        ("id", "number"),
        ("owner", "string"),
        ("uid", "number"),
        ("gid", "number"),
        ("creator", "string"),
        ("cuid", "number"),
        ("cgid", "number"),
        ("mode", "string"),
        ("ctime", "number"),
        ("class", "string"),
        ("reason", "string"),
        ("orphan", "boolean"),
        ("idle_seconds", "number"),
    ];
    let own: [(&str, &[(&str, &str)]); 3] = [
        (
            "shm",
            &[
                ("size", "number"),
                ("nattch", "number"),
                ("cpid", "number"),
                ("cpid_state", "string"),
                ("cpid_alive", "boolean"),
                ("lpid", "number"),
                ("lpid_state", "string"),
                ("lpid_alive", "boolean"),
                ("atime", "number"),
                ("dtime", "number"),
                ("rss", "number"),
                ("swap", "number"),
                ("marked_for_removal", "boolean"),
                ("locked", "boolean"),
            ],
        ),
        (
            "sem",
            &[
                ("nsems", "number"),
                ("otime", "number"),
                ("semaphores", "array"),
            ],
        ),
        (
            "msg",
            &[
                ("qnum", "number"),
                ("cbytes", "number"),
                ("qbytes", "number"),
                ("lspid", "number"),
                ("lspid_state", "string"),
                ("lrpid", "number"),
                ("lrpid_state", "string"),
                ("stime", "number"),
                ("rtime", "number"),
            ],
        ),
    ];
    let type_of = |value: &Value| match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let objects = list.as_array().unwrap();
    assert_eq!(objects.len(), 3, "{list:#}");
    for (kind, fields) in own {
        let object = objects.iter().find(|o| o["kind"] == kind).unwrap();
        let map = object.as_object().unwrap();
        for (field, json_type) in common.iter().chain(fields) {
            assert_eq!(
                type_of(&object[*field]),
                *json_type,
                "{kind}.{field} in {object:#}"
            );
        }
        assert_eq!(
            map.len(),
            common.len() + fields.len(),
            "no undocumented field: {object:#}"
        );
        assert_eq!(object["orphan"], object["class"] == "abandoned");
    }
    let segment = objects.iter().find(|o| o["kind"] == "shm").unwrap();
    assert_eq!(
        (segment["key"].as_str(), segment["size"].as_u64()),
        (Some("0x00005501"), Some(1234))
    );
    assert_eq!(segment["mode"], "0600");
    let semaphore = &objects.iter().find(|o| o["kind"] == "sem").unwrap()["semaphores"][0];
    for field in ["num", "value", "pid", "pid_state", "ncnt", "zcnt"] {
        assert!(!semaphore[field].is_null(), "semaphores[0].{field}");
    }
    // stat --json is the same object.
    let id = segment["id"].as_i64().unwrap().to_string();
    let stat: Value = serde_json::from_str(&expect(&rshm(&["stat", "--json", &id]), 0)).unwrap();
    assert_eq!(stat["key"], segment["key"]);
    assert_eq!(stat["class"], segment["class"]);
}
