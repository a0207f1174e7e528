//! `OpenOptions::open` and `OpenSegment`: the Rust form of the handle API.

mod common;

use common::{keyed_segment, unique_key};
use rshm::{ErrorKind, Key, Mode, OpenOptions, Segment};

#[test]
fn bounds_are_checked_without_overflow() {
    let mut segment = OpenOptions::new()
        .create(true)
        .size(100)
        .remove_on_close(true)
        .open()
        .unwrap();
    assert_eq!(segment.size(), 100);
    segment.write(90, &[7; 10]).unwrap();
    let mut buf = [0u8; 10];
    segment.read(90, &mut buf).unwrap();
    assert_eq!(buf, [7; 10]);
    for (offset, len) in [(91, 10), (usize::MAX, 1), (1, usize::MAX), (101, 0)] {
        let error = if len > 16 {
            // SAFETY: the handle is alive; the bounds check fails before anything is read from the source.
            unsafe { segment.region().write_from(offset, buf.as_ptr(), len) }.unwrap_err()
        } else {
            segment.write(offset, &vec![0; len][..]).unwrap_err()
        };
        assert!(
            (error.kind() == ErrorKind::OutOfBounds),
            "{offset}+{len}: {error:?}"
        );
        assert_eq!(error.errno(), libc::ERANGE);
    }
    segment.write(100, &[]).unwrap();
}

#[test]
fn read_only_writes_are_errors_not_faults() {
    let key = unique_key(line!());
    let mut owner = keyed_segment(key, 64);
    owner.write_str(0, c"hello").unwrap();
    let mut reader = OpenOptions::new().key(key).read_only(true).open().unwrap();
    assert!(reader.is_read_only());
    let error = reader.write(0, b"x").unwrap_err();
    assert!((error.kind() == ErrorKind::ReadOnly), "{error:?}");
    assert_eq!(
        error.to_string(),
        "write(offset=0, len=1): the segment is attached read-only (EACCES)"
    );
    let mut buf = [0u8; 16];
    assert_eq!(reader.read_str(0, &mut buf).unwrap(), 5);
    assert_eq!(&buf[..6], b"hello\0");
}

#[test]
fn strings_need_a_nul_inside_and_room_in_the_buffer() {
    let mut segment = OpenOptions::new()
        .create(true)
        .size(8)
        .remove_on_close(true)
        .open()
        .unwrap();
    segment.write(0, b"abcdefgh").unwrap();
    let mut buf = [9u8; 16];
    let error = segment.read_str(0, &mut buf).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no NUL between offset 0 and the end of the 8-byte segment"),
        "{error}"
    );
    assert_eq!(buf, [9u8; 16], "the buffer is untouched");
    segment.write_str(2, c"xyz").unwrap();
    assert!(segment.read_str(2, &mut buf[..3]).is_err());
    assert_eq!(segment.read_str(2, &mut buf[..4]).unwrap(), 3);
    assert!(
        segment.write_str(5, c"xyz").is_err(),
        "the NUL would fall outside"
    );
}

#[test]
fn opening_larger_than_existing_is_size_mismatch_and_creates_nothing() {
    let key = unique_key(line!());
    let owner = keyed_segment(key, 4096);
    let error = OpenOptions::new().key(key).size(8192).open().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::SizeMismatch, "{error:?}");
    assert!(
        error
            .to_string()
            .starts_with(&format!("open(key={key}, size=8192, mode=0600, flags=0): ")),
        "{error}"
    );
    assert_eq!(OpenOptions::new().key(key).open().unwrap().id(), owner.id());
}

#[test]
fn invalid_options_fail_before_any_syscall() {
    let key = unique_key(line!());
    let cases: [(OpenOptions, &str); 4] = [
        (
            OpenOptions::new().key(key).create(true).clone(),
            "creating a segment needs a size above 0",
        ),
        (
            OpenOptions::new().key(key).exclusive(true).size(1).clone(),
            "EXCLUSIVE needs CREATE",
        ),
        (
            OpenOptions::new().size(1).clone(),
            "IPC_PRIVATE always makes a new segment",
        ),
        (
            OpenOptions::new()
                .key(key)
                .create(true)
                .size(1)
                .mode(Mode::from_bits_retain(0o1777))
                .clone(),
            "beyond 0777",
        ),
    ];
    for (options, reason) in cases {
        let error = options.open().unwrap_err();
        assert!(
            (error.kind() == ErrorKind::InvalidArgument) && error.to_string().contains(reason),
            "{error}"
        );
    }
    assert!(
        matches!(Segment::open_existing(key), Err(ref e) if e.kind() == ErrorKind::NotFound),
        "nothing was created"
    );
    let error = OpenOptions::new()
        .path("/no/such/file", 1)
        .create(true)
        .size(1)
        .open()
        .unwrap_err();
    assert!((error.kind() == ErrorKind::NotFound), "{error:?}");
}

