//! `rshm doctor`: one screen on why shared memory may misbehave on this
//! machine. Each finding names what it checked, the evidence, what it means
//! and the fix, with a severity; exit code 1 when one is a warning or an error.

use crate::args::DoctorArgs;
use crate::commands::limits::{self, AllLimits};
use crate::inventory::{gather, Listed};
use crate::render::{count, human, json, Names};
use rshm::ipc::{Caller, Class, Kind, Object, Rule};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// How much a finding matters. Warnings and errors make the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Checked, and fine.
    Ok,
    /// Worth knowing; nothing is wrong.
    Info,
    /// Something will misbehave in some cases.
    Warning,
    /// Something misbehaves now (a limit is reached).
    Error,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding: what was checked, the evidence, what it means, and the fix.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// A stable name: `shm_rmid_forced`, `logind_remove_ipc`, `shmmni`, ...
    pub check: &'static str,
    pub severity: Severity,
    /// What was seen, with its source.
    pub evidence: String,
    /// What it means for shared memory.
    pub meaning: String,
    /// What to do about it, when something should be done.
    pub fix: Option<String>,
}

/// The JSON of `doctor --json`.
#[derive(Debug, Serialize)]
struct DoctorJson<'a> {
    findings: &'a [Finding],
    worst: Severity,
    wrong: bool,
}

fn finding(check: &'static str, severity: Severity, evidence: String, meaning: String) -> Finding {
    Finding {
        check,
        severity,
        evidence,
        meaning,
        fix: None,
    }
}

impl Finding {
    fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}

pub fn run(args: DoctorArgs) -> u8 {
    let findings = check_all(args.logind_conf.as_deref(), &Rule::new(args.age.older_than));
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Ok);
    let wrong = worst >= Severity::Warning;
    if args.json {
        println!(
            "{}",
            json::line(&DoctorJson {
                findings: &findings,
                worst,
                wrong
            })
        );
    } else {
        print!("{}", render(&findings));
    }
    u8::from(wrong)
}

/// Every check, in the order they are shown.
pub fn check_all(logind_conf: Option<&Path>, rule: &Rule) -> Vec<Finding> {
    let inventory = gather(&Kind::ALL, rule);
    let mut findings = vec![rmid_forced()];
    match &inventory {
        Ok(listed) => {
            findings.push(remove_ipc(logind_conf, listed));
            match limits::read() {
                Ok(all) => findings.extend(limit_findings(&all, listed)),
                Err(error) => findings.push(finding(
                    "limits",
                    Severity::Warning,
                    format!("the limits cannot be read: {}", error.reason()),
                    "their use cannot be checked".into(),
                )),
            }
        }
        Err((kind, error)) => findings.push(finding(
            "inventory",
            Severity::Error,
            format!("the {kind}s cannot be listed: {}", error.reason()),
            "nothing that depends on the objects could be checked".into(),
        )),
    }
    findings.extend(huge_pages());
    findings.extend(namespaces());
    if let Ok(listed) = &inventory {
        findings.push(abandoned(listed, rule));
    }
    findings
}

/// The findings as text: one line each, and the meaning and fix of those not ok.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!("{:<8} {}", f.severity.label(), f.evidence));
        if f.severity == Severity::Ok {
            out.push_str(&format!(": {}\n", f.meaning));
            continue;
        }
        out.push('\n');
        out.push_str(&wrap(&f.meaning, "         "));
        if let Some(fix) = &f.fix {
            out.push_str(&wrap(&format!("fix: {fix}"), "         "));
        }
    }
    let by = |severity| findings.iter().filter(|f| f.severity == severity).count() as u64;
    let (warnings, errors, notes) = (
        by(Severity::Warning),
        by(Severity::Error),
        by(Severity::Info),
    );
    if warnings + errors == 0 {
        out.push_str(&format!(
            "nothing is wrong: {} ok, {}\n",
            by(Severity::Ok),
            count(notes, "note", "notes")
        ));
    } else {
        out.push_str(&format!(
            "{}, {}, {}\n",
            count(errors, "error", "errors"),
            count(warnings, "warning", "warnings"),
            count(notes, "note", "notes")
        ));
    }
    out
}

/// `text` wrapped at 100 columns, each line after `indent`.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && indent.len() + line.len() + 1 + word.len() > 100 {
            out.push_str(&format!("{indent}{line}\n"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{indent}{line}\n"));
    }
    out
}

/// A file of `/proc/sys` (or any), trimmed.
fn read(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path).map(|text| text.trim().to_string())
}

