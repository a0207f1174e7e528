//! The only place that makes raw system calls. Each function is one syscall,
//! made directly (inline `syscall`/`svc` on x86_64 and aarch64, `syscall(2)`
//! elsewhere) rather than through glibc's wrappers: a preloaded rshm never
//! calls itself, errno is never touched on success, and the cost is glibc's.

use crate::error::Errno;
use libc::{c_char, c_int, c_long, c_void};

/// A raw three-argument syscall: the kernel's return, `-errno` on failure.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn syscall3(number: c_long, a: usize, b: usize, c: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall ABI: number in rax, arguments in rdi, rsi, rdx;
    // the kernel clobbers rcx and r11 and touches no user stack.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => ret,
            in("rdi") a, in("rsi") b, in("rdx") c,
            lateout("rcx") _, lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// A raw three-argument syscall: the kernel's return, `-errno` on failure.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn syscall3(number: c_long, a: usize, b: usize, c: usize) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 syscall ABI: number in x8, arguments in x0..x2, result in x0.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") number,
            inlateout("x0") a as isize => ret, in("x1") b, in("x2") c,
            options(nostack)
        );
    }
    ret
}

/// A raw three-argument syscall through libc's `syscall(2)`, as `-errno` on failure.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline]
unsafe fn syscall3(number: c_long, a: usize, b: usize, c: usize) -> isize {
    // SAFETY: forwarded from the callers, which pass what the syscall expects.
    let ret = unsafe { libc::syscall(number, a, b, c) } as isize;
    if ret == -1 {
        // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
        -(unsafe { *libc::__errno_location() } as isize)
    } else {
        ret
    }
}

/// A raw five-argument syscall: the kernel's return, `-errno` on failure.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn syscall5(number: c_long, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the x86_64 syscall ABI: number in rax, arguments in rdi, rsi, rdx,
    // r10, r8; the kernel clobbers rcx and r11 and touches no user stack.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") number as isize => ret,
            in("rdi") a, in("rsi") b, in("rdx") c, in("r10") d, in("r8") e,
            lateout("rcx") _, lateout("r11") _,
            options(nostack)
        );
    }
    ret
}

/// A raw five-argument syscall: the kernel's return, `-errno` on failure.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn syscall5(number: c_long, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    let ret: isize;
    // SAFETY: the aarch64 syscall ABI: number in x8, arguments in x0..x4, result in x0.
    unsafe {
        std::arch::asm!(
            "svc 0",
            in("x8") number,
            inlateout("x0") a as isize => ret, in("x1") b, in("x2") c, in("x3") d, in("x4") e,
            options(nostack)
        );
    }
    ret
}

/// A raw five-argument syscall through libc's `syscall(2)`, as `-errno` on failure.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline]
unsafe fn syscall5(number: c_long, a: usize, b: usize, c: usize, d: usize, e: usize) -> isize {
    // SAFETY: forwarded from the callers, which pass what the syscall expects.
    let ret = unsafe { libc::syscall(number, a, b, c, d, e) } as isize;
    if ret == -1 {
        // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
        -(unsafe { *libc::__errno_location() } as isize)
    } else {
        ret
    }
}

