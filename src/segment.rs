//! The handle API: an opaque `rshm_segment` over `OpenSegment`, with
//! bounds-checked access and `rshm_status` codes. Every export checks its
//! pointers and runs inside [`status_call`] or [`errno_call`].

use crate::boundary::status_call;
use libc::{c_char, c_int, c_uint, c_ulong, c_void, gid_t, key_t, pid_t, time_t, uid_t};
use rshm::Error;
use rshm::{Key, OpenOptions, OpenSegment, Segment};
use rshm::{Mode, Validation};
use rshm_compat::boundary::{errno_call, fail};
use std::ffi::CStr;

/// The outcome of a handle call. Codes are stable; `rshm_status_str` names
/// each, and `rshm_last_error()` gives the details of the last failure.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum rshm_status {
    /// Success.
    RSHM_OK = 0,
    /// An argument is invalid (a flag, a mode, a size of 0 to create, proj_id 0, ...).
    RSHM_ERR_INVALID_ARGUMENT,
    /// The path (for ftok) or the segment does not exist.
    RSHM_ERR_NOT_FOUND,
    /// RSHM_EXCLUSIVE was given and the segment exists.
    RSHM_ERR_EXISTS,
    /// The segment's mode or owner does not allow this.
    RSHM_ERR_PERMISSION,
    /// The kernel is out of memory or address space.
    RSHM_ERR_NO_MEMORY,
    /// A system limit on segments or pages is reached.
    RSHM_ERR_NO_SPACE,
    /// An offset and length reach outside the segment or the buffer.
    RSHM_ERR_OUT_OF_BOUNDS,
    /// A write through a handle opened with RSHM_READ_ONLY.
    RSHM_ERR_READ_ONLY,
    /// The segment was removed.
    RSHM_ERR_REMOVED,
    /// The existing segment is smaller than the size asked for.
    RSHM_ERR_SIZE_MISMATCH,
    /// With RSHM_VERIFY_OWNER: the segment was made or is owned by another user.
    RSHM_ERR_OWNER_MISMATCH,
    /// A required pointer argument is NULL.
    RSHM_ERR_NULL_POINTER,
    /// An internal error in rshm (a bug): please report it.
    RSHM_ERR_PANIC,
    /// Another error from the operating system; errno and rshm_last_error() say which.
    RSHM_ERR_OS,
    /// A wait (semaphore, mutex, channel) ran out of time.
    RSHM_ERR_TIMEOUT,
    /// A try-call would have had to wait.
    RSHM_ERR_WOULD_BLOCK,
    /// The mutex is yours, but its last holder died holding it: repair, then rshm_mutex_consistent.
    RSHM_ERR_OWNER_DIED,
    /// The mutex's dead holder's data was never marked consistent: it cannot be used again.
    RSHM_ERR_NOT_RECOVERABLE,
    /// The other end of the channel died.
    RSHM_ERR_PEER_DIED,
    /// The other end of the channel closed it.
    RSHM_ERR_CLOSED,
    /// The segment does not hold what the call expects (not a channel, a damaged one, no mutex there).
    RSHM_ERR_CORRUPT,
}

/// A status as C passes it in: any int, so values outside `rshm_status` are safe.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct StatusCode(pub c_int);

/// rshm_options.flags: create the segment if the key has none.
pub const RSHM_CREATE: c_uint = 1 << 0;
/// rshm_options.flags: with RSHM_CREATE, fail with RSHM_ERR_EXISTS if it exists.
pub const RSHM_EXCLUSIVE: c_uint = 1 << 1;
/// rshm_options.flags: attach read-only; writes fail with RSHM_ERR_READ_ONLY.
pub const RSHM_READ_ONLY: c_uint = 1 << 2;
/// rshm_options.flags: remove the segment when the handle closes (a private
/// segment is marked at once, so even SIGKILL leaks nothing).
pub const RSHM_REMOVE_ON_CLOSE: c_uint = 1 << 3;
/// rshm_options.flags: refuse an existing segment unless its creator and owner
/// are the calling user (RSHM_ERR_OWNER_MISMATCH): the defence against a
/// segment pre-created by someone else on a predictable ftok key.
pub const RSHM_VERIFY_OWNER: c_uint = 1 << 4;
/// rshm_options.flags: back a new segment with huge pages (SHM_HUGETLB).
pub const RSHM_HUGE_PAGES: c_uint = 1 << 5;

