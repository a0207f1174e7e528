//! The C ABI of rshm: `librshm.so`, `librshm.a` and `include/rshm.h`, a thin
//! shell over the Rust API (`rshm`) and its libc-compatible face
//! (`rshm-compat`). Every export runs inside one helper of `boundary`
//! (panics caught, errno set, the message recorded for `rshm_last_error()`),
//! checks its pointers there, and hands typed values to the Rust API.

// The exports take raw pointers from C, where no call is `unsafe`; each one
// checks its pointers or hands them to the kernel, which reports bad ones as EFAULT.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

mod boundary;
pub mod channel;
pub mod last_error;
pub mod libc;
pub mod libc_msg;
pub mod libc_sem;
pub mod mutex;
pub mod options;
pub mod queue;
pub mod segment;
pub mod semaphore;
pub mod status;
mod timeout;
pub mod version;
