//! Synchronisation between processes: semaphores, robust mutexes in a
//! segment, and single-producer single-consumer channels.

pub mod channel;
mod fence;
pub mod mutex;
pub mod semaphore;
