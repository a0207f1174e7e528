//! The command line, defined once: clap parses it, and the same definition
//! gives `--help`, `rshm help COMMAND`, the man page and the shell completions.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Parser, Subcommand};
use rshm::ipc::{Class, Kind, Rule};
use rshm::Key;
use std::path::PathBuf;
use std::time::Duration;

pub const ABOUT: &str =
    "See, explain and safely clean up System V shared memory, semaphores and message queues";

const LONG_ABOUT: &str = "\
rshm lists the System V IPC objects of this IPC namespace (shared memory
segments, semaphore sets and message queues), explains each one, and removes
them, by id, by key, or those abandoned, with the reason for every decision.
'rshm doctor' checks the machine for what makes shared memory misbehave.";

pub const EXIT_CODES: &str = "\
Exit codes: 0 done, 1 something failed (for doctor: something is wrong), 2 usage error.";

/// The classification rule, as `rshm help rm` and the man page state it.
pub const RULE: &str = "\
Classes, from what the kernel records and nothing else (tried in this order):
  marked_for_removal  a segment removed while attached: freed when its last
                      user detaches
  in_use              a segment attached now; a semaphore set a process waits on
  unused              never attached, never used by semop, nothing ever sent or
                      received: kept, as objects made to be used later (by
                      ipcmk, say) look the same
  idle                not in use now, but its creator or last user still runs
  unknown             a recorded process is in another PID namespace (the
                      kernel shows pid 0) or cannot be judged (it may not be
                      inspected, or /proc is another PID namespace's): kept
  recent              every recorded process is gone, but it was used within
                      --older-than: kept, as it may be waiting for a reader
  abandoned           every recorded process is gone, and it has not been used
                      for --older-than (10 minutes unless given)

A process is gone only on positive evidence: the kernel says no process has
its pid, or that the process with it has exited, all its threads; or a /proc
proven to be this PID namespace's shows that the process that has the pid now
started after the recorded one was last seen at work (pids are reused, and
the kernel keeps no start time with them, so the object's own times stand in
for it). A process lives while any of its threads does: a leader shown as a
zombie while its other threads run is alive.

rm --orphans removes abandoned objects only: segments, and semaphore sets (-s)
and message queues (-q) only when they are named. Each is checked again right
before it is removed, and left if it is in use again. A small window remains
between that check and the removal (the kernel has no \"remove if unattached\"):
a segment attached in it is only marked for removal, and stays usable until it
is detached. A segment that was attached and then left for a later reader can
be told from a forgotten one only by its age: raise --older-than where readers
come late. Objects you may not remove (only their owner, their creator or root
may) are skipped with a note.

A semaphore set records only the last process to change each semaphore, and
no process can read another's SEM_UNDO adjustments: a process that took a
unit and still holds it, while another process used the set after it, is
not seen. With -s, such a set is abandoned once that last user is gone, and
the holder's next operation on the set fails (rshm's semaphores return
RSHM_ERR_REMOVED). Name -s only where no process holds a unit longer than
--older-than.";

const RM_EXAMPLES: &str = "\
Examples:
  rshm rm --orphans --dry-run      what would be removed, and why each is kept
  rshm rm --orphans --older-than 1h
  rshm rm 32769 32770              segments by id
  rshm rm -s 3                     semaphore set 3 (or: rshm rm sem:3)
  rshm rm --key 0x41012345";

const LS_AFTER: &str = "\
Examples:
  rshm ls
  rshm ls --orphans --reasons
  rshm ls -s --json
  rshm ls --owner postgres --class idle,unused

JSON: one array with an object per SysV object; every object has kind
(\"shm\", \"sem\" or \"msg\"), key, id, owner, class and reason, and the fields of
its kind. The schema is in the man page and in docs/cli.md.";

const DOCTOR_AFTER: &str = "\
Checks: kernel.shm_rmid_forced; systemd-logind's RemoveIPC (logind.conf and
its drop-ins); the limits of segments, semaphores and queues against their use;
huge pages for SHM_HUGETLB (reserved, free, vm.hugetlb_shm_group, the memlock
limit); whether this process runs in an IPC or PID namespace of its own; and
abandoned objects. Each finding has a severity (ok, info, warning, error), the
evidence, and the fix.

Exit codes: 0 nothing is wrong (only ok and info), 1 a warning or an error.";

/// `rshm`: the command line.
#[derive(Debug, Parser)]
#[command(
    name = "rshm",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = EXIT_CODES,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Also show the system call and the error code behind each failure
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the segments, semaphore sets and message queues, with their class
    Ls(LsArgs),
    /// Explain one object: everything the kernel knows of it, and its class
    Stat(StatArgs),
    /// Remove objects: by id, by key, or those abandoned (--orphans)
    #[command(
        long_about = "Remove objects: by id, by key, or those abandoned (--orphans).\n\n\
        A segment that processes still use is only marked: it is freed when its last user \
        detaches. A semaphore set or a message queue goes at once: waiting processes get an \
        error, queued messages are lost."
    )]
    Rm(RmArgs),
    /// Check this machine for what makes shared memory misbehave
    Doctor(DoctorArgs),
    /// Show the limits on segments, semaphores and queues, and how much of each is used
    Limits(LimitsArgs),
    /// Compute the key ftok(PATH, PROJ_ID) gives, and what it is made of
    Key(KeyArgs),
    /// Print a shell completion script (bash, zsh, fish, ...)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page, rshm(1), in roff (make install installs it)
    #[command(hide = true)]
    Manpage,
}

