//! The C face of synchronisation: semaphores (`rshm_sem_*`), robust mutexes
//! in a segment (`rshm_mutex_*`) and channels (`rshm_channel_*`). Timeouts are
//! in milliseconds: negative waits forever, 0 does not wait.

use crate::boundary::status_call;
use crate::segment::{
    non_null, options_from_c, require, rshm_options, rshm_segment, rshm_status, segment,
};
use libc::{c_int, c_long, c_void};
use rshm::Error;
use rshm::{Channel, Role, Semaphore};
use std::time::Duration;

/// The bytes a mutex takes in a segment (rshm_mutex_init); its offset must be a multiple of 8.
pub const RSHM_MUTEX_SIZE: usize = 64;
/// The bytes a channel's header takes before its ring.
pub const RSHM_CHANNEL_HEADER_SIZE: usize = 320;
const _: () = assert!(
    RSHM_MUTEX_SIZE == rshm::MUTEX_SIZE && RSHM_CHANNEL_HEADER_SIZE == rshm::CHANNEL_HEADER_SIZE
);
/// rshm_channel_create/open: this end sends.
pub const RSHM_CHANNEL_SENDER: c_int = 0;
/// rshm_channel_create/open: this end receives.
pub const RSHM_CHANNEL_RECEIVER: c_int = 1;

/// A semaphore (opaque). Made by rshm_sem_open, freed by rshm_sem_close.
#[allow(non_camel_case_types)]
pub struct rshm_sem {
    sem: Semaphore,
}

/// A channel end (opaque). Made by rshm_channel_create or _open, freed by rshm_channel_close.
#[allow(non_camel_case_types)]
pub struct rshm_channel {
    channel: Channel,
}

fn timeout(ms: c_long) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}

fn role(role: c_int, call: &str) -> rshm::Result<Role> {
    match role {
        RSHM_CHANNEL_SENDER => Ok(Role::Sender),
        RSHM_CHANNEL_RECEIVER => Ok(Role::Receiver),
        _ => Err(Error::InvalidArgument {
            call: call.into(),
            reason: format!(
                "role {role} is neither RSHM_CHANNEL_SENDER (0) nor RSHM_CHANNEL_RECEIVER (1)"
            ),
        }),
    }
}

/// Writes `value` to the out-parameter `out` (checked not NULL), raw: no initialised value is read.
fn put<T>(out: *mut *mut T, value: T) {
    // SAFETY: out was checked not NULL by the caller and points to a pointer the caller owns.
    unsafe { out.write(Box::into_raw(Box::new(value))) };
}

/// Opens (or, with RSHM_CREATE, creates with value `initial`) the SysV
/// semaphore set of one for the key `opts` names (path and proj_id, or key:
/// the same key as its segment). mode, RSHM_EXCLUSIVE and RSHM_VERIFY_OWNER
/// apply; size is ignored. On failure `*out` is NULL.
#[no_mangle]
pub extern "C" fn rshm_sem_open(
    opts: *const rshm_options,
    initial: u16,
    out: *mut *mut rshm_sem,
) -> rshm_status {
    status_call("rshm_sem_open", || {
        require(out, "rshm_sem_open", "out")?;
        // SAFETY: out is not NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        let options = options_from_c(non_null(opts, "rshm_sem_open", "opts")?)?;
        put(
            out,
            rshm_sem {
                sem: Semaphore::open(&options, initial)?,
            },
        );
        Ok(())
    })
}

/// Takes one unit, waiting at most `timeout_ms` (negative: forever; 0:
/// RSHM_ERR_WOULD_BLOCK at once). Taken with SEM_UNDO: if this process dies
/// holding it, the kernel gives it back.
#[no_mangle]
pub extern "C" fn rshm_sem_wait(sem: *mut rshm_sem, timeout_ms: c_long) -> rshm_status {
    status_call("rshm_sem_wait", || {
        non_null(sem, "rshm_sem_wait", "sem")?
            .sem
            .wait(timeout(timeout_ms))
    })
}

/// Adds one unit: gives back one this handle holds, or, holding none, adds
/// one that stays after this process exits (a signal to another process).
#[no_mangle]
pub extern "C" fn rshm_sem_post(sem: *mut rshm_sem) -> rshm_status {
    status_call("rshm_sem_post", || {
        non_null(sem, "rshm_sem_post", "sem")?.sem.post()
    })
}