fn rmid_forced() -> Finding {
    let check = "shm_rmid_forced";
    match read("/proc/sys/kernel/shm_rmid_forced").as_deref() {
        Ok("0") => finding(
            check,
            Severity::Ok,
            "kernel.shm_rmid_forced = 0".into(),
            "a segment outlives the processes that use it until it is removed".into(),
        ),
        Ok(value) if value != "0" => finding(
            check,
            Severity::Warning,
            format!("kernel.shm_rmid_forced = {value} in this IPC namespace"),
            "every segment is destroyed as soon as no process attaches it (one never attached, \
             when its creator exits): no segment can be left for a later reader, and programs \
             that expect one to stay find it gone"
                .into(),
        )
        .fix(
            "sysctl -w kernel.shm_rmid_forced=0, and put 'kernel.shm_rmid_forced = 0' in a file \
             of /etc/sysctl.d/ to keep it; in a container, set it in the container's sysctls \
             (docker run --sysctl kernel.shm_rmid_forced=0)",
        ),
        Ok(_) | Err(_) => finding(
            check,
            Severity::Info,
            "kernel.shm_rmid_forced cannot be read".into(),
            "whether segments may outlive their processes is not known".into(),
        ),
    }
}

/// Where `RemoveIPC=` was last set, and to what.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RemoveIpc {
    value: bool,
    /// `the default` or `PATH, line N`.
    source: String,
}

/// systemd's booleans.
fn boolean(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// Applies the `RemoveIPC=` lines of one file (in `[Login]`) to `setting`.
fn apply_remove_ipc(text: &str, path: &Path, setting: &mut RemoveIpc) {
    let mut in_login = false;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            in_login = line == "[Login]";
            continue;
        }
        if !in_login || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if name.trim() != "RemoveIPC" {
            continue;
        }
        let value = value.trim();
        if value.is_empty() {
            // An empty assignment resets the setting to its default.
            *setting = default_remove_ipc();
        } else if let Some(value) = boolean(value) {
            *setting = RemoveIpc {
                value,
                source: format!("{}, line {}", path.display(), number + 1),
            };
        }
    }
}

/// systemd's own default: yes.
fn default_remove_ipc() -> RemoveIpc {
    RemoveIpc {
        value: true,
        source: "the default: no setting in logind.conf or its drop-ins".into(),
    }
}

/// What `RemoveIPC` is for systemd-logind: the main file, then the drop-ins
/// (`*.conf` in the `.d` folders, by file name; a name in an earlier folder
/// hides the same name in later ones).
fn remove_ipc_setting(main_files: &[PathBuf], dropin_dirs: &[PathBuf]) -> RemoveIpc {
    let mut setting = default_remove_ipc();
    if let Some((path, text)) = main_files
        .iter()
        .find_map(|path| Some((path, std::fs::read_to_string(path).ok()?)))
    {
        apply_remove_ipc(&text, path, &mut setting);
    }
    let mut dropins: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in dropin_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".conf") {
                dropins.entry(name).or_insert_with(|| entry.path());
            }
        }
    }
    for path in dropins.values() {
        if let Ok(text) = std::fs::read_to_string(path) {
            apply_remove_ipc(&text, path, &mut setting);
        }
    }
    setting
}

/// Regular users, whose objects `RemoveIPC` removes: uid 1000 to 60000
/// (systemd's range; root and system users are never affected).
fn regular(uid: u32) -> bool {
    (1000..=60000).contains(&uid)
}

