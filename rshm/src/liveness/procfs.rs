//! What `/proc` says of a process or thread, read into stack buffers (a
//! probe allocates nothing), and whether this `/proc` describes our own PID
//! namespace at all: one mounted for another namespace (`unshare -p -f`
//! without `--mount-proc`) names other processes under the same numbers.

use crate::error::Errno;
use crate::sys;
use std::ffi::CStr;

/// Bytes of `/proc/ID/stat` that are read: the fields up to the start time fit
/// (the command name in it is at most 64 bytes).
const STAT_BYTES: usize = 512;
/// Bytes of `/proc/ID/status` that are read: `NSpid` and `Threads` are in its first half.
const STATUS_BYTES: usize = 4096;

/// What a `stat` line says: the state letter (field 3) and the start time
/// (field 22, clock ticks after boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub state: u8,
    pub start: u64,
}

impl Stat {
    /// Whether the task has exited (`Z`ombie or `X` dead): for a thread
    /// group's leader, only the leader thread, not the process (see `threads`).
    pub fn exited(self) -> bool {
        matches!(self.state, b'Z' | b'X')
    }
}

/// The file `/proc/<who>/<name>` into `buf` (`who` is a decimal id, `self` or `thread-self`).
fn read(who: Who, name: &[u8], buf: &mut [u8]) -> Result<usize, Errno> {
    let mut path = [0u8; 48];
    let mut digits = [0u8; 10];
    let who: &[u8] = match who {
        Who::Id(id) => itoa(id as u32, &mut digits),
        Who::This => b"self",
        Who::ThisThread => b"thread-self",
    };
    let mut at = 0;
    for part in [&b"/proc/"[..], who, b"/", name] {
        path[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    let path = CStr::from_bytes_with_nul(&path[..=at]).map_err(|_| Errno::new(libc::EINVAL))?;
    sys::read_file(path, buf)
}

/// Whose `/proc` entry to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Who {
    Id(i32),
    /// The calling process (`/proc/self`: right whatever the mount's namespace).
    This,
    /// The calling thread (`/proc/thread-self`).
    ThisThread,
}

/// `/proc/<who>/stat`, parsed.
pub(crate) fn stat(who: Who) -> Result<Option<Stat>, Errno> {
    let mut buf = [0u8; STAT_BYTES];
    let len = read(who, b"stat", &mut buf)?;
    Ok(parse_stat(&buf[..len]))
}

/// The number of threads `/proc/<id>/status` counts (`Threads:`), if it can be read.
pub(crate) fn threads(id: i32) -> Option<u64> {
    let mut buf = [0u8; STATUS_BYTES];
    let len = read(Who::Id(id), b"status", &mut buf).ok()?;
    let mut numbers = status_field(&buf[..len], b"Threads:")?;
    numbers.next()
}

/// The process (thread group) that task `id` belongs to (`Tgid:`), if it can be read.
pub(crate) fn thread_group(id: i32) -> Option<u64> {
    let mut buf = [0u8; STATUS_BYTES];
    let len = read(Who::Id(id), b"status", &mut buf).ok()?;
    let mut numbers = status_field(&buf[..len], b"Tgid:")?;
    numbers.next()
}

/// Whether the `/proc` mounted here describes this process's own PID
/// namespace: `/proc/self/status`'s `NSpid` names exactly one id (the mount's
/// namespace is the innermost one we are in) and it is `getpid()`. Without
/// that proof, an entry of `/proc` may describe a process of another namespace.
pub(crate) fn is_ours() -> bool {
    let mut buf = [0u8; STATUS_BYTES];
    let Ok(len) = read(Who::This, b"status", &mut buf) else {
        return false;
    };
    let Some(mut ids) = status_field(&buf[..len], b"NSpid:") else {
        return false; // a kernel before 4.1 (no NSpid): it cannot be told
    };
    ids.next() == Some(sys::getpid() as u64) && ids.next().is_none()
}

/// The numbers of the `name` line of a `status` file.
fn status_field<'a>(status: &'a [u8], name: &[u8]) -> Option<impl Iterator<Item = u64> + 'a> {
    let line = status
        .split(|&b| b == b'\n')
        .find(|line| line.starts_with(name))?;
    Some(
        line[name.len()..]
            .split(|b| b.is_ascii_whitespace())
            .filter(|field| !field.is_empty())
            .map_while(|field| std::str::from_utf8(field).ok()?.parse().ok()),
    )
}

/// `value` in decimal, in `buf`.
fn itoa(mut value: u32, buf: &mut [u8; 10]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            return &buf[at..];
        }
    }
}

/// The state letter and the start time in a `stat` line.
fn parse_stat(stat: &[u8]) -> Option<Stat> {
    // The command name is in parentheses and may hold anything: fields start after the last ')'.
    let close = stat.iter().rposition(|&b| b == b')')?;
    let mut fields = stat[close + 1..]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let state = *fields.next()?.first()?; // field 3
    let start = fields.nth(18)?; // field 22
    let start = std::str::from_utf8(start).ok()?.trim().parse().ok()?;
    Some(Stat { state, start })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_are_parsed_after_the_command_name() {
        let line = b"42 (a) b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20\n";
        assert_eq!(
            parse_stat(line),
            Some(Stat {
                state: b'S',
                start: 987654
            })
        );
        assert_eq!(parse_stat(b"garbage"), None);
        assert_eq!(itoa(0, &mut [0; 10]), b"0");
        assert_eq!(itoa(4294967295, &mut [0; 10]), b"4294967295");
    }

    #[test]
    fn status_fields_are_read_by_name() {
        let status = b"Name:\tx\nNSpid:\t812\t1\nThreads:\t3\n";
        let ids: Vec<u64> = status_field(status, b"NSpid:").unwrap().collect();
        assert_eq!(ids, [812, 1]);
        assert_eq!(status_field(status, b"Threads:").unwrap().next(), Some(3));
        assert!(status_field(status, b"Tgid:").is_none());
    }

    #[test]
    #[cfg_attr(miri, ignore = "/proc: Miri cannot make syscalls")]
    fn this_proc_is_ours_and_counts_our_threads() {
        assert!(
            is_ours(),
            "the tests run with a /proc of their own PID namespace"
        );
        let me = sys::getpid();
        let _other =
            std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)));
        assert!(threads(me).unwrap() >= 2);
        assert_eq!(
            stat(Who::This).unwrap().unwrap().start,
            stat(Who::Id(me)).unwrap().unwrap().start
        );
    }
}
