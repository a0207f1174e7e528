//! Reading the objects of each kind from the kernel's tables (`SHM_STAT_ANY`,
//! `SEM_STAT_ANY`, `MSG_STAT_ANY` at each index up to the highest in use),
//! finding one by id or key, and removing one (`IPC_RMID`).

use super::limits::{queue_usage, semaphore_usage};
use super::{
    Kind, Memory, Object, Owner, QueueEntry, SegmentEntry, SemaphoreEntry, SemaphoreSetEntry,
};
use crate::error::{msg, Call, Errno, Error, Message, Result};
use crate::key::Key;
use crate::segment::Segment;
use crate::sys;
use std::collections::HashMap;
use std::mem::MaybeUninit;

/// `MSG_STAT_ANY` (Linux 4.17): `MSG_STAT` without the read-permission check.
const MSG_STAT_ANY: i32 = 13;
/// `SEM_STAT_ANY` (Linux 4.17): `SEM_STAT` without the read-permission check.
const SEM_STAT_ANY: i32 = 20;

/// Every object of `kind` in this IPC namespace, by table index. An object
/// removed while the table is read is left out.
pub fn list(kind: Kind) -> Result<Vec<Object>> {
    match kind {
        Kind::Segment => segments(),
        Kind::SemaphoreSet => semaphore_sets(),
        Kind::MessageQueue => queues(),
    }
}

/// The object of `kind` with id `id`, if there is one (it needs no read permission).
pub fn find(kind: Kind, id: i32) -> Result<Option<Object>> {
    if id < 0 {
        return Ok(None);
    }
    // The index is the id's low bits (15, or 24 with ipcmni_extend): try those first.
    for index in [id & 0x7fff, id & 0xff_ffff] {
        if let Some(object) = at_index(kind, index)? {
            if object.id() == id {
                return Ok(Some(object));
            }
        }
    }
    Ok(list(kind)?.into_iter().find(|object| object.id() == id))
}

/// The object of `kind` with key `key` (never [`Key::PRIVATE`], which names none), if there is one.
pub fn find_key(kind: Kind, key: Key) -> Result<Option<Object>> {
    if key == Key::PRIVATE {
        return Ok(None);
    }
    Ok(list(kind)?.into_iter().find(|object| object.key() == key))
}

/// `IPC_RMID` on the object of `kind` with id `id`. A segment goes when its
/// last attachment does; a semaphore set or a queue goes at once (processes
/// waiting on it are woken with `EIDRM`, queued messages are lost).
pub fn remove(kind: Kind, id: i32) -> Result<()> {
    match kind {
        Kind::Segment => Segment::from_id(id).remove(),
        Kind::SemaphoreSet => {
            // SAFETY: IPC_RMID takes no argument.
            unsafe { sys::semctl_at(id, 0, libc::IPC_RMID, 0) }
                .map(drop)
                .map_err(|errno| explain_remove(errno, kind, id))
        }
        Kind::MessageQueue => {
            // SAFETY: IPC_RMID takes no buffer.
            unsafe { sys::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) }
                .map(drop)
                .map_err(|errno| explain_remove(errno, kind, id))
        }
    }
}

#[cold]
#[inline(never)]
fn explain_remove(errno: Errno, kind: Kind, id: i32) -> Error {
    let call = match kind {
        Kind::SemaphoreSet => Call::Other(msg!("semctl(semid={}, semnum=0, cmd=IPC_RMID)", id)),
        _ => Call::Other(msg!("msgctl(msqid={}, cmd=IPC_RMID, buf=NULL)", id)),
    };
    let reason: Message = match (errno.raw(), kind) {
        (libc::EINVAL | libc::EIDRM, Kind::SemaphoreSet) => {
            msg!("no semaphore set has id {}", id)
        }
        (libc::EINVAL | libc::EIDRM, _) => msg!("no message queue has id {}", id),
        (libc::EPERM, Kind::SemaphoreSet) => msg!(
            "only the owner or creator of semaphore set {} (or a process with CAP_SYS_ADMIN) may remove it",
            id
        ),
        (libc::EPERM, _) => msg!(
            "only the owner or creator of message queue {} (or a process with CAP_SYS_ADMIN) may remove it",
            id
        ),
        _ => msg!("the kernel refused to remove it"),
    };
    Error::from_errno(errno, call, reason)
}

