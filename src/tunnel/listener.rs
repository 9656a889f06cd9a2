//! One tunnel listener's peer table: who may become a port, and how to reach each peer.
//!
//! Sans-I/O: the driver hands in `(source address, datagram, now)` and gets
//! the inner frame and the peer it belongs to, or a reason to drop. It never
//! touches the socket.

use super::config::{Encap, ListenerConfig};
use super::vxlan;
use crate::port::PortId;
use serde::Serialize;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// One datagram in this many has its inner UDP/TCP checksum verified.
pub const INNER_CHECKSUM_SAMPLE: u64 = 16;

/// How a peer is recognised: VXLAN by source IP (the kernel varies the
/// source port per flow), raw by source address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeerKey {
    /// A VXLAN VTEP.
    Ip(IpAddr),
    /// A raw-frame socket.
    Addr(SocketAddr),
}

/// What an incoming datagram is.
#[derive(Debug, PartialEq, Eq)]
pub enum Ingress<'a> {
    /// From a known peer.
    Known {
        /// The peer's switch port.
        port: PortId,
        /// The Ethernet frame inside.
        frame: &'a [u8],
        /// The VLAN its VNI maps to (`vnis`); `None` when the listener maps none.
        segment: Option<u16>,
    },
    /// A valid datagram from an admitted source that is not yet a peer: the
    /// driver adds a port and then calls [`Listener::insert_peer`].
    NewPeer {
        /// The new peer's identity.
        key: PeerKey,
        /// Where to send to it.
        remote: SocketAddr,
        /// The port name to use.
        name: String,
        /// The Ethernet frame inside.
        frame: &'a [u8],
        /// The VLAN its VNI maps to (`vnis`); `None` when the listener maps none.
        segment: Option<u16>,
    },
    /// Not accepted; counted on the listener.
    Dropped(ListenerDrop),
}

/// Why a listener refused a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerDrop {
    /// Too short for its encapsulation plus an Ethernet header.
    Short,
    /// VXLAN flags other than the I flag.
    BadFlags,
    /// A VNI this listener does not serve (not its `vni`, nor in its `vnis`).
    WrongVni,
    /// Source not inside `allow`.
    NotAllowed,
    /// `max_peers` dynamic peers already exist.
    PeerLimit,
    /// Bigger than the receive buffer, so the kernel cut it short.
    Truncated,
}

/// Per-listener counters of refused datagrams.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListenerCounters {
    /// Datagrams received.
    pub rx_datagrams: u64,
    /// Too short.
    pub drop_short: u64,
    /// Bad VXLAN flags.
    pub drop_bad_flags: u64,
    /// A VNI the listener does not serve (not its `vni`, nor in its `vnis`).
    pub drop_wrong_vni: u64,
    /// Source outside `allow`.
    pub drop_not_allowed: u64,
    /// Peer limit reached.
    pub drop_peer_limit: u64,
    /// Cut short by the kernel (larger than 64 KiB).
    pub drop_truncated: u64,
    /// Inner frames whose UDP/TCP checksum was checked (one datagram in
    /// [`INNER_CHECKSUM_SAMPLE`], when it carries one).
    pub inner_csum_checked: u64,
    /// Of those, the ones whose checksum is wrong: the sender left it to an
    /// offload that never ran (a kernel vxlan device over veth without
    /// `ethtool -K tx off`), and receivers will drop them. Forwarded anyway.
    pub inner_csum_bad: u64,
    /// Dynamic peers admitted.
    pub peers_admitted: u64,
    /// Dynamic peers expired.
    pub peers_expired: u64,
}

/// A peer as shown to operators.
#[derive(Debug, Clone, Serialize)]
pub struct PeerView {
    /// Switch port.
    pub port: PortId,
    /// Where frames for it are sent.
    pub remote: SocketAddr,
    /// Static peers never expire.
    pub is_static: bool,
}

#[derive(Debug, Clone)]
struct Peer {
    remote: SocketAddr,
    is_static: bool,
}

/// One listener's state.
#[derive(Debug)]
pub struct Listener {
    cfg: ListenerConfig,
    /// `vnis` parsed: (VNI, VLAN), by VNI.
    segments: Vec<(u32, u16)>,
    name: String,
    by_key: HashMap<PeerKey, PortId>,
    by_port: HashMap<PortId, Peer>,
    dynamic: usize,
    counters: ListenerCounters,
}

