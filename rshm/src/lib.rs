//! # rshm: System V shared memory with validation, clear errors and no leaks
//!
//! The classic flow, `ftok` → `shmget` → `shmat` → read/write → `shmdt` →
//! `shmctl(IPC_RMID)`, for Rust, with semaphores, robust mutexes and
//! channels on top. C and C++ reach the same code through `librshm` (the
//! `rshm-capi` crate); this crate knows nothing of C.
//!
//! Layers, bottom up: `error` (what can go wrong, as plain data) → `sys`
//! (the only raw system calls) → [`Key`], [`Segment`], [`Attachment`],
//! [`OpenOptions`] and the sync types, where validation lives.
//!
//! ```
//! use rshm::{AttachFlags, GetFlags, Key, Mode, Segment};
//! let segment = Segment::get(Key::PRIVATE, 1024, GetFlags::CREATE, Mode::OWNER_RW)?;
//! let mut attachment = segment.attach(AttachFlags::empty())?;
//! attachment.write(0, b"hello")?;
//! drop(attachment);
//! segment.remove()?;
//! # Ok::<(), rshm::Error>(())
//! ```
//!
//! Errors are plain data ([`Error`]: a kind, an errno, the call and the
//! reason): a failing call allocates nothing, and its message is written only
//! when displayed.

pub mod error;
mod flags;
pub mod ipc;
mod key;
pub mod liveness;
mod options;
mod segment;
mod sync;
mod sys;
pub mod sysv;

pub use error::{Errno, Error, ErrorKind, Result};
pub use flags::{AttachFlags, GetFlags, Mode, Validation};
pub use key::Key;
pub use options::{max_peers as resolve_max_peers, DEFAULT_MAX_PEERS, MAX_PEERS_LIMIT};
pub use segment::attach::{detach, Attachment};
pub use segment::control::{limits, shmctl, usage, Command, Limits, Usage};
pub use segment::open::{OpenOptions, OpenSegment};
pub use segment::region::Region;
pub use segment::{Segment, SegmentInfo};
pub use sync::channel::{
    Channel, ChannelOptions, Peeked, Reservation, Role, Shape, CHANNEL_HEADER_SIZE,
    RECEIVER_PROBE_INTERVAL,
};
pub use sync::mutex::{Mutex, LIVENESS_CHECK, MUTEX_SIZE};
pub use sync::queue::{Queue, QueueOptions, Received};
pub use sync::semaphore::{Semaphore, SemaphoreOptions};

/// An attachment this process made through rshm and still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveAttachment {
    /// Where it starts in this process.
    pub address: usize,
    pub segment: Segment,
    /// The segment's size, or 0 when the libc-compatible `shmat` made it (it does not ask).
    pub size: usize,
    pub read_only: bool,
}

/// Every attachment this process made through rshm and still holds, by
/// start address: what leak reports and tests compare with the kernel's count.
pub fn attachments_in_this_process() -> Vec<LiveAttachment> {
    segment::registry::live_attachments()
        .into_iter()
        .map(|(address, record)| LiveAttachment {
            address,
            segment: Segment::from_id(record.shmid),
            size: record.size,
            read_only: record.read_only,
        })
        .collect()
}
