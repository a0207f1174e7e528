//! Whether a process or thread still runs, judged the way a peer in shared
//! memory must be judged: by its id *and* its start time (an id is reused
//! once its owner is gone), and never across PID namespaces (a process in
//! another namespace that shares the IPC namespace has ids that mean
//! nothing here). Everything is read from `/proc` into stack buffers: a
//! probe allocates nothing.

use crate::sys;
use std::ffi::CStr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A process or thread as peers record it: its id and its start time (clock
/// ticks after boot, `/proc/ID/stat` field 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProcessId {
    pub id: i32,
    pub start: u64,
}

/// What a probe found out about a [`ProcessId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// It runs (or its id is taken by it still).
    Alive,
    /// It is gone: no such id, a zombie, or the id now names a later process.
    Dead,
    /// It cannot be told (its `/proc` entry is hidden from us, say): treat as alive.
    Unknown,
}

/// Bytes of `/proc/ID/stat` that are read: the fields up to the start time fit
/// (the command name in it is at most 64 bytes).
const STAT_BYTES: usize = 512;

/// `/proc/ID/stat`, or `/proc/thread-self/stat` for `None`, into a stack buffer.
fn read_stat(id: Option<i32>, buf: &mut [u8; STAT_BYTES]) -> Result<usize, crate::Errno> {
    let mut path = [0u8; 32];
    let len = match id {
        None => {
            let name = b"/proc/thread-self/stat";
            path[..name.len()].copy_from_slice(name);
            name.len()
        }
        Some(id) => {
            let mut at = 0;
            for part in [&b"/proc/"[..], itoa(id as u32, &mut [0u8; 10]), b"/stat"] {
                path[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            at
        }
    };
    let path =
        CStr::from_bytes_with_nul(&path[..=len]).map_err(|_| crate::Errno::new(libc::EINVAL))?;
    sys::read_file(path, buf)
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
fn parse_stat(stat: &[u8]) -> Option<(u8, u64)> {
    // The command name is in parentheses and may hold anything: fields start after the last ')'.
    let close = stat.iter().rposition(|&b| b == b')')?;
    let mut fields = stat[close + 1..]
        .split(|&b| b == b' ')
        .filter(|f| !f.is_empty());
    let state = *fields.next()?.first()?; // field 3
    let start = fields.nth(18)?; // field 22
    let start = std::str::from_utf8(start).ok()?.trim().parse().ok()?;
    Some((state, start))
}

impl ProcessId {
    /// The process or thread with id `id` now, if it exists.
    pub fn of(id: i32) -> Option<ProcessId> {
        if id <= 0 {
            return None;
        }
        let mut buf = [0u8; STAT_BYTES];
        let len = read_stat(Some(id), &mut buf).ok()?;
        parse_stat(&buf[..len]).map(|(_, start)| ProcessId { id, start })
    }

    /// This process.
    pub fn this_process() -> ProcessId {
        static START: AtomicU64 = AtomicU64::new(u64::MAX);
        let id = sys::getpid();
        // A forked child has the same START cache: check the id it was read for.
        static FOR: AtomicU64 = AtomicU64::new(0);
        if FOR.load(Relaxed) != id as u64 {
            let start = ProcessId::of(id).map_or(0, |p| p.start);
            START.store(start, Relaxed);
            FOR.store(id as u64, Relaxed);
        }
        ProcessId {
            id,
            start: START.load(Relaxed),
        }
    }

    /// The calling thread.
    pub fn this_thread() -> ProcessId {
        let mut buf = [0u8; STAT_BYTES];
        let start = read_stat(None, &mut buf)
            .ok()
            .and_then(|len| parse_stat(&buf[..len]))
            .map_or(0, |(_, start)| start);
        ProcessId {
            id: sys::gettid(),
            start,
        }
    }

    /// Whether it still runs. A zombie counts as dead (its parent may be the
    /// very process waiting on it); an entry we may not read is `Unknown`.
    pub fn liveness(self) -> Liveness {
        if self.id <= 0 {
            return Liveness::Dead;
        }
        let mut buf = [0u8; STAT_BYTES];
        match read_stat(Some(self.id), &mut buf) {
            Ok(len) => match parse_stat(&buf[..len]) {
                Some((b'Z' | b'X', _)) => Liveness::Dead,
                Some((_, start)) if start != self.start => Liveness::Dead,
                Some(_) => Liveness::Alive,
                None => Liveness::Unknown,
            },
            Err(errno) if errno.raw() == libc::ENOENT || errno.raw() == libc::ESRCH => {
                // No /proc entry: gone, unless /proc is not there at all.
                match sys::probe_process(self.id) {
                    Err(errno) if errno.raw() == libc::ESRCH => Liveness::Dead,
                    _ => Liveness::Unknown,
                }
            }
            Err(_) => Liveness::Unknown,
        }
    }

    /// `id` and the low 32 bits of the start time in one word (0 for none),
    /// for peers that record a holder in one atomic: a reused id matches only
    /// if its start time agrees in 32 bits (497 days of ticks at 100 Hz).
    pub fn pack(self) -> u64 {
        (self.id as u32 as u64) << 32 | (self.start & 0xffff_ffff)
    }

    /// The inverse of [`pack`](Self::pack): `None` for 0.
    pub fn unpack(word: u64) -> Option<PackedId> {
        (word != 0).then_some(PackedId(word))
    }
}

/// A holder recorded by [`ProcessId::pack`]: its id and 32 bits of its start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedId(u64);

impl PackedId {
    /// The holder a word records (a word of 0 records none: its id is 0).
    pub fn from_word(word: u64) -> PackedId {
        PackedId(word)
    }

    /// The id.
    pub fn id(self) -> i32 {
        (self.0 >> 32) as u32 as i32
    }

    /// Whether it still runs, by its id and its start time's low 32 bits.
    pub fn liveness(self) -> Liveness {
        let Some(now) = ProcessId::of(self.id()) else {
            return ProcessId {
                id: self.id(),
                start: 0,
            }
            .liveness();
        };
        if now.start & 0xffff_ffff != self.0 & 0xffff_ffff {
            return Liveness::Dead;
        }
        now.liveness()
    }
}

/// This process's PID namespace, by the inode of `/proc/self/ns/pid` (0 if
/// it cannot be read): processes whose namespaces differ cannot judge each
/// other's ids.
pub fn pid_namespace() -> u64 {
    static CACHED: AtomicU64 = AtomicU64::new(0);
    match CACHED.load(Relaxed) {
        0 => {
            // SAFETY: the path is a NUL-terminated string.
            let ino = unsafe { sys::stat_dev_ino(c"/proc/self/ns/pid".as_ptr()) }
                .map_or(0, |(_, ino)| ino);
            CACHED.store(ino, Relaxed);
            ino
        }
        ino => ino,
    }
}

/// Whether `pid` names a live process (by id alone: for the command's
/// listings, where the kernel records no start time). A zombie counts as
/// dead; a process this one may not inspect counts as alive.
pub fn alive(pid: i32) -> bool {
    ProcessId::of(pid).is_some_and(|p| p.liveness() != Liveness::Dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "/proc: Miri cannot make syscalls")]
    fn this_process_lives_and_nonsense_ids_do_not() {
        let me = ProcessId::this_process();
        assert_eq!(me.id, std::process::id() as i32);
        assert!(me.start > 0);
        assert_eq!(me.liveness(), Liveness::Alive);
        assert_eq!(
            ProcessId {
                start: me.start + 1,
                ..me
            }
            .liveness(),
            Liveness::Dead,
            "a reused id"
        );
        assert_eq!(ProcessId { id: 0, start: 0 }.liveness(), Liveness::Dead);
        assert_eq!(
            ProcessId {
                id: i32::MAX,
                start: 1
            }
            .liveness(),
            Liveness::Dead
        );
        assert!(alive(me.id));
        assert!(!alive(0) && !alive(-1) && !alive(i32::MAX));
        let packed = ProcessId::unpack(me.pack()).unwrap();
        assert_eq!(packed.id(), me.id);
        assert_eq!(packed.liveness(), Liveness::Alive);
        assert!(ProcessId::unpack(0).is_none());
    }

    #[test]
    #[cfg_attr(miri, ignore = "/proc: Miri cannot make syscalls")]
    fn a_thread_has_its_own_id_and_start() {
        let main = ProcessId::this_thread();
        assert_eq!(main.liveness(), Liveness::Alive);
        let other = std::thread::spawn(ProcessId::this_thread).join().unwrap();
        assert_ne!(other.id, main.id);
        // join returns once the thread cleared its id, which the kernel does
        // before it takes the thread out of /proc: give the exit a moment.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while other.liveness() == Liveness::Alive && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(
            other.liveness(),
            Liveness::Dead,
            "a thread that exited is dead"
        );
    }

    #[test]
    fn stat_lines_are_parsed_after_the_command_name() {
        let line = b"42 (a) b) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 987654 20\n";
        assert_eq!(parse_stat(line), Some((b'S', 987654)));
        assert_eq!(parse_stat(b"garbage"), None);
        assert_eq!(itoa(0, &mut [0; 10]), b"0");
        assert_eq!(itoa(4294967295, &mut [0; 10]), b"4294967295");
    }

    #[test]
    #[cfg_attr(miri, ignore = "/proc: Miri cannot make syscalls")]
    fn the_pid_namespace_is_known() {
        assert_ne!(pid_namespace(), 0);
    }
}
