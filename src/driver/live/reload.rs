//! Start-up and live reload: the driver's share of [`crate::node::plan`].
//!
//! Everything that can fail (resolving static peers, binding new sockets)
//! happens before anything changes, so a bad configuration leaves the
//! running one untouched. Then the node applies the plan and says which
//! devices to open and close.

use super::listen::ListenerIo;
use super::{put, Driver, StartError};
use crate::config::Config;
use crate::driver::{lock, udp};
use crate::node::{self, ApplySummary, Resolved};
use crate::tunnel::Encap;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use tracing::info;

/// Rebuilds the configuration for a live reload (re-reads the file, re-applies command-line ports).
pub type ReloadSource = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

impl Driver {
    /// Re-read the configuration and apply it. On error nothing changes.
    pub fn reload(self: &Arc<Self>) -> Result<ApplySummary, String> {
        let source = self
            .reload_source
            .as_ref()
            .ok_or_else(|| "this switch was started without a way to reload".to_string())?;
        let cfg = source()?;
        let _one_at_a_time = lock(&self.reloading);
        let summary = self.apply(cfg).map_err(|e| e.to_string())?;
        info!(added = ?summary.added, removed = ?summary.removed, updated = ?summary.updated, "configuration reloaded");
        Ok(summary)
    }

    /// Make the switch match `cfg`.
    pub(super) fn apply(self: &Arc<Self>, cfg: Config) -> Result<ApplySummary, StartError> {
        let resolved = resolve(&cfg)?;
        let plan = node::plan(&lock(&self.node).running(), &cfg, &resolved);
        let mut fresh = Vec::new();
        for (tunnel, l) in &plan.open_tunnels {
            let socks =
                udp::bind_group(l.bind, self.workers).map_err(|source| StartError::Bind {
                    name: l.display_name(),
                    addr: l.bind,
                    source,
                })?;
            fresh.push((Arc::new(ListenerIo::new(*tunnel, socks)?), l.clone()));
        }
        // In the table before the node can route to their peers; their
        // receive tasks start with the node's OpenTunnel event.
        for (lio, _) in &fresh {
            self.tunnels
                .edit(|t| put(t, lio.tunnel.index(), lio.clone()));
        }
        let now = self.clock.now();
        let applied = {
            let mut node = lock(&self.node);
            node.apply(plan, now).map(|summary| {
                let events: Vec<_> = std::iter::from_fn(|| node.poll_event()).collect();
                (summary, events)
            })
        };
        let (summary, events) = match applied {
            Ok(done) => done,
            Err(e) => {
                for (lio, _) in &fresh {
                    self.tunnels
                        .edit(|t| t.get_mut(lio.tunnel.index()).map(Option::take));
                }
                return Err(e.into());
            }
        };
        for (lio, cfg) in &fresh {
            log_listening(lio, cfg);
        }
        self.act(events);
        Ok(summary)
    }
}

fn log_listening(lio: &ListenerIo, cfg: &crate::tunnel::ListenerConfig) {
    let allow: Vec<String> = cfg.allow.iter().map(|n| n.to_string()).collect();
    info!(
        listener = %cfg.display_name(),
        addr = %lio.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        encap = %cfg.encap,
        vni = ?(cfg.encap == Encap::Vxlan && cfg.vnis.is_empty()).then_some(cfg.vni),
        vnis = ?cfg.segments(),
        sockets = lio.sockets(),
        allow = %if allow.is_empty() { "none (static peers only)".to_string() } else { allow.join(", ") },
        "listening"
    );
}

/// Resolve every static peer's `remote` (the first address a name gives).
fn resolve(cfg: &Config) -> Result<Resolved, StartError> {
    let mut peers = Vec::with_capacity(cfg.peers.len());
    for peer in &cfg.peers {
        let fail = |reason: String| StartError::Resolve {
            remote: peer.remote.clone(),
            reason,
        };
        let addr = peer
            .remote
            .to_socket_addrs()
            .map_err(|e| fail(e.to_string()))?
            .next()
            .ok_or_else(|| fail("no addresses".into()))?;
        peers.push(addr);
    }
    Ok(Resolved { peers })
}
