//! Timeouts as C passes them: milliseconds, negative to wait forever, 0 not to wait.

use libc::c_long;
use std::time::Duration;

/// The Rust API's timeout for `ms`: `None` (forever) when negative.
pub(crate) fn timeout(ms: c_long) -> Option<Duration> {
    u64::try_from(ms).ok().map(Duration::from_millis)
}
