//! `rshm limits`: the limits of this IPC namespace on all three kinds, and
//! how much of each is used (what `ipcs -l -u` and `lsipc -g` show).

use crate::args::LimitsArgs;
use crate::fail::{self, Cause};
use crate::render::{human, json};
use rshm::ipc;
use serde::Serialize;

/// Everything `limits` reports, as its JSON has it (the kernel's names).
#[derive(Debug, Serialize)]
pub struct AllLimits {
    pub shm: ShmLimits,
    pub sem: SemLimits,
    pub msg: MsgLimits,
}

#[derive(Debug, Serialize)]
pub struct ShmLimits {
    pub shmmax: u64,
    pub shmall: u64,
    pub shmmni: u64,
    pub page_size: u64,
    pub segments: u64,
    pub pages: u64,
    pub resident_pages: u64,
    pub swapped_pages: u64,
}

#[derive(Debug, Serialize)]
pub struct SemLimits {
    pub semmsl: u64,
    pub semmns: u64,
    pub semopm: u64,
    pub semmni: u64,
    pub semvmx: u64,
    pub sets: u64,
    pub semaphores: u64,
}

#[derive(Debug, Serialize)]
pub struct MsgLimits {
    pub msgmni: u64,
    pub msgmax: u64,
    pub msgmnb: u64,
    pub queues: u64,
    pub messages: u64,
    pub bytes: u64,
}

/// The page size, the unit of `kernel.shmall`.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        page as u64
    } else {
        4096
    }
}

/// The limits and usage of all three kinds.
pub fn read() -> rshm::Result<AllLimits> {
    let (shm, shm_used) = (rshm::limits()?, rshm::usage()?);
    let (sem, sem_used) = (ipc::semaphore_limits()?, ipc::semaphore_usage()?);
    let (msg, msg_used) = (ipc::queue_limits()?, ipc::queue_usage()?);
    Ok(AllLimits {
        shm: ShmLimits {
            shmmax: shm.max_segment_size,
            shmall: shm.max_total_pages,
            shmmni: shm.max_segments,
            page_size: page_size(),
            segments: u64::from(shm_used.segments),
            pages: shm_used.total_pages,
            resident_pages: shm_used.resident_pages,
            swapped_pages: shm_used.swapped_pages,
        },
        sem: SemLimits {
            semmsl: sem.max_per_set,
            semmns: sem.max_total,
            semopm: sem.max_ops_per_call,
            semmni: sem.max_sets,
            semvmx: sem.max_value,
            sets: sem_used.sets,
            semaphores: sem_used.semaphores,
        },
        msg: MsgLimits {
            msgmni: msg.max_queues,
            msgmax: msg.max_message,
            msgmnb: msg.max_queue_bytes,
            queues: msg_used.queues,
            messages: msg_used.messages,
            bytes: msg_used.bytes,
        },
    })
}

/// `used` as a percentage of `max`: `0.02%`.
pub fn percent(used: u64, max: u64) -> String {
    if max == 0 {
        return "-".into();
    }
    format!("{:.2}%", used as f64 * 100.0 / max as f64)
}

pub fn run(args: LimitsArgs) -> u8 {
    let all = match read() {
        Ok(all) => all,
        Err(error) => {
            fail::report(
                format!("cannot read the limits: {}", error.reason()),
                Cause::Rshm(&error),
            );
            return 1;
        }
    };
    if args.json {
        println!("{}", json::line(&all));
        return 0;
    }
    let AllLimits { shm, sem, msg } = &all;
    let page = shm.page_size;
    println!("Shared memory segments");
    println!(
        "  kernel.shmmax  {} bytes ({}): the largest segment",
        shm.shmmax,
        human(shm.shmmax)
    );
    println!(
        "  kernel.shmall  {} pages ({}): all segments together; in use {} pages ({}, {}), \
         resident {}, swapped {}",
        shm.shmall,
        human(shm.shmall.saturating_mul(page)),
        shm.pages,
        human(shm.pages.saturating_mul(page)),
        percent(shm.pages, shm.shmall),
        human(shm.resident_pages.saturating_mul(page)),
        human(shm.swapped_pages.saturating_mul(page))
    );
    println!(
        "  kernel.shmmni  {} segments; in use {} ({})",
        shm.shmmni,
        shm.segments,
        percent(shm.segments, shm.shmmni)
    );
    println!(
        "Semaphore sets (kernel.sem = {} {} {} {})",
        sem.semmsl, sem.semmns, sem.semopm, sem.semmni
    );
    println!("  SEMMSL  {} semaphores in one set", sem.semmsl);
    println!(
        "  SEMMNS  {} semaphores in all sets; in use {} ({})",
        sem.semmns,
        sem.semaphores,
        percent(sem.semaphores, sem.semmns)
    );
    println!("  SEMOPM  {} operations in one semop call", sem.semopm);
    println!(
        "  SEMMNI  {} sets; in use {} ({})",
        sem.semmni,
        sem.sets,
        percent(sem.sets, sem.semmni)
    );
    println!("  SEMVMX  {}: the largest value of a semaphore", sem.semvmx);
    println!("Message queues");
    println!(
        "  kernel.msgmni  {} queues; in use {} ({})",
        msg.msgmni,
        msg.queues,
        percent(msg.queues, msg.msgmni)
    );
    println!(
        "  kernel.msgmax  {} bytes ({}): the largest message",
        msg.msgmax,
        human(msg.msgmax)
    );
    println!(
        "  kernel.msgmnb  {} bytes ({}): what a new queue may hold; waiting now in all queues: \
         {} messages, {} bytes",
        msg.msgmnb,
        human(msg.msgmnb),
        msg.messages,
        msg.bytes
    );
    0
}
