//! Failures, said in plain words on stderr; with `--verbose`, the system call
//! and the error code behind each one follow on a line of their own.

use std::fmt::Display;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Whether `--verbose` was given.
pub fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, Relaxed);
}

/// What lies behind a failure.
pub enum Cause<'a> {
    /// An error of the Rust API: its call and errno are shown with `--verbose`.
    Rshm(&'a rshm::Error),
    /// An I/O error (reading a file): its OS error is shown with `--verbose`.
    Io(&'a std::io::Error),
}

/// Writes `rshm: MESSAGE` on stderr, and with `--verbose` the cause.
pub fn report(message: impl Display, cause: Cause<'_>) {
    eprintln!("rshm: {message}");
    if VERBOSE.load(Relaxed) {
        match cause {
            Cause::Rshm(error) => eprintln!("  system call: {error}"),
            Cause::Io(error) => match error.raw_os_error() {
                Some(raw) => eprintln!("  system error: {} ({error})", rshm::Errno::new(raw)),
                None => eprintln!("  error: {error}"),
            },
        }
    }
}

/// An I/O error in words, without the `(os error N)` jargon.
pub fn io_words(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::NotFound => "it does not exist".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let text = error.to_string();
            match text.find(" (os error") {
                Some(at) => text[..at].to_lowercase(),
                None => text,
            }
        }
    }
}

/// Exits with a usage error (exit code 2) about subcommand `sub`, as clap would.
pub fn usage(sub: &str, message: impl Display) -> ! {
    use clap::CommandFactory;
    let mut command = crate::args::Cli::command();
    command.build();
    let mut command = command
        .find_subcommand_mut(sub)
        .map_or_else(crate::args::Cli::command, |sub| sub.clone());
    command
        .error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_read_without_os_error_numbers() {
        let missing = std::fs::read("/no/such/file").unwrap_err();
        assert_eq!(io_words(&missing), "it does not exist");
        let error = std::io::Error::from_raw_os_error(libc::EIO);
        assert_eq!(io_words(&error), "input/output error");
    }
}
