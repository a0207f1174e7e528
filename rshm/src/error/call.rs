//! `Call`: the call a failure happened in, with its arguments, written as C
//! code reads it: `shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600)`.
//! A call keeps its arguments as plain values (a path inline, cut if very
//! long), so recording one allocates nothing and it is written out only when
//! displayed. The preload's trace writes its lines with these too.

use super::c_values::{
    write_key, write_pointer, write_shmat_flags, write_shmctl_command, write_shmget_flags,
};
use super::errno::Errno;
use super::message::Message;
use super::sysv_values::{
    semctl_arg_field, write_command, write_get_flags, write_msg_flags, MSGCTL_COMMANDS,
    SEMCTL_COMMANDS,
};
use std::ffi::{c_char, CStr};
use std::fmt;

/// How many bytes of a path a call keeps; a longer one is shown cut, with `...`.
pub const PATH_TEXT_CAPACITY: usize = 96;

/// A path argument as far as rshm may show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathText {
    /// NULL.
    Null,
    /// Its bytes (the first `PATH_TEXT_CAPACITY` of them, `cut` when there were more).
    Text {
        bytes: [u8; PATH_TEXT_CAPACITY],
        len: u8,
        cut: bool,
    },
    /// A pointer the kernel could not read (EFAULT): shown, never read.
    Unreadable(usize),
    /// Longer than PATH_MAX (and maybe not terminated): not read.
    TooLong,
}

impl PathText {
    /// The text of `path`.
    pub fn new(path: &[u8]) -> PathText {
        let len = path.len().min(PATH_TEXT_CAPACITY);
        let mut bytes = [0; PATH_TEXT_CAPACITY];
        bytes[..len].copy_from_slice(&path[..len]);
        PathText::Text {
            bytes,
            len: len as u8,
            cut: path.len() > len,
        }
    }

    /// A C path argument as far as it may be read, given what stat(2) said of
    /// it: `None` when stat succeeded, or its errno.
    ///
    /// # Safety
    /// `path` is NULL or was just handed to stat(2), which gave `errno`.
    pub unsafe fn after_stat(path: *const c_char, errno: Option<Errno>) -> PathText {
        match errno.map(Errno::raw) {
            _ if path.is_null() => PathText::Null,
            Some(libc::EFAULT) => PathText::Unreadable(path as usize),
            // The kernel stopped at PATH_MAX without a NUL: do not read past what it read.
            Some(libc::ENAMETOOLONG) => PathText::TooLong,
            // SAFETY: the kernel copied the whole string in, NUL included.
            _ => PathText::new(unsafe { CStr::from_ptr(path) }.to_bytes()),
        }
    }
}

impl fmt::Display for PathText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PathText::Null => f.write_str("NULL"),
            PathText::Text { bytes, len, cut } => {
                let dots = if cut { "..." } else { "" };
                write!(f, "\"{}{dots}\"", bytes[..len as usize].escape_ascii())
            }
            PathText::Unreadable(addr) => write_pointer(f, addr),
            PathText::TooLong => f.write_str("<longer than PATH_MAX>"),
        }
    }
}

/// Where a key comes from, as an open call shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyText {
    /// `key=0x41012345`.
    Key(i32),
    /// `path="/run/app", proj_id=65`.
    Path(PathText, i32),
}

/// Named flags, as `CREATE|EXCLUSIVE` (or `0`): the bits of `bits` index `names`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagNames {
    pub bits: u32,
    pub names: &'static [&'static str],
}

impl fmt::Display for FlagNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut set = self
            .names
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.bits & (1 << i) != 0)
            .map(|(_, name)| name);
        match set.next() {
            None => f.write_str("0"),
            Some(first) => {
                f.write_str(first)?;
                set.try_for_each(|name| write!(f, "|{name}"))
            }
        }
    }
}

