//! The limits of segments, semaphores and queues against their use
//! (`shmmni`, `shmall`, `shmmax`, `semmni`, `semmns`, `semmsl`, `msgmni`),
//! and queues nearly full.

use super::finding::{finding, Finding, Severity};
use crate::commands::limits::{self, AllLimits};
use crate::inventory::Listed;
use crate::render::human;
use rshm::ipc::Object;

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

pub fn limit_findings(all: &AllLimits, listed: &[Listed]) -> Vec<Finding> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_judged_against_its_limit() {
        assert_eq!(usage_severity(1, 100), Severity::Ok);
        assert_eq!(usage_severity(90, 100), Severity::Warning);
        assert_eq!(usage_severity(100, 100), Severity::Error);
        assert_eq!(usage_severity(5, 0), Severity::Info);
    }
}