/// The result of a raw syscall: values in `-4095..=-1` are `-errno`.
#[inline(always)]
fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::new(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// `shmget(2)`: the id of the segment for `key`, created as `flags` says.
#[inline]
pub(crate) fn shmget(key: libc::key_t, size: usize, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: shmget takes no pointers; any argument values are safe to pass.
    let ret = unsafe { syscall3(libc::SYS_shmget, key as usize, size, flags as usize) };
    check(ret).map(|id| id as c_int)
}

/// `shmat(2)`: maps segment `id` at `addr` (NULL: the kernel chooses).
///
/// # Safety
/// With `SHM_REMAP` (or a fixed `addr` that the kernel accepts) this replaces
/// whatever the process had mapped there; the caller vouches for that range.
#[inline]
pub(crate) unsafe fn shmat(
    id: c_int,
    addr: *const c_void,
    flags: c_int,
) -> Result<*mut c_void, Errno> {
    // SAFETY: the kernel validates id, addr and flags; the caller owns the address range.
    let ret = unsafe { syscall3(libc::SYS_shmat, id as usize, addr as usize, flags as usize) };
    // A mapping address is never -1, so -1 is the error return alone.
    check(ret).map(|addr| addr as *mut c_void)
}

/// `shmdt(2)`: unmaps the segment attached at `addr`.
///
/// # Safety
/// Nothing may use the memory at `addr` afterwards.
#[inline]
pub(crate) unsafe fn shmdt(addr: *const c_void) -> Result<(), Errno> {
    // SAFETY: the kernel checks that addr starts a shared memory mapping.
    check(unsafe { syscall3(libc::SYS_shmdt, addr as usize, 0, 0) }).map(drop)
}

/// `shmctl(2)`: `cmd` on segment `id` (or index, for SHM_STAT), with `buf` as the kernel reads or writes it.
///
/// # Safety
/// `buf` is handed to the kernel as is; when it points into the process, it
/// must be valid for the structure `cmd` reads or writes. The kernel reports a
/// bad address as EFAULT instead of faulting.
#[inline]
pub(crate) unsafe fn shmctl(id: c_int, cmd: c_int, buf: *mut c_void) -> Result<c_int, Errno> {
    // SAFETY: see above; the kernel copies to and from user memory with fault checks.
    let ret = unsafe { syscall3(libc::SYS_shmctl, id as usize, cmd as usize, buf as usize) };
    check(ret).map(|ret| ret as c_int)
}

/// `stat(2)` of `path` (following symbolic links, as glibc's ftok does): its device and inode.
///
/// # Safety
/// `path` is handed to the kernel as is: NULL or an unmapped pointer is EFAULT,
/// anything else must be a NUL-terminated string.
#[inline]
pub(crate) unsafe fn stat_dev_ino(path: *const c_char) -> Result<(u64, u64), Errno> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: st is a writable stat buffer; path goes to the kernel, which checks it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            libc::AT_FDCWD as c_long,
            path,
            st.as_mut_ptr(),
            0 as c_long,
        )
    };
    if ret == -1 {
        // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
        return Err(Errno::new(unsafe { *libc::__errno_location() }));
    }
    // SAFETY: the kernel filled st on success.
    let st = unsafe { st.assume_init() };
    Ok((st.st_dev, st.st_ino))
}

/// The errno of the libc `syscall(2)` call just made.
fn last_errno() -> Errno {
    // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
    Errno::new(unsafe { *libc::__errno_location() })
}

/// `semget(2)`.
#[inline]
pub(crate) fn semget(key: libc::key_t, nsems: c_int, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: semget takes no pointers.
    let ret = unsafe {
        syscall3(
            libc::SYS_semget,
            key as usize,
            nsems as usize,
            flags as usize,
        )
    };
    check(ret).map(|id| id as c_int)
}

/// `semtimedop(2)`: `ops` atomically, waiting at most `timeout` (NULL: forever).
#[inline]
pub(crate) fn semtimedop(
    id: c_int,
    ops: &mut [libc::sembuf],
    timeout: Option<&libc::timespec>,
) -> Result<(), Errno> {
    let timeout = timeout.map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: ops and timeout are valid for the kernel to read.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_semtimedop,
            id,
            ops.as_mut_ptr(),
            ops.len(),
            timeout,
        )
    };
    if ret == -1 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// `semctl(2)` with an int argument (SETVAL, GETVAL, IPC_RMID) or a buffer (IPC_STAT).
///
/// # Safety
/// `arg` is what `cmd` expects: an int, or a pointer to a `semid_ds` for IPC_STAT.
#[inline]
pub(crate) unsafe fn semctl(id: c_int, cmd: c_int, arg: usize) -> Result<c_int, Errno> {
    // SAFETY: forwarded contract.
    let ret = unsafe { libc::syscall(libc::SYS_semctl, id, 0, cmd, arg) };
    if ret == -1 {
        Err(last_errno())
    } else {
        Ok(ret as c_int)
    }
}

