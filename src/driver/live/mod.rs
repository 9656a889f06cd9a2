//! The live switch: TAP devices and UDP sockets around one [`Node`].
//!
//! This is the driver only: it holds devices, sockets and tasks, and the
//! node decides everything else. Every port is a task; tasks run on one
//! thread or on a few workers (`workers`), so ports are spread across cores
//! while the FDB and MDB stay one consistent table. A task takes the node's
//! lock once per frame, for the decision, which also resolves each egress to
//! a device slot or a peer address; it copies that out, lets go, and writes
//! with no lock held. The device and socket tables are copy-on-write
//! snapshots (`Arc`), so a send never waits for a reload.

use super::capture::{Capture, CaptureCounters};
use super::clock::Clock;
use super::control::{self, Request, Response};
use super::{lock, Snapshot};
use crate::config::Config;
use crate::node::{Node, NodeEvent, NodeState, TunnelId};
use crate::packet::ethernet::MacAddr;
use crate::port::PortId;
use crate::time::Instant;
use listen::listener_task;
use send::{Packet, Scratch, Tunnels};
use serde::Serialize;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use tap::{tap_task, TapPort};
use tokio::sync::Notify;
use tracing::{info, warn};

mod listen;
mod reload;
mod scrape;
mod send;
mod tap;

pub use reload::ReloadSource;

