//! `Segment`: a System V shared memory segment by id. Create or open it
//! (`shmget`), inspect and change it (`shmctl`), and attach it.

pub(crate) mod attach;
pub(crate) mod control;
pub(crate) mod held;
pub(crate) mod open;
pub(crate) mod region;
pub(crate) mod registry;

use crate::error::{msg, Arg, Call, Errno, Error, ErrorKind, Message, Result, MODE_BITS};
use crate::flags::{AttachFlags, GetFlags, Mode, Validation};
use crate::key::Key;
use crate::sys;
use attach::Attachment;
use control::{Command, SHM_DEST, SHM_LOCKED};
use libc::c_void;
use std::mem::MaybeUninit;

/// A segment, named by its id. It is a plain number: it neither attaches nor
/// removes anything by itself (see [`Segment::attach`] and [`Segment::remove`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Segment {
    id: i32,
}

/// What `IPC_STAT` reports of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentInfo {
    pub key: Key,
    /// Size in bytes as created (not rounded to pages).
    pub size: usize,
    /// Permission bits (`0600`).
    pub mode: Mode,
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub cuid: libc::uid_t,
    pub cgid: libc::gid_t,
    /// The process that created it.
    pub cpid: libc::pid_t,
    /// The last process that attached or detached it.
    pub lpid: libc::pid_t,
    /// How many attachments exist, across all processes.
    pub nattch: u64,
    pub atime: libc::time_t,
    pub dtime: libc::time_t,
    pub ctime: libc::time_t,
    /// `IPC_RMID` was done; it goes away with its last attachment.
    pub marked_for_removal: bool,
    /// Locked in memory (`SHM_LOCK`).
    pub locked: bool,
}

impl SegmentInfo {
    fn from_raw(ds: &libc::shmid_ds) -> SegmentInfo {
        let mode = u32::from(ds.shm_perm.mode);
        SegmentInfo {
            key: Key::from_raw(ds.shm_perm.__key),
            size: ds.shm_segsz,
            mode: Mode::from_bits_truncate(mode),
            uid: ds.shm_perm.uid,
            gid: ds.shm_perm.gid,
            cuid: ds.shm_perm.cuid,
            cgid: ds.shm_perm.cgid,
            cpid: ds.shm_cpid,
            lpid: ds.shm_lpid,
            nattch: ds.shm_nattch,
            atime: ds.shm_atime,
            dtime: ds.shm_dtime,
            ctime: ds.shm_ctime,
            marked_for_removal: mode & SHM_DEST != 0,
            locked: mode & SHM_LOCKED != 0,
        }
    }
}

impl Segment {
    /// `shmget`: the segment for `key`, created with `mode` when `flags` has
    /// `CREATE` and the key has none (or always, for [`Key::PRIVATE`]).
    ///
    /// ```
    /// use rshm::{GetFlags, Key, Mode, Segment};
    /// let segment = Segment::get(Key::PRIVATE, 4096, GetFlags::CREATE, Mode::OWNER_RW)?;
    /// assert_eq!(segment.stat()?.size, 4096);
    /// segment.remove()?;
    /// # Ok::<(), rshm::Error>(())
    /// ```
    pub fn get(key: Key, size: usize, flags: GetFlags, mode: Mode) -> Result<Segment> {
        Segment::get_with(key, size, flags, mode, Validation::Strict)
    }

    /// `shmget` with a choice of validation: `Strict` refuses undefined flag
    /// bits and a huge page size without `HUGETLB`; `LikeGlibc` passes all to the kernel.
    #[inline]
    pub fn get_with(
        key: Key,
        size: usize,
        flags: GetFlags,
        mode: Mode,
        validation: Validation,
    ) -> Result<Segment> {
        let shmflg = (flags.bits() | mode.bits()) as i32;
        if validation == Validation::Strict {
            if let Some(problem) = flag_problem(flags, mode) {
                return Err(refuse_get_flags(key, size, shmflg, problem));
            }
        }
        match sys::shmget(key.raw(), size, shmflg) {
            Ok(id) => Ok(Segment { id }),
            Err(errno) => Err(explain_get(errno, key, size, shmflg)),
        }
    }

