//! Making the running switch match a configuration: at start, and on every live reload.
//!
//! Everything that can fail (resolving peers, binding new sockets) happens
//! before anything changes, so a bad configuration leaves the running one
//! untouched. Then ports, listeners and peers are diffed by identity:
//! what is unchanged keeps its port, its learned state and its device, and
//! never stops forwarding.

use super::live::{listener_task, tap_task, Egress, ListenerIo, Node, StartError, TapPort};
use super::{lock, udp};
use crate::config::Config;
use crate::port::PortId;
use crate::switch::{PortConfig, PortKind};
use crate::tunnel::config::{Encap, ListenerConfig, VXLAN_PORT};
use crate::tunnel::PeerKey;
use serde::Serialize;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tracing::info;

/// What a reload changed.
#[derive(Debug, Default, Serialize)]
pub struct ApplySummary {
    /// Ports and listeners added.
    pub added: Vec<String>,
    /// Ports and listeners removed.
    pub removed: Vec<String>,
    /// Listeners whose settings changed in place.
    pub updated: Vec<String>,
}

/// A listener's identity: a change to any of these is a new listener.
fn identity(l: &ListenerConfig) -> (String, SocketAddr, Encap) {
    (l.display_name(), l.bind, l.encap)
}

impl Node {
    /// Re-read the configuration and apply it. On error nothing changes.
    pub fn reload(self: &Arc<Self>) -> Result<ApplySummary, String> {
        let source = self
            .reload_source()
            .ok_or_else(|| "this switch was started without a way to reload".to_string())?;
        let cfg = source()?;
        let _one_at_a_time = lock(&self.reloading);
        let summary = self.apply(cfg).map_err(|e| e.to_string())?;
        info!(added = ?summary.added, removed = ?summary.removed, updated = ?summary.updated, "configuration reloaded");
        Ok(summary)
    }

