//! `rshm_channel_*`: message channels in a segment: a pair (single producer,
//! single consumer), many senders to one receiver (RSHM_CHANNEL_MANY_SENDERS),
//! or one sender to many receivers (RSHM_CHANNEL_BROADCAST). Timeouts are in
//! milliseconds: negative waits forever, 0 does not wait.

use crate::boundary::{arg, arg_mut, close_export, new_handle_export, require, status_export};
use crate::options::{channel_options, rshm_options};
use crate::status::rshm_status;
use crate::timeout::timeout;
use libc::{c_int, c_long, c_void};
use rshm::{msg, Channel, Error, ErrorKind, Role};
use std::mem::MaybeUninit;

/// The bytes a (pair) channel's header takes before its ring. A many-senders
/// channel takes 192 bytes, plus 192 and a ring per sender slot; a broadcast
/// channel 256 bytes, plus 64 per receiver slot, plus its ring.
pub const RSHM_CHANNEL_HEADER_SIZE: usize = 320;
const _: () = assert!(RSHM_CHANNEL_HEADER_SIZE == rshm::CHANNEL_HEADER_SIZE);
/// rshm_channel_create/open: this end sends.
pub const RSHM_CHANNEL_SENDER: c_int = 0;
/// rshm_channel_create/open: this end receives.
pub const RSHM_CHANNEL_RECEIVER: c_int = 1;

/// A channel end (opaque). Made by rshm_channel_create or _open, freed by
/// rshm_channel_close. One end must not be used by two threads at once.
#[allow(non_camel_case_types)]
pub struct rshm_channel {
    channel: Channel,
}

fn role(role: c_int) -> rshm::Result<Role> {
    match role {
        RSHM_CHANNEL_SENDER => Ok(Role::Sender),
        RSHM_CHANNEL_RECEIVER => Ok(Role::Receiver),
        _ => {
            let reason = msg!(
                "role {} is neither RSHM_CHANNEL_SENDER (0) nor RSHM_CHANNEL_RECEIVER (1)",
                role
            );
            Err(Error::new(
                ErrorKind::InvalidArgument,
                rshm::error::Call::Unnamed,
                reason,
            ))
        }
    }
}

fn channel<'a>(ch: *mut rshm_channel) -> rshm::Result<&'a mut Channel> {
    arg_mut(ch, "ch").map(|ch| &mut ch.channel)
}

/// Makes a channel with a ring of `capacity` bytes (messages up to
/// capacity - 8 bytes) in a new segment for the key `opts` names (always
/// created exclusively; size is ignored), and opens its `role` end
/// (RSHM_CHANNEL_SENDER or RSHM_CHANNEL_RECEIVER). On failure `*out` is NULL.
/// With RSHM_CHANNEL_MANY_SENDERS in opts->flags: up to opts->max_peers
/// (0: 64) senders, each with a ring of `capacity` bytes, one receiver. With
/// RSHM_CHANNEL_BROADCAST: one sender, up to max_peers receivers, one ring of
/// `capacity` bytes (at least 64; messages up to half of it, less 16).
/// Flags other than these, RSHM_REMOVE_ON_CLOSE and RSHM_VERIFY_OWNER are
/// refused (RSHM_ERR_INVALID_ARGUMENT), and so are both shapes together.
#[no_mangle]
pub extern "C" fn rshm_channel_create(
    opts: *const rshm_options,
    capacity: usize,
    role: c_int,
    out: *mut *mut rshm_channel,
) -> rshm_status {
    new_handle_export("rshm_channel_create", out, || {
        let role = self::role(role)?;
        let options = channel_options(opts, true)?;
        Ok(rshm_channel {
            channel: Channel::create(&options, capacity, role)?,
        })
    })
}

/// Opens the `role` end of the channel in the segment `opts` names, after
/// checking its layout (RSHM_ERR_CORRUPT for a segment that is not a sound
/// channel). RSHM_ERR_EXISTS if a live process holds that end already; for
/// the many end of a many-party channel, RSHM_ERR_NO_SPACE when all its
/// max_peers slots are held. The shape is read from the segment: a shape
/// flag given must match it (RSHM_ERR_INVALID_ARGUMENT naming the shape).
#[no_mangle]
pub extern "C" fn rshm_channel_open(
    opts: *const rshm_options,
    role: c_int,
    out: *mut *mut rshm_channel,
) -> rshm_status {
    new_handle_export("rshm_channel_open", out, || {
        let role = self::role(role)?;
        let options = channel_options(opts, false)?;
        Ok(rshm_channel {
            channel: Channel::open(&options, role)?,
        })
    })
}