impl Listener {
    /// A listener with no peers.
    pub fn new(cfg: ListenerConfig) -> Self {
        Listener {
            name: cfg.display_name(),
            segments: cfg.segments(),
            cfg,
            by_key: HashMap::new(),
            by_port: HashMap::new(),
            dynamic: 0,
            counters: ListenerCounters::default(),
        }
    }

    /// Configuration.
    pub fn config(&self) -> &ListenerConfig {
        &self.cfg
    }

    /// Replace the configuration, keeping the peers (live reload). The new
    /// limits apply to admissions from now on; VXLAN peers are answered at
    /// the new `peer_port` once they send again.
    pub fn set_config(&mut self, cfg: ListenerConfig) {
        self.name = cfg.display_name();
        self.segments = cfg.segments();
        self.cfg = cfg;
    }

    /// Static peers' keys and ports.
    pub fn static_peers(&self) -> Vec<(PeerKey, PortId)> {
        let mut v: Vec<(PeerKey, PortId)> = self
            .by_key
            .iter()
            .filter(|(_, port)| self.by_port.get(port).is_some_and(|p| p.is_static))
            .map(|(k, p)| (*k, *p))
            .collect();
        v.sort();
        v
    }

    /// Every peer port of this listener.
    pub fn ports(&self) -> Vec<PortId> {
        let mut v: Vec<PortId> = self.by_port.keys().copied().collect();
        v.sort();
        v
    }

    /// Name, used in peer port names.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The identity a datagram from `src` maps to.
    pub fn key_for(&self, src: SocketAddr) -> PeerKey {
        match self.cfg.encap {
            Encap::Vxlan => PeerKey::Ip(src.ip()),
            Encap::Raw => PeerKey::Addr(src),
        }
    }

    /// Where to send to a peer first heard from `src`.
    pub fn remote_for(&self, src: SocketAddr) -> SocketAddr {
        match self.cfg.encap {
            Encap::Vxlan => SocketAddr::new(src.ip(), self.cfg.peer_port),
            Encap::Raw => src,
        }
    }

    /// Port name of a peer.
    pub fn peer_name(&self, key: PeerKey) -> String {
        match key {
            PeerKey::Ip(ip) => format!("{}/{}", self.name, ip),
            PeerKey::Addr(a) => format!("{}/{}", self.name, a),
        }
    }

