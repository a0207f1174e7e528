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
/// rshm_options.flags, rshm_channel_create: up to max_peers senders, one
/// receiver (rshm_channel_open: expect that shape; omitted, any shape opens).
pub const RSHM_CHANNEL_MANY_SENDERS: c_uint = 1 << 8;
/// rshm_options.flags, rshm_channel_create: one sender, up to max_peers
/// receivers (rshm_channel_open: expect that shape; omitted, any shape opens).
pub const RSHM_CHANNEL_BROADCAST: c_uint = 1 << 9;

/// Every flag, with its name as messages show it.
const FLAG_NAMES: [(c_uint, &str); 10] = [
    (RSHM_CREATE, "RSHM_CREATE"),
    (RSHM_EXCLUSIVE, "RSHM_EXCLUSIVE"),
    (RSHM_READ_ONLY, "RSHM_READ_ONLY"),
    (RSHM_REMOVE_ON_CLOSE, "RSHM_REMOVE_ON_CLOSE"),
    (RSHM_VERIFY_OWNER, "RSHM_VERIFY_OWNER"),
    (RSHM_HUGE_PAGES, "RSHM_HUGE_PAGES"),
    (RSHM_BY_ID, "RSHM_BY_ID"),
    (RSHM_PREFAULT, "RSHM_PREFAULT"),
    (RSHM_CHANNEL_MANY_SENDERS, "RSHM_CHANNEL_MANY_SENDERS"),
    (RSHM_CHANNEL_BROADCAST, "RSHM_CHANNEL_BROADCAST"),
];

const ALL_FLAGS: c_uint = {
    let mut all = 0;
    let mut i = 0;
    while i < FLAG_NAMES.len() {
        all |= FLAG_NAMES[i].0;
        i += 1;
    }
    all
};

/// The flags a segment (rshm_open) takes.
const SEGMENT_FLAGS: c_uint = RSHM_CREATE
    | RSHM_EXCLUSIVE
    | RSHM_READ_ONLY
    | RSHM_REMOVE_ON_CLOSE
    | RSHM_VERIFY_OWNER
    | RSHM_HUGE_PAGES
    | RSHM_BY_ID
    | RSHM_PREFAULT;
/// The flags a semaphore set (rshm_sem_open) takes.
pub(crate) const SEMAPHORE_FLAGS: c_uint = RSHM_CREATE | RSHM_EXCLUSIVE | RSHM_VERIFY_OWNER;
/// What a message queue takes (rshm_queue_open): the same as a semaphore set.
const QUEUE_FLAGS: c_uint = RSHM_CREATE | RSHM_EXCLUSIVE | RSHM_VERIFY_OWNER;
/// The flags a channel takes (rshm_channel_create and _open): it is created by
/// its own call, always exclusively, and both ends write its segment.
const CHANNEL_FLAGS: c_uint =
    RSHM_REMOVE_ON_CLOSE | RSHM_VERIFY_OWNER | RSHM_CHANNEL_MANY_SENDERS | RSHM_CHANNEL_BROADCAST;

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
    /// rshm_channel_create with RSHM_CHANNEL_MANY_SENDERS or
    /// RSHM_CHANNEL_BROADCAST: the most senders (or receivers) the channel
    /// takes, at most 1024; 0 means 64. Every other call refuses a non-zero value.
    pub max_peers: c_uint,
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
        max_peers: 0,
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

    /// The one rule of what each constructor takes: `InvalidArgument` for
    /// a flag outside `allowed` (naming the flag and `what` it does not apply
    /// to), and for a non-zero `max_peers` unless `takes_max_peers`. Every
    /// constructor (segments, semaphores, channels, queues) goes through here.
    pub(crate) fn take_only(
        &self,
        what: &'static str,
        allowed: c_uint,
        takes_max_peers: bool,
    ) -> Result<()> {
        let invalid = |reason| {
            Err(Error::new(
                ErrorKind::InvalidArgument,
                rshm::error::Call::Unnamed,
                reason,
            ))
        };
        if let Some((_, name)) = FLAG_NAMES
            .iter()
            .find(|(flag, _)| self.has(*flag) && allowed & flag == 0)
        {
            return invalid(msg!("{} does not apply to {}", *name, what));
        }
        if self.has(RSHM_CHANNEL_MANY_SENDERS) && self.has(RSHM_CHANNEL_BROADCAST) {
            return invalid(msg!(
                "RSHM_CHANNEL_MANY_SENDERS and RSHM_CHANNEL_BROADCAST together: a channel is one or the other"
            ));
        }
        rshm::resolve_max_peers(self.opts.max_peers, takes_max_peers, || {
            rshm::error::Call::Unnamed
        })?;
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
    c.take_only("a segment (rshm_open)", SEGMENT_FLAGS, false)?;
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
    c.take_only("a semaphore set (rshm_sem_open)", SEMAPHORE_FLAGS, false)?;
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

/// The options of a channel (rshm_channel_create, or _open when not
/// `create`): see CHANNEL_FLAGS; max_peers only at a many-party create.
pub(crate) fn channel_options(opts: *const rshm_options, create: bool) -> Result<ChannelOptions> {
    let c = common(opts)?;
    let many_party = c.has(RSHM_CHANNEL_MANY_SENDERS | RSHM_CHANNEL_BROADCAST);
    let what = if create {
        "a channel (rshm_channel_create)"
    } else {
        "a channel (rshm_channel_open)"
    };
    c.take_only(what, CHANNEL_FLAGS, create && many_party)?;
    let mut options = ChannelOptions::new();
    options
        .key(c.key)
        .mode(c.mode)
        .verify_owner(c.has(RSHM_VERIFY_OWNER))
        .remove_on_close(c.has(RSHM_REMOVE_ON_CLOSE))
        .many_senders(c.has(RSHM_CHANNEL_MANY_SENDERS))
        .broadcast(c.has(RSHM_CHANNEL_BROADCAST))
        .max_peers(c.opts.max_peers);
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
    c.take_only("a message queue (rshm_queue_open)", QUEUE_FLAGS, false)?;
    let mut options = QueueOptions::new();
    options
        .key(c.key)
        .mode(c.mode)
        .create(c.has(RSHM_CREATE))
        .exclusive(c.has(RSHM_EXCLUSIVE))
        .verify_owner(c.has(RSHM_VERIFY_OWNER));
    Ok(options)
}
