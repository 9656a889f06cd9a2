//! The live switch: TAP ports and UDP listeners around one core.
//!
//! Ownership: [`Node`] owns the core behind a `Mutex`. Every port is a task;
//! tasks run on one thread or on a few workers (`workers`), so ports are
//! spread across cores while the FDB and MDB stay one consistent table. A
//! task holds the core's lock only for the decision (tens of nanoseconds),
//! resolves the egress devices, and does its I/O with no lock held; the
//! device and peer tables are copy-on-write snapshots (`Arc`), so a send
//! never waits for a reload or a peer admission. Everything a task needs to
//! send (fan-out lists, segmentation buffers, trains) is its own [`Scratch`].

use super::capture::{Capture, CaptureCounters};
use super::clock::Clock;
use super::control::{self, Request, Response};
use super::reactor;
use super::tap::Tap;
use super::train::Train;
use super::udp::{self, FanoutScratch, RxBatch, SendOutcome};
use super::{lock, Snapshot};
use crate::config::Config;
use crate::packet::gso::{self, Segments};
use crate::packet::virtio::{self, VnetHdr};
use crate::port::PortId;
use crate::switch::{DropReason, Event, PortConfig, PortKind, Switch, TxFailure};
use crate::time::Instant;
use crate::tunnel::config::{Encap, ListenerConfig};
use crate::tunnel::{Ingress, Listener, ListenerDrop};
use serde::Serialize;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

mod scrape;

/// Frames taken from one port before the others get a turn.
const PORT_BATCH: usize = 64;
/// Largest read from a TAP: a 64 KB GSO super-frame, its Ethernet header and the virtio-net header.
const TAP_BUF: usize = 65_536 + 64;
/// First and longest wait before reopening a failed TAP.
const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);
/// At most one "source not allowed" log line per listener per this interval.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Errors that stop the switch from starting.
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

/// Rebuilds the configuration for a live reload (re-reads the file, re-applies command-line ports).
pub type ReloadSource = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

/// What the live driver needs to start.
pub struct RunOptions {
    /// The validated configuration.
    pub config: Config,
    /// Where to serve the control socket; `None` disables it.
    pub control: Option<PathBuf>,
    /// How to get a fresh configuration on SIGHUP or `overcast reload`; `None`: reload is refused.
    pub reload: Option<ReloadSource>,
}

/// A TAP port's device, which comes and goes as the device fails and is reopened.
pub(super) struct TapPort {
    pub(super) port: PortId,
    pub(super) name: String,
    /// Ask for `IFF_VNET_HDR` offload when opening.
    pub(super) offload: AtomicBool,
    /// The open device carries virtio-net headers.
    vnet: AtomicBool,
    /// MTU to set when the device is opened.
    pub(super) mtu: Mutex<Option<u32>>,
    dev: Mutex<Option<Arc<AsyncFd<Tap>>>>,
    broken: Notify,
    /// Set when a reload removes the port: its task ends instead of reopening.
    removed: AtomicBool,
}

impl TapPort {
    pub(super) fn new(port: PortId, name: String, offload: bool) -> Self {
        TapPort {
            port,
            name,
            offload: AtomicBool::new(offload),
            vnet: AtomicBool::new(false),
            mtu: Mutex::new(None),
            dev: Mutex::new(None),
            broken: Notify::new(),
            removed: AtomicBool::new(false),
        }
    }

    /// Close the device and end the port's task.
    pub(super) fn shut(&self) {
        self.removed.store(true, Relaxed);
        lock(&self.dev).take();
        self.broken.notify_one();
    }

    /// The open device, if any; the caller writes to it with no lock held.
    fn device(&self) -> Option<Arc<AsyncFd<Tap>>> {
        lock(&self.dev).clone()
    }
}

/// A UDP listener: its sockets and its peer table.
pub(super) struct ListenerIo {
    /// Slot in `Node::listeners`, the id `Egress::Peer` refers to.
    pub(super) slot: usize,
    /// One socket per worker, all bound to the listener's address: the
    /// kernel spreads peers over them, and each has its own task. Sends go
    /// out of the first.
    socks: Vec<AsyncFd<std::net::UdpSocket>>,
    pub(super) state: Mutex<Listener>,
    /// The kernel takes `UDP_SEGMENT` on this socket, so trains are used.
    gso: bool,
    last_refusal_log: Mutex<Option<Instant>>,
    /// Set once when the listener is removed; every task of it ends.
    stop: tokio::sync::watch::Sender<bool>,
}

