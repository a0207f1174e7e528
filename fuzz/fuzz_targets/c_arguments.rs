//! Coverage-guided fuzzing of how rshm reads arguments from C, without
//! syscalls: flag splitting, command decoding, the description of every call
//! and reason (messages and traces), status lines, and the checks of open
//! options. Run with `make fuzz-c` (cargo fuzz, nightly).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rshm::error::kind::status_line_with_nul;
use rshm::error::{Arg, Call, PathText};
use rshm::{msg, Command, ErrorKind, GetFlags, Key, Mode, OpenOptions};

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
    opts_size: usize,
    opts_mode: u32,
    create: bool,
    exclusive: bool,
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
    let get = Call::Shmget {
        key: input.key,
        size: input.size,
        shmflg: input.shmflg,
    }
    .to_string();
    assert!(get.starts_with("shmget(key=0x") && get.ends_with(')'));
    let at = Call::Shmat {
        shmid: input.shmid,
        addr: input.addr,
        shmflg: input.shmat_flags,
    };
    assert!(at.to_string().starts_with("shmat(shmid="));
    assert!(Call::Shmdt { addr: input.addr }
        .to_string()
        .starts_with("shmdt(shmaddr="));
    let ctl = Call::Shmctl {
        shmid: input.shmid,
        cmd: input.cmd,
        buf: input.addr,
    };
    assert!(ctl.to_string().starts_with("shmctl(shmid="));
    let ftok = Call::Ftok {
        path: PathText::new(&input.path),
        proj_id: input.proj_id,
    }
    .to_string();
    assert!(
        ftok.starts_with("ftok(path=\"") && ftok.is_ascii(),
        "{ftok}"
    );
    let reason = msg!(
        "{} {} {}",
        Arg::Sum(input.size as u64, input.addr as u64),
        Arg::ShmgetFlags(input.shmflg),
        Key::from_raw(input.key)
    );
    assert!(!reason.to_string().is_empty());

    // Every int names a status (unknown ones say so), NUL-terminated once.
    let line = status_line_with_nul(input.status);
    assert!(line.ends_with('\0') && line.matches('\0').count() == 1);

    // Open options are checked without a syscall; a refusal says why.
    let mut options = OpenOptions::new();
    options
        .key(Key::from_raw(input.key))
        .size(input.opts_size)
        .mode(Mode::from_bits_retain(input.opts_mode))
        .create(input.create)
        .exclusive(input.exclusive);
    match options.validate() {
        Ok(()) => assert!(input.opts_mode & !0o777 == 0, "a mode beyond 0777 accepted"),
        Err(error) => {
            assert_eq!(error.kind(), ErrorKind::InvalidArgument);
            assert!(!error.reason().to_string().is_empty());
        }
    }
});
