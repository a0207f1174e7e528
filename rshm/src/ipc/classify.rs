//! The rule that sorts System V objects into classes, from what the kernel
//! records and nothing more, so that a cleanup removes only what was
//! abandoned and keeps what was left on purpose.
//!
//! The kernel cannot say "made by ipcmk" or "meant to persist": a segment
//! records its creator's pid, the last attacher's or detacher's pid, how many
//! attachments it has and the times of the last attach, detach and change; a
//! semaphore set the last pid to change each semaphore, the waiters and the
//! time of the last `semop`; a queue its last sender and receiver and their
//! times. The rule reads those:
//!
//! | class | segment | semaphore set | message queue |
//! |---|---|---|---|
//! | `marked_for_removal` | `IPC_RMID` done, still attached | — (removed at once) | — (removed at once) |
//! | `in_use` | attached now | a process waits on it | — (cannot be seen) |
//! | `unused` | never attached | no `semop` ever | nothing ever sent or received |
//! | `idle` | its creator or last user runs | a last user of a semaphore runs | its last sender or receiver runs |
//! | `unknown` | a pid is hidden or cannot be inspected | the same, or its semaphores cannot be read | the same |
//! | `recent` | all gone, but used within `older_than` | the same | the same |
//! | `abandoned` | all gone, and unused for `older_than` | the same | the same |
//!
//! Rows are tried top down; only `abandoned` is ever removed by a cleanup.
//! A pid is *gone* when no process has it, when a zombie has it, or when the
//! process that has it now started after the recorded one was seen at work
//! (the kernel keeps no start time with the pid, so the object's own time
//! stands in for it: a creator existed when the object was made, a last user
//! at its last attach, detach, `semop`, send or receive). A pid of 0 where one
//! was recorded is a process of a PID namespace this one cannot see: *hidden*.

use super::objects::{find, remove};
use super::system::{PidState, Processes, SystemProcesses};
use super::{Object, QueueEntry, SegmentEntry, SemaphoreSetEntry};
use crate::error::Result;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What an object is, for a cleanup: only [`Class::Abandoned`] may be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// A segment in use: attached now; or a semaphore set a process waits on.
    InUse,
    /// A segment removed with `IPC_RMID` that is still attached: it is freed
    /// when its last attachment goes.
    MarkedForRemoval,
    /// Never used since it was made (never attached, no `semop`, no message):
    /// kept, as objects made to be used later (by `ipcmk`, say) look like this.
    Unused,
    /// Not in use now, but a process that made or used it still runs.
    Idle,
    /// A pid it records is hidden (another PID namespace) or cannot be
    /// inspected, and none that can be is running: kept.
    Unknown,
    /// Every recorded process is gone, but it was used within the threshold:
    /// kept, as it may be waiting for a reader.
    Recent,
    /// Every recorded process is gone and it has not been used for the threshold.
    Abandoned,
}

impl Class {
    /// Every class, in the order of the rule.
    pub const ALL: [Class; 7] = [
        Class::MarkedForRemoval,
        Class::InUse,
        Class::Unused,
        Class::Idle,
        Class::Unknown,
        Class::Recent,
        Class::Abandoned,
    ];

    /// The stable name scripts read: `in_use`, `marked_for_removal`, `unused`,
    /// `idle`, `unknown`, `recent`, `abandoned`.
    pub const fn name(self) -> &'static str {
        match self {
            Class::InUse => "in_use",
            Class::MarkedForRemoval => "marked_for_removal",
            Class::Unused => "unused",
            Class::Idle => "idle",
            Class::Unknown => "unknown",
            Class::Recent => "recent",
            Class::Abandoned => "abandoned",
        }
    }

    /// The class whose name is `name` (`-` may stand for `_`).
    pub fn from_name(name: &str) -> Option<Class> {
        let name = name.replace('-', "_");
        Class::ALL.into_iter().find(|class| class.name() == name)
    }

    /// Whether a cleanup keeps objects of this class: all but `abandoned`.
    pub const fn kept(self) -> bool {
        !matches!(self, Class::Abandoned)
    }
}