impl ListenerIo {
    /// `socks`: at least one, all bound to the same address (see [`udp::bind_group`]).
    pub(super) fn new(
        slot: usize,
        socks: Vec<std::net::UdpSocket>,
        cfg: ListenerConfig,
    ) -> io::Result<Self> {
        let state = Listener::new(cfg);
        let gso = socks.first().is_some_and(udp::supports_gso);
        let socks = socks
            .into_iter()
            .map(|s| reactor::register(s, Interest::READABLE))
            .collect::<io::Result<Vec<_>>>()?;
        if socks.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no socket"));
        }
        Ok(ListenerIo {
            slot,
            gso,
            socks,
            state: Mutex::new(state),
            last_refusal_log: Mutex::new(None),
            stop: tokio::sync::watch::Sender::new(false),
        })
    }

    /// The socket frames are sent from.
    fn sock(&self) -> &AsyncFd<std::net::UdpSocket> {
        &self.socks[0]
    }

    /// How many sockets (and receive tasks) the listener has.
    pub(super) fn sockets(&self) -> usize {
        self.socks.len()
    }

    /// Take a new configuration, keeping the socket and the peers.
    pub(super) fn set_config(&self, cfg: ListenerConfig) {
        lock(&self.state).set_config(cfg);
    }

    /// End the listener's tasks (the sockets close when the last reference goes).
    pub(super) fn shut(&self) {
        self.stop.send_replace(true);
    }

    pub(super) fn local_addr(&self) -> Option<SocketAddr> {
        self.sock().get_ref().local_addr().ok()
    }
}

/// Where frames for a port are written.
#[derive(Clone)]
pub(super) enum Egress {
    /// A TAP device.
    Tap(Arc<TapPort>),
    /// A tunnel peer of the listener in this slot.
    Peer(usize),
}

/// A received frame and its offload state.
#[derive(Clone, Copy)]
pub(super) struct Packet<'a> {
    /// The Ethernet frame.
    frame: &'a [u8],
    /// Virtio-net header and frame, contiguous, when it came from an offload TAP.
    with_vnet: Option<&'a [u8]>,
    /// The decoded header; all zero for a plain frame.
    hdr: VnetHdr,
}

impl<'a> Packet<'a> {
    /// A complete frame with no offload state (from a tunnel, or our own).
    fn plain(frame: &'a [u8]) -> Self {
        Packet {
            frame,
            with_vnet: None,
            hdr: VnetHdr::default(),
        }
    }

    /// A buffer read from a TAP with virtio-net headers; `None` if too short.
    fn from_vnet(buf: &'a [u8]) -> Option<Self> {
        Some(Packet {
            frame: buf.get(virtio::LEN..)?,
            with_vnet: Some(buf),
            hdr: VnetHdr::parse(buf)?,
        })
    }
}

/// Per-listener destinations of the frame being sent.
#[derive(Default)]
struct Fanout {
    addrs: Vec<SocketAddr>,
    ports: Vec<PortId>,
}

/// Listeners by slot.
type ListenerTable = Vec<Option<Arc<ListenerIo>>>;

/// What one task needs to send, reused from frame to frame so the hot path
/// allocates nothing once warm. Each task owns one: no sharing, no lock.
#[derive(Default)]
pub(super) struct Scratch {
    /// The egress ports of the frame being sent, copied out of the core.
    ports: Vec<PortId>,
    /// Tunnel destinations of the frame, per listener slot.
    fanout: Vec<Fanout>,
    failures: Vec<(PortId, TxFailure)>,
    /// Complete frames made from an offloaded one, for egresses that need them.
    segments: Segments,
    /// TAPs without offload the frame goes to.
    plain_taps: Vec<(PortId, Arc<TapPort>)>,
    /// Frames for one peer per listener slot, waiting for the end of the batch.
    trains: Vec<Train>,
    headers: FanoutScratch,
}

