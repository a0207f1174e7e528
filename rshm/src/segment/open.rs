//! `OpenOptions` and `OpenSegment`: a segment created or opened, attached,
//! and bounds-checked, in one step; the Rust form of the C handle API.

use crate::error::{Error, Result};
use crate::flags::{AttachFlags, GetFlags, Mode};
use crate::key::Key;
use crate::segment::attach::Attachment;
use crate::segment::{Segment, SegmentInfo};
use std::ffi::CStr;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// How many times `open` retries when a segment vanishes between "exists" and "open".
const OPEN_ATTEMPTS: usize = 8;

/// Where the key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeySource {
    Key(Key),
    Path(PathBuf, i32),
}

/// What to open and how: the options of [`Segment::open`].
///
/// ```
/// use rshm::{OpenOptions, Segment};
/// let segment = Segment::open(OpenOptions::new().create(true).size(4096).remove_on_close(true))?;
/// segment.write(0, b"hello")?;
/// let mut buf = [0u8; 5];
/// segment.read(0, &mut buf)?;
/// assert_eq!(&buf, b"hello");
/// # Ok::<(), rshm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    key: KeySource,
    size: usize,
    mode: Mode,
    create: bool,
    exclusive: bool,
    read_only: bool,
    remove_on_close: bool,
    verify_owner: bool,
    huge_pages: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// A private segment (`IPC_PRIVATE`), mode 0600, nothing else set.
    pub fn new() -> OpenOptions {
        OpenOptions {
            key: KeySource::Key(Key::PRIVATE),
            size: 0,
            mode: Mode::OWNER_RW,
            create: false,
            exclusive: false,
            read_only: false,
            remove_on_close: false,
            verify_owner: false,
            huge_pages: false,
        }
    }

    /// Use this key.
    pub fn key(&mut self, key: Key) -> &mut Self {
        self.key = KeySource::Key(key);
        self
    }

    /// Use the key `ftok(path, proj_id)`.
    pub fn path(&mut self, path: impl AsRef<Path>, proj_id: i32) -> &mut Self {
        self.key = KeySource::Path(path.as_ref().to_path_buf(), proj_id);
        self
    }

    /// The size in bytes: required to create; when opening, the segment must
    /// have at least this many (0: whatever it has).
    pub fn size(&mut self, size: usize) -> &mut Self {
        self.size = size;
        self
    }

    /// Permission bits for a new segment (default 0600; never widened).
    pub fn mode(&mut self, mode: Mode) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Create the segment if the key has none.
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// With `create`: fail with `Exists` if the key has a segment already.
    pub fn exclusive(&mut self, exclusive: bool) -> &mut Self {
        self.exclusive = exclusive;
        self
    }

    /// Attach read-only: writes fail with `ReadOnly`.
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

    /// Refuse an existing segment unless its creator and owner are the calling user.
    pub fn verify_owner(&mut self, verify_owner: bool) -> &mut Self {
        self.verify_owner = verify_owner;
        self
    }

    /// Back a new segment with huge pages (`SHM_HUGETLB`).
    pub fn huge_pages(&mut self, huge_pages: bool) -> &mut Self {
        self.huge_pages = huge_pages;
        self
    }

    /// Opens (or creates) and attaches the segment: see [`Segment::open`].
    pub fn open(&self) -> Result<OpenSegment> {
        Segment::open(self)
    }

    fn call(&self) -> String {
        let mut call = String::from("open(");
        match &self.key {
            KeySource::Key(key) => {
                let _ = write!(call, "key={key}");
            }
            KeySource::Path(path, proj_id) => {
                let _ = write!(call, "path={:?}, proj_id={proj_id}", path.to_string_lossy());
            }
        }
        let _ = write!(
            call,
            ", size={}, mode={:04o}, flags=",
            self.size,
            self.mode.bits()
        );
        let names = [
            (self.create, "CREATE"),
            (self.exclusive, "EXCLUSIVE"),
            (self.read_only, "READ_ONLY"),
            (self.remove_on_close, "REMOVE_ON_CLOSE"),
            (self.verify_owner, "VERIFY_OWNER"),
            (self.huge_pages, "HUGE_PAGES"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| *name)
            .collect();
        call.push_str(if set.is_empty() { "0" } else { "" });
        call.push_str(&set.join("|"));
        call.push(')');
        call
    }

    fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::InvalidArgument {
            call: self.call(),
            reason: reason.into(),
        }
    }

    /// The key these options name (ftok of the path, if one was given).
    pub fn resolve_key(&self) -> Result<Key> {
        match &self.key {
            KeySource::Key(key) => Ok(*key),
            KeySource::Path(path, proj_id) => Key::ftok(path, *proj_id),
        }
    }

    pub(crate) fn create_flag(&self) -> bool {
        self.create
    }

    pub(crate) fn exclusive_flag(&self) -> bool {
        self.exclusive
    }

    pub(crate) fn verify_owner_flag(&self) -> bool {
        self.verify_owner
    }

    pub(crate) fn mode_bits(&self) -> u32 {
        self.mode.bits()
    }

    /// The checks every SysV object shares (segments and semaphores alike).
    pub(crate) fn validate_mode_and_flags(&self) -> Result<()> {
        if self.mode.bits() & !Mode::all().bits() != 0 {
            return Err(self.invalid(format!("mode 0{:o} has bits beyond 0777", self.mode.bits())));
        }
        if self.exclusive && !self.create {
            return Err(self.invalid("EXCLUSIVE needs CREATE"));
        }
        Ok(())
    }

    /// The checks that need no syscall (`open` makes them first).
    pub fn validate(&self) -> Result<()> {
        self.validate_mode_and_flags()?;
        if self.create && self.size == 0 {
            return Err(self.invalid("creating a segment needs a size above 0"));
        }
        if self.key == KeySource::Key(Key::PRIVATE) && !self.create {
            return Err(
                self.invalid("IPC_PRIVATE always makes a new segment: pass CREATE and a size")
            );
        }
        Ok(())
    }
}

