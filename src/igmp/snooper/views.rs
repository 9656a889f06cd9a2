//! What the snooper shows operators and metrics: its state in a
//! deterministic order, table sizes, counters, pinned entries.

use super::{SnoopState, Snooper};
use crate::igmp::counters::SnoopCounters;
use crate::igmp::querier::QuerierState;
use crate::igmp::router_ports::RouterPortState;
use crate::igmp::why::Pinned;
use crate::port::PortId;
use crate::time::Instant;

impl Snooper {
    /// Everything snooping knows, as of `now`, in a deterministic order.
    pub fn state(&self, now: Instant) -> SnoopState {
        let mut router_ports: Vec<RouterPortState> = self
            .static_router_ports()
            .map(|port| RouterPortState {
                vlan: None,
                port,
                expires_ms: None,
                is_static: true,
            })
            .collect();
        router_ports.extend(self.routers.dump(now));
        SnoopState {
            enabled: self.cfg.enabled,
            queriers: self.querier_states(now),
            router_ports,
            groups: self.table.dump(now),
            counters: self.counters.clone(),
        }
    }

    /// (VLAN, group) entries held, without dumping them (for metrics).
    pub fn group_count(&self) -> usize {
        self.table.len()
    }

    /// The querier of each (VLAN, family), as of `now`.
    pub fn querier_states(&self, now: Instant) -> Vec<QuerierState> {
        self.queriers
            .iter()
            .map(|(&(vlan, family), q)| q.state(vlan, family, now))
            .collect()
    }

    /// The counters.
    pub fn counters(&self) -> &SnoopCounters {
        &self.counters
    }

    /// Operator-pinned memberships (static MDB entries).
    pub fn pinned(&self) -> &Pinned {
        &self.pinned
    }

    /// Pin or unpin memberships; pinned ports get their groups whatever IGMP/MLD says.
    pub fn pinned_mut(&mut self) -> &mut Pinned {
        &mut self.pinned
    }

    /// Every port snooping knows (all of the core's ports), in order.
    pub fn port_ids(&self) -> impl Iterator<Item = PortId> + '_ {
        self.ports.keys().copied()
    }
}
