//! A robust, process-shared mutex inside a segment: glibc's robust
//! `pthread_mutex_t` (the kernel's robust futex list) behind a magic number,
//! so that an offset holding anything else is refused rather than used.
//! Uncontended lock and unlock make no syscall.

use crate::error::{msg, Call, Errno, Error, ErrorKind, Result};
use crate::segment::open::OpenSegment;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// "RSHMMUTX": written last by `init_mutex`, checked by every other call.
const MAGIC: u64 = 0x5253_484d_4d55_5458;

/// The bytes a mutex takes in the segment: one cache line holding the magic
/// number and the `pthread_mutex_t` (40 bytes on x86_64, 48 on aarch64).
pub const MUTEX_SIZE: usize = 64;
const _: () = assert!(std::mem::size_of::<MutexCell>() <= MUTEX_SIZE);

#[repr(C)]
struct MutexCell {
    magic: AtomicU64,
    mutex: libc::pthread_mutex_t,
}

fn mutex_call(what: &'static str, offset: usize) -> Call {
    Call::Other(msg!("{}(offset={})", what, offset))
}

impl OpenSegment {
    /// The cell at `offset`, checked for room, alignment and (unless `initialising`) the magic number.
    fn mutex_cell(
        &self,
        what: &'static str,
        offset: usize,
        initialising: bool,
    ) -> Result<*mut MutexCell> {
        let call = || mutex_call(what, offset);
        match offset.checked_add(MUTEX_SIZE) {
            Some(end) if end <= self.size() => {}
            _ => {
                let reason = msg!(
                    "a mutex takes {} bytes, past the end of the {}-byte segment",
                    MUTEX_SIZE,
                    self.size()
                );
                return Err(Error::new(ErrorKind::OutOfBounds, call(), reason));
            }
        }
        if offset % std::mem::align_of::<MutexCell>() != 0 {
            let reason = msg!(
                "a mutex must be at an offset that is a multiple of {}",
                std::mem::align_of::<MutexCell>()
            );
            return Err(Error::new(ErrorKind::InvalidArgument, call(), reason));
        }
        if self.is_read_only() {
            return Err(Error::new(
                ErrorKind::ReadOnly,
                call(),
                msg!("the segment is attached read-only"),
            ));
        }
        // SAFETY: offset..offset+MUTEX_SIZE lies inside the mapping (checked above).
        let cell = unsafe { self.as_ptr().add(offset) } as *mut MutexCell;
        // SAFETY: the cell is aligned and inside the mapping; the magic is an atomic word.
        if !initialising && unsafe { (*cell).magic.load(Ordering::Acquire) } != MAGIC {
            let reason = msg!("no mutex was initialised at this offset (rshm_mutex_init)");
            return Err(Error::new(ErrorKind::Corrupt, call(), reason));
        }
        Ok(cell)
    }

    /// Makes a robust, process-shared mutex at `offset` (`MUTEX_SIZE` bytes, 8-aligned).
    /// Do it once, before any process uses it, and never while it is held.
    pub fn init_mutex(&self, offset: usize) -> Result<()> {
        let cell = self.mutex_cell("mutex_init", offset, true)?;
        // SAFETY: attr is initialised before use and destroyed after; the cell is ours to write.
        let ret = unsafe {
            let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
            libc::pthread_mutexattr_init(attr.as_mut_ptr());
            libc::pthread_mutexattr_setpshared(attr.as_mut_ptr(), libc::PTHREAD_PROCESS_SHARED);
            libc::pthread_mutexattr_setrobust(attr.as_mut_ptr(), libc::PTHREAD_MUTEX_ROBUST);
            let ret =
                libc::pthread_mutex_init(std::ptr::addr_of_mut!((*cell).mutex), attr.as_ptr());
            libc::pthread_mutexattr_destroy(attr.as_mut_ptr());
            ret
        };
        if ret != 0 {
            let call = mutex_call("mutex_init", offset);
            return Err(Error::from_errno(
                Errno::new(ret),
                call,
                msg!("pthread_mutex_init failed"),
            ));
        }
        // SAFETY: as in mutex_cell.
        unsafe { (*cell).magic.store(MAGIC, Ordering::Release) };
        Ok(())
    }

