//! `Attachment`: a segment mapped into this process, detached when dropped;
//! and the raw `shmat`/`shmdt` of the C face, recorded in the registry.

use crate::error::call::{ShmatCall, ShmdtCall};
use crate::error::{Errno, Error, Result};
use crate::flags::{AttachFlags, Validation};
use crate::segment::registry::{self, AttachmentRecord};
use crate::segment::Segment;
use crate::sys;
use libc::c_void;
use std::ptr::NonNull;

/// A segment attached to this process. Dropping it detaches it (`shmdt`).
#[derive(Debug)]
pub struct Attachment {
    addr: NonNull<u8>,
    size: usize,
    segment: Segment,
    read_only: bool,
}

// SAFETY: an attachment is a mapping of the whole process, usable from any
// thread; concurrent access to its bytes is the caller's protocol, as with
// any shared memory (other processes write it too).
unsafe impl Send for Attachment {}
// SAFETY: as above; the methods that take &self only read the fields.
unsafe impl Sync for Attachment {}

impl Segment {
    /// Attaches the segment wherever the kernel chooses. `flags` may hold
    /// `READ_ONLY` and `EXEC`; `ROUND` and `REMAP` need an address (see `attach_raw`).
    ///
    /// ```
    /// use rshm::{AttachFlags, GetFlags, Key, Mode, Segment};
    /// let segment = Segment::get(Key::PRIVATE, 100, GetFlags::CREATE, Mode::OWNER_RW)?;
    /// let attachment = segment.attach(AttachFlags::empty())?;
    /// assert_eq!(attachment.size(), 100);
    /// segment.remove()?; // it lives until its last attachment goes
    /// drop(attachment);
    /// # Ok::<(), rshm::Error>(())
    /// ```
    pub fn attach(self, flags: AttachFlags) -> Result<Attachment> {
        self.attach_sized(flags, None)
    }

    /// `attach`, for a caller that knows the segment's size already (no IPC_STAT then).
    pub(crate) fn attach_sized(
        self,
        flags: AttachFlags,
        size: Option<usize>,
    ) -> Result<Attachment> {
        // SAFETY: with a NULL address the kernel picks an unused range, so nothing is replaced.
        let addr = unsafe { self.shmat(std::ptr::null(), flags, Validation::Strict) }?;
        let size = match size.map_or_else(|| self.stat().map(|info| info.size), Ok) {
            Ok(size) => size,
            Err(error) => {
                // SAFETY: addr was attached just now and nobody has seen it.
                let _ = unsafe { sys::shmdt(addr) };
                return Err(error);
            }
        };
        let read_only = flags.contains(AttachFlags::READ_ONLY);
        registry::insert(
            addr as usize,
            AttachmentRecord {
                shmid: self.id(),
                size,
                read_only,
            },
        );
        Ok(Attachment {
            // A successful shmat never maps at address 0 (mmap_min_addr forbids it).
            addr: NonNull::new(addr.cast()).unwrap_or(NonNull::dangling()),
            size,
            segment: self,
            read_only,
        })
    }

    /// `shmat(shmid, addr, flags)` as libc does it, recorded in the registry.
    /// `Strict` validation refuses undefined flag bits (e.g. permission bits passed by mistake).
    ///
    /// # Safety
    /// A non-NULL `addr` with `SHM_REMAP` replaces whatever is mapped there:
    /// nothing may use that memory any more.
    #[inline]
    pub unsafe fn attach_raw(
        self,
        addr: *const c_void,
        flags: AttachFlags,
        validation: Validation,
    ) -> Result<*mut c_void> {
        // SAFETY: forwarded contract.
        let mapped = unsafe { self.shmat(addr, flags, validation) }?;
        let mut record = AttachmentRecord {
            shmid: self.id(),
            size: 0,
            read_only: flags.contains(AttachFlags::READ_ONLY),
        };
        if flags.contains(AttachFlags::REMAP) {
            // The kernel replaced whatever was in the range, our attachments included.
            record.size = self.stat().map_or(0, |info| info.size);
            registry::remove_range(
                mapped as usize,
                mapped as usize + round_to_pages(record.size.max(1)),
            );
        }
        registry::insert(mapped as usize, record);
        Ok(mapped)
    }
}