/// A segment opened and attached by [`Segment::open`]: reads and writes are
/// bounds-checked, and dropping it detaches (and removes, with `remove_on_close`).
///
/// It may be shared between threads: reads, writes, `stat` and `remove` take
/// `&self`. Bytes written by one thread (or process) while another reads the
/// same bytes may be seen half-written; order such access with a lock or protocol.
#[derive(Debug)]
pub struct OpenSegment {
    attachment: Attachment,
    key: Key,
    remove_on_close: bool,
    removed: AtomicBool,
}

impl Segment {
    /// Opens or creates the segment `options` describe, checks it (size,
    /// owner), and attaches it. On failure nothing is left behind: a segment
    /// this call created is removed again.
    pub fn open(options: &OpenOptions) -> Result<OpenSegment> {
        options.validate()?;
        let key = options.resolve_key()?;
        let (segment, created) = get_or_create(options, key)?;
        finish_open(options, key, segment, created).inspect_err(|_| {
            if created {
                let _ = segment.remove();
            }
        })
    }
}

/// The segment for `key`, and whether this call created it.
fn get_or_create(options: &OpenOptions, key: Key) -> Result<(Segment, bool)> {
    let mut flags = GetFlags::empty();
    if options.huge_pages {
        flags |= GetFlags::HUGETLB;
    }
    for _ in 0..OPEN_ATTEMPTS {
        if options.create {
            // Create exclusively first, so we always know whether we made it.
            let exclusive = flags | GetFlags::CREATE | GetFlags::EXCLUSIVE;
            match Segment::get(key, options.size, exclusive, options.mode) {
                Ok(segment) => return Ok((segment, true)),
                Err(Error::Exists { .. }) if !options.exclusive => {}
                Err(error) => return Err(error),
            }
        }
        // Open what exists: no permission asked here; IPC_STAT and shmat check it.
        match Segment::get(key, 0, GetFlags::empty(), Mode::empty()) {
            Ok(segment) => return Ok((segment, false)),
            // Removed since we saw it exist: try again.
            Err(Error::NotFound { .. }) if options.create => {}
            Err(error) => return Err(error),
        }
    }
    Err(Error::Os {
        call: options.call(),
        reason: format!("the segment with key {key} kept appearing and vanishing; gave up after {OPEN_ATTEMPTS} tries"),
        errno: crate::Errno(libc::EAGAIN),
    })
}

fn finish_open(
    options: &OpenOptions,
    key: Key,
    segment: Segment,
    created: bool,
) -> Result<OpenSegment> {
    // A segment this call made has the size it asked for; one it found is checked.
    let size = if created {
        options.size
    } else {
        check_existing(options, segment)?
    };
    let flags = if options.read_only {
        AttachFlags::READ_ONLY
    } else {
        AttachFlags::empty()
    };
    let attachment = segment.attach_sized(flags, Some(size))?;
    let open = OpenSegment {
        attachment,
        key,
        remove_on_close: options.remove_on_close,
        removed: AtomicBool::new(false),
    };
    if options.remove_on_close && key == Key::PRIVATE {
        // Nobody can find a private segment by key, so mark it now: it goes
        // with the last detach, even if this process is killed.
        open.remove()?;
    }
    Ok(open)
}

/// An existing segment must be at least as large as asked and, with
/// `verify_owner`, made and owned by the caller. Returns its size.
fn check_existing(options: &OpenOptions, segment: Segment) -> Result<usize> {
    let info = segment.stat()?;
    if info.size < options.size {
        return Err(Error::SizeMismatch {
            call: options.call(),
            requested: options.size,
            actual: info.size,
        });
    }
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if options.verify_owner && (info.cuid != me || info.uid != me) {
        return Err(Error::OwnerMismatch {
            call: options.call(),
            reason: format!(
                "segment {} was created by uid {} and is owned by uid {}, not by the caller (uid {me}); \
                 someone else may have made it on this key first",
                segment.id(),
                info.cuid,
                info.uid
            ),
        });
    }
    Ok(info.size)
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

    /// The attachment, for its bounds-checked `read`, `write`, `read_str` and `write_str`.
    pub fn attachment(&self) -> &Attachment {
        &self.attachment
    }

    /// Copies `data` into the segment at `offset` (bounds-checked).
    #[inline]
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<()> {
        self.attachment.write(offset, data)
    }

    /// Copies bytes of the segment from `offset` into `buf` (bounds-checked).
    #[inline]
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        self.attachment.read(offset, buf)
    }

    /// Writes `text` and its NUL at `offset`.
    pub fn write_str(&self, offset: usize, text: &CStr) -> Result<()> {
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

    /// Detaches (and removes, with `remove_on_close`), reporting a failed
    /// removal that dropping would swallow.
    pub fn close(self) -> Result<()> {
        let removed = if self.remove_on_close {
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
        if self.remove_on_close {
            let _ = self.remove();
        }
        // The attachment detaches itself.
    }
}
