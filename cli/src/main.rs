//! `rshm`: see, explain and clean up System V shared memory. Exit codes: 0
//! done, 1 partly failed (something named could not be done), 2 usage error.

mod segments;

use lexopt::prelude::*;
use rshm::{Key, Segment};
use segments::{ago, alive, human, json_string, rwx, user_name, Listed};
use std::process::ExitCode;

const HELP: &str = "\
rshm: see, explain and clean up System V shared memory

Usage: rshm COMMAND [OPTIONS]

Commands:
  ls       list the segments of this IPC namespace
  rm       remove segments: by id, by key, or the orphans
  stat     explain one segment
  key      compute the ftok key of a file
  limits   show the system limits and how much of each is used

Run 'rshm COMMAND --help' for a command's options and examples.
Exit codes: 0 done, 1 partly failed, 2 usage error.
";

const LS_HELP: &str = "\
rshm ls: list the segments of this IPC namespace

Usage: rshm ls [--json] [--owner USER] [--key KEY] [--orphans]

  --json         one JSON array of objects (the schema is in the README)
  --owner USER   only segments owned by USER (a name or a uid)
  --key KEY      only the segment with KEY (0x41012345 or decimal)
  --orphans      only orphans: no attachment, creator and last user both gone

Examples:
  rshm ls
  rshm ls --orphans
  rshm ls --json --owner postgres
";

const RM_HELP: &str = "\
rshm rm: remove segments (IPC_RMID: each goes when its last attachment does)

Usage: rshm rm [--dry-run] ID...
       rshm rm [--dry-run] --key KEY
       rshm rm [--dry-run] --orphans

  --orphans   remove every orphan; each is checked again right before removal,
              and one that gained an attachment (or whose creator came back) is left
  --dry-run   say what would be removed, remove nothing

Examples:
  rshm rm --orphans --dry-run
  rshm rm 32769 32770
  rshm rm --key 0x41012345
";

const STAT_HELP: &str = "\
rshm stat: explain everything the kernel knows of one segment

Usage: rshm stat ID
       rshm stat --key KEY

Example:
  rshm stat --key 0x41012345
";

const KEY_HELP: &str = "\
rshm key: compute the key ftok(PATH, PROJ_ID) gives, and what it is made of

Usage: rshm key PATH PROJ_ID

PROJ_ID is a number or a single character ('A' is 65). A PROJ_ID whose low
8 bits are zero gives keys that collide: rshm warns.

Example:
  rshm key /var/run/myapp 65
";

const LIMITS_HELP: &str = "\
rshm limits: kernel.shmmax, shmall and shmmni, and how much of each is in use

Usage: rshm limits
";

/// What went wrong in the command line: exit code 2.
struct Usage(String);

impl From<lexopt::Error> for Usage {
    fn from(error: lexopt::Error) -> Self {
        Usage(error.to_string())
    }
}

