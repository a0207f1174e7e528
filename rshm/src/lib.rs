//! # rshm: System V shared memory with validation, clear errors and no leaks
//!
//! The classic flow, `ftok` → `shmget` → `shmat` → read/write → `shmdt` →
//! `shmctl(IPC_RMID)`, for Rust and, through the C ABI of the `rshm-capi` crate, for C and C++
//! (`librshm.so`, `librshm.a`, `include/rshm.h`).
//!
//! Layers, bottom up: `sys` (the raw calls) → the Rust API below ([`Key`],
//! [`Segment`], [`Attachment`], [`control`]) where validation lives.
//!
//! ```
//! use rshm::{AttachFlags, GetFlags, Key, Mode, Segment};
//! let segment = Segment::get(Key::PRIVATE, 1024, GetFlags::CREATE, Mode::OWNER_RW)?;
//! let attachment = segment.attach(AttachFlags::empty())?;
//! // SAFETY: the segment is 1024 bytes long and only this process uses it.
//! unsafe { attachment.as_ptr().copy_from(b"hello".as_ptr(), 5) };
//! drop(attachment);
//! segment.remove()?;
//! # Ok::<(), rshm::Error>(())
//! ```

mod error;
mod flags;
mod key;
pub mod process;
mod segment;
mod sync;
mod sys;

pub use error::call as describe;
pub use error::{Errno, Error, Result};
pub use flags::{AttachFlags, GetFlags, Mode, Validation};
pub use key::Key;
pub use segment::attach::{detach_raw, Attachment};
pub use segment::control::{self, Command, Limits, Usage};
pub use segment::open::{OpenOptions, OpenSegment};
pub use segment::registry;
pub use segment::{Segment, SegmentInfo};
pub use sync::channel::{Channel, Role, CHANNEL_HEADER_SIZE};
pub use sync::mutex::MUTEX_SIZE;
pub use sync::semaphore::Semaphore;