/// `futex(FUTEX_WAIT)` on a word shared between processes: sleeps while
/// `*word == expected`, at most `timeout`. Callers re-check their condition
/// after it returns (woken, timed out or interrupted alike).
#[inline]
pub(crate) fn futex_wait(
    word: &std::sync::atomic::AtomicU32,
    expected: u32,
    timeout: Option<&libc::timespec>,
) {
    let timeout = timeout.map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: word is a valid u32 in shared memory; FUTEX_WAIT (not _PRIVATE) works across processes.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            timeout,
        )
    };
}

/// `futex(FUTEX_WAKE)`: wakes every process sleeping on `word`.
#[inline]
pub(crate) fn futex_wake(word: &std::sync::atomic::AtomicU32) {
    // SAFETY: word is a valid u32; waking has no other effect.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, c_int::MAX) };
}

/// `futex(FUTEX_WAKE)` of at most `count` waiters.
#[inline]
pub(crate) fn futex_wake_some(word: &std::sync::atomic::AtomicU32, count: c_int) {
    // SAFETY: word is a valid u32; waking has no other effect.
    unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count) };
}

/// Reads up to `buf.len()` bytes of the file at `path` (open, read, close;
/// no allocation): the number of bytes read.
pub(crate) fn read_file(path: &std::ffi::CStr, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: path is a NUL-terminated string; the flags open for reading only.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY,
        )
    };
    if fd < 0 {
        return Err(last_errno());
    }
    let mut len = 0;
    let result = loop {
        if len == buf.len() {
            break Ok(len);
        }
        // SAFETY: buf[len..] is writable memory of the length given.
        let n = unsafe { libc::read(fd, buf[len..].as_mut_ptr().cast(), buf.len() - len) };
        match n {
            0 => break Ok(len),
            n if n > 0 => len += n as usize,
            _ if last_errno().raw() == libc::EINTR => {}
            _ => break Err(last_errno()),
        }
    };
    // SAFETY: fd was opened above and is closed once.
    unsafe { libc::close(fd) };
    result
}

/// The calling thread's id (`gettid(2)`).
#[inline]
pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { libc::syscall(libc::SYS_gettid) as i32 }
}

/// The calling process's id.
#[inline]
pub(crate) fn getpid() -> i32 {
    // SAFETY: getpid cannot fail.
    unsafe { libc::getpid() }
}

/// `kill(pid, 0)`: whether a signal could be sent, as the errno when not.
#[inline]
pub(crate) fn probe_process(pid: i32) -> Result<(), Errno> {
    // SAFETY: signal 0 sends nothing; it only checks.
    if unsafe { libc::kill(pid, 0) } == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

/// What `pidfd_open(2)` (Linux 5.3) says of process `pid` of this PID
/// namespace: whether it has exited (all its threads), as the kernel's own
/// answer: `Ok(true)` exited (a zombie awaiting its parent included),
/// `Ok(false)` running, `Err` as the kernel refused (`ESRCH`: no such process;
/// `EINVAL`: `pid` names a thread that leads no process; `ENOSYS`: an older kernel).
pub(crate) fn process_exited(pid: i32) -> Result<bool, Errno> {
    // SAFETY: pidfd_open takes a pid and flags (0), no pointer.
    let fd = check(unsafe { syscall3(libc::SYS_pidfd_open, pid as usize, 0, 0) })? as c_int;
    let mut poll = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll reads and writes one pollfd on the stack; a timeout of 0 never waits.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) };
    let exited = if ready < 0 {
        Err(last_errno())
    } else {
        Ok(poll.revents & libc::POLLIN != 0)
    };
    // SAFETY: fd was opened above and is closed once.
    unsafe { libc::close(fd) };
    exited
}

/// One private page that every kind of fork gives the child zero-filled
/// (`MADV_WIPEONFORK`, Linux 4.14): `_Fork`, raw `clone` and `fork` alike,
/// with no handler to run. `None` where the kernel cannot.
pub(crate) fn wipe_on_fork_page() -> Option<*mut u8> {
    // SAFETY: an anonymous private mapping of one page, at an address the kernel chooses.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: page is the mapping just made; advice changes no content.
    if unsafe { libc::madvise(page, 4096, libc::MADV_WIPEONFORK) } != 0 {
        // SAFETY: the mapping just made, which nothing else has seen.
        unsafe { libc::munmap(page, 4096) };
        return None;
    }
    Some(page.cast())
}

