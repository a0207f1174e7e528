//! Coverage-guided fuzzing of how rshm reads arguments from C, without
//! syscalls: flag splitting, command decoding, the description of every call
//! (messages and traces), status names, and `rshm_options` parsing and checks.
//! Run with `make fuzz-c` (cargo fuzz, nightly).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rshm::describe::{FtokCall, FtokPath, ShmatCall, ShmctlCall, ShmdtCall, ShmgetCall};
use rshm::ffi::handle::{options_from_c, rshm_options, rshm_status_str, StatusCode};
use rshm::{Command, GetFlags, Key};
use std::ffi::CStr;

#[derive(Arbitrary, Debug)]
struct Input {
    key: i32,
    size: usize,
    shmflg: i32,
    shmat_flags: i32,
    shmid: i32,
    cmd: i32,
    addr: usize,
    proj_id: i32,
    path: Vec<u8>,
    status: i32,
    opts_key: i32,
    opts_size: usize,
    opts_mode: u32,
    opts_flags: u32,
}

fuzz_target!(|input: Input| {
    // shmget's flags split into flags and mode, losing and inventing no bit.
    let (flags, mode) = GetFlags::split_c(input.shmflg);
    assert_eq!((flags.bits() | mode.bits()) as i32, input.shmflg);
    assert_eq!(flags.bits() & mode.bits(), 0);

    // A known command round-trips; an unknown one is rejected.
    if let Some(command) = Command::from_raw(input.cmd) {
        assert_eq!(command.raw(), input.cmd);
    }

    // Every call can be described, whatever its arguments.
    let key = Key(input.key);
    let get = ShmgetCall { key, size: input.size, shmflg: input.shmflg }.to_string();
    assert!(get.starts_with("shmget(key=0x") && get.ends_with(')'));
    let at = ShmatCall { shmid: input.shmid, shmaddr: input.addr as *const libc::c_void, shmflg: input.shmat_flags };
    assert!(at.to_string().starts_with("shmat(shmid="));
    assert!(ShmdtCall { shmaddr: input.addr as *const libc::c_void }.to_string().starts_with("shmdt(shmaddr="));
    let ctl = ShmctlCall { shmid: input.shmid, cmd: input.cmd, buf: input.addr as *const libc::c_void };
    assert!(ctl.to_string().starts_with("shmctl(shmid="));
    let mut path = input.path.clone();
    path.retain(|&b| b != 0);
    path.push(0);
    let path = CStr::from_bytes_with_nul(&path).unwrap();
    let ftok = FtokCall { path: FtokPath::Text(path), proj_id: input.proj_id }.to_string();
    assert!(ftok.starts_with("ftok(path=\"") && ftok.is_ascii(), "{ftok}");

    // Every int names a status (unknown ones say so).
    // SAFETY: rshm_status_str returns a static NUL-terminated string.
    let name = unsafe { CStr::from_ptr(rshm_status_str(StatusCode(input.status))) };
    assert!(!name.to_bytes().is_empty());

    // rshm_options parse and check (as rshm_open does) without a syscall (path NULL); a refusal says why.
    let opts = rshm_options {
        path: std::ptr::null(),
        proj_id: input.proj_id,
        key: input.opts_key,
        size: input.opts_size,
        mode: input.opts_mode,
        flags: input.opts_flags,
    };
    match options_from_c(&opts).and_then(|options| options.validate()) {
        Ok(_) => {
            assert!(input.opts_flags & !0x3f == 0, "undefined flags accepted");
            assert!(input.opts_mode & !0o777 == 0, "a mode beyond 0777 accepted");
        }
        Err(error) => {
            assert_eq!(error.errno(), libc::EINVAL);
            assert!(!error.reason().is_empty());
        }
    }
});