impl Segment {
    /// The checked `shmat` syscall alone, explained on failure; nothing is recorded.
    ///
    /// # Safety
    /// As [`Segment::attach_raw`].
    #[inline]
    unsafe fn shmat(
        self,
        addr: *const c_void,
        flags: AttachFlags,
        validation: Validation,
    ) -> Result<*mut c_void> {
        if validation == Validation::Strict && !AttachFlags::all().contains(flags) {
            return Err(refuse_attach_flags(self, addr, flags));
        }
        // SAFETY: forwarded contract.
        unsafe { sys::shmat(self.id(), addr, flags.bits() as i32) }
            .map_err(|errno| explain_attach(errno, self, addr, flags))
    }
}

impl Attachment {
    /// The first byte of the segment in this process.
    pub fn as_ptr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// The segment's size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The segment this is an attachment of.
    pub fn segment(&self) -> Segment {
        self.segment
    }

    /// Attached with `SHM_RDONLY`.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Copies `data` into the segment at `offset`. The range must lie inside
    /// the segment (checked without overflow); writing through a read-only
    /// attachment is [`Error::ReadOnly`], never a fault.
    ///
    /// ```
    /// # use rshm::{AttachFlags, GetFlags, Key, Mode, Segment};
    /// # let segment = Segment::get(Key::PRIVATE, 16, GetFlags::CREATE, Mode::OWNER_RW)?;
    /// let attachment = segment.attach(AttachFlags::empty())?;
    /// attachment.write(10, b"123456")?; // ends exactly at the end: fine
    /// assert!(attachment.write(11, b"123456").is_err());
    /// let mut buf = [0u8; 6];
    /// attachment.read(10, &mut buf)?;
    /// assert_eq!(&buf, b"123456");
    /// # segment.remove()?;
    /// # Ok::<(), rshm::Error>(())
    /// ```
    #[inline]
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        // SAFETY: data is a valid slice of data.len() readable bytes.
        unsafe { self.write_raw(offset, data.as_ptr(), data.len()) }
    }

    /// Copies `buf.len()` bytes of the segment, from `offset`, into `buf`.
    #[inline]
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        // SAFETY: buf is a valid slice of buf.len() writable bytes.
        unsafe { self.read_raw(offset, buf.as_mut_ptr(), buf.len()) }
    }

    /// Writes `text` with its terminating NUL at `offset`.
    pub fn write_str(&self, offset: usize, text: &std::ffi::CStr) -> Result<()> {
        self.write(offset, text.to_bytes_with_nul())
    }

    /// Reads the NUL-terminated string at `offset` into `buf`, NUL included,
    /// and returns its length. Fails when no NUL lies between `offset` and the
    /// end of the segment, or when the string and its NUL do not fit `buf`;
    /// `buf` is then left as it was.
    pub fn read_str(&self, offset: usize, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: buf is a valid slice of buf.len() writable bytes.
        unsafe { self.read_str_raw(offset, buf.as_mut_ptr(), buf.len()) }
    }

    /// [`write`](Self::write) from a raw source, as the C face receives it.
    ///
    /// # Safety
    /// `src` is valid for reading `len` bytes (it may lie inside the segment).
    #[inline]
    pub unsafe fn write_raw(&self, offset: usize, src: *const u8, len: usize) -> Result<()> {
        if self.read_only {
            return Err(read_only_error("write", offset, len));
        }
        self.check_range("write", offset, len)?;
        // SAFETY: offset..offset+len lies inside the mapping (checked above); src
        // is readable by contract; copy (memmove) allows the two to overlap.
        unsafe { std::ptr::copy(src, self.addr.as_ptr().add(offset), len) };
        Ok(())
    }

    /// [`read`](Self::read) into a raw destination, which may be uninitialised.
    ///
    /// # Safety
    /// `dst` is valid for writing `len` bytes.
    #[inline]
    pub unsafe fn read_raw(&self, offset: usize, dst: *mut u8, len: usize) -> Result<()> {
        self.check_range("read", offset, len)?;
        // SAFETY: the range lies inside the mapping (checked above); dst is
        // writable by contract; copy (memmove) allows the two to overlap.
        unsafe { std::ptr::copy(self.addr.as_ptr().add(offset), dst, len) };
        Ok(())
    }

    /// [`read_str`](Self::read_str) into a raw destination of `cap` bytes.
    ///
    /// # Safety
    /// `dst` is valid for writing `cap` bytes.
    pub unsafe fn read_str_raw(&self, offset: usize, dst: *mut u8, cap: usize) -> Result<usize> {
        self.check_range("read_str", offset, 0)?;
        let rest = self.size - offset;
        // SAFETY: offset..size lies inside the mapping. memchr reads bytes
        // that other processes may change; it is C, so no Rust aliasing holds.
        let nul = unsafe { libc::memchr(self.addr.as_ptr().add(offset).cast(), 0, rest) };
        if nul.is_null() {
            return Err(Error::OutOfBounds {
                call: access_call("read_str", offset, cap),
                reason: format!(
                    "no NUL between offset {offset} and the end of the {}-byte segment {}",
                    self.size,
                    self.segment.id()
                ),
            });
        }
        let len = nul as usize - (self.addr.as_ptr() as usize + offset);
        if len >= cap {
            return Err(Error::OutOfBounds {
                call: access_call("read_str", offset, cap),
                reason: format!(
                    "the string of {len} bytes and its NUL do not fit the {cap}-byte buffer"
                ),
            });
        }
        // SAFETY: len < cap, so dst has room for len bytes and the NUL.
        unsafe {
            self.read_raw(offset, dst, len)?;
            // Terminate it ourselves: another process may have changed the byte since.
            dst.add(len).write(0);
        }
        Ok(len)
    }

    #[inline]
    fn check_range(&self, what: &'static str, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(self.out_of_bounds(what, offset, len)),
        }
    }

    #[cold]
    #[inline(never)]
    fn out_of_bounds(&self, what: &'static str, offset: usize, len: usize) -> Error {
        Error::OutOfBounds {
            call: access_call(what, offset, len),
            reason: format!(
                "bytes {offset}..{} reach past the end of the {}-byte segment {}",
                offset as u128 + len as u128,
                self.size,
                self.segment.id()
            ),
        }
    }

    /// Detaches now, reporting a failure that dropping would swallow.
    pub fn detach(self) -> Result<()> {
        let addr = self.into_raw();
        // SAFETY: self is consumed, so nothing uses the mapping any more.
        unsafe { detach_raw(addr) }
    }

    /// Keeps the mapping and gives up ownership: `detach_raw` undoes it.
    pub fn into_raw(self) -> *mut c_void {
        let addr = self.addr.as_ptr().cast();
        std::mem::forget(self);
        addr
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        // SAFETY: the attachment is going away, so nothing uses the mapping any more.
        // A failure means the mapping is gone already (e.g. the caller unmapped it).
        let _ = unsafe { detach_raw(self.addr.as_ptr().cast()) };
    }
}

