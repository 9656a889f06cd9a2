//! The multicast database as operators read it: for every group, which ports get it and why.
//!
//! Built from the snooper's state with port ids turned into names. A port
//! gets a group as a *member* (its own IGMP/MLD state), as a *router* port
//! (router ports get every group), or, while no querier is known on the
//! VLAN, by *flood* (RFC 4541 fallback: nothing is pruned yet).

use super::Switch;
use crate::igmp::membership::{FilterMode, SourceState};
use crate::igmp::querier::QuerierState;
use crate::igmp::repr::{Family, Version};
use crate::time::Instant;
use serde::Serialize;
use std::net::IpAddr;

/// Why a port receives a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// The port's hosts asked for it.
    Member,
    /// The port leads to a multicast router.
    Router,
    /// No querier is known on the VLAN yet, so the group is flooded.
    Flood,
    /// An operator pinned the port to the group.
    Static,
}

/// One (group, port) row.
#[derive(Debug, Clone, Serialize)]
pub struct MdbRow {
    /// VLAN (0 = untagged).
    pub vlan: u16,
    /// The group.
    pub group: IpAddr,
    /// Port name.
    pub port: String,
    /// Why the port gets the group.
    pub reason: Reason,
    /// INCLUDE / EXCLUDE (members only).
    pub filter_mode: Option<FilterMode>,
    /// Oldest host version present (members only).
    pub compat: Option<Version>,
    /// Group timer in milliseconds (EXCLUDE members only).
    pub timer_ms: Option<u64>,
    /// Source records with their timers (members only).
    pub sources: Vec<SourceState>,
}

/// A router port row.
#[derive(Debug, Clone, Serialize)]
pub struct RouterRow {
    /// VLAN, or none for a static router port (all VLANs).
    pub vlan: Option<u16>,
    /// Port name.
    pub port: String,
    /// Configured rather than learned.
    pub is_static: bool,
    /// Milliseconds until a learned router port expires.
    pub expires_ms: Option<u64>,
}

/// `show mdb`.
#[derive(Debug, Clone, Serialize)]
pub struct MdbView {
    /// Group rows, by VLAN, group, then port.
    pub groups: Vec<MdbRow>,
    /// Router ports.
    pub router_ports: Vec<RouterRow>,
    /// Queriers of each (VLAN, family), including whether pruning is active.
    pub queriers: Vec<QuerierState>,
}

impl Switch {
    /// The multicast database at `now`, with port names.
    pub fn mdb(&self, now: Instant) -> MdbView {
        let st = self.snooper.state(now);
        let name = |p| self.port_name(p).unwrap_or("?").to_string();
        let pruning = |vlan: u16, family: Family| {
            st.queriers
                .iter()
                .any(|q| q.vlan == vlan && q.family == family && q.pruning)
        };
        let mut groups = Vec::new();
        for g in &st.groups {
            let flooding = !pruning(g.vlan, Family::of(&g.group));
            for p in &g.ports {
                groups.push(MdbRow {
                    vlan: g.vlan,
                    group: g.group,
                    port: name(p.port),
                    reason: Reason::Member,
                    filter_mode: Some(p.filter_mode),
                    compat: Some(p.compat),
                    timer_ms: p.group_timer_ms,
                    sources: p.sources.clone(),
                });
            }
            let members: Vec<_> = g.ports.iter().map(|p| p.port).collect();
            let others: Vec<(crate::port::PortId, Reason)> = if flooding {
                self.ports
                    .iter()
                    .map(|(id, _)| (id, Reason::Flood))
                    .collect()
            } else {
                st.router_ports
                    .iter()
                    .filter(|r| r.vlan.is_none_or(|v| v == g.vlan))
                    .map(|r| (r.port, Reason::Router))
                    .collect()
            };
            for (port, reason) in others {
                if members.contains(&port)
                    || groups.iter().any(|r: &MdbRow| {
                        r.group == g.group && r.vlan == g.vlan && r.port == name(port)
                    })
                {
                    continue;
                }
                groups.push(MdbRow {
                    vlan: g.vlan,
                    group: g.group,
                    port: name(port),
                    reason,
                    filter_mode: None,
                    compat: None,
                    timer_ms: None,
                    sources: Vec::new(),
                });
            }
        }
        for (vlan, group, port) in self.static_mdb() {
            let port = name(port);
            if let Some(row) = groups
                .iter_mut()
                .find(|r| r.vlan == vlan && r.group == group && r.port == port)
            {
                row.reason = Reason::Static;
            } else {
                groups.push(MdbRow {
                    vlan,
                    group,
                    port,
                    reason: Reason::Static,
                    filter_mode: None,
                    compat: None,
                    timer_ms: None,
                    sources: Vec::new(),
                });
            }
        }
        groups.sort_by(|a, b| (a.vlan, a.group, &a.port).cmp(&(b.vlan, b.group, &b.port)));
        let router_ports = st
            .router_ports
            .iter()
            .map(|r| RouterRow {
                vlan: r.vlan,
                port: name(r.port),
                is_static: r.is_static,
                expires_ms: r.expires_ms,
            })
            .collect();
        MdbView {
            groups,
            router_ports,
            queriers: st.queriers,
        }
    }
}
