//! Behaviour across processes: another user, and fork while other threads
//! are inside rshm. Its own test binary, so that no child holds attachments of
//! the single-process tests in core.rs.

mod common;

use common::{become_nobody, in_child, private, serial};
use rshm::{AttachFlags, ErrorKind, Mode, Segment};
use std::time::Duration;

#[test]
fn another_user_is_refused_with_the_kernels_errno() {
    let _serial = serial();
    let segment = private(64);
    let id = segment.0.id();
    let code = in_child(move || {
        become_nobody();
        let segment = Segment::from_id(id);
        let stat = segment.stat().unwrap_err();
        let attach = segment.attach(AttachFlags::READ_ONLY).unwrap_err();
        let set = segment.set(65534, 65534, Mode::all()).unwrap_err();
        let remove = segment.remove().unwrap_err();
        let ok = (stat.kind() == ErrorKind::PermissionDenied)
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
    let _serial = serial();
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
            let listed = rshm::attachments_in_this_process()
                .iter()
                .any(|a| a.address == attachment.as_ptr() as usize);
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
fn verify_owner_refuses_a_segment_squatted_by_another_user() {
    let _serial = serial();
    let key = common::unique_key(line!());
    let code = in_child(move || {
        become_nobody();
        let made = Segment::get(
            key,
            4096,
            rshm::GetFlags::CREATE,
            Mode::from_bits_truncate(0o666),
        );
        i32::from(made.is_err())
    });
    assert_eq!(code, 0, "nobody squats the key");
    let squatted = Segment::open_existing(key).unwrap();
    let _cleanup = common::Removing(squatted);
    let error = rshm::OpenOptions::new()
        .key(key)
        .create(true)
        .size(4096)
        .verify_owner(true)
        .open()
        .unwrap_err();
    assert!((error.kind() == ErrorKind::OwnerMismatch), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("was created by uid 65534 and is owned by uid 65534"),
        "{error}"
    );
    assert_eq!(
        Segment::open_existing(key).unwrap(),
        squatted,
        "the squatter's segment is untouched"
    );
}

#[test]
fn exec_after_attach_detaches_and_the_new_image_starts_clean() {
    let _serial = serial();
    let segment = private(4096);
    let id = segment.0.id();
    let attachment = segment.0.attach(AttachFlags::empty()).unwrap();
    assert_eq!(segment.0.stat().unwrap().nattch, 1);
    // SAFETY: fork in a test; the child only attaches and then execs.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // The child holds the parent's attachment, attaches once more, then execs a
        // program that outlives these checks: exec drops both.
        let _mine = Segment::from_id(id).attach(AttachFlags::empty());
        let argv = [c"sleep".as_ptr(), c"2".as_ptr(), std::ptr::null()];
        // SAFETY: valid NUL-terminated arguments.
        unsafe { libc::execv(c"/bin/sleep".as_ptr(), argv.as_ptr()) };
        unsafe { libc::_exit(127) };
    }
    // Wait until the child has exec'd: then only the parent's attachment is left.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let info = segment.0.stat().unwrap();
        if info.nattch == 1 && info.lpid == pid {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "exec did not detach: nattch {}",
            info.nattch
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: pid is our child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    drop(attachment);
    assert_eq!(segment.0.stat().unwrap().nattch, 0);
}