/// `shmdt(addr)` as libc does it; a bad address is explained from the registry.
///
/// # Safety
/// Nothing may use the memory at `addr` afterwards.
#[inline]
pub unsafe fn detach_raw(addr: *const c_void) -> Result<()> {
    // Forget it first: once the kernel unmaps it, another thread may attach at the same address.
    let record = registry::remove(addr as usize);
    // SAFETY: forwarded contract.
    match unsafe { sys::shmdt(addr) } {
        Ok(()) => Ok(()),
        Err(errno) => Err(explain_detach(errno, addr, record)),
    }
}

fn access_call(what: &str, offset: usize, len: usize) -> String {
    format!("{what}(offset={offset}, len={len})")
}

#[cold]
#[inline(never)]
fn read_only_error(what: &str, offset: usize, len: usize) -> Error {
    Error::ReadOnly {
        call: access_call(what, offset, len),
    }
}

#[cold]
#[inline(never)]
fn refuse_attach_flags(segment: Segment, addr: *const c_void, flags: AttachFlags) -> Error {
    let undefined = flags.bits() & !AttachFlags::all().bits();
    Error::InvalidArgument {
        call: shmat_call(segment.id(), addr, flags),
        reason: format!(
            "flags has undefined bits 0{undefined:o}; shmat accepts SHM_RDONLY, SHM_RND, SHM_REMAP \
             and SHM_EXEC (permission bits belong to shmget)"
        ),
    }
}

