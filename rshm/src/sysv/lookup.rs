//! Finding a semaphore set or a message queue by key or by id, without
//! permission to read it (`SEM_STAT_ANY`, `MSG_STAT_ANY`, Linux 4.17): what
//! the explanations of failures know of the object. Error paths only; no
//! allocation (the structures live on the stack).

use crate::error::{MSG_INFO, MSG_STAT_ANY, SEM_INFO, SEM_STAT_ANY};
use crate::sys;
use libc::{c_int, c_void, key_t};

/// The table index of an id: the low 15 bits (IPCMNI), or 24 with `ipcmni_extend`.
const INDEX_MASKS: [c_int; 2] = [0x7fff, 0xff_ffff];

fn sem_stat_any(index: c_int) -> Option<(c_int, libc::semid_ds)> {
    // SAFETY: all-zero is a valid semid_ds.
    let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: ds is a writable semid_ds, the structure SEM_STAT_ANY fills.
    let id = unsafe {
        sys::semctl_raw(
            index,
            0,
            SEM_STAT_ANY,
            &mut ds as *mut libc::semid_ds as usize,
        )
    }
    .ok()?;
    Some((id, ds))
}

fn msg_stat_any(index: c_int) -> Option<(c_int, libc::msqid_ds)> {
    // SAFETY: all-zero is a valid msqid_ds.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: ds is a writable msqid_ds, the structure MSG_STAT_ANY fills.
    let id = unsafe {
        sys::msgctl_raw(
            index,
            MSG_STAT_ANY,
            (&mut ds as *mut libc::msqid_ds).cast::<c_void>(),
        )
    }
    .ok()?;
    Some((id, ds))
}

/// The highest index in use in the semaphore table (`SEM_INFO`).
fn highest_set_index() -> c_int {
    // SAFETY: all-zero is a valid seminfo.
    let mut info: libc::seminfo = unsafe { std::mem::zeroed() };
    // SAFETY: info is a writable seminfo, the structure SEM_INFO fills.
    unsafe { sys::semctl_raw(0, 0, SEM_INFO, &mut info as *mut libc::seminfo as usize) }
        .unwrap_or(-1)
}

/// The highest index in use in the queue table (`MSG_INFO`).
fn highest_queue_index() -> c_int {
    let mut info = [0u8; 64]; // struct msginfo is 32 bytes
                              // SAFETY: info is writable and larger than the msginfo MSG_INFO fills.
    unsafe { sys::msgctl_raw(0, MSG_INFO, info.as_mut_ptr().cast()) }.unwrap_or(-1)
}

/// The semaphore set with id `id`, if it exists now.
pub(super) fn set_with_id(id: c_int) -> Option<libc::semid_ds> {
    if id < 0 {
        return None;
    }
    INDEX_MASKS
        .iter()
        .filter_map(|mask| sem_stat_any(id & mask))
        .find(|&(found, _)| found == id)
        .map(|(_, ds)| ds)
}

/// The semaphore set with key `key` (never `IPC_PRIVATE`'s), with its id.
pub(super) fn set_with_key(key: key_t) -> Option<(c_int, libc::semid_ds)> {
    if key == libc::IPC_PRIVATE {
        return None;
    }
    (0..=highest_set_index())
        .filter_map(sem_stat_any)
        .find(|(_, ds)| ds.sem_perm.__key == key)
}

/// The message queue with id `id`, if it exists now.
pub(super) fn queue_with_id(id: c_int) -> Option<libc::msqid_ds> {
    if id < 0 {
        return None;
    }
    INDEX_MASKS
        .iter()
        .filter_map(|mask| msg_stat_any(id & mask))
        .find(|&(found, _)| found == id)
        .map(|(_, ds)| ds)
}

/// The message queue with key `key` (never `IPC_PRIVATE`'s), with its id.
pub(super) fn queue_with_key(key: key_t) -> Option<(c_int, libc::msqid_ds)> {
    if key == libc::IPC_PRIVATE {
        return None;
    }
    (0..=highest_queue_index())
        .filter_map(msg_stat_any)
        .find(|(_, ds)| ds.msg_perm.__key == key)
}