    /// Classify a datagram from `src`.
    pub fn ingress<'a>(&mut self, src: SocketAddr, datagram: &'a [u8]) -> Ingress<'a> {
        self.counters.rx_datagrams += 1;
        let src = normalize(src);
        let (frame, segment) = match self.cfg.encap {
            Encap::Vxlan => match vxlan::decap_any(datagram) {
                Ok((vni, f)) => match self.segment_of(vni) {
                    Ok(segment) => (f, segment),
                    Err(why) => return self.refuse(why),
                },
                Err(e) => {
                    return self.refuse(match e {
                        vxlan::VxlanError::Short => ListenerDrop::Short,
                        vxlan::VxlanError::BadFlags => ListenerDrop::BadFlags,
                        vxlan::VxlanError::WrongVni => ListenerDrop::WrongVni,
                    })
                }
            },
            Encap::Raw if datagram.len() < crate::packet::ethernet::HEADER_LEN => {
                return self.refuse(ListenerDrop::Short)
            }
            Encap::Raw => (datagram, None),
        };
        if self.counters.rx_datagrams % INNER_CHECKSUM_SAMPLE == 1 {
            if let Some(ok) = crate::packet::checksum::l4_checksum_ok(frame) {
                self.counters.inner_csum_checked += 1;
                self.counters.inner_csum_bad += u64::from(!ok);
            }
        }
        let key = self.key_for(src);
        if let Some(port) = self.by_key.get(&key) {
            return Ingress::Known {
                port: *port,
                frame,
                segment,
            };
        }
        if !self.cfg.allow.iter().any(|net| net.contains(&src.ip())) {
            return self.refuse(ListenerDrop::NotAllowed);
        }
        if self.dynamic >= self.cfg.max_peers {
            return self.refuse(ListenerDrop::PeerLimit);
        }
        Ingress::NewPeer {
            key,
            remote: self.remote_for(src),
            name: self.peer_name(key),
            frame,
            segment,
        }
    }

    /// The VLAN of a datagram in `vni`: `None` (no segments) for the
    /// listener's one `vni`, the mapped VLAN with `vnis`; else refused.
    fn segment_of(&self, vni: u32) -> Result<Option<u16>, ListenerDrop> {
        if self.segments.is_empty() {
            return if vni == self.cfg.vni {
                Ok(None)
            } else {
                Err(ListenerDrop::WrongVni)
            };
        }
        self.segments
            .binary_search_by_key(&vni, |(v, _)| *v)
            .map(|i| Some(self.segments[i].1))
            .map_err(|_| ListenerDrop::WrongVni)
    }

    /// The VLANs the listener maps (empty without `vnis`).
    pub fn segment_vlans(&self) -> impl Iterator<Item = u16> + '_ {
        self.segments.iter().map(|(_, vlan)| *vlan)
    }

    /// The VNI of frames of `vlan` to this listener's peers: the listener's
    /// one `vni`, or the VNI `vnis` maps `vlan` to.
    pub fn vni_for(&self, vlan: u16) -> Option<u32> {
        if self.segments.is_empty() {
            return Some(self.cfg.vni);
        }
        self.segments
            .iter()
            .find(|(_, v)| *v == vlan)
            .map(|(vni, _)| *vni)
    }

    fn refuse<'a>(&mut self, why: ListenerDrop) -> Ingress<'a> {
        let c = &mut self.counters;
        match why {
            ListenerDrop::Short => c.drop_short += 1,
            ListenerDrop::BadFlags => c.drop_bad_flags += 1,
            ListenerDrop::WrongVni => c.drop_wrong_vni += 1,
            ListenerDrop::NotAllowed => c.drop_not_allowed += 1,
            ListenerDrop::PeerLimit => c.drop_peer_limit += 1,
            ListenerDrop::Truncated => c.drop_truncated += 1,
        }
        Ingress::Dropped(why)
    }

    /// Count `n` datagrams the socket cut short; they never reach [`Listener::ingress`].
    pub fn count_truncated(&mut self, n: usize) {
        for _ in 0..n {
            self.counters.rx_datagrams += 1;
            self.refuse(ListenerDrop::Truncated);
        }
    }

    /// Record a peer that now has switch port `port`.
    pub fn insert_peer(&mut self, key: PeerKey, remote: SocketAddr, port: PortId, is_static: bool) {
        self.by_key.insert(key, port);
        self.by_port.insert(port, Peer { remote, is_static });
        if !is_static {
            self.dynamic += 1;
            self.counters.peers_admitted += 1;
        }
    }

    /// Forget the peer on `port`: it `expired` (counted as such), or was
    /// removed or replaced by configuration. Returns whether it was ours.
    pub fn remove_port(&mut self, port: PortId, expired: bool) -> bool {
        let Some(peer) = self.by_port.remove(&port) else {
            return false;
        };
        self.by_key.retain(|_, p| *p != port);
        if !peer.is_static {
            self.dynamic = self.dynamic.saturating_sub(1);
            if expired {
                self.counters.peers_expired += 1;
            }
        }
        true
    }

    /// The port of the peer with identity `key`.
    pub fn port_of(&self, key: PeerKey) -> Option<PortId> {
        self.by_key.get(&key).copied()
    }

    /// Where to send frames for `port`, if it is one of this listener's peers.
    #[inline]
    pub fn remote(&self, port: PortId) -> Option<SocketAddr> {
        self.by_port.get(&port).map(|p| p.remote)
    }

    /// How many peers the listener has (static and dynamic).
    pub fn peer_count(&self) -> usize {
        self.by_port.len()
    }

    /// Peers, sorted by port.
    pub fn peers(&self) -> Vec<PeerView> {
        let mut v: Vec<PeerView> = self
            .by_port
            .iter()
            .map(|(port, p)| PeerView {
                port: *port,
                remote: p.remote,
                is_static: p.is_static,
            })
            .collect();
        v.sort_by_key(|p| p.port);
        v
    }

    /// Counters.
    pub fn counters(&self) -> &ListenerCounters {
        &self.counters
    }
}

