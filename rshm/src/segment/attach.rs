//! `Attachment`: a segment mapped into this process, detached when dropped;
//! and `shmat`/`shmdt` at an address, as the libc face makes them, recorded
//! in the registry so that a wrong address can be explained.

use super::held;
use super::region::Region;
use super::registry::{self, AttachmentRecord};
use super::Segment;
use crate::error::{msg, Arg, Call, Errno, Error, ErrorKind, Result};
use crate::flags::{AttachFlags, Validation};
use crate::sys;
use libc::c_void;
use std::ffi::CStr;
use std::ptr::NonNull;

/// A segment attached to this process. Dropping it detaches it (`shmdt`).
///
/// Reads take `&self` and writes `&mut self`, so threads of this process
/// never write the same bytes at once through safe code. Other processes may
/// write them at any time: order such access with a lock or a protocol.
#[derive(Debug)]
pub struct Attachment {
    region: Region,
    segment: Segment,
}

impl Attachment {
    /// Attaches `segment` wherever the kernel chooses; `size` is its size
    /// when the caller knows it already (no `IPC_STAT` then).
    pub(crate) fn new(
        segment: Segment,
        flags: AttachFlags,
        size: Option<usize>,
    ) -> Result<Attachment> {
        // SAFETY: with a NULL address the kernel picks an unused range, so nothing is replaced.
        let addr = unsafe { shmat(segment, std::ptr::null(), flags, Validation::Strict) }?;
        let size = match size.map_or_else(|| segment.stat().map(|info| info.size), Ok) {
            Ok(size) => size,
            Err(error) => {
                // SAFETY: addr was attached just now and nobody has seen it.
                let _ = unsafe { sys::shmdt(addr) };
                return Err(error);
            }
        };
        let read_only = flags.contains(AttachFlags::READ_ONLY);
        let record = AttachmentRecord {
            shmid: segment.id(),
            size,
            read_only,
        };
        registry::insert(addr as usize, record);
        // A successful shmat never maps at address 0 (mmap_min_addr forbids it).
        let addr = NonNull::new(addr.cast()).unwrap_or(NonNull::dangling());
        Ok(Attachment {
            region: Region::new(addr, size, read_only, segment.id()),
            segment,
        })
    }

    /// The first byte of the segment in this process.
    pub fn as_ptr(&self) -> *mut u8 {
        self.region.as_ptr()
    }

    /// The segment's size in bytes.
    pub fn size(&self) -> usize {
        self.region.size()
    }

    /// The segment this is an attachment of.
    pub fn segment(&self) -> Segment {
        self.segment
    }

    /// Attached with `SHM_RDONLY`.
    pub fn is_read_only(&self) -> bool {
        self.region.is_read_only()
    }

    /// The attachment's memory as a raw [`Region`], for callers that manage
    /// access themselves (the C face): valid while this attachment lives.
    pub fn region(&self) -> Region {
        self.region
    }