    /// Locks the mutex at `offset`, waiting at most `timeout` (`None`: forever;
    /// `Some(ZERO)`: not at all, `WouldBlock` if held). `Err(OwnerDied)` means
    /// the lock is held now but its last holder died: repair the data, then
    /// call `mutex_consistent` (or unlock without it: the mutex becomes unusable).
    pub fn lock_mutex(&self, offset: usize, timeout: Option<Duration>) -> Result<()> {
        let cell = self.mutex_cell("mutex_lock", offset, false)?;
        // SAFETY: the cell holds an initialised robust mutex (magic checked).
        let mutex = unsafe { std::ptr::addr_of_mut!((*cell).mutex) };
        let ret = match timeout {
            // SAFETY: as above.
            None => unsafe { libc::pthread_mutex_lock(mutex) },
            // SAFETY: as above.
            Some(Duration::ZERO) => unsafe { libc::pthread_mutex_trylock(mutex) },
            Some(timeout) => {
                let mut now = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: now is a valid timespec.
                unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
                let nanos = now.tv_nsec as u64 + u64::from(timeout.subsec_nanos());
                let deadline = libc::timespec {
                    tv_sec: now
                        .tv_sec
                        .saturating_add(timeout.as_secs().min(i32::MAX as u64) as libc::time_t)
                        + (nanos / 1_000_000_000) as libc::time_t,
                    tv_nsec: (nanos % 1_000_000_000) as libc::c_long,
                };
                // SAFETY: as above; deadline is a valid timespec.
                unsafe { libc::pthread_mutex_timedlock(mutex, &deadline) }
            }
        };
        let call = || mutex_call("mutex_lock", offset);
        let fail = |kind, reason| Err(Error::new(kind, call(), reason));
        match ret {
            0 => Ok(()),
            libc::EOWNERDEAD => fail(
                ErrorKind::OwnerDied,
                msg!("the lock is yours, but its last holder died holding it: repair the data, then mark it consistent"),
            ),
            libc::ENOTRECOVERABLE => fail(
                ErrorKind::NotRecoverable,
                msg!("a holder died and the next one unlocked without marking the data consistent"),
            ),
            libc::EBUSY => fail(ErrorKind::WouldBlock, msg!("the mutex is held")),
            libc::ETIMEDOUT => fail(
                ErrorKind::TimedOut,
                msg!("the mutex stayed held for {}", timeout.unwrap_or_default()),
            ),
            libc::EDEADLK => fail(ErrorKind::InvalidArgument, msg!("this thread holds it already")),
            err => Err(Error::from_errno(Errno::new(err), call(), msg!("pthread_mutex_lock failed"))),
        }
    }

    /// Unlocks the mutex at `offset` (held by this thread).
    pub fn unlock_mutex(&self, offset: usize) -> Result<()> {
        let cell = self.mutex_cell("mutex_unlock", offset, false)?;
        let call = mutex_call("mutex_unlock", offset);
        // SAFETY: the cell holds an initialised robust mutex (magic checked).
        match unsafe { libc::pthread_mutex_unlock(std::ptr::addr_of_mut!((*cell).mutex)) } {
            0 => Ok(()),
            libc::EPERM => {
                let reason = msg!("this thread does not hold the mutex");
                Err(Error::new(ErrorKind::PermissionDenied, call, reason)
                    .with_errno(Errno::new(libc::EPERM)))
            }
            err => Err(Error::from_errno(
                Errno::new(err),
                call,
                msg!("pthread_mutex_unlock failed"),
            )),
        }
    }

    /// After `OwnerDied` and repairs: marks the mutex's data consistent again.
    pub fn mutex_consistent(&self, offset: usize) -> Result<()> {
        let cell = self.mutex_cell("mutex_consistent", offset, false)?;
        // SAFETY: the cell holds an initialised robust mutex (magic checked).
        match unsafe { libc::pthread_mutex_consistent(std::ptr::addr_of_mut!((*cell).mutex)) } {
            0 => Ok(()),
            _ => {
                let reason =
                    msg!("the mutex is not held in the inconsistent state that OwnerDied leaves");
                Err(Error::new(
                    ErrorKind::InvalidArgument,
                    mutex_call("mutex_consistent", offset),
                    reason,
                ))
            }
        }
    }
}
