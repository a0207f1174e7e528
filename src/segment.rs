//! The handle API: an opaque `rshm_segment` over the Rust API's
//! `OpenSegment`, with bounds-checked access and `rshm_status` codes.

use crate::boundary::{arg, close_export, errno_export, new_handle_export, require, status_export};
use crate::options::{rshm_options, segment_options};
use crate::status::rshm_status;
use libc::{c_char, c_int, c_uint, c_ulong, c_void, gid_t, key_t, pid_t, time_t, uid_t};
use rshm::{OpenSegment, Region};
use std::ffi::CStr;

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
/// One handle may be used by several threads at once: its calls read the
/// handle only, and concurrent writes to the same bytes are the caller's to order.
#[allow(non_camel_case_types)]
pub struct rshm_segment {
    pub(crate) open: OpenSegment,
}

/// The segment behind a handle, or `NullPointer`.
pub(crate) fn segment<'a>(seg: *const rshm_segment) -> rshm::Result<&'a OpenSegment> {
    arg(seg, "seg").map(|seg| &seg.open)
}

/// The memory behind a handle, or `NullPointer`.
fn region(seg: *const rshm_segment) -> rshm::Result<Region> {
    segment(seg).map(OpenSegment::region)
}

/// Opens (or, with RSHM_CREATE, creates) the segment `opts` describes and
/// attaches it. On success `*out` is the new handle, to free with rshm_close.
/// On failure `*out` is NULL, nothing is left behind (a segment this call
/// created is removed again), and rshm_last_error() says why.
#[no_mangle]
pub extern "C" fn rshm_open(opts: *const rshm_options, out: *mut *mut rshm_segment) -> rshm_status {
    new_handle_export("rshm_open", out, || {
        let open = segment_options(opts)?.open()?;
        Ok(rshm_segment { open })
    })
}

/// Detaches the segment and frees the handle; with RSHM_REMOVE_ON_CLOSE it
/// also removes the segment. NULL is a no-op. The handle must not be used after.
#[no_mangle]
pub extern "C" fn rshm_close(seg: *mut rshm_segment) {
    close_export("rshm_close", seg, |seg| seg.open.close());
}

/// The segment's id (as ipcs shows it), or -1 for a NULL handle.
#[no_mangle]
pub extern "C" fn rshm_id(seg: *const rshm_segment) -> c_int {
    errno_export("rshm_id", -1, || segment(seg).map(OpenSegment::id))
}

/// The key the segment was opened with (IPC_PRIVATE for a private one), or -1 for a NULL handle.
#[no_mangle]
pub extern "C" fn rshm_key(seg: *const rshm_segment) -> key_t {
    errno_export("rshm_key", -1, || segment(seg).map(|open| open.key().raw()))
}

/// The segment's first byte in this process, valid until rshm_close; NULL for
/// a NULL handle. Direct access is not bounds-checked: prefer rshm_read/rshm_write.
#[no_mangle]
pub extern "C" fn rshm_data(seg: *const rshm_segment) -> *mut c_void {
    errno_export("rshm_data", std::ptr::null_mut(), || {
        segment(seg).map(|open| open.as_ptr().cast())
    })
}

