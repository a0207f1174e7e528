//! `ipc_namespace` and `pid_namespace`: whether this process sees the
//! host's objects, and the host's processes.

use super::finding::{finding, Finding, Severity};

/// The inode numbers of the initial namespaces (`PROC_IPC_INIT_INO`, `PROC_PID_INIT_INO`).
const INITIAL_IPC: &str = "ipc:[4026531839]";
const INITIAL_PID: &str = "pid:[4026531836]";

pub fn namespaces() -> Vec<Finding> {
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