const ALL_FLAGS: c_uint = RSHM_CREATE
    | RSHM_EXCLUSIVE
    | RSHM_READ_ONLY
    | RSHM_REMOVE_ON_CLOSE
    | RSHM_VERIFY_OWNER
    | RSHM_HUGE_PAGES;

/// What to open: fill it (zero-initialise it first), then call rshm_open.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct rshm_options {
    /// When not NULL, the key is ftok(path, proj_id): the file must exist.
    pub path: *const c_char,
    /// With path: the ftok project id; its low 8 bits must not be 0.
    pub proj_id: c_int,
    /// Used when path is NULL; IPC_PRIVATE (0) makes a new private segment.
    pub key: key_t,
    /// Required to create; when opening, the segment must hold at least this
    /// many bytes (0: whatever it holds).
    pub size: usize,
    /// Permission bits of a new segment; 0 means 0600.
    pub mode: c_uint,
    /// RSHM_CREATE, RSHM_EXCLUSIVE, RSHM_READ_ONLY, ... or 0 to open an existing segment.
    pub flags: c_uint,
}

/// What the kernel knows of a segment, from rshm_stat.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct rshm_info {
    pub id: c_int,
    pub key: key_t,
    /// Size in bytes as created.
    pub size: usize,
    /// Permission bits (0600).
    pub mode: c_uint,
    pub uid: uid_t,
    pub cuid: uid_t,
    pub gid: gid_t,
    pub cgid: gid_t,
    /// The process that created it, and the last one that attached or detached it.
    pub cpid: pid_t,
    pub lpid: pid_t,
    /// Attachments across all processes.
    pub nattch: c_ulong,
    pub atime: time_t,
    pub dtime: time_t,
    pub ctime: time_t,
    /// Removed (IPC_RMID); it goes with its last attachment.
    pub marked_for_removal: bool,
    /// Locked in memory (SHM_LOCK).
    pub locked: bool,
}

/// An open, attached segment (opaque). Made by rshm_open, freed by rshm_close.
#[allow(non_camel_case_types)]
pub struct rshm_segment {
    open: OpenSegment,
}

/// The status that C sees for `error`.
pub(crate) fn status_of(error: &Error) -> rshm_status {
    match error {
        Error::InvalidArgument { .. } | Error::BadAddress { .. } => {
            rshm_status::RSHM_ERR_INVALID_ARGUMENT
        }
        Error::NotFound { .. } => rshm_status::RSHM_ERR_NOT_FOUND,
        Error::Exists { .. } => rshm_status::RSHM_ERR_EXISTS,
        Error::PermissionDenied { .. } => rshm_status::RSHM_ERR_PERMISSION,
        Error::NoMemory { .. } => rshm_status::RSHM_ERR_NO_MEMORY,
        Error::NoSpace { .. } => rshm_status::RSHM_ERR_NO_SPACE,
        Error::OutOfBounds { .. } => rshm_status::RSHM_ERR_OUT_OF_BOUNDS,
        Error::ReadOnly { .. } => rshm_status::RSHM_ERR_READ_ONLY,
        Error::Removed { .. } => rshm_status::RSHM_ERR_REMOVED,
        Error::SizeMismatch { .. } => rshm_status::RSHM_ERR_SIZE_MISMATCH,
        Error::OwnerMismatch { .. } => rshm_status::RSHM_ERR_OWNER_MISMATCH,
        Error::NullPointer { .. } => rshm_status::RSHM_ERR_NULL_POINTER,
        Error::TimedOut { .. } => rshm_status::RSHM_ERR_TIMEOUT,
        Error::WouldBlock { .. } => rshm_status::RSHM_ERR_WOULD_BLOCK,
        Error::OwnerDied { .. } => rshm_status::RSHM_ERR_OWNER_DIED,
        Error::NotRecoverable { .. } => rshm_status::RSHM_ERR_NOT_RECOVERABLE,
        Error::PeerDied { .. } => rshm_status::RSHM_ERR_PEER_DIED,
        Error::Closed { .. } => rshm_status::RSHM_ERR_CLOSED,
        Error::Corrupt { .. } => rshm_status::RSHM_ERR_CORRUPT,
        _ => rshm_status::RSHM_ERR_OS,
    }
}

