//! `Attachment`: a segment mapped into this process, detached when dropped;
//! and the raw `shmat`/`shmdt` of the C face, recorded in the registry.

use crate::error::{Errno, Error, Result};
use crate::flags::{AttachFlags, ShmatFlagsDisplay, Validation};
use crate::registry::{self, AttachmentRecord};
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
        // SAFETY: with a NULL address the kernel picks an unused range, so nothing is replaced.
        let addr = unsafe { self.attach_raw(std::ptr::null(), flags, Validation::Strict) }?;
        let info = match self.stat() {
            Ok(info) => info,
            Err(error) => {
                // SAFETY: addr was attached just now and nobody has seen it.
                let _ = unsafe { detach_raw(addr) };
                return Err(error);
            }
        };
        registry::insert(
            addr as usize,
            AttachmentRecord {
                shmid: self.id(),
                size: info.size,
                read_only: flags.contains(AttachFlags::READ_ONLY),
            },
        );
        Ok(Attachment {
            // The kernel never maps a segment at address 0.
            addr: NonNull::new(addr.cast()).expect("shmat returned NULL"),
            size: info.size,
            segment: self,
            read_only: flags.contains(AttachFlags::READ_ONLY),
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
        if validation == Validation::Strict && !AttachFlags::all().contains(flags) {
            return Err(refuse_attach_flags(self, addr, flags));
        }
        // SAFETY: forwarded contract.
        let mapped = unsafe { sys::shmat(self.id(), addr, flags.bits() as i32) }
            .map_err(|errno| explain_attach(errno, self, addr, flags))?;
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

fn shmat_call(shmid: i32, addr: *const c_void, flags: AttachFlags) -> String {
    let flags = ShmatFlagsDisplay(flags.bits() as i32);
    if addr.is_null() {
        format!("shmat(shmid={shmid}, shmaddr=NULL, flags={flags})")
    } else {
        format!("shmat(shmid={shmid}, shmaddr={addr:p}, flags={flags})")
    }
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
    let call = if addr.is_null() {
        "shmdt(shmaddr=NULL)".to_string()
    } else {
        format!("shmdt(shmaddr={addr:p})")
    };
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