/// The kinds to work on: any of them.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct Kinds {
    /// Shared memory segments
    #[arg(short = 'm', long = "shm", visible_alias = "segments")]
    pub shm: bool,
    /// Semaphore sets
    #[arg(short = 's', long = "sem", visible_alias = "semaphores")]
    pub sem: bool,
    /// Message queues
    #[arg(short = 'q', long = "msg", visible_alias = "queues")]
    pub msg: bool,
}

impl Kinds {
    /// The kinds named, or `default` when none is.
    pub fn or(self, default: &[Kind]) -> Vec<Kind> {
        let named: Vec<Kind> = [
            (self.shm, Kind::Segment),
            (self.sem, Kind::SemaphoreSet),
            (self.msg, Kind::MessageQueue),
        ]
        .into_iter()
        .filter_map(|(on, kind)| on.then_some(kind))
        .collect();
        if named.is_empty() {
            default.to_vec()
        } else {
            named
        }
    }
}

/// The threshold of `abandoned`.
#[derive(Debug, Clone, Copy, Args)]
pub struct Age {
    /// How long an object whose processes are all gone must be unused to be abandoned
    /// (30s, 10m, 2h, 1d; at most 106751991167300d)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub older_than: Duration,
}

#[derive(Debug, Args)]
#[command(after_help = LS_AFTER)]
pub struct LsArgs {
    #[command(flatten)]
    pub kinds: Kinds,
    /// Only objects owned by USER (a name or a uid)
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,
    /// Only objects with KEY (0x41012345, or decimal)
    #[arg(long, value_parser = parse_key)]
    pub key: Option<Key>,
    /// Only objects of these classes (repeat it, or separate them with commas)
    #[arg(long, value_delimiter = ',', value_parser = ClassParser)]
    pub class: Vec<Class>,
    /// Only abandoned objects (the same as --class abandoned)
    #[arg(long)]
    pub orphans: bool,
    #[command(flatten)]
    pub age: Age,
    /// Add a column with the reason for each object's class
    #[arg(short, long)]
    pub reasons: bool,
    /// Print one JSON array instead of tables
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  rshm stat 32769\n  rshm stat sem:3\n  rshm stat -q --key 0x41012345"
)]
pub struct StatArgs {
    #[command(flatten)]
    pub kind: OneKind,
    /// The object's id: a segment's, unless -s or -q is given or the id says its
    /// kind (sem:3, msg:2, shm:32769)
    #[arg(value_name = "ID", value_parser = parse_object, required_unless_present = "key", conflicts_with = "key")]
    pub id: Option<ObjectRef>,
    /// The object with KEY (0x41012345, or decimal)
    #[arg(long, value_parser = parse_key)]
    pub key: Option<Key>,
    #[command(flatten)]
    pub age: Age,
    /// Print one JSON object (the schema of ls --json)
    #[arg(long)]
    pub json: bool,
}

