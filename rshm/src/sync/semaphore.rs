//! `Semaphore`: a SysV semaphore set of one, opened by a key (the same key as
//! its segment, typically). `wait` uses `SEM_UNDO`, so a process that dies
//! releases what it holds.

use crate::error::{msg, Call, Errno, Error, ErrorKind, Message, Result};
use crate::key::Key;
use crate::options::{object_builders, ObjectOptions};
use crate::sys;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long `open` waits for the creator to finish initialising the set.
const INIT_WAIT: Duration = Duration::from_secs(2);

/// What semaphore to open and how.
///
/// ```
/// use rshm::SemaphoreOptions;
/// let sem = SemaphoreOptions::new().create(true).initial(1).open()?;
/// sem.wait(None)?;
/// sem.post()?;
/// sem.remove()?;
/// # Ok::<(), rshm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SemaphoreOptions {
    object: ObjectOptions,
    initial: u16,
}

object_builders!(SemaphoreOptions, create);

impl SemaphoreOptions {
    /// A private semaphore (`IPC_PRIVATE`), mode 0600, value 0 when created.
    pub fn new() -> SemaphoreOptions {
        SemaphoreOptions::default()
    }

    /// The value a new semaphore starts with.
    pub fn initial(&mut self, initial: u16) -> &mut Self {
        self.initial = initial;
        self
    }

    /// Opens (or, with `create`, creates) the semaphore: see [`Semaphore::open`].
    pub fn open(&self) -> Result<Semaphore> {
        Semaphore::open(self)
    }
}

/// A semaphore shared between processes.
///
/// Its value lives in the kernel, not in a segment: a process allowed to
/// change the set may make waits end early or last (until their timeout),
/// or remove it (`Removed`); it can never make rshm read or write outside
/// the call's own memory, crash the process, or hang a call that was given a
/// timeout. A set made by someone else on the same key is refused with
/// `verify_owner`.
#[derive(Debug)]
pub struct Semaphore {
    id: i32,
    key: Key,
    /// Units this handle took with `wait` and has not posted back: their
    /// `SEM_UNDO` adjustment is pending, and `post` cancels it.
    held: AtomicU64,
}

