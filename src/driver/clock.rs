//! The live clock: wall-clock monotonic time mapped onto the core's `Instant`.

use crate::time::Instant;

/// Monotonic time since the driver started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: tokio::time::Instant,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn start() -> Self {
        Clock {
            origin: tokio::time::Instant::now(),
        }
    }

    /// The current time on the core's clock.
    pub fn now(&self) -> Instant {
        Instant::from_duration(self.origin.elapsed())
    }

    /// The tokio instant matching a core instant, for sleeping.
    pub fn to_tokio(&self, t: Instant) -> tokio::time::Instant {
        self.origin + t.since_origin()
    }
}
