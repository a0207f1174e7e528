//! Many threads attaching, writing, reading and detaching the same and
//! different segments, through the handle API and the libc-compatible calls at
//! once; afterwards the registry must agree with the kernel exactly.

use rshm::{OpenOptions, Segment};
use rshm_capi::libc::{rshm_shmat, rshm_shmctl, rshm_shmdt, rshm_shmget};
use std::sync::Barrier;

const THREADS: usize = 12;
const ROUNDS: usize = 300;

#[test]
fn threads_on_shared_and_own_segments_leave_the_registry_consistent() {
    let shared = OpenOptions::new()
        .create(true)
        .size(THREADS * 256)
        .remove_on_close(true)
        .open()
        .unwrap();
    let shared_id = shared.id();
    let barrier = Barrier::new(THREADS + 1);
    let before = rshm::attachments_in_this_process().len();
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (region, barrier) = (shared.region(), &barrier);
            scope.spawn(move || {
                let block = [t as u8; 256];
                let mut back = [0u8; 256];
                let own = rshm_shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600);
                assert!(own >= 0);
                for round in 0..ROUNDS {
                    // The shared segment, through the handle's memory (as rshm_write and
                    // rshm_read use it) and through another attachment of it.
                    // SAFETY: the handle outlives the scope; each thread uses its own 256 bytes.
                    unsafe {
                        region.write_from(t * 256, block.as_ptr(), 256).unwrap();
                        region.read_into(t * 256, back.as_mut_ptr(), 256).unwrap();
                    }
                    assert_eq!(back, block);
                    let extra = rshm_shmat(shared_id, std::ptr::null(), 0);
                    assert_ne!(extra as isize, -1);
                    // SAFETY: the extra attachment maps the shared segment: byte t*256 is this thread's.
                    assert_eq!(unsafe { *(extra as *const u8).add(t * 256) }, t as u8);
                    // This thread's own segment, through the libc-compatible calls.
                    let mine = rshm_shmat(own, std::ptr::null(), 0) as *mut u8;
                    // SAFETY: the segment is 4096 bytes and only this thread uses it.
                    unsafe { mine.add(round % 4096).write(round as u8) };
                    assert_eq!(
                        rshm_shmdt(mine.wrapping_add(1).cast()),
                        -1,
                        "an inside address is refused"
                    );
                    assert_eq!(rshm_shmdt(mine.cast()), 0);
                    assert_eq!(rshm_shmdt(extra), 0);
                    if round == ROUNDS / 2 {
                        // Everyone holds exactly the handle's attachment of the shared segment now... or
                        // an extra one of their own; check the count once all threads are here.
                        barrier.wait();
                        barrier.wait();
                    }
                }
                assert_eq!(rshm_shmctl(own, libc::IPC_RMID, std::ptr::null_mut()), 0);
            });
        }
        barrier.wait();
        // Mid-run, with every thread parked between rounds: the registry and the kernel agree.
        let nattch = Segment::from_id(shared_id).stat().unwrap().nattch;
        assert_eq!(
            rshm::Segment::from_id(shared_id).attachments_in_this_process() as u64,
            nattch
        );
        assert_eq!(
            nattch, 1,
            "only the handle's attachment is live between rounds"
        );
        barrier.wait();
    });
    assert_eq!(
        rshm::attachments_in_this_process().len(),
        before,
        "every detach was recorded"
    );
    assert_eq!(
        rshm::Segment::from_id(shared_id).attachments_in_this_process(),
        1
    );
    assert_eq!(Segment::from_id(shared_id).stat().unwrap().nattch, 1);
}
