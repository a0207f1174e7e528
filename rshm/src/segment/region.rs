//! `Region`: the bytes of an attached segment as raw memory (where it starts,
//! how long it is, whether it may be written), and the one bounds-checked
//! implementation of copying in and out of it. The safe methods of
//! [`Attachment`](super::attach::Attachment) and the C face's handle calls both use it.

use crate::error::{msg, Arg, Call, Error, ErrorKind, Result};
use std::ptr::NonNull;

/// An attached segment's memory, by address and size. It is a plain value
/// that does not keep the mapping alive: its methods are `unsafe`, and their
/// caller vouches that the attachment it came from is still in place.
///
/// Other processes may write the same bytes at any time: copies are plain
/// `memmove`s, and bytes read while a peer writes them may be torn. Order
/// such access with a lock or a protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    addr: NonNull<u8>,
    size: usize,
    read_only: bool,
    shmid: i32,
}

// SAFETY: a Region is an address and a size; what may be done through it is
// governed by its unsafe methods' contracts, not by which thread holds it.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

fn access_call(what: &'static str, offset: usize, len: usize) -> Call {
    Call::Other(msg!("{}(offset={}, len={})", what, offset, len))
}

impl Region {
    pub(crate) fn new(addr: NonNull<u8>, size: usize, read_only: bool, shmid: i32) -> Region {
        Region {
            addr,
            size,
            read_only,
            shmid,
        }
    }

    /// The segment's first byte in this process.
    pub fn as_ptr(&self) -> *mut u8 {
        self.addr.as_ptr()
    }

    /// The segment's size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Attached read-only: writes are refused.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Checks that `offset..offset + len` lies inside the segment, without overflow.
    #[inline]
    pub fn check_range(&self, what: &'static str, offset: usize, len: usize) -> Result<()> {
        match offset.checked_add(len) {
            Some(end) if end <= self.size => Ok(()),
            _ => Err(self.out_of_bounds(what, offset, len)),
        }
    }

    #[cold]
    #[inline(never)]
    fn out_of_bounds(&self, what: &'static str, offset: usize, len: usize) -> Error {
        let reason = msg!(
            "bytes {}..{} reach past the end of the {}-byte segment {}",
            offset,
            Arg::Sum(offset as u64, len as u64),
            self.size,
            self.shmid
        );
        Error::new(
            ErrorKind::OutOfBounds,
            access_call(what, offset, len),
            reason,
        )
    }

    /// Copies `len` bytes from `src` into the segment at `offset` (a memmove:
    /// `src` may lie inside the segment). The range must lie inside the
    /// segment; a read-only region gives [`ErrorKind::ReadOnly`], never a fault.
    ///
    /// # Safety
    /// The attachment is still in place, and `src` is readable for `len` bytes.
    #[inline]
    pub unsafe fn write_from(&self, offset: usize, src: *const u8, len: usize) -> Result<()> {
        if self.read_only {
            return Err(read_only_error("write", offset, len));
        }
        self.check_range("write", offset, len)?;
        // SAFETY: offset..offset+len lies inside the mapping (checked above), which is
        // writable (not read-only); src is readable by contract; copy allows overlap.
        unsafe { std::ptr::copy(src, self.addr.as_ptr().add(offset), len) };
        Ok(())
    }

    /// Copies `len` bytes of the segment, from `offset`, into `dst` (which may be uninitialised).
    ///
    /// # Safety
    /// The attachment is still in place, and `dst` is writable for `len` bytes.
    #[inline]
    pub unsafe fn read_into(&self, offset: usize, dst: *mut u8, len: usize) -> Result<()> {
        self.check_range("read", offset, len)?;
        // SAFETY: the range lies inside the mapping (checked above); dst is
        // writable by contract; copy (memmove) allows the two to overlap.
        unsafe { std::ptr::copy(self.addr.as_ptr().add(offset), dst, len) };
        Ok(())
    }

