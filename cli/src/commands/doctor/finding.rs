//! A finding of `rshm doctor`: what was checked, the evidence, what it
//! means and the fix, with a severity.

use serde::Serialize;

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
    pub fn label(self) -> &'static str {
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

/// A finding without a fix.
pub fn finding(
    check: &'static str,
    severity: Severity,
    evidence: String,
    meaning: String,
) -> Finding {
    Finding {
        check,
        severity,
        evidence,
        meaning,
        fix: None,
    }
}

impl Finding {
    /// The finding with what to do about it.
    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = Some(fix.into());
        self
    }
}
