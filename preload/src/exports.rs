//! The five libc functions, exported under their own names so that they take
//! over from glibc's in any binary (versioned references included). Each runs
//! rshm's one libc-compatible implementation (`rshm_compat`) with the
//! validation the environment chose, and adds only the trace and the leak
//! bookkeeping; errno and results are glibc's.

use crate::settings;
use crate::{leaks, trace};
use libc::{c_char, c_int, c_void, key_t, shmid_ds};
use rshm::error::{Call, PathText};
use rshm::{Errno, Key};
use trace::Value;

/// The preload's boundary: the failure was traced inside the body; errno is set here.
fn errno_call<T: Copy>(failed: T, body: impl FnOnce() -> rshm::Result<T>) -> T {
    rshm_compat::boundary::errno_call(failed, body, |_| {})
}

#[no_mangle]
pub extern "C" fn ftok(path: *const c_char, proj_id: c_int) -> key_t {
    errno_call(-1, || {
        // SAFETY: path comes from the caller as for ftok(3); the kernel checks it.
        let result = unsafe { rshm_compat::ftok(path, proj_id, settings::validation()) };
        if trace::enabled() {
            let errno = result.as_ref().err().map(|error| Errno::new(error.errno()));
            // SAFETY: path was just handed to stat(2), which gave errno (or the strict check
            // refused it first, in which case it was read as a string already).
            let path = unsafe { PathText::after_stat(path, errno) };
            trace::result(&Call::Ftok { path, proj_id }, &result, "-1", |&key| {
                Value::Hex(key as u32)
            });
        }
        result
    })
}

#[no_mangle]
pub extern "C" fn shmget(key: key_t, size: usize, shmflg: c_int) -> c_int {
    errno_call(-1, || {
        let result = rshm_compat::shmget(key, size, shmflg, settings::validation());
        let call = Call::Shmget { key, size, shmflg };
        trace::result(&call, &result, "-1", |&id| Value::Int(id.into()));
        if let (true, Ok(id)) = (settings::leak_check(), &result) {
            leaks::note(*id, Key::from_raw(key), size, shmflg);
        }
        result
    })
}

#[no_mangle]
pub extern "C" fn shmat(shmid: c_int, shmaddr: *const c_void, shmflg: c_int) -> *mut c_void {
    errno_call(usize::MAX as *mut c_void, || {
        // SAFETY: the address range is the caller's, as with shmat(2).
        let result = unsafe { rshm_compat::shmat(shmid, shmaddr, shmflg, settings::validation()) };
        let call = Call::Shmat {
            shmid,
            addr: shmaddr as usize,
            shmflg,
        };
        trace::result(&call, &result, "(void *)-1", |&addr| Value::Pointer(addr));
        result
    })
}

#[no_mangle]
pub extern "C" fn shmdt(shmaddr: *const c_void) -> c_int {
    errno_call(-1, || {
        // SAFETY: the caller gives up the mapping, as with shmdt(2).
        let result = unsafe { rshm_compat::shmdt(shmaddr) };
        trace::result(
            &Call::Shmdt {
                addr: shmaddr as usize,
            },
            &result,
            "-1",
            |&ret| Value::Int(ret.into()),
        );
        result
    })
}

#[no_mangle]
pub extern "C" fn shmctl(shmid: c_int, cmd: c_int, buf: *mut shmid_ds) -> c_int {
    errno_call(-1, || {
        // SAFETY: buf goes to the kernel as with shmctl(2); bad pointers come back as EFAULT.
        let result = unsafe { rshm_compat::shmctl(shmid, cmd, buf) };
        let call = Call::Shmctl {
            shmid,
            cmd,
            buf: buf as usize,
        };
        trace::result(&call, &result, "-1", |&ret| Value::Int(ret.into()));
        result
    })
}
