//! The segments of the IPC namespace as /proc/sysvipc/shm lists them, with
//! what the listing adds: owner names, whether the pids live, orphans.

pub use rshm::process::alive;
use std::ffi::CStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// One segment, as the kernel lists it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: i32,
    pub id: i32,
    /// Permission bits with SHM_DEST (01000) and SHM_LOCKED (02000).
    pub perms: u32,
    pub size: u64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
    pub rss: u64,
    pub swap: u64,
}

impl Listed {
    pub fn marked_for_removal(&self) -> bool {
        self.perms & 0o1000 != 0
    }

    pub fn locked(&self) -> bool {
        self.perms & 0o2000 != 0
    }

    pub fn mode(&self) -> u32 {
        self.perms & 0o777
    }

    /// No attachment, and neither its creator nor its last user is alive.
    pub fn orphan(&self) -> bool {
        self.nattch == 0 && !alive(self.cpid) && !alive(self.lpid)
    }
}

/// Every segment of this IPC namespace.
pub fn list() -> std::io::Result<Vec<Listed>> {
    let text = std::fs::read_to_string("/proc/sysvipc/shm")?;
    Ok(text.lines().skip(1).filter_map(parse).collect())
}

fn parse(line: &str) -> Option<Listed> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() < 14 {
        return None;
    }
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    Some(Listed {
        key: f[0].parse().ok()?,
        id: f[1].parse().ok()?,
        perms: u32::from_str_radix(f[2], 8).ok()?,
        size: f[3].parse().ok()?,
        cpid: n(4) as i32,
        lpid: n(5) as i32,
        nattch: n(6) as u64,
        uid: n(7) as u32,
        gid: n(8) as u32,
        cuid: n(9) as u32,
        cgid: n(10) as u32,
        atime: n(11),
        dtime: n(12),
        ctime: n(13),
        rss: n(14) as u64,
        swap: n(15) as u64,
    })
}

/// The user name for `uid`, or the number.
pub fn user_name(uid: u32) -> String {
    let mut pwd = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result = std::ptr::null_mut();
    // SAFETY: all buffers are valid and sized; getpwuid_r writes only into them.
    let ret = unsafe {
        libc::getpwuid_r(
            uid,
            pwd.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if ret == 0 && !result.is_null() {
        // SAFETY: on success pw_name points into buf, NUL-terminated.
        unsafe { CStr::from_ptr((*result).pw_name) }
            .to_string_lossy()
            .into_owned()
    } else {
        uid.to_string()
    }
}

/// The uid for a user name or number.
pub fn uid_of(user: &str) -> Option<u32> {
    if let Ok(uid) = user.parse() {
        return Some(uid);
    }
    let name = std::ffi::CString::new(user).ok()?;
    let mut pwd = std::mem::MaybeUninit::<libc::passwd>::uninit();
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut result = std::ptr::null_mut();
    // SAFETY: as in user_name.
    let ret = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            pwd.as_mut_ptr(),
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    // SAFETY: on success result points to pwd.
    (ret == 0 && !result.is_null()).then(|| unsafe { (*result).pw_uid })
}

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

/// `4.0 KiB`.
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

/// `3 h ago`, `never` for 0.
pub fn ago(time: i64) -> String {
    if time == 0 {
        return "never".into();
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let secs = (now - time).max(0);
    match secs {
        0..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86400),
    }
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_proc_line() {
        let line = "1090519040      32769  1600                  4096  1234  1235      0     0     0     0     0 1700000000          0 1700000000                  4096                     0";
        let s = parse(line).unwrap();
        assert_eq!(
            (s.key, s.id, s.mode(), s.size, s.cpid, s.lpid),
            (0x41000000, 32769, 0o600, 4096, 1234, 1235)
        );
        assert!(s.marked_for_removal() && !s.locked());
        assert_eq!(s.rss, 4096);
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(rwx(0o760), "rwxrw----");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(4096), "4.0 KiB");
        assert_eq!(human(3 << 30), "3.0 GiB");
        assert_eq!(ago(0), "never");
        assert_eq!(json_string("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }
}
