//! The multicast database as operators read it: for every group, which ports get it and why.
//!
//! The snooper says who gets each group and why ([`crate::igmp::why`]); this
//! view only turns port ids into names. A port gets a group as a *member*
//! (its own IGMP/MLD state), as a *router* port (router ports get every
//! group), while no querier is known on the VLAN by *flood* (RFC 4541
//! fallback: nothing is pruned yet), or as *static* (pinned by an operator).

use super::Switch;
use crate::igmp::querier::QuerierState;
use crate::time::Instant;
use serde::Serialize;
use std::net::IpAddr;

/// One (group, port) row: the snooper's [`crate::igmp::why::Why`] with the port named.
pub type MdbRow = crate::igmp::why::Why<String>;

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

/// One registered group's traffic figures (`show mdb --stats`).
#[derive(Debug, Clone, Serialize)]
pub struct GroupStats {
    /// VLAN (0 = untagged).
    pub vlan: u16,
    /// The group.
    pub group: IpAddr,
    /// Ports with members.
    pub members: usize,
    /// Copies of the group's data that ports without a member were spared.
    pub pruned_copies: u64,
}

/// `show mdb`.
#[derive(Debug, Clone, Serialize)]
pub struct MdbView {
    /// Per registered group: members and pruned copies, by VLAN and group.
    pub stats: Vec<GroupStats>,
    /// Group rows, by VLAN, group, then port.
    pub groups: Vec<MdbRow>,
    /// Router ports.
    pub router_ports: Vec<RouterRow>,
    /// Queriers of each (VLAN, family), including whether pruning is active.
    pub queriers: Vec<QuerierState>,
}

impl Switch {
    /// The multicast database at `now`, with port names: the snooper's
    /// [`crate::igmp::snooper::Snooper::why`] rows and router ports, named.
    pub fn mdb(&self, now: Instant) -> MdbView {
        let name = |p| self.port_name(p).unwrap_or("?").to_string();
        let mut groups: Vec<MdbRow> = self
            .snooper
            .why(now)
            .into_iter()
            .map(|w| {
                let port = name(w.port);
                w.with_port(port)
            })
            .collect();
        groups.sort_by(|a, b| (a.vlan, a.group, &a.port).cmp(&(b.vlan, b.group, &b.port)));
        let st = self.snooper.state(now);
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
        let stats = st
            .groups
            .iter()
            .map(|g| GroupStats {
                vlan: g.vlan,
                group: g.group,
                members: g.ports.len(),
                pruned_copies: g.pruned_copies,
            })
            .collect();
        MdbView {
            stats,
            groups,
            router_ports,
            queriers: st.queriers,
        }
    }
}