    /// A new segment of `size` bytes for `key` (`IPC_CREAT|IPC_EXCL`): fails with
    /// `EEXIST` rather than open one somebody else made.
    pub fn create(key: Key, size: usize, mode: Mode) -> Result<Segment> {
        Segment::get(key, size, GetFlags::CREATE | GetFlags::EXCLUSIVE, mode)
    }

    /// The existing segment for `key`, of any size.
    pub fn open_existing(key: Key) -> Result<Segment> {
        Segment::get(key, 0, GetFlags::empty(), Mode::empty())
    }

    /// The segment with id `id`, as `shmget` or `ipcs` gave it. Nothing is checked until it is used.
    pub fn from_id(id: i32) -> Segment {
        Segment { id }
    }

    /// The segment's id.
    pub fn id(self) -> i32 {
        self.id
    }

    /// `IPC_STAT`: what the kernel knows of the segment (needs read permission).
    pub fn stat(self) -> Result<SegmentInfo> {
        let mut ds = MaybeUninit::<libc::shmid_ds>::zeroed();
        // SAFETY: ds is a writable shmid_ds, the structure IPC_STAT fills.
        unsafe { control::shmctl(self.id, Command::Stat, ds.as_mut_ptr().cast()) }?;
        // SAFETY: zeroed is a valid shmid_ds, and the kernel filled it.
        Ok(SegmentInfo::from_raw(unsafe { ds.assume_init_ref() }))
    }

    /// `IPC_SET`: gives the segment to `uid`/`gid` with permission bits `mode`
    /// (owner, creator or CAP_SYS_ADMIN only).
    pub fn set(self, uid: libc::uid_t, gid: libc::gid_t, mode: Mode) -> Result<()> {
        // SAFETY: all-zero is a valid shmid_ds; IPC_SET reads only uid, gid and mode.
        let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
        ds.shm_perm.uid = uid;
        ds.shm_perm.gid = gid;
        ds.shm_perm.mode = mode.bits() as u16;
        // SAFETY: ds is a valid shmid_ds for the kernel to read.
        unsafe {
            control::shmctl(
                self.id,
                Command::Set,
                (&mut ds as *mut libc::shmid_ds).cast(),
            )
        }
        .map(drop)
    }

    /// Gives the segment permission bits `mode`, keeping its owner (`IPC_SET`;
    /// owner, creator or CAP_SYS_ADMIN only). Nothing but the mode changes.
    pub fn set_mode(self, mode: Mode) -> Result<()> {
        let info = self.stat()?;
        self.set(info.uid, info.gid, mode)
    }

    /// Gives the segment to `uid` and `gid`, keeping its permission bits
    /// (`IPC_SET`; owner, creator or CAP_SYS_ADMIN only).
    pub fn set_owner(self, uid: libc::uid_t, gid: libc::gid_t) -> Result<()> {
        let info = self.stat()?;
        self.set(uid, gid, info.mode)
    }

    /// `IPC_RMID`: marks the segment for removal; it goes when its last attachment does.
    pub fn remove(self) -> Result<()> {
        // SAFETY: IPC_RMID does not use buf.
        unsafe { control::shmctl(self.id, Command::Remove, std::ptr::null_mut()) }.map(drop)
    }

    /// `SHM_LOCK`: keeps the segment's pages out of swap.
    pub fn lock(self) -> Result<()> {
        // SAFETY: SHM_LOCK does not use buf.
        unsafe { control::shmctl(self.id, Command::Lock, std::ptr::null_mut()) }.map(drop)
    }

    /// `SHM_UNLOCK`: lets the segment's pages be swapped again.
    pub fn unlock(self) -> Result<()> {
        // SAFETY: SHM_UNLOCK does not use buf.
        unsafe { control::shmctl(self.id, Command::Unlock, std::ptr::null_mut()) }.map(drop)
    }

    /// `SHM_STAT_ANY` at `index` of the kernel's table: the segment there and
    /// what it is, without needing read permission (how `ipcs` lists everything).
    pub fn stat_index(index: i32) -> Result<(Segment, SegmentInfo)> {
        let mut ds = MaybeUninit::<libc::shmid_ds>::zeroed();
        // SAFETY: ds is a writable shmid_ds, the structure SHM_STAT_ANY fills.
        let id = unsafe { control::shmctl(index, Command::ShmStatAny, ds.as_mut_ptr().cast()) }?;
        // SAFETY: zeroed is a valid shmid_ds, and the kernel filled it.
        Ok((
            Segment { id },
            SegmentInfo::from_raw(unsafe { ds.assume_init_ref() }),
        ))
    }

