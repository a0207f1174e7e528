//! The class of every scenario the cleanup must tell apart, on real objects,
//! each test in an IPC namespace of its own: segments attached and left by a
//! process that is gone, never attached, made by ipcmk, in use, marked for
//! removal while attached, idle, seen from another PID namespace, another
//! user's seen by a non-root user; semaphore sets and queues by their own fields.

mod common;

use common::*;
use rshm::{AttachFlags, Key, Mode, Segment, SemaphoreOptions};
use std::process::Command;

#[test]
fn every_segment_scenario_gets_its_class_and_reason() {
    isolate!();
    let left = segment_by_child(0x5201, 8192, true, None);
    let never = segment_by_child(0x5202, 4096, false, None);
    let made_by_ipcmk = ipcmk(&["-M", "4096"]);
    let in_use = Segment::create(Key::from_raw(0x5203), 4096, Mode::OWNER_RW).unwrap();
    let held = in_use.attach(AttachFlags::empty()).unwrap();
    let marked = Segment::create(Key::from_raw(0x5204), 4096, Mode::OWNER_RW).unwrap();
    let marked_held = marked.attach(AttachFlags::empty()).unwrap();
    marked.remove().unwrap();
    let idle = Segment::create(Key::from_raw(0x5205), 4096, Mode::OWNER_RW).unwrap();
    drop(idle.attach(AttachFlags::empty()).unwrap());

    let now = json(&["ls", "--json", "--older-than", "0"]);
    let class = |id| class_of(&now, "shm", id);
    assert_eq!(class(left), "abandoned");
    assert_eq!(class(never), "unused");
    assert_eq!(class(made_by_ipcmk), "unused");
    assert_eq!(class(in_use.id()), "in_use");
    assert_eq!(class(marked.id()), "marked_for_removal");
    assert_eq!(class(idle.id()), "idle");

    let abandoned = object(&now, "shm", left);
    assert_eq!(abandoned["orphan"], true);
    assert_eq!(abandoned["cpid_state"], "gone");
    assert_eq!(abandoned["lpid_alive"], false);
    let reason = abandoned["reason"].as_str().unwrap();
    let cpid = abandoned["cpid"].as_i64().unwrap();
    assert!(
        reason.contains(&format!("its creator and last user (pid {cpid}) is gone")),
        "{reason}"
    );
    // Not "its user detaches" to the letter: a test thread that forks meanwhile
    // gives the segment a second attachment until its child execs or exits.
    let marked_reason = object(&now, "shm", marked.id())["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        marked_reason.contains("removed, but still attached: it is freed when its"),
        "{marked_reason}"
    );
    assert!(object(&now, "shm", made_by_ipcmk)["reason"]
        .as_str()
        .unwrap()
        .contains("never attached"));
    assert_eq!(object(&now, "shm", idle.id())["cpid_state"], "running");

    // With the default threshold, one used a moment ago is only recent: it may wait for a reader.
    let default = json(&["ls", "--json"]);
    assert_eq!(class_of(&default, "shm", left), "recent");
    assert!(object(&default, "shm", left)["reason"]
        .as_str()
        .unwrap()
        .contains("less than 10 min"));

    // The table shows the same, and --class filters.
    let table = expect(&rshm(&["ls", "-m", "--older-than", "0s", "--reasons"]), 0);
    assert!(
        table.contains("Shared memory segments (6)") && table.contains("REASON"),
        "{table}"
    );
    assert!(
        table.contains("marked for removal") && table.contains("abandoned"),
        "{table}"
    );
    let only = json(&["ls", "--json", "--class", "unused,idle"]);
    assert_eq!(only.as_array().unwrap().len(), 3, "{only:#}");
    // A class's name with dashes for its underscores, as people type it.
    let dashed = json(&["ls", "--json", "--class", "in-use,marked-for-removal"]);
    assert_eq!(dashed.as_array().unwrap().len(), 2, "{dashed:#}");
    let orphans = json(&["ls", "--json", "--orphans", "--older-than", "0"]);
    assert_eq!(orphans.as_array().unwrap().len(), 1);

    drop(held);
    drop(marked_held);
}

#[test]
fn processes_of_another_pid_namespace_make_an_object_unknown() {
    isolate!();
    let left = segment_by_child(0x5211, 4096, true, None);
    let mine = Segment::create(Key::from_raw(0x5212), 4096, Mode::OWNER_RW).unwrap();
    drop(mine.attach(AttachFlags::empty()).unwrap());
    // rshm in a PID namespace of its own sees pid 0 for every process outside it.
    let out = Command::new("unshare")
        .args([
            "--pid",
            "--fork",
            "--mount-proc",
            RSHM,
            "ls",
            "--json",
            "--older-than",
            "0",
        ])
        .output()
        .expect("unshare (util-linux)");
    let seen: serde_json::Value = serde_json::from_str(&expect(&out, 0)).unwrap();
    for id in [left, mine.id()] {
        let object = object(&seen, "shm", id);
        assert_eq!(object["class"], "unknown", "{object:#}");
        assert_eq!(object["cpid"], 0);
        assert_eq!(object["cpid_state"], "hidden");
        assert!(object["reason"]
            .as_str()
            .unwrap()
            .contains("another PID namespace"));
    }
    // From here, the same segments are abandoned and idle.
    let here = json(&["ls", "--json", "--older-than", "0"]);
    assert_eq!(class_of(&here, "shm", left), "abandoned");
    assert_eq!(class_of(&here, "shm", mine.id()), "idle");
}

