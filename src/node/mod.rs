//! The node: every port of one switch, its device or tunnel peer, and the
//! configuration that made it, without I/O.
//!
//! [`Switch`] decides for one broadcast domain (quinn-proto's `Connection`);
//! the node is the `Endpoint` around it. It owns the core, each tunnel's
//! peer table, the egress map (`PortId` → [`Egress`]), the reconcile step
//! ([`plan`] then [`Node::apply`]) and the control verbs ([`Node::command`]).
//! Drivers hold devices and sockets under the ids the node hands out, feed
//! it frames and datagrams with the current time, and act on its events:
//!
//! - [`Node::handle_frame`] / [`Node::handle_datagram`]: one frame in (a
//!   datagram is admitted, its peer learned), its destinations out, resolved
//!   to devices under the lock the decision already holds;
//! - [`Node::poll_transmit`]: frames the switch originates (queries);
//! - [`Node::poll_event`]: open or close a TAP or a tunnel, peers admitted,
//!   expired or refused (for the log);
//! - [`Node::poll_timeout`] / [`Node::handle_timeout`]: timers, on the caller's clock.
//!
//! Live and replay drive this same code, so a setting applied live is
//! applied in replay too.

mod apply;
pub mod command;
mod egress;
pub mod plan;
mod views;

pub use apply::ApplySummary;
pub use command::{Request, Response};
pub use egress::{Dest, Egress, EncapHeader, TapId, TunnelId};
pub use plan::{plan, Plan, Resolved, Running};
pub use views::{ListenerRow, NodeState, PeerRow};

use crate::config::{Config, TapConfig};
use crate::packet::ethernet::MacAddr;
use crate::port::PortId;
use crate::switch::{
    DropReason, Event, PortConfig, PortKind, Retag, Switch, SwitchConfig, TxFailure,
};
use crate::time::Instant;
use crate::tunnel::{Ingress, Listener, ListenerConfig, ListenerDrop, PeerKey};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

/// At most one [`NodeEvent::SourceRefused`] per tunnel per this interval.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// What the driver must do, or may log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// Open TAP `name` and keep it at slot `tap`; report it up with [`Node::set_port_up`].
    OpenTap {
        /// Slot.
        tap: TapId,
        /// The switch port (down until the device is open).
        port: PortId,
        /// Device name.
        name: String,
        /// Ask for virtio-net offload.
        offload: bool,
        /// MTU to set on the device.
        mtu: Option<u32>,
    },
    /// New device settings for an open TAP; they apply when it is next opened.
    UpdateTap {
        /// Slot.
        tap: TapId,
        /// Ask for virtio-net offload.
        offload: bool,
        /// MTU to set on the device.
        mtu: Option<u32>,
    },
    /// Close the TAP in slot `tap`; its port is gone.
    CloseTap {
        /// Slot.
        tap: TapId,
    },
    /// Start receiving on the sockets bound for `tunnel` (bound before [`Node::apply`]).
    OpenTunnel {
        /// Slot.
        tunnel: TunnelId,
    },
    /// Close the sockets of `tunnel`; its peers' ports are gone.
    CloseTunnel {
        /// Slot.
        tunnel: TunnelId,
    },
    /// A dynamic peer became a port.
    PeerAdmitted {
        /// Port name.
        name: String,
        /// Where its frames go.
        remote: SocketAddr,
    },
    /// A dynamic peer was idle for its timeout and is gone.
    PeerExpired {
        /// Port name.
        name: String,
    },
    /// A datagram from outside the listener's `allow` (rate-limited: further ones are only counted).
    SourceRefused {
        /// Listener name.
        listener: String,
        /// The source.
        src: SocketAddr,
    },
    /// A valid new peer could not be added to the core.
    PeerRejected {
        /// Port name.
        name: String,
        /// Why.
        reason: String,
    },
}

/// A tunnel: its peer table, and when it last reported a refused source.
#[derive(Debug)]
struct Tunnel {
    peers: Listener,
    last_refusal: Option<Instant>,
}