fn shmat_call(shmid: i32, shmaddr: *const c_void, flags: AttachFlags) -> String {
    ShmatCall {
        shmid,
        shmaddr,
        shmflg: flags.bits() as i32,
    }
    .to_string()
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as usize }
}

fn round_to_pages(size: usize) -> usize {
    let page = page_size();
    size.div_ceil(page) * page
}

/// Why `shmat` failed, in words, checked in the kernel's order. Error path only.
#[cold]
#[inline(never)]
fn explain_attach(
    errno: Errno,
    segment: Segment,
    addr: *const c_void,
    flags: AttachFlags,
) -> Error {
    let call = shmat_call(segment.id(), addr, flags);
    let shmlba = page_size();
    let reason = match errno.0 {
        libc::EINVAL if segment.id() < 0 => "the segment id must not be negative".into(),
        libc::EINVAL if !addr.is_null() && addr as usize % shmlba != 0 && !flags.contains(AttachFlags::ROUND) => {
            format!("shmaddr is not a multiple of SHMLBA ({shmlba}) and SHM_RND was not given")
        }
        libc::EINVAL if flags.contains(AttachFlags::REMAP) && (addr as usize) < shmlba => {
            "SHM_REMAP needs a shmaddr (after rounding, it is NULL)".into()
        }
        libc::EINVAL => match segment.stat() {
            Err(error) if error.errno() == libc::EINVAL => format!("no segment has id {}", segment.id()),
            _ => "the address range cannot take the segment: it overlaps a mapping (and SHM_REMAP was not \
                  given) or lies outside the address space"
                .into(),
        },
        libc::EACCES => format!(
            "the segment's mode does not grant the caller {} permission",
            if flags.contains(AttachFlags::READ_ONLY) { "read" } else { "read and write" }
        ),
        libc::EIDRM => format!("segment {} was removed", segment.id()),
        libc::ENOMEM => "no memory or address space is left to map the segment".into(),
        _ => "the kernel refused the call".into(),
    };
    Error::from_errno(errno, call, reason)
}

/// Why `shmdt` failed: usually an address inside a segment rather than at its start.
#[cold]
#[inline(never)]
fn explain_detach(errno: Errno, addr: *const c_void, stale: Option<AttachmentRecord>) -> Error {
    let call = ShmdtCall { shmaddr: addr }.to_string();
    let reason = if addr.is_null() {
        "shmaddr is NULL".to_string()
    } else if let Some(record) = stale {
        format!("segment {} was attached here, but the mapping is gone (unmapped or detached behind rshm)", record.shmid)
    } else {
        match containing_attachment(addr as usize) {
            Some((start, record)) => format!(
                "{addr:p} is inside segment {} attached at {:#x}; pass the start address",
                record.shmid, start
            ),
            None => format!("no shared memory segment is attached at {addr:p}"),
        }
    };
    Error::from_errno(errno, call, reason)
}

