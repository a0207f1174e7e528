//! `Semaphore`: a SysV semaphore set of one, opened by the same key as its
//! segment. `wait` uses `SEM_UNDO`, so a process that dies releases what it holds.

use crate::error::{Errno, Error, Result};
use crate::key::Key;
use crate::segment::open::OpenOptions;
use crate::sys;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long `open` waits for the creator to finish initialising the set.
const INIT_WAIT: Duration = Duration::from_secs(2);

/// A semaphore shared between processes.
#[derive(Debug)]
pub struct Semaphore {
    id: i32,
    key: Key,
    /// Units this handle took with `wait` and has not posted back: their
    /// `SEM_UNDO` adjustment is pending, and `post` cancels it.
    held: AtomicU64,
}

fn sem_call(what: &str, id: i32) -> String {
    format!("{what}(semid={id})")
}

fn sembuf(op: i16, undo: bool) -> libc::sembuf {
    libc::sembuf {
        sem_num: 0,
        sem_op: op,
        sem_flg: if undo { libc::SEM_UNDO as i16 } else { 0 },
    }
}

fn timespec(duration: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: duration.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: duration.subsec_nanos() as libc::c_long,
    }
}

impl Semaphore {
    /// Opens (or, with `create`, creates with value `initial`) the semaphore
    /// for the key `options` describe; mode, `exclusive` and `verify_owner`
    /// apply as for segments; `size` is ignored.
    pub fn open(options: &OpenOptions, initial: u16) -> Result<Semaphore> {
        options.validate_mode_and_flags()?;
        let key = options.resolve_key()?;
        let call = format!("sem_open(key={key}, initial={initial})");
        if key == Key::PRIVATE && !options.create_flag() {
            return Err(Error::InvalidArgument {
                call,
                reason: "IPC_PRIVATE always makes a new semaphore: pass CREATE".into(),
            });
        }
        let mode = options.mode_bits() as i32;
        if options.create_flag() {
            match sys::semget(key.raw(), 1, libc::IPC_CREAT | libc::IPC_EXCL | mode) {
                Ok(id) => return Semaphore::initialise(id, key, initial, &call),
                Err(Errno(libc::EEXIST)) if !options.exclusive_flag() => {}
                Err(errno) => return Err(sem_error(errno, call, "semget")),
            }
        }
        let id = sys::semget(key.raw(), 1, 0)
            .map_err(|errno| sem_error(errno, call.clone(), "semget"))?;
        let semaphore = Semaphore {
            id,
            key,
            held: AtomicU64::new(0),
        };
        let info = semaphore.wait_initialised(&call)?;
        // SAFETY: geteuid cannot fail.
        let me = unsafe { libc::geteuid() };
        if options.verify_owner_flag() && (info.sem_perm.cuid != me || info.sem_perm.uid != me) {
            return Err(Error::OwnerMismatch {
                call,
                reason: format!(
                    "semaphore set {id} was created by uid {} and is owned by uid {}, not by the caller (uid {me})",
                    info.sem_perm.cuid, info.sem_perm.uid
                ),
            });
        }
        Ok(semaphore)
    }

    /// Sets the value, then stamps `sem_otime` with a no-op so that openers know it is ready.
    fn initialise(id: i32, key: Key, initial: u16, call: &str) -> Result<Semaphore> {
        let fail = |errno: Errno| {
            // SAFETY: IPC_RMID takes no argument.
            let _ = unsafe { sys::semctl(id, libc::IPC_RMID, 0) };
            sem_error(errno, call.to_string(), "initialising")
        };
        // SAFETY: SETVAL takes an int.
        unsafe { sys::semctl(id, libc::SETVAL, initial as usize) }.map_err(fail)?;
        sys::semtimedop(id, &mut [sembuf(1, false), sembuf(-1, false)], None).map_err(fail)?;
        Ok(Semaphore {
            id,
            key,
            held: AtomicU64::new(0),
        })
    }

    fn stat(&self) -> std::result::Result<libc::semid_ds, Errno> {
        // SAFETY: all-zero is a valid semid_ds.
        let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
        // SAFETY: IPC_STAT fills a semid_ds.
        unsafe {
            sys::semctl(
                self.id,
                libc::IPC_STAT,
                &mut ds as *mut libc::semid_ds as usize,
            )
        }?;
        Ok(ds)
    }

