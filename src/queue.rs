//! `rshm_queue_*`: a SysV message queue opened by a key or path, with
//! msgrcv's type rules and timeouts in milliseconds (negative waits forever,
//! 0 does not wait). SysV has no timed wait: a timeout polls with
//! IPC_NOWAIT, sleeping at most 1 ms between attempts (see docs/c-api.md).

use crate::boundary::{arg, close_export, new_handle_export, require, status_export};
use crate::options::{queue_options, rshm_options};
use crate::status::rshm_status;
use crate::timeout::timeout;
use libc::{c_long, c_void};
use rshm::{ErrorKind, Queue};

/// A message queue (opaque). Made by rshm_queue_open, freed by
/// rshm_queue_close. One handle may be used by several threads at once.
#[allow(non_camel_case_types)]
pub struct rshm_queue {
    queue: Queue,
}

fn queue<'a>(q: *mut rshm_queue) -> rshm::Result<&'a Queue> {
    arg(q, "q").map(|q| &q.queue)
}

/// Opens (or, with RSHM_CREATE, creates) the message queue for the key `opts`
/// names (path and proj_id, or key). mode (0: 0600), RSHM_EXCLUSIVE and
/// RSHM_VERIFY_OWNER apply; a size and the flags of segments (RSHM_READ_ONLY,
/// RSHM_REMOVE_ON_CLOSE, RSHM_HUGE_PAGES, RSHM_PREFAULT, RSHM_BY_ID) are
/// refused with RSHM_ERR_INVALID_ARGUMENT. On failure `*out` is NULL.
#[no_mangle]
pub extern "C" fn rshm_queue_open(
    opts: *const rshm_options,
    out: *mut *mut rshm_queue,
) -> rshm_status {
    new_handle_export("rshm_queue_open", out, || {
        Ok(rshm_queue {
            queue: queue_options(opts)?.open()?,
        })
    })
}

/// Sends the `len` bytes at `msg` with type `type` (greater than 0), waiting
/// for room at most `timeout_ms` (negative: as long as it takes; 0:
/// RSHM_ERR_WOULD_BLOCK at once when the queue is full). A message longer
/// than kernel.msgmax is RSHM_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub extern "C" fn rshm_queue_send(
    q: *mut rshm_queue,
    r#type: c_long,
    msg: *const c_void,
    len: usize,
    timeout_ms: c_long,
) -> rshm_status {
    status_export("rshm_queue_send", || {
        let queue = queue(q)?;
        require(msg, "msg")?;
        // SAFETY: msg is not NULL and readable for len bytes by the API's contract.
        let message = unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len) };
        queue.send(r#type, message, timeout(timeout_ms))
    })
}

/// Takes a message into `buf` (`cap` bytes) by msgrcv's type rules (`type`
/// 0: the first; > 0: the first of that type; < 0: the first of the lowest
/// type up to |type|), waiting at most `timeout_ms`; stores its length in
/// `*len` and its type in `*type_out` (when not NULL). A message longer than
/// `cap` stays in the queue: RSHM_ERR_OUT_OF_BOUNDS with its length in `*len`
/// (0 if it could not be peeked: it was taken meanwhile, or the kernel lacks
/// MSG_COPY).
#[no_mangle]
pub extern "C" fn rshm_queue_recv(
    q: *mut rshm_queue,
    r#type: c_long,
    buf: *mut c_void,
    cap: usize,
    len: *mut usize,
    type_out: *mut c_long,
    timeout_ms: c_long,
) -> rshm_status {
    status_export("rshm_queue_recv", || {
        let queue = queue(q)?;
        require(buf, "buf")?;
        require(len, "len")?;
        // SAFETY: buf is not NULL and writable for cap bytes by the API's contract.
        let buffer = unsafe { std::slice::from_raw_parts_mut(buf.cast::<u8>(), cap) };
        let result = queue.recv(r#type, buffer, timeout(timeout_ms));
        let (length, kind) = match &result {
            Ok(got) => (got.len, got.mtype),
            Err(error) if error.kind() == ErrorKind::OutOfBounds => {
                (queue.pending_len(r#type).unwrap_or(0), 0)
            }
            Err(_) => (0, 0),
        };
        // SAFETY: len is not NULL and writable by the API's contract.
        unsafe { len.write(length) };
        if !type_out.is_null() && result.is_ok() {
            // SAFETY: a non-NULL type_out is writable by the API's contract.
            unsafe { type_out.write(kind) };
        }
        result.map(drop)
    })
}

/// Removes the queue (IPC_RMID): its messages are lost, and processes
/// waiting on it get RSHM_ERR_REMOVED.
#[no_mangle]
pub extern "C" fn rshm_queue_remove(q: *mut rshm_queue) -> rshm_status {
    status_export("rshm_queue_remove", || queue(q)?.remove())
}

/// Frees the handle (the queue stays, unless removed). NULL is a no-op.
#[no_mangle]
pub extern "C" fn rshm_queue_close(q: *mut rshm_queue) {
    close_export("rshm_queue_close", q, |_queue| Ok(()));
}
