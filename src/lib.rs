//! The C ABI of rshm: `librshm.so`, `librshm.a` and `include/rshm.h`, a thin
//! shell over the Rust API (`rshm`) and its libc-compatible face
//! (`rshm-compat`). Every export checks its pointers, runs inside one
//! boundary helper (panics caught, errno set, the message recorded for
//! `rshm_last_error()`), and hands typed values to the Rust API.

// The exports take raw pointers from C, where no call is `unsafe`; each one
// checks its pointers or hands them to the kernel, which reports bad ones as EFAULT.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

pub mod boundary;
pub mod libc;
pub mod segment;
pub mod sync;
pub mod version;
