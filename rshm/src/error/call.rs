//! How rshm writes a call in its messages and traces, as C code reads:
//! `shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600)`. Each type
//! writes straight to the formatter, so describing a call never allocates.

use crate::flags::{ShmatFlagsDisplay, ShmgetFlagsDisplay};
use crate::key::Key;
use crate::segment::control::Command;
use libc::{c_char, c_int, c_void};
use std::ffi::CStr;
use std::fmt;

/// A pointer as C shows it: `NULL` or `0x7f...`.
struct Pointer(*const c_void);

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_null() {
            f.write_str("NULL")
        } else {
            write!(f, "{:p}", self.0)
        }
    }
}

/// The path argument of `ftok`, as far as it may be read.
#[derive(Debug, Clone, Copy)]
pub enum FtokPath<'a> {
    /// NULL.
    Null,
    /// A readable string.
    Text(&'a CStr),
    /// A pointer the kernel could not read (EFAULT): shown, never read.
    Unreadable(*const c_char),
    /// Longer than PATH_MAX (and maybe not terminated): not read.
    TooLong,
}

/// `ftok(path="shmfile", proj_id=65)`.
pub struct FtokCall<'a> {
    pub path: FtokPath<'a>,
    pub proj_id: c_int,
}

impl fmt::Display for FtokCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ftok(path=")?;
        match self.path {
            FtokPath::Null => f.write_str("NULL")?,
            FtokPath::Text(path) => write!(f, "\"{}\"", path.to_bytes().escape_ascii())?,
            FtokPath::Unreadable(ptr) => write!(f, "{ptr:p}")?,
            FtokPath::TooLong => f.write_str("<longer than PATH_MAX>")?,
        }
        write!(f, ", proj_id={})", self.proj_id)
    }
}

/// `shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600)`.
pub struct ShmgetCall {
    pub key: Key,
    pub size: usize,
    pub shmflg: c_int,
}

impl fmt::Display for ShmgetCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "shmget(key={}, size={}, flags={})",
            self.key,
            self.size,
            ShmgetFlagsDisplay(self.shmflg)
        )
    }
}

/// `shmat(shmid=5, shmaddr=NULL, flags=SHM_RDONLY)`.
pub struct ShmatCall {
    pub shmid: c_int,
    pub shmaddr: *const c_void,
    pub shmflg: c_int,
}

impl fmt::Display for ShmatCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "shmat(shmid={}, shmaddr={}, flags={})",
            self.shmid,
            Pointer(self.shmaddr),
            ShmatFlagsDisplay(self.shmflg)
        )
    }
}

/// `shmdt(shmaddr=0x7f...)`.
pub struct ShmdtCall {
    pub shmaddr: *const c_void,
}

impl fmt::Display for ShmdtCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shmdt(shmaddr={})", Pointer(self.shmaddr))
    }
}

/// `shmctl(shmid=5, cmd=IPC_RMID, buf=NULL)`; an unknown cmd is shown as its number.
pub struct ShmctlCall {
    pub shmid: c_int,
    pub cmd: c_int,
    pub buf: *const c_void,
}

impl fmt::Display for ShmctlCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shmctl(shmid={}, cmd=", self.shmid)?;
        match Command::from_raw(self.cmd) {
            Some(command) => write!(f, "{command}")?,
            None => write!(f, "{}", self.cmd)?,
        }
        write!(f, ", buf={})", Pointer(self.buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_read_like_c() {
        let get = ShmgetCall {
            key: Key(0x41012345),
            size: 8192,
            shmflg: libc::IPC_CREAT | 0o600,
        };
        assert_eq!(
            get.to_string(),
            "shmget(key=0x41012345, size=8192, flags=IPC_CREAT|0600)"
        );
        let at = ShmatCall {
            shmid: 5,
            shmaddr: std::ptr::null(),
            shmflg: libc::SHM_RDONLY,
        };
        assert_eq!(
            at.to_string(),
            "shmat(shmid=5, shmaddr=NULL, flags=SHM_RDONLY)"
        );
        let ctl = ShmctlCall {
            shmid: 5,
            cmd: 99,
            buf: std::ptr::null(),
        };
        assert_eq!(ctl.to_string(), "shmctl(shmid=5, cmd=99, buf=NULL)");
        let dt = ShmdtCall {
            shmaddr: 0x1000 as *const c_void,
        };
        assert_eq!(dt.to_string(), "shmdt(shmaddr=0x1000)");
        let ftok = FtokCall {
            path: FtokPath::Text(c"a\"b"),
            proj_id: 65,
        };
        assert_eq!(ftok.to_string(), "ftok(path=\"a\\\"b\", proj_id=65)");
    }
}
