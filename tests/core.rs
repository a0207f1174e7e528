//! The Rust API against the real kernel. `make test` runs these in a private
//! IPC namespace; run alone, each test removes what it creates, even on failure.

use rshm::{AttachFlags, Error, GetFlags, Key, Mode, Segment};
use std::time::Duration;

/// Removes the segment when the test ends, passed or failed.
struct Removing(Segment);

impl Drop for Removing {
    fn drop(&mut self) {
        let _ = self.0.remove();
    }
}

fn private(size: usize) -> Removing {
    Removing(
        Segment::get(Key::PRIVATE, size, GetFlags::CREATE, Mode::OWNER_RW)
            .expect("create a private segment"),
    )
}

/// A key no other test uses: from the test's line and this process.
fn unique_key(line: u32) -> Key {
    Key(0x5200_0000 | ((std::process::id() as i32 & 0xfff) << 12) | line as i32 & 0xfff)
}

/// Runs `child` in a forked process and returns its exit code (a hang of more
/// than 10 s is killed and fails).
fn in_child(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork in a test; the child runs `child`, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm and _exit are safe to call in the child.
        unsafe { libc::alarm(10) };
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: pid is our child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status),
        "child died of signal {} (a hang ends with SIGALRM)",
        libc::WTERMSIG(status)
    );
    libc::WEXITSTATUS(status)
}

fn become_nobody() {
    // SAFETY: plain syscalls in a forked child.
    unsafe {
        assert_eq!(libc::setgid(65534), 0);
        assert_eq!(libc::setuid(65534), 0);
    }
}

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
    assert!(
        matches!(
            error,
            Error::SizeMismatch {
                requested: 8192,
                actual: 4096,
                ..
            }
        ),
        "{error:?}"
    );
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
    assert!(matches!(error, Error::Exists { .. }), "{error:?}");
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
    assert!(matches!(error, Error::NotFound { .. }), "{error:?}");
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
    assert!(matches!(error, Error::InvalidArgument { .. }), "{error:?}");
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
    let records = rshm::registry::live_attachments();
    assert!(records
        .iter()
        .any(|&(addr, r)| addr == writer.as_ptr() as usize
            && r.shmid == segment.0.id()
            && r.size == 4096));
    assert!(records
        .iter()
        .any(|&(addr, r)| addr == reader.as_ptr() as usize && r.read_only));
    let reader_addr = reader.as_ptr() as usize;
    drop(reader);
    writer.detach().unwrap();
    assert_eq!(segment.0.stat().unwrap().nattch, 0);
    assert!(!rshm::registry::live_attachments()
        .iter()
        .any(|&(addr, _)| addr == reader_addr));
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
    let error = unsafe { rshm::detach_raw(inside.cast()) }.unwrap_err();
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
    let limits = rshm::control::limits().unwrap();
    assert_eq!(limits.min_segment_size, 1);
    assert!(limits.max_segments >= 1);
    let usage = rshm::control::usage().unwrap();
    assert!(usage.segments >= 1);
    assert!(usage.total_pages >= 3);
}

#[test]
fn stat_index_finds_every_segment() {
    let segment = private(1234);
    let usage = rshm::control::usage().unwrap();
    let found = (0..=usage.highest_index)
        .filter_map(|index| Segment::stat_index(index).ok())
        .find(|(found, _)| *found == segment.0)
        .expect("the segment is in the table");
    assert_eq!(found.1.size, 1234);
}

#[test]
fn another_user_is_refused_with_the_kernels_errno() {
    let segment = private(64);
    let id = segment.0.id();
    let code = in_child(move || {
        become_nobody();
        let segment = Segment::from_id(id);
        let stat = segment.stat().unwrap_err();
        let attach = segment.attach(AttachFlags::READ_ONLY).unwrap_err();
        let set = segment.set(65534, 65534, Mode::all()).unwrap_err();
        let remove = segment.remove().unwrap_err();
        let ok = matches!(stat, Error::PermissionDenied { .. })
            && stat.errno() == libc::EACCES
            && attach.errno() == libc::EACCES
            && attach
                .to_string()
                .contains("does not grant the caller read permission")
            && set.errno() == libc::EPERM
            && set
                .to_string()
                .contains("IPC_SET needs the caller to be the owner or creator")
            && remove.errno() == libc::EPERM;
        if ok {
            0
        } else {
            eprintln!("{stat}\n{attach}\n{set}\n{remove}");
            1
        }
    });
    assert_eq!(code, 0);
    assert_eq!(
        segment.0.stat().unwrap().mode,
        Mode::OWNER_RW,
        "nothing changed"
    );
}

#[test]
fn fork_while_other_threads_are_inside_rshm_does_not_deadlock() {
    let segment = private(4096);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            let segment = segment.0;
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let attachment = segment.attach(AttachFlags::empty()).unwrap();
                    drop(attachment);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..50 {
        let id = segment.0.id();
        let code = in_child(move || {
            let attachment = Segment::from_id(id).attach(AttachFlags::empty()).unwrap();
            let listed = rshm::registry::live_attachments()
                .iter()
                .any(|&(addr, _)| addr == attachment.as_ptr() as usize);
            attachment.detach().unwrap();
            i32::from(!listed)
        });
        assert_eq!(code, 0);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for thread in busy {
        thread.join().unwrap();
    }
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
