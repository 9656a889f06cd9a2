//! From a configuration to the changes that make the node match it: a pure
//! function, used at start (a reload from nothing), on every live reload,
//! and by replay.
//!
//! Identity decides what is kept: a listener is its (name, bind address,
//! encapsulation), a TAP its name, a static peer its (listener, key).
//! What is kept keeps its port, its learned state and its device; only
//! settings change in place. New listeners and TAPs get the lowest slots
//! not in use, so the driver can bind and open them before anything changes.

use super::egress::{TapId, TunnelId};
use crate::config::{Config, StaticFdbEntry, StaticMdbEntry, TapConfig};
use crate::tunnel::config::{Encap, ListenerConfig, VXLAN_PORT};
use crate::tunnel::PeerKey;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// What runs now, as [`plan`] needs it (see [`super::Node::running`]).
#[derive(Debug, Clone, Default)]
pub struct Running {
    /// The configuration last applied.
    pub config: Config,
    /// Tunnels and their settings.
    pub tunnels: Vec<(TunnelId, ListenerConfig)>,
    /// Static peers, by tunnel and key, and where they are sent to.
    pub static_peers: Vec<(TunnelId, PeerKey, SocketAddr)>,
    /// TAP slots and their settings.
    pub taps: Vec<(TapId, TapConfig)>,
}

/// Each configured static peer's address, in `[[peer]]` order: resolved by
/// the driver (DNS is I/O), or parsed as literals ([`Resolved::literal`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    /// One per `Config::peers`.
    pub peers: Vec<SocketAddr>,
}

/// A static peer's `remote` is not a literal address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("peer {remote}: not an IP address and port (names are resolved only when running live)")]
pub struct NotLiteral {
    /// The configured remote.
    pub remote: String,
}

