//! Multicast-router ports per (VLAN, port) (RFC 4541 §2.1.1(1)).
//!
//! Learned from queries with a non-zero source (never from 0.0.0.0 or ::,
//! which proxy queriers use), PIM hellos and MRD advertisements; each
//! sighting keeps the port a router port for the Other Querier Present
//! Interval. Per-port `mrouter = always / never` overrides learning: the
//! snooper passes the static set in and refuses to learn on `never` ports.

use crate::port::PortId;
use crate::time::Instant;
use serde::Serialize;
use std::collections::BTreeMap;

/// Learned router ports and when each expires.
#[derive(Debug, Default)]
pub(crate) struct RouterPorts {
    learned: BTreeMap<(u16, PortId), Instant>,
}

impl RouterPorts {
    /// `port` has a router in `vlan` until at least `until`.
    pub(crate) fn learn(&mut self, vlan: u16, port: PortId, until: Instant) {
        let e = self.learned.entry((vlan, port)).or_insert(until);
        *e = (*e).max(until);
    }

    /// Whether `port` is a learned router port of `vlan` at `now`.
    pub(crate) fn is_learned(&self, vlan: u16, port: PortId, now: Instant) -> bool {
        self.learned.get(&(vlan, port)).is_some_and(|t| *t > now)
    }

    /// Push the learned router ports of `vlan` that are live at `now`.
    pub(crate) fn collect(&self, vlan: u16, now: Instant, out: &mut Vec<PortId>) {
        let lo = (vlan, PortId(0));
        let hi = (vlan, PortId(u32::MAX));
        out.extend(
            self.learned
                .range(lo..=hi)
                .filter(|(_, t)| **t > now)
                .map(|((_, p), _)| *p),
        );
    }

    /// Drop entries that expired by `now`.
    pub(crate) fn expire(&mut self, now: Instant) {
        self.learned.retain(|_, t| *t > now);
    }

    /// The earliest expiry.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.learned.values().min().copied()
    }

    /// Forget a port's entries (all VLANs), or everything (`None`).
    pub(crate) fn flush(&mut self, port: Option<PortId>) {
        match port {
            Some(port) => self.learned.retain(|(_, p), _| *p != port),
            None => self.learned.clear(),
        }
    }

    /// Learned entries live at `now`, in (VLAN, port) order.
    pub(crate) fn dump(&self, now: Instant) -> impl Iterator<Item = RouterPortState> + '_ {
        self.learned
            .iter()
            .filter(move |(_, t)| **t > now)
            .map(move |(&(vlan, port), t)| RouterPortState {
                vlan: Some(vlan),
                port,
                expires_ms: Some(super::membership::ms_left(*t, now)),
                is_static: false,
            })
    }
}

/// A router port in a state dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouterPortState {
    /// VLAN; `None` for a static port, which is a router port in every VLAN.
    pub vlan: Option<u16>,
    /// The port.
    pub port: PortId,
    /// Time left for a learned port; `None` for a static one.
    pub expires_ms: Option<u64>,
    /// Configured `mrouter = always`.
    #[serde(rename = "static")]
    pub is_static: bool,
}
