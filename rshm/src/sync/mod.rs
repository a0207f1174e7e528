//! Synchronisation between processes: semaphores, robust mutexes in a
//! segment, and single-producer single-consumer channels.

pub mod channel;
pub mod mutex;
pub mod semaphore;
