//! `rshm_options`, what a C caller asks `rshm_open` and the sync
//! constructors for, and its conversion into the Rust API's options: C values
//! become typed ones here (undefined flag bits are refused, `path` becomes an
//! ftok key); the rules of each use are checked by the Rust API that receives them.
//!
//! The struct can grow without breaking callers: its first field is the size
//! the caller was compiled with (0 meaning this layout), and only that many
//! bytes are read; a newer caller's extra fields must be zero (options this
//! library does not know are refused, never ignored).

use libc::{c_char, c_int, c_uint, key_t};
use rshm::{
    msg, ChannelOptions, Error, ErrorKind, Key, Mode, OpenOptions, QueueOptions, Result,
    SemaphoreOptions,
};

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
/// rshm_options.flags: open the existing segment whose id is `id` (as shmget
/// or ipcs gave it) instead of one found by key or path; RSHM_CREATE does not apply.
pub const RSHM_BY_ID: c_uint = 1 << 6;
/// rshm_options.flags: populate every page at open (MADV_POPULATE_WRITE, or
/// _READ when read-only), so first touches later cost nothing; a shortage of
/// memory or huge pages is RSHM_ERR_NO_MEMORY, never a SIGBUS later.
pub const RSHM_PREFAULT: c_uint = 1 << 7;

const ALL_FLAGS: c_uint = RSHM_CREATE
    | RSHM_EXCLUSIVE
    | RSHM_READ_ONLY
    | RSHM_REMOVE_ON_CLOSE
    | RSHM_VERIFY_OWNER
    | RSHM_HUGE_PAGES
    | RSHM_BY_ID
    | RSHM_PREFAULT;

/// What to open. Start from `RSHM_OPTIONS_INIT` (or rshm_options_init, or
/// zero it: a zeroed struct is this layout), set the fields you need by
/// name, then call rshm_open or a sync constructor.
#[repr(C)]
#[derive(Clone, Copy)]
#[allow(non_camel_case_types)]
pub struct rshm_options {
    /// sizeof(rshm_options) as the caller was compiled with (RSHM_OPTIONS_INIT
    /// and rshm_options_init set it; 0 means this layout): lets the struct
    /// grow without breaking callers built against an older one.
    pub struct_size: usize,
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
    /// With RSHM_BY_ID: the id of the existing segment to open.
    pub id: c_int,
}

/// The smallest layout a caller may have been built with: the fields up to
/// `flags` (every layout has them).
const SMALLEST_LAYOUT: usize =
    std::mem::offset_of!(rshm_options, flags) + std::mem::size_of::<c_uint>();
/// Sizes beyond this are not a layout at all, but a caller's garbage.
const LARGEST_LAYOUT: usize = 4096;

impl rshm_options {
    /// This layout with every field zero but `struct_size` (what RSHM_OPTIONS_INIT gives).
    pub(crate) const INIT: rshm_options = rshm_options {
        struct_size: std::mem::size_of::<rshm_options>(),
        path: std::ptr::null(),
        proj_id: 0,
        key: 0,
        size: 0,
        mode: 0,
        flags: 0,
        id: 0,
    };
}

/// The caller's options in this library's layout, from `opts` (not NULL).
/// Only the bytes of the caller's layout are read (fields it lacks are
/// zero); bytes of a newer layout beyond ours must be zero.
fn read_options(opts: *const rshm_options) -> Result<rshm_options> {
    let ours = std::mem::size_of::<rshm_options>();
    let invalid = |reason| {
        Err(Error::new(
            ErrorKind::InvalidArgument,
            rshm::error::Call::Unnamed,
            reason,
        ))
    };
    // SAFETY: every layout starts with struct_size; opts is not NULL (checked by the caller).
    let declared = unsafe { opts.cast::<usize>().read_unaligned() };
    let theirs = match declared {
        0 => ours,
        size if !(SMALLEST_LAYOUT..=LARGEST_LAYOUT).contains(&size) => {
            return invalid(msg!(
            "opts->struct_size is {}, which is no layout of rshm_options (this library's is {}): \
                 start from RSHM_OPTIONS_INIT",
            size,
            ours
        ))
        }
        size => size,
    };
    let base = opts.cast::<u8>();
    if theirs > ours {
        // SAFETY: the caller's struct is `theirs` bytes long (its struct_size says so).
        let extra = unsafe { std::slice::from_raw_parts(base.add(ours), theirs - ours) };
        if extra.iter().any(|&byte| byte != 0) {
            return invalid(msg!(
                "opts sets options of a newer rshm (struct_size {}) that this library ({} bytes) does not know",
                theirs,
                ours
            ));
        }
    }
    let mut copy = rshm_options::INIT;
    // SAFETY: the caller's struct has at least min(theirs, ours) bytes, and any bytes are
    // valid for rshm_options's plain fields (the path pointer is only used if not NULL).
    unsafe {
        std::ptr::copy_nonoverlapping(
            base,
            (&mut copy as *mut rshm_options).cast::<u8>(),
            theirs.min(ours),
        );
    }
    copy.struct_size = ours;
    Ok(copy)
}

/// Fills `*opts` with `RSHM_OPTIONS_INIT`: this layout, every option unset.
/// NULL is ignored.
#[no_mangle]
pub extern "C" fn rshm_options_init(opts: *mut rshm_options) {
    if !opts.is_null() {
        // SAFETY: opts points to a struct the caller owns; a raw write reads nothing.
        unsafe { opts.write(rshm_options::INIT) };
    }
}

/// The caller's options, read in this library's layout, with the values every use shares typed.
struct Common {
    opts: rshm_options,
    key: Key,
    mode: Mode,
}

