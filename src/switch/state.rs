//! Serializable snapshots of the core: the one source for `show`, metrics and `state.json`.

use super::ports::{PortCounters, PortKind};
use super::Switch;
use crate::fdb::FdbCounters;
use crate::igmp::snooper::SnoopState;
use crate::packet::ethernet::MacAddr;
use crate::time::Instant;
use serde::Serialize;

/// One port as shown to operators.
#[derive(Debug, Clone, Serialize)]
pub struct PortView {
    /// Port id inside the core.
    pub id: u32,
    /// Port name.
    pub name: String,
    /// What the port is.
    pub kind: PortKind,
    /// Whether it forwards.
    pub up: bool,
    /// Learned FDB entries on it.
    pub fdb_entries: usize,
    /// Milliseconds since it last received a frame.
    pub idle_ms: u64,
    /// Traffic and drop counters.
    pub counters: PortCounters,
}

/// One FDB row, with the port named.
#[derive(Debug, Clone, Serialize)]
pub struct FdbRow {
    /// VLAN id (0 = untagged).
    pub vlan: u16,
    /// Station MAC.
    pub mac: MacAddr,
    /// Port name.
    pub port: String,
    /// Static entries never age.
    pub is_static: bool,
    /// Milliseconds since last seen.
    pub age_ms: u64,
}

/// Everything the core knows, at one instant.
#[derive(Debug, Clone, Serialize)]
pub struct SwitchState {
    /// Milliseconds on the core's clock.
    pub now_ms: u64,
    /// Ports by id.
    pub ports: Vec<PortView>,
    /// FDB entries, sorted by VLAN and MAC.
    pub fdb: Vec<FdbRow>,
    /// FDB event counters.
    pub fdb_counters: FdbCounters,
    /// IGMP/MLD snooping: groups, router ports, queriers, counters.
    pub multicast: SnoopState,
}

pub(super) fn port_views(sw: &Switch, now: Instant) -> Vec<PortView> {
    sw.ports
        .iter()
        .map(|(id, p)| PortView {
            id: id.0,
            name: p.cfg.name.clone(),
            kind: p.cfg.kind,
            up: p.up,
            fdb_entries: sw.fdb.port_count(id),
            idle_ms: now.saturating_since(p.last_rx).as_millis() as u64,
            counters: PortCounters {
                mcast_pruned: sw.spared(id),
                ..p.counters.clone()
            },
        })
        .collect()
}

pub(super) fn snapshot(sw: &Switch, now: Instant) -> SwitchState {
    let ports = port_views(sw, now);
    let fdb = sw
        .fdb
        .entries(now)
        .into_iter()
        .map(|e| FdbRow {
            vlan: e.vlan,
            mac: e.mac,
            port: sw.port_name(e.port).unwrap_or("?").to_string(),
            is_static: e.is_static,
            age_ms: e.age_ms,
        })
        .collect();
    SwitchState {
        now_ms: now.since_origin().as_millis() as u64,
        ports,
        fdb,
        fdb_counters: sw.fdb.counters().clone(),
        multicast: sw.snooper.state(now),
    }
}