fn parse_key(text: &str) -> Result<Key, Usage> {
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).map(|k| k as i32).ok(),
        None => text.parse::<i32>().ok(),
    };
    parsed.map(Key::from_raw).ok_or_else(|| {
        Usage(format!(
            "'{text}' is not a key (0x41012345 or a decimal number)"
        ))
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => ExitCode::from(code),
        Err(Usage(message)) => {
            eprintln!("rshm: {message}\nRun 'rshm --help' for usage.");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<u8, Usage> {
    let mut parser = lexopt::Parser::from_env();
    let command = match parser.next()? {
        Some(Value(command)) => command.string()?,
        Some(Long("help") | Short('h')) | None => {
            print!("{HELP}");
            return Ok(0);
        }
        Some(other) => return Err(other.unexpected().into()),
    };
    match command.as_str() {
        "ls" => ls(parser),
        "rm" => rm(parser),
        "stat" => stat(parser),
        "key" => key(parser),
        "limits" => limits(parser),
        "help" => {
            print!("{HELP}");
            Ok(0)
        }
        other => Err(Usage(format!("unknown command '{other}'"))),
    }
}

fn list_or_fail() -> Result<Vec<Listed>, u8> {
    segments::list().map_err(|error| {
        eprintln!("rshm: cannot read /proc/sysvipc/shm: {error}");
        1
    })
}

// ---------- ls ----------

fn ls(mut parser: lexopt::Parser) -> Result<u8, Usage> {
    let (mut json, mut orphans, mut owner, mut key) = (false, false, None, None);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("json") => json = true,
            Long("orphans") => orphans = true,
            Long("owner") => {
                let user = parser.value()?.string()?;
                owner = Some(
                    segments::uid_of(&user).ok_or_else(|| Usage(format!("no user '{user}'")))?,
                );
            }
            Long("key") => key = Some(parse_key(&parser.value()?.string()?)?),
            Long("help") | Short('h') => {
                print!("{LS_HELP}");
                return Ok(0);
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let Ok(all) = list_or_fail() else {
        return Ok(1);
    };
    let shown: Vec<Listed> = all
        .into_iter()
        .filter(|s| owner.is_none_or(|uid| s.uid == uid))
        .filter(|s| key.is_none_or(|k| s.key == k.raw()))
        .filter(|s| !orphans || s.orphan())
        .collect();
    if json {
        println!("{}", to_json(&shown));
    } else {
        print_table(&shown);
    }
    Ok(0)
}

fn status(s: &Listed) -> String {
    let mut parts = Vec::new();
    if s.marked_for_removal() {
        parts.push("removed, in use");
    }
    if s.locked() {
        parts.push("locked");
    }
    if s.orphan() {
        parts.push("orphan");
    }
    if parts.is_empty() {
        parts.push(if s.nattch > 0 { "in use" } else { "idle" });
    }
    parts.join(", ")
}

fn pid_text(pid: i32) -> String {
    if pid == 0 {
        "-".into()
    } else if alive(pid) {
        pid.to_string()
    } else {
        format!("{pid} (gone)")
    }
}

fn print_table(shown: &[Listed]) {
    let header = [
        "KEY", "ID", "OWNER", "CREATOR", "MODE", "SIZE", "NATTCH", "CPID", "LPID", "CREATED",
        "LAST USE", "STATUS",
    ];
    let rows: Vec<[String; 12]> = shown
        .iter()
        .map(|s| {
            [
                Key::from_raw(s.key).to_string(),
                s.id.to_string(),
                user_name(s.uid),
                user_name(s.cuid),
                format!("{:04o} {}", s.mode(), rwx(s.mode())),
                format!("{} ({})", human(s.size), s.size),
                s.nattch.to_string(),
                pid_text(s.cpid),
                pid_text(s.lpid),
                ago(s.ctime),
                ago(s.atime.max(s.dtime)),
                status(s),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row.iter()) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    if rows.is_empty() {
        println!("(no segments)");
    }
}

fn to_json(shown: &[Listed]) -> String {
    let objects: Vec<String> = shown
        .iter()
        .map(|s| {
            format!(
                "{{\"key\":{},\"id\":{},\"size\":{},\"nattch\":{},\"cpid\":{},\"cpid_alive\":{},\"lpid\":{},\
                 \"lpid_alive\":{},\"owner\":{},\"uid\":{},\"gid\":{},\"creator\":{},\"cuid\":{},\"cgid\":{},\
                 \"mode\":{},\"rss\":{},\"swap\":{},\"atime\":{},\"dtime\":{},\"ctime\":{},\
                 \"marked_for_removal\":{},\"locked\":{},\"orphan\":{}}}",
                json_string(&Key::from_raw(s.key).to_string()),
                s.id,
                s.size,
                s.nattch,
                s.cpid,
                alive(s.cpid),
                s.lpid,
                alive(s.lpid),
                json_string(&user_name(s.uid)),
                s.uid,
                s.gid,
                json_string(&user_name(s.cuid)),
                s.cuid,
                s.cgid,
                json_string(&format!("{:04o}", s.mode())),
                s.rss,
                s.swap,
                s.atime,
                s.dtime,
                s.ctime,
                s.marked_for_removal(),
                s.locked(),
                s.orphan()
            )
        })
        .collect();
    format!("[{}]", objects.join(","))
}

// ---------- rm ----------

fn rm(mut parser: lexopt::Parser) -> Result<u8, Usage> {
    let (mut dry_run, mut orphans, mut key, mut ids) = (false, false, None, Vec::new());
    while let Some(arg) = parser.next()? {
        match arg {
            Long("dry-run") | Short('n') => dry_run = true,
            Long("orphans") => orphans = true,
            Long("key") => key = Some(parse_key(&parser.value()?.string()?)?),
            Long("help") | Short('h') => {
                print!("{RM_HELP}");
                return Ok(0);
            }
            Value(id) => {
                let id = id.string()?;
                ids.push(
                    id.parse::<i32>()
                        .map_err(|_| Usage(format!("'{id}' is not a segment id")))?,
                );
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let chosen = usize::from(orphans) + usize::from(key.is_some()) + usize::from(!ids.is_empty());
    if chosen != 1 {
        return Err(Usage(
            "rm takes segment ids, or --key KEY, or --orphans (one of them)".into(),
        ));
    }
    let mut failed = false;
    if orphans {
        let Ok(all) = list_or_fail() else {
            return Ok(1);
        };
        let found: Vec<Listed> = all.into_iter().filter(Listed::orphan).collect();
        if found.is_empty() {
            println!("no orphans");
        }
        for s in found {
            let what = format!(
                "segment {} (key {}, {}, created by pid {} {})",
                s.id,
                Key::from_raw(s.key),
                human(s.size),
                s.cpid,
                ago(s.ctime)
            );
            if dry_run {
                println!("would remove {what}");
                continue;
            }
            // Check again right before removing: an attachment may have come since the listing.
            match Segment::from_id(s.id).stat() {
                Ok(now)
                    if now.nattch == 0
                        && now.key.raw() == s.key
                        && !alive(now.cpid)
                        && !alive(now.lpid) =>
                {
                    match Segment::from_id(s.id).remove() {
                        Ok(()) => println!("removed {what}"),
                        Err(error) => {
                            eprintln!("rshm: cannot remove {what}: {}", error.reason());
                            failed = true;
                        }
                    }
                }
                Ok(_) => println!("left {what}: it is in use again"),
                Err(error) if error.errno() == libc::EINVAL || error.errno() == libc::EIDRM => {
                    println!("{what} is gone already")
                }
                Err(error) => {
                    eprintln!("rshm: cannot check {what}: {}", error.reason());
                    failed = true;
                }
            }
        }
        return Ok(u8::from(failed));
    }
    let ids = match key {
        Some(key) => match Segment::open_existing(key) {
            Ok(segment) => vec![segment.id()],
            Err(error) => {
                eprintln!(
                    "rshm: no segment to remove for key {key}: {}",
                    error.reason()
                );
                return Ok(1);
            }
        },
        None => ids,
    };
    for id in ids {
        if dry_run {
            match Segment::from_id(id).stat() {
                Ok(info) => println!(
                    "would remove segment {id} (key {}, {})",
                    info.key,
                    human(info.size as u64)
                ),
                Err(error) => {
                    eprintln!("rshm: segment {id}: {}", error.reason());
                    failed = true;
                }
            }
            continue;
        }
        match Segment::from_id(id).remove() {
            Ok(()) => println!("removed segment {id}"),
            Err(error) => {
                let why = match error.errno() {
                    libc::EPERM => {
                        "permission denied: only its owner, its creator or root may remove it"
                            .to_string()
                    }
                    libc::EINVAL | libc::EIDRM => "no such segment (gone already?)".to_string(),
                    _ => error.reason().to_string(),
                };
                eprintln!("rshm: cannot remove segment {id}: {why}");
                failed = true;
            }
        }
    }
    Ok(u8::from(failed))
}

// ---------- stat ----------

fn stat(mut parser: lexopt::Parser) -> Result<u8, Usage> {
    let mut target = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("key") => {
                let key = parse_key(&parser.value()?.string()?)?;
                target = Some(Err(key));
            }
            Long("help") | Short('h') => {
                print!("{STAT_HELP}");
                return Ok(0);
            }
            Value(id) if target.is_none() => {
                let id = id.string()?;
                target = Some(Ok(id
                    .parse::<i32>()
                    .map_err(|_| Usage(format!("'{id}' is not a segment id")))?));
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let id = match target {
        None => return Err(Usage("stat takes a segment id or --key KEY".into())),
        Some(Ok(id)) => id,
        Some(Err(key)) => match Segment::open_existing(key) {
            Ok(segment) => segment.id(),
            Err(error) => {
                eprintln!("rshm: key {key}: {}", error.reason());
                return Ok(1);
            }
        },
    };
    let Ok(all) = list_or_fail() else {
        return Ok(1);
    };
    let Some(s) = all.into_iter().find(|s| s.id == id) else {
        eprintln!("rshm: no segment has id {id}");
        return Ok(1);
    };
    let mode = s.mode();
    let who = |bits: u32| match (bits & 4 != 0, bits & 2 != 0) {
        (true, true) => "read and write",
        (true, false) => "read",
        (false, true) => "write (but not attach: attaching needs read)",
        (false, false) => "nothing",
    };
    println!(
        "segment {} (key {}{})",
        s.id,
        Key::from_raw(s.key),
        if s.key == 0 { ", IPC_PRIVATE" } else { "" }
    );
    println!(
        "  size      {} bytes ({}); resident {}, swapped {}",
        s.size,
        human(s.size),
        human(s.rss),
        human(s.swap)
    );
    println!(
        "  mode      {:04o} {}: the owner may {}; group {}; others {}",
        mode,
        rwx(mode),
        who(mode >> 6),
        who(mode >> 3),
        who(mode)
    );
    println!(
        "  owner     {} (uid {}), group gid {}",
        user_name(s.uid),
        s.uid,
        s.gid
    );
    println!(
        "  creator   {} (uid {}), group gid {}; pid {}",
        user_name(s.cuid),
        s.cuid,
        s.cgid,
        pid_text(s.cpid)
    );
    println!("  created   {} (or last changed by IPC_SET)", ago(s.ctime));
    println!(
        "  attached  {} time(s) now; last attach {}, last detach {}, by pid {}",
        s.nattch,
        ago(s.atime),
        ago(s.dtime),
        pid_text(s.lpid)
    );
    let verdict = if s.marked_for_removal() {
        "removed (IPC_RMID): it goes when its last attachment does".to_string()
    } else if s.orphan() {
        format!("orphan: nobody is attached and its creator and last user are gone; 'rshm rm {}' removes it", s.id)
    } else if s.nattch == 0 {
        "idle: nobody is attached, but its creator or last user still runs".into()
    } else {
        "in use".into()
    };
    println!(
        "  status    {verdict}{}",
        if s.locked() {
            "; locked in memory (SHM_LOCK)"
        } else {
            ""
        }
    );
    Ok(0)
}

// ---------- key ----------

fn key(mut parser: lexopt::Parser) -> Result<u8, Usage> {
    let mut values = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("help") | Short('h') => {
                print!("{KEY_HELP}");
                return Ok(0);
            }
            Value(value) => values.push(value.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    let [path, proj] = values.as_slice() else {
        return Err(Usage("key takes PATH and PROJ_ID".into()));
    };
    let proj_id = match proj.parse::<i32>() {
        Ok(n) => n,
        Err(_) if proj.chars().count() == 1 => proj.chars().next().map_or(0, |c| c as i32),
        Err(_) => {
            return Err(Usage(format!(
                "'{proj}' is not a project id (a number or one character)"
            )))
        }
    };
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(error) => {
            eprintln!("rshm: {path}: {error}: ftok needs an existing file");
            return Ok(1);
        }
    };
    let key = Key::from_file_ids(meta.dev(), meta.ino(), proj_id);
    println!("{key}");
    println!(
        "  made of inode {} (low 16 bits {:#06x}), device {:#x} (low 8 bits {:#04x}) of {path}, and proj_id {proj_id} (low 8 bits {:#04x})",
        meta.ino(),
        meta.ino() & 0xffff,
        meta.dev(),
        meta.dev() & 0xff,
        proj_id & 0xff
    );
    if proj_id & 0xff == 0 {
        eprintln!("rshm: warning: the low 8 bits of proj_id are 0: ftok(3) requires them non-zero (rshm_ftok refuses it)");
    }
    Ok(0)
}

// ---------- limits ----------

fn limits(mut parser: lexopt::Parser) -> Result<u8, Usage> {
    if let Some(arg) = parser.next()? {
        return match arg {
            Long("help") | Short('h') => {
                print!("{LIMITS_HELP}");
                Ok(0)
            }
            other => Err(other.unexpected().into()),
        };
    }
    let (limits, usage) = match (rshm::limits(), rshm::usage()) {
        (Ok(limits), Ok(usage)) => (limits, usage),
        (Err(error), _) | (_, Err(error)) => {
            eprintln!("rshm: {error}");
            return Ok(1);
        }
    };
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64;
    let percent = |used: u64, max: u64| {
        if max == 0 {
            0.0
        } else {
            used as f64 * 100.0 / max as f64
        }
    };
    println!(
        "kernel.shmmax  {} bytes ({}): the largest segment",
        limits.max_segment_size,
        human(limits.max_segment_size)
    );
    println!(
        "kernel.shmall  {} pages ({}): all segments together; in use {} pages ({}, {:.2}%), resident {}, swapped {}",
        limits.max_total_pages,
        human(limits.max_total_pages.saturating_mul(page)),
        usage.total_pages,
        human(usage.total_pages * page),
        percent(usage.total_pages, limits.max_total_pages),
        human(usage.resident_pages * page),
        human(usage.swapped_pages * page)
    );
    println!(
        "kernel.shmmni  {} segments; in use {} ({:.2}%)",
        limits.max_segments,
        usage.segments,
        percent(u64::from(usage.segments), limits.max_segments)
    );
    Ok(0)
}