/// Gives back a page of [`wipe_on_fork_page`] that nothing uses.
///
/// # Safety
/// `page` came from `wipe_on_fork_page` and nothing refers to it.
pub(crate) unsafe fn free_page(page: *mut u8) {
    // SAFETY: the caller's promise.
    unsafe { libc::munmap(page.cast(), 4096) };
}

/// `CLOCK_MONOTONIC_COARSE` in nanoseconds: read through the vDSO (no
/// syscall), a few ns, with the resolution of the scheduler tick.
#[inline]
pub(crate) fn coarse_now_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: now is a valid timespec; the clock id is valid on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// `membarrier(2)` with `cmd` (no flags, any CPU): 0 or the command's result.
#[inline]
pub(crate) fn membarrier(cmd: c_int) -> Result<usize, Errno> {
    // SAFETY: membarrier takes no pointer; an unknown command is EINVAL.
    check(unsafe { syscall3(libc::SYS_membarrier, cmd as usize, 0, 0) })
}

// ---- The inventory of SysV objects (`ipc/`): semaphore sets and message queues. ----

/// `semctl(2)` on semaphore `semnum` of set `id` (or on table index `id`,
/// for `SEM_STAT_ANY`): `GETPID`, `GETNCNT`, `GETZCNT`, `GETVAL` take no
/// argument; `GETALL`, `SEM_STAT_ANY`, `IPC_INFO` and `SEM_INFO` a buffer;
/// `IPC_RMID` nothing.
///
/// # Safety
/// `arg` is what `cmd` expects: 0, or the address of a buffer the kernel may
/// fill (`semid_ds`, `seminfo`, or `nsems` values of `u16` for `GETALL`).
#[inline]
pub(crate) unsafe fn semctl_at(
    id: c_int,
    semnum: c_int,
    cmd: c_int,
    arg: usize,
) -> Result<c_int, Errno> {
    // SAFETY: forwarded contract; the kernel copies to user memory with fault checks.
    let ret = unsafe { libc::syscall(libc::SYS_semctl, id, semnum, cmd, arg) };
    if ret == -1 {
        Err(last_errno())
    } else {
        Ok(ret as c_int)
    }
}

/// `msgctl(2)`: `cmd` on queue `id` (or on table index `id`, for
/// `MSG_STAT_ANY`), with `buf` as the kernel reads or writes it.
///
/// # Safety
/// `buf` is NULL (`IPC_RMID`) or valid for the structure `cmd` fills
/// (`msqid_ds` for `MSG_STAT_ANY` and `IPC_STAT`, `msginfo` for `IPC_INFO`
/// and `MSG_INFO`).
#[inline]
pub(crate) unsafe fn msgctl(id: c_int, cmd: c_int, buf: *mut c_void) -> Result<c_int, Errno> {
    // SAFETY: forwarded contract; the kernel copies to user memory with fault checks.
    let ret = unsafe { libc::syscall(libc::SYS_msgctl, id, cmd, buf) };
    if ret == -1 {
        Err(last_errno())
    } else {
        Ok(ret as c_int)
    }
}

/// `msgget(2)`: the queue for `key`, created as `flags` says.
#[inline]
pub(crate) fn msgget(key: libc::key_t, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: msgget takes no pointers; any argument values are safe to pass.
    let ret = unsafe { syscall3(libc::SYS_msgget, key as usize, flags as usize, 0) };
    check(ret).map(|id| id as c_int)
}