/// The segment's size in bytes, or 0 for a NULL handle.
#[no_mangle]
pub extern "C" fn rshm_size(seg: *const rshm_segment) -> usize {
    errno_export("rshm_size", 0, || segment(seg).map(OpenSegment::size))
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
    status_export("rshm_write", || {
        let region = region(seg)?;
        require(src, "src")?;
        // SAFETY: the handle keeps the attachment; src is readable for len bytes by contract.
        unsafe { region.write_from(offset, src.cast(), len) }
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
    status_export("rshm_read", || {
        let region = region(seg)?;
        require(dst, "dst")?;
        // SAFETY: the handle keeps the attachment; dst is writable for len bytes by contract.
        unsafe { region.read_into(offset, dst.cast(), len) }
    })
}

/// Writes the string `s` and its terminating NUL at `offset` (strlen(s) + 1 bytes).
#[no_mangle]
pub extern "C" fn rshm_write_str(
    seg: *mut rshm_segment,
    offset: usize,
    s: *const c_char,
) -> rshm_status {
    status_export("rshm_write_str", || {
        let region = region(seg)?;
        require(s, "s")?;
        // SAFETY: s is a NUL-terminated string by the API's contract.
        let bytes = unsafe { CStr::from_ptr(s) }.to_bytes_with_nul();
        // SAFETY: the handle keeps the attachment; bytes is a valid slice.
        unsafe { region.write_from(offset, bytes.as_ptr(), bytes.len()) }
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
    status_export("rshm_read_str", || {
        let region = region(seg)?;
        require(dst, "dst")?;
        // SAFETY: the handle keeps the attachment; dst is writable for cap bytes by contract.
        unsafe { region.read_str_into(offset, dst.cast(), cap) }.map(drop)
    })
}

/// Fills `*out` with what the kernel knows of the segment now.
#[no_mangle]
pub extern "C" fn rshm_stat(seg: *const rshm_segment, out: *mut rshm_info) -> rshm_status {
    status_export("rshm_stat", || {
        let open = segment(seg)?;
        require(out, "out")?;
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
    status_export("rshm_remove", || segment(seg)?.remove())
}

/// Gives the segment permission bits `mode` (e.g. 0640), keeping its owner
/// and group: nothing but the mode changes (IPC_SET; its owner, creator or
/// root only). Bits beyond 0777 are refused.
#[no_mangle]
pub extern "C" fn rshm_set_mode(seg: *mut rshm_segment, mode: c_uint) -> rshm_status {
    status_export("rshm_set_mode", || {
        let open = segment(seg)?;
        let Some(mode) = rshm::Mode::from_bits(mode) else {
            let reason = rshm::msg!(
                "mode 0{} has bits beyond 0777",
                rshm::error::Arg::Octal(mode)
            );
            return Err(rshm::Error::new(
                rshm::ErrorKind::InvalidArgument,
                rshm::error::Call::Unnamed,
                reason,
            ));
        };
        open.segment().set_mode(mode)
    })
}

/// Gives the segment to `uid` and `gid`, keeping its permission bits
/// (IPC_SET; its owner, creator or root only).
#[no_mangle]
pub extern "C" fn rshm_set_owner(seg: *mut rshm_segment, uid: uid_t, gid: gid_t) -> rshm_status {
    status_export("rshm_set_owner", || {
        segment(seg)?.segment().set_owner(uid, gid)
    })
}

/// A segment's memory as `rshm_inline.h`'s checked copies use it: where it
/// starts, how long it is, whether it is read-only, and the handle it came
/// from (whose calls explain a refused copy). Valid until rshm_close.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct rshm_view {
    /// The segment's first byte in this process.
    pub data: *mut c_void,
    /// The segment's size in bytes.
    pub size: usize,
    /// The handle the view came from.
    pub segment: *mut rshm_segment,
    /// Opened with RSHM_READ_ONLY: writes are refused.
    pub read_only: bool,
}

/// Fills `*out` with the segment's view for the inline checked copies of
/// `rshm_inline.h` (rshm_view_write, rshm_view_read): the same bounds and
/// read-only checks as rshm_write and rshm_read, without a call into the
/// library unless a copy is refused. The view is valid until rshm_close.
#[no_mangle]
pub extern "C" fn rshm_get_view(seg: *mut rshm_segment, out: *mut rshm_view) -> rshm_status {
    status_export("rshm_get_view", || {
        let region = region(seg)?;
        require(out, "out")?;
        let view = rshm_view {
            data: region.as_ptr().cast(),
            size: region.size(),
            segment: seg,
            read_only: region.is_read_only(),
        };
        // SAFETY: out is not NULL and writable by the API's contract; a raw write reads nothing.
        unsafe { out.write(view) };
        Ok(())
    })
}
