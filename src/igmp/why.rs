//! Why each port receives each group: operator-pinned entries, and the
//! answer to "who gets this group, and for what reason" that `show mdb`
//! prints. Kept beside the snooper's state so the view and the forwarding
//! decision are read from the same tables, never re-derived elsewhere.

use super::membership::{FilterMode, SourceState};
use super::repr::{Family, Version};
use super::snooper::Snooper;
use crate::port::PortId;
use crate::time::Instant;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
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

/// One (VLAN, group, port) and why the port gets the group. `P` is how the
/// port is named: its id here, its name in `show mdb` (`switch::MdbRow`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Why<P = PortId> {
    /// VLAN (0 = untagged).
    pub vlan: u16,
    /// The group.
    pub group: IpAddr,
    /// The port.
    pub port: P,
    /// Why.
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

impl<P> Why<P> {
    /// The same row with the port named otherwise.
    pub fn with_port<Q>(self, port: Q) -> Why<Q> {
        Why {
            vlan: self.vlan,
            group: self.group,
            port,
            reason: self.reason,
            filter_mode: self.filter_mode,
            compat: self.compat,
            timer_ms: self.timer_ms,
            sources: self.sources,
        }
    }
}

impl Why {
    fn bare(vlan: u16, group: IpAddr, port: PortId, reason: Reason) -> Self {
        Why {
            vlan,
            group,
            port,
            reason,
            filter_mode: None,
            compat: None,
            timer_ms: None,
            sources: Vec::new(),
        }
    }
}

/// Ports an operator pinned to groups, like `bridge mdb add … permanent`:
/// they get the group whatever IGMP/MLD says, until unpinned.
#[derive(Debug, Default)]
pub struct Pinned {
    by_group: BTreeMap<(u16, IpAddr), BTreeSet<PortId>>,
}

impl Pinned {
    /// Pin `port` to `group` in `vlan`.
    pub fn pin(&mut self, vlan: u16, group: IpAddr, port: PortId) {
        self.by_group.entry((vlan, group)).or_default().insert(port);
    }

    /// Unpin; returns whether the pin existed.
    pub fn unpin(&mut self, vlan: u16, group: IpAddr, port: PortId) -> bool {
        let Some(ports) = self.by_group.get_mut(&(vlan, group)) else {
            return false;
        };
        let removed = ports.remove(&port);
        if ports.is_empty() {
            self.by_group.remove(&(vlan, group));
        }
        removed
    }

    /// Forget every pin of `port`.
    pub fn remove_port(&mut self, port: PortId) {
        self.by_group.retain(|_, ports| {
            ports.remove(&port);
            !ports.is_empty()
        });
    }

    /// The ports pinned to (`vlan`, `group`), appended to `out`.
    pub fn extend(&self, vlan: u16, group: &IpAddr, out: &mut Vec<PortId>) {
        if let Some(ports) = self.by_group.get(&(vlan, *group)) {
            out.extend(ports.iter().copied());
        }
    }

    /// Every pin, in (VLAN, group, port) order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, IpAddr, PortId)> + '_ {
        self.by_group
            .iter()
            .flat_map(|(&(vlan, group), ports)| ports.iter().map(move |p| (vlan, group, *p)))
    }
}

impl Snooper {
    /// Every (VLAN, group, port) that gets a known group at `now`, and why,
    /// in (VLAN, group, port) order: members with their state; then, for
    /// each group, router ports (or every port while the VLAN floods for
    /// want of a querier); pinned ports are marked static.
    pub fn why(&self, now: Instant) -> Vec<Why> {
        let st = self.state(now);
        let mut rows: BTreeMap<(u16, IpAddr, PortId), Why> = BTreeMap::new();
        for g in &st.groups {
            let pruning = st
                .queriers
                .iter()
                .any(|q| q.vlan == g.vlan && q.family == Family::of(&g.group) && q.pruning);
            for p in &g.ports {
                rows.insert(
                    (g.vlan, g.group, p.port),
                    Why {
                        filter_mode: Some(p.filter_mode),
                        compat: Some(p.compat),
                        timer_ms: p.group_timer_ms,
                        sources: p.sources.clone(),
                        ..Why::bare(g.vlan, g.group, p.port, Reason::Member)
                    },
                );
            }
            let others: Vec<(PortId, Reason)> = if pruning {
                st.router_ports
                    .iter()
                    .filter(|r| r.vlan.is_none_or(|v| v == g.vlan))
                    .map(|r| (r.port, Reason::Router))
                    .collect()
            } else {
                self.port_ids().map(|p| (p, Reason::Flood)).collect()
            };
            for (port, reason) in others {
                rows.entry((g.vlan, g.group, port))
                    .or_insert_with(|| Why::bare(g.vlan, g.group, port, reason));
            }
        }
        for (vlan, group, port) in self.pinned().iter() {
            rows.entry((vlan, group, port))
                .and_modify(|w| w.reason = Reason::Static)
                .or_insert_with(|| Why::bare(vlan, group, port, Reason::Static));
        }
        rows.into_values().collect()
    }
}