/// `ptr` as a reference, or `NullPointer` naming the argument.
pub(crate) fn non_null<'a, T>(
    ptr: *const T,
    call: &str,
    argument: &'static str,
) -> rshm::Result<&'a T> {
    // SAFETY: a non-NULL pointer from C points to a live T by the API's contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| Error::NullPointer {
        call: call.into(),
        argument,
    })
}

/// The segment behind a handle, or `NullPointer`.
pub(crate) fn segment<'a>(seg: *const rshm_segment, call: &str) -> rshm::Result<&'a OpenSegment> {
    non_null(seg, call, "seg").map(|seg| &seg.open)
}

/// Checks that a raw pointer argument is not NULL (even for a length of 0).
pub(crate) fn require<T>(ptr: *const T, call: &str, argument: &'static str) -> rshm::Result<()> {
    if ptr.is_null() {
        Err(Error::NullPointer {
            call: call.into(),
            argument,
        })
    } else {
        Ok(())
    }
}

/// The Rust options for C's `rshm_options`: C values become typed ones here
/// (undefined flag bits are refused, `path` becomes its ftok key); the rules
/// of each use are checked by the Rust API that receives them.
pub fn options_from_c(opts: &rshm_options) -> rshm::Result<OpenOptions> {
    let unknown = opts.flags & !ALL_FLAGS;
    if unknown != 0 {
        return Err(Error::InvalidArgument {
            call: "rshm_open".into(),
            reason: format!("flags has undefined bits {unknown:#x}"),
        });
    }
    let key = if opts.path.is_null() {
        Key(opts.key)
    } else {
        // SAFETY: a non-NULL path is a C string by the API's contract.
        unsafe { Key::ftok_raw(opts.path, opts.proj_id, Validation::Strict) }?
    };
    let mode = if opts.mode == 0 {
        Mode::OWNER_RW
    } else {
        Mode::from_bits_retain(opts.mode)
    };
    let mut options = OpenOptions::new();
    options
        .key(key)
        .size(opts.size)
        .mode(mode)
        .create(opts.flags & RSHM_CREATE != 0)
        .exclusive(opts.flags & RSHM_EXCLUSIVE != 0)
        .read_only(opts.flags & RSHM_READ_ONLY != 0)
        .remove_on_close(opts.flags & RSHM_REMOVE_ON_CLOSE != 0)
        .verify_owner(opts.flags & RSHM_VERIFY_OWNER != 0)
        .huge_pages(opts.flags & RSHM_HUGE_PAGES != 0);
    Ok(options)
}

/// Opens (or, with RSHM_CREATE, creates) the segment `opts` describes and
/// attaches it. On success `*out` is the new handle, to free with rshm_close.
/// On failure `*out` is NULL, nothing is left behind (a segment this call
/// created is removed again), and rshm_last_error() says why.
#[no_mangle]
pub extern "C" fn rshm_open(opts: *const rshm_options, out: *mut *mut rshm_segment) -> rshm_status {
    status_call("rshm_open", || {
        require(out, "rshm_open", "out")?;
        // SAFETY: out is not NULL and points to a pointer the caller owns; a raw write needs no initialised value.
        unsafe { out.write(std::ptr::null_mut()) };
        let options = options_from_c(non_null(opts, "rshm_open", "opts")?)?;
        let open = Segment::open(&options)?;
        // SAFETY: as above.
        unsafe { out.write(Box::into_raw(Box::new(rshm_segment { open }))) };
        Ok(())
    })
}

/// Detaches the segment and frees the handle; with RSHM_REMOVE_ON_CLOSE it
/// also removes the segment. NULL is a no-op. The handle must not be used after.
#[no_mangle]
pub extern "C" fn rshm_close(seg: *mut rshm_segment) {
    if seg.is_null() {
        return;
    }
    let _: rshm_status = status_call("rshm_close", || {
        // SAFETY: seg came from rshm_open and, by contract, is closed once.
        let seg = unsafe { Box::from_raw(seg) };
        seg.open.close()
    });
}

