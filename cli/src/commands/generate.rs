//! `rshm completions SHELL` and `rshm manpage`: the shell completions and the
//! manual page, generated from the one definition of the command line
//! (`args.rs`), so they never disagree with `--help`.

use crate::args::{Cli, EXIT_CODES, RULE};
use clap::CommandFactory;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;
use std::io::{self, Write};

/// The JSON schema, for the man page (docs/cli.md has it as a table).
const JSON_SCHEMA: &str = "\
'rshm ls --json' prints one array, 'rshm stat --json' one object. Every object has:
  kind            \"shm\", \"sem\" or \"msg\"
  key             \"0x41012345\" (\"0x00000000\": IPC_PRIVATE)
  id              the id, unique within its kind
  owner, creator  user names (the uid, as text, when there is none)
  uid, gid, cuid, cgid, mode (\"0600\"), ctime (Unix seconds)
  class           in_use, marked_for_removal, unused, idle, unknown, recent,
                  abandoned
  reason          the class's reason, in words
  orphan          class == \"abandoned\"
  idle_seconds    seconds since anything happened to it

A segment (kind shm) adds size, nattch, cpid, lpid, atime, dtime, rss, swap,
marked_for_removal, locked, and for each pid a state (cpid_state, lpid_state:
running, gone, reused, unknown, hidden or none) and whether it may still run
(cpid_alive, lpid_alive). A semaphore set (sem) adds nsems, otime and
semaphores: an array of {num, value, pid, pid_state, ncnt, zcnt}, or null
when they may not be read. A message queue (msg) adds qnum, cbytes, qbytes,
lspid, lspid_state, lrpid, lrpid_state, stime and rtime. Times are Unix
seconds, 0 for never. Fields are added, never renamed or removed.";

const FILES: &[(&str, &str)] = &[
    (
        "/proc/sysvipc/shm",
        "the segments' resident and swapped memory",
    ),
    (
        "/proc/sys/kernel/",
        "shm_rmid_forced, shmmax, shmall, shmmni, sem, msgmni, msgmax, msgmnb: the settings \
         of this IPC namespace",
    ),
    (
        "/etc/systemd/logind.conf, logind.conf.d/*.conf",
        "RemoveIPC, read by doctor (also under /run/systemd, /usr/local/lib/systemd and \
         /usr/lib/systemd)",
    ),
    (
        "/proc/meminfo, /proc/sys/vm/",
        "huge pages (nr_hugepages, hugetlb_shm_group), read by doctor",
    ),
];

const SEE_ALSO: &[&str] = &[
    "ipcs(1)",
    "ipcrm(1)",
    "ipcmk(1)",
    "lsipc(1)",
    "sysvipc(7)",
    "shmget(2)",
    "semget(2)",
    "msgget(2)",
    "logind.conf(5)",
    "proc(5)",
];

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> u8 {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "rshm", &mut io::stdout());
    0
}

/// Prints rshm(1).
pub fn manpage() -> u8 {
    let mut out = Vec::new();
    match write_manpage(&mut out).and_then(|()| io::stdout().write_all(&out)) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("rshm: cannot write the manual page: {error}");
            1
        }
    }
}

/// Help text as roff: paragraphs of words are filled; lines that start with
/// spaces (lists, examples) are kept as they are.
fn help_text(roff: &mut Roff, text: &str) {
    let mut preformatted = false;
    let mut first = true;
    for paragraph in text.split("\n\n") {
        if !first {
            roff.control("PP", []);
        }
        first = false;
        for line in paragraph.lines() {
            let keep = line.starts_with(' ') || line.contains("  ");
            if keep && !preformatted {
                roff.control("nf", []);
                preformatted = true;
            } else if !keep && preformatted {
                roff.control("fi", []);
                preformatted = false;
            }
            roff.text([roman(line)]);
        }
        if preformatted {
            roff.control("fi", []);
            preformatted = false;
        }
    }
}

/// The output of one of `Man`'s section writers without its `.SH` heading.
fn without_heading(render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> io::Result<String> {
    let mut buffer = Vec::new();
    render(&mut buffer)?;
    let text = String::from_utf8_lossy(&buffer).into_owned();
    Ok(text
        .lines()
        .filter(|line| !line.starts_with(".SH "))
        .map(|line| format!("{line}\n"))
        .collect())
}

/// rshm(1): the command's own sections from clap, then each command with its
/// synopsis and options, the classes, the JSON schema, exit status and files.
pub fn write_manpage(out: &mut dyn Write) -> io::Result<()> {
    let mut command = Cli::command();
    command.build();
    let version = command.get_version().unwrap_or_default().to_string();
    let man = Man::new(command.clone())
        .title("RSHM")
        .section("1")
        .source(format!("rshm {version}"))
        .manual("User Commands");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;

    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    roff.to_writer(out)?;
    for sub in command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
    {
        let mut heading = Roff::new();
        heading.control("SS", [format!("rshm {}", sub.get_name()).as_str()]);
        heading.to_writer(out)?;
        let sub_man = Man::new(sub.clone());
        out.write_all(without_heading(|b| sub_man.render_synopsis_section(b))?.as_bytes())?;
        let mut gap = Roff::new();
        gap.control("PP", []);
        gap.to_writer(out)?;
        out.write_all(without_heading(|b| sub_man.render_description_section(b))?.as_bytes())?;
        if sub.get_arguments().any(|arg| !arg.is_hide_set()) {
            out.write_all(without_heading(|b| sub_man.render_options_section(b))?.as_bytes())?;
        }
        if let Some(after) = sub.get_after_help() {
            let mut roff = Roff::new();
            roff.control("PP", []);
            help_text(&mut roff, &after.to_string());
            roff.to_writer(out)?;
        }
    }

    let mut roff = Roff::new();
    roff.control("SH", ["CLASSES"]);
    help_text(&mut roff, RULE);
    roff.control("SH", ["JSON"]);
    help_text(&mut roff, JSON_SCHEMA);
    roff.control("SH", ["EXIT STATUS"]);
    help_text(&mut roff, EXIT_CODES);
    roff.control("SH", ["FILES"]);
    for (path, what) in FILES {
        roff.control("TP", []);
        roff.text([bold(*path)]);
        roff.text([roman(*what)]);
    }
    roff.control("SH", ["SEE ALSO"]);
    let mut see_also = Vec::new();
    for (i, page) in SEE_ALSO.iter().enumerate() {
        let (name, section) = page.split_once('(').unwrap_or((page, ""));
        see_also.push(bold(name));
        let end = if i + 1 < SEE_ALSO.len() { ", " } else { "" };
        see_also.push(roman(format!("({section}{end}")));
    }
    roff.text(see_also);
    roff.to_writer(out)
}
