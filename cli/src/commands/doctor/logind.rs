//! `logind_remove_ipc`: systemd-logind's `RemoveIPC=`, read from
//! logind.conf and its drop-ins as logind reads them, and whose objects it
//! would remove.

use super::finding::{finding, Finding, Severity};
use super::systemd_conf;
use crate::fail::io_words;
use crate::inventory::Listed;
use crate::render::{count, Names};
use rshm::ipc::Caller;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where `RemoveIPC=` was last set, and to what.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RemoveIpc {
    value: bool,
    /// `the default` or `PATH, line N` (`lines N-M` when continued).
    source: String,
    /// Where logind stops reading its configuration, if it does: `PATH,
    /// line N: it is not UTF-8`. Nothing after it counts.
    stopped: Option<String>,
    /// Files this user may not read (`PATH (permission denied)`): logind
    /// reads them, so the value may differ from what doctor sees.
    unreadable: Vec<String>,
}

impl RemoveIpc {
    /// `systemd-logind RemoveIPC=yes (SOURCE)`, and where logind stops
    /// reading its configuration, if it does.
    fn evidence(&self) -> String {
        let value = if self.value { "yes" } else { "no" };
        let mut notes = vec![self.source.clone()];
        if let Some(stop) = &self.stopped {
            notes.push(format!(
                "logind reads no further than {stop}, so later lines and drop-ins are ignored"
            ));
        }
        if !self.unreadable.is_empty() {
            notes.push(format!(
                "this user cannot read {}",
                self.unreadable.join(", ")
            ));
        }
        format!("systemd-logind RemoveIPC={value} ({})", notes.join("; "))
    }

    /// Reads `path`: its bytes; `None` when it does not exist, or when this
    /// user may not read it (noted, as logind reads it).
    fn read(&mut self, path: &Path) -> Option<Vec<u8>> {
        match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => {
                self.unreadable
                    .push(format!("{} ({})", path.display(), io_words(&error)));
                None
            }
        }
    }
}

/// systemd's booleans (`parse_boolean`).
fn boolean(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// Applies the `RemoveIPC=` settings of one file (in `[Login]`) to
/// `setting`, as logind does: a value that is not a boolean, the empty one
/// included, is ignored (`config_parse_bool`). Whether logind reads on after it.
fn apply_remove_ipc(bytes: &[u8], path: &Path, setting: &mut RemoveIpc) -> bool {
    let parsed = systemd_conf::parse(bytes);
    for found in &parsed.settings {
        if found.section != "Login" || found.key != "RemoveIPC" {
            continue;
        }
        if let Some(value) = boolean(&found.value) {
            setting.value = value;
            setting.source = format!("{}, {}", path.display(), found.lines());
        }
    }
    match parsed.stop {
        Some(stop) => {
            setting.stopped = Some(format!(
                "{}, line {}: it {}",
                path.display(),
                stop.line,
                stop.why
            ));
            false
        }
        None => true,
    }
}

/// systemd's own default: yes.
fn default_remove_ipc() -> RemoveIpc {
    RemoveIpc {
        value: true,
        source: "the default: no setting in logind.conf or its drop-ins".into(),
        stopped: None,
        unreadable: Vec::new(),
    }
}

/// What `RemoveIPC` is for systemd-logind: the main file, then the drop-ins
/// (`*.conf` in the `.d` folders, by file name; a name in an earlier folder
/// hides the same name in later ones), each read as bytes, as systemd reads
/// them ([`systemd_conf`]), until a line stops the reading.
fn remove_ipc_setting(main_files: &[PathBuf], dropin_dirs: &[PathBuf]) -> RemoveIpc {
    let mut setting = default_remove_ipc();
    // The first main file that exists, readable or not, is logind's.
    if let Some(path) = main_files.iter().find(|path| path.exists()) {
        if let Some(bytes) = setting.read(path) {
            if !apply_remove_ipc(&bytes, path, &mut setting) {
                return setting;
            }
        }
    }
    // By name as bytes, as systemd sorts them; folders are not drop-ins.
    let mut dropins: BTreeMap<OsString, PathBuf> = BTreeMap::new();
    for dir in dropin_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.as_bytes().ends_with(b".conf") && !entry.path().is_dir() {
                dropins.entry(name).or_insert_with(|| entry.path());
            }
        }
    }
    for path in dropins.values() {
        if let Some(bytes) = setting.read(path) {
            if !apply_remove_ipc(&bytes, path, &mut setting) {
                break;
            }
        }
    }
    setting
}

/// Regular users, whose objects `RemoveIPC` removes: uid 1000 to 60000
/// (systemd's range; root and system users are never affected).
fn regular(uid: u32) -> bool {
    (1000..=60000).contains(&uid)
}

pub fn remove_ipc(custom: Option<&Path>, listed: &[Listed]) -> Finding {
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
    let evidence = setting.evidence();
    if !setting.value && !setting.unreadable.is_empty() {
        return finding(
            check,
            Severity::Info,
            evidence,
            "objects stay when their owner logs out, as far as this user can see: a file it \
             cannot read may set RemoveIPC=yes"
                .into(),
        )
        .fix("run rshm doctor as root to read every file");
    }
    if !setting.value {
        return finding(
            check,
            Severity::Ok,
            evidence,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_ipc_follows_systemds_order_and_ignores_what_is_not_a_boolean() {
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
        let kept = read();
        assert!(
            kept.value && kept.source.ends_with("20-b.conf, line 2"),
            "another section is ignored, and so is an empty value (config_parse_bool): {kept:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn regular_users_are_systemds_range() {
        assert!(regular(1000) && !regular(999) && !regular(0) && !regular(65534));
    }
}
