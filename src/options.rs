//! `rshm_options`, what a C caller asks `rshm_open` and the sync
//! constructors for, and its conversion into the Rust API's options: C values
//! become typed ones here (undefined flag bits are refused, `path` becomes an
//! ftok key); the rules of each use are checked by the Rust API that receives them.

use libc::{c_char, c_int, c_uint, key_t};
use rshm::{
    msg, ChannelOptions, Error, ErrorKind, Key, Mode, OpenOptions, Result, SemaphoreOptions,
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

/// The typed values every use shares.
struct Common {
    key: Key,
    mode: Mode,
    flags: c_uint,
}

impl Common {
    fn has(&self, flag: c_uint) -> bool {
        self.flags & flag != 0
    }
}

fn common(opts: &rshm_options) -> Result<Common> {
    let unknown = opts.flags & !ALL_FLAGS;
    if unknown != 0 {
        let call = rshm::error::Call::Unnamed;
        let reason = msg!(
            "flags has undefined bits {}",
            rshm::error::Arg::Hex(unknown.into())
        );
        return Err(Error::new(ErrorKind::InvalidArgument, call, reason));
    }
    let key = if opts.path.is_null() {
        Key::from_raw(opts.key)
    } else {
        // SAFETY: a non-NULL path is a C string by the API's contract.
        unsafe { Key::ftok_ptr(opts.path, opts.proj_id, rshm::Validation::Strict) }?
    };
    let mode = match opts.mode {
        0 => Mode::OWNER_RW,
        mode => Mode::from_bits_retain(mode),
    };
    Ok(Common {
        key,
        mode,
        flags: opts.flags,
    })
}

/// The options of a segment (rshm_open).
pub(crate) fn segment_options(opts: &rshm_options) -> Result<OpenOptions> {
    let c = common(opts)?;
    let mut options = OpenOptions::new();
    options
        .key(c.key)
        .mode(c.mode)
        .size(opts.size)
        .create(c.has(RSHM_CREATE))
        .exclusive(c.has(RSHM_EXCLUSIVE))
        .read_only(c.has(RSHM_READ_ONLY))
        .remove_on_close(c.has(RSHM_REMOVE_ON_CLOSE))
        .verify_owner(c.has(RSHM_VERIFY_OWNER))
        .huge_pages(c.has(RSHM_HUGE_PAGES));
    Ok(options)
}

/// The options of a semaphore (rshm_sem_open): size and the segment's flags do not apply.
pub(crate) fn semaphore_options(opts: &rshm_options, initial: u16) -> Result<SemaphoreOptions> {
    let c = common(opts)?;
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
pub(crate) fn channel_options(opts: &rshm_options) -> Result<ChannelOptions> {
    let c = common(opts)?;
    if c.has(RSHM_READ_ONLY) {
        let reason = msg!(
            "both ends of a channel write its segment: RSHM_READ_ONLY does not apply to channels"
        );
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            rshm::error::Call::Unnamed,
            reason,
        ));
    }
    let mut options = ChannelOptions::new();
    options
        .key(c.key)
        .mode(c.mode)
        .verify_owner(c.has(RSHM_VERIFY_OWNER))
        .remove_on_close(c.has(RSHM_REMOVE_ON_CLOSE));
    Ok(options)
}
