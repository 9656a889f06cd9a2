//! The port table: what the core knows about each port, and its counters.

use super::drop::{DropCounts, DropReason};
use super::pruned::PortPrune;
use super::vlan::VlanMode;
use crate::igmp::config::PortSnoopConfig;
use crate::port::PortId;
use crate::time::Instant;
use serde::Serialize;
use std::time::Duration;

/// What sits behind a port; for display and for per-kind defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortKind {
    /// A TAP device (a VM or a namespace).
    Tap,
    /// A UDP tunnel peer.
    Peer,
    /// A pcap input or output (replay).
    Pcap,
}

/// How the core should treat a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortConfig {
    /// Unique name: the TAP name, or the peer's address.
    pub name: String,
    /// What the port is.
    pub kind: PortKind,
    /// Remove the port after this long without a received frame (dynamic peers).
    pub idle_timeout: Option<Duration>,
    /// Multicast settings: router port, fast leave, flooding overrides, limits.
    pub snoop: PortSnoopConfig,
    /// Most MACs learned behind this port, below the FDB's per-port limit (tunnel peers).
    pub max_macs: Option<usize>,
    /// How the port carries VLANs (transparent unless configured).
    pub vlan: VlanMode,
}

impl PortConfig {
    /// A port that never expires.
    pub fn new(name: impl Into<String>, kind: PortKind) -> Self {
        PortConfig {
            name: name.into(),
            kind,
            idle_timeout: None,
            snoop: PortSnoopConfig::default(),
            max_macs: None,
            vlan: VlanMode::Transparent,
        }
    }
}

/// Per-port traffic counters.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PortCounters {
    /// Frames received.
    pub rx_frames: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Frames sent (switched out of this port).
    pub tx_frames: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Frames dropped, by reason. Ingress drops count on the ingress port,
    /// egress failures on the egress port.
    pub drops: DropCounts,
    /// Multicast data frames this port was spared: snooping found no member
    /// (nor router, nor pin) behind it, where a switch without snooping
    /// would have flooded them here. Filled in when the port is viewed.
    #[serde(skip_serializing_if = "crate::is_zero")]
    pub mcast_pruned: u64,
}

/// A port in the table.
#[derive(Debug, Clone)]
pub(crate) struct Port {
    pub cfg: PortConfig,
    pub up: bool,
    pub last_rx: Instant,
    pub counters: PortCounters,
    /// Its share of the pruned-copy ledger (`counters.mcast_pruned` is filled from it for views).
    pub prune: PortPrune,
}

/// Ports by id, with stable ids and reuse of freed slots.
#[derive(Debug, Default)]
pub(crate) struct PortTable {
    slots: Vec<Option<Port>>,
}

impl PortTable {
    pub fn insert(&mut self, cfg: PortConfig, now: Instant) -> PortId {
        let port = Port {
            cfg,
            up: true,
            last_rx: now,
            counters: PortCounters::default(),
            prune: PortPrune::default(),
        };
        match self.slots.iter().position(Option::is_none) {
            Some(i) => {
                self.slots[i] = Some(port);
                PortId(i as u32)
            }
            None => {
                self.slots.push(Some(port));
                PortId(self.slots.len() as u32 - 1)
            }
        }
    }

    pub fn remove(&mut self, id: PortId) -> Option<Port> {
        self.slots.get_mut(id.index()).and_then(Option::take)
    }

    #[inline]
    pub fn get(&self, id: PortId) -> Option<&Port> {
        self.slots.get(id.index()).and_then(Option::as_ref)
    }

    #[inline]
    pub fn get_mut(&mut self, id: PortId) -> Option<&mut Port> {
        self.slots.get_mut(id.index()).and_then(Option::as_mut)
    }

    pub fn by_name(&self, name: &str) -> Option<PortId> {
        self.iter()
            .find(|(_, p)| p.cfg.name == name)
            .map(|(id, _)| id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (PortId, &Port)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.as_ref().map(|p| (PortId(i as u32), p)))
    }

    pub fn drop_on(&mut self, id: PortId, reason: DropReason) {
        if let Some(p) = self.get_mut(id) {
            p.counters.drops.add(reason);
        }
    }
}