#[test]
fn a_non_root_user_sees_every_users_objects_and_their_classes() {
    isolate!();
    let nobodys = segment_by_child(0x5221, 4096, true, Some(65534));
    let roots = segment_by_child(0x5222, 4096, false, None);
    let out = rshm_as(12345, &["ls", "--json", "--older-than", "0"]);
    let seen: serde_json::Value = serde_json::from_str(&expect(&out, 0)).unwrap();
    assert_eq!(class_of(&seen, "shm", nobodys), "abandoned");
    assert_eq!(object(&seen, "shm", nobodys)["owner"], "nobody");
    assert_eq!(class_of(&seen, "shm", roots), "unused");
    let mine = json(&["ls", "--json", "--owner", "nobody"]);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["id"], nobodys);
}

#[test]
fn semaphore_sets_are_classed_by_their_waiters_and_last_users() {
    isolate!();
    let made_by_ipcmk = ipcmk(&["-S", "2"]);
    let left = semaphore_by_child(0x5231);
    // A child blocked on a set with no unit: it waits on it.
    // SAFETY: a plain semget.
    let awaited = unsafe { libc::semget(0x5232, 1, libc::IPC_CREAT | 0o600) };
    let waiter = spawn_child(|| {
        let mut op = libc::sembuf {
            sem_num: 0,
            sem_op: -1,
            sem_flg: 0,
        };
        // SAFETY: a raw semop in the child.
        unsafe { libc::semop(awaited, &mut op, 1) }
    });
    // SAFETY: GETNCNT takes no argument.
    wait_for("the waiter", || unsafe {
        libc::semctl(awaited, 0, libc::GETNCNT) == 1
    });
    let ours = SemaphoreOptions::new()
        .key(Key::from_raw(0x5233))
        .create(true)
        .initial(1)
        .open()
        .unwrap();

    let now = json(&["ls", "-s", "--json", "--older-than", "0"]);
    assert_eq!(class_of(&now, "sem", made_by_ipcmk), "unused");
    assert_eq!(class_of(&now, "sem", left), "abandoned");
    assert_eq!(class_of(&now, "sem", awaited), "in_use");
    assert_eq!(class_of(&now, "sem", ours.id()), "idle");
    let set = object(&now, "sem", ours.id());
    assert_eq!(set["nsems"], 1);
    assert_ne!(set["otime"], 0, "rshm stamps sem_otime once initialised");
    assert_eq!(set["semaphores"][0]["value"], 1);
    assert_eq!(set["semaphores"][0]["pid"], std::process::id());
    assert_eq!(set["semaphores"][0]["pid_state"], "running");
    assert_eq!(object(&now, "sem", awaited)["semaphores"][0]["ncnt"], 1);
    assert!(object(&now, "sem", awaited)["reason"]
        .as_str()
        .unwrap()
        .contains("1 process is waiting on it"));
    assert_eq!(
        class_of(&json(&["ls", "-s", "--json"]), "sem", left),
        "recent"
    );

    let stat = expect(
        &rshm(&["stat", &format!("sem:{left}"), "--older-than", "0"]),
        0,
    );
    assert!(
        stat.starts_with(&format!("semaphore set {left} (key 0x00005231)"))
            && stat.contains("class         abandoned")
            && stat.contains("#0")
            && stat.contains("(gone)"),
        "{stat}"
    );
    kill(waiter);
}

#[test]
fn queues_are_classed_by_their_senders_and_receivers() {
    isolate!();
    let made_by_ipcmk = ipcmk(&["-Q"]);
    let left = queue_by_child(0x5241);
    assert_eq!(send(0x5242), 0, "this process sends: it still runs");
    // SAFETY: msgget without flags opens the existing queue.
    let ours = unsafe { libc::msgget(0x5242, 0) };

    let now = json(&["ls", "-q", "--json", "--older-than", "0"]);
    assert_eq!(class_of(&now, "msg", made_by_ipcmk), "unused");
    assert_eq!(class_of(&now, "msg", left), "abandoned");
    assert_eq!(class_of(&now, "msg", ours), "idle");
    let queue = object(&now, "msg", left);
    assert_eq!(
        (queue["qnum"].as_u64(), queue["cbytes"].as_u64()),
        (Some(1), Some(14))
    );
    assert_eq!(queue["lspid_state"], "gone");
    assert_eq!(queue["lrpid_state"], "none");
    assert!(queue["reason"]
        .as_str()
        .unwrap()
        .contains("it holds 1 message (14 bytes)"));
    let stat = expect(&rshm(&["stat", "-q", "--key", "0x5241"]), 0);
    assert!(
        stat.contains("messages      1, 14 bytes") && stat.contains("last receive  never"),
        "{stat}"
    );
}
