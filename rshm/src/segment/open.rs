//! `OpenOptions` and `OpenSegment`: a segment created or opened, checked and
//! attached in one step; the Rust form of the C handle API.

use super::attach::Attachment;
use super::region::Region;
use super::{Segment, SegmentInfo};
use crate::error::{msg, Arg, Call, Errno, Error, ErrorKind, FlagNames, Result};
use crate::flags::{AttachFlags, GetFlags, Mode};
use crate::key::Key;
use crate::liveness::process_token;
use crate::options::{object_builders, ObjectOptions};
use crate::sys;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};

/// How many times `open` retries when a segment vanishes between "exists" and "open".
const OPEN_ATTEMPTS: usize = 8;

/// The names of the flags an open call shows, in the order of [`OpenOptions::flag_bits`].
const FLAG_NAMES: &[&str] = &[
    "CREATE",
    "EXCLUSIVE",
    "READ_ONLY",
    "REMOVE_ON_CLOSE",
    "VERIFY_OWNER",
    "HUGE_PAGES",
    "PREFAULT",
];

/// What to open and how: create or open a segment, check it, attach it.
///
/// ```
/// use rshm::OpenOptions;
/// let mut segment = OpenOptions::new().create(true).size(4096).remove_on_close(true).open()?;
/// segment.write(0, b"hello")?;
/// let mut buf = [0u8; 5];
/// segment.read(0, &mut buf)?;
/// assert_eq!(&buf, b"hello");
/// # Ok::<(), rshm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenOptions {
    object: ObjectOptions,
    /// Open the existing segment with this id rather than one found by key.
    id: Option<i32>,
    size: usize,
    read_only: bool,
    remove_on_close: bool,
    huge_pages: bool,
    prefault: bool,
}

object_builders!(OpenOptions, create);

impl OpenOptions {
    /// A private segment (`IPC_PRIVATE`), mode 0600, nothing else set.
    pub fn new() -> OpenOptions {
        OpenOptions::default()
    }

    /// Options for the segment of another object (a channel's) that shares `object`.
    pub(crate) fn from_object(object: ObjectOptions) -> OpenOptions {
        OpenOptions {
            object,
            ..OpenOptions::default()
        }
    }

    /// Open the existing segment with this id (as `shmget` or `ipcs` gave it)
    /// instead of one found by key; `create` does not apply.
    pub fn id(&mut self, id: i32) -> &mut Self {
        self.id = Some(id);
        self
    }

    /// The size in bytes: required to create; when opening, the segment must
    /// have at least this many (0: whatever it has).
    pub fn size(&mut self, size: usize) -> &mut Self {
        self.size = size;
        self
    }

    /// Attach read-only: writes fail with [`ErrorKind::ReadOnly`].
    pub fn read_only(&mut self, read_only: bool) -> &mut Self {
        self.read_only = read_only;
        self
    }

    /// Remove the segment when this handle closes. A private segment is
    /// marked for removal right after attaching, so even SIGKILL leaks nothing.
    pub fn remove_on_close(&mut self, remove_on_close: bool) -> &mut Self {
        self.remove_on_close = remove_on_close;
        self
    }

    /// Back a new segment with huge pages (`SHM_HUGETLB`).
    pub fn huge_pages(&mut self, huge_pages: bool) -> &mut Self {
        self.huge_pages = huge_pages;
        self
    }

    /// Populate every page of the segment when it is opened (writable, or
    /// readable for a read-only attachment), so that first touches later cost
    /// nothing: `MADV_POPULATE_WRITE`/`_READ`, which report a shortage (huge
    /// pages, no swap reserved) as an error. Where the kernel lacks them
    /// (before Linux 5.14) each page is touched with an atomic no-op, which
    /// changes no byte a peer may be writing; a huge-page segment is then
    /// refused instead, since a touch could raise SIGBUS.
    pub fn prefault(&mut self, prefault: bool) -> &mut Self {
        self.prefault = prefault;
        self
    }

    fn flag_bits(&self) -> u32 {
        [
            self.object.create,
            self.object.exclusive,
            self.read_only,
            self.remove_on_close,
            self.object.verify_owner,
            self.huge_pages,
            self.prefault,
        ]
        .iter()
        .enumerate()
        .fold(0, |bits, (i, &on)| bits | u32::from(on) << i)
    }

    /// The call these options make, as messages show it.
    fn call(&self) -> Call {
        let flags = FlagNames {
            bits: self.flag_bits(),
            names: FLAG_NAMES,
        };
        self.object.call("open", Some(self.size), flags)
    }

    /// The checks that need no syscall (`open` makes them first).
    pub fn validate(&self) -> Result<()> {
        self.object.validate(|| self.call())?;
        let invalid = |reason| Error::new(ErrorKind::InvalidArgument, self.call(), reason);
        if self.object.create && self.size == 0 {
            return Err(invalid(msg!("creating a segment needs a size above 0")));
        }
        if self.id.is_some() && self.object.create {
            return Err(invalid(msg!(
                "an id names a segment that exists: CREATE does not apply"
            )));
        }
        if self.object.is_private() && !self.object.create && self.id.is_none() {
            return Err(invalid(msg!(
                "IPC_PRIVATE always makes a new segment: pass CREATE and a size"
            )));
        }
        Ok(())
    }