/// Errors that stop the switch from starting (or a reload from applying).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener socket could not be bound.
    #[error("listener {name} on {addr}: {source}")]
    Bind {
        /// Listener name.
        name: String,
        /// Bind address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// A static peer's host did not resolve.
    #[error("peer {remote}: cannot resolve: {reason}")]
    Resolve {
        /// The configured remote.
        remote: String,
        /// Why.
        reason: String,
    },
    /// A port could not be added to the core.
    #[error("{0}")]
    Port(#[from] crate::switch::SwitchError),
    /// A device or socket failed at start.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The control socket could not be created.
    #[error("control socket {path}: {source}")]
    Control {
        /// Socket path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The metrics endpoint could not be bound.
    #[error("metrics endpoint {addr}: {source}")]
    Metrics {
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// What the live driver needs to start.
pub struct RunOptions {
    /// The validated configuration.
    pub config: Config,
    /// Where to serve the control socket; `None` disables it.
    pub control: Option<PathBuf>,
    /// How to get a fresh configuration on SIGHUP or `overcast reload`; `None`: reload is refused.
    pub reload: Option<ReloadSource>,
}

/// `show state` live: the node's state and the capture's counters.
#[derive(Debug, Clone, Serialize)]
struct LiveState {
    #[serde(flatten)]
    node: NodeState,
    #[serde(skip_serializing_if = "Option::is_none")]
    capture: Option<CaptureCounters>,
}

/// The running switch: the node, and the devices and sockets under its ids.
pub struct Driver {
    node: Mutex<Node>,
    /// TAP devices by [`crate::node::TapId`].
    taps: Snapshot<Vec<Option<Arc<TapPort>>>>,
    /// Tunnel sockets by [`TunnelId`].
    tunnels: Snapshot<Tunnels>,
    reload_source: Option<ReloadSource>,
    /// Serialises reloads (SIGHUP and the control socket may ask at once).
    reloading: Mutex<()>,
    /// The runtime's worker threads: each listener gets a socket per worker.
    workers: usize,
    clock: Clock,
    timer_kick: Notify,
    armed: Mutex<Option<Instant>>,
    /// Live capture (`--capture`; set at start, not by reloads), off when `None`.
    capture: Option<Capture>,
}

impl Driver {
    /// Switch one frame received on `ingress` and send it where the node says.
    fn forward(
        self: &Arc<Self>,
        scratch: &mut Scratch,
        ingress: PortId,
        pkt: Packet<'_>,
        now: Instant,
    ) {
        let mut dests = std::mem::take(&mut scratch.dests);
        {
            let mut node = lock(&self.node);
            node.handle_frame(now, ingress, pkt.frame, &mut dests);
            self.capture(&node, Some(ingress), pkt.frame, &dests, now);
        }
        self.send_and_count(scratch, &dests, pkt);
        scratch.dests = dests;
    }

    /// A datagram from `src` on `tunnel`: the node admits, decaps and decides.
    fn on_datagram(
        self: &Arc<Self>,
        scratch: &mut Scratch,
        tunnel: TunnelId,
        src: SocketAddr,
        datagram: &[u8],
        now: Instant,
    ) {
        let mut dests = std::mem::take(&mut scratch.dests);
        let frame = {
            let mut node = lock(&self.node);
            let got = node.handle_datagram(now, tunnel, src, datagram, &mut dests);
            if let Some((port, frame)) = got {
                self.capture(&node, Some(port), frame, &dests, now);
            }
            got.map(|(_, frame)| frame)
        };
        if let Some(frame) = frame {
            self.send_and_count(scratch, &dests, Packet::plain(frame));
        }
        scratch.dests = dests;
    }

    /// Capture what a port received and what each destination is sent (under the node's lock, so names are exact).
    fn capture(
        &self,
        node: &Node,
        ingress: Option<PortId>,
        frame: &[u8],
        dests: &[crate::node::Dest],
        now: Instant,
    ) {
        let Some(cap) = &self.capture else { return };
        cap.sync_names(node.generation(), || node.port_names());
        if let Some(port) = ingress {
            cap.rx(port, frame, now);
        }
        let mut retagged = Vec::new();
        for d in dests {
            // As the port gets it: with its 802.1Q tag added or stripped.
            if let Some(out) = d.frame(frame, &mut retagged) {
                cap.tx(d.port, out, now);
            }
        }
    }

    fn send_and_count(&self, scratch: &mut Scratch, dests: &[crate::node::Dest], pkt: Packet<'_>) {
        if !dests.is_empty() {
            self.send(scratch, dests, pkt);
            self.record_failures(scratch);
        }
    }

    /// Count the sends that failed on their ports.
    fn record_failures(&self, scratch: &mut Scratch) {
        if scratch.failures.is_empty() {
            return;
        }
        let mut node = lock(&self.node);
        for (port, failure) in scratch.failures.drain(..) {
            node.record_tx_failure(port, failure);
        }
    }

    fn set_port_up(&self, port: PortId, up: bool) {
        let now = self.clock.now();
        lock(&self.node).set_port_up(port, up, now);
    }

    /// After a batch: send what the switch originated and the waiting
    /// trains, act on the node's events, re-arm the timer.
    fn after_batch(self: &Arc<Self>, scratch: &mut Scratch) {
        let mut dests = std::mem::take(&mut scratch.dests);
        loop {
            let now = self.clock.now();
            let frame = {
                let mut node = lock(&self.node);
                let frame = node.poll_transmit(&mut dests);
                if let Some(frame) = &frame {
                    self.capture(&node, None, frame, &dests, now);
                }
                frame
            };
            let Some(frame) = frame else { break };
            self.send_and_count(scratch, &dests, Packet::plain(&frame));
        }
        scratch.dests = dests;
        self.flush_trains(scratch);
        self.record_failures(scratch);
        let events: Vec<NodeEvent> = {
            let mut node = lock(&self.node);
            std::iter::from_fn(|| node.poll_event()).collect()
        };
        self.act(events);
        // Under the node's lock, like the timer task's re-arming, so a timer
        // added on one worker while the timer task re-arms on another is
        // never missed.
        let kick = {
            let node = lock(&self.node);
            let next = node.poll_timeout();
            let armed = *lock(&self.armed);
            next.is_some() && (armed.is_none() || next < armed)
        };
        if kick {
            self.timer_kick.notify_one();
        }
    }

    /// Carry out what the node asked for, and log what it reported.
    fn act(self: &Arc<Self>, events: Vec<NodeEvent>) {
        for event in events {
            match event {
                NodeEvent::OpenTap {
                    tap,
                    port,
                    name,
                    offload,
                    mtu,
                } => {
                    let device = Arc::new(TapPort::new(port, name, offload, mtu));
                    self.taps.edit(|t| put(t, tap.index(), device.clone()));
                    tokio::spawn(tap_task(self.clone(), device));
                }
                NodeEvent::UpdateTap { tap, offload, mtu } => {
                    if let Some(device) = self.taps.load().get(tap.index()).cloned().flatten() {
                        // Applies when the device is next opened.
                        device.offload.store(offload, Relaxed);
                        *lock(&device.mtu) = mtu;
                    }
                }
                NodeEvent::CloseTap { tap } => {
                    if let Some(device) = self
                        .taps
                        .edit(|t| t.get_mut(tap.index()).and_then(Option::take))
                    {
                        device.shut();
                    }
                }
                NodeEvent::OpenTunnel { tunnel } => {
                    if let Some(lio) = self.tunnels.load().get(tunnel.index()).cloned().flatten() {
                        for index in 0..lio.sockets() {
                            tokio::spawn(listener_task(self.clone(), lio.clone(), index));
                        }
                    }
                }
                NodeEvent::CloseTunnel { tunnel } => {
                    if let Some(lio) = self
                        .tunnels
                        .edit(|t| t.get_mut(tunnel.index()).and_then(Option::take))
                    {
                        lio.shut();
                    }
                }
                NodeEvent::PeerAdmitted { name, remote } => {
                    info!(peer = %name, %remote, "dynamic peer admitted")
                }
                NodeEvent::PeerExpired { name } => {
                    info!(peer = %name, "peer expired after its idle timeout")
                }
                NodeEvent::SourceRefused { listener, src } => warn!(
                    %listener,
                    source = %src,
                    "datagram from a source outside `allow` dropped (further refusals are counted, not logged, for 10s)"
                ),
                NodeEvent::PeerRejected { name, reason } => {
                    warn!(peer = %name, error = %reason, "cannot admit peer")
                }
            }
        }
    }

    /// Answer one control request.
    pub fn handle_request(self: &Arc<Self>, req: &Request) -> Response {
        let now = self.clock.now();
        match req {
            Request::Reload => match self.reload() {
                Ok(summary) => Response::ok(summary),
                Err(e) => Response::err(e),
            },
            Request::Show { what } if what == "state" || what == "counters" => {
                let node = lock(&self.node).state(now);
                Response::ok(LiveState {
                    node,
                    capture: self.capture.as_ref().map(Capture::counters),
                })
            }
            other => lock(&self.node).command(other, now),
        }
    }
}

/// Put `value` at `index`, growing the table as needed.
fn put<T: Clone>(table: &mut Vec<Option<T>>, index: usize, value: T) {
    if table.len() <= index {
        table.resize(index + 1, None);
    }
    table[index] = Some(value);
}

/// Run the switch until SIGINT or SIGTERM.
pub async fn run(opts: RunOptions) -> Result<(), StartError> {
    run_until(opts, shutdown_signal()).await
}

/// Run the switch until `shutdown` completes: for a program that embeds the
/// switch and has its own way to stop it (`overcast lab`). Ports run as
/// tasks of the calling runtime: a current-thread runtime is one worker, a
/// multi-thread runtime spreads them over its workers.
pub async fn run_until(
    opts: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let metrics = scrape::bind(opts.config.metrics_listen)?;
    let clock = Clock::start();
    let mac = opts.config.mac.unwrap_or_else(random_mac);
    let capture = match &opts.config.capture {
        Some(c) => {
            info!(dir = %c.dir.display(), max_bytes = c.max_bytes, max_files = c.max_files, "capturing every port");
            Some(Capture::start(c, clock.now())?)
        }
        None => None,
    };
    let driver = Arc::new(Driver {
        node: Mutex::new(Node::new(opts.config.switch_config(mac))),
        taps: Snapshot::default(),
        tunnels: Snapshot::default(),
        reloading: Mutex::new(()),
        workers: tokio::runtime::Handle::current().metrics().num_workers(),
        reload_source: opts.reload,
        clock,
        timer_kick: Notify::new(),
        armed: Mutex::new(None),
        capture,
    });
    // Start-up is a reload from nothing: one code path builds and changes the switch.
    driver.apply(opts.config)?;
    tokio::spawn(timer_task(driver.clone()));

    let _control = match &opts.control {
        Some(path) => {
            let server = control::Server::bind(path).map_err(|source| StartError::Control {
                path: path.clone(),
                source,
            })?;
            info!(path = %path.display(), "control socket");
            let d = driver.clone();
            tokio::spawn(server.serve(move |req| d.handle_request(&req)));
            Some(control::Cleanup(path.clone()))
        }
        None => None,
    };

    if let Some(endpoint) = metrics {
        scrape::serve(endpoint, driver.clone())?;
    }

    info!(
        taps = driver.taps.load().iter().flatten().count(),
        listeners = driver.tunnels.load().iter().flatten().count(),
        "overcast is switching"
    );
    run_until_shutdown(&driver, shutdown).await;
    info!("shutting down");
    for tap in driver.taps.load().iter().flatten() {
        tap.shut();
    }
    if let Some(cap) = &driver.capture {
        cap.shutdown();
        info!(counters = ?cap.counters(), "capture files flushed");
    }
    Ok(())
}

/// Serve SIGHUP reloads until `stop` completes.
async fn run_until_shutdown(driver: &Arc<Driver>, stop: impl Future<Output = ()>) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup()).ok();
    tokio::pin!(stop);
    loop {
        let hangup = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = &mut stop => return,
            _ = hangup => {
                if let Err(e) = driver.reload() {
                    warn!(error = %e, "reload refused; the running configuration stays");
                }
            }
        }
    }
}

/// A random locally administered unicast MAC for the switch's own frames.
fn random_mac() -> MacAddr {
    let mut b = [0u8; 6];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_err()
    {
        return crate::switch::DEFAULT_MAC;
    }
    b[0] = (b[0] & 0xfc) | 0x02;
    MacAddr(b)
}

async fn timer_task(driver: Arc<Driver>) {
    let mut scratch = Scratch::default();
    loop {
        let deadline = {
            let node = lock(&driver.node);
            let deadline = node.poll_timeout();
            *lock(&driver.armed) = deadline;
            deadline
        };
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(driver.clock.to_tokio(t)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = sleep => {
                let now = driver.clock.now();
                lock(&driver.node).handle_timeout(now);
                driver.after_batch(&mut scratch);
            }
            _ = driver.timer_kick.notified() => {}
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