/// The running switch.
pub struct Node {
    pub(super) core: Mutex<Switch>,
    /// Each port's device, by port index.
    egress: Snapshot<Vec<Option<Egress>>>,
    listeners: Snapshot<ListenerTable>,
    pub(super) taps: Mutex<Vec<Arc<TapPort>>>,
    /// The configuration in force (after the last successful reload).
    pub(super) config: Mutex<Config>,
    reload_source: Option<ReloadSource>,
    /// Serialises reloads (SIGHUP and the control socket may ask at once).
    pub(super) reloading: Mutex<()>,
    /// The runtime's worker threads: each listener gets a socket per worker.
    pub(super) workers: usize,
    /// Source MAC of our own frames; fixed for the switch's life.
    pub(super) mac: crate::packet::ethernet::MacAddr,
    pub(super) clock: Clock,
    timer_kick: Notify,
    armed: Mutex<Option<Instant>>,
    /// Live capture (`--capture`; set at start, not by reloads), off when `None`.
    capture: Option<Capture>,
}

impl Node {
    pub(super) fn reload_source(&self) -> Option<&ReloadSource> {
        self.reload_source.as_ref()
    }

    /// The listeners as they are now.
    pub(super) fn listeners(&self) -> Arc<ListenerTable> {
        self.listeners.load()
    }

    /// Change the listener table; tasks sending keep the version they read.
    pub(super) fn edit_listeners<R>(&self, edit: impl FnOnce(&mut ListenerTable) -> R) -> R {
        self.listeners.edit(edit)
    }

    pub(super) fn set_egress(&self, port: PortId, egress: Option<Egress>) {
        self.egress.edit(|table| {
            if table.len() <= port.index() {
                table.resize(port.index() + 1, None);
            }
            table[port.index()] = egress;
        });
        if let Some(cap) = &self.capture {
            cap.ports_changed();
        }
    }

    /// Switch one received frame and send it where the core says.
    fn forward(&self, scratch: &mut Scratch, ingress: PortId, pkt: Packet<'_>, now: Instant) {
        let mut ports = std::mem::take(&mut scratch.ports);
        ports.clear();
        {
            let mut core = lock(&self.core);
            if let Some(cap) = &self.capture {
                cap.rx(&core, ingress, pkt.frame, now);
            }
            ports.extend_from_slice(core.handle_frame(ingress, pkt.frame, now));
        }
        if !ports.is_empty() {
            self.send(scratch, &ports, pkt);
            self.record_failures(scratch);
        }
        scratch.ports = ports;
    }

    /// Count the sends that failed on their ports.
    fn record_failures(&self, scratch: &mut Scratch) {
        if scratch.failures.is_empty() {
            return;
        }
        let mut core = lock(&self.core);
        for (port, failure) in scratch.failures.drain(..) {
            core.record_tx_failure(port, failure);
        }
    }

    /// Write a frame to each port. Offload TAPs take it as it came (a 64 KB
    /// super-frame stays one write); tunnel peers and plain TAPs get complete
    /// frames, segmented and checksummed once for all of them. A frame for
    /// one tunnel peer joins that listener's train (one GSO send per run of
    /// frames to the same peer); a flood to several peers is one `sendmmsg`.
    fn send(&self, scratch: &mut Scratch, ports: &[PortId], pkt: Packet<'_>) {
        let table = self.egress.load();
        let listeners = self.listeners();
        if scratch.fanout.len() < listeners.len() {
            scratch.fanout.resize_with(listeners.len(), Fanout::default);
        }
        scratch.plain_taps.clear();
        for &port in ports {
            if let Some(cap) = &self.capture {
                cap.tx(&self.core, port, pkt.frame, self.clock.now());
            }
            match table.get(port.index()).and_then(Option::as_ref) {
                Some(Egress::Tap(tap)) if tap.vnet.load(Relaxed) => {
                    let sent = match pkt.with_vnet {
                        Some(raw) => send_tap(tap, raw, None),
                        None => send_tap(tap, &VnetHdr::PLAIN, Some(pkt.frame)),
                    };
                    if let Err(e) = sent {
                        scratch.failures.push((port, TxFailure::Error));
                        if is_fatal(&e) {
                            tap.broken.notify_one();
                        }
                    }
                }
                Some(Egress::Tap(tap)) => scratch.plain_taps.push((port, tap.clone())),
                Some(Egress::Peer(l)) => {
                    let remote = listeners
                        .get(*l)
                        .and_then(Option::as_ref)
                        .and_then(|lio| lock(&lio.state).remote(port));
                    match (remote, scratch.fanout.get_mut(*l)) {
                        (Some(remote), Some(out)) => {
                            out.addrs.push(remote);
                            out.ports.push(port);
                        }
                        _ => scratch.failures.push((port, TxFailure::Error)),
                    }
                }
                None => scratch.failures.push((port, TxFailure::Error)),
            }
        }
        let needs_complete =
            !scratch.plain_taps.is_empty() || scratch.fanout.iter().any(|o| !o.addrs.is_empty());
        if needs_complete {
            if pkt.hdr.is_plain() {
                send_complete(scratch, &listeners, pkt.frame);
            } else {
                let mut segments = std::mem::take(&mut scratch.segments);
                match gso::complete(&pkt.hdr, pkt.frame, &mut segments) {
                    Ok(()) => {
                        for seg in segments.iter() {
                            send_complete(scratch, &listeners, seg);
                        }
                    }
                    Err(_) => {
                        let Scratch {
                            plain_taps,
                            fanout,
                            failures,
                            ..
                        } = scratch;
                        failures.extend(plain_taps.iter().map(|(p, _)| (*p, TxFailure::Offload)));
                        failures.extend(
                            fanout
                                .iter()
                                .flat_map(|o| o.ports.iter().map(|p| (*p, TxFailure::Offload))),
                        );
                    }
                }
                scratch.segments = segments;
            }
        }
        for out in scratch.fanout.iter_mut() {
            out.addrs.clear();
            out.ports.clear();
        }
    }