fn remove_ipc(custom: Option<&Path>, listed: &[Listed]) -> Finding {
    let check = "logind_remove_ipc";
    let (main_files, dropin_dirs): (Vec<PathBuf>, Vec<PathBuf>) = match custom {
        Some(path) => {
            let mut dropins = path.as_os_str().to_owned();
            dropins.push(".d");
            (vec![path.to_path_buf()], vec![PathBuf::from(dropins)])
        }
        None => {
            let systemd_runs = Path::new("/run/systemd/system").exists();
            let logind = [
                "/usr/lib/systemd/systemd-logind",
                "/lib/systemd/systemd-logind",
            ]
            .iter()
            .any(|path| Path::new(path).exists());
            if !systemd_runs || !logind {
                return finding(
                    check,
                    Severity::Ok,
                    "systemd-logind does not run here".into(),
                    "its RemoveIPC setting cannot remove anything".into(),
                );
            }
            let roots = [
                "/etc/systemd",
                "/run/systemd",
                "/usr/local/lib/systemd",
                "/usr/lib/systemd",
            ];
            (
                roots
                    .iter()
                    .map(|r| Path::new(r).join("logind.conf"))
                    .collect(),
                roots
                    .iter()
                    .map(|r| Path::new(r).join("logind.conf.d"))
                    .collect(),
            )
        }
    };
    let setting = remove_ipc_setting(&main_files, &dropin_dirs);
    if !setting.value {
        return finding(
            check,
            Severity::Ok,
            format!("systemd-logind RemoveIPC=no ({})", setting.source),
            "objects stay when their owner logs out".into(),
        );
    }
    let names = Names::default();
    let mut owners: BTreeMap<u32, u64> = BTreeMap::new();
    for l in listed.iter().filter(|l| regular(l.object.owner().uid)) {
        *owners.entry(l.object.owner().uid).or_default() += 1;
    }
    let me = Caller::this_process().euid;
    let mut affected: Vec<String> = owners
        .iter()
        .map(|(&uid, &n)| {
            format!(
                "{} of {} (uid {uid})",
                count(n, "object", "objects"),
                names.user(uid)
            )
        })
        .collect();
    if regular(me) && !owners.contains_key(&me) {
        affected.push(format!("those you make ({}, uid {me})", names.user(me)));
    }
    let evidence = format!("systemd-logind RemoveIPC=yes ({})", setting.source);
    if affected.is_empty() {
        return finding(
            check,
            Severity::Info,
            evidence,
            format!(
                "logind removes every segment, semaphore set and queue of a regular user (uid \
                 1000 and up) when the user's last session ends; root and system users, such as \
                 you ({}, uid {me}), are not affected, and no object here belongs to a regular user",
                names.user(me)
            ),
        );
    }
    finding(
        check,
        Severity::Warning,
        evidence,
        format!(
            "when a regular user's last login session ends, logind removes every segment, \
             semaphore set and queue the user owns, in use or not: {}. Root and system users \
             (uid below 1000) are not affected",
            affected.join(", ")
        ),
    )
    .fix(
        "put '[Login]' and 'RemoveIPC=no' in /etc/systemd/logind.conf.d/50-ipc.conf and restart \
         systemd-logind; or run the program as a system user, or keep its user's manager \
         running (loginctl enable-linger USER)",
    )
}

/// ok under 90%, a warning from 90%, an error at the limit.
fn usage_severity(used: u64, max: u64) -> Severity {
    if max == 0 {
        Severity::Info
    } else if used >= max {
        Severity::Error
    } else if used.saturating_mul(10) >= max.saturating_mul(9) {
        Severity::Warning
    } else {
        Severity::Ok
    }
}

fn usage_finding(
    check: &'static str,
    what: &str,
    used: u64,
    max: u64,
    limit: &str,
    fix: &str,
) -> Finding {
    let severity = usage_severity(used, max);
    let evidence = format!(
        "{what}: {used} in use of {limit} = {max} ({})",
        limits::percent(used, max)
    );
    let meaning = match severity {
        Severity::Error => format!("the limit is reached: no more {what} can be made"),
        Severity::Warning => format!("the limit is near: soon no more {what} can be made"),
        _ => "well within the limit".into(),
    };
    let made = finding(check, severity, evidence, meaning);
    if severity >= Severity::Warning {
        made.fix(format!(
            "{fix}, or remove what was abandoned (rshm rm --orphans --dry-run shows it)"
        ))
    } else {
        made
    }
}

