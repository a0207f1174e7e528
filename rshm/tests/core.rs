//! The Rust API against the real kernel. `make test` runs these in a private
//! IPC namespace; run alone, each test removes what it creates, even on failure.
//! Tests that fork live in processes.rs: a child holds all of its parent's
//! attachments, which would disturb the attach counts checked here.

mod common;

use common::{private, unique_key, Removing};
use rshm::{AttachFlags, ErrorKind, GetFlags, Key, Mode, Segment};

#[test]
fn create_stat_and_remove() {
    let segment = private(100);
    let info = segment.0.stat().unwrap();
    assert_eq!(info.size, 100);
    assert_eq!(info.mode, Mode::OWNER_RW);
    assert_eq!(info.cpid, std::process::id() as i32);
    assert_eq!(info.nattch, 0);
    assert!(!info.marked_for_removal);
    segment.0.remove().unwrap();
    let error = segment.0.stat().unwrap_err();
    assert_eq!(error.errno(), libc::EINVAL);
    let id = segment.0.id();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("shmctl(shmid={id}, cmd=IPC_STAT, buf=0x")),
        "{message}"
    );
    assert!(
        message.ends_with(&format!("): no segment has id {id} (EINVAL)")),
        "{message}"
    );
}

#[test]
fn larger_size_than_existing_is_size_mismatch_naming_the_real_size() {
    let key = unique_key(line!());
    let _segment = Removing(Segment::create(key, 4096, Mode::OWNER_RW).unwrap());
    let error = Segment::get(key, 8192, GetFlags::CREATE, Mode::OWNER_RW).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::SizeMismatch, "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("shmget(key={key}, size=8192, flags=IPC_CREAT|0600): a segment with this key exists with 4096 bytes, fewer than requested (EINVAL)")
    );
}

#[test]
fn create_on_a_taken_key_is_exists_and_open_existing_finds_it() {
    let key = unique_key(line!());
    let segment = Removing(Segment::create(key, 64, Mode::OWNER_RW).unwrap());
    let error = Segment::create(key, 64, Mode::OWNER_RW).unwrap_err();
    assert!((error.kind() == ErrorKind::Exists), "{error:?}");
    assert!(
        error
            .to_string()
            .contains(&format!("(id {})", segment.0.id())),
        "{error}"
    );
    assert_eq!(Segment::open_existing(key).unwrap(), segment.0);
}

#[test]
fn missing_key_is_not_found_and_creates_nothing() {
    let key = unique_key(line!());
    let error = Segment::open_existing(key).unwrap_err();
    assert!((error.kind() == ErrorKind::NotFound), "{error:?}");
    assert_eq!(
        Segment::open_existing(key).unwrap_err().errno(),
        libc::ENOENT
    );
}

#[test]
fn size_zero_and_beyond_shmmax_are_invalid_with_the_limit_named() {
    let error = Segment::get(Key::PRIVATE, 0, GetFlags::CREATE, Mode::OWNER_RW).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("a new segment needs a size of at least 1 byte (EINVAL)"),
        "{error}"
    );
    let error =
        Segment::get(Key::PRIVATE, usize::MAX, GetFlags::CREATE, Mode::OWNER_RW).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("exceeds the largest segment allowed (kernel.shmmax = "),
        "{error}"
    );
}

#[test]
fn undefined_flag_bits_are_refused_before_the_kernel_sees_them() {
    let key = unique_key(line!());
    let flags = GetFlags::CREATE | GetFlags::from_bits_retain(0o20000);
    let error = Segment::get(key, 64, flags, Mode::OWNER_RW).unwrap_err();
    assert!((error.kind() == ErrorKind::InvalidArgument), "{error:?}");
    assert_eq!(
        Segment::open_existing(key).unwrap_err().errno(),
        libc::ENOENT,
        "nothing was created"
    );
    // The same call as glibc makes it goes through (the kernel ignores the bit).
    let segment =
        Segment::get_with(key, 64, flags, Mode::OWNER_RW, rshm::Validation::LikeGlibc).unwrap();
    segment.remove().unwrap();
}