/// The segment's id (as ipcs shows it), or -1 for a NULL handle.
#[no_mangle]
pub extern "C" fn rshm_id(seg: *const rshm_segment) -> c_int {
    errno_call("rshm_id", -1, || {
        segment(seg, "rshm_id").map(OpenSegment::id)
    })
}

/// The key the segment was opened with (IPC_PRIVATE for a private one), or -1 for a NULL handle.
#[no_mangle]
pub extern "C" fn rshm_key(seg: *const rshm_segment) -> key_t {
    errno_call("rshm_key", -1, || {
        segment(seg, "rshm_key").map(|open| open.key().raw())
    })
}

/// The segment's first byte in this process, valid until rshm_close; NULL for
/// a NULL handle. Direct access is not bounds-checked: prefer rshm_read/rshm_write.
#[no_mangle]
pub extern "C" fn rshm_data(seg: *const rshm_segment) -> *mut c_void {
    errno_call("rshm_data", std::ptr::null_mut(), || {
        segment(seg, "rshm_data").map(|open| open.as_ptr().cast())
    })
}

/// The segment's size in bytes, or 0 for a NULL handle.
#[no_mangle]
pub extern "C" fn rshm_size(seg: *const rshm_segment) -> usize {
    errno_call("rshm_size", 0, || {
        segment(seg, "rshm_size").map(OpenSegment::size)
    })
}

/// Copies `len` bytes from `src` into the segment at `offset`. The range must
/// lie inside the segment (`offset + len <= size`, checked without overflow);
/// a handle opened read-only gives RSHM_ERR_READ_ONLY. `src` must not be NULL,
/// even when `len` is 0.
#[no_mangle]
pub extern "C" fn rshm_write(
    seg: *mut rshm_segment,
    offset: usize,
    src: *const c_void,
    len: usize,
) -> rshm_status {
    status_call("rshm_write", || {
        let open = segment(seg, "rshm_write")?;
        require(src, "rshm_write", "src")?;
        // SAFETY: src is readable for len bytes by the API's contract.
        unsafe { open.attachment().write_raw(offset, src.cast(), len) }
    })
}

/// Copies `len` bytes of the segment, from `offset`, into `dst`. The range
/// must lie inside the segment. `dst` must not be NULL, even when `len` is 0.
#[no_mangle]
pub extern "C" fn rshm_read(
    seg: *const rshm_segment,
    offset: usize,
    dst: *mut c_void,
    len: usize,
) -> rshm_status {
    status_call("rshm_read", || {
        let open = segment(seg, "rshm_read")?;
        require(dst, "rshm_read", "dst")?;
        // SAFETY: dst is writable for len bytes by the API's contract.
        unsafe { open.attachment().read_raw(offset, dst.cast(), len) }
    })
}

/// Writes the string `s` and its terminating NUL at `offset` (strlen(s) + 1 bytes).
#[no_mangle]
pub extern "C" fn rshm_write_str(
    seg: *mut rshm_segment,
    offset: usize,
    s: *const c_char,
) -> rshm_status {
    status_call("rshm_write_str", || {
        let open = segment(seg, "rshm_write_str")?;
        require(s, "rshm_write_str", "s")?;
        // SAFETY: s is a NUL-terminated string by the API's contract.
        open.write_str(offset, unsafe { CStr::from_ptr(s) })
    })
}

/// Copies the NUL-terminated string at `offset` into `dst` (`cap` bytes),
/// NUL included. RSHM_ERR_OUT_OF_BOUNDS when no NUL lies between `offset` and
/// the end of the segment or when the string and its NUL do not fit `cap`;
/// `dst` is then left unchanged.
#[no_mangle]
pub extern "C" fn rshm_read_str(
    seg: *const rshm_segment,
    offset: usize,
    dst: *mut c_char,
    cap: usize,
) -> rshm_status {
    status_call("rshm_read_str", || {
        let open = segment(seg, "rshm_read_str")?;
        require(dst, "rshm_read_str", "dst")?;
        // SAFETY: dst is writable for cap bytes by the API's contract.
        unsafe { open.attachment().read_str_raw(offset, dst.cast(), cap) }.map(drop)
    })
}