/// The class in words: `in use`, `marked for removal`, ...
impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().replace('_', " "))
    }
}

/// What a recorded pid is to its object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PidRole {
    /// A segment's creator (`shm_cpid`).
    Creator,
    /// The last process to attach or detach a segment (`shm_lpid`).
    LastUser,
    /// The last process to change semaphore N of a set (`GETPID`).
    LastOperator(u32),
    /// A queue's last sender (`msg_lspid`).
    LastSender,
    /// A queue's last receiver (`msg_lrpid`).
    LastReceiver,
}

/// The role as its object's: `its creator`, `the last user of its semaphore 2`.
impl fmt::Display for PidRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PidRole::Creator => f.write_str("its creator"),
            PidRole::LastUser => f.write_str("its last user"),
            PidRole::LastOperator(n) => write!(f, "the last user of its semaphore {n}"),
            PidRole::LastSender => f.write_str("its last sender"),
            PidRole::LastReceiver => f.write_str("its last receiver"),
        }
    }
}

/// One recorded pid and what became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidCheck {
    pub role: PidRole,
    /// As the kernel reports it (0 for `Hidden`).
    pub pid: i32,
    pub state: PidState,
}

impl fmt::Display for PidCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state {
            PidState::Hidden => write!(f, "{} (pid 0: another PID namespace)", self.role),
            PidState::Reused => write!(
                f,
                "{} (pid {}, now taken by a later process)",
                self.role, self.pid
            ),
            _ => write!(f, "{} (pid {})", self.role, self.pid),
        }
    }
}

/// The thresholds a classification uses, and the time it is made at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// How long an object whose processes are all gone must have been
    /// unused to be `abandoned` rather than `recent`.
    pub older_than: Duration,
    /// Now, in Unix seconds.
    pub now: i64,
}

impl Rule {
    /// The default threshold: 10 minutes.
    pub const DEFAULT_OLDER_THAN: Duration = Duration::from_secs(600);

    /// The longest threshold the rule counts: `i64::MAX` seconds, as the
    /// kernel's times are `i64` seconds. A longer one counts as this one.
    pub const MAX_OLDER_THAN: Duration = Duration::from_secs(i64::MAX as u64);

    /// The rule with this threshold, now.
    pub fn new(older_than: Duration) -> Rule {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, saturating_seconds);
        Rule { older_than, now }
    }

    /// The threshold in whole seconds, saturated at [`Rule::MAX_OLDER_THAN`]:
    /// a longer threshold keeps more, never less (a cast once wrapped
    /// `Duration::MAX` to -1 and made everything abandoned).
    pub fn older_than_seconds(&self) -> i64 {
        saturating_seconds(self.older_than)
    }
}

/// Whole seconds of `d` as an `i64`, `i64::MAX` when they do not fit.
fn saturating_seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl Default for Rule {
    fn default() -> Rule {
        Rule::new(Rule::DEFAULT_OLDER_THAN)
    }
}

/// An object's class, the reason in words, and the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub class: Class,
    /// Why, in words a person can check against `ipcs` and `ps`.
    pub reason: String,
    /// Every pid the object records, and what became of each (one entry per
    /// distinct pid of a semaphore set).
    pub pids: Vec<PidCheck>,
    /// Seconds since anything happened to it (see [`Object::last_activity`]).
    pub idle_seconds: i64,
}

impl Verdict {
    /// What became of the process recorded as `pid`, if the object records it.
    pub fn state_of(&self, pid: i32) -> Option<PidState> {
        self.pids
            .iter()
            .find(|check| check.pid == pid && pid != 0)
            .map(|check| check.state)
    }

    /// What became of the process in `role`, if the object records one.
    pub fn state_in(&self, role: PidRole) -> Option<PidState> {
        self.pids
            .iter()
            .find(|check| check.role == role)
            .map(|check| check.state)
    }
}

/// Sorts `object` into its class by `rule`, judging its pids through `/proc`.
pub fn classify(object: &Object, rule: &Rule) -> Verdict {
    classify_with(object, rule, &SystemProcesses::new())
}

