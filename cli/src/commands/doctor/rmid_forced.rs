//! `shm_rmid_forced`: whether the kernel destroys every segment as soon as
//! nothing attaches it, in this IPC namespace.

use super::finding::{finding, Finding, Severity};
use super::read;

pub fn rmid_forced() -> Finding {
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