/// An IPv4 peer reaching a dual-stack socket shows up as ::ffff:a.b.c.d;
/// name and match it as the IPv4 address it is.
fn normalize(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vxlan_listener() -> Listener {
        Listener::new(ListenerConfig::new(
            "0.0.0.0:4789".parse().unwrap(),
            Encap::Vxlan,
        ))
    }

    fn vx_datagram(vni: u32) -> Vec<u8> {
        let mut d = vxlan::header(vni).to_vec();
        d.extend_from_slice(&[0xff; 6]);
        d.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        d
    }

    #[test]
    fn vxlan_peers_are_keyed_by_ip_and_answered_at_the_vtep_port() {
        let mut l = vxlan_listener();
        let src: SocketAddr = "10.0.0.2:51234".parse().unwrap();
        let d = vx_datagram(42);
        let Ingress::NewPeer {
            key,
            remote,
            name,
            frame,
            ..
        } = l.ingress(src, &d)
        else {
            panic!("expected a new peer");
        };
        assert_eq!(remote, "10.0.0.2:4789".parse().unwrap());
        assert_eq!(name, "vxlan/10.0.0.2");
        assert_eq!(frame.len(), 14);
        l.insert_peer(key, remote, PortId(3), false);
        // Another flow from the same VTEP uses another source port: same peer.
        let other_flow: SocketAddr = "10.0.0.2:40000".parse().unwrap();
        assert!(matches!(
            l.ingress(other_flow, &d),
            Ingress::Known {
                port: PortId(3),
                ..
            }
        ));
        assert_eq!(l.remote(PortId(3)), Some(remote));
    }

    #[test]
    fn raw_peers_are_keyed_by_address_and_port() {
        let mut l = Listener::new(ListenerConfig::new(
            "0.0.0.0:4800".parse().unwrap(),
            Encap::Raw,
        ));
        let d = &vx_datagram(0)[8..];
        let src: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let Ingress::NewPeer { key, remote, .. } = l.ingress(src, d) else {
            panic!("expected a new peer");
        };
        assert_eq!(remote, src);
        l.insert_peer(key, remote, PortId(1), false);
        assert!(matches!(
            l.ingress("127.0.0.1:5001".parse().unwrap(), d),
            Ingress::NewPeer { .. }
        ));
    }

    #[test]
    fn sources_outside_allow_create_nothing() {
        let mut l = vxlan_listener();
        let public: SocketAddr = "8.8.8.8:4789".parse().unwrap();
        assert_eq!(
            l.ingress(public, &vx_datagram(42)),
            Ingress::Dropped(ListenerDrop::NotAllowed)
        );
        assert_eq!(l.counters().drop_not_allowed, 1);
        assert!(l.peers().is_empty());
    }

    #[test]
    fn garbage_and_wrong_vni_are_counted() {
        let mut l = vxlan_listener();
        let src: SocketAddr = "10.0.0.2:4789".parse().unwrap();
        assert_eq!(
            l.ingress(src, b"hello"),
            Ingress::Dropped(ListenerDrop::Short)
        );
        assert_eq!(
            l.ingress(src, &vx_datagram(7)),
            Ingress::Dropped(ListenerDrop::WrongVni)
        );
        let mut bad = vx_datagram(42);
        bad[0] = 0;
        assert_eq!(
            l.ingress(src, &bad),
            Ingress::Dropped(ListenerDrop::BadFlags)
        );
        let c = l.counters();
        assert_eq!(
            (
                c.rx_datagrams,
                c.drop_short,
                c.drop_wrong_vni,
                c.drop_bad_flags
            ),
            (3, 1, 1, 1)
        );
    }

    #[test]
    fn peer_limit_is_enforced_and_freed_by_expiry() {
        let mut cfg = ListenerConfig::new("0.0.0.0:4789".parse().unwrap(), Encap::Vxlan);
        cfg.max_peers = 1;
        let mut l = Listener::new(cfg);
        let d = vx_datagram(42);
        let a: SocketAddr = "10.0.0.2:4789".parse().unwrap();
        let b: SocketAddr = "10.0.0.3:4789".parse().unwrap();
        let Ingress::NewPeer { key, remote, .. } = l.ingress(a, &d) else {
            panic!()
        };
        l.insert_peer(key, remote, PortId(0), false);
        assert_eq!(l.ingress(b, &d), Ingress::Dropped(ListenerDrop::PeerLimit));
        assert!(l.remove_port(PortId(0), true));
        assert_eq!(l.counters().peers_expired, 1);
        assert!(matches!(l.ingress(b, &d), Ingress::NewPeer { .. }));
    }

    #[test]
    fn v4_mapped_sources_are_treated_as_ipv4() {
        let mut l = vxlan_listener();
        let mapped: SocketAddr = "[::ffff:10.0.0.9]:4789".parse().unwrap();
        let Ingress::NewPeer { name, .. } = l.ingress(mapped, &vx_datagram(42)) else {
            panic!()
        };
        assert_eq!(name, "vxlan/10.0.0.9");
    }
}
