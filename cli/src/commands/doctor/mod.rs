//! `rshm doctor`: one screen on why shared memory may misbehave on this
//! machine. Each finding names what it checked, the evidence, what it means
//! and the fix, with a severity; exit code 1 when one is a warning or an error.
//! One file per check; this one runs them in order and renders the findings.

mod abandoned;
mod finding;
mod huge_pages;
mod limits;
mod logind;
mod namespaces;
mod rmid_forced;
mod systemd_conf;

pub use finding::{Finding, Severity};

use crate::args::DoctorArgs;
use crate::inventory::gather;
use crate::render::{count, json};
use finding::finding;
use rshm::ipc::{Kind, Rule};
use serde::Serialize;
use std::path::Path;

/// The JSON of `doctor --json`.
#[derive(Debug, Serialize)]
struct DoctorJson<'a> {
    findings: &'a [Finding],
    worst: Severity,
    wrong: bool,
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
    let mut findings = vec![rmid_forced::rmid_forced()];
    match &inventory {
        Ok(listed) => {
            findings.push(logind::remove_ipc(logind_conf, listed));
            match crate::commands::limits::read() {
                Ok(all) => findings.extend(limits::limit_findings(&all, listed)),
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
    findings.extend(huge_pages::huge_pages());
    findings.extend(namespaces::namespaces());
    if let Ok(listed) = &inventory {
        findings.push(abandoned::abandoned(listed, rule));
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
pub(super) fn read(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path).map(|text| text.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_wraps_under_the_indent() {
        let long = "word ".repeat(40);
        let wrapped = wrap(long.trim(), "  ");
        assert!(wrapped
            .lines()
            .all(|l| l.len() <= 100 && l.starts_with("  word")));
    }
}
