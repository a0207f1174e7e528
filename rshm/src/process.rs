//! Whether a process still runs: how a channel notices a dead peer and the
//! `rshm` command finds orphans.

/// Whether `pid` names a live process. A zombie counts as dead (its parent
/// may be the very process waiting on it); a process this one may not signal
/// (EPERM) is alive; a pid that /proc cannot show is assumed alive.
pub fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only checks.
    if unsafe { libc::kill(pid, 0) } != 0
        && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold anything.
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                != Some('Z')
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "kill(2): Miri cannot make syscalls")]
    fn this_process_lives_and_nonsense_pids_do_not() {
        assert!(alive(std::process::id() as i32));
        assert!(!alive(0));
        assert!(!alive(-1));
        assert!(!alive(i32::MAX));
    }
}