#[test]
fn attachment_reads_what_was_written_and_detaches_on_drop() {
    let segment = private(4096);
    let writer = segment.0.attach(AttachFlags::empty()).unwrap();
    let reader = segment.0.attach(AttachFlags::READ_ONLY).unwrap();
    assert!(reader.is_read_only());
    assert_eq!(segment.0.stat().unwrap().nattch, 2);
    // SAFETY: 5 bytes fit the 4096-byte segment, and only this thread uses it.
    unsafe { writer.as_ptr().copy_from(b"hello".as_ptr(), 5) };
    let mut read = [0u8; 5];
    // SAFETY: as above.
    unsafe { reader.as_ptr().copy_to(read.as_mut_ptr(), 5) };
    assert_eq!(&read, b"hello");
    let records = rshm::attachments_in_this_process();
    assert!(records.iter().any(|a| a.address == writer.as_ptr() as usize
        && a.segment == segment.0
        && a.size == 4096));
    assert!(records
        .iter()
        .any(|a| a.address == reader.as_ptr() as usize && a.read_only));
    let reader_addr = reader.as_ptr() as usize;
    drop(reader);
    writer.detach().unwrap();
    assert_eq!(segment.0.stat().unwrap().nattch, 0);
    assert!(!rshm::attachments_in_this_process()
        .iter()
        .any(|a| a.address == reader_addr));
}

#[test]
fn removed_segment_lives_until_its_last_detach() {
    let segment = private(64);
    let attachment = segment.0.attach(AttachFlags::empty()).unwrap();
    segment.0.remove().unwrap();
    let info = segment.0.stat().unwrap();
    assert!(info.marked_for_removal);
    assert_eq!(info.key, Key::PRIVATE);
    drop(attachment);
    assert_eq!(segment.0.stat().unwrap_err().errno(), libc::EINVAL);
}

#[test]
fn detach_inside_a_segment_names_its_start() {
    let segment = private(3 * 4096);
    let attachment = segment.0.attach(AttachFlags::empty()).unwrap();
    let inside = attachment.as_ptr().wrapping_add(4096 + 7);
    // SAFETY: the kernel refuses an address that does not start a segment, so nothing is unmapped.
    let error = unsafe { rshm::detach(inside.cast()) }.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "shmdt(shmaddr={inside:p}): {inside:p} is inside segment {} attached at {:p}; pass the start address (EINVAL)",
            segment.0.id(),
            attachment.as_ptr()
        )
    );
    assert_eq!(
        segment.0.stat().unwrap().nattch,
        1,
        "the segment is still attached"
    );
}

#[test]
fn set_lock_unlock_as_owner() {
    let segment = private(64);
    segment
        .0
        .set(0, 0, Mode::from_bits_truncate(0o640))
        .unwrap();
    assert_eq!(segment.0.stat().unwrap().mode.bits(), 0o640);
    segment.0.lock().unwrap();
    assert!(segment.0.stat().unwrap().locked);
    segment.0.unlock().unwrap();
    assert!(!segment.0.stat().unwrap().locked);
}

#[test]
fn limits_and_usage_describe_the_namespace() {
    let _segment = private(10_000);
    let limits = rshm::limits().unwrap();
    assert_eq!(limits.min_segment_size, 1);
    assert!(limits.max_segments >= 1);
    let usage = rshm::usage().unwrap();
    assert!(usage.segments >= 1);
    assert!(usage.total_pages >= 3);
}

#[test]
fn stat_index_finds_every_segment() {
    let segment = private(1234);
    let usage = rshm::usage().unwrap();
    let found = (0..=usage.highest_index)
        .filter_map(|index| Segment::stat_index(index).ok())
        .find(|(found, _)| *found == segment.0)
        .expect("the segment is in the table");
    assert_eq!(found.1.size, 1234);
}

#[test]
fn ftok_matches_glibc_for_many_files_and_proj_ids() {
    let dir = std::env::temp_dir();
    let mut paths: Vec<std::path::PathBuf> = vec![
        dir.clone(),
        "/".into(),
        "/etc/passwd".into(),
        "/dev/null".into(),
    ];
    paths.extend(
        std::fs::read_dir("/usr/bin")
            .unwrap()
            .take(200)
            .map(|entry| entry.unwrap().path()),
    );
    for path in paths {
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        for proj_id in [1, 65, 0x7f, 0x80, 0xff, 0x141, -1, i32::MAX] {
            // SAFETY: c_path is a valid C string.
            let glibc = unsafe { libc::ftok(c_path.as_ptr(), proj_id) };
            let ours = Key::ftok(&path, proj_id).map(Key::raw);
            assert_eq!(
                ours.as_ref().ok(),
                Some(&glibc),
                "{path:?} {proj_id}: {ours:?}"
            );
        }
    }
}
