//! `rshm`: see, explain and safely clean up System V shared memory,
//! semaphore sets and message queues. `args.rs` defines the command line
//! (and so the help, the man page and the completions); `commands/` holds
//! one file per command; `render/` writes text and JSON; the objects and
//! their classes come from the Rust API (`rshm::ipc`). Exit codes: 0 done,
//! 1 something failed (doctor: something is wrong), 2 usage error.

mod args;
mod commands;
mod fail;
mod inventory;
mod render;

use args::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of the output goes
    // away (`rshm ls | head`), rather than fail to print.
    // SAFETY: setting a signal's disposition to its default has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    let cli = Cli::parse();
    fail::set_verbose(cli.verbose);
    let code = match cli.command {
        Command::Ls(args) => commands::ls::run(args),
        Command::Stat(args) => commands::stat::run(args),
        Command::Rm(args) => commands::rm::run(args),
        Command::Doctor(args) => commands::doctor::run(args),
        Command::Limits(args) => commands::limits::run(args),
        Command::Key(args) => commands::key::run(args),
        Command::Completions { shell } => commands::generate::completions(shell),
        Command::Manpage => commands::generate::manpage(),
    };
    ExitCode::from(code)
}