    /// Send every waiting train of this task and record what failed.
    fn flush_trains(&self, scratch: &mut Scratch) {
        if scratch.trains.iter().all(Train::is_empty) {
            return;
        }
        let listeners = self.listeners();
        for (slot, train) in scratch.trains.iter_mut().enumerate() {
            match listeners.get(slot).and_then(Option::as_ref) {
                Some(lio) => flush_train(lio, train, &mut scratch.failures),
                // The listener went away in a reload: its peers' ports are gone too.
                None => train.clear(),
            }
        }
        self.record_failures(scratch);
    }

    /// After a batch: send what the core originated and the waiting trains,
    /// apply the core's events, re-arm the timer.
    fn after_batch(&self, scratch: &mut Scratch) {
        loop {
            let tx = lock(&self.core).poll_transmit();
            let Some(tx) = tx else { break };
            self.send(scratch, &tx.ports, Packet::plain(&tx.frame));
            self.record_failures(scratch);
        }
        self.flush_trains(scratch);
        loop {
            let event = lock(&self.core).poll_event();
            match event {
                Some(Event::PortExpired { port, name }) => {
                    for l in self.listeners().iter().flatten() {
                        lock(&l.state).remove_port(port);
                    }
                    self.set_egress(port, None);
                    info!(peer = %name, "peer expired after its idle timeout");
                }
                None => break,
            }
        }
        // Under the core's lock, like the timer task's re-arming, so a timer
        // added on one worker while the timer task re-arms on another is
        // never missed.
        let kick = {
            let core = lock(&self.core);
            let next = core.poll_timeout();
            let armed = *lock(&self.armed);
            next.is_some() && (armed.is_none() || next < armed)
        };
        if kick {
            self.timer_kick.notify_one();
        }
    }

    /// A datagram from `src` on listener `lio`.
    fn on_datagram(
        &self,
        scratch: &mut Scratch,
        lio: &ListenerIo,
        src: SocketAddr,
        datagram: &[u8],
        now: Instant,
    ) {
        let verdict = lock(&lio.state).ingress(src, datagram);
        match verdict {
            Ingress::Known { port, frame } => {
                self.forward(scratch, port, Packet::plain(frame), now)
            }
            Ingress::NewPeer {
                key,
                remote,
                name,
                frame,
            } => {
                let mut cfg = PortConfig::new(name.clone(), PortKind::Peer);
                {
                    let state = lock(&lio.state);
                    cfg.idle_timeout = Some(state.config().idle_timeout);
                    cfg.snoop = state.config().multicast.clone();
                }
                let added = lock(&self.core).add_port(cfg, now);
                match added {
                    Ok(port) => {
                        lock(&lio.state).insert_peer(key, remote, port, false);
                        self.set_egress(port, Some(Egress::Peer(lio.slot)));
                        info!(peer = %name, %remote, "dynamic peer admitted");
                        self.forward(scratch, port, Packet::plain(frame), now);
                    }
                    Err(e) => warn!(peer = %name, error = %e, "cannot admit peer"),
                }
            }
            Ingress::Dropped(ListenerDrop::NotAllowed) => {
                let mut last = lock(&lio.last_refusal_log);
                if last.is_none_or(|t| now.saturating_since(t) >= REFUSAL_LOG_INTERVAL) {
                    *last = Some(now);
                    warn!(
                        listener = %lock(&lio.state).name(),
                        source = %src,
                        "datagram from a source outside `allow` dropped (further refusals are counted, not logged, for 10s)"
                    );
                }
            }
            Ingress::Dropped(_) => {}
        }
    }

