//! `rshm rm` on real objects, each test in an IPC namespace of its own: the
//! cleanup removes only what is abandoned (segments unless other kinds are
//! named), says why it keeps each object, skips other users' objects for a
//! non-root user, and removal by id or key works on every kind.

mod common;

use common::*;
use rshm::{AttachFlags, Key, Mode, Segment};

fn exists(kind: &str, id: i32) -> bool {
    let list = json(&["ls", "--json"]);
    list.as_array()
        .unwrap()
        .iter()
        .any(|o| o["kind"] == kind && o["id"] == id)
}

#[test]
fn orphans_removes_only_the_abandoned_segment_and_dry_run_says_why_for_each() {
    isolate!();
    let left = segment_by_child(0x5301, 8192, true, None);
    let never = segment_by_child(0x5302, 4096, false, None);
    let made_by_ipcmk = ipcmk(&["-M", "4096"]);
    let in_use = Segment::create(Key::from_raw(0x5303), 4096, Mode::OWNER_RW).unwrap();
    let held = in_use.attach(AttachFlags::empty()).unwrap();
    let set = semaphore_by_child(0x5304);
    let queue = queue_by_child(0x5305);

    let dry = expect(
        &rshm(&["rm", "--orphans", "--dry-run", "--older-than", "0"]),
        0,
    );
    assert!(
        dry.contains(&format!("would remove  segment {left} (key 0x00005301, 8.0 KiB): abandoned: nothing attaches it")),
        "{dry}"
    );
    for id in [never, made_by_ipcmk] {
        assert!(
            dry.contains(&format!("keep          segment {id} (")),
            "{dry}"
        );
    }
    // "1 time", or 2 while another test thread's fork holds a copy of the attachment.
    assert!(dry.contains(": in use: attached "), "{dry}");
    assert!(
        dry.contains("dry run: would remove 1, skip 0, keep 3 (of the segments)"),
        "{dry}"
    );
    assert!(dry.contains("add -s, -q"), "{dry}");
    assert!(exists("shm", left), "a dry run removes nothing");

    // With the default threshold, the one used a moment ago is kept as recent.
    let kept = expect(&rshm(&["rm", "--orphans"]), 0);
    assert!(kept.contains("removed 0, skipped 0, kept 4"), "{kept}");
    assert!(exists("shm", left));

    let removed = expect(&rshm(&["rm", "--orphans", "--older-than", "0"]), 0);
    assert!(
        removed.contains(&format!("removed       segment {left} (")),
        "{removed}"
    );
    assert!(!exists("shm", left), "the abandoned segment is gone");
    for (kind, id) in [
        ("shm", never),
        ("shm", made_by_ipcmk),
        ("shm", in_use.id()),
        ("sem", set),
        ("msg", queue),
    ] {
        assert!(exists(kind, id), "{kind} {id} is kept");
    }

    // Semaphore sets and queues only when named.
    let both = expect(
        &rshm(&["rm", "--orphans", "--older-than", "0", "-s", "-q"]),
        0,
    );
    assert!(
        both.contains(&format!("removed       semaphore set {set} ("))
            && both.contains(&format!("removed       message queue {queue} (")),
        "{both}"
    );
    assert!(!exists("sem", set) && !exists("msg", queue));
    drop(held);
}

