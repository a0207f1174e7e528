//! Was the machine busy? The CPU time others used while the benchmark ran:
//! all the busy time /proc/stat counts, minus this process's and its reaped
//! children's, and the time the host stole from the vCPUs.

/// A snapshot: busy and stolen jiffies of all CPUs, our own CPU time, the clock.
pub struct Load {
    busy: f64,
    steal: f64,
    ours: f64,
    at: std::time::Instant,
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf takes no pointers.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}

fn cpu_seconds(who: i32) -> f64 {
    // SAFETY: a zeroed rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(who, &mut ru) };
    let s = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    s(ru.ru_utime) + s(ru.ru_stime)
}

impl Load {
    pub fn now() -> Load {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        // cpu user nice system idle iowait irq softirq steal ...
        let f: Vec<f64> = stat
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap_or(0.0))
            .collect();
        let at = |i: usize| f.get(i).copied().unwrap_or(0.0) / ticks_per_second();
        Load {
            busy: at(0) + at(1) + at(2) + at(5) + at(6),
            steal: at(7),
            ours: cpu_seconds(libc::RUSAGE_SELF) + cpu_seconds(libc::RUSAGE_CHILDREN),
            at: std::time::Instant::now(),
        }
    }

    /// Since `self`: what others used and the host stole, in % of all CPUs.
    pub fn note(&self) -> String {
        let end = Load::now();
        // SAFETY: sysconf takes no pointers.
        let cpus = (unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }).max(1) as f64;
        let capacity = cpus * end.at.duration_since(self.at).as_secs_f64();
        let others = ((end.busy - self.busy) - (end.ours - self.ours)).max(0.0) / capacity;
        let steal = (end.steal - self.steal) / capacity;
        format!(
            "load: other processes used {:.1}% of the {} CPUs during the run, the host stole {:.1}%{}",
            100.0 * others,
            cpus,
            100.0 * steal,
            match (others > 0.05, steal > 0.05) {
                (true, _) => " (BUSY: other processes shared the CPUs; not a quiet machine's numbers)",
                (false, true) => " (the host was busy: the brackets absorb a steady loss, not sudden ones)",
                _ => "",
            }
        )
    }
}
