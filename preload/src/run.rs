//! The leak check's run: all the processes of one traced program, however
//! they were started, and which of them is the last, the one that gives the
//! verdict (leaks.rs).
//!
//! The first process of a run (one that finds no `RSHM_LEAK_CHECK_RUN` in its
//! environment) makes a private directory (`mkdtemp`, in `$TMPDIR` or `/tmp`)
//! and names it in its environment, so that what it executes joins the run;
//! forked children inherit the name in memory, which survives a child that
//! clears its environment. In the directory:
//! - `p.NS.PID.START`: one empty file per registered process (its PID
//!   namespace, id and start time). A process registers at load; a forked
//!   child registers in a `pthread_atfork` handler; and at exit a process
//!   registers its live children (children of `_Fork`, or not yet scheduled)
//!   before it leaves, so that a daemon outliving its launcher is waited for.
//! - `created`: one line per object made, each appended with one write(2) (leaks.rs).
//! - `verdict`: made (`O_EXCL`) by the one process that gives the verdict.
//!
//! At normal exit a process looks at the others: a registered process that
//! runs (and has the preload mapped) means the run goes on; one that the
//! liveness model finds gone (killed, or ended by `_exit`) is done, and its
//! file is removed; one it cannot tell about means the run goes on. A process
//! that runs without the preload (it executed another program, or a setuid
//! one) will never leave, so it does not count. When no other registered
//! process remains, this one is the last: it claims the verdict and gives it
//! before it exits. Otherwise it removes its own file and leaves.
//!
//! Processes do not all end through `exit`: dash ends with `_exit`, a process
//! may be killed, and two that leave at once each see the other still there.
//! So the first process also starts a keeper (detached by a double fork, so
//! that no process of the program ever waits for it, holding only stderr):
//! every 100 ms it looks at the registered processes the same way, and when
//! none remains it claims the verdict, if nobody did, and gives it.

use crate::procfs::{self, errno, CPath};
use crate::settings::{self, RUN_VARIABLE};
use rshm::liveness::{Liveness, ProcessId};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::*};

/// The longest run directory path kept, its NUL excluded.
const DIR_MAX: usize = 255;

#[allow(clippy::declare_interior_mutable_const)] // a template for the arrays
const ZERO: AtomicU8 = AtomicU8::new(0);
/// The run directory (written at load only), and its length: 0 outside a run.
static DIR: [AtomicU8; DIR_MAX] = [ZERO; DIR_MAX];
static DIR_LEN: AtomicUsize = AtomicUsize::new(0);
/// What a line of `/proc/PID/maps` shows for this library: ` MAJOR:MINOR INODE `.
static MAPPED: [AtomicU8; 64] = [ZERO; 64];
static MAPPED_LEN: AtomicUsize = AtomicUsize::new(0);

/// A file `name` in the run directory (or the directory itself for `b""`); None outside a run.
pub fn path(name: &[u8]) -> Option<CPath> {
    let len = DIR_LEN.load(Acquire);
    if len == 0 {
        return None;
    }
    let mut dir = [0u8; DIR_MAX];
    for (byte, slot) in dir.iter_mut().zip(&DIR[..len]) {
        *byte = slot.load(Relaxed);
    }
    let mut path = CPath::new();
    let fits = path.push(&dir[..len]) && (name.is_empty() || (path.push(b"/") && path.push(name)));
    fits.then_some(path)
}

fn set_dir(dir: &[u8]) {
    for (slot, &byte) in DIR.iter().zip(dir) {
        slot.store(byte, Relaxed);
    }
    DIR_LEN.store(dir.len(), Release);
}

/// Joins the run named in the environment, or starts one. At load, with the
/// leak check on; false (said on stderr) when there is no directory to use.
pub fn join_at_load(verdict: fn()) -> bool {
    remember_how_this_library_is_mapped();
    let mut named = [0u8; DIR_MAX + 1];
    if let Some(dir) = settings::copy_env(RUN_VARIABLE, &mut named) {
        if dir.starts_with(b"/") {
            set_dir(dir);
            if register(ProcessId::this_process()).is_ok() {
                return at_fork_register_children();
            }
            DIR_LEN.store(0, Release); // gone (its verdict was given): a run of our own
        }
    }
    match start_run() {
        Ok(()) => {
            start_keeper(verdict);
            at_fork_register_children()
        }
        Err((base, errno)) => {
            crate::line::say(format_args!(
                "RSHM_LEAK_CHECK: cannot make a run directory in {} ({}): no leak check",
                base.escape_ascii(),
                rshm::Errno::new(errno)
            ));
            false
        }
    }
}