#[test]
fn a_non_root_user_skips_other_users_objects_and_exits_0() {
    isolate!();
    let nobodys = segment_by_child(0x5311, 4096, true, Some(65534));
    let roots = segment_by_child(0x5312, 4096, true, None);
    let out = rshm_as(12345, &["rm", "--orphans", "--older-than", "0"]);
    let said = expect(&out, 0);
    for id in [nobodys, roots] {
        assert!(
            said.contains(&format!("skipped       segment {id} (")),
            "{said}"
        );
    }
    assert!(
        said.contains(
            "it belongs to nobody (uid 65534); only its owner, its creator or root may remove it"
        ),
        "{said}"
    );
    assert!(exists("shm", nobodys) && exists("shm", roots));
    // Its owner removes its own, and skips root's.
    let owner = expect(
        &rshm_as(65534, &["rm", "--orphans", "--older-than", "0"]),
        0,
    );
    assert!(
        owner.contains(&format!("removed       segment {nobodys} (")),
        "{owner}"
    );
    assert!(
        owner.contains(&format!("skipped       segment {roots} (")),
        "{owner}"
    );
    assert!(!exists("shm", nobodys) && exists("shm", roots));

    // By id, another user's segment is refused: exit 1 and the reason.
    let refused = rshm_as(12345, &["rm", &roots.to_string()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains(&format!(
            "cannot remove segment {roots} (key 0x00005312, 4.0 KiB): permission denied: it belongs to root (uid 0)"
        )),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn every_kind_is_removed_by_id_or_key_and_in_use_is_said() {
    isolate!();
    let segment = Segment::create(Key::from_raw(0x5321), 4096, Mode::OWNER_RW).unwrap();
    let held = segment.attach(AttachFlags::empty()).unwrap();
    let set = semaphore_by_child(0x5322);
    let other_set = semaphore_by_child(0x5323);
    let queue = queue_by_child(0x5324);
    let by_key = ipcmk(&["-M", "100"]);
    let key = object(&json(&["ls", "--json", "-m"]), "shm", by_key)["key"]
        .as_str()
        .unwrap()
        .to_string();

    let dry = expect(&rshm(&["rm", "-n", &segment.id().to_string()]), 0);
    assert!(
        dry.starts_with(&format!(
            "would mark segment {} (key 0x00005321",
            segment.id()
        )),
        "{dry}"
    );
    let marked = expect(&rshm(&["rm", &segment.id().to_string()]), 0);
    assert!(
        // "its user detaches", or "its 2 users" while a test thread's fork holds a copy.
        marked.contains("for removal: it is freed when its "),
        "{marked}"
    );
    assert_eq!(
        class_of(&json(&["ls", "--json"]), "shm", segment.id()),
        "marked_for_removal"
    );
    drop(held);
    assert!(
        !exists("shm", segment.id()),
        "freed with its last attachment"
    );

    let sems = expect(
        &rshm(&["rm", "-s", &set.to_string(), &format!("sem:{other_set}")]),
        0,
    );
    assert!(
        sems.contains(&format!(
            "removed semaphore set {set} (key 0x00005322, 1 semaphore)"
        )),
        "{sems}"
    );
    assert!(!exists("sem", set) && !exists("sem", other_set));
    let queues = expect(&rshm(&["rm", &format!("msg:{queue}")]), 0);
    assert!(
        queues.contains("its message (14 bytes) is lost"),
        "{queues}"
    );
    expect(&rshm(&["rm", "--key", &key]), 0);
    assert!(!exists("shm", by_key));

    let missing = rshm(&["rm", "999999"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("cannot remove segment 999999: no segment has this id"));
    let missing_key = rshm(&["rm", "-q", "--key", "0x1234"]);
    assert_eq!(missing_key.status.code(), Some(1));
    assert!(text(&missing_key.stderr).contains("no message queue has key 0x00001234"));
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["rm"][..],
        &["rm", "1", "--orphans"],
        &["rm", "--key", "zz"],
        &["rm", "-m", "-s", "3"],
        &["rm", "-s", "shm:3"],
        &["rm", "pipe:3"],
        &["rm", "--orphans", "--older-than", "10"],
    ] {
        let said = usage_error(args);
        assert!(
            said.contains("Usage: rshm rm") || said.contains("--help"),
            "{args:?}: {said}"
        );
    }
}

/// `--older-than` past what the rule can count (2^63 - 1 seconds) once wrapped
/// to a negative threshold, and every object whose processes were gone became
/// abandoned at once: the opposite of a long threshold. It is a usage error
/// now, and nothing is removed.
#[test]
fn an_older_than_past_the_limit_is_a_usage_error_and_removes_nothing() {
    isolate!();
    let left = segment_by_child(0x5331, 4096, true, None);
    for value in [
        "106751991167301d",
        "9223372036854775808s",
        "18446744073709551615s",
    ] {
        for args in [
            &["rm", "--orphans", "--older-than", value][..],
            &["ls", "--older-than", value],
            &["stat", &left.to_string(), "--older-than", value],
            &["doctor", "--older-than", value],
        ] {
            let said = usage_error(args);
            assert!(said.contains("--older-than"), "{args:?}: {said}");
            assert!(
                said.contains("at most 9223372036854775807s (106751991167300d)"),
                "{args:?}: {said}"
            );
        }
    }
    assert!(exists("shm", left), "a refused threshold removes nothing");
    // The longest threshold accepted keeps the segment, as recent.
    let list = json(&["ls", "--json", "--older-than", "106751991167300d"]);
    assert_eq!(class_of(&list, "shm", left), "recent");
    let longest = expect(
        &rshm(&["rm", "--orphans", "--older-than", "9223372036854775807s"]),
        0,
    );
    assert!(
        longest.contains("removed 0, skipped 0, kept 1"),
        "{longest}"
    );
    assert!(exists("shm", left));
}
