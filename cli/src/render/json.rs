//! The JSON the command prints, as derived serializers: one type per shape,
//! so that the schema in docs/cli.md is read off these definitions.

use super::Names;
use crate::inventory::Listed;
use rshm::ipc::{Class, Object, PidRole, Verdict};
use serde::Serialize;

/// One object of `ls --json` and `stat --json`: the fields every kind has,
/// then those of its kind.
#[derive(Debug, Serialize)]
pub struct ObjectJson {
    /// `"shm"`, `"sem"` or `"msg"`.
    pub kind: &'static str,
    /// `"0x41012345"`; `"0x00000000"` for `IPC_PRIVATE`.
    pub key: String,
    pub id: i32,
    pub owner: String,
    pub uid: u32,
    pub gid: u32,
    pub creator: String,
    pub cuid: u32,
    pub cgid: u32,
    /// The permission bits in octal, `"0600"`.
    pub mode: String,
    /// Creation or the last change (Unix seconds).
    pub ctime: i64,
    /// The class's name: `in_use`, `marked_for_removal`, `unused`, `idle`,
    /// `unknown`, `recent` or `abandoned`.
    pub class: &'static str,
    pub reason: String,
    /// `class == "abandoned"` (the `orphan` of earlier versions).
    pub orphan: bool,
    /// Seconds since anything happened to it.
    pub idle_seconds: i64,
    #[serde(flatten)]
    pub details: Details,
}

/// The fields of one kind.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Details {
    Shm(ShmJson),
    Sem(SemJson),
    Msg(MsgJson),
}

/// A segment's fields (the names are the kernel's, as in `struct shmid_ds`).
#[derive(Debug, Serialize)]
pub struct ShmJson {
    pub size: u64,
    pub nattch: u64,
    pub cpid: i32,
    pub cpid_state: &'static str,
    pub cpid_alive: bool,
    pub lpid: i32,
    pub lpid_state: &'static str,
    pub lpid_alive: bool,
    pub atime: i64,
    pub dtime: i64,
    pub rss: u64,
    pub swap: u64,
    pub marked_for_removal: bool,
    pub locked: bool,
}

/// A semaphore set's fields.
#[derive(Debug, Serialize)]
pub struct SemJson {
    pub nsems: u32,
    pub otime: i64,
    /// `null` when the caller may not read them.
    pub semaphores: Option<Vec<SemaphoreJson>>,
}

/// One semaphore.
#[derive(Debug, Serialize)]
pub struct SemaphoreJson {
    pub num: u32,
    pub value: u16,
    pub pid: i32,
    pub pid_state: &'static str,
    pub ncnt: u32,
    pub zcnt: u32,
}

/// A message queue's fields (the names are the kernel's, as in `struct msqid_ds`).
#[derive(Debug, Serialize)]
pub struct MsgJson {
    pub qnum: u64,
    pub cbytes: u64,
    pub qbytes: u64,
    pub lspid: i32,
    pub lspid_state: &'static str,
    pub lrpid: i32,
    pub lrpid_state: &'static str,
    pub stime: i64,
    pub rtime: i64,
}

/// The state of the process in `role`: its name, or `none` when the object records none.
fn state(verdict: &Verdict, role: PidRole) -> &'static str {
    verdict.state_in(role).map_or("none", |state| state.name())
}

/// Whether the process in `role` may still run (running, or not visible to this user).
fn alive(verdict: &Verdict, role: PidRole) -> bool {
    matches!(state(verdict, role), "running" | "unknown")
}

/// The JSON of one listed object.
pub fn object(listed: &Listed, names: &Names) -> ObjectJson {
    let Listed { object, verdict } = listed;
    let owner = object.owner();
    let details = match object {
        Object::Segment(s) => {
            let info = &s.info;
            let memory = s.memory.unwrap_or_default();
            Details::Shm(ShmJson {
                size: info.size as u64,
                nattch: info.nattch,
                cpid: info.cpid,
                cpid_state: state(verdict, PidRole::Creator),
                cpid_alive: alive(verdict, PidRole::Creator),
                lpid: info.lpid,
                lpid_state: state(verdict, PidRole::LastUser),
                lpid_alive: alive(verdict, PidRole::LastUser),
                atime: info.atime,
                dtime: info.dtime,
                rss: memory.resident,
                swap: memory.swapped,
                marked_for_removal: info.marked_for_removal,
                locked: info.locked,
            })
        }
        Object::SemaphoreSet(s) => Details::Sem(SemJson {
            nsems: s.nsems,
            otime: s.otime,
            semaphores: s.semaphores.as_ref().map(|semaphores| {
                semaphores
                    .iter()
                    .enumerate()
                    .map(|(num, semaphore)| SemaphoreJson {
                        num: num as u32,
                        value: semaphore.value,
                        pid: semaphore.pid,
                        pid_state: verdict
                            .state_of(semaphore.pid)
                            .map_or("none", |state| state.name()),
                        ncnt: semaphore.waiting_for_increase,
                        zcnt: semaphore.waiting_for_zero,
                    })
                    .collect()
            }),
        }),
        Object::MessageQueue(q) => Details::Msg(MsgJson {
            qnum: q.messages,
            cbytes: q.bytes,
            qbytes: q.max_bytes,
            lspid: q.last_sender,
            lspid_state: state(verdict, PidRole::LastSender),
            lrpid: q.last_receiver,
            lrpid_state: state(verdict, PidRole::LastReceiver),
            stime: q.stime,
            rtime: q.rtime,
        }),
    };
    ObjectJson {
        kind: object.kind().name(),
        key: object.key().to_string(),
        id: object.id(),
        owner: names.user(owner.uid),
        uid: owner.uid,
        gid: owner.gid,
        creator: names.user(owner.cuid),
        cuid: owner.cuid,
        cgid: owner.cgid,
        mode: format!("{:04o}", owner.mode),
        ctime: object.ctime(),
        class: verdict.class.name(),
        reason: verdict.reason.clone(),
        orphan: verdict.class == Class::Abandoned,
        idle_seconds: verdict.idle_seconds,
        details,
    }
}

/// `value` as one line of JSON.
pub fn line<T: Serialize>(value: &T) -> String {
    // Serializing these plain structures cannot fail (no maps with non-string keys).
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}