    /// Opens or creates the segment these options describe, checks it (size,
    /// owner), and attaches it. On failure nothing is left behind: a segment
    /// this call created is removed again.
    pub fn open(&self) -> Result<OpenSegment> {
        self.validate()?;
        if let Some(id) = self.id {
            let segment = Segment::from_id(id);
            let key = segment.stat()?.key;
            return self.finish_open(key, segment, false);
        }
        let key = self.object.resolve_key()?;
        let (segment, created) = self.get_or_create(key)?;
        self.finish_open(key, segment, created).inspect_err(|_| {
            if created {
                let _ = segment.remove();
            }
        })
    }

    /// The segment for `key`, and whether this call created it.
    fn get_or_create(&self, key: Key) -> Result<(Segment, bool)> {
        let mut flags = GetFlags::empty();
        if self.huge_pages {
            flags |= GetFlags::HUGETLB;
        }
        for _ in 0..OPEN_ATTEMPTS {
            if self.object.create {
                // Create exclusively first, so we always know whether we made it.
                let exclusive = flags | GetFlags::CREATE | GetFlags::EXCLUSIVE;
                match Segment::get(key, self.size, exclusive, self.object.mode) {
                    Ok(segment) => return Ok((segment, true)),
                    Err(error) if error.kind() == ErrorKind::Exists && !self.object.exclusive => {}
                    Err(error) => return Err(error),
                }
            }
            // Open what exists: no permission asked here; IPC_STAT and shmat check it.
            match Segment::get(key, 0, GetFlags::empty(), Mode::empty()) {
                Ok(segment) => return Ok((segment, false)),
                // Removed since we saw it exist: try again.
                Err(error) if error.kind() == ErrorKind::NotFound && self.object.create => {}
                Err(error) => return Err(error),
            }
        }
        let reason = msg!(
            "the segment with key {} kept appearing and vanishing; gave up after {} tries",
            key,
            OPEN_ATTEMPTS
        );
        Err(Error::new(ErrorKind::Os, self.call(), reason).with_errno(Errno::new(libc::EAGAIN)))
    }

    fn finish_open(&self, key: Key, segment: Segment, created: bool) -> Result<OpenSegment> {
        // A segment this call made has the size it asked for; one it found is checked.
        let size = if created {
            self.size
        } else {
            self.check_existing(segment)?
        };
        let flags = if self.read_only {
            AttachFlags::READ_ONLY
        } else {
            AttachFlags::empty()
        };
        let attachment = Attachment::new(segment, flags, Some(size))?;
        let open = OpenSegment {
            attachment,
            key,
            remove_on_close: self.remove_on_close,
            opened_by: process_token(),
            removed: AtomicBool::new(false),
        };
        if self.remove_on_close && key == Key::PRIVATE {
            // Nobody can find a private segment by key, so mark it now: it goes
            // with the last detach, even if this process is killed.
            open.remove()?;
        }
        if self.prefault {
            prefault(&open.region(), self.huge_pages)
                .map_err(|reason| Error::new(ErrorKind::NoMemory, self.call(), reason))?;
        }
        Ok(open)
    }

    /// An existing segment must be at least as large as asked and, with
    /// `verify_owner`, made and owned by the caller. Returns its size.
    fn check_existing(&self, segment: Segment) -> Result<usize> {
        let info = segment.stat()?;
        if info.size < self.size {
            let reason = msg!(
                "a segment with this key exists with {} bytes, fewer than requested",
                info.size
            );
            return Err(Error::new(ErrorKind::SizeMismatch, self.call(), reason));
        }
        // SAFETY: geteuid cannot fail.
        let me = unsafe { libc::geteuid() };
        if self.object.verify_owner && (info.cuid != me || info.uid != me) {
            let reason = msg!(
                "segment {} was created by uid {} and is owned by uid {}, not by the caller (uid {}); \
                 someone else may have made it on this key first",
                segment.id(),
                info.cuid,
                info.uid,
                me
            );
            return Err(Error::new(ErrorKind::OwnerMismatch, self.call(), reason));
        }
        Ok(info.size)
    }
}

/// Populates every page of `region` (see [`OpenOptions::prefault`]); the
/// reason when it cannot.
fn prefault(region: &Region, huge_pages: bool) -> std::result::Result<(), crate::error::Message> {
    let advice = if region.is_read_only() {
        sys::MADV_POPULATE_READ
    } else {
        sys::MADV_POPULATE_WRITE
    };
    // SAFETY: the region is this process's attachment; populating changes no byte.
    match unsafe { sys::madvise(region.as_ptr().cast(), region.size(), advice) } {
        Ok(()) => Ok(()),
        Err(errno) if errno.raw() == libc::EINVAL && !huge_pages => {
            touch_every_page(region);
            Ok(())
        }
        Err(errno) if errno.raw() == libc::EINVAL => Err(msg!(
            "this kernel cannot populate pages without the risk of SIGBUS (MADV_POPULATE needs Linux 5.14), \
             and a huge-page segment would raise it when the pool runs out: open without PREFAULT"
        )),
        Err(errno) => Err(msg!(
            "populating the {} bytes failed ({}): not enough memory, huge pages or swap for them",
            region.size(),
            Arg::Str(errno_name(errno))
        )),
    }
}