impl Tunnel {
    fn new(cfg: ListenerConfig) -> Self {
        Tunnel {
            peers: Listener::new(cfg),
            last_refusal: None,
        }
    }

    /// What goes before a frame of `vlan` to one of its peers (`None`: no
    /// VNI carries that VLAN here).
    fn header_for(&self, vlan: u16) -> Option<EncapHeader> {
        match self.peers.config().encap {
            crate::tunnel::Encap::Vxlan => self.peers.vni_for(vlan).map(EncapHeader::vxlan),
            crate::tunnel::Encap::Raw => Some(EncapHeader::NONE),
        }
    }

    /// A new peer's VLAN mode: transparent without `vnis`; with them, the
    /// VLANs it has sent in (a dynamic peer starts with none), or every
    /// mapped VLAN (`all`, a static peer).
    fn peer_vlan_mode(&self, all: bool) -> crate::switch::VlanMode {
        use crate::switch::{VlanMode, VlanSet};
        if self.peers.segment_vlans().next().is_none() {
            return VlanMode::Transparent;
        }
        let joined: VlanSet = if all {
            self.peers.segment_vlans().collect()
        } else {
            VlanSet::default()
        };
        VlanMode::Vni(Box::new(joined))
    }
}

/// What the egress map holds for a port; [`resolve`] adds the tunnel's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Tap(TapId),
    Peer {
        tunnel: TunnelId,
        remote: SocketAddr,
    },
    Local,
}

/// A TAP slot: the port and the settings it was opened with.
#[derive(Debug, Clone)]
struct TapSlot {
    port: PortId,
    cfg: TapConfig,
}

/// The node.
#[derive(Debug)]
pub struct Node {
    switch: Switch,
    mac: MacAddr,
    tunnels: Vec<Option<Tunnel>>,
    taps: Vec<Option<TapSlot>>,
    /// Each port's device, by port index.
    egress: Vec<Option<Slot>>,
    /// The configuration in force (after the last apply).
    config: Config,
    events: VecDeque<NodeEvent>,
    /// Bumped whenever a port is added or removed (port names are cached by captures).
    generation: u64,
    /// Ports a decision named that have no device (never expected; counted).
    orphans: Vec<PortId>,
}

impl Node {
    /// A node with no ports, its core started with `core` (timers start
    /// from these settings, so give the ones the first [`Node::apply`] will
    /// bring). `core.mac` stays the switch's MAC whenever a configuration sets none.
    pub fn new(core: SwitchConfig) -> Self {
        let config = Config::default();
        Node {
            mac: core.mac,
            switch: Switch::new(core),
            tunnels: Vec::new(),
            taps: Vec::new(),
            egress: Vec::new(),
            config,
            events: VecDeque::new(),
            generation: 0,
            orphans: Vec::new(),
        }
    }