/// [`classify`] with the processes judged by `processes`.
pub(crate) fn classify_with(object: &Object, rule: &Rule, processes: &dyn Processes) -> Verdict {
    let idle_seconds = (rule.now - object.last_activity()).max(0);
    let (class, reason, pids) = match object {
        Object::Segment(s) => segment(s, rule, idle_seconds, processes),
        Object::SemaphoreSet(s) => semaphore_set(s, rule, idle_seconds, processes),
        Object::MessageQueue(q) => queue(q, rule, idle_seconds, processes),
    };
    Verdict {
        class,
        reason,
        pids,
        idle_seconds,
    }
}

type Judged = (Class, String, Vec<PidCheck>);

fn check(role: PidRole, pid: i32, used_at: i64, processes: &dyn Processes) -> PidCheck {
    let state = if pid <= 0 {
        PidState::Hidden
    } else {
        processes.judge(pid, used_at)
    };
    PidCheck { role, pid, state }
}

/// `2 min`, `3 h`: a span of seconds in the largest whole unit.
pub(crate) fn span(seconds: i64) -> String {
    match seconds.max(0) {
        s @ 0..=119 => format!("{s} s"),
        s @ 120..=7199 => format!("{} min", s / 60),
        s @ 7200..=172_799 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// `its user detaches`, `its 2 users detach`.
pub(crate) fn users_detach(n: u64) -> String {
    if n == 1 {
        "its user detaches".into()
    } else {
        format!("its {n} users detach")
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The class of an object that nothing holds now, from its recorded pids:
/// idle if one runs, unknown if one cannot be told, else recent or abandoned by age.
fn by_pids(
    pids: &[PidCheck],
    not_in_use: &str,
    rule: &Rule,
    idle_seconds: i64,
    extra: &str,
) -> (Class, String) {
    if let Some(running) = pids.iter().find(|c| c.state == PidState::Running) {
        return (
            Class::Idle,
            format!("{not_in_use}, but {running} still runs{extra}"),
        );
    }
    if let Some(hidden) = pids.iter().find(|c| c.state == PidState::Hidden) {
        return (
            Class::Unknown,
            format!(
                "{not_in_use}, and {hidden} cannot be checked: kept, as it may still run{extra}"
            ),
        );
    }
    if let Some(unknown) = pids.iter().find(|c| c.state == PidState::Unknown) {
        return (
            Class::Unknown,
            format!(
                "{not_in_use}, and whether {unknown} still runs cannot be told (its /proc entry is hidden from this user, or this /proc is another PID namespace's): kept, as it may still run{extra}"
            ),
        );
    }
    let gone = gone_list(pids);
    let threshold = rule.older_than_seconds();
    if idle_seconds < threshold {
        (
            Class::Recent,
            format!(
                "{not_in_use} and {gone}, but it was last used {} ago, less than {}: kept, \
                 as it may be waiting for a reader{extra}",
                span(idle_seconds),
                span(threshold)
            ),
        )
    } else {
        (
            Class::Abandoned,
            format!(
                "{not_in_use}, {gone}, and it was last used {} ago{extra}",
                span(idle_seconds)
            ),
        )
    }
}

/// `its creator (pid 12) and its last user (pid 13) are gone`; one process
/// in two roles is named once: `its creator and last user (pid 12) is gone`.
fn gone_list(pids: &[PidCheck]) -> String {
    let mut processes: Vec<(Vec<String>, &PidCheck)> = Vec::new();
    for check in pids {
        let role = check.role.to_string();
        match processes.iter_mut().find(|(_, c)| c.pid == check.pid) {
            // `its creator and last user`: the second role without its `its`.
            Some((roles, _)) => roles.push(role.strip_prefix("its ").unwrap_or(&role).to_string()),
            None => processes.push((vec![role], check)),
        }
    }
    let names: Vec<String> = processes
        .iter()
        .map(|(roles, check)| {
            let pid = match check.state {
                PidState::Reused => format!("pid {}, now taken by a later process", check.pid),
                _ => format!("pid {}", check.pid),
            };
            format!("{} ({pid})", roles.join(" and "))
        })
        .collect();
    match names.as_slice() {
        [] => "no process is recorded".into(),
        [one] => format!("{one} is gone"),
        [rest @ .., last] => format!("{} and {last} are gone", rest.join(", ")),
    }
}

fn segment(s: &SegmentEntry, rule: &Rule, idle_seconds: i64, p: &dyn Processes) -> Judged {
    let info = &s.info;
    let mut pids = vec![check(PidRole::Creator, info.cpid, info.ctime, p)];
    let attached_once = info.atime != 0 || info.dtime != 0 || info.lpid != 0;
    if attached_once {
        let last_use = info.atime.max(info.dtime);
        if info.lpid == info.cpid && info.lpid != 0 {
            // One process: judged once, at the later of its two times.
            let later = check(PidRole::LastUser, info.lpid, last_use.max(info.ctime), p);
            pids[0].state = later.state;
            pids.push(later);
        } else {
            pids.push(check(PidRole::LastUser, info.lpid, last_use, p));
        }
    }
    let (class, reason) = if info.marked_for_removal {
        (
            Class::MarkedForRemoval,
            format!(
                "removed, but still attached: it is freed when {}",
                users_detach(info.nattch)
            ),
        )
    } else if info.nattch > 0 {
        (
            Class::InUse,
            format!("attached {} now", plural(info.nattch, "time", "times")),
        )
    } else if !attached_once {
        (
            Class::Unused,
            format!(
                "never attached since it was made {} ago: kept, as a segment made to be opened \
                 later (by ipcmk, say) looks the same",
                span(rule.now - info.ctime)
            ),
        )
    } else {
        by_pids(&pids, "nothing attaches it", rule, idle_seconds, "")
    };
    (class, reason, pids)
}

fn semaphore_set(
    s: &SemaphoreSetEntry,
    rule: &Rule,
    idle_seconds: i64,
    p: &dyn Processes,
) -> Judged {
    let used_at = s.otime.max(s.ctime);
    let Some(semaphores) = &s.semaphores else {
        let (class, reason) = if s.otime == 0 {
            (Class::Unused, unused_set(s, rule))
        } else {
            (
                Class::Unknown,
                "this user may not read its semaphores, so their last users are unknown: kept"
                    .to_string(),
            )
        };
        return (class, reason, Vec::new());
    };
    let mut pids: Vec<PidCheck> = Vec::new();
    for (number, semaphore) in semaphores.iter().enumerate() {
        if semaphore.pid != 0 && !pids.iter().any(|c| c.pid == semaphore.pid) {
            pids.push(check(
                PidRole::LastOperator(number as u32),
                semaphore.pid,
                used_at,
                p,
            ));
        }
    }
    let waiting: u64 = semaphores
        .iter()
        .map(|s| u64::from(s.waiting_for_increase) + u64::from(s.waiting_for_zero))
        .sum();
    let never_changed = semaphores.iter().position(|s| s.pid == 0);
    let (class, reason) = if waiting > 0 {
        (
            Class::InUse,
            format!(
                "{} waiting on it",
                plural(waiting, "process is", "processes are")
            ),
        )
    } else if s.otime == 0 {
        (Class::Unused, unused_set(s, rule))
    } else if let (Some(number), false) = (
        never_changed,
        pids.iter().any(|c| c.state == PidState::Running),
    ) {
        let role = PidRole::LastOperator(number as u32);
        pids.push(PidCheck {
            role,
            pid: 0,
            state: PidState::Hidden,
        });
        (
            Class::Unknown,
            format!(
                "no process waits on it, and semaphore {number} records no last user: it was \
                 never changed, or changed by a process of another PID namespace: kept"
            ),
        )
    } else {
        by_pids(&pids, "no process waits on it", rule, idle_seconds, "")
    };
    (class, reason, pids)
}

fn unused_set(s: &SemaphoreSetEntry, rule: &Rule) -> String {
    format!(
        "no process has used it (semop) since it was made {} ago: kept, as a set made to be \
         used later (by ipcmk, say) looks the same",
        span(rule.now - s.ctime)
    )
}

fn queue(q: &QueueEntry, rule: &Rule, idle_seconds: i64, p: &dyn Processes) -> Judged {
    let mut pids = Vec::new();
    if q.stime != 0 {
        pids.push(check(PidRole::LastSender, q.last_sender, q.stime, p));
    }
    if q.rtime != 0 {
        pids.push(check(PidRole::LastReceiver, q.last_receiver, q.rtime, p));
    }
    let (class, reason) = if pids.is_empty() {
        (
            Class::Unused,
            format!(
                "nothing was sent to or received from it since it was made {} ago: kept, as a \
                 queue made to be used later (by ipcmk, say) looks the same",
                span(rule.now - q.ctime)
            ),
        )
    } else {
        let holds = if q.messages > 0 {
            format!(
                "; it holds {} ({})",
                plural(q.messages, "message", "messages"),
                plural(q.bytes, "byte", "bytes")
            )
        } else {
            String::new()
        };
        by_pids(
            &pids,
            "no process is known to use it",
            rule,
            idle_seconds,
            &holds,
        )
    };
    (class, reason, pids)
}

/// What [`remove_if_abandoned`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// It was still abandoned, and is removed.
    Removed,
    /// It is no longer abandoned (attached again, used again...): left, with its new verdict.
    Kept(Verdict),
    /// It was gone already (removed by someone else, or its id now names another object).
    Gone,
}

/// Removes `object` if it is still abandoned by `rule`: reads it again by id,
/// checks that it is the same object and classifies it again, right before
/// `IPC_RMID`. A small window remains between that check and the removal
/// (the kernel has no "remove if unattached"): a segment attached in it is
/// only marked, and stays usable until it is detached.
pub fn remove_if_abandoned(object: &Object, rule: &Rule) -> Result<Removal> {
    let Some(now) = find(object.kind(), object.id())? else {
        return Ok(Removal::Gone);
    };
    if !now.same_object(object) {
        return Ok(Removal::Gone);
    }
    let verdict = classify(&now, rule);
    if verdict.class != Class::Abandoned {
        return Ok(Removal::Kept(verdict));
    }
    match remove(object.kind(), object.id()) {
        Ok(()) => Ok(Removal::Removed),
        Err(error) if matches!(error.errno(), libc::EINVAL | libc::EIDRM) => Ok(Removal::Gone),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Memory, Owner, SemaphoreEntry};
    use super::*;
    use crate::flags::Mode;
    use crate::key::Key;
    use crate::segment::SegmentInfo;
    use std::collections::HashMap;

    const NOW: i64 = 1_800_000_000;

    /// Processes by pid; any other pid is gone.
    struct Table(HashMap<i32, PidState>);

    impl Processes for Table {
        fn judge(&self, pid: i32, _used_at: i64) -> PidState {
            self.0.get(&pid).copied().unwrap_or(PidState::Gone)
        }
    }

    fn running(pids: &[i32]) -> Table {
        Table(pids.iter().map(|&p| (p, PidState::Running)).collect())
    }

    fn rule() -> Rule {
        Rule {
            older_than: Duration::from_secs(600),
            now: NOW,
        }
    }

    fn segment(cpid: i32, lpid: i32, nattch: u64, last_use: i64) -> Object {
        Object::Segment(SegmentEntry {
            id: 1,
            info: SegmentInfo {
                key: Key::from_raw(0x1234),
                size: 4096,
                mode: Mode::OWNER_RW,
                uid: 0,
                gid: 0,
                cuid: 0,
                cgid: 0,
                cpid,
                lpid,
                nattch,
                atime: last_use,
                dtime: last_use,
                ctime: NOW - 86400,
                marked_for_removal: false,
                locked: false,
            },
            memory: Some(Memory::default()),
        })
    }

    fn class(object: &Object, processes: &Table) -> Class {
        classify_with(object, &rule(), processes).class
    }

    #[test]
    fn a_segment_attached_then_left_by_dead_processes_is_abandoned_once_old() {
        let old = segment(10, 11, 0, NOW - 3600);
        let verdict = classify_with(&old, &rule(), &running(&[]));
        assert_eq!(verdict.class, Class::Abandoned);
        assert!(
            verdict
                .reason
                .contains("its creator (pid 10) and its last user (pid 11) are gone"),
            "{}",
            verdict.reason
        );
        assert_eq!(verdict.state_in(PidRole::Creator), Some(PidState::Gone));
        assert_eq!(
            class(&segment(10, 11, 0, NOW - 60), &running(&[])),
            Class::Recent
        );
    }

    #[test]
    fn a_running_creator_or_last_user_keeps_a_segment_idle() {
        assert_eq!(
            class(&segment(10, 11, 0, NOW - 3600), &running(&[10])),
            Class::Idle
        );
        assert_eq!(
            class(&segment(10, 11, 0, NOW - 3600), &running(&[11])),
            Class::Idle
        );
    }

    #[test]
    fn a_never_attached_segment_is_unused_whoever_made_it() {
        let never = segment(10, 0, 0, 0);
        let verdict = classify_with(&never, &rule(), &running(&[]));
        assert_eq!(verdict.class, Class::Unused);
        assert!(verdict.reason.contains("ipcmk"), "{}", verdict.reason);
    }

    #[test]
    fn attached_and_marked_segments_are_in_use_or_marked() {
        assert_eq!(class(&segment(10, 11, 2, NOW), &running(&[])), Class::InUse);
        let Object::Segment(mut marked) = segment(10, 11, 2, NOW) else {
            unreachable!()
        };
        marked.info.marked_for_removal = true;
        let verdict = classify_with(&Object::Segment(marked), &rule(), &running(&[]));
        assert_eq!(verdict.class, Class::MarkedForRemoval);
        assert!(verdict.reason.contains("freed when its 2 users detach"));
    }

    #[test]
    fn a_hidden_or_uninspectable_pid_makes_a_segment_unknown() {
        assert_eq!(
            class(&segment(0, 11, 0, NOW - 3600), &running(&[])),
            Class::Unknown
        );
        let hidden_user = classify_with(&segment(10, 0, 0, NOW - 3600), &rule(), &running(&[]));
        assert_eq!(hidden_user.class, Class::Unknown);
        assert!(hidden_user.reason.contains("another PID namespace"));
        let table = Table([(11, PidState::Unknown)].into_iter().collect());
        assert_eq!(
            class(&segment(10, 11, 0, NOW - 3600), &table),
            Class::Unknown
        );
        // A reused pid counts as gone.
        let table = Table([(11, PidState::Reused)].into_iter().collect());
        let verdict = classify_with(&segment(10, 11, 0, NOW - 3600), &rule(), &table);
        assert_eq!(verdict.class, Class::Abandoned);
        assert!(verdict.reason.contains("now taken by a later process"));
        let one = classify_with(&segment(10, 10, 0, NOW - 3600), &rule(), &running(&[]));
        assert!(
            one.reason
                .contains("its creator and last user (pid 10) is gone"),
            "{}",
            one.reason
        );
    }

    fn set(otime: i64, semaphores: Option<Vec<(i32, u32)>>) -> Object {
        Object::SemaphoreSet(SemaphoreSetEntry {
            id: 2,
            key: Key::PRIVATE,
            owner: Owner {
                uid: 0,
                gid: 0,
                cuid: 0,
                cgid: 0,
                mode: 0o600,
            },
            nsems: semaphores.as_ref().map_or(1, |s| s.len() as u32),
            otime,
            ctime: NOW - 86400,
            semaphores: semaphores.map(|list| {
                list.into_iter()
                    .map(|(pid, waiting)| SemaphoreEntry {
                        value: 0,
                        pid,
                        waiting_for_increase: waiting,
                        waiting_for_zero: 0,
                    })
                    .collect()
            }),
        })
    }

    #[test]
    fn semaphore_sets_follow_their_own_fields() {
        let none = running(&[]);
        assert_eq!(
            class(&set(0, Some(vec![(0, 0), (0, 0)])), &none),
            Class::Unused
        );
        assert_eq!(class(&set(0, Some(vec![(0, 1)])), &none), Class::InUse);
        assert_eq!(
            class(&set(NOW - 3600, Some(vec![(20, 0)])), &none),
            Class::Abandoned
        );
        assert_eq!(
            class(&set(NOW - 60, Some(vec![(20, 0)])), &none),
            Class::Recent
        );
        assert_eq!(
            class(&set(NOW - 3600, Some(vec![(20, 0)])), &running(&[20])),
            Class::Idle
        );
        assert_eq!(
            class(&set(NOW - 3600, Some(vec![(20, 0), (0, 0)])), &none),
            Class::Unknown,
            "a semaphore without a recorded user may have one in another namespace"
        );
        assert_eq!(class(&set(NOW - 3600, None), &none), Class::Unknown);
        assert_eq!(class(&set(0, None), &none), Class::Unused);
    }

    fn queue_of(sender: i32, stime: i64, receiver: i32, rtime: i64, messages: u64) -> Object {
        Object::MessageQueue(QueueEntry {
            id: 3,
            key: Key::PRIVATE,
            owner: Owner {
                uid: 0,
                gid: 0,
                cuid: 0,
                cgid: 0,
                mode: 0o600,
            },
            bytes: messages * 10,
            messages,
            max_bytes: 16384,
            last_sender: sender,
            last_receiver: receiver,
            stime,
            rtime,
            ctime: NOW - 86400,
        })
    }

    #[test]
    fn queues_follow_their_senders_and_receivers() {
        let none = running(&[]);
        assert_eq!(class(&queue_of(0, 0, 0, 0, 0), &none), Class::Unused);
        let left = classify_with(&queue_of(30, NOW - 3600, 0, 0, 2), &rule(), &none);
        assert_eq!(left.class, Class::Abandoned);
        assert!(
            left.reason.contains("it holds 2 messages (20 bytes)"),
            "{}",
            left.reason
        );
        assert_eq!(
            class(
                &queue_of(30, NOW - 3600, 31, NOW - 3500, 0),
                &running(&[31])
            ),
            Class::Idle
        );
        assert_eq!(
            class(&queue_of(0, NOW - 3600, 0, 0, 1), &none),
            Class::Unknown
        );
    }

    /// A threshold past `i64::MAX` seconds once wrapped to a negative one,
    /// and a segment long left became abandoned: it saturates instead.
    #[test]
    fn the_longest_threshold_keeps_everything_recent() {
        let left = segment(10, 11, 0, NOW - 3600);
        for older_than in [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            Duration::from_secs(1 << 63),
        ] {
            let rule = Rule {
                older_than,
                now: NOW,
            };
            let verdict = classify_with(&left, &rule, &running(&[]));
            assert_eq!(
                verdict.class,
                Class::Recent,
                "{older_than:?}: {}",
                verdict.reason
            );
        }
        let ancient = segment(10, 11, 0, 1);
        let rule = Rule {
            older_than: Duration::MAX,
            now: i64::MAX,
        };
        assert_eq!(
            classify_with(&ancient, &rule, &running(&[])).class,
            Class::Recent
        );
    }

    #[test]
    fn class_names_round_trip_and_only_abandoned_is_removed() {
        for class in Class::ALL {
            assert_eq!(Class::from_name(class.name()), Some(class));
            assert_eq!(class.kept(), class != Class::Abandoned);
        }
        assert_eq!(Class::from_name("in-use"), Some(Class::InUse));
        assert_eq!(Class::InUse.to_string(), "in use");
        assert_eq!(span(59), "59 s");
        assert_eq!(span(600), "10 min");
        assert_eq!(span(7200), "2 h");
        assert_eq!(span(3 * 86400), "3 days");
    }
}
