//! `rshm rm`: removes objects by id or key, or every abandoned one
//! (`--orphans`), saying what each removal does and why each object is kept.

use crate::args::RmArgs;
use crate::fail::{self, Cause};
use crate::inventory::{describe, gather_or_report, owned_by, Listed};
use crate::render::{count, Names};
use rshm::ipc::{self, Caller, Class, Kind, Object, Removal, Rule};

pub fn run(args: RmArgs) -> u8 {
    let rule = Rule::new(args.age.older_than);
    let names = Names::default();
    if args.orphans {
        return orphans(&args, &rule, &names);
    }
    let named = args.kinds.or(&[]);
    if named.len() > 1 {
        fail::usage(
            "rm",
            "name one kind (-m, -s or -q) with ids or a key; several kinds go with --orphans",
        );
    }
    let named = named.first().copied();
    let mut failed = false;
    if let Some(key) = args.key {
        let kind = named.unwrap_or(Kind::Segment);
        return match ipc::find_key(kind, key) {
            Ok(Some(object)) => u8::from(!remove_one(&object, args.dry_run, &names)),
            Ok(None) => {
                eprintln!("rshm: no {kind} has key {key}");
                1
            }
            Err(error) => {
                fail::report(
                    format!("cannot read the {kind}s: {}", error.reason()),
                    Cause::Rshm(&error),
                );
                1
            }
        };
    }
    for object in &args.ids {
        let kind = object.kind_or(named);
        if named.is_some_and(|named| named != kind) {
            fail::usage(
                "rm",
                format!(
                    "{}:{} is not of the kind the options name",
                    kind.name(),
                    object.id
                ),
            );
        }
        match ipc::find(kind, object.id) {
            Ok(Some(found)) => failed |= !remove_one(&found, args.dry_run, &names),
            Ok(None) => {
                eprintln!(
                    "rshm: cannot remove {kind} {}: no {kind} has this id",
                    object.id
                );
                failed = true;
            }
            Err(error) => {
                fail::report(
                    format!("cannot read the {kind}s: {}", error.reason()),
                    Cause::Rshm(&error),
                );
                failed = true;
            }
        }
    }
    u8::from(failed)
}

/// What removing `object` does beyond removing it, in words.
fn consequence(object: &Object) -> Option<String> {
    match object {
        Object::Segment(s) if s.info.nattch > 0 => Some(match s.info.nattch {
            1 => "it is freed when its user detaches".to_string(),
            n => format!("it is freed when its {n} users detach"),
        }),
        Object::SemaphoreSet(s) => {
            let waiting: u64 = s
                .semaphores
                .iter()
                .flatten()
                .map(|s| u64::from(s.waiting_for_increase) + u64::from(s.waiting_for_zero))
                .sum();
            (waiting > 0).then(|| match waiting {
                1 => "the process waiting on it is woken with an error".to_string(),
                n => format!("the {n} processes waiting on it are woken with an error"),
            })
        }
        Object::MessageQueue(q) if q.messages > 0 => Some(format!(
            "{} ({}) {} lost",
            match q.messages {
                1 => "its message".to_string(),
                n => format!("its {n} messages"),
            },
            count(q.bytes, "byte", "bytes"),
            if q.messages == 1 { "is" } else { "are" }
        )),
        _ => None,
    }
}

/// Removes one object named by id or key; whether it went (or would).
fn remove_one(object: &Object, dry_run: bool, names: &Names) -> bool {
    let what = describe(object);
    let marked = matches!(object, Object::Segment(s) if s.info.nattch > 0);
    let done = match (dry_run, marked) {
        (true, true) => format!("would mark {what} for removal"),
        (true, false) => format!("would remove {what}"),
        (false, true) => format!("marked {what} for removal"),
        (false, false) => format!("removed {what}"),
    };
    let done = match consequence(object) {
        Some(consequence) => format!("{done}: {consequence}"),
        None => done,
    };
    if dry_run {
        println!("{done}");
        return true;
    }
    match ipc::remove(object.kind(), object.id()) {
        Ok(()) => {
            println!("{done}");
            true
        }
        Err(error) if matches!(error.errno(), libc::EINVAL | libc::EIDRM) => {
            println!("{what} was removed already");
            true
        }
        Err(error) => {
            let why = match error.errno() {
                libc::EPERM => format!(
                    "permission denied: {}; only its owner, its creator or root may remove it",
                    owned_by(object, names)
                ),
                _ => error.reason().to_string(),
            };
            fail::report(format!("cannot remove {what}: {why}"), Cause::Rshm(&error));
            false
        }
    }
}

/// `rm --orphans`: every abandoned object of the chosen kinds, checked again
/// right before its removal; with `--dry-run`, every decision and its reason.
fn orphans(args: &RmArgs, rule: &Rule, names: &Names) -> u8 {
    let kinds = args.kinds.or(&[Kind::Segment]);
    let Some(listed) = gather_or_report(&kinds, rule) else {
        return 1;
    };
    let caller = Caller::this_process();
    let dry = args.dry_run;
    let (mut removed, mut skipped, mut kept, mut failed) = (0u64, 0u64, 0u64, false);
    let say = |decision: &str, what: &str, why: &str| println!("{decision:<12}  {what}: {why}");
    for Listed { object, verdict } in &listed {
        let what = describe(object);
        if verdict.class != Class::Abandoned {
            kept += 1;
            if dry {
                say(
                    "keep",
                    &what,
                    &format!("{}: {}", verdict.class, verdict.reason),
                );
            }
            continue;
        }
        if !caller.may_remove(&object.owner()) {
            skipped += 1;
            let why = format!(
                "abandoned, but {}; only its owner, its creator or root may remove it",
                owned_by(object, names)
            );
            say(if dry { "would skip" } else { "skipped" }, &what, &why);
            continue;
        }
        let why = format!("abandoned: {}", verdict.reason);
        if dry {
            removed += 1;
            say("would remove", &what, &why);
            continue;
        }
        match ipc::remove_if_abandoned(object, rule) {
            Ok(Removal::Removed) => {
                removed += 1;
                say("removed", &what, &why);
            }
            Ok(Removal::Kept(now)) => {
                kept += 1;
                say(
                    "left",
                    &what,
                    &format!("it is {} now: {}", now.class, now.reason),
                );
            }
            Ok(Removal::Gone) => say("gone", &what, "removed already by someone else"),
            Err(error) if error.errno() == libc::EPERM => {
                skipped += 1;
                say(
                    "skipped",
                    &what,
                    &format!("permission denied; {}", owned_by(object, names)),
                );
            }
            Err(error) => {
                failed = true;
                fail::report(
                    format!("cannot remove {what}: {}", error.reason()),
                    Cause::Rshm(&error),
                );
            }
        }
    }
    let nouns: Vec<String> = kinds.iter().map(|k| format!("{k}s")).collect();
    let summary = if dry {
        format!("dry run: would remove {removed}, skip {skipped}, keep {kept}")
    } else {
        format!("removed {removed}, skipped {skipped}, kept {kept}")
    };
    println!("{summary} (of the {})", nouns.join(", "));
    if !args.kinds.shm && !args.kinds.sem && !args.kinds.msg {
        println!("semaphore sets and message queues are cleaned only when named: add -s, -q");
    }
    if !dry && kept > 0 && removed == 0 {
        println!("'rshm rm --orphans --dry-run' says why each is kept");
    }
    u8::from(failed)
}