/// Makes the run directory, names it in the environment and registers this process.
fn start_run() -> Result<(), (&'static [u8], i32)> {
    let mut tmpdir = [0u8; 200];
    let base: &[u8] = match settings::copy_env(c"TMPDIR", &mut tmpdir) {
        Some(dir) if dir.starts_with(b"/") => dir,
        _ => b"/tmp",
    };
    let mut template = CPath::new();
    if !(template.push(base) && template.push(b"/rshm-leak-check.XXXXXX")) {
        return Err((b"$TMPDIR", libc::ENAMETOOLONG));
    }
    let base_name: &'static [u8] = if base == b"/tmp" { b"/tmp" } else { b"$TMPDIR" };
    let mut buf = [0u8; DIR_MAX + 1];
    let made = template.bytes();
    if made.len() > DIR_MAX {
        return Err((base_name, libc::ENAMETOOLONG));
    }
    buf[..made.len()].copy_from_slice(made);
    // SAFETY: buf holds a NUL-terminated template ending in XXXXXX.
    if unsafe { libc::mkdtemp(buf.as_mut_ptr().cast()) }.is_null() {
        return Err((base_name, errno()));
    }
    // SAFETY: both are NUL-terminated; at load no other thread reads the environment.
    if unsafe { libc::setenv(RUN_VARIABLE.as_ptr(), buf.as_ptr().cast(), 1) } != 0 {
        let errno = errno();
        // SAFETY: buf names the directory just made, empty.
        unsafe { libc::rmdir(buf.as_ptr().cast()) };
        return Err((base_name, errno));
    }
    set_dir(&buf[..made.len()]);
    register(ProcessId::this_process()).map_err(|errno| (base_name, errno))
}

/// Registers forked children in the child (a handler of fork(3); `_Fork`
/// children are registered by their parent at its exit, if still alive).
fn at_fork_register_children() -> bool {
    extern "C" fn in_child() {
        let _ = register(ProcessId::this_process());
    }
    // SAFETY: in_child is a plain function, async-signal-safe (open and close only).
    unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    true
}

/// The file that registers `process`: `p.NS.PID.START`.
fn registration(process: ProcessId) -> Option<CPath> {
    let mut name = CPath::new();
    let fits = name.push(b"p.")
        && name.push_num(rshm::liveness::pid_namespace())
        && name.push(b".")
        && name.push_num(process.id as u32 as u64)
        && name.push(b".")
        && name.push_num(process.start);
    path(name.bytes()).filter(|_| fits)
}

fn register(process: ProcessId) -> Result<(), i32> {
    let file = registration(process).ok_or(libc::ENAMETOOLONG)?;
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: file is NUL-terminated.
    let fd = unsafe { libc::open(file.as_ptr(), flags, 0o600) };
    if fd < 0 {
        return Err(errno());
    }
    // SAFETY: fd was just opened.
    unsafe { libc::close(fd) };
    Ok(())
}

/// How a registered process stands. Only `Gone` lets the run end without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    Running,
    Gone,
    CannotTell,
}

/// The one place that asks the liveness model about a registered process.
fn judge(namespace: u64, process: ProcessId) -> Peer {
    let ours = rshm::liveness::pid_namespace();
    if namespace == 0 || namespace != ours {
        return Peer::CannotTell; // its id means nothing here (or no namespace was known)
    }
    match process.liveness() {
        Liveness::Alive => Peer::Running,
        Liveness::Gone => Peer::Gone,
        Liveness::CannotTell => Peer::CannotTell,
    }
}

/// `p.NS.PID.START` read back.
fn parse_registration(name: &[u8]) -> Option<(u64, ProcessId)> {
    let mut fields = name.strip_prefix(b"p.")?.split(|&b| b == b'.');
    let mut number = || -> Option<u64> { std::str::from_utf8(fields.next()?).ok()?.parse().ok() };
    let namespace = number()?;
    let id = i32::try_from(number()?).ok()?;
    let start = number()?;
    Some((namespace, ProcessId { id, start }))
}