fn errno_name(errno: Errno) -> &'static str {
    errno.name().unwrap_or("an error")
}

/// Touches each page of `region` without changing a byte: an atomic no-op
/// (`fetch_or(0)`) for a writable one, so a peer's concurrent write is never
/// undone, and a read for a read-only one.
fn touch_every_page(region: &Region) {
    use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
    // SAFETY: sysconf has no preconditions.
    let page = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize).max(1);
    for offset in (0..region.size()).step_by(page) {
        // SAFETY: offset < size, inside the attachment; an AtomicU8 has no alignment need.
        let byte = unsafe { &*(region.as_ptr().add(offset) as *const AtomicU8) };
        if region.is_read_only() {
            byte.load(Relaxed);
        } else {
            byte.fetch_or(0, Relaxed);
        }
    }
}

/// A segment opened and attached by [`OpenOptions::open`]: reads and writes
/// are bounds-checked, and dropping it detaches (and removes, with
/// `remove_on_close`).
///
/// Reads take `&self` and writes `&mut self`, as with [`Attachment`]; other
/// processes may write the same bytes at any time, so order such access
/// with a lock or protocol.
#[derive(Debug)]
pub struct OpenSegment {
    attachment: Attachment,
    key: Key,
    remove_on_close: bool,
    /// The process that opened it (`liveness::process_token`): only it removes
    /// on close. A forked child that closes the handle it inherited releases
    /// its own mapping and removes nothing from under its parent.
    opened_by: u64,
    removed: AtomicBool,
}

impl OpenSegment {
    /// The segment.
    pub fn segment(&self) -> Segment {
        self.attachment.segment()
    }

    /// The segment's id.
    pub fn id(&self) -> i32 {
        self.segment().id()
    }

    /// The key it was opened with (`Key::PRIVATE` for a private one).
    pub fn key(&self) -> Key {
        self.key
    }

    /// The segment's size in bytes (at least the size asked for).
    pub fn size(&self) -> usize {
        self.attachment.size()
    }

    /// The first byte of the segment in this process.
    pub fn as_ptr(&self) -> *mut u8 {
        self.attachment.as_ptr()
    }

    /// Attached read-only.
    pub fn is_read_only(&self) -> bool {
        self.attachment.is_read_only()
    }

    /// The segment's memory as a raw [`Region`], for callers that manage
    /// access themselves (the C face): valid while this handle lives.
    pub fn region(&self) -> Region {
        self.attachment.region()
    }

    /// Copies `data` into the segment at `offset` (bounds-checked).
    #[inline]
    pub fn write(&mut self, offset: usize, data: &[u8]) -> Result<()> {
        self.attachment.write(offset, data)
    }

    /// Copies bytes of the segment from `offset` into `buf` (bounds-checked).
    #[inline]
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.attachment.read(offset, buf)
    }

    /// Writes `text` and its NUL at `offset`.
    pub fn write_str(&mut self, offset: usize, text: &CStr) -> Result<()> {
        self.attachment.write_str(offset, text)
    }

    /// Reads the string at `offset` into `buf` with its NUL; returns its length.
    pub fn read_str(&self, offset: usize, buf: &mut [u8]) -> Result<usize> {
        self.attachment.read_str(offset, buf)
    }

    /// What the kernel knows of the segment now.
    pub fn stat(&self) -> Result<SegmentInfo> {
        self.segment().stat()
    }

    /// Marks the segment for removal (`IPC_RMID`): its key is free at once,
    /// and its memory stays usable until every attachment is gone.
    pub fn remove(&self) -> Result<()> {
        if self.removed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.segment()
            .remove()
            .inspect_err(|_| self.removed.store(false, Ordering::Release))
    }

    /// Whether this close removes the segment: `remove_on_close`, in the
    /// process that opened it (not in a forked child).
    fn removes_on_close(&self) -> bool {
        self.remove_on_close && self.opened_by == process_token()
    }

    /// Whether the calling process is the one that opened this handle (not
    /// a forked child that inherited it).
    pub fn opened_here(&self) -> bool {
        self.opened_by == process_token()
    }

    /// Detaches (and removes, with `remove_on_close`, in the process that
    /// opened it), reporting a failed removal that dropping would swallow.
    pub fn close(self) -> Result<()> {
        let removed = if self.removes_on_close() {
            self.remove()
        } else {
            Ok(())
        };
        drop(self); // removal is done (or failed and is retried once, silently); this detaches
        removed
    }
}

impl Drop for OpenSegment {
    fn drop(&mut self) {
        if self.removes_on_close() {
            let _ = self.remove();
        }
        // The attachment detaches itself.
    }
}
