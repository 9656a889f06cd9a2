//! The node's state as operators see it: `show peers`, `show state`, and
//! the metrics sample. Serializable structs are the one source of the JSON
//! and the tables.

use super::Node;
use crate::metrics::{ListenerSample, Sample};
use crate::port::PortId;
use crate::switch::PortView;
use crate::time::Instant;
use crate::tunnel::config::Encap;
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;

/// A tunnel peer as shown by `show peers`.
#[derive(Debug, Clone, Serialize)]
pub struct PeerRow {
    /// Port name.
    pub name: String,
    /// Listener it belongs to.
    pub listener: String,
    /// Encapsulation.
    pub encap: Encap,
    /// Where frames for it go.
    pub remote: SocketAddr,
    /// Configured (never expires) or dynamic.
    pub is_static: bool,
    /// Milliseconds since it last sent a frame.
    pub idle_ms: u64,
    /// MACs learned behind it.
    pub macs: Vec<String>,
}

/// A listener as shown by `show state`.
#[derive(Debug, Clone, Serialize)]
pub struct ListenerRow {
    /// Name.
    pub name: String,
    /// Bound address.
    pub bind: SocketAddr,
    /// Encapsulation.
    pub encap: Encap,
    /// VNI (VXLAN without `vnis`).
    pub vni: Option<u32>,
    /// VNI → VLAN (VXLAN with `vnis`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub vnis: std::collections::BTreeMap<u32, u16>,
    /// Datagram counters.
    pub counters: crate::tunnel::ListenerCounters,
}

/// The whole running switch: the core's state plus the tunnels'.
#[derive(Debug, Clone, Serialize)]
pub struct NodeState {
    /// Core state: ports, FDB, counters.
    pub switch: crate::switch::SwitchState,
    /// Tunnel listeners.
    pub listeners: Vec<ListenerRow>,
    /// Tunnel peers.
    pub peers: Vec<PeerRow>,
}

impl Node {
    /// Every tunnel peer, by listener then port.
    pub fn peers(&self, now: Instant) -> Vec<PeerRow> {
        let mut macs: HashMap<PortId, Vec<String>> = HashMap::new();
        for e in self.switch.fdb().entries(now) {
            macs.entry(e.port).or_default().push(e.mac.to_string());
        }
        let views: HashMap<u32, PortView> = self
            .switch
            .port_views(now)
            .into_iter()
            .map(|v| (v.id, v))
            .collect();
        let mut rows = Vec::new();
        for t in self.tunnels.iter().flatten() {
            for p in t.peers.peers() {
                let view = views.get(&p.port.0);
                rows.push(PeerRow {
                    name: view.map(|v| v.name.clone()).unwrap_or_default(),
                    listener: t.peers.name().to_string(),
                    encap: t.peers.config().encap,
                    remote: p.remote,
                    is_static: p.is_static,
                    idle_ms: view.map_or(0, |v| v.idle_ms),
                    macs: macs.remove(&p.port).unwrap_or_default(),
                });
            }
        }
        rows
    }

    /// Tunnel listeners and their counters.
    pub fn listener_rows(&self) -> Vec<ListenerRow> {
        self.tunnels
            .iter()
            .flatten()
            .map(|t| {
                let cfg = t.peers.config();
                ListenerRow {
                    name: t.peers.name().to_string(),
                    bind: cfg.bind,
                    encap: cfg.encap,
                    vni: (cfg.encap == Encap::Vxlan && cfg.vnis.is_empty()).then_some(cfg.vni),
                    vnis: cfg.segments().into_iter().collect(),
                    counters: t.peers.counters().clone(),
                }
            })
            .collect()
    }

    /// The whole state, for `show state` and `show counters`.
    pub fn state(&self, now: Instant) -> NodeState {
        NodeState {
            switch: self.switch.state(now),
            listeners: self.listener_rows(),
            peers: self.peers(now),
        }
    }

    /// What a metrics scrape reports: counters and table sizes, no table dumps.
    pub fn metrics_sample(&self, now: Instant) -> Sample {
        let snooper = self.switch.snooper();
        Sample {
            ports: self.switch.port_views(now),
            fdb_entries: self.switch.fdb().len(),
            mdb_groups: snooper.group_count(),
            queriers: snooper.querier_states(now),
            snoop: snooper.counters().clone(),
            listeners: self
                .tunnels
                .iter()
                .flatten()
                .map(|t| ListenerSample {
                    name: t.peers.name().to_string(),
                    peers: t.peers.peer_count(),
                    counters: t.peers.counters().clone(),
                })
                .collect(),
        }
    }
}
