//! The core's notion of time: a monotonic instant on a clock the caller owns.
//!
//! The core never reads a clock. Live drivers pass time elapsed since start;
//! pcap replay passes capture timestamps. Both are just nanoseconds here.

use serde::Serialize;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point on the caller's monotonic clock, as time since an arbitrary origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Instant(Duration);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(Duration::ZERO);

    /// An instant `since` after the origin.
    pub const fn from_duration(since: Duration) -> Self {
        Instant(since)
    }

    /// An instant `secs` seconds after the origin (handy in tests).
    pub const fn from_secs(secs: u64) -> Self {
        Instant(Duration::from_secs(secs))
    }

    /// An instant `ms` milliseconds after the origin (handy in tests).
    pub const fn from_millis(ms: u64) -> Self {
        Instant(Duration::from_millis(ms))
    }

    /// Time since the origin.
    pub const fn since_origin(self) -> Duration {
        self.0
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(rhs))
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_sub(rhs))
    }
}

/// The earlier of two optional deadlines.
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_picks_the_smaller_deadline() {
        let a = Some(Instant::from_secs(3));
        let b = Some(Instant::from_secs(2));
        assert_eq!(earliest(a, b), b);
        assert_eq!(earliest(a, None), a);
        assert_eq!(earliest(None, None), None);
    }

    #[test]
    fn saturating_since_never_underflows() {
        assert_eq!(
            Instant::from_secs(1).saturating_since(Instant::from_secs(5)),
            Duration::ZERO
        );
    }
}
