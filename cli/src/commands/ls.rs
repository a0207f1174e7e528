//! `rshm ls`: every object of the chosen kinds, one table per kind (or one
//! JSON array), with its class.

use crate::args::LsArgs;
use crate::fail;
use crate::inventory::{gather_or_report, Listed};
use crate::render::{self, ago, checked, human, json, Names, Table};
use rshm::ipc::{Class, Kind, Object, PidRole, Rule};

pub fn run(args: LsArgs) -> u8 {
    let owner = match &args.owner {
        None => None,
        Some(user) => match crate::render::uid_of(user) {
            Some(uid) => Some(uid),
            None => fail::usage("ls", format!("no user is named '{user}'")),
        },
    };
    let mut classes: Vec<Class> = args.class.clone();
    if args.orphans {
        classes.push(Class::Abandoned);
    }
    let kinds = args.kinds.or(&Kind::ALL);
    let rule = Rule::new(args.age.older_than);
    let Some(listed) = gather_or_report(&kinds, &rule) else {
        return 1;
    };
    let shown: Vec<Listed> = listed
        .into_iter()
        .filter(|l| owner.is_none_or(|uid| l.object.owner().uid == uid))
        .filter(|l| args.key.is_none_or(|key| l.object.key() == key))
        .filter(|l| classes.is_empty() || classes.contains(&l.verdict.class))
        .collect();
    let names = Names::default();
    if args.json {
        let objects: Vec<json::ObjectJson> =
            shown.iter().map(|l| json::object(l, &names)).collect();
        println!("{}", json::line(&objects));
        return 0;
    }
    let mut first = true;
    for kind in kinds {
        if !first {
            println!();
        }
        first = false;
        let of_kind: Vec<&Listed> = shown.iter().filter(|l| l.object.kind() == kind).collect();
        print!("{}", section(kind, &of_kind, args.reasons, &names));
    }
    0
}

/// The heading and the table of one kind.
pub fn section(kind: Kind, listed: &[&Listed], reasons: bool, names: &Names) -> String {
    let heading = match kind {
        Kind::Segment => "Shared memory segments",
        Kind::SemaphoreSet => "Semaphore sets",
        Kind::MessageQueue => "Message queues",
    };
    let mut header: Vec<&str> = vec!["KEY", "ID", "OWNER", "CREATOR", "MODE"];
    header.extend_from_slice(match kind {
        Kind::Segment => &["SIZE", "NATTCH", "CPID", "LPID"][..],
        Kind::SemaphoreSet => &["NSEMS", "VALUES", "WAITING", "LAST PIDS"],
        Kind::MessageQueue => &["MESSAGES", "BYTES", "LSPID", "LRPID"],
    });
    header.extend_from_slice(&["CREATED", "LAST USE", "CLASS"]);
    if reasons {
        header.push("REASON");
    }
    let mut table = Table::new(&header);
    for Listed { object, verdict } in listed.iter().copied() {
        let owner = object.owner();
        let mut row = vec![
            object.key().to_string(),
            object.id().to_string(),
            names.user(owner.uid),
            names.user(owner.cuid),
            render::mode(owner.mode),
        ];
        let role = |role| checked(verdict.pids.iter().find(|c| c.role == role));
        let last_use = match object {
            Object::Segment(s) => {
                let info = &s.info;
                row.extend([
                    format!("{} ({})", human(info.size as u64), info.size),
                    info.nattch.to_string(),
                    role(PidRole::Creator),
                    role(PidRole::LastUser),
                ]);
                info.atime.max(info.dtime)
            }
            Object::SemaphoreSet(s) => {
                row.push(s.nsems.to_string());
                match &s.semaphores {
                    Some(semaphores) => {
                        let values: Vec<String> =
                            semaphores.iter().map(|s| s.value.to_string()).collect();
                        let waiting: u64 = semaphores
                            .iter()
                            .map(|s| u64::from(s.waiting_for_increase + s.waiting_for_zero))
                            .sum();
                        row.push(shorten(&values));
                        row.push(waiting.to_string());
                    }
                    None => row.extend(["?".to_string(), "?".to_string()]),
                }
                let pids: Vec<String> = verdict
                    .pids
                    .iter()
                    .filter(|c| c.pid != 0)
                    .map(|c| render::pid_state(c.pid, c.state))
                    .collect();
                row.push(if pids.is_empty() {
                    "-".into()
                } else {
                    shorten(&pids)
                });
                s.otime
            }
            Object::MessageQueue(q) => {
                row.extend([
                    q.messages.to_string(),
                    format!("{} of {}", human(q.bytes), human(q.max_bytes)),
                    role(PidRole::LastSender),
                    role(PidRole::LastReceiver),
                ]);
                q.stime.max(q.rtime)
            }
        };
        row.extend([
            ago(object.ctime()),
            ago(last_use),
            verdict.class.to_string(),
        ]);
        if reasons {
            row.push(verdict.reason.clone());
        }
        table.row(row);
    }
    if table.is_empty() {
        format!("{heading}: none\n")
    } else {
        format!("{heading} ({})\n{}", listed.len(), table.render())
    }
}

/// The first few items, comma-separated, and how many more.
fn shorten(items: &[String]) -> String {
    const SHOWN: usize = 4;
    let mut text = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if items.len() > SHOWN {
        text.push_str(&format!(",... ({} more)", items.len() - SHOWN));
    }
    text
}