    /// Answer one control request.
    pub fn handle_request(self: &Arc<Self>, req: &Request) -> Response {
        let now = self.clock.now();
        match req {
            Request::Show { what } => match what.as_str() {
                "state" => Response::ok(self.snapshot(now)),
                "ports" => Response::ok(lock(&self.core).state(now).ports),
                "fdb" => Response::ok(lock(&self.core).state(now).fdb),
                "peers" => Response::ok(self.peers(now)),
                "counters" => Response::ok(self.snapshot(now)),
                "mdb" => Response::ok(lock(&self.core).mdb(now)),
                "querier" => Response::ok(lock(&self.core).mdb(now).queriers),
                other => Response::err(format!("unknown view {other:?}")),
            },
            Request::FdbFlush { port } => {
                let mut core = lock(&self.core);
                match port_id(&core, port.as_deref()) {
                    Ok(id) => {
                        Response::ok(serde_json::json!({ "removed": core.fdb_mut().flush(id) }))
                    }
                    Err(e) => e,
                }
            }
            Request::FdbAdd { mac, port, vlan } => {
                let mut core = lock(&self.core);
                match port_id(&core, Some(port)) {
                    Ok(Some(id)) if !mac.is_multicast() && !mac.is_zero() => {
                        core.add_static_fdb(*vlan, *mac, id);
                        Response::ok(serde_json::json!({ "added": true }))
                    }
                    Ok(_) => Response::err(format!("{mac} is not a unicast MAC")),
                    Err(e) => e,
                }
            }
            Request::FdbDel { mac, vlan } => {
                let removed = lock(&self.core).fdb_mut().remove(*vlan, *mac);
                Response::ok(serde_json::json!({ "removed": removed }))
            }
            Request::MdbAdd { group, port, vlan } => {
                let mut core = lock(&self.core);
                match port_id(&core, Some(port)) {
                    Ok(Some(id)) => match core.add_static_mdb(*vlan, *group, id) {
                        Ok(()) => Response::ok(serde_json::json!({ "added": true })),
                        Err(e) => Response::err(e.to_string()),
                    },
                    Ok(None) => Response::err("a port is required"),
                    Err(e) => e,
                }
            }
            Request::MdbDel { group, port, vlan } => {
                let mut core = lock(&self.core);
                match port_id(&core, Some(port)) {
                    Ok(Some(id)) => {
                        let removed = core.remove_static_mdb(*vlan, *group, id);
                        Response::ok(serde_json::json!({ "removed": removed }))
                    }
                    Ok(None) => Response::err("a port is required"),
                    Err(e) => e,
                }
            }
            Request::Reload => match self.reload() {
                Ok(summary) => Response::ok(summary),
                Err(e) => Response::err(e),
            },
            Request::MdbFlush { port } => {
                let mut core = lock(&self.core);
                match port_id(&core, port.as_deref()) {
                    Ok(id) => {
                        core.snooper_mut().flush(id);
                        Response::ok(serde_json::json!({ "flushed": true }))
                    }
                    Err(e) => e,
                }
            }
        }
    }

    fn peers(&self, now: Instant) -> Vec<PeerRow> {
        let state = lock(&self.core).state(now);
        let mut rows = Vec::new();
        for l in self.listeners().iter().flatten() {
            let listener = lock(&l.state);
            for p in listener.peers() {
                let port = state.ports.iter().find(|v| v.id == p.port.0);
                rows.push(PeerRow {
                    name: port.map(|v| v.name.clone()).unwrap_or_default(),
                    listener: listener.name().to_string(),
                    encap: listener.config().encap,
                    remote: p.remote,
                    is_static: p.is_static,
                    idle_ms: port.map(|v| v.idle_ms).unwrap_or(0),
                    macs: state
                        .fdb
                        .iter()
                        .filter(|f| port.is_some_and(|v| v.name == f.port))
                        .map(|f| f.mac.to_string())
                        .collect(),
                });
            }
        }
        rows
    }