fn remember_how_this_library_is_mapped() {
    // SAFETY: an all-zero Dl_info (NULL pointers) is a valid value for dladdr to overwrite.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: the address is a function of this library; info is writable.
    let found = unsafe { libc::dladdr(join_at_load as *const libc::c_void, &mut info) } != 0;
    if !found || info.dli_fname.is_null() {
        return;
    }
    // SAFETY: an all-zero stat is a valid value for stat to overwrite.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: dli_fname is the loader's NUL-terminated name of this library.
    if unsafe { libc::stat(info.dli_fname, &mut st) } != 0 {
        return;
    }
    let mut pattern = CPath::new();
    let (major, minor) = (libc::major(st.st_dev), libc::minor(st.st_dev));
    let mut hex = [0u8; 16];
    let fits = pattern.push(b" ")
        && pattern.push(to_hex(major as u64, &mut hex))
        && pattern.push(b":")
        && pattern.push(to_hex(minor as u64, &mut hex))
        && pattern.push(b" ")
        && pattern.push_num(st.st_ino)
        && pattern.push(b" ");
    let bytes = pattern.bytes();
    if fits && bytes.len() <= MAPPED.len() {
        for (slot, &byte) in MAPPED.iter().zip(bytes) {
            slot.store(byte, Relaxed);
        }
        MAPPED_LEN.store(bytes.len(), Release);
    }
}

/// `value` in lower-case hex, at least two digits (as /proc/PID/maps shows devices).
fn to_hex(mut value: u64, buf: &mut [u8; 16]) -> &[u8] {
    let mut at = buf.len();
    while value != 0 || buf.len() - at < 2 {
        at -= 1;
        buf[at] = b"0123456789abcdef"[(value & 15) as usize];
        value >>= 4;
    }
    &buf[at..]
}

/// Whether `pid` has this library mapped: None if its maps cannot be read.
fn maps_this_library(pid: i32) -> Option<bool> {
    let len = MAPPED_LEN.load(Acquire);
    if len == 0 {
        return None;
    }
    let mut needle = [0u8; 64];
    for (byte, slot) in needle.iter_mut().zip(&MAPPED[..len]) {
        *byte = slot.load(Relaxed);
    }
    let mut maps = CPath::new();
    let _ = maps.push(b"/proc/") && maps.push_num(pid as u32 as u64) && maps.push(b"/maps");
    procfs::contains(&maps, &needle[..len]).ok()
}

/// At exit: registers this process's live children, and either claims the
/// verdict (true: this process is the last) or leaves the run.
pub fn leave_or_claim_verdict() -> bool {
    let me = ProcessId::this_process();
    register_live_children();
    if others_done(me) && claim_verdict() {
        return true;
    }
    if let Some(mine) = registration(me) {
        // SAFETY: mine is NUL-terminated.
        unsafe { libc::unlink(mine.as_ptr()) };
    }
    false
}

/// Starts the keeper (see the module's documentation): a grandchild that this
/// process reaps the intermediate of at once.
fn start_keeper(verdict: fn()) {
    // SAFETY: at load, before main: the child only calls async-signal-safe functions and _exit.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return; // no keeper: the last process to exit through `exit` gives the verdict
    }
    if child > 0 {
        let mut status = 0;
        // SAFETY: child is this process's child.
        while unsafe { libc::waitpid(child, &mut status, 0) } < 0 && errno() == libc::EINTR {}
        return;
    }
    // SAFETY: as above.
    if unsafe { libc::fork() } != 0 {
        // SAFETY: the intermediate ends at once, without the program's exit handlers.
        unsafe { libc::_exit(0) };
    }
    keep(verdict);
}

/// The keeper's life: it holds no descriptor but stderr, and ends with the run.
fn keep(verdict: fn()) -> ! {
    // SAFETY: plain descriptor calls on this process's own table.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
        }
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
    }
    loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let Some(dir) = path(b"") else { break };
        // SAFETY: dir is NUL-terminated; F_OK only asks whether it exists.
        if unsafe { libc::access(dir.as_ptr(), libc::F_OK) } != 0 {
            break; // the verdict was given and the run cleaned
        }
        // Itself excluded: should a process of the run be its reaper, that one registers it at exit.
        if others_done(ProcessId::this_process()) {
            if claim_verdict() {
                verdict();
                clean();
            }
            break;
        }
    }
    // SAFETY: the keeper runs none of the program's exit handlers.
    unsafe { libc::_exit(0) }
}

/// Makes the `verdict` file: true for the one process that made it.
fn claim_verdict() -> bool {
    let Some(verdict) = path(b"verdict") else {
        return false;
    };
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: verdict is NUL-terminated.
    let fd = unsafe { libc::open(verdict.as_ptr(), flags, 0o600) };
    if fd < 0 {
        return false; // another process gives it, or the run is gone
    }
    // SAFETY: fd was just opened.
    unsafe { libc::close(fd) };
    true
}

