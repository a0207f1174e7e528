//! One file per command: each parses nothing (clap did), calls the Rust API,
//! and renders; each returns its exit code.

pub mod doctor;
pub mod generate;
pub mod key;
pub mod limits;
pub mod ls;
pub mod rm;
pub mod stat;