fn limit_findings(all: &AllLimits, listed: &[Listed]) -> Vec<Finding> {
    let AllLimits { shm, sem, msg } = all;
    let mut findings = vec![
        usage_finding(
            "shmmni",
            "segments",
            shm.segments,
            shm.shmmni,
            "kernel.shmmni",
            "raise it: sysctl -w kernel.shmmni=N (in /etc/sysctl.d/ to keep it)",
        ),
        usage_finding(
            "shmall",
            "pages of all segments",
            shm.pages,
            shm.shmall,
            "kernel.shmall",
            "raise it: sysctl -w kernel.shmall=PAGES (in /etc/sysctl.d/ to keep it)",
        ),
    ];
    let too_big: Vec<String> = listed
        .iter()
        .filter_map(|l| match &l.object {
            Object::Segment(s) if s.info.size as u64 > shm.shmmax => {
                Some(format!("segment {} ({})", s.id, human(s.info.size as u64)))
            }
            _ => None,
        })
        .collect();
    findings.push(if too_big.is_empty() {
        finding(
            "shmmax",
            Severity::Ok,
            format!("kernel.shmmax = {} ({})", shm.shmmax, human(shm.shmmax)),
            "the largest segment that can be made; every segment here is within it".into(),
        )
    } else {
        finding(
            "shmmax",
            Severity::Warning,
            format!(
                "kernel.shmmax = {} ({}), less than {} holds",
                shm.shmmax,
                human(shm.shmmax),
                too_big.join(", ")
            ),
            "a program that makes such a segment again (after a restart, say) fails".into(),
        )
        .fix("raise it: sysctl -w kernel.shmmax=BYTES (in /etc/sysctl.d/ to keep it)")
    });
    findings.push(usage_finding(
        "semmni",
        "semaphore sets",
        sem.sets,
        sem.semmni,
        "SEMMNI (kernel.sem, 4th)",
        "raise it: sysctl -w kernel.sem='SEMMSL SEMMNS SEMOPM SEMMNI'",
    ));
    findings.push(usage_finding(
        "semmns",
        "semaphores",
        sem.semaphores,
        sem.semmns,
        "SEMMNS (kernel.sem, 2nd)",
        "raise it: sysctl -w kernel.sem='SEMMSL SEMMNS SEMOPM SEMMNI'",
    ));
    let largest_set = listed
        .iter()
        .filter_map(|l| match &l.object {
            Object::SemaphoreSet(s) => Some(u64::from(s.nsems)),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    if largest_set > sem.semmsl {
        findings.push(
            finding(
                "semmsl",
                Severity::Warning,
                format!(
                    "SEMMSL (kernel.sem, 1st) = {}, fewer than the {largest_set} semaphores of a set here",
                    sem.semmsl
                ),
                "a program that makes such a set again fails".into(),
            )
            .fix("raise it: sysctl -w kernel.sem='SEMMSL SEMMNS SEMOPM SEMMNI'"),
        );
    }
    findings.push(usage_finding(
        "msgmni",
        "message queues",
        msg.queues,
        msg.msgmni,
        "kernel.msgmni",
        "raise it: sysctl -w kernel.msgmni=N (in /etc/sysctl.d/ to keep it)",
    ));
    let full: Vec<String> = listed
        .iter()
        .filter_map(|l| match &l.object {
            Object::MessageQueue(q)
                if q.max_bytes > 0
                    && q.bytes.saturating_mul(10) >= q.max_bytes.saturating_mul(9) =>
            {
                Some(format!(
                    "queue {} ({} of {})",
                    q.id,
                    human(q.bytes),
                    human(q.max_bytes)
                ))
            }
            _ => None,
        })
        .collect();
    findings.push(if full.is_empty() {
        finding(
            "queues_full",
            Severity::Ok,
            "message queues".into(),
            "none is 90% full".into(),
        )
    } else {
        finding(
            "queues_full",
            Severity::Warning,
            format!("nearly full: {}", full.join(", ")),
            "senders wait (or fail, without waiting) until a receiver takes messages out; \
             perhaps its receiver is gone"
                .into(),
        )
        .fix("check that its receiver runs (rshm stat -q ID); raise its size with msgctl IPC_SET, or kernel.msgmnb for new queues")
    });
    findings
}

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

fn huge_pages() -> Vec<Finding> {
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

/// The inode numbers of the initial namespaces (`PROC_IPC_INIT_INO`, `PROC_PID_INIT_INO`).
const INITIAL_IPC: &str = "ipc:[4026531839]";
const INITIAL_PID: &str = "pid:[4026531836]";

fn namespaces() -> Vec<Finding> {
    let link = |path: &str| {
        std::fs::read_link(path)
            .ok()
            .map(|target| target.to_string_lossy().into_owned())
    };
    let mut findings = Vec::new();
    findings.push(match link("/proc/self/ns/ipc") {
        Some(ns) if ns == INITIAL_IPC => finding(
            "ipc_namespace",
            Severity::Ok,
            format!("the host's IPC namespace ({ns})"),
            "this process sees the objects of every program outside containers".into(),
        ),
        Some(ns) => finding(
            "ipc_namespace",
            Severity::Info,
            format!("an IPC namespace of its own: {ns} (the host's is {INITIAL_IPC})"),
            "this process (in a container, say) sees only the objects of its namespace: \
             programs on the host or in other containers have other segments, semaphores \
             and queues, even with the same keys"
                .into(),
        )
        .fix(
            "to share objects, run the programs in one IPC namespace: docker run \
             --ipc=host or --ipc=container:NAME; in Kubernetes, hostIPC: true or containers \
             of one pod",
        ),
        None => finding(
            "ipc_namespace",
            Severity::Info,
            "/proc/self/ns/ipc cannot be read".into(),
            "whether this is the host's IPC namespace is not known".into(),
        ),
    });
    if let Some(ns) = link("/proc/self/ns/pid") {
        if ns != INITIAL_PID {
            findings.push(finding(
                "pid_namespace",
                Severity::Info,
                format!("a PID namespace of its own: {ns}"),
                "objects used by processes outside it show pid 0: they are classed unknown \
                 and never removed by rm --orphans; run rshm in the host's PID namespace to \
                 judge them"
                    .into(),
            ));
        }
    }
    findings
}

fn abandoned(listed: &[Listed], rule: &Rule) -> Finding {
    let gone: Vec<&Listed> = listed
        .iter()
        .filter(|l| l.verdict.class == Class::Abandoned)
        .collect();
    if gone.is_empty() {
        return finding(
            "abandoned",
            Severity::Ok,
            "no abandoned objects".into(),
            format!(
                "every object is in use, kept on purpose, or used within {}",
                crate::render::span(rule.older_than_seconds())
            ),
        );
    }
    let mut parts = Vec::new();
    for kind in Kind::ALL {
        let of_kind: Vec<&&Listed> = gone.iter().filter(|l| l.object.kind() == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let noun = kind.noun();
        let mut part = count(of_kind.len() as u64, noun, &format!("{noun}s"));
        if kind == Kind::Segment {
            let bytes: u64 = of_kind
                .iter()
                .map(|l| match &l.object {
                    Object::Segment(s) => s.info.size as u64,
                    _ => 0,
                })
                .sum();
            part.push_str(&format!(" holding {}", human(bytes)));
        }
        parts.push(part);
    }
    finding(
        "abandoned",
        Severity::Warning,
        format!("abandoned: {}", parts.join(", ")),
        format!(
            "every process that made or used them is gone, and none was used for {}: they \
             take memory and count against the limits",
            crate::render::span(rule.older_than_seconds())
        ),
    )
    .fix("rshm rm --orphans --dry-run -m -s -q shows each with its reason; without --dry-run it removes them")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_ipc_follows_systemds_order_and_resets() {
        let dir = std::env::temp_dir().join(format!("rshm-doctor-{}", std::process::id()));
        let dropins = dir.join("logind.conf.d");
        std::fs::create_dir_all(&dropins).unwrap();
        let main = dir.join("logind.conf");
        std::fs::write(&main, "[Login]\n#RemoveIPC=yes\nRemoveIPC=no\n").unwrap();
        let read =
            || remove_ipc_setting(std::slice::from_ref(&main), std::slice::from_ref(&dropins));
        assert!(!read().value);
        assert!(
            read().source.ends_with("logind.conf, line 3"),
            "{}",
            read().source
        );
        std::fs::write(dropins.join("20-b.conf"), "[Login]\nRemoveIPC=yes\n").unwrap();
        std::fs::write(dropins.join("10-a.conf"), "[Login]\nRemoveIPC=off\n").unwrap();
        assert!(read().value, "the later drop-in by name wins");
        std::fs::write(
            dropins.join("30-c.conf"),
            "[Other]\nRemoveIPC=no\n[Login]\nRemoveIPC=\n",
        )
        .unwrap();
        assert_eq!(
            read(),
            default_remove_ipc(),
            "another section is ignored; empty resets"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn usage_is_judged_against_its_limit() {
        assert_eq!(usage_severity(1, 100), Severity::Ok);
        assert_eq!(usage_severity(90, 100), Severity::Warning);
        assert_eq!(usage_severity(100, 100), Severity::Error);
        assert_eq!(usage_severity(5, 0), Severity::Info);
        assert!(regular(1000) && !regular(999) && !regular(0) && !regular(65534));
    }

    #[test]
    fn meminfo_and_status_values_are_read() {
        let mem = "HugePages_Total:       4\nHugepagesize:       2048 kB\n";
        assert_eq!(meminfo(mem, "HugePages_Total"), Some(4));
        assert_eq!(meminfo(mem, "Hugepagesize"), Some(2048));
        assert_eq!(meminfo(mem, "HugePages_Free"), None);
        let status = "Gid:\t0\t5\t0\t0\nGroups:\t4 24 27\n";
        assert_eq!(status_field(status, "Groups:").as_deref(), Some("4 24 27"));
    }

    #[test]
    fn text_wraps_under_the_indent() {
        let long = "word ".repeat(40);
        let wrapped = wrap(long.trim(), "  ");
        assert!(wrapped
            .lines()
            .all(|l| l.len() <= 100 && l.starts_with("  word")));
    }
}