/// One kind, for what names objects by id or key.
#[derive(Debug, Clone, Copy, Default, Args)]
#[group(multiple = false)]
pub struct OneKind {
    /// A shared memory segment (the default)
    #[arg(short = 'm', long = "shm", visible_alias = "segment")]
    pub shm: bool,
    /// A semaphore set
    #[arg(short = 's', long = "sem", visible_alias = "semaphore")]
    pub sem: bool,
    /// A message queue
    #[arg(short = 'q', long = "msg", visible_alias = "queue")]
    pub msg: bool,
}

impl OneKind {
    /// The kind named, if any.
    pub fn kind(self) -> Option<Kind> {
        if self.sem {
            Some(Kind::SemaphoreSet)
        } else if self.msg {
            Some(Kind::MessageQueue)
        } else if self.shm {
            Some(Kind::Segment)
        } else {
            None
        }
    }
}

#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("what").required(true).args(["ids", "key", "orphans"])),
    after_help = RM_EXAMPLES,
    after_long_help = format!("{RULE}\n\n{RM_EXAMPLES}")
)]
pub struct RmArgs {
    #[command(flatten)]
    pub kinds: Kinds,
    /// Ids of objects to remove: segments', unless -s or -q is given or an id says
    /// its kind (sem:3, msg:2, shm:32769)
    #[arg(value_name = "ID", value_parser = parse_object)]
    pub ids: Vec<ObjectRef>,
    /// The object with KEY (0x41012345, or decimal)
    #[arg(long, value_parser = parse_key)]
    pub key: Option<Key>,
    /// Remove the abandoned objects: segments, and semaphore sets or queues if -s or -q
    /// names them
    #[arg(long)]
    pub orphans: bool,
    #[command(flatten)]
    pub age: Age,
    /// Show each decision and its reason, and remove nothing
    #[arg(short = 'n', long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
#[command(after_help = DOCTOR_AFTER)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub age: Age,
    /// Judge this logind.conf (and the drop-ins in PATH.d/) as if systemd-logind ran
    /// with it, instead of the system's
    #[arg(long, value_name = "PATH")]
    pub logind_conf: Option<PathBuf>,
    /// Print the findings as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LimitsArgs {
    /// Print the limits and their use as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "A PROJ_ID whose low 8 bits are zero gives keys that collide: rshm warns.\n\n\
    Example:\n  rshm key /var/run/myapp 65"
)]
pub struct KeyArgs {
    /// An existing file
    pub path: PathBuf,
    /// A number, or a single character ('A' is 65)
    #[arg(value_parser = parse_proj_id)]
    pub proj_id: i32,
}

/// `--class` takes a class by the name the rule gives it (`in_use`, or
/// `in-use`): the names offered to help, the man page and the completions are
/// the rule's own list, `Class::ALL`.
#[derive(Debug, Clone, Copy)]
struct ClassParser;

impl ClassParser {
    /// clap's parser of the names alone, for the list and for its error.
    fn names() -> PossibleValuesParser {
        PossibleValuesParser::new(Class::ALL.map(Class::name))
    }
}

impl TypedValueParser for ClassParser {
    type Value = Class;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Class, clap::Error> {
        if let Some(class) = value.to_str().and_then(Class::from_name) {
            return Ok(class);
        }
        // Not a class: clap's own error, which lists the names.
        Self::names().parse_ref(cmd, arg, value).and_then(|name| {
            Class::from_name(&name)
                .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd))
        })
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(
            Class::ALL
                .into_iter()
                .map(|class| PossibleValue::new(class.name())),
        ))
    }
}

/// An object named on the command line: an id, with its kind if the id says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: Option<Kind>,
    pub id: i32,
}