#[test]
fn remove_on_close_marks_a_private_segment_at_once_and_a_keyed_one_at_close() {
    let private = OpenOptions::new()
        .create(true)
        .size(64)
        .remove_on_close(true)
        .open()
        .unwrap();
    assert!(private.stat().unwrap().marked_for_removal);
    assert_eq!(private.key(), Key::PRIVATE);
    let segment = private.segment();
    private.close().unwrap();
    assert_eq!(segment.stat().unwrap_err().errno(), libc::EINVAL, "gone");

    let key = unique_key(line!());
    let keyed = keyed_segment(key, 64);
    assert!(!keyed.stat().unwrap().marked_for_removal);
    let segment = keyed.segment();
    drop(keyed);
    assert_eq!(segment.stat().unwrap_err().errno(), libc::EINVAL, "gone");
}

#[test]
fn a_handles_region_is_shared_between_threads() {
    // Safe writes take &mut; threads that share one handle (as C callers do)
    // go through its Region, whose unsafe calls leave the ordering to them.
    let segment = OpenOptions::new()
        .create(true)
        .size(8 * 1024)
        .remove_on_close(true)
        .open()
        .unwrap();
    std::thread::scope(|scope| {
        for t in 0..8usize {
            let region = segment.region();
            scope.spawn(move || {
                let block = [t as u8; 1024];
                let mut back = [0u8; 1024];
                for _ in 0..500 {
                    // SAFETY: the handle outlives the scope; each thread uses its own kilobyte.
                    unsafe {
                        region.write_from(t * 1024, block.as_ptr(), 1024).unwrap();
                        region.read_into(t * 1024, back.as_mut_ptr(), 1024).unwrap();
                    }
                    assert_eq!(back, block);
                }
            });
        }
    });
}

#[test]
fn rshm_never_widens_a_mode() {
    let key = unique_key(line!());
    let made = Segment::create(key, 4096, Mode::OWNER_RW).unwrap();
    let _cleanup = common::Removing(made);
    let before = made.stat().unwrap();
    // Opening with a wider mode (and CREATE) uses the segment as it is: no IPC_SET.
    let wide = Mode::from_bits_truncate(0o666);
    let open = OpenOptions::new()
        .key(key)
        .create(true)
        .size(4096)
        .mode(wide)
        .open()
        .unwrap();
    let after = open.stat().unwrap();
    assert_eq!(after.mode, Mode::OWNER_RW);
    assert_eq!(after.ctime, before.ctime, "nothing changed the segment");
    // A new segment gets exactly the mode asked for (no umask for SysV IPC), and 0600 by default.
    let exact = OpenOptions::new()
        .create(true)
        .size(64)
        .mode(Mode::from_bits_truncate(0o640))
        .remove_on_close(true)
        .open()
        .unwrap();
    assert_eq!(exact.stat().unwrap().mode.bits(), 0o640);
    let default = OpenOptions::new()
        .create(true)
        .size(64)
        .remove_on_close(true)
        .open()
        .unwrap();
    assert_eq!(default.stat().unwrap().mode.bits(), 0o600);
}

/// How many pages of `len` bytes at `addr` are resident now (mincore).
fn resident_pages(addr: *mut u8, len: usize) -> usize {
    let page = 4096;
    let mut vec = vec![0u8; len.div_ceil(page)];
    // SAFETY: addr..addr+len is an attachment of this process; vec has a byte per page.
    assert_eq!(
        unsafe { libc::mincore(addr.cast(), len, vec.as_mut_ptr()) },
        0
    );
    vec.iter().filter(|&&byte| byte & 1 != 0).count()
}

#[test]
fn prefault_populates_every_page_at_open_and_changes_no_byte() {
    let len = 16 << 20;
    let key = unique_key(line!());
    let plain = keyed_segment(key, len);
    assert_eq!(
        resident_pages(plain.as_ptr(), len),
        0,
        "a new segment has no page yet"
    );
    let mut writer = OpenOptions::new().key(key).open().unwrap();
    writer.write(len - 1, &[0xAB]).unwrap();
    let prefaulted = OpenOptions::new().key(key).prefault(true).open().unwrap();
    assert_eq!(
        resident_pages(prefaulted.as_ptr(), len),
        len / 4096,
        "every page is in"
    );
    let mut byte = [0u8];
    prefaulted.read(len - 1, &mut byte).unwrap();
    assert_eq!(byte[0], 0xAB, "no byte changed");
    let reader = OpenOptions::new()
        .key(key)
        .read_only(true)
        .prefault(true)
        .open()
        .unwrap();
    assert_eq!(resident_pages(reader.as_ptr(), len), len / 4096);
}
