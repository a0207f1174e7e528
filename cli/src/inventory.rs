//! The objects of this IPC namespace with their verdicts, from the Rust API
//! (`rshm::ipc`): the command only filters and renders them.

use crate::render::{count, human, Names};
use rshm::ipc::{self, Kind, Object, Rule, Verdict};

/// An object and its class, as one listing saw them.
#[derive(Debug, Clone)]
pub struct Listed {
    pub object: Object,
    pub verdict: Verdict,
}

/// Every object of `kinds`, classified by `rule`; or the kind that could not be read.
pub fn gather(kinds: &[Kind], rule: &Rule) -> Result<Vec<Listed>, (Kind, rshm::Error)> {
    let mut listed = Vec::new();
    for &kind in kinds {
        let objects = ipc::list(kind).map_err(|error| (kind, error))?;
        listed.extend(objects.into_iter().map(|object| Listed {
            verdict: ipc::classify(&object, rule),
            object,
        }));
    }
    Ok(listed)
}

/// [`gather`], or None after telling the user which kind could not be listed, and why.
pub fn gather_or_report(kinds: &[Kind], rule: &Rule) -> Option<Vec<Listed>> {
    gather(kinds, rule)
        .map_err(|(kind, error)| {
            crate::fail::report(
                format!("cannot list the {kind}s: {}", error.reason()),
                crate::fail::Cause::Rshm(&error),
            )
        })
        .ok()
}

/// `segment 5 (key 0x41012345, 8.0 KiB)`, `semaphore set 3 (key ..., 2 semaphores)`,
/// `message queue 2 (key ..., 3 messages)`: an object as messages name it.
pub fn describe(object: &Object) -> String {
    let size = match object {
        Object::Segment(s) => human(s.info.size as u64),
        Object::SemaphoreSet(s) => count(u64::from(s.nsems), "semaphore", "semaphores"),
        Object::MessageQueue(q) => count(q.messages, "message", "messages"),
    };
    format!(
        "{} {} (key {}, {size})",
        object.kind(),
        object.id(),
        object.key()
    )
}

/// `owned by nobody (uid 65534)`: who an object belongs to, when that is not the caller.
pub fn owned_by(object: &Object, names: &Names) -> String {
    let owner = object.owner();
    let mut text = format!(
        "it belongs to {} (uid {})",
        names.user(owner.uid),
        owner.uid
    );
    if owner.cuid != owner.uid {
        text.push_str(&format!(
            " and was made by {} (uid {})",
            names.user(owner.cuid),
            owner.cuid
        ));
    }
    text
}