impl ObjectRef {
    /// Its kind: its own, else `named`, else a segment.
    pub fn kind_or(self, named: Option<Kind>) -> Kind {
        self.kind.or(named).unwrap_or(Kind::Segment)
    }
}

fn parse_object(text: &str) -> Result<ObjectRef, String> {
    let (kind, id) = match text.split_once(':') {
        Some((kind, id)) => {
            let kind = Kind::from_name(kind)
                .ok_or_else(|| format!("'{kind}' is not a kind: write shm, sem or msg"))?;
            (Some(kind), id)
        }
        None => (None, text),
    };
    match id.parse::<i32>() {
        Ok(id) if id >= 0 => Ok(ObjectRef { kind, id }),
        _ => Err(format!(
            "'{text}' is not an id: write a number, or a kind and a number (sem:3)"
        )),
    }
}

/// `0x41012345` or a decimal number.
pub fn parse_key(text: &str) -> Result<Key, String> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).map(|k| k as i32).ok(),
        None => text
            .parse::<i32>()
            .ok()
            .or_else(|| text.parse::<u32>().ok().map(|k| k as i32)),
    };
    parsed
        .map(Key::from_raw)
        .ok_or_else(|| format!("'{text}' is not a key: write 0x41012345, or a decimal number"))
}

/// `30s`, `10m`, `2h`, `1d`, or `0`; at most [`Rule::MAX_OLDER_THAN`], the
/// longest threshold the rule counts (a longer one is refused, not cut).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad =
        || format!("'{text}' is not a duration: write a number and a unit, as 30s, 10m, 2h or 1d");
    let max = Rule::MAX_OLDER_THAN.as_secs();
    let too_long = || {
        format!(
            "'{text}' is too long: a threshold is at most {max}s ({}d), as times are signed \
             64-bit seconds",
            max / 86400
        )
    };
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let seconds: u64 = match unit {
        "s" | "sec" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    let number: u64 =
        number
            .parse()
            .map_err(|error: std::num::ParseIntError| match error.kind() {
                std::num::IntErrorKind::PosOverflow => too_long(),
                _ => bad(),
            })?;
    match number.checked_mul(seconds) {
        Some(total) if total <= max => Ok(Duration::from_secs(total)),
        _ => Err(too_long()),
    }
}

fn parse_proj_id(text: &str) -> Result<i32, String> {
    if let Ok(n) = text.parse::<i32>() {
        return Ok(n);
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c as i32),
        _ => Err(format!(
            "'{text}' is not a project id: write a number or one character"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn values_parse_as_documented() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("10").is_err() && parse_duration("m").is_err());
        let longest = Duration::from_secs(i64::MAX as u64);
        assert_eq!(parse_duration("9223372036854775807s"), Ok(longest));
        assert_eq!(
            parse_duration("106751991167300d"),
            Ok(Duration::from_secs(106751991167300 * 86400))
        );
        for past in [
            "9223372036854775808s",
            "106751991167301d",
            "18446744073709551616s",
            "99999999999999999999999m",
        ] {
            let said = parse_duration(past).unwrap_err();
            assert!(
                said.contains("at most 9223372036854775807s (106751991167300d)"),
                "{said}"
            );
        }
        assert!(parse_duration("10x")
            .unwrap_err()
            .contains("not a duration"));
        assert_eq!(parse_key("0x41012345"), Ok(Key::from_raw(0x41012345)));
        assert_eq!(parse_key("0xffffffff"), Ok(Key::from_raw(-1)));
        assert_eq!(parse_key("4294967295"), Ok(Key::from_raw(-1)));
        assert!(parse_key("zz").is_err());
        assert_eq!(
            parse_object("sem:3"),
            Ok(ObjectRef {
                kind: Some(Kind::SemaphoreSet),
                id: 3
            })
        );
        assert_eq!(parse_object("7"), Ok(ObjectRef { kind: None, id: 7 }));
        assert!(parse_object("pipe:3").is_err() && parse_object("-1").is_err());
        assert_eq!(parse_proj_id("A"), Ok(65));
        assert_eq!(parse_proj_id("256"), Ok(256));
    }
}