    fn snapshot(&self, now: Instant) -> NodeState {
        // Bound first: the guard of a temporary would live to the end of the
        // struct expression, and `peers` takes the core's lock again.
        let switch = lock(&self.core).state(now);
        NodeState {
            switch,
            listeners: self
                .listeners()
                .iter()
                .flatten()
                .map(|l| {
                    let s = lock(&l.state);
                    ListenerRow {
                        name: s.name().to_string(),
                        bind: s.config().bind,
                        encap: s.config().encap,
                        vni: (s.config().encap == Encap::Vxlan).then_some(s.config().vni),
                        counters: s.counters().clone(),
                    }
                })
                .collect(),
            peers: self.peers(now),
            capture: self.capture.as_ref().map(Capture::counters),
        }
    }
}

/// The port called `name`, or every port for `None`.
fn port_id(core: &Switch, name: Option<&str>) -> Result<Option<PortId>, Response> {
    match name {
        None => Ok(None),
        Some(n) => core
            .port_by_name(n)
            .map(Some)
            .ok_or_else(|| Response::err(format!("no port named {n:?}"))),
    }
}

/// A tunnel peer as shown by `show peers`.
#[derive(Debug, Clone, Serialize)]
pub struct PeerRow {
    /// Port name.
    pub name: String,
    /// Listener it belongs to.
    pub listener: String,
    /// Encapsulation.
    pub encap: Encap,
    /// Where frames for it go.
    pub remote: SocketAddr,
    /// Configured (never expires) or dynamic.
    pub is_static: bool,
    /// Milliseconds since it last sent a frame.
    pub idle_ms: u64,
    /// MACs learned behind it.
    pub macs: Vec<String>,
}

/// A listener as shown by `show state`.
#[derive(Debug, Clone, Serialize)]
pub struct ListenerRow {
    /// Name.
    pub name: String,
    /// Bound address.
    pub bind: SocketAddr,
    /// Encapsulation.
    pub encap: Encap,
    /// VNI (VXLAN only).
    pub vni: Option<u32>,
    /// Datagram counters.
    pub counters: crate::tunnel::ListenerCounters,
}

/// The whole running switch: the core's state plus the tunnels'.
#[derive(Debug, Clone, Serialize)]
pub struct NodeState {
    /// Core state: ports, FDB, counters.
    pub switch: crate::switch::SwitchState,
    /// Tunnel listeners.
    pub listeners: Vec<ListenerRow>,
    /// Tunnel peers.
    pub peers: Vec<PeerRow>,
    /// Live capture counters, when capturing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureCounters>,
}

/// Write `head` (and `tail`, gathered after it) to a TAP as one frame.
fn send_tap(tap: &TapPort, head: &[u8], tail: Option<&[u8]>) -> io::Result<()> {
    let Some(dev) = tap.device() else {
        return Err(io::Error::from(io::ErrorKind::NotConnected));
    };
    match tail {
        Some(tail) => dev.get_ref().send_parts(head, tail).map(|_| ()),
        None => dev.get_ref().send(head).map(|_| ()),
    }
}

/// Send one complete frame to the plain TAPs and the tunnel peers gathered by [`Node::send`].
fn send_complete(scratch: &mut Scratch, listeners: &[Option<Arc<ListenerIo>>], frame: &[u8]) {
    let Scratch {
        plain_taps,
        fanout,
        failures,
        trains,
        headers,
        ..
    } = scratch;
    for (port, tap) in plain_taps.iter() {
        if let Err(e) = send_tap(tap, frame, None) {
            failures.push((*port, TxFailure::Error));
            if is_fatal(&e) {
                tap.broken.notify_one();
            }
        }
    }
    if trains.len() < listeners.len() {
        trains.resize_with(listeners.len(), Train::default);
    }
    for (l, out) in fanout.iter().enumerate() {
        if out.addrs.is_empty() {
            continue;
        }
        let Some(lio) = listeners.get(l).and_then(Option::as_ref) else {
            continue;
        };
        // Copied out, so the peer table is not locked across the send.
        let header = lock(&lio.state).encap_header();
        let header = header.as_ref().map_or(&[][..], |h| &h[..]);
        let train = &mut trains[l];
        if let ([dest], [port], true) = (&out.addrs[..], &out.ports[..], lio.gso) {
            if !train.push(*dest, *port, header, frame) {
                flush_train(lio, train, failures);
                train.push(*dest, *port, header, frame);
            }
            continue;
        }
        // A peer's earlier frames leave before this flood, in order.
        flush_train(lio, train, failures);
        udp::send_fanout(
            lio.sock().get_ref(),
            headers,
            header,
            frame,
            &out.addrs,
            |i, outcome| failures.extend(tx_failure(outcome).map(|f| (out.ports[i], f))),
        );
    }
}

