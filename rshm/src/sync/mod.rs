//! Synchronisation between processes: semaphores, robust mutexes in a
//! segment, and single-producer single-consumer channels.

pub mod channel;
mod fence;
pub mod mutex;
pub mod queue;
pub mod semaphore;

use std::time::{Duration, Instant};

/// When a wait of `timeout` ends: `None` for no timeout, and also for one too
/// long for the clock to hold (`Duration::MAX`), which waits as long as it takes.
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|timeout| Instant::now().checked_add(timeout))
}
