//! `abandoned`: the objects the classification calls abandoned, by kind,
//! with the memory their segments hold.

use super::finding::{finding, Finding, Severity};
use crate::inventory::Listed;
use crate::render::{count, human};
use rshm::ipc::{Class, Kind, Object, Rule};

pub fn abandoned(listed: &[Listed], rule: &Rule) -> Finding {
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
