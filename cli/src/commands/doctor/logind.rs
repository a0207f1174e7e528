//! `logind_remove_ipc`: systemd-logind's `RemoveIPC=`, read from
//! logind.conf and its drop-ins as logind reads them, and whose objects it
//! would remove.

use super::finding::{finding, Finding, Severity};
use crate::inventory::Listed;
use crate::render::{count, Names};
use rshm::ipc::Caller;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    fn regular_users_are_systemds_range() {
        assert!(regular(1000) && !regular(999) && !regular(0) && !regular(65534));
    }
}
