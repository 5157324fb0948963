//! Which clock stamps a signal's `emitted_at_ms`: the wall clock live, event time in replay (so a
//! replay's output is the same on every run and every machine).
#![allow(clippy::disallowed_methods)] // this module is the live clock

use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitClock {
    /// Wall clock.
    Live,
    /// The newest event time seen.
    Replay,
}

impl EmitClock {
    /// Now, given the newest event time (ms) the caller has seen.
    pub fn now_ms(self, event_time_ms: i64) -> i64 {
        match self {
            EmitClock::Replay => event_time_ms,
            EmitClock::Live => wall_ns().div_euclid(1_000_000),
        }
    }
}

/// The wall clock in ns since the Unix epoch (0 before 1970, saturating in 2262): receive
/// times of live data.
pub fn wall_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
