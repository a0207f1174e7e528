//! Typed flags and permission modes for the Rust API (raw C ints become
//! these once, at the C boundary), and the strictness of validation.

use crate::error::{HUGE_SIZE_MASK, HUGE_SIZE_SHIFT, MODE_BITS, SHM_EXEC, SHM_REMAP};
use bitflags::bitflags;

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
        const HUGE_PAGE_SIZE = HUGE_SIZE_MASK;
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
        const REMAP = SHM_REMAP;
        /// `SHM_EXEC`: allow executing the segment's contents.
        const EXEC = SHM_EXEC;
    }
}

impl GetFlags {
    /// `SHM_HUGETLB` with the huge page size `1 << log2_size` (`SHM_HUGE_2MB` is 21).
    pub fn huge_pages(log2_size: u8) -> GetFlags {
        GetFlags::HUGETLB
            | GetFlags::from_bits_retain((u32::from(log2_size) << HUGE_SIZE_SHIFT) & HUGE_SIZE_MASK)
    }

    /// Splits a C `shmflg` into flags and mode, keeping undefined bits for validation to see.
    pub fn split_c(shmflg: i32) -> (GetFlags, Mode) {
        let bits = shmflg as u32;
        (
            GetFlags::from_bits_retain(bits & !MODE_BITS),
            Mode::from_bits_retain(bits & MODE_BITS),
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

#[cfg(test)]
mod tests {
    use super::*;

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