/// Fills `*out` with what the kernel knows of the segment now.
#[no_mangle]
pub extern "C" fn rshm_stat(seg: *const rshm_segment, out: *mut rshm_info) -> rshm_status {
    status_call("rshm_stat", || {
        let open = segment(seg, "rshm_stat")?;
        require(out, "rshm_stat", "out")?;
        let info = open.stat()?;
        let stat = rshm_info {
            id: open.id(),
            key: info.key.raw(),
            size: info.size,
            mode: info.mode.bits(),
            uid: info.uid,
            cuid: info.cuid,
            gid: info.gid,
            cgid: info.cgid,
            cpid: info.cpid,
            lpid: info.lpid,
            nattch: info.nattch as c_ulong,
            atime: info.atime,
            dtime: info.dtime,
            ctime: info.ctime,
            marked_for_removal: info.marked_for_removal,
            locked: info.locked,
        };
        // SAFETY: out is writable by the API's contract; a raw write needs no initialised value.
        unsafe { out.write(stat) };
        Ok(())
    })
}

/// Marks the segment for removal (IPC_RMID): its key is free at once, and its
/// memory stays usable through this handle until rshm_close.
#[no_mangle]
pub extern "C" fn rshm_remove(seg: *mut rshm_segment) -> rshm_status {
    status_call("rshm_remove", || segment(seg, "rshm_remove")?.remove())
}

/// The name of a status, e.g. "RSHM_ERR_SIZE_MISMATCH", with a short meaning.
/// Any int is accepted: values that are not statuses give "unknown rshm_status".
#[no_mangle]
pub extern "C" fn rshm_status_str(status: StatusCode) -> *const c_char {
    let text: &'static CStr = match status.0 {
        0 => c"RSHM_OK: success",
        1 => c"RSHM_ERR_INVALID_ARGUMENT: an argument is invalid",
        2 => c"RSHM_ERR_NOT_FOUND: the path or segment does not exist",
        3 => c"RSHM_ERR_EXISTS: the segment exists and RSHM_EXCLUSIVE was given",
        4 => c"RSHM_ERR_PERMISSION: the segment's mode or owner does not allow this",
        5 => c"RSHM_ERR_NO_MEMORY: out of memory or address space",
        6 => c"RSHM_ERR_NO_SPACE: a system limit on segments or pages is reached",
        7 => c"RSHM_ERR_OUT_OF_BOUNDS: the range reaches outside the segment or buffer",
        8 => c"RSHM_ERR_READ_ONLY: the handle is read-only",
        9 => c"RSHM_ERR_REMOVED: the segment was removed",
        10 => c"RSHM_ERR_SIZE_MISMATCH: the segment is smaller than the size asked for",
        11 => c"RSHM_ERR_OWNER_MISMATCH: the segment belongs to another user",
        12 => c"RSHM_ERR_NULL_POINTER: a required pointer is NULL",
        13 => c"RSHM_ERR_PANIC: internal error in rshm",
        14 => c"RSHM_ERR_OS: operating system error (see errno and rshm_last_error)",
        15 => c"RSHM_ERR_TIMEOUT: the wait ran out of time",
        16 => c"RSHM_ERR_WOULD_BLOCK: the call would have had to wait",
        17 => c"RSHM_ERR_OWNER_DIED: the mutex's last holder died; repair, then mark it consistent",
        18 => c"RSHM_ERR_NOT_RECOVERABLE: the mutex cannot be used again",
        19 => c"RSHM_ERR_PEER_DIED: the other end of the channel died",
        20 => c"RSHM_ERR_CLOSED: the other end of the channel closed it",
        21 => c"RSHM_ERR_CORRUPT: the segment does not hold what the call expects",
        _ => c"unknown rshm_status",
    };
    text.as_ptr()
}

/// Records `error` for rshm_last_error() and errno, and returns its status.
pub(crate) fn fail_status(error: &Error) -> rshm_status {
    fail(error);
    status_of(error)
}