/// Whether every registered process but `me` is done: gone, or running without the preload.
fn others_done(me: ProcessId) -> bool {
    let Some(dir) = path(b"") else {
        return false;
    };
    let mut done = true;
    let listed = procfs::each_entry(&dir, |name| {
        let Some((namespace, process)) = parse_registration(name) else {
            return ControlFlow::Continue(()); // `created`, `verdict`
        };
        if process == me {
            return ControlFlow::Continue(());
        }
        let forget = match judge(namespace, process) {
            Peer::Gone => true,
            Peer::CannotTell => false,
            Peer::Running => runs_without_the_preload(process),
        };
        if !forget {
            done = false;
            return ControlFlow::Break(());
        }
        if let Some(file) = path(name) {
            // SAFETY: file is NUL-terminated.
            unsafe { libc::unlink(file.as_ptr()) };
        }
        ControlFlow::Continue(())
    });
    done && listed.is_ok()
}

/// Whether a running registered process no longer runs with this library (it
/// executed another program): it will never leave. Asked twice, 50 ms apart,
/// so that a process in the middle of an exec that loads the preload again is
/// not missed; a process whose maps cannot be read may still run with it.
fn runs_without_the_preload(process: ProcessId) -> bool {
    if maps_this_library(process.id) != Some(false) {
        return false;
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    maps_this_library(process.id) == Some(false)
        && judge(rshm::liveness::pid_namespace(), process) == Peer::Running
}

/// Registers each live child of each thread of this process (`/proc/self/task/TID/children`).
fn register_live_children() {
    let mut tasks = CPath::new();
    let _ = tasks.push(b"/proc/self/task");
    let _ = procfs::each_entry(&tasks, |tid| {
        let mut children = CPath::new();
        let _ =
            children.push(b"/proc/self/task/") && children.push(tid) && children.push(b"/children");
        let _ = procfs::each_line(&children, |line| {
            for pid in line.split(|&b| b == b' ') {
                let pid = std::str::from_utf8(pid).ok().and_then(|p| p.parse().ok());
                if let Some(child) = pid.and_then(ProcessId::of) {
                    let _ = register(child);
                }
            }
            ControlFlow::Continue(())
        });
        ControlFlow::Continue(())
    });
}

/// Removes the run directory and what it holds, once the verdict is given.
pub fn clean() {
    let Some(dir) = path(b"") else {
        return;
    };
    let _ = procfs::each_entry(&dir, |name| {
        if name != b"verdict" {
            if let Some(file) = path(name) {
                // SAFETY: file is NUL-terminated.
                unsafe { libc::unlink(file.as_ptr()) };
            }
        }
        ControlFlow::Continue(())
    });
    if let Some(verdict) = path(b"verdict") {
        // SAFETY: NUL-terminated.
        unsafe { libc::unlink(verdict.as_ptr()) };
    }
    // SAFETY: dir is NUL-terminated.
    unsafe { libc::rmdir(dir.as_ptr()) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_read_back() {
        assert_eq!(
            parse_registration(b"p.4026531836.1234.987654"),
            Some((
                4026531836,
                ProcessId {
                    id: 1234,
                    start: 987654
                }
            ))
        );
        for odd in [
            &b"created"[..],
            b"verdict",
            b"p.1.2",
            b"p.x.2.3",
            b"p.1.99999999999.3",
        ] {
            assert_eq!(parse_registration(odd), None, "{}", odd.escape_ascii());
        }
    }

    #[test]
    fn devices_are_written_as_maps_shows_them() {
        assert_eq!(to_hex(0, &mut [0; 16]), b"00");
        assert_eq!(to_hex(8, &mut [0; 16]), b"08");
        assert_eq!(to_hex(0xfd, &mut [0; 16]), b"fd");
        assert_eq!(to_hex(0x103, &mut [0; 16]), b"103");
    }

    #[test]
    #[cfg_attr(miri, ignore = "/proc: Miri cannot make syscalls")]
    fn a_gone_process_is_gone_and_another_namespace_cannot_be_told() {
        let me = ProcessId::this_process();
        let ns = rshm::liveness::pid_namespace();
        assert_eq!(judge(ns, me), Peer::Running);
        assert_eq!(judge(ns.wrapping_add(1), me), Peer::CannotTell);
        let later = ProcessId {
            start: me.start + 1,
            ..me
        };
        assert_eq!(judge(ns, later), Peer::Gone);
    }
}