    /// Copies `data` into the segment at `offset`. The range must lie inside
    /// the segment (checked without overflow); writing through a read-only
    /// attachment is [`ErrorKind::ReadOnly`], never a fault.
    ///
    /// ```
    /// # use rshm::{AttachFlags, GetFlags, Key, Mode, Segment};
    /// # let segment = Segment::get(Key::PRIVATE, 16, GetFlags::CREATE, Mode::OWNER_RW)?;
    /// let mut attachment = segment.attach(AttachFlags::empty())?;
    /// attachment.write(10, b"123456")?; // ends exactly at the end: fine
    /// assert!(attachment.write(11, b"123456").is_err());
    /// let mut buf = [0u8; 6];
    /// attachment.read(10, &mut buf)?;
    /// assert_eq!(&buf, b"123456");
    /// # segment.remove()?;
    /// # Ok::<(), rshm::Error>(())
    /// ```
    #[inline]
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        // SAFETY: self keeps the mapping in place; data is readable for its length.
        unsafe { self.region.write_from(offset, data.as_ptr(), data.len()) }
    }

    /// Copies `buf.len()` bytes of the segment, from `offset`, into `buf`.
    #[inline]
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        // SAFETY: self keeps the mapping in place; buf is writable for its length.
        unsafe { self.region.read_into(offset, buf.as_mut_ptr(), buf.len()) }
    }

    /// Writes `text` with its terminating NUL at `offset`.
    pub fn write_str(&mut self, offset: usize, text: &CStr) -> Result<()> {
        self.write(offset, text.to_bytes_with_nul())
    }

    /// Reads the NUL-terminated string at `offset` into `buf`, NUL included,
    /// and returns its length. Fails when no NUL lies between `offset` and the
    /// end of the segment, or when the string and its NUL do not fit `buf`;
    /// `buf` is then left as it was.
    pub fn read_str(&self, offset: usize, buf: &mut [u8]) -> Result<usize> {
        // SAFETY: self keeps the mapping in place; buf is writable for its length.
        unsafe {
            self.region
                .read_str_into(offset, buf.as_mut_ptr(), buf.len())
        }
    }

    /// Detaches now, reporting a failure that dropping would swallow.
    pub fn detach(self) -> Result<()> {
        self.release_held_locks();
        let addr = self.into_raw();
        // SAFETY: self is consumed, so nothing uses the mapping any more.
        unsafe { detach(addr) }
    }

    /// Keeps the mapping and gives up ownership: [`detach`](crate::detach) undoes it.
    pub fn into_raw(self) -> *mut c_void {
        let addr = self.as_ptr().cast();
        std::mem::forget(self);
        addr
    }
}

impl Attachment {
    /// Releases, as owner-died, the mutexes this process holds inside the
    /// attachment: none is left held in memory that goes.
    fn release_held_locks(&self) {
        let start = self.as_ptr() as usize;
        held::release_in(start, start + self.size());
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.release_held_locks();
        // SAFETY: the attachment is going away, so nothing uses the mapping any more.
        // A failure means the mapping is gone already (e.g. the caller unmapped it).
        let _ = unsafe { detach(self.as_ptr().cast()) };
    }
}

/// `shmat(id, addr, flags)` as libc does it, recorded in the registry.
///
/// # Safety
/// As [`Segment::attach_at`].
#[inline]
pub(crate) unsafe fn attach_at(
    segment: Segment,
    addr: *const c_void,
    flags: AttachFlags,
    validation: Validation,
) -> Result<*mut c_void> {
    // SAFETY: forwarded contract.
    let mapped = unsafe { shmat(segment, addr, flags, validation) }?;
    let mut record = AttachmentRecord {
        shmid: segment.id(),
        size: 0,
        read_only: flags.contains(AttachFlags::READ_ONLY),
    };
    if flags.contains(AttachFlags::REMAP) {
        // The kernel replaced whatever was in the range, our attachments included.
        record.size = segment.stat().map_or(0, |info| info.size);
        registry::remove_range(
            mapped as usize,
            mapped as usize + round_to_pages(record.size.max(1)),
        );
    }
    registry::insert(mapped as usize, record);
    Ok(mapped)
}

/// The checked `shmat` syscall alone, explained on failure; nothing is recorded.
///
/// # Safety
/// As [`Segment::attach_at`].
#[inline]
unsafe fn shmat(
    segment: Segment,
    addr: *const c_void,
    flags: AttachFlags,
    validation: Validation,
) -> Result<*mut c_void> {
    if validation == Validation::Strict && !AttachFlags::all().contains(flags) {
        return Err(refuse_attach_flags(segment, addr, flags));
    }
    // SAFETY: forwarded contract.
    unsafe { sys::shmat(segment.id(), addr, flags.bits() as i32) }
        .map_err(|errno| explain_attach(errno, segment, addr, flags))
}