/// Removes the semaphore set (IPC_RMID): processes waiting on it get RSHM_ERR_REMOVED.
#[no_mangle]
pub extern "C" fn rshm_sem_remove(sem: *mut rshm_sem) -> rshm_status {
    status_call("rshm_sem_remove", || {
        non_null(sem, "rshm_sem_remove", "sem")?.sem.remove()
    })
}

/// Frees the handle (the set stays, unless removed). NULL is a no-op.
#[no_mangle]
pub extern "C" fn rshm_sem_close(sem: *mut rshm_sem) {
    if !sem.is_null() {
        // SAFETY: sem came from rshm_sem_open and, by contract, is closed once.
        drop(unsafe { Box::from_raw(sem) });
    }
}

/// Makes a robust, process-shared mutex at `offset` of the segment
/// (RSHM_MUTEX_SIZE bytes, offset a multiple of 8). Once, before any use.
#[no_mangle]
pub extern "C" fn rshm_mutex_init(seg: *mut rshm_segment, offset: usize) -> rshm_status {
    status_call("rshm_mutex_init", || {
        segment(seg, "rshm_mutex_init")?.init_mutex(offset)
    })
}

/// Locks the mutex at `offset`, waiting at most `timeout_ms` (negative:
/// forever; 0: RSHM_ERR_WOULD_BLOCK at once). No syscall when it is free.
/// RSHM_ERR_OWNER_DIED: the lock is yours, but its last holder died holding
/// it; repair the data, then call rshm_mutex_consistent before unlocking.
#[no_mangle]
pub extern "C" fn rshm_mutex_lock(
    seg: *mut rshm_segment,
    offset: usize,
    timeout_ms: c_long,
) -> rshm_status {
    status_call("rshm_mutex_lock", || {
        segment(seg, "rshm_mutex_lock")?.lock_mutex(offset, timeout(timeout_ms))
    })
}

/// Unlocks the mutex at `offset` (held by this thread).
#[no_mangle]
pub extern "C" fn rshm_mutex_unlock(seg: *mut rshm_segment, offset: usize) -> rshm_status {
    status_call("rshm_mutex_unlock", || {
        segment(seg, "rshm_mutex_unlock")?.unlock_mutex(offset)
    })
}

/// After RSHM_ERR_OWNER_DIED and repairs: marks the mutex usable again.
#[no_mangle]
pub extern "C" fn rshm_mutex_consistent(seg: *mut rshm_segment, offset: usize) -> rshm_status {
    status_call("rshm_mutex_consistent", || {
        segment(seg, "rshm_mutex_consistent")?.mutex_consistent(offset)
    })
}

/// Makes a channel with a ring of `capacity` bytes (messages up to
/// capacity - 8 bytes) in a new segment for the key `opts` names (always
/// created exclusively; size is ignored), and opens its `role` end
/// (RSHM_CHANNEL_SENDER or RSHM_CHANNEL_RECEIVER). On failure `*out` is NULL.
#[no_mangle]
pub extern "C" fn rshm_channel_create(
    opts: *const rshm_options,
    capacity: usize,
    role: c_int,
    out: *mut *mut rshm_channel,
) -> rshm_status {
    status_call("rshm_channel_create", || {
        require(out, "rshm_channel_create", "out")?;
        // SAFETY: out is not NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        let role = self::role(role, "rshm_channel_create")?;
        // Channel::create sets CREATE, EXCLUSIVE and the size itself.
        let options = options_from_c(non_null(opts, "rshm_channel_create", "opts")?)?;
        put(
            out,
            rshm_channel {
                channel: Channel::create(&options, capacity, role)?,
            },
        );
        Ok(())
    })
}

/// Opens the `role` end of the channel in the segment `opts` names, after
/// checking its layout (RSHM_ERR_CORRUPT for a segment that is not a sound
/// channel). RSHM_ERR_EXISTS if a live process holds that end already.
#[no_mangle]
pub extern "C" fn rshm_channel_open(
    opts: *const rshm_options,
    role: c_int,
    out: *mut *mut rshm_channel,
) -> rshm_status {
    status_call("rshm_channel_open", || {
        require(out, "rshm_channel_open", "out")?;
        // SAFETY: out is not NULL.
        unsafe { out.write(std::ptr::null_mut()) };
        let role = self::role(role, "rshm_channel_open")?;
        let options = options_from_c(non_null(opts, "rshm_channel_open", "opts")?)?;
        put(
            out,
            rshm_channel {
                channel: Channel::open(&options, role)?,
            },
        );
        Ok(())
    })
}