/// Send a listener's waiting train, collecting what failed.
fn flush_train(lio: &ListenerIo, train: &mut Train, failures: &mut Vec<(PortId, TxFailure)>) {
    train.flush(lio.sock().get_ref(), |port, outcome, datagrams| {
        if let Some(f) = tx_failure(outcome) {
            failures.extend(std::iter::repeat_n((port, f), datagrams));
        }
    });
}

/// How a send outcome is counted on the port.
fn tx_failure(outcome: SendOutcome) -> Option<TxFailure> {
    match outcome {
        SendOutcome::Sent => None,
        SendOutcome::TooBig => Some(TxFailure::TooBig),
        SendOutcome::Failed => Some(TxFailure::Error),
    }
}

/// Errors after which a TAP descriptor is useless: the device is gone.
fn is_fatal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADFD) | Some(libc::ENODEV) | Some(libc::ENXIO) | Some(libc::EBADF)
    )
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
    let core = Switch::new(opts.config.switch_config(mac));
    let capture = match &opts.config.capture {
        Some(c) => {
            info!(dir = %c.dir.display(), max_bytes = c.max_bytes, max_files = c.max_files, "capturing every port");
            Some(Capture::start(c, clock.now())?)
        }
        None => None,
    };
    let node = Arc::new(Node {
        core: Mutex::new(core),
        egress: Snapshot::default(),
        listeners: Snapshot::default(),
        taps: Mutex::new(Vec::new()),
        config: Mutex::new(Config::default()),
        reloading: Mutex::new(()),
        workers: tokio::runtime::Handle::current().metrics().num_workers(),
        reload_source: opts.reload,
        mac,
        clock,
        timer_kick: Notify::new(),
        armed: Mutex::new(None),
        capture,
    });
    // Start-up is a reload from nothing: one code path builds and changes the switch.
    node.apply(opts.config)?;
    tokio::spawn(timer_task(node.clone()));

    let _control = match &opts.control {
        Some(path) => {
            let server = control::Server::bind(path).map_err(|source| StartError::Control {
                path: path.clone(),
                source,
            })?;
            info!(path = %path.display(), "control socket");
            let n = node.clone();
            tokio::spawn(server.serve(move |req| n.handle_request(&req)));
            Some(control::Cleanup(path.clone()))
        }
        None => None,
    };

    if let Some(endpoint) = metrics {
        scrape::serve(endpoint, node.clone())?;
    }

    info!(
        taps = lock(&node.taps).len(),
        listeners = node.listeners().iter().flatten().count(),
        "overcast is switching"
    );
    run_until_shutdown(&node, shutdown).await;
    info!("shutting down");
    for tap in lock(&node.taps).iter() {
        tap.shut();
    }
    if let Some(cap) = &node.capture {
        cap.shutdown();
        info!(counters = ?cap.counters(), "capture files flushed");
    }
    Ok(())
}

/// Serve SIGHUP reloads until `stop` completes.
async fn run_until_shutdown(node: &Arc<Node>, stop: impl Future<Output = ()>) {
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
                if let Err(e) = node.reload() {
                    warn!(error = %e, "reload refused; the running configuration stays");
                }
            }
        }
    }
}

/// A random locally administered unicast MAC for the switch's own frames.
pub(super) fn random_mac() -> crate::packet::ethernet::MacAddr {
    let mut b = [0u8; 6];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .is_err()
    {
        return crate::switch::DEFAULT_MAC;
    }
    b[0] = (b[0] & 0xfc) | 0x02;
    crate::packet::ethernet::MacAddr(b)
}