/// The recorded attachment whose pages contain `addr`, if any.
fn containing_attachment(addr: usize) -> Option<(usize, AttachmentRecord)> {
    let (start, record) = registry::nearest_at_or_below(addr)?;
    let size = match record.size {
        0 => Segment::from_id(record.shmid).stat().ok()?.size,
        size => size,
    };
    (addr < start + round_to_pages(size)).then_some((start, record))
}

#[cfg(test)]
mod tests {
    //! The copying and bounds logic over ordinary memory, so that Miri can check
    //! every pointer it computes (the attachments are never dropped: no shmdt).
    use super::*;
    use std::mem::ManuallyDrop;

    fn over(buf: &mut [u8], read_only: bool) -> ManuallyDrop<Attachment> {
        ManuallyDrop::new(Attachment {
            addr: NonNull::new(buf.as_mut_ptr()).unwrap(),
            size: buf.len(),
            segment: Segment::from_id(7),
            read_only,
        })
    }

    #[test]
    fn reads_and_writes_stay_inside_the_segment() {
        let mut memory = [0u8; 64];
        let attachment = over(&mut memory, false);
        attachment.write(60, b"abcd").unwrap();
        let mut back = [0u8; 4];
        attachment.read(60, &mut back).unwrap();
        assert_eq!(&back, b"abcd");
        attachment.write(64, b"").unwrap();
        for (offset, len) in [(61, 4), (64, 1), (65, 0), (usize::MAX, 1), (1, usize::MAX)] {
            // SAFETY: the bounds check fails before anything is read from the source.
            let error = unsafe { attachment.write_raw(offset, back.as_ptr(), len) }.unwrap_err();
            assert!(matches!(error, Error::OutOfBounds { .. }), "{offset}+{len}");
            // SAFETY: likewise before anything is written.
            let error = unsafe { attachment.read_raw(offset, back.as_mut_ptr(), len) }.unwrap_err();
            assert!(matches!(error, Error::OutOfBounds { .. }), "{offset}+{len}");
        }
    }

    #[test]
    fn an_overlapping_source_inside_the_segment_is_copied_as_memmove() {
        let mut memory = *b"0123456789";
        let attachment = over(&mut memory, false);
        // SAFETY: the source is the segment itself, 8 readable bytes from its start.
        unsafe { attachment.write_raw(2, attachment.as_ptr(), 8) }.unwrap();
        let mut all = [0u8; 10];
        attachment.read(0, &mut all).unwrap();
        assert_eq!(&all, b"0101234567");
    }

    #[test]
    fn strings_need_a_nul_inside_and_room_in_the_buffer() {
        let mut memory = *b"hi\0xxxx";
        let attachment = over(&mut memory, false);
        let mut buf = [9u8; 3];
        assert_eq!(attachment.read_str(0, &mut buf).unwrap(), 2);
        assert_eq!(&buf, b"hi\0");
        assert!(
            attachment.read_str(0, &mut buf[..2]).is_err(),
            "no room for the NUL"
        );
        assert!(
            attachment.read_str(3, &mut [0u8; 16]).is_err(),
            "no NUL before the end"
        );
        assert!(
            attachment.read_str(8, &mut [0u8; 16]).is_err(),
            "at the end"
        );
        assert!(
            attachment.write_str(6, c"ab").is_err(),
            "the NUL would fall outside"
        );
        attachment.write_str(4, c"ab").unwrap();
    }

    #[test]
    fn a_read_only_attachment_refuses_writes_before_touching_memory() {
        let mut memory = [1u8; 8];
        let attachment = over(&mut memory, true);
        let error = attachment.write(0, b"x").unwrap_err();
        assert!(matches!(error, Error::ReadOnly { .. }));
        let mut back = [0u8; 8];
        attachment.read(0, &mut back).unwrap();
        assert_eq!(back, [1u8; 8]);
    }
}
