//! `rshm stat`: everything the kernel knows of one object, explained, and its class.

use crate::args::StatArgs;
use crate::fail::{self, Cause};
use crate::inventory::Listed;
use crate::render::{self, ago, checked, count, human, json, may, Names};
use rshm::ipc::{self, Class, Kind, Object, PidRole, Rule};

pub fn run(args: StatArgs) -> u8 {
    let rule = Rule::new(args.age.older_than);
    let named = args.kind.kind();
    let (kind, found) = match (args.id, args.key) {
        (Some(object), _) => {
            let kind = object.kind_or(named);
            if named.is_some_and(|named| named != kind) {
                fail::usage(
                    "stat",
                    format!(
                        "the id says {} but the option says {}",
                        kind.name(),
                        named.map_or("", Kind::name)
                    ),
                );
            }
            (kind, ipc::find(kind, object.id))
        }
        (None, Some(key)) => {
            let kind = named.unwrap_or(Kind::Segment);
            (kind, ipc::find_key(kind, key))
        }
        (None, None) => fail::usage("stat", "name an object: its ID, or --key KEY"),
    };
    let object = match found {
        Ok(Some(object)) => object,
        Ok(None) => {
            let what = match (args.id, args.key) {
                (Some(object), _) => format!("id {}", object.id),
                (None, Some(key)) => format!("key {key}"),
                (None, None) => String::new(),
            };
            eprintln!("rshm: no {kind} has {what}");
            return 1;
        }
        Err(error) => {
            fail::report(
                format!("cannot read the {kind}s: {}", error.reason()),
                Cause::Rshm(&error),
            );
            return 1;
        }
    };
    let listed = Listed {
        verdict: ipc::classify(&object, &rule),
        object,
    };
    let names = Names::default();
    if args.json {
        println!("{}", json::line(&json::object(&listed, &names)));
    } else {
        print!("{}", explain(&listed, &names));
    }
    0
}

/// The explanation of one object, line by line.
pub fn explain(listed: &Listed, names: &Names) -> String {
    let Listed { object, verdict } = listed;
    let owner = object.owner();
    let mut lines = Vec::new();
    let private = if object.key() == rshm::Key::PRIVATE {
        ", private: no key opens it"
    } else {
        ""
    };
    lines.push(format!(
        "{} {} (key {}{private})",
        object.kind(),
        object.id(),
        object.key()
    ));
    let mut line = |label: &str, text: String| lines.push(format!("  {label:<14}{text}"));
    line("class", format!("{}: {}", verdict.class, verdict.reason));
    let use_word = match object.kind() {
        Kind::Segment => "attach",
        _ => "use",
    };
    line(
        "mode",
        format!(
            "{}: the owner may {}; the group {}; others {}",
            render::mode(owner.mode),
            may(owner.mode >> 6, use_word),
            may(owner.mode >> 3, use_word),
            may(owner.mode, use_word)
        ),
    );
    line(
        "owner",
        format!(
            "{} (uid {}), group {} (gid {})",
            names.user(owner.uid),
            owner.uid,
            names.group(owner.gid),
            owner.gid
        ),
    );
    let creator = format!(
        "{} (uid {}), group {} (gid {})",
        names.user(owner.cuid),
        owner.cuid,
        names.group(owner.cgid),
        owner.cgid
    );
    let role = |role| checked(verdict.pids.iter().find(|c| c.role == role));
    match object {
        Object::Segment(s) => {
            let info = &s.info;
            line(
                "creator",
                format!("{creator}; pid {}", role(PidRole::Creator)),
            );
            line(
                "created",
                format!(
                    "{} (or its owner or mode was changed then)",
                    ago(info.ctime)
                ),
            );
            let memory = match s.memory {
                Some(m) => format!(
                    "; resident {}, swapped {}",
                    human(m.resident),
                    human(m.swapped)
                ),
                None => String::new(),
            };
            line(
                "size",
                format!("{} bytes ({}){memory}", info.size, human(info.size as u64)),
            );
            line(
                "attached",
                format!(
                    "{} now; last attach {}, last detach {}, by pid {}",
                    count(info.nattch, "time", "times"),
                    ago(info.atime),
                    ago(info.dtime),
                    role(PidRole::LastUser)
                ),
            );
            if info.locked {
                line(
                    "locked",
                    "in memory: its pages are never swapped out".into(),
                );
            }
        }
        Object::SemaphoreSet(s) => {
            line("creator", creator);
            line(
                "created",
                format!("{} (or last set or changed then)", ago(s.ctime)),
            );
            line("last use", format!("{} (the last semop)", ago(s.otime)));
            match &s.semaphores {
                None => line(
                    "semaphores",
                    format!("{}; this user may not read their values", s.nsems),
                ),
                Some(semaphores) => {
                    line("semaphores", s.nsems.to_string());
                    for (number, semaphore) in semaphores.iter().enumerate() {
                        let pid = match semaphore.pid {
                            0 => "never changed (or by a process of another PID namespace)"
                                .to_string(),
                            pid => format!(
                                "last changed by pid {}",
                                render::pid_state(
                                    pid,
                                    verdict
                                        .state_of(pid)
                                        .unwrap_or(rshm::ipc::PidState::Unknown)
                                )
                            ),
                        };
                        line(
                            &format!("  #{number}"),
                            format!(
                                "value {}; {pid}; waiting: {} for more, {} for zero",
                                semaphore.value,
                                semaphore.waiting_for_increase,
                                semaphore.waiting_for_zero
                            ),
                        );
                    }
                }
            }
        }
        Object::MessageQueue(q) => {
            line("creator", creator);
            line(
                "created",
                format!("{} (or its owner or mode was changed then)", ago(q.ctime)),
            );
            line(
                "messages",
                format!(
                    "{}, {} of at most {} ({})",
                    q.messages,
                    count(q.bytes, "byte", "bytes"),
                    q.max_bytes,
                    human(q.max_bytes)
                ),
            );
            let by = |time: i64, role: String| match time {
                0 => "never".to_string(),
                _ => format!("{} by pid {role}", ago(time)),
            };
            line("last send", by(q.stime, role(PidRole::LastSender)));
            line("last receive", by(q.rtime, role(PidRole::LastReceiver)));
        }
    }
    if verdict.class == Class::Abandoned {
        let flag = match object.kind() {
            Kind::Segment => "",
            Kind::SemaphoreSet => " -s",
            Kind::MessageQueue => " -q",
        };
        line(
            "to remove",
            format!("rshm rm{flag} {} (or rshm rm --orphans{flag})", object.id()),
        );
    }
    lines.join("\n") + "\n"
}
