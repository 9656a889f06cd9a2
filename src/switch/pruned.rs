//! Counting the multicast copies snooping spares each port, in O(egress)
//! per frame rather than a walk over every port.
//!
//! A port is spared a frame when the frame is multicast data decided by
//! snooping (not flooded) in a VLAN the port carries, the port is up, and it
//! is neither the ingress nor an egress. Instead of visiting every port per
//! frame, the ledger counts decisions per VLAN (`per_vlan[v]`), and each port
//! remembers the sum of those counts over its VLANs when it last came up or
//! changed VLANs (`base`) and how many of the decisions since then it took
//! part in (`seen`: as the ingress or an egress). Its spared copies are then
//! `settled + Σ per_vlan[v] − base − seen`, computed only when someone looks.
//! A per-VLAN count of up member ports gives the copies a group was spared,
//! again without a walk.

use super::vlan::{VlanMode, MAX_VID};

/// Per-port share of the ledger.
#[derive(Debug, Clone, Default)]
pub(crate) struct PortPrune {
    base: u64,
    seen: u64,
    settled: u64,
}

/// Pruned-copy accounting for the whole switch.
#[derive(Debug)]
pub(crate) struct Ledger {
    /// Snooping-decided multicast data frames, per VLAN.
    per_vlan: Vec<u64>,
    /// Their sum: what a transparent port (every VLAN) is measured against.
    total: u64,
    /// Up ports with a VLAN mode, per VLAN they carry.
    members: Vec<u32>,
    /// Up transparent ports (members of every VLAN).
    transparent_up: u32,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            per_vlan: vec![0; usize::from(MAX_VID) + 1],
            total: 0,
            members: vec![0; usize::from(MAX_VID) + 1],
            transparent_up: 0,
        }
    }
}

impl Ledger {
    fn sum_for(&self, mode: &VlanMode) -> u64 {
        match mode {
            VlanMode::Transparent => self.total,
            other => other
                .vlans()
                .iter()
                .map(|v| self.per_vlan.get(usize::from(*v)).copied().unwrap_or(0))
                .sum(),
        }
    }

    fn count_members(&mut self, mode: &VlanMode, up: bool) {
        let step = |n: &mut u32| *n = if up { *n + 1 } else { n.saturating_sub(1) };
        match mode {
            VlanMode::Transparent => step(&mut self.transparent_up),
            other => {
                for v in other.vlans() {
                    if let Some(n) = self.members.get_mut(usize::from(v)) {
                        step(n);
                    }
                }
            }
        }
    }

    /// A port with `mode` comes up (or is added up, or takes `mode`).
    pub(crate) fn join(&mut self, mode: &VlanMode, p: &mut PortPrune) {
        self.count_members(mode, true);
        p.base = self.sum_for(mode);
        p.seen = 0;
    }

    /// A port with `mode` goes down (or is removed, or gives `mode` up).
    pub(crate) fn leave(&mut self, mode: &VlanMode, p: &mut PortPrune) {
        p.settled = self.spared(mode, p, true);
        p.base = 0;
        p.seen = 0;
        self.count_members(mode, false);
    }

    /// An up port with a VNI mode joined `vlan`: from now on it is measured in it too.
    pub(crate) fn join_vlan(&mut self, vlan: u16, p: &mut PortPrune) {
        if let Some(n) = self.members.get_mut(usize::from(vlan)) {
            *n += 1;
        }
        p.base += self.per_vlan.get(usize::from(vlan)).copied().unwrap_or(0);
    }

    /// A snooping-decided frame in `vlan`: returns how many up ports carry `vlan`.
    #[inline]
    pub(crate) fn decided(&mut self, vlan: u16) -> u32 {
        if let Some(n) = self.per_vlan.get_mut(usize::from(vlan)) {
            *n += 1;
        }
        self.total += 1;
        self.members.get(usize::from(vlan)).copied().unwrap_or(0) + self.transparent_up
    }

    /// The port took part in the last decided frame (its ingress or an egress).
    #[inline]
    pub(crate) fn seen(p: &mut PortPrune) {
        p.seen += 1;
    }

    /// The copies a port with `mode` was spared so far.
    pub(crate) fn spared(&self, mode: &VlanMode, p: &PortPrune, up: bool) -> u64 {
        if !up {
            return p.settled;
        }
        p.settled + self.sum_for(mode).saturating_sub(p.base + p.seen)
    }
}