    /// Attaches the segment wherever the kernel chooses; dropping the
    /// [`Attachment`] detaches it. `flags` may hold `READ_ONLY` and `EXEC`
    /// (`ROUND` and `REMAP` need an address: see [`Segment::attach_at`]).
    ///
    /// ```
    /// use rshm::{AttachFlags, GetFlags, Key, Mode, Segment};
    /// let segment = Segment::get(Key::PRIVATE, 100, GetFlags::CREATE, Mode::OWNER_RW)?;
    /// let attachment = segment.attach(AttachFlags::empty())?;
    /// assert_eq!(attachment.size(), 100);
    /// segment.remove()?; // it lives until its last attachment goes
    /// drop(attachment);
    /// # Ok::<(), rshm::Error>(())
    /// ```
    pub fn attach(self, flags: AttachFlags) -> Result<Attachment> {
        Attachment::new(self, flags, None)
    }

    /// `shmat(id, addr, flags)` as libc does it: the address it is mapped at,
    /// recorded in the process's registry of attachments (so that
    /// [`detach`](crate::detach) explains a wrong address). `Strict`
    /// validation refuses undefined flag bits (permission bits passed by mistake).
    ///
    /// # Safety
    /// A non-NULL `addr` with `SHM_REMAP` replaces whatever is mapped there:
    /// nothing may use that memory any more.
    #[inline]
    pub unsafe fn attach_at(
        self,
        addr: *const c_void,
        flags: AttachFlags,
        validation: Validation,
    ) -> Result<*mut c_void> {
        // SAFETY: forwarded contract.
        unsafe { attach::attach_at(self, addr, flags, validation) }
    }

    /// How many attachments of this segment this process holds through rshm.
    pub fn attachments_in_this_process(self) -> usize {
        registry::attachments_of(self.id)
    }
}

/// What the strict checks refuse in `shmget`'s flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlagProblem {
    /// Bits outside the defined flags and the 0777 permission bits.
    Undefined(u32),
    /// A SHM_HUGE_* page size without SHM_HUGETLB.
    HugeSizeWithoutHugetlb,
}

impl FlagProblem {
    fn reason(self) -> Message {
        match self {
            FlagProblem::Undefined(bits) => msg!(
                "flags has undefined bits 0{}; shmget accepts 0777 permission bits, IPC_CREAT, \
                 IPC_EXCL, SHM_HUGETLB, SHM_NORESERVE and a SHM_HUGE_* size with SHM_HUGETLB",
                Arg::Octal(bits)
            ),
            FlagProblem::HugeSizeWithoutHugetlb => {
                msg!("a SHM_HUGE_* page size is given without SHM_HUGETLB")
            }
        }
    }
}

/// The strict checks of `shmget`'s flags (no allocation: this is on the success path).
#[inline]
fn flag_problem(flags: GetFlags, mode: Mode) -> Option<FlagProblem> {
    let undefined = flags.bits() & !GetFlags::all().bits() | mode.bits() & !MODE_BITS;
    if undefined != 0 {
        Some(FlagProblem::Undefined(undefined))
    } else if flags.intersects(GetFlags::HUGE_PAGE_SIZE) && !flags.contains(GetFlags::HUGETLB) {
        Some(FlagProblem::HugeSizeWithoutHugetlb)
    } else {
        None
    }
}

#[cold]
#[inline(never)]
fn refuse_get_flags(key: Key, size: usize, shmflg: i32, problem: FlagProblem) -> Error {
    let call = Call::Shmget {
        key: key.raw(),
        size,
        shmflg,
    };
    Error::new(ErrorKind::InvalidArgument, call, problem.reason())
}