/// Whether a failure to read a table slot means only that no object is there
/// (any more): EINVAL for an empty slot, EIDRM for one being removed.
fn empty_slot(error: &Error) -> bool {
    matches!(error.errno(), libc::EINVAL | libc::EIDRM)
}

/// The object at `index` of `kind`'s table, if one is there.
fn at_index(kind: Kind, index: i32) -> Result<Option<Object>> {
    let read = match kind {
        Kind::Segment => Segment::stat_index(index).map(|(segment, info)| {
            Object::Segment(SegmentEntry {
                id: segment.id(),
                info,
                memory: None,
            })
        }),
        Kind::SemaphoreSet => semaphore_set_at(index).map(Object::SemaphoreSet),
        Kind::MessageQueue => queue_at(index).map(Object::MessageQueue),
    };
    match read {
        Ok(object @ Object::Segment(_)) => Ok(Some(with_memory(object, &segment_memory()))),
        Ok(object) => Ok(Some(object)),
        Err(error) if empty_slot(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

fn segments() -> Result<Vec<Object>> {
    let highest = crate::segment::control::usage()?.highest_index;
    let memory = segment_memory();
    let mut found = Vec::new();
    for index in 0..=highest {
        match Segment::stat_index(index) {
            Ok((segment, info)) => found.push(with_memory(
                Object::Segment(SegmentEntry {
                    id: segment.id(),
                    info,
                    memory: None,
                }),
                &memory,
            )),
            Err(error) if empty_slot(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(found)
}

/// A segment's object with its memory from `/proc/sysvipc/shm`.
fn with_memory(object: Object, memory: &HashMap<i32, Memory>) -> Object {
    match object {
        Object::Segment(entry) => Object::Segment(SegmentEntry {
            memory: memory.get(&entry.id).copied(),
            ..entry
        }),
        other => other,
    }
}

/// The resident and swapped bytes of each segment, by id, from
/// `/proc/sysvipc/shm` (the one place the kernel reports them); empty when unreadable.
fn segment_memory() -> HashMap<i32, Memory> {
    let Ok(text) = std::fs::read_to_string("/proc/sysvipc/shm") else {
        return HashMap::new();
    };
    parse_segment_memory(&text)
}

/// The rss and swap columns (15 and 16) of `/proc/sysvipc/shm` by shmid (column 2).
fn parse_segment_memory(text: &str) -> HashMap<i32, Memory> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let id = fields.get(1)?.parse().ok()?;
            let resident = fields.get(14)?.parse().ok()?;
            let swapped = fields.get(15)?.parse().ok()?;
            Some((id, Memory { resident, swapped }))
        })
        .collect()
}

fn owner_of(perm: &libc::ipc_perm) -> Owner {
    Owner {
        uid: perm.uid,
        gid: perm.gid,
        cuid: perm.cuid,
        cgid: perm.cgid,
        mode: u32::from(perm.mode) & 0o777,
    }
}

fn semaphore_sets() -> Result<Vec<Object>> {
    let highest = semaphore_usage()?.highest_index;
    let mut found = Vec::new();
    for index in 0..=highest {
        match semaphore_set_at(index) {
            Ok(set) => found.push(Object::SemaphoreSet(set)),
            Err(error) if empty_slot(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(found)
}

/// `SEM_STAT_ANY` at `index`, then each semaphore's value, last pid and waiters.
fn semaphore_set_at(index: i32) -> Result<SemaphoreSetEntry> {
    let mut ds = MaybeUninit::<libc::semid_ds>::zeroed();
    // SAFETY: ds is a writable semid_ds, the structure SEM_STAT_ANY fills.
    let id = unsafe { sys::semctl_at(index, 0, SEM_STAT_ANY, ds.as_mut_ptr() as usize) }
        .map_err(|errno| explain_stat(errno, Kind::SemaphoreSet, index))?;
    // SAFETY: zeroed is a valid semid_ds, and the kernel filled it.
    let ds = unsafe { ds.assume_init() };
    let nsems = ds.sem_nsems as u32;
    let semaphores = match semaphores_of(id, nsems) {
        Ok(semaphores) => Some(semaphores),
        // Removed between the two reads: as if it had not been there.
        Err(errno) if matches!(errno.raw(), libc::EINVAL | libc::EIDRM) => {
            return Err(explain_stat(errno, Kind::SemaphoreSet, index));
        }
        // No read permission (or anything else): the set is listed without them.
        Err(_) => None,
    };
    Ok(SemaphoreSetEntry {
        id,
        key: Key::from_raw(ds.sem_perm.__key),
        owner: owner_of(&ds.sem_perm),
        nsems,
        otime: ds.sem_otime,
        ctime: ds.sem_ctime,
        semaphores,
    })
}

/// Each semaphore of set `id`: `GETALL`, then `GETPID`, `GETNCNT` and `GETZCNT` of each.
fn semaphores_of(id: i32, nsems: u32) -> std::result::Result<Vec<SemaphoreEntry>, Errno> {
    let mut values = vec![0u16; nsems as usize];
    // SAFETY: values holds nsems unsigned shorts, what GETALL writes.
    unsafe { sys::semctl_at(id, 0, libc::GETALL, values.as_mut_ptr() as usize) }?;
    let mut semaphores = Vec::with_capacity(values.len());
    for (number, value) in values.into_iter().enumerate() {
        let number = number as i32;
        // SAFETY: GETPID, GETNCNT and GETZCNT take no argument.
        let (pid, ncnt, zcnt) = unsafe {
            (
                sys::semctl_at(id, number, libc::GETPID, 0)?,
                sys::semctl_at(id, number, libc::GETNCNT, 0)?,
                sys::semctl_at(id, number, libc::GETZCNT, 0)?,
            )
        };
        semaphores.push(SemaphoreEntry {
            value,
            pid,
            waiting_for_increase: ncnt as u32,
            waiting_for_zero: zcnt as u32,
        });
    }
    Ok(semaphores)
}

fn queues() -> Result<Vec<Object>> {
    let highest = queue_usage()?.highest_index;
    let mut found = Vec::new();
    for index in 0..=highest {
        match queue_at(index) {
            Ok(queue) => found.push(Object::MessageQueue(queue)),
            Err(error) if empty_slot(&error) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(found)
}

/// `MSG_STAT_ANY` at `index`.
fn queue_at(index: i32) -> Result<QueueEntry> {
    let mut ds = MaybeUninit::<libc::msqid_ds>::zeroed();
    // SAFETY: ds is a writable msqid_ds, the structure MSG_STAT_ANY fills.
    let id = unsafe { sys::msgctl(index, MSG_STAT_ANY, ds.as_mut_ptr().cast()) }
        .map_err(|errno| explain_stat(errno, Kind::MessageQueue, index))?;
    // SAFETY: zeroed is a valid msqid_ds, and the kernel filled it.
    let ds = unsafe { ds.assume_init() };
    Ok(QueueEntry {
        id,
        key: Key::from_raw(ds.msg_perm.__key),
        owner: owner_of(&ds.msg_perm),
        bytes: ds.__msg_cbytes,
        messages: ds.msg_qnum,
        max_bytes: ds.msg_qbytes,
        last_sender: ds.msg_lspid,
        last_receiver: ds.msg_lrpid,
        stime: ds.msg_stime,
        rtime: ds.msg_rtime,
        ctime: ds.msg_ctime,
    })
}

#[cold]
#[inline(never)]
fn explain_stat(errno: Errno, kind: Kind, index: i32) -> Error {
    let call = match kind {
        Kind::SemaphoreSet => Call::Other(msg!(
            "semctl(semid={}, semnum=0, cmd=SEM_STAT_ANY, arg=&semid_ds)",
            index
        )),
        _ => Call::Other(msg!(
            "msgctl(msqid={}, cmd=MSG_STAT_ANY, buf=&msqid_ds)",
            index
        )),
    };
    let reason: Message = match errno.raw() {
        libc::EINVAL => msg!("nothing is at index {} of the table", index),
        libc::EIDRM => msg!("the object at index {} was just removed", index),
        libc::EACCES | libc::EPERM => msg!("the kernel does not let this process list it"),
        _ => msg!("the kernel refused to report it"),
    };
    Error::from_errno(errno, call, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_columns_of_proc_sysvipc_shm_are_read() {
        let text = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap\n\
                    1090519040      32769  1600                  4096  1234  1235      0     0     0     0     0 1700000000          0 1700000000                  4096                     8\n";
        let memory = parse_segment_memory(text);
        assert_eq!(
            memory.get(&32769),
            Some(&Memory {
                resident: 4096,
                swapped: 8
            })
        );
        assert_eq!(memory.len(), 1);
    }
}