/// Sends `len` bytes from `msg`, waiting for room at most `timeout_ms`.
/// RSHM_ERR_PEER_DIED or RSHM_ERR_CLOSED when the receiver is gone. A
/// broadcast sender never waits and never fails for its receivers: a message
/// a receiver has not read yet is overwritten once the ring is full.
#[no_mangle]
pub extern "C" fn rshm_channel_send(
    ch: *mut rshm_channel,
    msg: *const c_void,
    len: usize,
    timeout_ms: c_long,
) -> rshm_status {
    status_export("rshm_channel_send", || {
        let channel = channel(ch)?;
        require(msg, "msg")?;
        // SAFETY: msg is not NULL and is readable for len bytes by the API's contract.
        let message = unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len) };
        channel.send(message, timeout(timeout_ms))
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
/// RSHM_ERR_CLOSED (or RSHM_ERR_PEER_DIED) once the sender is gone and every message is read
/// (many senders: once one has opened, none remains, and every ring is read).
/// A broadcast receiver a ring behind gets RSHM_ERR_LAGGED (nothing consumed,
/// `*len` 0; see rshm_channel_missed); the next call returns the oldest
/// message still in the ring.
#[no_mangle]
pub extern "C" fn rshm_channel_recv(
    ch: *mut rshm_channel,
    buf: *mut c_void,
    cap: usize,
    len: *mut usize,
    timeout_ms: c_long,
) -> rshm_status {
    status_export("rshm_channel_recv", || {
        let channel = channel(ch)?;
        require(buf, "buf")?;
        require(len, "len")?;
        // SAFETY: buf is not NULL and is writable for cap bytes by the API's contract.
        let buffer = unsafe { std::slice::from_raw_parts_mut(buf.cast::<MaybeUninit<u8>>(), cap) };
        let result = channel.recv_uninit(buffer, timeout(timeout_ms));
        let length = match &result {
            Ok(n) => *n,
            Err(error) if error.kind() == ErrorKind::OutOfBounds => {
                channel.pending_len().unwrap_or(0)
            }
            Err(_) => 0,
        };
        // SAFETY: len is not NULL and writable by the API's contract.
        unsafe { len.write(length) };
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

/// Reserves room for a message of `len` bytes in one piece of the ring and
/// stores its start in `*buf`, waiting for room at most `timeout_ms` (as
/// rshm_channel_send waits). Write the message there, then
/// rshm_channel_commit it. The largest reservation is
/// rshm_channel_max_reservation: half the ring, less the 8-byte length word.
/// A reservation never committed (the sender closed, or died) never shows as
/// a message. On failure `*buf` is NULL.
#[no_mangle]
pub extern "C" fn rshm_channel_reserve(
    ch: *mut rshm_channel,
    len: usize,
    buf: *mut *mut c_void,
    timeout_ms: c_long,
) -> rshm_status {
    status_export("rshm_channel_reserve", || {
        let channel = channel(ch)?;
        require(buf, "buf")?;
        // SAFETY: buf is not NULL and writable by the API's contract: NULL until it succeeds.
        unsafe { buf.write(std::ptr::null_mut()) };
        let start = channel.reserve(len, timeout(timeout_ms))?.into_raw();
        // SAFETY: as above.
        unsafe { buf.write(start.cast()) };
        Ok(())
    })
}

/// Sends the first `len` bytes of the open reservation (at most the length
/// reserved) as a message. RSHM_ERR_INVALID_ARGUMENT when nothing is reserved.
#[no_mangle]
pub extern "C" fn rshm_channel_commit(ch: *mut rshm_channel, len: usize) -> rshm_status {
    status_export("rshm_channel_commit", || channel(ch)?.commit(len))
}

/// Gives the open reservation back unsent: nothing shows (its length word
/// was never written), and the channel takes sends again.
/// RSHM_ERR_INVALID_ARGUMENT when nothing is reserved.
#[no_mangle]
pub extern "C" fn rshm_channel_cancel(ch: *mut rshm_channel) -> rshm_status {
    status_export("rshm_channel_cancel", || channel(ch)?.cancel())
}

/// Lends the next message in place: `*buf` is its first byte and `*len` its
/// length, until rshm_channel_release; waits for one at most `timeout_ms`
/// (as rshm_channel_recv waits). The bytes stay in shared memory, where a
/// hostile sender could still change them: validate a copy of what you
/// validate. A message longer than half the ring may wrap around its end and
/// cannot be lent: RSHM_ERR_OUT_OF_BOUNDS (receive it with rshm_channel_recv).
/// On failure `*buf` is NULL and `*len` 0.
#[no_mangle]
pub extern "C" fn rshm_channel_peek(
    ch: *mut rshm_channel,
    buf: *mut *const c_void,
    len: *mut usize,
    timeout_ms: c_long,
) -> rshm_status {
    status_export("rshm_channel_peek", || {
        let channel = channel(ch)?;
        require(buf, "buf")?;
        require(len, "len")?;
        // SAFETY: buf and len are not NULL and writable by the API's contract.
        unsafe {
            buf.write(std::ptr::null());
            len.write(0);
        }
        let (start, length) = channel.peek(timeout(timeout_ms))?.into_raw();
        // SAFETY: as above.
        unsafe {
            buf.write(start.cast());
            len.write(length);
        }
        Ok(())
    })
}

/// Takes the lent message off the ring (its bytes are no longer yours).
/// RSHM_ERR_INVALID_ARGUMENT when no message is lent. A broadcast receiver
/// gets RSHM_ERR_LAGGED if the sender may have overwritten the message while
/// it was lent: what was read of it is not the message.
#[no_mangle]
pub extern "C" fn rshm_channel_release(ch: *mut rshm_channel) -> rshm_status {
    status_export("rshm_channel_release", || channel(ch)?.release())
}

/// Messages this broadcast receiver lost by falling a ring behind the sender
/// (each loss reported once as RSHM_ERR_LAGGED), cumulative since it
/// opened; 0 for every other end, and for NULL.
#[no_mangle]
pub extern "C" fn rshm_channel_missed(ch: *const rshm_channel) -> u64 {
    crate::boundary::errno_export("rshm_channel_missed", 0, || {
        arg(ch, "ch").map(|ch| ch.channel.missed())
    })
}

/// The largest message rshm_channel_reserve lends (half the ring, less the
/// 8-byte length word, and at most 4 GiB - 1; a broadcast record's header is
/// 16 bytes; many senders: half of each sender's ring), or 0 for NULL. Every
/// end of a channel answers the same: at a receiver, the largest message its
/// senders can reserve, which rshm_channel_peek always lends in one piece.
#[no_mangle]
pub extern "C" fn rshm_channel_max_reservation(ch: *const rshm_channel) -> usize {
    crate::boundary::errno_export("rshm_channel_max_reservation", 0, || {
        arg(ch, "ch").map(|ch| ch.channel.max_reservation())
    })
}

/// The ring's size in bytes (each sender's ring, for many senders), or 0 for
/// NULL. The largest message is 8 bytes less (a pair, many senders), or half
/// the ring less 16 (broadcast).
#[no_mangle]
pub extern "C" fn rshm_channel_capacity(ch: *const rshm_channel) -> usize {
    crate::boundary::errno_export("rshm_channel_capacity", 0, || {
        arg(ch, "ch").map(|ch| ch.channel.capacity())
    })
}

/// Removes the channel's segment (IPC_RMID): nobody can open the channel any
/// more, and its memory is freed when both ends have closed. (An end opened
/// with RSHM_REMOVE_ON_CLOSE removes it when that end closes.)
#[no_mangle]
pub extern "C" fn rshm_channel_remove(ch: *mut rshm_channel) -> rshm_status {
    status_export("rshm_channel_remove", || channel(ch)?.remove())
}

/// Closes this end: the peer gets RSHM_ERR_CLOSED once it has read what was sent. NULL is a no-op.
#[no_mangle]
pub extern "C" fn rshm_channel_close(ch: *mut rshm_channel) {
    close_export("rshm_channel_close", ch, |ch| {
        drop(ch);
        Ok(())
    });
}