fn sem_call(what: &'static str, id: i32) -> Call {
    Call::Other(msg!("{}(semid={})", what, id))
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
    /// for the key `options` name; mode, `exclusive` and `verify_owner` apply
    /// as for segments.
    pub fn open(options: &SemaphoreOptions) -> Result<Semaphore> {
        let object = &options.object;
        let initial = options.initial;
        let key_call = |key: Key| Call::Other(msg!("sem_open(key={}, initial={})", key, initial));
        object.validate(|| Call::Other(msg!("sem_open(initial={})", initial)))?;
        let key = object.resolve_key()?;
        let call = key_call(key);
        if object.is_private() && !object.create {
            let reason = msg!("IPC_PRIVATE always makes a new semaphore: pass CREATE");
            return Err(Error::new(ErrorKind::InvalidArgument, call, reason));
        }
        let mode = object.mode.bits() as i32;
        if object.create {
            match sys::semget(key.raw(), 1, libc::IPC_CREAT | libc::IPC_EXCL | mode) {
                Ok(id) => return Semaphore::initialise(id, key, initial, call),
                Err(errno) if errno.raw() == libc::EEXIST && !object.exclusive => {}
                Err(errno) => return Err(sem_error(errno, call, "semget")),
            }
        }
        let id = sys::semget(key.raw(), 1, 0).map_err(|errno| sem_error(errno, call, "semget"))?;
        let semaphore = Semaphore {
            id,
            key,
            held: AtomicU64::new(0),
        };
        // The owner is known before the set is initialised: a squatter's set is
        // refused at once, not after waiting for an initialisation that never comes.
        if object.verify_owner {
            let info = semaphore
                .stat()
                .map_err(|errno| sem_error(errno, call, "IPC_STAT"))?;
            check_owner(id, &info, call)?;
        }
        semaphore.wait_initialised(call)?;
        Ok(semaphore)
    }

    /// Sets the value, then stamps `sem_otime` with a no-op so that openers know it is ready.
    fn initialise(id: i32, key: Key, initial: u16, call: Call) -> Result<Semaphore> {
        let fail = |errno: Errno| {
            // SAFETY: IPC_RMID takes no argument.
            let _ = unsafe { sys::semctl(id, libc::IPC_RMID, 0) };
            sem_error(errno, call, "initialising")
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

    fn wait_initialised(&self, call: Call) -> Result<libc::semid_ds> {
        let deadline = Instant::now() + INIT_WAIT;
        loop {
            let info = self
                .stat()
                .map_err(|errno| sem_error(errno, call, "IPC_STAT"))?;
            if info.sem_otime != 0 {
                return Ok(info);
            }
            if Instant::now() > deadline {
                let reason = msg!(
                    "semaphore set {} was never initialised by its creator",
                    self.id
                );
                return Err(Error::new(ErrorKind::TimedOut, call, reason));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Takes one unit, waiting at most `timeout` (`None`: forever;
    /// `Some(ZERO)`: not at all, `WouldBlock` if none is free). The unit is
    /// returned by the kernel if this process exits without posting it back.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<()> {
        let deadline = super::deadline(timeout);
        loop {
            let mut op = [sembuf(-1, true)];
            if timeout == Some(Duration::ZERO) {
                op[0].sem_flg |= libc::IPC_NOWAIT as i16;
            }
            let left = deadline.map(|d| timespec(d.saturating_duration_since(Instant::now())));
            let call = || sem_call("sem_wait", self.id);
            match sys::semtimedop(self.id, &mut op, left.as_ref()) {
                Ok(()) => {
                    self.held.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(errno) if errno.raw() == libc::EINTR => continue,
                Err(errno) if errno.raw() == libc::EAGAIN && timeout == Some(Duration::ZERO) => {
                    return Err(Error::new(
                        ErrorKind::WouldBlock,
                        call(),
                        msg!("no unit is free"),
                    ));
                }
                Err(errno) if errno.raw() == libc::EAGAIN => {
                    let reason = msg!("no unit was posted within {}", timeout.unwrap_or_default());
                    return Err(Error::new(ErrorKind::TimedOut, call(), reason));
                }
                Err(errno) => return Err(sem_error(errno, call(), "semtimedop")),
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

    /// How many processes wait for a unit now (`GETNCNT`).
    pub fn waiters(&self) -> Result<u32> {
        // SAFETY: GETNCNT takes no argument.
        unsafe { sys::semctl(self.id, libc::GETNCNT, 0) }
            .map(|count| count as u32)
            .map_err(|errno| sem_error(errno, sem_call("sem_waiters", self.id), "GETNCNT"))
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

/// `OwnerMismatch` unless the set was made by, and belongs to, the calling user.
fn check_owner(id: i32, info: &libc::semid_ds, call: Call) -> Result<()> {
    // SAFETY: geteuid cannot fail.
    let me = unsafe { libc::geteuid() };
    if info.sem_perm.cuid == me && info.sem_perm.uid == me {
        return Ok(());
    }
    let reason = msg!(
        "semaphore set {} was created by uid {} and is owned by uid {}, not by the caller (uid {})",
        id,
        info.sem_perm.cuid,
        info.sem_perm.uid,
        me
    );
    Err(Error::new(ErrorKind::OwnerMismatch, call, reason))
}

#[cold]
fn sem_error(errno: Errno, call: Call, step: &'static str) -> Error {
    let reason: Message = match errno.raw() {
        libc::ENOENT => msg!("no semaphore set exists for this key and CREATE was not given"),
        libc::EEXIST => msg!("a semaphore set exists for this key and EXCLUSIVE demands a new one"),
        libc::EACCES => msg!("the set's mode does not grant the caller access"),
        libc::EPERM => msg!("only the set's owner or creator may remove it"),
        libc::EIDRM | libc::EINVAL => msg!("the semaphore set was removed"),
        libc::ENOSPC => msg!("no semaphore set can be made: kernel.sem limits are reached"),
        libc::ERANGE => msg!("the value would exceed the semaphore maximum (32767)"),
        _ => msg!("{} failed", step),
    };
    match errno.raw() {
        libc::EINVAL | libc::EIDRM => Error::new(ErrorKind::Removed, call, reason),
        _ => Error::from_errno(errno, call, reason),
    }
}