    /// The core (read-only: views, tests).
    pub fn switch(&self) -> &Switch {
        &self.switch
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The MAC of the switch's own frames.
    pub fn mac(&self) -> MacAddr {
        self.config.mac.unwrap_or(self.mac)
    }

    /// Changes whenever a port is added or removed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every port's name, by id.
    pub fn port_names(&self) -> Vec<(PortId, String)> {
        self.switch.port_names()
    }

    /// The tunnel of the listener called `name`, and its settings.
    pub fn tunnel_by_name(&self, name: &str) -> Option<(TunnelId, &ListenerConfig)> {
        self.tunnels.iter().enumerate().find_map(|(i, t)| {
            let t = t.as_ref()?;
            (t.peers.name() == name).then(|| (TunnelId(i as u32), t.peers.config()))
        })
    }

    fn tunnel(&self, tunnel: TunnelId) -> Option<&Tunnel> {
        self.tunnels.get(tunnel.index()).and_then(Option::as_ref)
    }

    fn tunnel_mut(&mut self, tunnel: TunnelId) -> Option<&mut Tunnel> {
        self.tunnels
            .get_mut(tunnel.index())
            .and_then(Option::as_mut)
    }

    /// A port the driver serves itself, such as a replay input; `None` if the name is taken.
    pub fn add_local_port(&mut self, name: &str, now: Instant) -> Option<PortId> {
        let port = self
            .switch
            .add_port(PortConfig::new(name, PortKind::Pcap), now)
            .ok()?;
        self.set_egress(port, Some(Slot::Local));
        Some(port)
    }

    fn set_egress(&mut self, port: PortId, egress: Option<Slot>) {
        if self.egress.len() <= port.index() {
            self.egress.resize(port.index() + 1, None);
        }
        self.egress[port.index()] = egress;
        self.generation += 1;
    }

    /// Remove a port from the core and the egress map.
    fn remove_port(&mut self, port: PortId) {
        self.switch.remove_port(port);
        self.set_egress(port, None);
    }

    /// Decide where `frame`, received on `ingress` at `now`, goes; `out` gets
    /// the destinations (empty: dropped, and the reason counted on `ingress`).
    pub fn handle_frame(
        &mut self,
        now: Instant,
        ingress: PortId,
        frame: &[u8],
        out: &mut Vec<Dest>,
    ) {
        self.decide(now, ingress, frame, None, out);
    }

    /// The decision for a frame, in the VLAN its carrier said (`segment`) or its port decides.
    fn decide(
        &mut self,
        now: Instant,
        ingress: PortId,
        frame: &[u8],
        segment: Option<u16>,
        out: &mut Vec<Dest>,
    ) {
        out.clear();
        match segment {
            Some(vlan) => self.switch.handle_frame_in(ingress, frame, vlan, now),
            None => self.switch.handle_frame(ingress, frame, now),
        };
        let sw = &self.switch;
        resolve(
            &self.egress,
            &self.tunnels,
            sw.last_egress(),
            sw.last_vlan().0,
            |p| sw.retag_for(p),
            out,
            &mut self.orphans,
        );
        self.count_orphans();
    }

    /// A datagram from `src` on `tunnel`: admit its peer if new and allowed,
    /// then decide on the frame inside. Returns the peer's port and that
    /// frame (`out` has its destinations), or `None` if the datagram was
    /// refused (and counted).
    pub fn handle_datagram<'a>(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        src: SocketAddr,
        datagram: &'a [u8],
        out: &mut Vec<Dest>,
    ) -> Option<(PortId, &'a [u8])> {
        out.clear();
        let t = self.tunnel_mut(tunnel)?;
        let (port, frame, segment) = match t.peers.ingress(src, datagram) {
            Ingress::Known {
                port,
                frame,
                segment,
            } => (port, frame, segment),
            Ingress::NewPeer {
                key,
                remote,
                name,
                frame,
                segment,
            } => (self.admit(now, tunnel, key, remote, name)?, frame, segment),
            Ingress::Dropped(ListenerDrop::NotAllowed) => {
                if t.last_refusal
                    .is_none_or(|at| now.saturating_since(at) >= REFUSAL_LOG_INTERVAL)
                {
                    t.last_refusal = Some(now);
                    let listener = t.peers.name().to_string();
                    self.events
                        .push_back(NodeEvent::SourceRefused { listener, src });
                }
                return None;
            }
            Ingress::Dropped(_) => return None,
        };
        self.decide(now, port, frame, segment, out);
        Some((port, frame))
    }

    /// Make a dynamic peer a port.
    fn admit(
        &mut self,
        now: Instant,
        tunnel: TunnelId,
        key: PeerKey,
        remote: SocketAddr,
        name: String,
    ) -> Option<PortId> {
        let t = self.tunnel(tunnel)?;
        let mut cfg = PortConfig::new(name.clone(), PortKind::Peer);
        cfg.idle_timeout = Some(t.peers.config().idle_timeout);
        cfg.snoop = t.peers.config().multicast.clone();
        cfg.max_macs = t.peers.config().mac_limit();
        cfg.vlan = t.peer_vlan_mode(false);
        match self.switch.add_port(cfg, now) {
            Ok(port) => {
                if let Some(t) = self.tunnel_mut(tunnel) {
                    t.peers.insert_peer(key, remote, port, false);
                }
                self.set_egress(port, Some(Slot::Peer { tunnel, remote }));
                self.events
                    .push_back(NodeEvent::PeerAdmitted { name, remote });
                Some(port)
            }
            Err(e) => {
                self.events.push_back(NodeEvent::PeerRejected {
                    name,
                    reason: e.to_string(),
                });
                None
            }
        }
    }

