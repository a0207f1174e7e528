//! How rshm writes C values in its messages and traces, as C code reads
//! them: `IPC_CREAT|IPC_EXCL|0600`, `SHM_RDONLY|SHM_RND`, `IPC_RMID`, `NULL`.
//! Each writes straight to the formatter: describing a value never allocates.

use std::fmt::{self, Write as _};

/// The permission bits of `shmflg` and `shm_perm.mode`.
pub(crate) const MODE_BITS: u32 = 0o777;
/// Where the `SHM_HUGE_*` page size sits in `shmflg`, and how wide it is.
pub(crate) const HUGE_SIZE_SHIFT: u32 = 26;
pub(crate) const HUGE_SIZE_MASK: u32 = 0x3f << HUGE_SIZE_SHIFT;
/// `SHM_REMAP` and `SHM_EXEC`, which the libc crate does not name.
pub(crate) const SHM_REMAP: u32 = 0o40000;
pub(crate) const SHM_EXEC: u32 = 0o100000;

/// The `shmctl` commands glibc accepts, by value: the one table of their names.
pub(crate) const SHMCTL_COMMANDS: [(i32, &str); 9] = [
    (libc::IPC_STAT, "IPC_STAT"),
    (libc::IPC_SET, "IPC_SET"),
    (libc::IPC_RMID, "IPC_RMID"),
    (libc::IPC_INFO, "IPC_INFO"),
    (SHM_INFO, "SHM_INFO"),
    (SHM_STAT, "SHM_STAT"),
    (SHM_STAT_ANY, "SHM_STAT_ANY"),
    (libc::SHM_LOCK, "SHM_LOCK"),
    (libc::SHM_UNLOCK, "SHM_UNLOCK"),
];
/// `SHM_STAT`, `SHM_INFO` and `SHM_STAT_ANY` (Linux 4.17), which the libc crate does not name.
pub(crate) const SHM_STAT: i32 = 13;
pub(crate) const SHM_INFO: i32 = 14;
pub(crate) const SHM_STAT_ANY: i32 = 15;

/// The name of shmctl command `cmd`, or `None` for a value the kernel does not know.
pub(crate) fn shmctl_command_name(cmd: i32) -> Option<&'static str> {
    SHMCTL_COMMANDS
        .iter()
        .find(|&&(value, _)| value == cmd)
        .map(|&(_, name)| name)
}

/// Writes `NAME|NAME|...` for the named bits set in `bits`, then the huge page
/// size field (when `huge` names it) and the rest in octal (`020000`, as
/// flags are written in C headers and as the strict checks' reasons say
/// them), each preceded by `|` unless it comes first; returns whether
/// anything was written.
pub(super) fn write_flags(
    f: &mut fmt::Formatter<'_>,
    bits: u32,
    names: &[(u32, &str)],
    huge: bool,
) -> Result<bool, fmt::Error> {
    let mut first = true;
    let mut rest = bits;
    let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
        if !std::mem::take(&mut first) {
            f.write_char('|')?;
        }
        Ok(())
    };
    for &(bit, name) in names {
        if bit != 0 && bits & bit == bit {
            sep(f)?;
            f.write_str(name)?;
            rest &= !bit;
        }
    }
    let size = rest & HUGE_SIZE_MASK;
    if huge && size != 0 {
        sep(f)?;
        write!(f, "({}<<SHM_HUGE_SHIFT)", size >> HUGE_SIZE_SHIFT)?;
        rest &= !size;
    }
    if rest != 0 {
        sep(f)?;
        write!(f, "0{rest:o}")?;
    }
    Ok(!first)
}

/// `shmget`'s `shmflg`: `IPC_CREAT|IPC_EXCL|0600`.
pub(crate) fn write_shmget_flags(f: &mut fmt::Formatter<'_>, shmflg: i32) -> fmt::Result {
    let bits = shmflg as u32;
    let named = write_flags(
        f,
        bits & !MODE_BITS,
        &[
            (libc::IPC_CREAT as u32, "IPC_CREAT"),
            (libc::IPC_EXCL as u32, "IPC_EXCL"),
            (libc::SHM_HUGETLB as u32, "SHM_HUGETLB"),
            (libc::SHM_NORESERVE as u32, "SHM_NORESERVE"),
        ],
        true,
    )?;
    if named {
        f.write_char('|')?;
    }
    write!(f, "{:04o}", bits & MODE_BITS)
}

/// `shmat`'s `shmflg`: `SHM_RDONLY|SHM_RND`, or `0`.
pub(crate) fn write_shmat_flags(f: &mut fmt::Formatter<'_>, shmflg: i32) -> fmt::Result {
    let named = write_flags(
        f,
        shmflg as u32,
        &[
            (libc::SHM_RDONLY as u32, "SHM_RDONLY"),
            (libc::SHM_RND as u32, "SHM_RND"),
            (SHM_REMAP, "SHM_REMAP"),
            (SHM_EXEC, "SHM_EXEC"),
        ],
        false,
    )?;
    if !named {
        f.write_char('0')?;
    }
    Ok(())
}

/// A shmctl command by name, or its number when the kernel does not know it.
pub(crate) fn write_shmctl_command(f: &mut fmt::Formatter<'_>, cmd: i32) -> fmt::Result {
    match shmctl_command_name(cmd) {
        Some(name) => f.write_str(name),
        None => write!(f, "{cmd}"),
    }
}

/// A pointer as C shows it: `NULL` or `0x7f...`.
pub(crate) fn write_pointer(f: &mut fmt::Formatter<'_>, addr: usize) -> fmt::Result {
    if addr == 0 {
        f.write_str("NULL")
    } else {
        write!(f, "{addr:#x}")
    }
}

/// A `key_t` as `ipcs` shows it: `0x41012345`.
pub(crate) fn write_key(f: &mut fmt::Formatter<'_>, key: i32) -> fmt::Result {
    write!(f, "{:#010x}", key as u32)
}
