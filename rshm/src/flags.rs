//! Typed flags and permission modes for the Rust API, and how they are
//! written in messages (`IPC_CREAT|IPC_EXCL|0600`). Raw C ints become these once, in `ffi/`.

use bitflags::bitflags;
use std::fmt::{self, Write as _};

bitflags! {
    /// Permission bits of a segment (the low nine bits of `shmflg` and `shm_perm.mode`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct Mode: u32 {
        const OWNER_READ = 0o400;
        const OWNER_WRITE = 0o200;
        const OWNER_EXEC = 0o100;
        const GROUP_READ = 0o040;
        const GROUP_WRITE = 0o020;
        const GROUP_EXEC = 0o010;
        const OTHERS_READ = 0o004;
        const OTHERS_WRITE = 0o002;
        const OTHERS_EXEC = 0o001;
        /// `0600`: read and write for the owner alone, rshm's default.
        const OWNER_RW = 0o600;
    }
}

bitflags! {
    /// `shmget` flags other than the permission bits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct GetFlags: u32 {
        /// `IPC_CREAT`: create the segment if the key has none.
        const CREATE = libc::IPC_CREAT as u32;
        /// `IPC_EXCL`: with `CREATE`, fail with `EEXIST` if the key has one already.
        const EXCLUSIVE = libc::IPC_EXCL as u32;
        /// `SHM_HUGETLB`: back the segment with huge pages.
        const HUGETLB = libc::SHM_HUGETLB as u32;
        /// `SHM_NORESERVE`: do not reserve swap space.
        const NORESERVE = libc::SHM_NORESERVE as u32;
        /// The `SHM_HUGE_*` field: log2 of the huge page size, meaningful only with `HUGETLB`.
        const HUGE_PAGE_SIZE = (HUGE_SIZE_FIELD_MASK << HUGE_SIZE_SHIFT);
    }
}

bitflags! {
    /// `shmat` flags.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct AttachFlags: u32 {
        /// `SHM_RDONLY`: map read-only.
        const READ_ONLY = libc::SHM_RDONLY as u32;
        /// `SHM_RND`: round the address down to a multiple of `SHMLBA`.
        const ROUND = libc::SHM_RND as u32;
        /// `SHM_REMAP`: replace any mapping in the range (needs an address).
        const REMAP = 0o40000;
        /// `SHM_EXEC`: allow executing the segment's contents.
        const EXEC = 0o100000;
    }
}

const HUGE_SIZE_SHIFT: u32 = 26;
const HUGE_SIZE_FIELD_MASK: u32 = 0x3f;

impl GetFlags {
    /// `SHM_HUGETLB` with the huge page size `1 << log2_size` (`SHM_HUGE_2MB` is 21).
    pub fn huge_pages(log2_size: u8) -> GetFlags {
        GetFlags::HUGETLB
            | GetFlags::from_bits_retain(
                (u32::from(log2_size) & HUGE_SIZE_FIELD_MASK) << HUGE_SIZE_SHIFT,
            )
    }

    /// Splits a C `shmflg` into flags and mode, keeping undefined bits for validation to see.
    pub fn split_c(shmflg: i32) -> (GetFlags, Mode) {
        let bits = shmflg as u32;
        (
            GetFlags::from_bits_retain(bits & !Mode::all().bits()),
            Mode::from_bits_retain(bits & Mode::all().bits()),
        )
    }
}

/// How strictly a call checks its arguments before the kernel sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validation {
    /// Reject the certain bugs the kernel lets through, with `EINVAL` (see the README).
    #[default]
    Strict,
    /// Behave exactly like glibc: let the kernel decide everything.
    LikeGlibc,
}

