//! How the command writes for people: sizes, times, modes and pids in words,
//! user names, and aligned tables. JSON is in `json.rs`.

pub mod json;
mod names;
mod table;

pub use names::{uid_of, Names};
pub use table::Table;

use rshm::ipc::{PidCheck, PidState};
use std::time::{SystemTime, UNIX_EPOCH};

/// `rwxrw----` for 0760.
pub fn rwx(mode: u32) -> String {
    (0..9)
        .map(|i| {
            if mode & (0o400 >> i) != 0 {
                ['r', 'w', 'x'][i % 3]
            } else {
                '-'
            }
        })
        .collect()
}

/// `0640 rw-r-----`.
pub fn mode(mode: u32) -> String {
    format!("{:04o} {}", mode & 0o777, rwx(mode))
}

/// What a class of users may do, for `stat`: `read and write`.
pub fn may(bits: u32, what: &str) -> String {
    match (bits & 4 != 0, bits & 2 != 0) {
        (true, true) => "read and write".into(),
        (true, false) => "read".into(),
        (false, true) => format!("write (but not {what}: that needs read)"),
        (false, false) => "nothing".into(),
    }
}

/// `4.0 KiB`; bytes below 1 KiB as `512 B`.
pub fn human(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < units.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `45 s`, `12 min`, `3 h`, `2 days`.
pub fn span(seconds: i64) -> String {
    match seconds.max(0) {
        s @ 0..=119 => format!("{s} s"),
        s @ 120..=7199 => format!("{} min", s / 60),
        s @ 7200..=172_799 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// `3 h ago`, or `never` for 0.
pub fn ago(time: i64) -> String {
    if time == 0 {
        "never".into()
    } else {
        format!("{} ago", span(now() - time))
    }
}

/// `n thing` or `n things`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A checked pid in words: `812`, `812 (gone)`, `812 (gone, id reused)`.
pub fn pid_state(pid: i32, state: PidState) -> String {
    match state {
        PidState::Running => pid.to_string(),
        PidState::Gone => format!("{pid} (gone)"),
        PidState::Reused => format!("{pid} (gone, id reused)"),
        PidState::Unknown => format!("{pid} (not visible)"),
        PidState::Hidden => "0 (hidden)".into(),
    }
}

/// A recorded pid of `verdict` in one role, as a cell: `-` when the object records none.
pub fn checked(check: Option<&PidCheck>) -> String {
    match check {
        Some(check) => pid_state(check.pid, check.state),
        None => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_people_read_them() {
        assert_eq!(rwx(0o760), "rwxrw----");
        assert_eq!(mode(0o640), "0640 rw-r-----");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(4096), "4.0 KiB");
        assert_eq!(human(3 << 30), "3.0 GiB");
        assert_eq!(ago(0), "never");
        assert_eq!(span(90), "90 s");
        assert_eq!(span(3600), "60 min");
        assert_eq!(count(1, "message", "messages"), "1 message");
        assert_eq!(pid_state(12, PidState::Reused), "12 (gone, id reused)");
        assert_eq!(may(6, "attach"), "read and write");
        assert_eq!(may(2, "attach"), "write (but not attach: that needs read)");
    }
}
