//! The System V objects of this IPC namespace, all three kinds: shared memory
//! segments, semaphore sets and message queues, read as `ipcs` reads them, and
//! the rule that tells an abandoned object from one that is kept on purpose.
//!
//! [`list`] reads every object of a [`Kind`] with the `*_STAT_ANY` calls
//! (Linux 4.17 or later), which need no read permission, so the objects of
//! every user are seen. [`classify`] sorts an [`Object`] into a [`Class`] with
//! a reason a person can check, from what the kernel records and nothing
//! else; [`remove_if_abandoned`] checks an object again right before it
//! removes it. Everything here is plain data: no C types in the API.
//!
//! ```
//! use rshm::ipc::{self, Kind, Rule};
//! let rule = Rule::default();
//! for object in ipc::list(Kind::Segment)? {
//!     let verdict = ipc::classify(&object, &rule);
//!     println!("{} {}: {} ({})", object.kind(), object.id(), verdict.class, verdict.reason);
//! }
//! # Ok::<(), rshm::Error>(())
//! ```

mod classify;
mod limits;
mod objects;
mod system;

pub use classify::{
    classify, remove_if_abandoned, Class, PidCheck, PidRole, Removal, Rule, Verdict,
};
pub use limits::{
    queue_limits, queue_usage, semaphore_limits, semaphore_usage, QueueLimits, QueueUsage,
    SemaphoreLimits, SemaphoreUsage,
};
pub use objects::{find, find_key, list, remove};
pub use system::{caller_may_remove, Caller, PidState};

use crate::key::Key;
use crate::segment::SegmentInfo;
use std::fmt;

/// The three kinds of System V IPC object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A shared memory segment (`shmget`).
    Segment,
    /// A semaphore set (`semget`).
    SemaphoreSet,
    /// A message queue (`msgget`).
    MessageQueue,
}

impl Kind {
    /// The three kinds, in the order `ipcs` shows them.
    pub const ALL: [Kind; 3] = [Kind::Segment, Kind::SemaphoreSet, Kind::MessageQueue];

    /// The short name, as `ipcs` and `lsipc` spell the kinds: `shm`, `sem`, `msg`.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Segment => "shm",
            Kind::SemaphoreSet => "sem",
            Kind::MessageQueue => "msg",
        }
    }

    /// The kind in words: `segment`, `semaphore set`, `message queue`.
    pub const fn noun(self) -> &'static str {
        match self {
            Kind::Segment => "segment",
            Kind::SemaphoreSet => "semaphore set",
            Kind::MessageQueue => "message queue",
        }
    }

    /// The kind whose short name or noun is `name` (`shm`, `segment`, `sem`, `msg`, `queue`, ...).
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "shm" | "m" | "segment" | "segments" => Kind::Segment,
            "sem" | "s" | "semaphore" | "semaphores" => Kind::SemaphoreSet,
            "msg" | "q" | "queue" | "queues" => Kind::MessageQueue,
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// Who owns an object and who may use it: what every kind records alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The owner's user and group (changed by `IPC_SET`).
    pub uid: u32,
    pub gid: u32,
    /// The creator's user and group (never change).
    pub cuid: u32,
    pub cgid: u32,
    /// The permission bits, `0o600`.
    pub mode: u32,
}

/// A segment as listed: what `IPC_STAT` reports, and its memory when `/proc` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentEntry {
    pub id: i32,
    pub info: SegmentInfo,
    /// Bytes resident and swapped out (`/proc/sysvipc/shm`), `None` when unreadable.
    pub memory: Option<Memory>,
}

/// The memory a segment takes: bytes resident in RAM and swapped out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Memory {
    pub resident: u64,
    pub swapped: u64,
}

/// A semaphore set as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemaphoreSetEntry {
    pub id: i32,
    pub key: Key,
    pub owner: Owner,
    /// How many semaphores the set holds.
    pub nsems: u32,
    /// The last `semop` on any of its semaphores (0: never). rshm makes one
    /// right after it sets the initial value, so an rshm set that is ready has one.
    pub otime: i64,
    /// Creation, or the last `IPC_SET`, `SETVAL` or `SETALL`.
    pub ctime: i64,
    /// Each semaphore, by number; `None` when the caller may not read them
    /// (`GETALL` and `GETPID` need read permission, unlike the listing).
    pub semaphores: Option<Vec<SemaphoreEntry>>,
}

