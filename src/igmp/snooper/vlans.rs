//! Settings per VLAN: the switch-wide configuration, each segment's
//! overrides, and the queriers each VLAN runs with them.

use super::{pick, Snooper};
use crate::igmp::config::SnoopConfig;
use crate::igmp::querier::Querier;
use crate::igmp::repr::Family;
use crate::time::Instant;
use std::collections::BTreeMap;

impl Snooper {
    /// Apply a new switch-wide configuration (live reload). Learned groups,
    /// router ports and the election survive; new timers apply from now on.
    pub fn set_config(&mut self, cfg: SnoopConfig, now: Instant) {
        for (&(vlan, family), q) in self.queriers.iter_mut() {
            let c = self.vlan_cfg.get(&vlan).unwrap_or(&cfg);
            q.reconfigure(family, c, self.own_v6_link_local, now);
        }
        self.cfg = cfg;
    }

    /// A port is a member of `vlan`: run its queriers from now on (a VLAN's
    /// queriers otherwise start when its first IGMP/MLD message is seen).
    pub fn add_vlan(&mut self, vlan: u16, now: Instant) {
        if self.cfg_for(vlan).enabled {
            self.ensure_vlan(vlan, now);
        }
    }

    /// The settings of `vlan`: its `[[segment]]` overrides, or the switch's.
    pub fn cfg_for(&self, vlan: u16) -> &SnoopConfig {
        pick(&self.cfg, &self.vlan_cfg, vlan)
    }

    /// Per-VLAN settings (`[[segment]]`), each a whole [`SnoopConfig`]
    /// (validated). Queriers of a VLAN follow its settings from now on; a
    /// VLAN whose snooping is off floods and loses its learned groups.
    pub fn set_vlan_configs(&mut self, vlan_cfg: BTreeMap<u16, SnoopConfig>, now: Instant) {
        self.vlan_cfg = vlan_cfg;
        let own = self.own_v6_link_local;
        let (cfg, vlan_cfg) = (&self.cfg, &self.vlan_cfg);
        self.queriers
            .retain(|&(vlan, _), _| pick(cfg, vlan_cfg, vlan).enabled);
        for (&(vlan, family), q) in self.queriers.iter_mut() {
            q.reconfigure(family, pick(cfg, vlan_cfg, vlan), own, now);
        }
        self.table
            .retain_vlans(|vlan| pick(cfg, vlan_cfg, vlan).enabled);
    }

    /// Create the queriers of `vlan` (both families) if they do not exist.
    pub(super) fn ensure_vlan(&mut self, vlan: u16, now: Instant) {
        for family in [Family::V4, Family::V6] {
            if !self.queriers.contains_key(&(vlan, family)) {
                let q = Querier::new(family, self.cfg_for(vlan), self.own_v6_link_local, now);
                self.queriers.insert((vlan, family), q);
            }
        }
    }
}
