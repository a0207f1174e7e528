//! The only place that makes raw system calls. Each function is one syscall,
//! made with `syscall(2)` rather than glibc's wrappers (so a preloaded rshm
//! never calls itself), returning the kernel's errno on failure.

use crate::error::Errno;
use libc::{c_char, c_int, c_long, c_void};

fn last_errno() -> Errno {
    // SAFETY: __errno_location always returns a valid pointer to this thread's errno.
    Errno(unsafe { *libc::__errno_location() })
}

fn check(ret: c_long) -> Result<c_long, Errno> {
    if ret == -1 {
        Err(last_errno())
    } else {
        Ok(ret)
    }
}

/// `shmget(2)`: the id of the segment for `key`, created as `flags` says.
pub(crate) fn shmget(key: libc::key_t, size: usize, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: shmget takes no pointers; any argument values are safe to pass.
    let ret = unsafe { libc::syscall(libc::SYS_shmget, key as c_long, size, flags as c_long) };
    check(ret).map(|id| id as c_int)
}

/// `shmat(2)`: maps segment `id` at `addr` (NULL: the kernel chooses).
///
/// # Safety
/// With `SHM_REMAP` (or a fixed `addr` that the kernel accepts) this replaces
/// whatever the process had mapped there; the caller vouches for that range.
pub(crate) unsafe fn shmat(
    id: c_int,
    addr: *const c_void,
    flags: c_int,
) -> Result<*mut c_void, Errno> {
    // SAFETY: the kernel validates id, addr and flags; the caller owns the address range.
    let ret = unsafe { libc::syscall(libc::SYS_shmat, id as c_long, addr, flags as c_long) };
    // A mapping address is never -1, so -1 is the error return alone.
    check(ret).map(|addr| addr as *mut c_void)
}

/// `shmdt(2)`: unmaps the segment attached at `addr`.
///
/// # Safety
/// Nothing may use the memory at `addr` afterwards.
pub(crate) unsafe fn shmdt(addr: *const c_void) -> Result<(), Errno> {
    // SAFETY: the kernel checks that addr starts a shared memory mapping.
    check(unsafe { libc::syscall(libc::SYS_shmdt, addr) }).map(drop)
}

/// `shmctl(2)`: `cmd` on segment `id` (or index, for SHM_STAT), with `buf` as the kernel reads or writes it.
///
/// # Safety
/// `buf` is handed to the kernel as is; when it points into the process, it
/// must be valid for the structure `cmd` reads or writes. The kernel reports a
/// bad address as EFAULT instead of faulting.
pub(crate) unsafe fn shmctl(id: c_int, cmd: c_int, buf: *mut c_void) -> Result<c_int, Errno> {
    // SAFETY: see above; the kernel copies to and from user memory with fault checks.
    let ret = unsafe { libc::syscall(libc::SYS_shmctl, id as c_long, cmd as c_long, buf) };
    check(ret).map(|ret| ret as c_int)
}

/// `stat(2)` of `path` (following symbolic links, as glibc's ftok does): its device and inode.
///
/// # Safety
/// `path` is handed to the kernel as is: NULL or an unmapped pointer is EFAULT,
/// anything else must be a NUL-terminated string.
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
    check(ret)?;
    // SAFETY: the kernel filled st on success.
    let st = unsafe { st.assume_init() };
    Ok((st.st_dev, st.st_ino))
}