/// The call a failure happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Not named yet: the C boundary names the export it happened in.
    Unnamed,
    /// An export of the C face, by name: `rshm_open`.
    Export(&'static str),
    /// `ftok(path="shmfile", proj_id=65)`.
    Ftok { path: PathText, proj_id: i32 },
    /// `shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600)`.
    Shmget { key: i32, size: usize, shmflg: i32 },
    /// `shmat(shmid=5, shmaddr=NULL, flags=SHM_RDONLY)`.
    Shmat {
        shmid: i32,
        addr: usize,
        shmflg: i32,
    },
    /// `shmdt(shmaddr=0x7f...)`.
    Shmdt { addr: usize },
    /// `shmctl(shmid=5, cmd=IPC_RMID, buf=NULL)`; an unknown cmd is shown as its number.
    Shmctl { shmid: i32, cmd: i32, buf: usize },
    /// `semget(key=0x41012345, nsems=3, flags=IPC_CREAT|0600)`.
    Semget { key: i32, nsems: i32, semflg: i32 },
    /// `semop(semid=3, sops=0x7f..., nsops=2)`, or `semtimedop(..., timeout=...)`
    /// when `timeout` is given (its address, 0 for NULL).
    Semop {
        semid: i32,
        sops: usize,
        nsops: usize,
        timeout: Option<usize>,
    },
    /// `semctl(semid=3, semnum=0, cmd=SETVAL, arg.val=1)`: the fourth
    /// argument shown as the field `cmd` reads, or not at all.
    Semctl {
        semid: i32,
        semnum: i32,
        cmd: i32,
        arg: usize,
    },
    /// `msgget(key=0x41012345, flags=IPC_CREAT|0600)`.
    Msgget { key: i32, msgflg: i32 },
    /// `msgsnd(msqid=3, msgp=0x7f..., msgsz=100, flags=IPC_NOWAIT)`.
    Msgsnd {
        msqid: i32,
        msgp: usize,
        msgsz: usize,
        msgflg: i32,
    },
    /// `msgrcv(msqid=3, msgp=0x7f..., msgsz=100, msgtyp=-5, flags=0)`.
    Msgrcv {
        msqid: i32,
        msgp: usize,
        msgsz: usize,
        msgtyp: i64,
        msgflg: i32,
    },
    /// `msgctl(msqid=3, cmd=IPC_RMID, buf=NULL)`.
    Msgctl { msqid: i32, cmd: i32, buf: usize },
    /// `NAME(key=0x41012345, size=4096, mode=0600, flags=CREATE|EXCLUSIVE)`.
    Open {
        name: &'static str,
        key: KeyText,
        size: Option<usize>,
        mode: u32,
        flags: FlagNames,
    },
    /// Any other call, e.g. `write(offset=60, len=21)`.
    Other(Message),
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Call::Unnamed => f.write_str("rshm"),
            Call::Export(name) => f.write_str(name),
            Call::Ftok { path, proj_id } => write!(f, "ftok(path={path}, proj_id={proj_id})"),
            Call::Shmget { key, size, shmflg } => {
                f.write_str("shmget(key=")?;
                write_key(f, key)?;
                write!(f, ", size={size}, flags=")?;
                write_shmget_flags(f, shmflg)?;
                f.write_str(")")
            }
            Call::Shmat {
                shmid,
                addr,
                shmflg,
            } => {
                write!(f, "shmat(shmid={shmid}, shmaddr=")?;
                write_pointer(f, addr)?;
                f.write_str(", flags=")?;
                write_shmat_flags(f, shmflg)?;
                f.write_str(")")
            }
            Call::Shmdt { addr } => {
                f.write_str("shmdt(shmaddr=")?;
                write_pointer(f, addr)?;
                f.write_str(")")
            }
            Call::Shmctl { shmid, cmd, buf } => {
                write!(f, "shmctl(shmid={shmid}, cmd=")?;
                write_shmctl_command(f, cmd)?;
                f.write_str(", buf=")?;
                write_pointer(f, buf)?;
                f.write_str(")")
            }
            Call::Semget { key, nsems, semflg } => {
                f.write_str("semget(key=")?;
                write_key(f, key)?;
                write!(f, ", nsems={nsems}, flags=")?;
                write_get_flags(f, semflg)?;
                f.write_str(")")
            }
            Call::Semop {
                semid,
                sops,
                nsops,
                timeout,
            } => {
                let name = if timeout.is_some() {
                    "semtimedop"
                } else {
                    "semop"
                };
                write!(f, "{name}(semid={semid}, sops=")?;
                write_pointer(f, sops)?;
                write!(f, ", nsops={nsops}")?;
                if let Some(timeout) = timeout {
                    f.write_str(", timeout=")?;
                    write_pointer(f, timeout)?;
                }
                f.write_str(")")
            }
            Call::Semctl {
                semid,
                semnum,
                cmd,
                arg,
            } => {
                write!(f, "semctl(semid={semid}, semnum={semnum}, cmd=")?;
                write_command(f, &SEMCTL_COMMANDS, cmd)?;
                match semctl_arg_field(cmd) {
                    Some("val") => write!(f, ", arg.val={}", arg as i32)?,
                    Some(field) => {
                        write!(f, ", arg.{field}=")?;
                        write_pointer(f, arg)?;
                    }
                    None => {}
                }
                f.write_str(")")
            }
            Call::Msgget { key, msgflg } => {
                f.write_str("msgget(key=")?;
                write_key(f, key)?;
                f.write_str(", flags=")?;
                write_get_flags(f, msgflg)?;
                f.write_str(")")
            }
            Call::Msgsnd {
                msqid,
                msgp,
                msgsz,
                msgflg,
            } => {
                write!(f, "msgsnd(msqid={msqid}, msgp=")?;
                write_pointer(f, msgp)?;
                write!(f, ", msgsz={msgsz}, flags=")?;
                write_msg_flags(f, msgflg)?;
                f.write_str(")")
            }
            Call::Msgrcv {
                msqid,
                msgp,
                msgsz,
                msgtyp,
                msgflg,
            } => {
                write!(f, "msgrcv(msqid={msqid}, msgp=")?;
                write_pointer(f, msgp)?;
                write!(f, ", msgsz={msgsz}, msgtyp={msgtyp}, flags=")?;
                write_msg_flags(f, msgflg)?;
                f.write_str(")")
            }
            Call::Msgctl { msqid, cmd, buf } => {
                write!(f, "msgctl(msqid={msqid}, cmd=")?;
                write_command(f, &MSGCTL_COMMANDS, cmd)?;
                f.write_str(", buf=")?;
                write_pointer(f, buf)?;
                f.write_str(")")
            }
            Call::Open {
                name,
                key,
                size,
                mode,
                flags,
            } => {
                write!(f, "{name}(")?;
                match key {
                    KeyText::Key(key) => {
                        f.write_str("key=")?;
                        write_key(f, key)?;
                    }
                    KeyText::Path(path, proj_id) => write!(f, "path={path}, proj_id={proj_id}")?,
                }
                if let Some(size) = size {
                    write!(f, ", size={size}")?;
                }
                write!(f, ", mode={mode:04o}, flags={flags})")
            }
            Call::Other(message) => message.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg;

    #[test]
    fn calls_read_like_c() {
        let get = Call::Shmget {
            key: 0x41012345,
            size: 8192,
            shmflg: libc::IPC_CREAT | 0o600,
        };
        assert_eq!(
            get.to_string(),
            "shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600)"
        );
        let at = Call::Shmat {
            shmid: 5,
            addr: 0,
            shmflg: libc::SHM_RDONLY,
        };
        assert_eq!(
            at.to_string(),
            "shmat(shmid=5, shmaddr=NULL, flags=SHM_RDONLY)"
        );
        let ctl = Call::Shmctl {
            shmid: 5,
            cmd: 99,
            buf: 0,
        };
        assert_eq!(ctl.to_string(), "shmctl(shmid=5, cmd=99, buf=NULL)");
        assert_eq!(
            Call::Shmdt { addr: 0x1000 }.to_string(),
            "shmdt(shmaddr=0x1000)"
        );
        let ftok = Call::Ftok {
            path: PathText::new(b"a\"b"),
            proj_id: 65,
        };
        assert_eq!(ftok.to_string(), "ftok(path=\"a\\\"b\", proj_id=65)");
        let open = Call::Open {
            name: "open",
            key: KeyText::Key(0x52),
            size: Some(4096),
            mode: 0o600,
            flags: FlagNames {
                bits: 0b101,
                names: &["CREATE", "EXCLUSIVE", "READ_ONLY"],
            },
        };
        assert_eq!(
            open.to_string(),
            "open(key=0x00000052, size=4096, mode=0600, flags=CREATE|READ_ONLY)"
        );
        let other = Call::Other(msg!("write(offset={}, len={})", 60, 21));
        assert_eq!(other.to_string(), "write(offset=60, len=21)");
    }

    #[test]
    fn the_semaphore_and_queue_calls_read_like_c() {
        let cases = [
            (
                Call::Semget {
                    key: 0x41012345,
                    nsems: 3,
                    semflg: libc::IPC_CREAT | 0o600,
                },
                "semget(key=0x41012345, nsems=3, flags=IPC_CREAT|0600)",
            ),
            (
                Call::Semop {
                    semid: 3,
                    sops: 0x1000,
                    nsops: 2,
                    timeout: None,
                },
                "semop(semid=3, sops=0x1000, nsops=2)",
            ),
            (
                Call::Semop {
                    semid: 3,
                    sops: 0x1000,
                    nsops: 2,
                    timeout: Some(0),
                },
                "semtimedop(semid=3, sops=0x1000, nsops=2, timeout=NULL)",
            ),
            (
                Call::Semctl {
                    semid: 3,
                    semnum: 1,
                    cmd: libc::SETVAL,
                    arg: (-1i32) as u32 as usize | 1 << 40,
                },
                "semctl(semid=3, semnum=1, cmd=SETVAL, arg.val=-1)",
            ),
            (
                Call::Semctl {
                    semid: 3,
                    semnum: 0,
                    cmd: libc::IPC_RMID,
                    arg: 77,
                },
                "semctl(semid=3, semnum=0, cmd=IPC_RMID)",
            ),
            (
                Call::Semctl {
                    semid: 3,
                    semnum: 0,
                    cmd: libc::GETALL,
                    arg: 0,
                },
                "semctl(semid=3, semnum=0, cmd=GETALL, arg.array=NULL)",
            ),
            (
                Call::Msgget {
                    key: 0,
                    msgflg: libc::IPC_CREAT | libc::IPC_EXCL | 0o640,
                },
                "msgget(key=0x00000000, flags=IPC_CREAT|IPC_EXCL|0640)",
            ),
            (
                Call::Msgsnd {
                    msqid: 4,
                    msgp: 0x2000,
                    msgsz: 9000,
                    msgflg: libc::IPC_NOWAIT,
                },
                "msgsnd(msqid=4, msgp=0x2000, msgsz=9000, flags=IPC_NOWAIT)",
            ),
            (
                Call::Msgrcv {
                    msqid: 4,
                    msgp: 0x2000,
                    msgsz: 10,
                    msgtyp: -5,
                    msgflg: libc::MSG_NOERROR,
                },
                "msgrcv(msqid=4, msgp=0x2000, msgsz=10, msgtyp=-5, flags=MSG_NOERROR)",
            ),
            (
                Call::Msgctl {
                    msqid: 4,
                    cmd: 11,
                    buf: 0,
                },
                "msgctl(msqid=4, cmd=MSG_STAT, buf=NULL)",
            ),
        ];
        for (call, want) in cases {
            assert_eq!(call.to_string(), want);
        }
    }

    #[test]
    fn a_long_path_is_cut_and_says_so() {
        let long = [b'x'; 200];
        let text = PathText::new(&long).to_string();
        assert_eq!(text.len(), PATH_TEXT_CAPACITY + 5);
        assert!(text.ends_with("...\""), "{text}");
    }
}