pub(super) async fn tap_task(node: Arc<Node>, tap: Arc<TapPort>) {
    let mut backoff = RETRY_MIN;
    let mut buf = vec![0u8; TAP_BUF];
    let mut scratch = Scratch::default();
    while !tap.removed.load(Relaxed) {
        let dev = match Tap::open(&tap.name, tap.offload.load(Relaxed))
            .and_then(|t| reactor::register(t, Interest::READABLE))
        {
            Ok(dev) => Arc::new(dev),
            Err(e) => {
                if tap.removed.load(Relaxed) {
                    break;
                }
                warn!(tap = %tap.name, error = %e, retry_in = ?backoff, "cannot open TAP; port stays down");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RETRY_MAX);
                continue;
            }
        };
        if tap.removed.load(Relaxed) {
            break;
        }
        tap.vnet.store(dev.get_ref().vnet(), Relaxed);
        let mtu = *lock(&tap.mtu);
        if let Some(mtu) = mtu {
            if let Err(e) = super::tap::set_mtu(&tap.name, mtu) {
                warn!(tap = %tap.name, mtu, error = %e, "cannot set the MTU");
            }
        }
        *lock(&tap.dev) = Some(dev.clone());
        lock(&node.core).set_port_up(tap.port, true, node.clock.now());
        info!(tap = %tap.name, offload = dev.get_ref().vnet(), "TAP port up");
        let why = tap_read_loop(&node, &tap, &dev, &mut buf, &mut scratch).await;
        *lock(&tap.dev) = None;
        if tap.removed.load(Relaxed) {
            info!(tap = %tap.name, "TAP port removed");
            break;
        }
        lock(&node.core).set_port_up(tap.port, false, node.clock.now());
        warn!(tap = %tap.name, error = %why, "TAP port down; will reopen");
        backoff = RETRY_MIN;
        tokio::time::sleep(backoff).await;
    }
}

/// Read and switch frames until the device fails; returns why.
async fn tap_read_loop(
    node: &Node,
    tap: &TapPort,
    dev: &AsyncFd<Tap>,
    buf: &mut [u8],
    scratch: &mut Scratch,
) -> io::Error {
    loop {
        let mut guard = tokio::select! {
            ready = dev.ready(Interest::READABLE | Interest::ERROR) => match ready {
                Ok(g) => g,
                Err(e) => return e,
            },
            _ = tap.broken.notified() => return io::Error::from_raw_os_error(libc::EBADFD),
        };
        let mut taken = 0;
        while taken < PORT_BATCH {
            match dev.get_ref().recv(buf) {
                Ok(n) => {
                    let now = node.clock.now();
                    let data = &buf[..n];
                    let pkt = if dev.get_ref().vnet() {
                        Packet::from_vnet(data)
                    } else {
                        Some(Packet::plain(data))
                    };
                    match pkt {
                        Some(pkt) => node.forward(scratch, tap.port, pkt, now),
                        None => lock(&node.core).record_rx_drop(tap.port, n, DropReason::TooShort),
                    }
                    taken += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    guard.clear_ready();
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return e,
            }
        }
        node.after_batch(scratch);
        if taken == PORT_BATCH {
            tokio::task::yield_now().await;
        }
    }
}

/// Receive and switch the datagrams of socket `index` of `lio`.
pub(super) async fn listener_task(node: Arc<Node>, lio: Arc<ListenerIo>, index: usize) {
    let mut batch = RxBatch::default();
    let mut scratch = Scratch::default();
    let mut stop = lio.stop.subscribe();
    let Some(sock) = lio.socks.get(index) else {
        return;
    };
    loop {
        let ready = tokio::select! {
            ready = sock.readable() => ready,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        let mut guard = match ready {
            Ok(g) => g,
            Err(e) => {
                warn!(error = %e, "listener socket failed");
                return;
            }
        };
        let mut rounds = 0;
        loop {
            match batch.recv(sock.get_ref()) {
                Ok(_) => {
                    let now = node.clock.now();
                    lock(&lio.state).count_truncated(batch.truncated());
                    for (src, datagram) in batch.iter() {
                        node.on_datagram(&mut scratch, &lio, src, datagram, now);
                    }
                    rounds += 1;
                    if rounds * udp::RX_BATCH >= PORT_BATCH {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    guard.clear_ready();
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // ICMP errors for earlier sends surface here (ECONNREFUSED);
                    // they concern one peer, never the listener.
                    debug!(error = %e, "listener receive error");
                    break;
                }
            }
        }
        node.after_batch(&mut scratch);
        tokio::task::yield_now().await;
    }
}

async fn timer_task(node: Arc<Node>) {
    let mut scratch = Scratch::default();
    loop {
        let deadline = {
            let core = lock(&node.core);
            let deadline = core.poll_timeout();
            *lock(&node.armed) = deadline;
            deadline
        };
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(node.clock.to_tokio(t)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = sleep => {
                let now = node.clock.now();
                lock(&node.core).handle_timeout(now);
                node.after_batch(&mut scratch);
            }
            _ = node.timer_kick.notified() => {}
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
