//! Port identity as the core sees it: a small index, stable while the port exists.

use serde::Serialize;
use std::fmt;

/// A switch port: a TAP device, a tunnel peer, or a pcap input.
///
/// Ids are indices into the core's port table. A removed port's id may be
/// reused by a later port, so holders must drop ids when told a port is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PortId(pub u32);

impl PortId {
    /// The id as a table index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for PortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