    /// Make the switch match `new`.
    pub(super) fn apply(self: &Arc<Self>, new: Config) -> Result<ApplySummary, StartError> {
        let now = self.clock.now();
        let mut summary = ApplySummary::default();

        // 1. Everything fallible, before any change.
        let mut wanted = new.listeners.clone();
        let peers = resolve_peers(&new, &mut wanted)?;
        let running: Vec<Option<(ListenerConfig, usize)>> = self
            .listeners()
            .iter()
            .map(|l| {
                l.as_ref()
                    .map(|l| (lock(&l.state).config().clone(), l.slot))
            })
            .collect();
        let reuse: Vec<Option<usize>> = wanted
            .iter()
            .map(|w| {
                running
                    .iter()
                    .flatten()
                    .find(|(cfg, _)| identity(cfg) == identity(w))
                    .map(|(_, slot)| *slot)
            })
            .collect();
        let mut fresh = Vec::new();
        for (i, w) in wanted.iter().enumerate() {
            if reuse[i].is_none() {
                let socks =
                    udp::bind_group(w.bind, self.workers).map_err(|source| StartError::Bind {
                        name: w.display_name(),
                        addr: w.bind,
                        source,
                    })?;
                fresh.push((i, socks));
            }
        }

        // 2. Core-wide settings.
        lock(&self.core).reconfigure(new.switch_config(self.mac), now);

        // 3. Listeners: drop the unwanted, update the kept, start the new.
        let kept: BTreeSet<usize> = reuse.iter().flatten().copied().collect();
        let gone: Vec<usize> = running
            .iter()
            .flatten()
            .map(|(_, s)| *s)
            .filter(|s| !kept.contains(s))
            .collect();
        for slot in gone {
            if let Some(name) = self.remove_listener(slot) {
                summary.removed.push(format!("listener {name}"));
            }
        }
        let mut slot_of = vec![0usize; wanted.len()];
        for (i, w) in wanted.iter().enumerate() {
            if let Some(slot) = reuse[i] {
                slot_of[i] = slot;
                if self.update_listener(slot, w.clone()) {
                    summary
                        .updated
                        .push(format!("listener {}", w.display_name()));
                }
            }
        }
        for (i, socks) in fresh {
            let slot = self.add_listener(socks, wanted[i].clone())?;
            slot_of[i] = slot;
            summary
                .added
                .push(format!("listener {}", wanted[i].display_name()));
        }

        // 4. Static peers.
        let wanted_peers: Vec<(usize, PeerKey, SocketAddr)> = peers
            .into_iter()
            .map(|(i, key, remote)| (slot_of[i], key, remote))
            .collect();
        for lio in self.listeners().iter().flatten() {
            let statics = lock(&lio.state).static_peers();
            for (key, port) in statics {
                if !wanted_peers
                    .iter()
                    .any(|(slot, k, _)| *slot == lio.slot && *k == key)
                {
                    let name = lock(&self.core).port_name(port).unwrap_or("?").to_string();
                    lock(&lio.state).remove_port(port);
                    lock(&self.core).remove_port(port);
                    self.set_egress(port, None);
                    summary.removed.push(format!("peer {name}"));
                }
            }
        }
        for (slot, key, remote) in wanted_peers {
            let Some(lio) = self.listeners().get(slot).cloned().flatten() else {
                continue;
            };
            if lock(&lio.state)
                .static_peers()
                .iter()
                .any(|(k, _)| *k == key)
            {
                continue;
            }
            let name = lock(&lio.state).peer_name(key);
            let mut port_cfg = PortConfig::new(name.clone(), PortKind::Peer);
            port_cfg.snoop = lock(&lio.state).config().multicast.clone();
            // A dynamic peer with the same identity becomes static.
            let old = lock(&self.core).port_by_name(&name);
            if let Some(old) = old {
                lock(&lio.state).remove_port(old);
                lock(&self.core).remove_port(old);
            }
            let port = lock(&self.core).add_port(port_cfg, now)?;
            lock(&lio.state).insert_peer(key, remote, port, true);
            self.set_egress(port, Some(Egress::Peer(slot)));
            info!(peer = %name, %remote, "static peer");
            summary.added.push(format!("peer {name}"));
        }

        // 5. TAP ports, by name.
        let wanted_taps: BTreeSet<&str> = new.taps.iter().map(|t| t.name.as_str()).collect();
        let removed_taps: Vec<Arc<TapPort>> = lock(&self.taps)
            .iter()
            .filter(|t| !wanted_taps.contains(t.name.as_str()))
            .cloned()
            .collect();
        for tap in removed_taps {
            tap.shut();
            lock(&self.core).remove_port(tap.port);
            self.set_egress(tap.port, None);
            lock(&self.taps).retain(|t| !Arc::ptr_eq(t, &tap));
            summary.removed.push(format!("tap {}", tap.name));
        }
        for tap in &new.taps {
            let existing = lock(&self.taps)
                .iter()
                .find(|t| t.name == tap.name)
                .map(|t| t.port);
            match existing {
                Some(port) => {
                    lock(&self.core).set_port_options(port, None, tap.multicast.clone());
                    // An offload change applies when the device is next opened.
                    if let Some(t) = lock(&self.taps).iter().find(|t| t.port == port) {
                        t.offload.store(tap.offload, Relaxed);
                        *lock(&t.mtu) = tap.mtu;
                    }
                }
                None => {
                    let mut port_cfg = PortConfig::new(tap.name.clone(), PortKind::Tap);
                    port_cfg.snoop = tap.multicast.clone();
                    let port = {
                        let mut core = lock(&self.core);
                        let port = core.add_port(port_cfg, now)?;
                        // Down until the device is open.
                        core.set_port_up(port, false, now);
                        port
                    };
                    let tp = Arc::new(TapPort::new(port, tap.name.clone(), tap.offload));
                    *lock(&tp.mtu) = tap.mtu;
                    self.set_egress(port, Some(Egress::Tap(tp.clone())));
                    lock(&self.taps).push(tp.clone());
                    tokio::spawn(tap_task(self.clone(), tp));
                    summary.added.push(format!("tap {}", tap.name));
                }
            }
        }

        // 6. Static FDB and MDB entries: drop the old, pin the new.
        {
            let old = lock(&self.config).clone();
            let mut core = lock(&self.core);
            for e in old
                .static_fdb
                .iter()
                .filter(|e| !new.static_fdb.contains(e))
            {
                core.fdb_mut().remove(e.vlan, e.mac);
            }
            for e in &new.static_fdb {
                if let Some(port) = core.port_by_name(&e.port) {
                    core.add_static_fdb(e.vlan, e.mac, port);
                }
            }
            for e in old
                .static_mdb
                .iter()
                .filter(|e| !new.static_mdb.contains(e))
            {
                if let Some(port) = core.port_by_name(&e.port) {
                    core.remove_static_mdb(e.vlan, e.group, port);
                }
            }
            for e in &new.static_mdb {
                if let Some(port) = core.port_by_name(&e.port) {
                    core.add_static_mdb(e.vlan, e.group, port)?;
                }
            }
        }
        *lock(&self.config) = new;
        Ok(summary)
    }