fn channel<'a>(ch: *mut rshm_channel, call: &str) -> rshm::Result<&'a mut Channel> {
    // SAFETY: a non-NULL handle came from rshm_channel_create/open; one thread uses an end at a time.
    unsafe { ch.as_mut() }
        .map(|ch| &mut ch.channel)
        .ok_or_else(|| Error::NullPointer {
            call: call.into(),
            argument: "ch",
        })
}

/// Sends `len` bytes from `msg`, waiting for room at most `timeout_ms`.
/// RSHM_ERR_PEER_DIED or RSHM_ERR_CLOSED when the receiver is gone.
#[no_mangle]
pub extern "C" fn rshm_channel_send(
    ch: *mut rshm_channel,
    msg: *const c_void,
    len: usize,
    timeout_ms: c_long,
) -> rshm_status {
    status_call("rshm_channel_send", || {
        let channel = channel(ch, "rshm_channel_send")?;
        require(msg, "rshm_channel_send", "msg")?;
        // SAFETY: msg is readable for len bytes by the API's contract.
        unsafe { channel.send_raw(msg.cast(), len, timeout(timeout_ms)) }
    })
}

/// rshm_channel_send without waiting: RSHM_ERR_WOULD_BLOCK when the ring is full.
#[no_mangle]
pub extern "C" fn rshm_channel_try_send(
    ch: *mut rshm_channel,
    msg: *const c_void,
    len: usize,
) -> rshm_status {
    rshm_channel_send(ch, msg, len, 0)
}

/// Receives the next message into `buf` (`cap` bytes) and stores its length
/// in `*len`, waiting at most `timeout_ms`. A message longer than `cap` stays
/// in the channel: RSHM_ERR_OUT_OF_BOUNDS with its length in `*len`.
/// RSHM_ERR_CLOSED (or RSHM_ERR_PEER_DIED) once the sender is gone and every message is read.
#[no_mangle]
pub extern "C" fn rshm_channel_recv(
    ch: *mut rshm_channel,
    buf: *mut c_void,
    cap: usize,
    len: *mut usize,
    timeout_ms: c_long,
) -> rshm_status {
    status_call("rshm_channel_recv", || {
        let channel = channel(ch, "rshm_channel_recv")?;
        require(buf, "rshm_channel_recv", "buf")?;
        require(len, "rshm_channel_recv", "len")?;
        let mut needed = 0;
        // SAFETY: buf is writable for cap bytes by the API's contract.
        let result =
            unsafe { channel.recv_raw(buf.cast(), cap, timeout(timeout_ms), Some(&mut needed)) };
        // SAFETY: len is not NULL and writable.
        unsafe { len.write(result.as_ref().map_or(needed, |&n| n)) };
        result.map(drop)
    })
}

/// rshm_channel_recv without waiting: RSHM_ERR_WOULD_BLOCK when the ring is empty.
#[no_mangle]
pub extern "C" fn rshm_channel_try_recv(
    ch: *mut rshm_channel,
    buf: *mut c_void,
    cap: usize,
    len: *mut usize,
) -> rshm_status {
    rshm_channel_recv(ch, buf, cap, len, 0)
}

/// The ring's size in bytes (the largest message is 8 less), or 0 for NULL.
#[no_mangle]
pub extern "C" fn rshm_channel_capacity(ch: *const rshm_channel) -> usize {
    // SAFETY: a non-NULL handle came from rshm_channel_create/open.
    unsafe { ch.as_ref() }.map_or(0, |ch| ch.channel.capacity())
}

/// Closes this end: the peer gets RSHM_ERR_CLOSED once it has read what was sent. NULL is a no-op.
#[no_mangle]
pub extern "C" fn rshm_channel_close(ch: *mut rshm_channel) {
    if !ch.is_null() {
        // SAFETY: ch came from rshm_channel_create/open and, by contract, is closed once.
        drop(unsafe { Box::from_raw(ch) });
    }
}