impl Common {
    fn has(&self, flag: c_uint) -> bool {
        self.opts.flags & flag != 0
    }

    /// `InvalidArgument` if `flag` is set: it does not apply to `what`.
    fn refuse(&self, flag: c_uint, reason: rshm::error::Message) -> Result<()> {
        if self.has(flag) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                rshm::error::Call::Unnamed,
                reason,
            ));
        }
        Ok(())
    }
}

fn common(opts: *const rshm_options) -> Result<Common> {
    crate::boundary::require(opts, "opts")?;
    let opts = read_options(opts)?;
    let unknown = opts.flags & !ALL_FLAGS;
    if unknown != 0 {
        let call = rshm::error::Call::Unnamed;
        let reason = msg!(
            "flags has undefined bits {}",
            rshm::error::Arg::Hex(unknown.into())
        );
        return Err(Error::new(ErrorKind::InvalidArgument, call, reason));
    }
    let key = if opts.path.is_null() || opts.flags & RSHM_BY_ID != 0 {
        Key::from_raw(opts.key)
    } else {
        // SAFETY: a non-NULL path is a C string by the API's contract.
        unsafe { Key::ftok_ptr(opts.path, opts.proj_id, rshm::Validation::Strict) }?
    };
    let mode = match opts.mode {
        0 => Mode::OWNER_RW,
        mode => Mode::from_bits_retain(mode),
    };
    Ok(Common { opts, key, mode })
}

/// The options of a segment (rshm_open).
pub(crate) fn segment_options(opts: *const rshm_options) -> Result<OpenOptions> {
    let c = common(opts)?;
    let mut options = OpenOptions::new();
    options
        .key(c.key)
        .mode(c.mode)
        .size(c.opts.size)
        .create(c.has(RSHM_CREATE))
        .exclusive(c.has(RSHM_EXCLUSIVE))
        .read_only(c.has(RSHM_READ_ONLY))
        .remove_on_close(c.has(RSHM_REMOVE_ON_CLOSE))
        .verify_owner(c.has(RSHM_VERIFY_OWNER))
        .huge_pages(c.has(RSHM_HUGE_PAGES))
        .prefault(c.has(RSHM_PREFAULT));
    if c.has(RSHM_BY_ID) {
        options.id(c.opts.id);
    }
    Ok(options)
}

/// The options of a semaphore (rshm_sem_open): size and the segment's flags do not apply.
pub(crate) fn semaphore_options(
    opts: *const rshm_options,
    initial: u16,
) -> Result<SemaphoreOptions> {
    let c = common(opts)?;
    c.refuse(
        RSHM_BY_ID,
        msg!("RSHM_BY_ID opens segments: a semaphore is opened by its key"),
    )?;
    let mut options = SemaphoreOptions::new();
    options
        .key(c.key)
        .mode(c.mode)
        .create(c.has(RSHM_CREATE))
        .exclusive(c.has(RSHM_EXCLUSIVE))
        .verify_owner(c.has(RSHM_VERIFY_OWNER))
        .initial(initial);
    Ok(options)
}

/// The options of a channel (rshm_channel_create and _open): it is created
/// by its own call, so RSHM_CREATE and RSHM_EXCLUSIVE do not apply; both
/// ends write the segment, so RSHM_READ_ONLY is refused.
pub(crate) fn channel_options(opts: *const rshm_options) -> Result<ChannelOptions> {
    let c = common(opts)?;
    c.refuse(
        RSHM_READ_ONLY,
        msg!("both ends of a channel write its segment: RSHM_READ_ONLY does not apply to channels"),
    )?;
    c.refuse(
        RSHM_BY_ID,
        msg!("RSHM_BY_ID opens segments: a channel is opened by its key"),
    )?;
    let mut options = ChannelOptions::new();
    options
        .key(c.key)
        .mode(c.mode)
        .verify_owner(c.has(RSHM_VERIFY_OWNER))
        .remove_on_close(c.has(RSHM_REMOVE_ON_CLOSE));
    Ok(options)
}

/// The options of a message queue (rshm_queue_open): key or path, mode,
/// RSHM_CREATE, RSHM_EXCLUSIVE and RSHM_VERIFY_OWNER. Everything that belongs
/// to a segment (a size, RSHM_READ_ONLY, RSHM_REMOVE_ON_CLOSE, RSHM_HUGE_PAGES,
/// RSHM_PREFAULT, RSHM_BY_ID and its id) is refused, each by name, never ignored.
pub(crate) fn queue_options(opts: *const rshm_options) -> Result<QueueOptions> {
    let c = common(opts)?;
    if c.opts.size != 0 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            rshm::error::Call::Unnamed,
            msg!(
                "size is {}, but a queue has no size (kernel.msgmnb bounds its bytes): leave it 0",
                c.opts.size
            ),
        ));
    }
    for (flag, name) in [
        (RSHM_READ_ONLY, "RSHM_READ_ONLY"),
        (RSHM_REMOVE_ON_CLOSE, "RSHM_REMOVE_ON_CLOSE"),
        (RSHM_HUGE_PAGES, "RSHM_HUGE_PAGES"),
        (RSHM_PREFAULT, "RSHM_PREFAULT"),
        (RSHM_BY_ID, "RSHM_BY_ID"),
    ] {
        c.refuse(
            flag,
            msg!("{} applies to segments, not to message queues", name),
        )?;
    }
    let mut options = QueueOptions::new();
    options
        .key(c.key)
        .mode(c.mode)
        .create(c.has(RSHM_CREATE))
        .exclusive(c.has(RSHM_EXCLUSIVE))
        .verify_owner(c.has(RSHM_VERIFY_OWNER));
    Ok(options)
}