    fn add_listener(
        self: &Arc<Self>,
        socks: Vec<std::net::UdpSocket>,
        cfg: ListenerConfig,
    ) -> Result<usize, StartError> {
        let slot = {
            let listeners = self.listeners();
            listeners
                .iter()
                .position(Option::is_none)
                .unwrap_or(listeners.len())
        };
        let name = cfg.display_name();
        let allow: Vec<String> = cfg.allow.iter().map(|n| n.to_string()).collect();
        let vni = (cfg.encap == Encap::Vxlan).then_some(cfg.vni);
        let encap = cfg.encap;
        let lio = Arc::new(ListenerIo::new(slot, socks, cfg)?);
        info!(
            listener = %name,
            addr = %lio.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            %encap,
            vni = ?vni,
            sockets = lio.sockets(),
            allow = %if allow.is_empty() { "none (static peers only)".to_string() } else { allow.join(", ") },
            "listening"
        );
        self.edit_listeners(|listeners| {
            if slot == listeners.len() {
                listeners.push(Some(lio.clone()));
            } else {
                listeners[slot] = Some(lio.clone());
            }
        });
        for index in 0..lio.sockets() {
            tokio::spawn(listener_task(self.clone(), lio.clone(), index));
        }
        Ok(slot)
    }

    /// Update a kept listener in place; returns whether anything changed.
    fn update_listener(&self, slot: usize, cfg: ListenerConfig) -> bool {
        let Some(lio) = self.listeners().get(slot).cloned().flatten() else {
            return false;
        };
        if *lock(&lio.state).config() == cfg {
            return false;
        }
        let (idle, snoop) = (cfg.idle_timeout, cfg.multicast.clone());
        lio.set_config(cfg);
        let statics: Vec<PortId> = lock(&lio.state)
            .static_peers()
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        let mut core = lock(&self.core);
        for port in lock(&lio.state).ports() {
            let idle = (!statics.contains(&port)).then_some(idle);
            core.set_port_options(port, idle, snoop.clone());
        }
        true
    }

    /// Stop a listener and remove its peers' ports; returns its name.
    fn remove_listener(&self, slot: usize) -> Option<String> {
        let lio = self.edit_listeners(|l| l.get_mut(slot).and_then(Option::take))?;
        lio.shut();
        let ports = lock(&lio.state).ports();
        let mut core = lock(&self.core);
        for port in ports {
            core.remove_port(port);
            self.set_egress(port, None);
        }
        let name = lock(&lio.state).name().to_string();
        Some(name)
    }
}

/// Resolve static peers, adding an implicit listener for any encapsulation
/// that has none (edge mode): VXLAN on its well-known port, since the hub
/// answers VTEPs there; raw on an ephemeral port. Implicit listeners admit
/// no dynamic peers. Returns (index into `listeners`, key, remote) per peer.
pub(super) fn resolve_peers(
    cfg: &Config,
    listeners: &mut Vec<ListenerConfig>,
) -> Result<Vec<(usize, PeerKey, SocketAddr)>, StartError> {
    let mut out = Vec::new();
    for peer in &cfg.peers {
        let remote = peer
            .remote
            .to_socket_addrs()
            .map_err(|e| StartError::Resolve {
                remote: peer.remote.clone(),
                reason: e.to_string(),
            })?
            .next()
            .ok_or_else(|| StartError::Resolve {
                remote: peer.remote.clone(),
                reason: "no addresses".into(),
            })?;
        let index = match &peer.listener {
            Some(name) => listeners.iter().position(|l| &l.display_name() == name),
            None => listeners.iter().position(|l| l.encap == peer.encap),
        };
        let index = match index {
            Some(i) => i,
            None => {
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
            }
        };
        let key = match peer.encap {
            Encap::Vxlan => PeerKey::Ip(remote.ip()),
            Encap::Raw => PeerKey::Addr(remote),
        };
        out.push((index, key, remote));
    }
    Ok(out)
}
