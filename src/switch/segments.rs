//! The switch's side of segments: frames whose VLAN their carrier says
//! (a tunnel peer's VNI), ports moving between VLANs, and how a decided frame
//! must be re-tagged for each egress port. The rules themselves are
//! [`super::vlan`]'s.

use super::vlan::{self, VlanMode};
use super::Switch;
use crate::port::PortId;
use crate::time::Instant;

impl Switch {
    /// Move a port to other VLANs (live reload). If its membership changes,
    /// what it learned (FDB entries, groups, router-port state) is forgotten
    /// at once: it belonged to the old segments.
    pub fn set_port_vlan(&mut self, port: PortId, mode: VlanMode, now: Instant) {
        let Some(p) = self.ports.get_mut(port) else {
            return;
        };
        if p.cfg.vlan == mode {
            return;
        }
        for vlan in mode.vlans() {
            self.snooper.add_vlan(vlan, now);
        }
        if p.up {
            self.ledger.leave(&p.cfg.vlan, &mut p.prune);
            self.ledger.join(&mode, &mut p.prune);
        }
        p.cfg.vlan = mode;
        self.fdb.flush(Some(port));
        self.snooper.flush(Some(port));
    }

    /// Every port's VLAN mode, by port id, for `show vlans`.
    pub fn vlan_rows(&self) -> Vec<vlan::VlanRow> {
        self.ports
            .iter()
            .map(|(_, p)| p.cfg.vlan.row(&p.cfg.name))
            .collect()
    }

    /// The VLAN of the frame last given to [`Switch::handle_frame`], and the
    /// outer tag's VID it arrived with (`None`: untagged), for re-tagging
    /// it per egress port ([`VlanMode::retag`]).
    pub fn last_vlan(&self) -> (u16, Option<u16>) {
        self.last_vlan
    }

    /// How the frame last decided must be changed to leave through `port`.
    #[inline]
    pub fn retag_for(&self, port: PortId) -> vlan::Retag {
        let (vlan, tag) = self.last_vlan;
        self.ports
            .get(port)
            .map_or(vlan::Retag::Keep, |p| p.cfg.vlan.retag(vlan, tag))
    }

    /// How a frame the switch originated in `vlan` (tagged unless 0) must be changed for `port`.
    pub fn retag_own(&self, port: PortId, vlan: u16) -> vlan::Retag {
        let tag = (vlan != 0).then_some(vlan);
        self.ports
            .get(port)
            .map_or(vlan::Retag::Keep, |p| p.cfg.vlan.retag(vlan, tag))
    }

    /// [`Switch::handle_frame`] for a frame whose VLAN its carrier says (a
    /// tunnel peer's VNI): `vlan` is its segment, and the port joins it.
    /// The inner frame must be untagged (a tagged one is dropped and counted).
    pub fn handle_frame_in(
        &mut self,
        ingress: PortId,
        frame: &[u8],
        vlan: u16,
        now: Instant,
    ) -> &[PortId] {
        self.join_vlan(ingress, vlan, now);
        self.handle(ingress, frame, Some(vlan), now)
    }

    /// A tunnel peer was heard in `vlan`: it carries that VLAN from now on.
    fn join_vlan(&mut self, port: PortId, vlan: u16, now: Instant) {
        let Some(p) = self.ports.get_mut(port) else {
            return;
        };
        if let VlanMode::Vni(joined) = &mut p.cfg.vlan {
            if !joined.contains(vlan) {
                joined.insert(vlan);
                if p.up {
                    self.ledger.join_vlan(vlan, &mut p.prune);
                }
                self.snooper.add_vlan(vlan, now);
            }
        }
    }
}
