//! How rshm writes the C values of the semaphore and message queue calls:
//! `semctl` and `msgctl` commands by name, `semget`/`msgget` flags as
//! `IPC_CREAT|IPC_EXCL|0600`, `msgsnd`/`msgrcv` flags as
//! `IPC_NOWAIT|MSG_NOERROR`. Writing a value never allocates.

use super::c_values::{write_flags, MODE_BITS};
use std::fmt::{self, Write as _};

/// `SEM_STAT`, `SEM_INFO` and `SEM_STAT_ANY`, by value.
pub(crate) const SEM_STAT: i32 = 18;
pub(crate) const SEM_INFO: i32 = 19;
pub(crate) const SEM_STAT_ANY: i32 = 20;
/// `MSG_STAT`, `MSG_INFO` and `MSG_STAT_ANY`, by value.
pub(crate) const MSG_STAT: i32 = 11;
pub(crate) const MSG_INFO: i32 = 12;
pub(crate) const MSG_STAT_ANY: i32 = 13;
/// `msgrcv`'s `MSG_EXCEPT` and `MSG_COPY`, which the libc crate does not name everywhere.
pub(crate) const MSG_EXCEPT: i32 = 0o20000;
pub(crate) const MSG_COPY: i32 = 0o40000;

/// The `semctl` commands glibc accepts: the one table of their names.
pub(crate) const SEMCTL_COMMANDS: [(i32, &str); 14] = [
    (libc::IPC_RMID, "IPC_RMID"),
    (libc::IPC_SET, "IPC_SET"),
    (libc::IPC_STAT, "IPC_STAT"),
    (libc::IPC_INFO, "IPC_INFO"),
    (libc::GETPID, "GETPID"),
    (libc::GETVAL, "GETVAL"),
    (libc::GETALL, "GETALL"),
    (libc::GETNCNT, "GETNCNT"),
    (libc::GETZCNT, "GETZCNT"),
    (libc::SETVAL, "SETVAL"),
    (libc::SETALL, "SETALL"),
    (SEM_STAT, "SEM_STAT"),
    (SEM_INFO, "SEM_INFO"),
    (SEM_STAT_ANY, "SEM_STAT_ANY"),
];

/// The `msgctl` commands glibc accepts: the one table of their names.
pub(crate) const MSGCTL_COMMANDS: [(i32, &str); 7] = [
    (libc::IPC_RMID, "IPC_RMID"),
    (libc::IPC_SET, "IPC_SET"),
    (libc::IPC_STAT, "IPC_STAT"),
    (libc::IPC_INFO, "IPC_INFO"),
    (MSG_STAT, "MSG_STAT"),
    (MSG_INFO, "MSG_INFO"),
    (MSG_STAT_ANY, "MSG_STAT_ANY"),
];

/// The name of `cmd` in `table`, or `None` for a value glibc refuses.
pub(crate) fn command_name(table: &[(i32, &'static str)], cmd: i32) -> Option<&'static str> {
    table
        .iter()
        .find(|&&(value, _)| value == cmd)
        .map(|&(_, name)| name)
}

/// A command by name, or its number when glibc does not know it.
pub(crate) fn write_command(
    f: &mut fmt::Formatter<'_>,
    table: &[(i32, &'static str)],
    cmd: i32,
) -> fmt::Result {
    match command_name(table, cmd) {
        Some(name) => f.write_str(name),
        None => write!(f, "{cmd}"),
    }
}

/// `semget`'s and `msgget`'s flags: `IPC_CREAT|IPC_EXCL|0600`.
pub(crate) fn write_get_flags(f: &mut fmt::Formatter<'_>, flags: i32) -> fmt::Result {
    let bits = flags as u32;
    let named = write_flags(
        f,
        bits & !MODE_BITS,
        &[
            (libc::IPC_CREAT as u32, "IPC_CREAT"),
            (libc::IPC_EXCL as u32, "IPC_EXCL"),
        ],
        false,
    )?;
    if named {
        f.write_char('|')?;
    }
    write!(f, "{:04o}", bits & MODE_BITS)
}

/// `msgsnd`'s and `msgrcv`'s flags: `IPC_NOWAIT|MSG_NOERROR`, or `0`.
pub(crate) fn write_msg_flags(f: &mut fmt::Formatter<'_>, flags: i32) -> fmt::Result {
    let named = write_flags(
        f,
        flags as u32,
        &[
            (libc::IPC_NOWAIT as u32, "IPC_NOWAIT"),
            (libc::MSG_NOERROR as u32, "MSG_NOERROR"),
            (MSG_EXCEPT as u32, "MSG_EXCEPT"),
            (MSG_COPY as u32, "MSG_COPY"),
        ],
        false,
    )?;
    if !named {
        f.write_char('0')?;
    }
    Ok(())
}

/// What `semctl`'s fourth argument is for `cmd`: its field of `union semun`,
/// or `None` when glibc does not read it (the three-argument form).
pub(crate) fn semctl_arg_field(cmd: i32) -> Option<&'static str> {
    match cmd {
        libc::SETVAL => Some("val"),
        libc::GETALL | libc::SETALL => Some("array"),
        libc::IPC_STAT | libc::IPC_SET | SEM_STAT | SEM_STAT_ANY => Some("buf"),
        libc::IPC_INFO | SEM_INFO => Some("__buf"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Show<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result>(F);
    impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for Show<F> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            (self.0)(f)
        }
    }

    #[test]
    fn values_read_like_c() {
        let get =
            |flags| Show(move |f: &mut fmt::Formatter<'_>| write_get_flags(f, flags)).to_string();
        assert_eq!(
            get(libc::IPC_CREAT | libc::IPC_EXCL | 0o600),
            "IPC_CREAT|IPC_EXCL|0600"
        );
        assert_eq!(get(0), "0000");
        assert_eq!(get(0o4000 | 0o644), "04000|0644");
        let msg =
            |flags| Show(move |f: &mut fmt::Formatter<'_>| write_msg_flags(f, flags)).to_string();
        assert_eq!(msg(0), "0");
        assert_eq!(msg(libc::IPC_NOWAIT | MSG_COPY), "IPC_NOWAIT|MSG_COPY");
        assert_eq!(msg(libc::MSG_NOERROR | 1), "MSG_NOERROR|01");
        let cmd = |cmd| {
            Show(move |f: &mut fmt::Formatter<'_>| write_command(f, &SEMCTL_COMMANDS, cmd))
                .to_string()
        };
        assert_eq!(cmd(libc::SETVAL), "SETVAL");
        assert_eq!(cmd(SEM_STAT_ANY), "SEM_STAT_ANY");
        assert_eq!(cmd(99), "99");
        assert_eq!(command_name(&MSGCTL_COMMANDS, MSG_INFO), Some("MSG_INFO"));
        assert_eq!(semctl_arg_field(libc::GETVAL), None);
        assert_eq!(semctl_arg_field(libc::GETALL), Some("array"));
    }
}