/// One semaphore of a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SemaphoreEntry {
    pub value: u16,
    /// The last process that changed it (`GETPID`): 0 if none did, or if it
    /// ran in a PID namespace this process cannot see.
    pub pid: i32,
    /// Processes waiting for its value to grow (`GETNCNT`).
    pub waiting_for_increase: u32,
    /// Processes waiting for it to reach zero (`GETZCNT`).
    pub waiting_for_zero: u32,
}

/// A message queue as listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueEntry {
    pub id: i32,
    pub key: Key,
    pub owner: Owner,
    /// Bytes of the messages waiting in it.
    pub bytes: u64,
    /// Messages waiting in it.
    pub messages: u64,
    /// The most bytes it may hold (`msg_qbytes`): senders wait beyond it.
    pub max_bytes: u64,
    /// The last process that sent (`msg_lspid`) and received (`msg_lrpid`), 0 for none.
    pub last_sender: i32,
    pub last_receiver: i32,
    /// The last send and receive (0: never), and creation or the last `IPC_SET`.
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
}

/// One System V object of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    Segment(SegmentEntry),
    SemaphoreSet(SemaphoreSetEntry),
    MessageQueue(QueueEntry),
}

impl Object {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Segment(_) => Kind::Segment,
            Object::SemaphoreSet(_) => Kind::SemaphoreSet,
            Object::MessageQueue(_) => Kind::MessageQueue,
        }
    }

    /// Its id (unique within its kind only: a segment and a queue may share one).
    pub fn id(&self) -> i32 {
        match self {
            Object::Segment(s) => s.id,
            Object::SemaphoreSet(s) => s.id,
            Object::MessageQueue(q) => q.id,
        }
    }

    /// Its key ([`Key::PRIVATE`] for one made with `IPC_PRIVATE`).
    pub fn key(&self) -> Key {
        match self {
            Object::Segment(s) => s.info.key,
            Object::SemaphoreSet(s) => s.key,
            Object::MessageQueue(q) => q.key,
        }
    }

    /// Its owner, creator and permission bits.
    pub fn owner(&self) -> Owner {
        match self {
            Object::Segment(s) => Owner {
                uid: s.info.uid,
                gid: s.info.gid,
                cuid: s.info.cuid,
                cgid: s.info.cgid,
                mode: s.info.mode.bits(),
            },
            Object::SemaphoreSet(s) => s.owner,
            Object::MessageQueue(q) => q.owner,
        }
    }

    /// When it was made, or last changed with `IPC_SET` (and, for a semaphore
    /// set, `SETVAL` or `SETALL`): Unix seconds.
    pub fn ctime(&self) -> i64 {
        match self {
            Object::Segment(s) => s.info.ctime,
            Object::SemaphoreSet(s) => s.ctime,
            Object::MessageQueue(q) => q.ctime,
        }
    }

    /// The last time anything happened to it that the kernel records: attach,
    /// detach, `semop`, send, receive or a change (Unix seconds).
    pub fn last_activity(&self) -> i64 {
        match self {
            Object::Segment(s) => s.info.atime.max(s.info.dtime).max(s.info.ctime),
            Object::SemaphoreSet(s) => s.otime.max(s.ctime),
            Object::MessageQueue(q) => q.stime.max(q.rtime).max(q.ctime),
        }
    }

    /// Whether this is the same object as `other`: same kind, id, key and
    /// creation (an id is reused only after its object is gone).
    pub fn same_object(&self, other: &Object) -> bool {
        self.kind() == other.kind()
            && self.id() == other.id()
            && self.key() == other.key()
            && self.owner().cuid == other.owner().cuid
            && match (self, other) {
                // IPC_SET changes ctime: only the creation-bound fields are compared.
                (Object::Segment(a), Object::Segment(b)) => a.info.size == b.info.size,
                (Object::SemaphoreSet(a), Object::SemaphoreSet(b)) => a.nsems == b.nsems,
                _ => true,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AttachFlags, GetFlags, Mode, Segment, SemaphoreOptions};

    /// Removes the object when dropped, so that a failing test leaves nothing behind.
    struct Removes(Kind, i32);

    impl Drop for Removes {
        fn drop(&mut self) {
            let _ = remove(self.0, self.1);
        }
    }

    fn listed(kind: Kind, id: i32) -> Object {
        let all = list(kind).unwrap();
        let object = all.iter().find(|o| o.id() == id).cloned();
        let object = object.unwrap_or_else(|| panic!("{kind} {id} is not in {all:?}"));
        assert_eq!(find(kind, id).unwrap().as_ref(), Some(&object));
        object
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn a_segment_is_listed_and_classified_as_it_is_used() {
        let segment = Segment::get(Key::PRIVATE, 4096, GetFlags::CREATE, Mode::OWNER_RW).unwrap();
        let _removes = Removes(Kind::Segment, segment.id());
        let rule = Rule::default();
        let object = listed(Kind::Segment, segment.id());
        assert_eq!(object.kind(), Kind::Segment);
        assert_eq!(classify(&object, &rule).class, Class::Unused);
        let attachment = segment.attach(AttachFlags::empty()).unwrap();
        let verdict = classify(&listed(Kind::Segment, segment.id()), &rule);
        assert_eq!(verdict.class, Class::InUse);
        assert_eq!(verdict.state_in(PidRole::Creator), Some(PidState::Running));
        remove(Kind::Segment, segment.id()).unwrap();
        let verdict = classify(&listed(Kind::Segment, segment.id()), &rule);
        assert_eq!(verdict.class, Class::MarkedForRemoval);
        drop(attachment);
        assert_eq!(find(Kind::Segment, segment.id()).unwrap(), None);
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn a_semaphore_set_made_by_rshm_is_listed_with_its_last_user() {
        let semaphore = SemaphoreOptions::new()
            .create(true)
            .initial(2)
            .open()
            .unwrap();
        let _removes = Removes(Kind::SemaphoreSet, semaphore.id());
        let object = listed(Kind::SemaphoreSet, semaphore.id());
        let Object::SemaphoreSet(set) = &object else {
            panic!("{object:?}")
        };
        assert_eq!(set.nsems, 1);
        assert_ne!(set.otime, 0, "rshm stamps sem_otime once it is initialised");
        let me = std::process::id() as i32;
        let semaphores = set.semaphores.as_ref().unwrap();
        assert_eq!((semaphores[0].value, semaphores[0].pid), (2, me));
        let verdict = classify(&object, &Rule::default());
        assert_eq!(verdict.class, Class::Idle, "{}", verdict.reason);
        assert_eq!(verdict.state_of(me), Some(PidState::Running));
        remove(Kind::SemaphoreSet, semaphore.id()).unwrap();
        assert_eq!(find(Kind::SemaphoreSet, semaphore.id()).unwrap(), None);
        let error = remove(Kind::SemaphoreSet, semaphore.id()).unwrap_err();
        assert!(error
            .reason()
            .to_string()
            .contains("no semaphore set has id"));
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot make syscalls")]
    fn a_queue_is_listed_with_its_messages_and_last_sender() {
        let id = crate::sys::msgget(Key::PRIVATE.raw(), libc::IPC_CREAT | 0o600).unwrap();
        let _removes = Removes(Kind::MessageQueue, id);
        assert_eq!(
            classify(&listed(Kind::MessageQueue, id), &Rule::default()).class,
            Class::Unused
        );
        crate::sys::msgsnd(id, b"hello").unwrap();
        let object = listed(Kind::MessageQueue, id);
        let Object::MessageQueue(queue) = &object else {
            panic!("{object:?}")
        };
        assert_eq!((queue.messages, queue.bytes), (1, 5));
        assert_eq!(queue.last_sender, std::process::id() as i32);
        assert!(queue.max_bytes > 0 && queue.stime > 0 && queue.rtime == 0);
        assert_eq!(classify(&object, &Rule::default()).class, Class::Idle);
        // Not abandoned: remove_if_abandoned leaves it.
        let kept = remove_if_abandoned(&object, &Rule::default()).unwrap();
        assert!(matches!(
            kept,
            Removal::Kept(Verdict {
                class: Class::Idle,
                ..
            })
        ));
        remove(Kind::MessageQueue, id).unwrap();
        assert_eq!(
            remove_if_abandoned(&object, &Rule::default()).unwrap(),
            Removal::Gone
        );
    }

    #[test]
    fn kinds_have_names_and_nouns() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(Kind::from_name("queue"), Some(Kind::MessageQueue));
        assert_eq!(Kind::SemaphoreSet.to_string(), "semaphore set");
        assert_eq!(Kind::from_name("nope"), None);
    }
}