    fn wait_initialised(&self, call: &str) -> Result<libc::semid_ds> {
        let deadline = Instant::now() + INIT_WAIT;
        loop {
            let info = self
                .stat()
                .map_err(|errno| sem_error(errno, call.to_string(), "IPC_STAT"))?;
            if info.sem_otime != 0 {
                return Ok(info);
            }
            if Instant::now() > deadline {
                return Err(Error::TimedOut {
                    call: call.to_string(),
                    reason: format!(
                        "semaphore set {} was never initialised by its creator",
                        self.id
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Takes one unit, waiting at most `timeout` (`None`: forever;
    /// `Some(ZERO)`: not at all, `WouldBlock` if none is free). The unit is
    /// returned by the kernel if this process exits without posting it back.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<()> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let mut op = [sembuf(-1, true)];
            if timeout == Some(Duration::ZERO) {
                op[0].sem_flg |= libc::IPC_NOWAIT as i16;
            }
            let left = deadline.map(|d| timespec(d.saturating_duration_since(Instant::now())));
            match sys::semtimedop(self.id, &mut op, left.as_ref()) {
                Ok(()) => {
                    self.held.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(Errno(libc::EINTR)) => continue,
                Err(Errno(libc::EAGAIN)) if timeout == Some(Duration::ZERO) => {
                    return Err(Error::WouldBlock {
                        call: sem_call("sem_wait", self.id),
                        reason: "no unit is free".into(),
                    })
                }
                Err(Errno(libc::EAGAIN)) => {
                    return Err(Error::TimedOut {
                        call: sem_call("sem_wait", self.id),
                        reason: format!(
                            "no unit was posted within {:?}",
                            timeout.unwrap_or_default()
                        ),
                    })
                }
                Err(errno) => {
                    return Err(sem_error(
                        errno,
                        sem_call("sem_wait", self.id),
                        "semtimedop",
                    ))
                }
            }
        }
    }

    /// Adds one unit: gives back one this handle holds (cancelling its undo),
    /// or, holding none, adds one that stays after this process exits (a signal).
    pub fn post(&self) -> Result<()> {
        let holds = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_sub(1)
            })
            .is_ok();
        sys::semtimedop(self.id, &mut [sembuf(1, holds)], None).map_err(|errno| {
            if holds {
                self.held.fetch_add(1, Ordering::Relaxed);
            }
            sem_error(errno, sem_call("sem_post", self.id), "semop")
        })
    }

    /// The current value.
    pub fn value(&self) -> Result<u32> {
        // SAFETY: GETVAL takes no argument.
        unsafe { sys::semctl(self.id, libc::GETVAL, 0) }
            .map(|value| value as u32)
            .map_err(|errno| sem_error(errno, sem_call("sem_value", self.id), "GETVAL"))
    }

    /// Removes the set (`IPC_RMID`): waiters get `Removed`.
    pub fn remove(&self) -> Result<()> {
        // SAFETY: IPC_RMID takes no argument.
        unsafe { sys::semctl(self.id, libc::IPC_RMID, 0) }
            .map(drop)
            .map_err(|errno| sem_error(errno, sem_call("sem_remove", self.id), "IPC_RMID"))
    }

    /// The set's id.
    pub fn id(&self) -> i32 {
        self.id
    }

    /// The key it was opened with.
    pub fn key(&self) -> Key {
        self.key
    }
}

#[cold]
fn sem_error(errno: Errno, call: String, step: &str) -> Error {
    let reason = match errno.0 {
        libc::ENOENT => "no semaphore set exists for this key and CREATE was not given".to_string(),
        libc::EEXIST => {
            "a semaphore set exists for this key and EXCLUSIVE demands a new one".into()
        }
        libc::EACCES => "the set's mode does not grant the caller access".into(),
        libc::EPERM => "only the set's owner or creator may remove it".into(),
        libc::EIDRM | libc::EINVAL => "the semaphore set was removed".into(),
        libc::ENOSPC => "no semaphore set can be made: kernel.sem limits are reached".into(),
        libc::ERANGE => "the value would exceed the semaphore maximum (32767)".into(),
        _ => format!("{step} failed"),
    };
    match errno.0 {
        libc::EINVAL | libc::EIDRM => Error::Removed { call, reason },
        _ => Error::from_errno(errno, call, reason),
    }
}