impl Resolved {
    /// Parse every static peer's `remote` as an address, resolving nothing.
    pub fn literal(cfg: &Config) -> Result<Resolved, NotLiteral> {
        let peers = cfg
            .peers
            .iter()
            .map(|p| {
                p.remote.parse::<SocketAddr>().map_err(|_| NotLiteral {
                    remote: p.remote.clone(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Resolved { peers })
    }
}

/// A static peer to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticPeer {
    /// Its tunnel.
    pub tunnel: TunnelId,
    /// Its identity in the tunnel.
    pub key: PeerKey,
    /// Where its frames go.
    pub remote: SocketAddr,
}

/// The changes, in the order [`super::Node::apply`] makes them.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The configuration to be in force afterwards.
    pub wanted: Config,
    /// Tunnels to close (their peers go with them).
    pub close_tunnels: Vec<TunnelId>,
    /// Kept tunnels whose settings change.
    pub update_tunnels: Vec<(TunnelId, ListenerConfig)>,
    /// New tunnels: the driver binds their sockets before applying.
    pub open_tunnels: Vec<(TunnelId, ListenerConfig)>,
    /// Static peers no longer configured.
    pub remove_peers: Vec<(TunnelId, PeerKey)>,
    /// Static peers to add (a dynamic peer with the same identity becomes static).
    pub add_peers: Vec<StaticPeer>,
    /// TAPs to close.
    pub close_taps: Vec<TapId>,
    /// Kept TAPs whose settings change.
    pub update_taps: Vec<(TapId, TapConfig)>,
    /// New TAPs.
    pub open_taps: Vec<(TapId, TapConfig)>,
    /// Static FDB entries no longer configured.
    pub unpin_fdb: Vec<StaticFdbEntry>,
    /// Static MDB entries no longer configured.
    pub unpin_mdb: Vec<StaticMdbEntry>,
}

/// A listener's identity: a change to any of these is a new listener.
fn identity(l: &ListenerConfig) -> (String, SocketAddr, Encap) {
    (l.display_name(), l.bind, l.encap)
}

/// The changes that take `running` to `wanted`. `resolved` has one address per `wanted.peers`.
pub fn plan(running: &Running, wanted: &Config, resolved: &Resolved) -> Plan {
    let mut out = Plan {
        wanted: wanted.clone(),
        ..Plan::default()
    };
    let mut listeners = wanted.listeners.clone();
    let peers = place_peers(wanted, resolved, &mut listeners);

    // Tunnels by identity.
    let mut used: BTreeSet<u32> = running.tunnels.iter().map(|(id, _)| id.0).collect();
    let mut kept = BTreeSet::new();
    let mut slot_of = Vec::with_capacity(listeners.len());
    for l in &listeners {
        let found = running
            .tunnels
            .iter()
            .find(|(id, cfg)| identity(cfg) == identity(l) && !kept.contains(id));
        let id = match found {
            Some((id, cfg)) => {
                kept.insert(*id);
                if cfg != l {
                    out.update_tunnels.push((*id, l.clone()));
                }
                *id
            }
            None => {
                let id = TunnelId(lowest_free(&mut used));
                out.open_tunnels.push((id, l.clone()));
                id
            }
        };
        slot_of.push(id);
    }
    out.close_tunnels = running
        .tunnels
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !kept.contains(id))
        .collect();

    // Static peers by (tunnel, key).
    let wanted_peers: Vec<StaticPeer> = peers
        .into_iter()
        .map(|(i, key, remote)| StaticPeer {
            tunnel: slot_of[i],
            key,
            remote,
        })
        .collect();
    out.remove_peers = running
        .static_peers
        .iter()
        .filter(|(t, k, r)| {
            // A peer whose address changed (a VXLAN peer's port, say) is replaced.
            kept.contains(t)
                && !wanted_peers
                    .iter()
                    .any(|p| (p.tunnel, p.key, p.remote) == (*t, *k, *r))
        })
        .map(|(t, k, _)| (*t, *k))
        .collect();
    out.add_peers = wanted_peers
        .into_iter()
        .filter(|p| !running.static_peers.contains(&(p.tunnel, p.key, p.remote)))
        .collect();

    // TAPs by name.
    let mut used: BTreeSet<u32> = running.taps.iter().map(|(id, _)| id.0).collect();
    for tap in &wanted.taps {
        match running.taps.iter().find(|(_, t)| t.name == tap.name) {
            Some((id, t)) if t != tap => out.update_taps.push((*id, tap.clone())),
            Some(_) => {}
            None => out
                .open_taps
                .push((TapId(lowest_free(&mut used)), tap.clone())),
        }
    }
    out.close_taps = running
        .taps
        .iter()
        .filter(|(_, t)| !wanted.taps.iter().any(|w| w.name == t.name))
        .map(|(id, _)| *id)
        .collect();

    // Pinned entries: the old ones that went; every wanted one is (re)pinned.
    out.unpin_fdb = running
        .config
        .static_fdb
        .iter()
        .filter(|e| !wanted.static_fdb.contains(e))
        .cloned()
        .collect();
    out.unpin_mdb = running
        .config
        .static_mdb
        .iter()
        .filter(|e| !wanted.static_mdb.contains(e))
        .cloned()
        .collect();
    out
}

/// The lowest id not in `used`, which it then joins.
fn lowest_free(used: &mut BTreeSet<u32>) -> u32 {
    let id = (0..).find(|i| !used.contains(i)).unwrap_or(u32::MAX);
    used.insert(id);
    id
}

/// Give every static peer a listener, adding an implicit one for any
/// encapsulation that has none (edge mode): VXLAN on its well-known port,
/// since the hub answers VTEPs there; raw on an ephemeral port. Implicit
/// listeners admit no dynamic peers. Returns (index into `listeners`, key, remote).
fn place_peers(
    cfg: &Config,
    resolved: &Resolved,
    listeners: &mut Vec<ListenerConfig>,
) -> Vec<(usize, PeerKey, SocketAddr)> {
    let mut out = Vec::new();
    for (peer, remote) in cfg.peers.iter().zip(&resolved.peers) {
        let remote = *remote;
        let index = match &peer.listener {
            Some(name) => listeners.iter().position(|l| &l.display_name() == name),
            None => listeners.iter().position(|l| l.encap == peer.encap),
        };
        let index = index.unwrap_or_else(|| {
            let any = match remote.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            };
            let port = match peer.encap {
                Encap::Vxlan => VXLAN_PORT,
                Encap::Raw => 0,
            };
            let mut l = ListenerConfig::new(SocketAddr::new(any, port), peer.encap);
            l.allow.clear();
            listeners.push(l);
            listeners.len() - 1
        });
        let key = match peer.encap {
            Encap::Vxlan => PeerKey::Ip(remote.ip()),
            Encap::Raw => PeerKey::Addr(remote),
        };
        out.push((index, key, remote));
    }
    out
}
