//! Carrying out a [`Plan`]: the one code path that builds the node at start,
//! changes it on a live reload, and sets up a replay.
//!
//! Nothing here can fail for an I/O reason: the driver resolved names and
//! bound new sockets before calling [`Node::apply`], so a bad configuration
//! is refused before anything changes. What is kept never stops forwarding.

use super::plan::{Plan, Running, StaticPeer};
use super::{Node, NodeEvent, Slot, TapSlot, Tunnel};
use crate::port::PortId;
use crate::switch::{PortConfig, PortKind, SwitchError, VlanMode};
use crate::time::Instant;
use serde::Serialize;

/// What an apply changed, for the log and the `reload` reply.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct ApplySummary {
    /// Ports and listeners added.
    pub added: Vec<String>,
    /// Ports and listeners removed.
    pub removed: Vec<String>,
    /// Listeners and TAPs whose settings changed in place.
    pub updated: Vec<String>,
}

impl Node {
    /// What runs now, for [`super::plan`].
    pub fn running(&self) -> Running {
        Running {
            config: self.config.clone(),
            tunnels: self
                .tunnels
                .iter()
                .enumerate()
                .filter_map(|(i, t)| {
                    let t = t.as_ref()?;
                    Some((super::TunnelId(i as u32), t.peers.config().clone()))
                })
                .collect(),
            static_peers: self
                .tunnels
                .iter()
                .enumerate()
                .filter_map(|(i, t)| Some((super::TunnelId(i as u32), t.as_ref()?)))
                .flat_map(|(id, t)| {
                    t.peers
                        .static_peers()
                        .into_iter()
                        .filter_map(move |(k, port)| Some((id, k, t.peers.remote(port)?)))
                })
                .collect(),
            taps: self
                .taps
                .iter()
                .enumerate()
                .filter_map(|(i, t)| Some((super::TapId(i as u32), t.as_ref()?.cfg.clone())))
                .collect(),
        }
    }

