//! The forwarding database: which port each (VLAN, MAC) was last seen on.
//!
//! Learned entries age out; static entries come from config and never move.
//! The table is bounded in total and per port. When a bound is hit the
//! switch keeps forwarding (the unknown destination floods) and counts the
//! refusal; nothing is evicted and nothing crashes.

mod table;

pub use table::{Fdb, FdbCounters, FdbEntryView, LearnOutcome};

use serde::Deserialize;
use std::time::Duration;

/// Limits and timers of the forwarding database.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FdbConfig {
    /// How long a learned entry lives without traffic from its MAC (IEEE 802.1D default 300 s).
    #[serde(with = "crate::duration")]
    pub ageing_time: Duration,
    /// Most entries in the whole table.
    pub max_entries: usize,
    /// Most learned entries on one port (static entries do not count).
    pub max_entries_per_port: usize,
}

impl Default for FdbConfig {
    fn default() -> Self {
        FdbConfig {
            ageing_time: Duration::from_secs(300),
            max_entries: 65_536,
            max_entries_per_port: 8_192,
        }
    }
}