/// Writes `NAME|NAME|...` for the named bits set in `bits`, then the rest in hex,
/// each preceded by `|` unless it comes first; returns whether anything was written.
fn write_flags(
    f: &mut fmt::Formatter<'_>,
    bits: u32,
    names: &[(u32, &str)],
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
    let huge = rest & GetFlags::HUGE_PAGE_SIZE.bits();
    if huge != 0 && names.iter().any(|&(_, name)| name == "SHM_HUGETLB") {
        sep(f)?;
        write!(f, "({}<<SHM_HUGE_SHIFT)", huge >> HUGE_SIZE_SHIFT)?;
        rest &= !huge;
    }
    if rest != 0 {
        sep(f)?;
        write!(f, "{rest:#x}")?;
    }
    Ok(!first)
}

/// `shmflg` as a C programmer writes it: `IPC_CREAT|IPC_EXCL|0600`.
pub struct ShmgetFlagsDisplay(pub i32);

impl fmt::Display for ShmgetFlagsDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bits = self.0 as u32;
        let named = write_flags(
            f,
            bits & !Mode::all().bits(),
            &[
                (libc::IPC_CREAT as u32, "IPC_CREAT"),
                (libc::IPC_EXCL as u32, "IPC_EXCL"),
                (libc::SHM_HUGETLB as u32, "SHM_HUGETLB"),
                (libc::SHM_NORESERVE as u32, "SHM_NORESERVE"),
            ],
        )?;
        if named {
            f.write_char('|')?;
        }
        write!(f, "{:04o}", bits & Mode::all().bits())
    }
}

/// `shmflg` of shmat: `SHM_RDONLY|SHM_RND`, or `0`.
pub struct ShmatFlagsDisplay(pub i32);

impl fmt::Display for ShmatFlagsDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let named = write_flags(
            f,
            self.0 as u32,
            &[
                (AttachFlags::READ_ONLY.bits(), "SHM_RDONLY"),
                (AttachFlags::ROUND.bits(), "SHM_RND"),
                (AttachFlags::REMAP.bits(), "SHM_REMAP"),
                (AttachFlags::EXEC.bits(), "SHM_EXEC"),
            ],
        )?;
        if !named {
            f.write_char('0')?;
        }
        Ok(())
    }
}

/// A mode in octal: `0600`.
pub(crate) fn octal(mode: u32) -> String {
    format!("{mode:04o}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shmget_flags_read_like_c() {
        assert_eq!(
            ShmgetFlagsDisplay(libc::IPC_CREAT | 0o600).to_string(),
            "IPC_CREAT|0600"
        );
        assert_eq!(
            ShmgetFlagsDisplay(libc::IPC_CREAT | libc::IPC_EXCL | 0o666).to_string(),
            "IPC_CREAT|IPC_EXCL|0666"
        );
        assert_eq!(ShmgetFlagsDisplay(0).to_string(), "0000");
        assert_eq!(
            ShmgetFlagsDisplay(0x10000000 | 0o644).to_string(),
            "(4<<SHM_HUGE_SHIFT)|0644"
        );
        assert_eq!(ShmgetFlagsDisplay(0o20000).to_string(), "0x2000|0000");
    }

    #[test]
    fn shmat_flags_read_like_c() {
        assert_eq!(ShmatFlagsDisplay(0).to_string(), "0");
        assert_eq!(
            ShmatFlagsDisplay(libc::SHM_RDONLY | libc::SHM_RND).to_string(),
            "SHM_RDONLY|SHM_RND"
        );
        assert_eq!(ShmatFlagsDisplay(0o666).to_string(), "0x1b6");
    }

    #[test]
    fn split_keeps_undefined_bits() {
        let (flags, mode) = GetFlags::split_c(libc::IPC_CREAT | 0o20000 | 0o640);
        assert_eq!(mode.bits(), 0o640);
        assert!(flags.contains(GetFlags::CREATE));
        assert_eq!(flags.bits() & !GetFlags::all().bits(), 0o20000);
    }

    #[test]
    fn huge_pages_sets_the_size_field() {
        let flags = GetFlags::huge_pages(21);
        assert_eq!(flags.bits(), libc::SHM_HUGETLB as u32 | (21 << 26));
    }
}