/// `msgsnd(2)` of one message of type 1 holding `text`, without waiting (tests).
#[cfg(test)]
pub(crate) fn msgsnd(id: c_int, text: &[u8]) -> Result<(), Errno> {
    let mut message = (1 as libc::c_long).to_ne_bytes().to_vec();
    message.extend_from_slice(text);
    // SAFETY: message holds an mtype followed by text.len() bytes, as msgsnd reads them.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_msgsnd,
            id,
            message.as_ptr(),
            text.len(),
            libc::IPC_NOWAIT,
        )
    };
    if ret == -1 {
        Err(last_errno())
    } else {
        Ok(())
    }
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`): the unit of a process's
/// start time in `/proc/ID/stat`.
pub(crate) fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// The caller's effective user id (`geteuid(2)`, which cannot fail).
#[inline]
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// `MADV_POPULATE_READ` and `MADV_POPULATE_WRITE` (Linux 5.14), which the libc crate does not name.
pub(crate) const MADV_POPULATE_READ: c_int = 22;
pub(crate) const MADV_POPULATE_WRITE: c_int = 23;

/// `madvise(2)` of `len` bytes at `addr`.
///
/// # Safety
/// `addr..addr+len` is a mapping of this process; `advice` is one that only
/// populates or describes it (never frees or replaces memory).
pub(crate) unsafe fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> Result<(), Errno> {
    // SAFETY: forwarded contract.
    if unsafe { libc::madvise(addr, len, advice) } == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

// ---- The libc-compatible semaphore and message queue calls (`sysv/`): one raw syscall each. ----

/// `semtimedop(2)` with the caller's pointers as they are (`semop` is this with a NULL timeout).
///
/// # Safety
/// `sops` and `timeout` go to the kernel, which reads them with fault checks (EFAULT).
#[inline]
pub(crate) unsafe fn semtimedop_raw(
    id: c_int,
    sops: *mut libc::sembuf,
    nsops: usize,
    timeout: *const libc::timespec,
) -> Result<(), Errno> {
    // SAFETY: forwarded contract; the kernel checks every pointer.
    let ret = unsafe {
        syscall5(
            libc::SYS_semtimedop,
            id as usize,
            sops as usize,
            nsops,
            timeout as usize,
            0,
        )
    };
    check(ret).map(drop)
}

/// `semctl(2)` with the fourth word as the caller passed it (an int or a pointer, by `cmd`).
///
/// # Safety
/// When `cmd` reads or writes memory, `arg` is its address; the kernel checks it (EFAULT).
#[inline]
pub(crate) unsafe fn semctl_raw(
    id: c_int,
    semnum: c_int,
    cmd: c_int,
    arg: usize,
) -> Result<c_int, Errno> {
    // SAFETY: forwarded contract.
    let ret = unsafe {
        syscall5(
            libc::SYS_semctl,
            id as usize,
            semnum as usize,
            cmd as usize,
            arg,
            0,
        )
    };
    check(ret).map(|ret| ret as c_int)
}

/// `msgsnd(2)`: `msgp` points to a `long` type followed by `msgsz` bytes.
///
/// # Safety
/// `msgp` goes to the kernel, which reads it with fault checks (EFAULT).
#[inline]
pub(crate) unsafe fn msgsnd_raw(
    id: c_int,
    msgp: *const c_void,
    msgsz: usize,
    flags: c_int,
) -> Result<(), Errno> {
    // SAFETY: forwarded contract.
    let ret = unsafe {
        syscall5(
            libc::SYS_msgsnd,
            id as usize,
            msgp as usize,
            msgsz,
            flags as usize,
            0,
        )
    };
    check(ret).map(drop)
}

/// `msgrcv(2)`: the length of the text received into `msgp` (after its `long` type).
///
/// # Safety
/// `msgp` goes to the kernel, which writes it with fault checks (EFAULT).
#[inline]
pub(crate) unsafe fn msgrcv_raw(
    id: c_int,
    msgp: *mut c_void,
    msgsz: usize,
    msgtyp: libc::c_long,
    flags: c_int,
) -> Result<usize, Errno> {
    // SAFETY: forwarded contract.
    let ret = unsafe {
        syscall5(
            libc::SYS_msgrcv,
            id as usize,
            msgp as usize,
            msgsz,
            msgtyp as usize,
            flags as usize,
        )
    };
    check(ret)
}

/// `msgctl(2)` made directly (the libc-compatible face's; [`msgctl`] serves the inventory).
///
/// # Safety
/// `buf` goes to the kernel, which checks it (EFAULT).
#[inline]
pub(crate) unsafe fn msgctl_raw(id: c_int, cmd: c_int, buf: *mut c_void) -> Result<c_int, Errno> {
    // SAFETY: forwarded contract.
    let ret = unsafe { syscall3(libc::SYS_msgctl, id as usize, cmd as usize, buf as usize) };
    check(ret).map(|ret| ret as c_int)
}
