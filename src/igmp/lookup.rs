//! Forwarding decisions over the membership table (RFC 3376 §6.3): which
//! ports want traffic from a source to a group.
//!
//! INCLUDE: forward if the source has a running timer. EXCLUDE: forward
//! unless the source is blocked (timer 0). Each port is judged on its own
//! state, so a port in EXCLUDE({}) receives (S,G) traffic even while other
//! ports are INCLUDE({S}) (checklist E2, E11). Timers that ran out but were
//! not yet processed by `handle_timeout` are taken as run out, so the
//! answer depends only on the state and `now`.

use super::membership::{FilterMode, MembershipTable, PortGroup};
use crate::port::PortId;
use crate::time::Instant;
use std::cell::Cell;
use std::net::IpAddr;

impl PortGroup {
    /// Whether this port's state, evaluated at `now`, forwards `source`.
    pub(crate) fn forwards(&self, source: &IpAddr, now: Instant) -> bool {
        let running = self
            .sources
            .get(source)
            .map(|s| s.expires.is_some_and(|t| t > now));
        if self.mode == FilterMode::Exclude && self.group_expires > now {
            // Unlisted sources are forwarded; listed ones only if in X.
            running.unwrap_or(true)
        } else {
            // INCLUDE (or EXCLUDE whose group timer ran out, which is
            // INCLUDE with the running sources).
            running.unwrap_or(false)
        }
    }

    /// Whether the state, evaluated at `now`, still exists.
    pub(crate) fn alive_at(&self, now: Instant) -> bool {
        (self.mode == FilterMode::Exclude && self.group_expires > now)
            || self
                .sources
                .values()
                .any(|s| s.expires.is_some_and(|t| t > now))
    }
}

impl MembershipTable {
    /// Push the ports whose state forwards `source` → `group` onto `out`.
    /// Returns whether the group is registered in `vlan` (some port has
    /// live state for it, whether or not it wants this source).
    pub(crate) fn egress(
        &self,
        vlan: u16,
        group: &IpAddr,
        source: &IpAddr,
        now: Instant,
        out: &mut Vec<PortId>,
    ) -> Option<&Cell<u64>> {
        let entry = self.groups.get(&(vlan, *group))?;
        let mut registered = false;
        for (port, pg) in &entry.ports {
            if pg.alive_at(now) {
                registered = true;
                if pg.forwards(source, now) {
                    out.push(*port);
                }
            }
        }
        registered.then_some(&entry.pruned)
    }

    /// The pruned-copies counter of (`vlan`, `group`), if it has an entry.
    pub(crate) fn pruned_counter(&self, vlan: u16, group: &IpAddr) -> Option<&Cell<u64>> {
        self.groups.get(&(vlan, *group)).map(|e| &e.pruned)
    }

    /// Whether `port`'s state forwards `source` → `group` in `vlan`.
    pub(crate) fn port_forwards(
        &self,
        vlan: u16,
        group: &IpAddr,
        port: PortId,
        source: &IpAddr,
        now: Instant,
    ) -> bool {
        self.groups
            .get(&(vlan, *group))
            .and_then(|e| e.ports.get(&port))
            .is_some_and(|pg| pg.alive_at(now) && pg.forwards(source, now))
    }
}
