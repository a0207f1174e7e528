//! A robust, process-shared mutex inside a segment: glibc's robust
//! `pthread_mutex_t` (the kernel's robust futex list) behind a magic number,
//! so that an offset holding anything else is refused rather than used.
//! Uncontended lock and unlock make no syscall.

use crate::error::{Error, Result};
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

fn mutex_call(what: &str, offset: usize) -> String {
    format!("{what}(offset={offset})")
}

impl OpenSegment {
    /// The cell at `offset`, checked for room, alignment and (unless `initialising`) the magic number.
    fn mutex_cell(&self, what: &str, offset: usize, initialising: bool) -> Result<*mut MutexCell> {
        let call = || mutex_call(what, offset);
        match offset.checked_add(MUTEX_SIZE) {
            Some(end) if end <= self.size() => {}
            _ => {
                return Err(Error::OutOfBounds {
                    call: call(),
                    reason: format!(
                        "a mutex takes {MUTEX_SIZE} bytes, past the end of the {}-byte segment",
                        self.size()
                    ),
                })
            }
        }
        if offset % std::mem::align_of::<MutexCell>() != 0 {
            return Err(Error::InvalidArgument {
                call: call(),
                reason: format!(
                    "a mutex must be at an offset that is a multiple of {}",
                    std::mem::align_of::<MutexCell>()
                ),
            });
        }
        if self.is_read_only() {
            return Err(Error::ReadOnly { call: call() });
        }
        // SAFETY: offset..offset+MUTEX_SIZE lies inside the mapping (checked above).
        let cell = unsafe { self.as_ptr().add(offset) } as *mut MutexCell;
        // SAFETY: the cell is aligned and inside the mapping; the magic is an atomic word.
        if !initialising && unsafe { (*cell).magic.load(Ordering::Acquire) } != MAGIC {
            return Err(Error::Corrupt {
                call: call(),
                reason: "no mutex was initialised at this offset (rshm_mutex_init)".into(),
            });
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
            return Err(Error::from_errno(
                crate::Errno(ret),
                mutex_call("mutex_init", offset),
                "pthread_mutex_init failed".into(),
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
        match ret {
            0 => Ok(()),
            libc::EOWNERDEAD => Err(Error::OwnerDied {
                call: call(),
                reason: "the lock is yours, but its last holder died holding it: repair the data, then mark it consistent"
                    .into(),
            }),
            libc::ENOTRECOVERABLE => Err(Error::NotRecoverable {
                call: call(),
                reason: "a holder died and the next one unlocked without marking the data consistent".into(),
            }),
            libc::EBUSY => Err(Error::WouldBlock { call: call(), reason: "the mutex is held".into() }),
            libc::ETIMEDOUT => Err(Error::TimedOut {
                call: call(),
                reason: format!("the mutex stayed held for {:?}", timeout.unwrap_or_default()),
            }),
            libc::EDEADLK => Err(Error::InvalidArgument { call: call(), reason: "this thread holds it already".into() }),
            err => Err(Error::from_errno(crate::Errno(err), call(), "pthread_mutex_lock failed".into())),
        }
    }

    /// Unlocks the mutex at `offset` (held by this thread).
    pub fn unlock_mutex(&self, offset: usize) -> Result<()> {
        let cell = self.mutex_cell("mutex_unlock", offset, false)?;
        // SAFETY: the cell holds an initialised robust mutex (magic checked).
        match unsafe { libc::pthread_mutex_unlock(std::ptr::addr_of_mut!((*cell).mutex)) } {
            0 => Ok(()),
            libc::EPERM => Err(Error::PermissionDenied {
                call: mutex_call("mutex_unlock", offset),
                reason: "this thread does not hold the mutex".into(),
                errno: crate::Errno(libc::EPERM),
            }),
            err => Err(Error::from_errno(
                crate::Errno(err),
                mutex_call("mutex_unlock", offset),
                "pthread_mutex_unlock failed".into(),
            )),
        }
    }

    /// After `OwnerDied` and repairs: marks the mutex's data consistent again.
    pub fn mutex_consistent(&self, offset: usize) -> Result<()> {
        let cell = self.mutex_cell("mutex_consistent", offset, false)?;
        // SAFETY: the cell holds an initialised robust mutex (magic checked).
        match unsafe { libc::pthread_mutex_consistent(std::ptr::addr_of_mut!((*cell).mutex)) } {
            0 => Ok(()),
            _ => Err(Error::InvalidArgument {
                call: mutex_call("mutex_consistent", offset),
                reason: "the mutex is not held in the inconsistent state that OwnerDied leaves"
                    .into(),
            }),
        }
    }
}
