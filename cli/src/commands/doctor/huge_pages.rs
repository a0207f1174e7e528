//! `huge_pages` and `huge_pages_permission`: whether segments of huge
//! pages (`SHM_HUGETLB`) can be made here, and by this user.

use super::finding::{finding, Finding, Severity};
use super::read;
use crate::render::{human, Names};
use std::collections::BTreeSet;

/// A `/proc/meminfo` value (the number before its unit).
fn meminfo(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A line's value in `/proc/self/status`, e.g. `Groups:`.
fn status_field(status: &str, name: &str) -> Option<String> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .map(|value| value.trim().to_string())
}

/// The soft `RLIMIT_MEMLOCK` from `/proc/self/limits` (`None`: unlimited).
fn memlock_limit() -> Option<Option<u64>> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let soft = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max locked memory"))?
        .split_whitespace()
        .next()?
        .to_string();
    Some(soft.parse().ok())
}

pub fn huge_pages() -> Vec<Finding> {
    let Ok(mem) = std::fs::read_to_string("/proc/meminfo") else {
        return vec![finding(
            "huge_pages",
            Severity::Info,
            "/proc/meminfo cannot be read".into(),
            "huge pages were not checked".into(),
        )];
    };
    let total = meminfo(&mem, "HugePages_Total").unwrap_or(0);
    let free = meminfo(&mem, "HugePages_Free").unwrap_or(0);
    let reserved = meminfo(&mem, "HugePages_Rsvd").unwrap_or(0);
    let size = meminfo(&mem, "Hugepagesize").unwrap_or(2048) * 1024;
    if total == 0 {
        return vec![finding(
            "huge_pages",
            Severity::Info,
            "vm.nr_hugepages = 0: no huge pages are reserved".into(),
            format!(
                "a segment of huge pages (SHM_HUGETLB) cannot be made; segments of normal pages \
                 work (huge pages here are {})",
                human(size)
            ),
        )
        .fix(
            "to use them, reserve some: sysctl -w vm.nr_hugepages=N (in /etc/sysctl.d/ to keep it)",
        )];
    }
    let available = free.saturating_sub(reserved);
    let mut findings = vec![if available == 0 {
        finding(
            "huge_pages",
            Severity::Warning,
            format!(
                "vm.nr_hugepages = {total}: all taken ({free} free, {reserved} of them promised)"
            ),
            "a new segment of huge pages cannot be made until one is freed".into(),
        )
        .fix("reserve more: sysctl -w vm.nr_hugepages=N, or remove abandoned huge-page segments")
    } else {
        finding(
            "huge_pages",
            Severity::Ok,
            format!("vm.nr_hugepages = {total}, {available} free"),
            format!("{} of huge pages are available", human(available * size)),
        )
    }];
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = status_field(&status, "CapEff:")
        .and_then(|caps| u64::from_str_radix(&caps, 16).ok())
        .unwrap_or(0);
    let group: u32 = read("/proc/sys/vm/hugetlb_shm_group")
        .ok()
        .and_then(|g| g.parse().ok())
        .unwrap_or(0);
    let mut groups: BTreeSet<u32> = status_field(&status, "Groups:")
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|g| g.parse().ok())
        .collect();
    if let Some(egid) =
        status_field(&status, "Gid:").and_then(|gids| gids.split_whitespace().nth(1)?.parse().ok())
    {
        groups.insert(egid);
    }
    const CAP_IPC_LOCK: u64 = 14;
    let names = Names::default();
    let permission = if caps & (1 << CAP_IPC_LOCK) != 0 {
        finding(
            "huge_pages_permission",
            Severity::Ok,
            "this process holds CAP_IPC_LOCK".into(),
            "it may make segments of huge pages".into(),
        )
    } else if groups.contains(&group) {
        finding(
            "huge_pages_permission",
            Severity::Ok,
            format!(
                "member of vm.hugetlb_shm_group ({}, gid {group})",
                names.group(group)
            ),
            "this user may make segments of huge pages".into(),
        )
    } else {
        match memlock_limit() {
            Some(Some(limit)) if limit < size => finding(
                "huge_pages_permission",
                Severity::Warning,
                format!(
                    "not in vm.hugetlb_shm_group (gid {group}), no CAP_IPC_LOCK, and a memlock limit of {}",
                    human(limit)
                ),
                format!(
                    "this user cannot make a segment of huge pages: it would lock at least {} \
                     of memory",
                    human(size)
                ),
            )
            .fix(format!(
                "add the user to group {group} (or set vm.hugetlb_shm_group to one of its \
                 groups), or raise its memlock limit (ulimit -l; LimitMEMLOCK= in a systemd \
                 unit; /etc/security/limits.conf)"
            )),
            Some(Some(limit)) => finding(
                "huge_pages_permission",
                Severity::Info,
                format!(
                    "not in vm.hugetlb_shm_group (gid {group}); memlock limit {}",
                    human(limit)
                ),
                format!("this user may make segments of huge pages up to {} in all", human(limit)),
            ),
            _ => finding(
                "huge_pages_permission",
                Severity::Ok,
                "no memlock limit".into(),
                "this user may make segments of huge pages".into(),
            ),
        }
    };
    findings.push(permission);
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_and_status_values_are_read() {
        let mem = "HugePages_Total:       4\nHugepagesize:       2048 kB\n";
        assert_eq!(meminfo(mem, "HugePages_Total"), Some(4));
        assert_eq!(meminfo(mem, "Hugepagesize"), Some(2048));
        assert_eq!(meminfo(mem, "HugePages_Free"), None);
        let status = "Gid:\t0\t5\t0\t0\nGroups:\t4 24 27\n";
        assert_eq!(status_field(status, "Groups:").as_deref(), Some("4 24 27"));
    }
}