/// `shmdt(addr)` as libc does it: detaches the segment attached at `addr`,
/// which must be where it starts; a wrong address is explained from the
/// registry of this process's attachments.
///
/// # Safety
/// Nothing may use the memory at `addr` afterwards.
#[inline]
pub unsafe fn detach(addr: *const c_void) -> Result<()> {
    // Forget it first: once the kernel unmaps it, another thread may attach at the same address.
    let record = registry::remove(addr as usize);
    // SAFETY: forwarded contract.
    match unsafe { sys::shmdt(addr) } {
        Ok(()) => Ok(()),
        Err(errno) => Err(explain_detach(errno, addr, record)),
    }
}

fn shmat_call(segment: Segment, addr: *const c_void, flags: AttachFlags) -> Call {
    Call::Shmat {
        shmid: segment.id(),
        addr: addr as usize,
        shmflg: flags.bits() as i32,
    }
}

#[cold]
#[inline(never)]
fn refuse_attach_flags(segment: Segment, addr: *const c_void, flags: AttachFlags) -> Error {
    let undefined = flags.bits() & !AttachFlags::all().bits();
    let reason = msg!(
        "flags has undefined bits 0{}; shmat accepts SHM_RDONLY, SHM_RND, SHM_REMAP \
         and SHM_EXEC (permission bits belong to shmget)",
        Arg::Octal(undefined)
    );
    Error::new(
        ErrorKind::InvalidArgument,
        shmat_call(segment, addr, flags),
        reason,
    )
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
    let call = shmat_call(segment, addr, flags);
    let shmlba = page_size();
    let reason = match errno.raw() {
        libc::EINVAL if segment.id() < 0 => msg!("the segment id must not be negative"),
        libc::EINVAL
            if !addr.is_null() && addr as usize % shmlba != 0 && !flags.contains(AttachFlags::ROUND) =>
        {
            msg!("shmaddr is not a multiple of SHMLBA ({}) and SHM_RND was not given", shmlba)
        }
        libc::EINVAL if flags.contains(AttachFlags::REMAP) && (addr as usize) < shmlba => {
            msg!("SHM_REMAP needs a shmaddr (after rounding, it is NULL)")
        }
        libc::EINVAL => match segment.stat() {
            Err(error) if error.errno() == libc::EINVAL => msg!("no segment has id {}", segment.id()),
            _ => msg!(
                "the address range cannot take the segment: it overlaps a mapping (and SHM_REMAP was not \
                 given) or lies outside the address space"
            ),
        },
        libc::EACCES if flags.contains(AttachFlags::READ_ONLY) => {
            msg!("the segment's mode does not grant the caller read permission")
        }
        libc::EACCES => msg!("the segment's mode does not grant the caller read and write permission"),
        libc::EIDRM => msg!("segment {} was removed", segment.id()),
        libc::ENOMEM => msg!("no memory or address space is left to map the segment"),
        _ => msg!("the kernel refused the call"),
    };
    Error::from_errno(errno, call, reason)
}

/// Why `shmdt` failed: usually an address inside a segment rather than at its start.
#[cold]
#[inline(never)]
fn explain_detach(errno: Errno, addr: *const c_void, stale: Option<AttachmentRecord>) -> Error {
    let call = Call::Shmdt {
        addr: addr as usize,
    };
    let at = Arg::Pointer(addr as usize);
    let reason = if addr.is_null() {
        msg!("shmaddr is NULL")
    } else if let Some(record) = stale {
        msg!(
            "segment {} was attached here, but the mapping is gone (unmapped or detached behind rshm)",
            record.shmid
        )
    } else {
        match containing_attachment(addr as usize) {
            Some((start, record)) => msg!(
                "{} is inside segment {} attached at {}; pass the start address",
                at,
                record.shmid,
                Arg::Pointer(start)
            ),
            None if registry::overflowed() => msg!(
                "no segment that rshm recorded is attached at {} (rshm records {} attachments; \
                 beyond that they work unrecorded, so it cannot say more)",
                at,
                registry::CAPACITY
            ),
            None => msg!("no shared memory segment is attached at {}", at),
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