    /// Make the node match `plan.wanted`. Devices to open and close come out of [`Node::poll_event`].
    pub fn apply(&mut self, plan: Plan, now: Instant) -> Result<ApplySummary, SwitchError> {
        let mut summary = ApplySummary::default();
        self.switch
            .reconfigure(plan.wanted.switch_config(self.mac), now);

        for id in plan.close_tunnels {
            let Some(t) = self.tunnels.get_mut(id.index()).and_then(Option::take) else {
                continue;
            };
            for port in t.peers.ports() {
                self.remove_port(port);
            }
            self.events.push_back(NodeEvent::CloseTunnel { tunnel: id });
            summary.removed.push(format!("listener {}", t.peers.name()));
        }
        for (id, cfg) in plan.update_tunnels {
            let Some(t) = self.tunnel_mut(id) else {
                continue;
            };
            let (idle, snoop, macs) = (cfg.idle_timeout, cfg.multicast.clone(), cfg.mac_limit());
            // A changed VNI map moves every peer to its new segments.
            let resegment = t.peers.config().segments() != cfg.segments();
            t.peers.set_config(cfg);
            summary.updated.push(format!("listener {}", t.peers.name()));
            let statics: Vec<PortId> = t.peers.static_peers().into_iter().map(|(_, p)| p).collect();
            let ports = t.peers.ports();
            let modes: Vec<(PortId, VlanMode)> = if resegment {
                ports
                    .iter()
                    .map(|p| (*p, t.peer_vlan_mode(statics.contains(p))))
                    .collect()
            } else {
                Vec::new()
            };
            for port in ports {
                let idle = (!statics.contains(&port)).then_some(idle);
                self.switch.set_port_options(port, idle, snoop.clone());
                self.switch.set_port_mac_limit(port, macs);
            }
            for (port, mode) in modes {
                self.switch.set_port_vlan(port, mode, now);
            }
        }
        for (id, cfg) in plan.open_tunnels {
            if self.tunnels.len() <= id.index() {
                self.tunnels.resize_with(id.index() + 1, || None);
            }
            summary
                .added
                .push(format!("listener {}", cfg.display_name()));
            self.tunnels[id.index()] = Some(Tunnel::new(cfg));
            self.events.push_back(NodeEvent::OpenTunnel { tunnel: id });
        }

        for (id, key) in plan.remove_peers {
            let Some(t) = self.tunnel_mut(id) else {
                continue;
            };
            let Some(port) = t.peers.port_of(key) else {
                continue;
            };
            t.peers.remove_port(port, false);
            let name = self.switch.port_name(port).unwrap_or("?").to_string();
            self.remove_port(port);
            summary.removed.push(format!("peer {name}"));
        }
        for peer in plan.add_peers {
            if let Some(name) = self.add_static_peer(peer, now)? {
                summary.added.push(format!("peer {name}"));
            }
        }

        for (id, cfg) in plan.update_taps {
            let Some(Some(slot)) = self.taps.get_mut(id.index()) else {
                continue;
            };
            self.switch
                .set_port_options(slot.port, None, cfg.multicast.clone());
            self.switch.set_port_vlan(slot.port, cfg.vlan_mode(), now);
            if (slot.cfg.offload, slot.cfg.mtu) != (cfg.offload, cfg.mtu) {
                self.events.push_back(NodeEvent::UpdateTap {
                    tap: id,
                    offload: cfg.offload,
                    mtu: cfg.mtu,
                });
            }
            summary.updated.push(format!("tap {}", cfg.name));
            slot.cfg = cfg;
        }
        for (id, cfg) in plan.open_taps {
            let mut port_cfg = PortConfig::new(cfg.name.clone(), PortKind::Tap);
            port_cfg.snoop = cfg.multicast.clone();
            port_cfg.vlan = cfg.vlan_mode();
            let port = self.switch.add_port(port_cfg, now)?;
            // Down until the driver has the device open.
            self.switch.set_port_up(port, false, now);
            self.set_egress(port, Some(Slot::Tap(id)));
            if self.taps.len() <= id.index() {
                self.taps.resize_with(id.index() + 1, || None);
            }
            self.events.push_back(NodeEvent::OpenTap {
                tap: id,
                port,
                name: cfg.name.clone(),
                offload: cfg.offload,
                mtu: cfg.mtu,
            });
            summary.added.push(format!("tap {}", cfg.name));
            self.taps[id.index()] = Some(TapSlot { port, cfg });
        }

        // Closed after the new ones open, so no new port takes a closing
        // one's id while its device task may still be reading.
        for id in plan.close_taps {
            let Some(tap) = self.taps.get_mut(id.index()).and_then(Option::take) else {
                continue;
            };
            self.remove_port(tap.port);
            self.events.push_back(NodeEvent::CloseTap { tap: id });
            summary.removed.push(format!("tap {}", tap.cfg.name));
        }
        for e in &plan.unpin_fdb {
            self.switch.fdb_mut().remove(e.vlan, e.mac);
        }
        for e in &plan.wanted.static_fdb {
            if let Some(port) = self.switch.port_by_name(&e.port) {
                self.switch.add_static_fdb(e.vlan, e.mac, port)?;
            }
        }
        for e in &plan.unpin_mdb {
            if let Some(port) = self.switch.port_by_name(&e.port) {
                self.switch.remove_static_mdb(e.vlan, e.group, port);
            }
        }
        for e in &plan.wanted.static_mdb {
            if let Some(port) = self.switch.port_by_name(&e.port) {
                self.switch.add_static_mdb(e.vlan, e.group, port)?;
            }
        }
        self.config = plan.wanted;
        Ok(summary)
    }

    /// Add a static peer; a dynamic peer with the same identity gives up its port to it.
    fn add_static_peer(
        &mut self,
        peer: StaticPeer,
        now: Instant,
    ) -> Result<Option<String>, SwitchError> {
        let Some(t) = self.tunnel_mut(peer.tunnel) else {
            return Ok(None);
        };
        let name = t.peers.peer_name(peer.key);
        let snoop = t.peers.config().multicast.clone();
        let max_macs = t.peers.config().mac_limit();
        let vlan = t.peer_vlan_mode(true);
        if let Some(old) = t.peers.port_of(peer.key) {
            t.peers.remove_port(old, false);
            self.remove_port(old);
        }
        let mut port_cfg = PortConfig::new(name.clone(), PortKind::Peer);
        port_cfg.snoop = snoop;
        port_cfg.max_macs = max_macs;
        port_cfg.vlan = vlan;
        let port = self.switch.add_port(port_cfg, now)?;
        if let Some(t) = self.tunnel_mut(peer.tunnel) {
            t.peers.insert_peer(peer.key, peer.remote, port, true);
        }
        self.set_egress(
            port,
            Some(Slot::Peer {
                tunnel: peer.tunnel,
                remote: peer.remote,
            }),
        );
        Ok(Some(name))
    }
}