    /// Count `n` datagrams that `tunnel`'s socket cut short.
    pub fn count_truncated(&mut self, tunnel: TunnelId, n: usize) {
        if n > 0 {
            if let Some(t) = self.tunnel_mut(tunnel) {
                t.peers.count_truncated(n);
            }
        }
    }

    /// A device came up or went down.
    pub fn set_port_up(&mut self, port: PortId, up: bool, now: Instant) {
        self.switch.set_port_up(port, up, now);
    }

    /// The driver could not send to `port`.
    pub fn record_tx_failure(&mut self, port: PortId, failure: TxFailure) {
        self.switch.record_tx_failure(port, failure);
    }

    /// A frame dropped by the driver before a decision (too short for its header).
    pub fn record_rx_drop(&mut self, port: PortId, len: usize, reason: DropReason) {
        self.switch.record_rx_drop(port, len, reason);
    }

    /// The next frame the switch originates; `out` gets its destinations.
    pub fn poll_transmit(&mut self, out: &mut Vec<Dest>) -> Option<Vec<u8>> {
        loop {
            out.clear();
            let tx = self.switch.poll_transmit()?;
            let sw = &self.switch;
            resolve(
                &self.egress,
                &self.tunnels,
                &tx.ports,
                tx.vlan,
                |p| sw.retag_own(p, tx.vlan),
                out,
                &mut self.orphans,
            );
            self.count_orphans();
            if !out.is_empty() {
                return Some(tx.frame);
            }
        }
    }

    /// The next thing for the driver to do or log.
    pub fn poll_event(&mut self) -> Option<NodeEvent> {
        self.events.pop_front()
    }

    /// When [`Node::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.switch.poll_timeout()
    }

    /// Run every timer due at `now`; idle peers leave their tunnels here.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.switch.handle_timeout(now);
        while let Some(Event::PortExpired { port, name }) = self.switch.poll_event() {
            if let Some(Some(Slot::Peer { tunnel, .. })) = self.egress.get(port.index()).copied() {
                if let Some(t) = self.tunnel_mut(tunnel) {
                    t.peers.remove_port(port, true);
                }
            }
            self.set_egress(port, None);
            self.events.push_back(NodeEvent::PeerExpired { name });
        }
    }

    fn count_orphans(&mut self) {
        for port in std::mem::take(&mut self.orphans) {
            self.switch.record_tx_failure(port, TxFailure::Error);
        }
    }
}

/// Map the core's egress ports to devices and their re-tagging; ports with
/// no device go to `orphans`.
fn resolve(
    egress: &[Option<Slot>],
    tunnels: &[Option<Tunnel>],
    ports: &[PortId],
    vlan: u16,
    retag: impl Fn(PortId) -> Retag,
    out: &mut Vec<Dest>,
    orphans: &mut Vec<PortId>,
) {
    for &port in ports {
        let to = match egress.get(port.index()).copied().flatten() {
            Some(Slot::Peer { tunnel, remote }) => {
                match tunnels
                    .get(tunnel.index())
                    .and_then(Option::as_ref)
                    .and_then(|t| t.header_for(vlan))
                {
                    Some(header) => Egress::Peer {
                        tunnel,
                        remote,
                        header,
                    },
                    None => {
                        orphans.push(port);
                        continue;
                    }
                }
            }
            Some(Slot::Tap(tap)) => Egress::Tap(tap),
            Some(Slot::Local) => Egress::Local,
            None => {
                orphans.push(port);
                continue;
            }
        };
        out.push(Dest {
            port,
            to,
            retag: retag(port),
        });
    }
}

#[cfg(test)]
mod tests;