/// Why `shmget` failed, in words. Runs on the error path only; it may look
/// at the existing segment (without creating anything) to say more.
#[cold]
#[inline(never)]
fn explain_get(errno: Errno, key: Key, size: usize, shmflg: i32) -> Error {
    let call = Call::Shmget {
        key: key.raw(),
        size,
        shmflg,
    };
    let existing = || {
        if key == Key::PRIVATE {
            return None;
        }
        let segment = Segment {
            id: sys::shmget(key.raw(), 0, 0).ok()?,
        };
        Some((segment, segment.stat().ok()))
    };
    let reason = match errno.raw() {
        libc::EINVAL => match existing() {
            Some((_, Some(info))) if info.size < size => {
                let reason = msg!(
                    "a segment with this key exists with {} bytes, fewer than requested",
                    info.size
                );
                return Error::new(ErrorKind::SizeMismatch, call, reason);
            }
            Some((segment, _)) => msg!(
                "the segment with this key (id {}) cannot be opened as asked",
                segment.id
            ),
            None => match control::limits() {
                Ok(limits) if (size as u64) < limits.min_segment_size => msg!(
                    "a new segment needs a size of at least {} byte",
                    limits.min_segment_size
                ),
                Ok(limits) if (size as u64) > limits.max_segment_size => msg!(
                    "size exceeds the largest segment allowed (kernel.shmmax = {})",
                    limits.max_segment_size
                ),
                _ => msg!("the size is outside the system's limits for a new segment"),
            },
        },
        libc::ENOENT => msg!("no segment exists for this key and IPC_CREAT was not given"),
        libc::EEXIST => match existing() {
            Some((segment, _)) => msg!(
                "a segment with this key exists (id {}) and IPC_CREAT|IPC_EXCL demands a new one",
                segment.id
            ),
            None => msg!("a segment with this key exists and IPC_CREAT|IPC_EXCL demands a new one"),
        },
        libc::EACCES => msg!(
            "the existing segment's mode does not grant uid {} the permissions asked in flags ({})",
            // SAFETY: geteuid cannot fail.
            unsafe { libc::geteuid() },
            Arg::Mode(shmflg as u32 & MODE_BITS)
        ),
        libc::ENOSPC => no_space_reason(size),
        libc::ENOMEM => msg!("the kernel could not allocate memory for the segment"),
        libc::EPERM => msg!("SHM_HUGETLB needs CAP_IPC_LOCK or membership in vm.hugetlb_shm_group"),
        libc::ENFILE => msg!("the system's limit on open files is reached"),
        _ => msg!("the kernel refused the call"),
    };
    Error::from_errno(errno, call, reason)
}

/// Which limit a new segment of `size` bytes ran into: the number of
/// segments (`kernel.shmmni`) or the pages of all segments (`kernel.shmall`).
fn no_space_reason(size: usize) -> Message {
    let page = 4096u64.max(page_size());
    match (control::limits(), control::usage()) {
        (Ok(limits), Ok(usage)) if u64::from(usage.segments) >= limits.max_segments => msg!(
            "no segment can be made: kernel.shmmni segments ({}) exist already",
            limits.max_segments
        ),
        (Ok(limits), Ok(usage)) => msg!(
            "the segment's {} pages would take the pages of all segments ({} in use) past kernel.shmall ({})",
            (size as u64).div_ceil(page),
            usage.total_pages,
            limits.max_total_pages
        ),
        _ => msg!("no segment can be made: kernel.shmmni segments exist, or kernel.shmall pages would be exceeded"),
    }
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undefined_get_flags_are_refused() {
        let (flags, mode) = GetFlags::split_c(libc::IPC_CREAT | 0o20000 | 0o600);
        assert_eq!(
            flag_problem(flags, mode),
            Some(FlagProblem::Undefined(0o20000))
        );
        assert!(FlagProblem::Undefined(0o20000)
            .reason()
            .to_string()
            .contains("bits 020000;"));
        let (flags, mode) = GetFlags::split_c(libc::IPC_CREAT | (21 << 26) | 0o600);
        assert_eq!(
            flag_problem(flags, mode),
            Some(FlagProblem::HugeSizeWithoutHugetlb)
        );
        assert!(FlagProblem::HugeSizeWithoutHugetlb
            .reason()
            .to_string()
            .contains("without SHM_HUGETLB"));
        let (flags, mode) =
            GetFlags::split_c(libc::IPC_CREAT | libc::SHM_HUGETLB | (21 << 26) | 0o600);
        assert_eq!(flag_problem(flags, mode), None);
    }
}