    /// Copies the NUL-terminated string at `offset` into `dst` (`cap` bytes),
    /// NUL included, and returns its length. Fails when no NUL lies between
    /// `offset` and the end of the segment, or when the string and its NUL do
    /// not fit `cap`; `dst` is then left as it was.
    ///
    /// # Safety
    /// The attachment is still in place, and `dst` is writable for `cap` bytes.
    pub unsafe fn read_str_into(&self, offset: usize, dst: *mut u8, cap: usize) -> Result<usize> {
        self.check_range("read_str", offset, 0)?;
        let rest = self.size - offset;
        // SAFETY: offset..size lies inside the mapping. memchr reads bytes
        // that other processes may change; it is C, so no Rust aliasing holds.
        let nul = unsafe { libc::memchr(self.addr.as_ptr().add(offset).cast(), 0, rest) };
        if nul.is_null() {
            let reason = msg!(
                "no NUL between offset {} and the end of the {}-byte segment {}",
                offset,
                self.size,
                self.shmid
            );
            return Err(Error::new(
                ErrorKind::OutOfBounds,
                access_call("read_str", offset, cap),
                reason,
            ));
        }
        let len = nul as usize - (self.addr.as_ptr() as usize + offset);
        if len >= cap {
            let reason = msg!(
                "the string of {} bytes and its NUL do not fit the {}-byte buffer",
                len,
                cap
            );
            return Err(Error::new(
                ErrorKind::OutOfBounds,
                access_call("read_str", offset, cap),
                reason,
            ));
        }
        // SAFETY: len < cap, so dst has room for len bytes and the NUL.
        unsafe {
            self.read_into(offset, dst, len)?;
            // Terminate it ourselves: another process may have changed the byte since.
            dst.add(len).write(0);
        }
        Ok(len)
    }
}

#[cold]
#[inline(never)]
fn read_only_error(what: &'static str, offset: usize, len: usize) -> Error {
    Error::new(
        ErrorKind::ReadOnly,
        access_call(what, offset, len),
        msg!("the segment is attached read-only"),
    )
}

#[cfg(test)]
mod tests {
    //! The copying and bounds logic over ordinary memory, so that Miri can check
    //! every pointer it computes.
    use super::*;

    fn over(buf: &mut [u8], read_only: bool) -> Region {
        Region::new(
            NonNull::new(buf.as_mut_ptr()).unwrap(),
            buf.len(),
            read_only,
            7,
        )
    }

    #[test]
    fn reads_and_writes_stay_inside_the_segment() {
        let mut memory = [0u8; 64];
        let region = over(&mut memory, false);
        let mut back = [0u8; 4];
        // SAFETY: region is over `memory`, alive for the test; the buffers are valid.
        unsafe {
            region.write_from(60, b"abcd".as_ptr(), 4).unwrap();
            region.read_into(60, back.as_mut_ptr(), 4).unwrap();
            assert_eq!(&back, b"abcd");
            region.write_from(64, b"".as_ptr(), 0).unwrap();
            for (offset, len) in [(61, 4), (64, 1), (65, 0), (usize::MAX, 1), (1, usize::MAX)] {
                // The bounds check fails before anything is read or written.
                let error = region.write_from(offset, back.as_ptr(), len).unwrap_err();
                assert_eq!(error.kind(), ErrorKind::OutOfBounds, "{offset}+{len}");
                let error = region
                    .read_into(offset, back.as_mut_ptr(), len)
                    .unwrap_err();
                assert_eq!(error.kind(), ErrorKind::OutOfBounds, "{offset}+{len}");
            }
            let error = region.write_from(usize::MAX, back.as_ptr(), 1).unwrap_err();
            assert_eq!(
                error.to_string(),
                "write(offset=18446744073709551615, len=1): bytes 18446744073709551615..18446744073709551616 \
                 reach past the end of the 64-byte segment 7 (ERANGE)"
            );
        }
    }

    #[test]
    fn an_overlapping_source_inside_the_segment_is_copied_as_memmove() {
        let mut memory = *b"0123456789";
        let region = over(&mut memory, false);
        // SAFETY: the source is the region itself, 8 readable bytes from its start.
        unsafe { region.write_from(2, region.as_ptr(), 8) }.unwrap();
        assert_eq!(&memory, b"0101234567");
    }

    #[test]
    fn strings_need_a_nul_inside_and_room_in_the_buffer() {
        let mut memory = *b"hi\0xxxx";
        let region = over(&mut memory, false);
        let mut buf = [9u8; 16];
        // SAFETY: region is over `memory`; buf has room for the lengths given.
        unsafe {
            assert_eq!(region.read_str_into(0, buf.as_mut_ptr(), 3).unwrap(), 2);
            assert_eq!(&buf[..3], b"hi\0");
            assert!(
                region.read_str_into(0, buf.as_mut_ptr(), 2).is_err(),
                "no room for the NUL"
            );
            assert!(
                region.read_str_into(3, buf.as_mut_ptr(), 16).is_err(),
                "no NUL before the end"
            );
            assert!(
                region.read_str_into(8, buf.as_mut_ptr(), 16).is_err(),
                "past the end"
            );
        }
    }

    #[test]
    fn a_read_only_region_refuses_writes_before_touching_memory() {
        let mut memory = [1u8; 8];
        let region = over(&mut memory, true);
        // SAFETY: region is over `memory`.
        let error = unsafe { region.write_from(0, b"x".as_ptr(), 1) }.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ReadOnly);
        assert_eq!(memory, [1u8; 8]);
    }
}
