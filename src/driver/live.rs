//! The live switch: TAP ports and UDP listeners around one core, on one thread.
//!
//! Ownership: [`Node`] owns the core in a `RefCell`. Every task runs on the
//! same thread (a `LocalSet`), and no borrow is held across an `.await`, so
//! there is no lock anywhere and nothing waits on another port's I/O.

use super::capture::{Capture, CaptureCounters};
use super::clock::Clock;
use super::control::{self, Request, Response};
use super::reactor;
use super::tap::Tap;
use super::train::Train;
use super::udp::{self, FanoutScratch, RxBatch, SendOutcome};
use crate::config::Config;
use crate::packet::gso::{self, Segments};
use crate::packet::virtio::{self, VnetHdr};
use crate::port::PortId;
use crate::switch::{DropReason, Event, PortConfig, PortKind, Switch, TxFailure};
use crate::time::Instant;
use crate::tunnel::config::{Encap, ListenerConfig};
use crate::tunnel::{Ingress, Listener, ListenerDrop};
use serde::Serialize;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
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
pub type ReloadSource = Box<dyn Fn() -> Result<Config, String>>;

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
    pub(super) offload: Cell<bool>,
    /// The open device carries virtio-net headers.
    vnet: Cell<bool>,
    /// MTU to set when the device is opened.
    pub(super) mtu: Cell<Option<u32>>,
    dev: RefCell<Option<Rc<AsyncFd<Tap>>>>,
    broken: Notify,
    /// Set when a reload removes the port: its task ends instead of reopening.
    removed: Cell<bool>,
}

impl TapPort {
    pub(super) fn new(port: PortId, name: String, offload: bool) -> Self {
        TapPort {
            port,
            name,
            offload: Cell::new(offload),
            vnet: Cell::new(false),
            mtu: Cell::new(None),
            dev: RefCell::new(None),
            broken: Notify::new(),
            removed: Cell::new(false),
        }
    }

    /// Close the device and end the port's task.
    pub(super) fn shut(&self) {
        self.removed.set(true);
        self.dev.borrow_mut().take();
        self.broken.notify_one();
    }
}

/// A UDP listener: its socket and its peer table.
pub(super) struct ListenerIo {
    /// Slot in `Node::listeners`, the id `Egress::Peer` refers to.
    pub(super) slot: usize,
    sock: AsyncFd<std::net::UdpSocket>,
    pub(super) state: RefCell<Listener>,
    header: RefCell<Vec<u8>>,
    scratch: RefCell<FanoutScratch>,
    /// The kernel takes `UDP_SEGMENT` on this socket, so trains are used.
    gso: bool,
    /// Frames for one peer waiting for the end of the batch.
    train: RefCell<Train>,
    last_refusal_log: Cell<Option<Instant>>,
    stop: Notify,
}

impl ListenerIo {
    pub(super) fn new(
        slot: usize,
        sock: std::net::UdpSocket,
        cfg: ListenerConfig,
    ) -> io::Result<Self> {
        let state = Listener::new(cfg);
        let gso = udp::supports_gso(&sock);
        Ok(ListenerIo {
            slot,
            gso,
            train: RefCell::new(Train::default()),
            sock: reactor::register(sock, Interest::READABLE)?,
            header: RefCell::new(state.encap_header().map(|h| h.to_vec()).unwrap_or_default()),
            state: RefCell::new(state),
            scratch: RefCell::new(FanoutScratch::default()),
            last_refusal_log: Cell::new(None),
            stop: Notify::new(),
        })
    }

    /// Take a new configuration, keeping the socket and the peers.
    pub(super) fn set_config(&self, cfg: ListenerConfig) {
        let mut state = self.state.borrow_mut();
        state.set_config(cfg);
        *self.header.borrow_mut() = state.encap_header().map(|h| h.to_vec()).unwrap_or_default();
    }

    /// End the listener's task (the socket closes when the last reference goes).
    pub(super) fn shut(&self) {
        self.stop.notify_one();
    }

    pub(super) fn local_addr(&self) -> Option<SocketAddr> {
        self.sock.get_ref().local_addr().ok()
    }
}

/// Where frames for a port are written.
#[derive(Clone)]
pub(super) enum Egress {
    /// A TAP device.
    Tap(Rc<TapPort>),
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

/// The running switch.
pub struct Node {
    pub(super) core: RefCell<Switch>,
    egress: RefCell<Vec<Option<Egress>>>,
    pub(super) listeners: RefCell<Vec<Option<Rc<ListenerIo>>>>,
    pub(super) taps: RefCell<Vec<Rc<TapPort>>>,
    /// The configuration in force (after the last successful reload).
    pub(super) config: RefCell<Config>,
    reload_source: Option<ReloadSource>,
    /// Source MAC of our own frames; fixed for the switch's life.
    pub(super) mac: crate::packet::ethernet::MacAddr,
    pub(super) clock: Clock,
    timer_kick: Notify,
    armed: Cell<Option<Instant>>,
    fanout: RefCell<Vec<Fanout>>,
    tx_failures: RefCell<Vec<(PortId, TxFailure)>>,
    /// Complete frames made from an offloaded one, for egresses that need them.
    segments: RefCell<Segments>,
    /// TAPs without offload that the frame being sent goes to.
    plain_taps: RefCell<Vec<(PortId, Rc<TapPort>)>>,
    /// Live capture (`--capture`; set at start, not by reloads), off when `None`.
    capture: Option<Capture>,
}

impl Node {
    pub(super) fn reload_source(&self) -> Option<&ReloadSource> {
        self.reload_source.as_ref()
    }

    pub(super) fn set_egress(&self, port: PortId, egress: Option<Egress>) {
        let mut table = self.egress.borrow_mut();
        if table.len() <= port.index() {
            table.resize(port.index() + 1, None);
        }
        table[port.index()] = egress;
        if let Some(cap) = &self.capture {
            cap.ports_changed();
        }
    }

    /// Switch one received frame and send it where the core says.
    fn forward(&self, ingress: PortId, pkt: Packet<'_>, now: Instant) {
        let mut core = self.core.borrow_mut();
        if let Some(cap) = &self.capture {
            cap.rx(&core, ingress, pkt.frame, now);
        }
        let egress = core.handle_frame(ingress, pkt.frame, now);
        if egress.is_empty() {
            return;
        }
        self.send(egress, pkt);
        for (port, failure) in self.tx_failures.borrow_mut().drain(..) {
            core.record_tx_failure(port, failure);
        }
    }

    /// Write a frame to each port. Offload TAPs take it as it came (a 64 KB
    /// super-frame stays one write); tunnel peers and plain TAPs get complete
    /// frames, segmented and checksummed once for all of them. A frame for
    /// one tunnel peer joins that listener's train (one GSO send per run of
    /// frames to the same peer); a flood to several peers is one `sendmmsg`.
    fn send(&self, ports: &[PortId], pkt: Packet<'_>) {
        let table = self.egress.borrow();
        let listeners = self.listeners.borrow();
        let mut fanout = self.fanout.borrow_mut();
        if fanout.len() < listeners.len() {
            fanout.resize_with(listeners.len(), Fanout::default);
        }
        let mut failures = self.tx_failures.borrow_mut();
        let mut plain_taps = self.plain_taps.borrow_mut();
        plain_taps.clear();
        for &port in ports {
            if let Some(cap) = &self.capture {
                cap.tx(&self.core, port, pkt.frame, self.clock.now());
            }
            match table.get(port.index()).and_then(Option::as_ref) {
                Some(Egress::Tap(tap)) if tap.vnet.get() => {
                    let sent = match pkt.with_vnet {
                        Some(raw) => send_tap(tap, raw, None),
                        None => send_tap(tap, &VnetHdr::PLAIN, Some(pkt.frame)),
                    };
                    if let Err(e) = sent {
                        failures.push((port, TxFailure::Error));
                        if is_fatal(&e) {
                            tap.broken.notify_one();
                        }
                    }
                }
                Some(Egress::Tap(tap)) => plain_taps.push((port, tap.clone())),
                Some(Egress::Peer(l)) => {
                    let remote = listeners
                        .get(*l)
                        .and_then(Option::as_ref)
                        .and_then(|lio| lio.state.borrow().remote(port));
                    match (remote, fanout.get_mut(*l)) {
                        (Some(remote), Some(out)) => {
                            out.addrs.push(remote);
                            out.ports.push(port);
                        }
                        _ => failures.push((port, TxFailure::Error)),
                    }
                }
                None => failures.push((port, TxFailure::Error)),
            }
        }
        let needs_complete = !plain_taps.is_empty() || fanout.iter().any(|o| !o.addrs.is_empty());
        if needs_complete {
            if pkt.hdr.is_plain() {
                self.send_complete(
                    pkt.frame,
                    &plain_taps,
                    &mut fanout,
                    &listeners,
                    &mut failures,
                );
            } else {
                let mut segments = self.segments.borrow_mut();
                match gso::complete(&pkt.hdr, pkt.frame, &mut segments) {
                    Ok(()) => {
                        for seg in segments.iter() {
                            self.send_complete(
                                seg,
                                &plain_taps,
                                &mut fanout,
                                &listeners,
                                &mut failures,
                            );
                        }
                    }
                    Err(_) => {
                        failures.extend(plain_taps.iter().map(|(p, _)| (*p, TxFailure::Offload)));
                        failures.extend(
                            fanout
                                .iter()
                                .flat_map(|o| o.ports.iter().map(|p| (*p, TxFailure::Offload))),
                        );
                    }
                }
            }
        }
        for out in fanout.iter_mut() {
            out.addrs.clear();
            out.ports.clear();
        }
    }

    /// Send one complete frame to the plain TAPs and the tunnel peers gathered by [`Node::send`].
    fn send_complete(
        &self,
        frame: &[u8],
        plain_taps: &[(PortId, Rc<TapPort>)],
        fanout: &mut [Fanout],
        listeners: &[Option<Rc<ListenerIo>>],
        failures: &mut Vec<(PortId, TxFailure)>,
    ) {
        for (port, tap) in plain_taps {
            if let Err(e) = send_tap(tap, frame, None) {
                failures.push((*port, TxFailure::Error));
                if is_fatal(&e) {
                    tap.broken.notify_one();
                }
            }
        }
        for (l, out) in fanout.iter_mut().enumerate() {
            if out.addrs.is_empty() {
                continue;
            }
            let Some(lio) = listeners.get(l).and_then(Option::as_ref) else {
                continue;
            };
            let header = lio.header.borrow();
            let mut train = lio.train.borrow_mut();
            if let ([dest], [port], true) = (&out.addrs[..], &out.ports[..], lio.gso) {
                if !train.push(*dest, *port, &header, frame) {
                    flush_train(lio, &mut train, failures);
                    train.push(*dest, *port, &header, frame);
                }
                continue;
            }
            // A peer's earlier frames leave before this flood, in order.
            flush_train(lio, &mut train, failures);
            udp::send_fanout(
                lio.sock.get_ref(),
                &mut lio.scratch.borrow_mut(),
                &header,
                frame,
                &out.addrs,
                |i, outcome| failures.extend(tx_failure(outcome).map(|f| (out.ports[i], f))),
            );
        }
    }

    /// Send every listener's waiting train and record what failed.
    fn flush_trains(&self) {
        let mut failures = self.tx_failures.borrow_mut();
        for lio in self.listeners.borrow().iter().flatten() {
            flush_train(lio, &mut lio.train.borrow_mut(), &mut failures);
        }
        let mut core = self.core.borrow_mut();
        for (port, failure) in failures.drain(..) {
            core.record_tx_failure(port, failure);
        }
    }

    /// After a batch: send what the core originated and the waiting trains,
    /// apply the core's events, re-arm the timer.
    fn after_batch(&self) {
        loop {
            let tx = self.core.borrow_mut().poll_transmit();
            let Some(tx) = tx else { break };
            self.send(&tx.ports, Packet::plain(&tx.frame));
            let mut core = self.core.borrow_mut();
            for (port, failure) in self.tx_failures.borrow_mut().drain(..) {
                core.record_tx_failure(port, failure);
            }
        }
        self.flush_trains();
        loop {
            let event = self.core.borrow_mut().poll_event();
            match event {
                Some(Event::PortExpired { port, name }) => {
                    for l in self.listeners.borrow().iter().flatten() {
                        l.state.borrow_mut().remove_port(port);
                    }
                    self.set_egress(port, None);
                    info!(peer = %name, "peer expired after its idle timeout");
                }
                None => break,
            }
        }
        let next = self.core.borrow().poll_timeout();
        if next.is_some() && (self.armed.get().is_none() || next < self.armed.get()) {
            self.timer_kick.notify_one();
        }
    }

    /// A datagram from `src` on listener `lio`.
    fn on_datagram(&self, lio: &ListenerIo, src: SocketAddr, datagram: &[u8], now: Instant) {
        let verdict = lio.state.borrow_mut().ingress(src, datagram);
        match verdict {
            Ingress::Known { port, frame } => self.forward(port, Packet::plain(frame), now),
            Ingress::NewPeer {
                key,
                remote,
                name,
                frame,
            } => {
                let mut cfg = PortConfig::new(name.clone(), PortKind::Peer);
                cfg.idle_timeout = Some(lio.state.borrow().config().idle_timeout);
                cfg.snoop = lio.state.borrow().config().multicast.clone();
                let added = self.core.borrow_mut().add_port(cfg, now);
                match added {
                    Ok(port) => {
                        lio.state.borrow_mut().insert_peer(key, remote, port, false);
                        self.set_egress(port, Some(Egress::Peer(lio.slot)));
                        info!(peer = %name, %remote, "dynamic peer admitted");
                        self.forward(port, Packet::plain(frame), now);
                    }
                    Err(e) => warn!(peer = %name, error = %e, "cannot admit peer"),
                }
            }
            Ingress::Dropped(ListenerDrop::NotAllowed) => {
                let last = lio.last_refusal_log.get();
                if last.is_none_or(|t| now.saturating_since(t) >= REFUSAL_LOG_INTERVAL) {
                    lio.last_refusal_log.set(Some(now));
                    warn!(
                        listener = %lio.state.borrow().name(),
                        source = %src,
                        "datagram from a source outside `allow` dropped (further refusals are counted, not logged, for 10s)"
                    );
                }
            }
            Ingress::Dropped(_) => {}
        }
    }

    /// Answer one control request.
    pub fn handle_request(self: &Rc<Self>, req: &Request) -> Response {
        let now = self.clock.now();
        match req {
            Request::Show { what } => match what.as_str() {
                "state" => Response::ok(self.snapshot(now)),
                "ports" => Response::ok(self.core.borrow().state(now).ports),
                "fdb" => Response::ok(self.core.borrow().state(now).fdb),
                "peers" => Response::ok(self.peers(now)),
                "counters" => Response::ok(self.snapshot(now)),
                "mdb" => Response::ok(self.core.borrow().mdb(now)),
                "querier" => Response::ok(self.core.borrow().mdb(now).queriers),
                other => Response::err(format!("unknown view {other:?}")),
            },
            Request::FdbFlush { port } => {
                let mut core = self.core.borrow_mut();
                match port_id(&core, port.as_deref()) {
                    Ok(id) => {
                        Response::ok(serde_json::json!({ "removed": core.fdb_mut().flush(id) }))
                    }
                    Err(e) => e,
                }
            }
            Request::FdbAdd { mac, port, vlan } => {
                let mut core = self.core.borrow_mut();
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
                let removed = self.core.borrow_mut().fdb_mut().remove(*vlan, *mac);
                Response::ok(serde_json::json!({ "removed": removed }))
            }
            Request::MdbAdd { group, port, vlan } => {
                let mut core = self.core.borrow_mut();
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
                let mut core = self.core.borrow_mut();
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
                let mut core = self.core.borrow_mut();
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
        let state = self.core.borrow().state(now);
        let mut rows = Vec::new();
        for l in self.listeners.borrow().iter().flatten() {
            let listener = l.state.borrow();
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
        NodeState {
            switch: self.core.borrow().state(now),
            listeners: self
                .listeners
                .borrow()
                .iter()
                .flatten()
                .map(|l| {
                    let s = l.state.borrow();
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
    let dev = tap.dev.borrow();
    let Some(dev) = dev.as_ref() else {
        return Err(io::Error::from(io::ErrorKind::NotConnected));
    };
    match tail {
        Some(tail) => dev.get_ref().send_parts(head, tail).map(|_| ()),
        None => dev.get_ref().send(head).map(|_| ()),
    }
}

/// Errors after which a TAP descriptor is useless: the device is gone.
/// Send a listener's waiting train, collecting what failed.
fn flush_train(lio: &ListenerIo, train: &mut Train, failures: &mut Vec<(PortId, TxFailure)>) {
    train.flush(lio.sock.get_ref(), |port, outcome, datagrams| {
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
/// switch and has its own way to stop it (`overcast lab`).
pub async fn run_until(
    opts: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    let local = tokio::task::LocalSet::new();
    local.run_until(run_local(opts, shutdown)).await
}

async fn run_local(opts: RunOptions, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
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
    let node = Rc::new(Node {
        core: RefCell::new(core),
        egress: RefCell::new(Vec::new()),
        listeners: RefCell::new(Vec::new()),
        taps: RefCell::new(Vec::new()),
        config: RefCell::new(Config::default()),
        reload_source: opts.reload,
        mac,
        clock,
        timer_kick: Notify::new(),
        armed: Cell::new(None),
        fanout: RefCell::new(Vec::new()),
        tx_failures: RefCell::new(Vec::new()),
        segments: RefCell::new(Segments::default()),
        plain_taps: RefCell::new(Vec::new()),
        capture,
    });
    // Start-up is a reload from nothing: one code path builds and changes the switch.
    node.apply(opts.config)?;
    tokio::task::spawn_local(timer_task(node.clone()));

    let _control = match &opts.control {
        Some(path) => {
            let server = control::Server::bind(path).map_err(|source| StartError::Control {
                path: path.clone(),
                source,
            })?;
            info!(path = %path.display(), "control socket");
            let n = node.clone();
            tokio::task::spawn_local(server.serve(move |req| n.handle_request(&req)));
            Some(control::Cleanup(path.clone()))
        }
        None => None,
    };

    if let Some(endpoint) = metrics {
        scrape::serve(endpoint, node.clone())?;
    }

    info!(
        taps = node.taps.borrow().len(),
        listeners = node.listeners.borrow().iter().flatten().count(),
        "overcast is switching"
    );
    run_until_shutdown(&node, shutdown).await;
    info!("shutting down");
    for tap in node.taps.borrow().iter() {
        tap.shut();
    }
    if let Some(cap) = &node.capture {
        cap.shutdown();
        info!(counters = ?cap.counters(), "capture files flushed");
    }
    Ok(())
}

/// Serve SIGHUP reloads until `stop` completes.
async fn run_until_shutdown(node: &Rc<Node>, stop: impl Future<Output = ()>) {
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

pub(super) async fn tap_task(node: Rc<Node>, tap: Rc<TapPort>) {
    let mut backoff = RETRY_MIN;
    let mut buf = vec![0u8; TAP_BUF];
    while !tap.removed.get() {
        let dev = match Tap::open(&tap.name, tap.offload.get())
            .and_then(|t| reactor::register(t, Interest::READABLE))
        {
            Ok(dev) => Rc::new(dev),
            Err(e) => {
                if tap.removed.get() {
                    break;
                }
                warn!(tap = %tap.name, error = %e, retry_in = ?backoff, "cannot open TAP; port stays down");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RETRY_MAX);
                continue;
            }
        };
        if tap.removed.get() {
            break;
        }
        tap.vnet.set(dev.get_ref().vnet());
        if let Some(mtu) = tap.mtu.get() {
            if let Err(e) = super::tap::set_mtu(&tap.name, mtu) {
                warn!(tap = %tap.name, mtu, error = %e, "cannot set the MTU");
            }
        }
        *tap.dev.borrow_mut() = Some(dev.clone());
        node.core
            .borrow_mut()
            .set_port_up(tap.port, true, node.clock.now());
        info!(tap = %tap.name, offload = dev.get_ref().vnet(), "TAP port up");
        let why = tap_read_loop(&node, &tap, &dev, &mut buf).await;
        *tap.dev.borrow_mut() = None;
        if tap.removed.get() {
            info!(tap = %tap.name, "TAP port removed");
            break;
        }
        node.core
            .borrow_mut()
            .set_port_up(tap.port, false, node.clock.now());
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
                        Some(pkt) => node.forward(tap.port, pkt, now),
                        None => {
                            node.core
                                .borrow_mut()
                                .record_rx_drop(tap.port, n, DropReason::TooShort)
                        }
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
        node.after_batch();
        if taken == PORT_BATCH {
            tokio::task::yield_now().await;
        }
    }
}

pub(super) async fn listener_task(node: Rc<Node>, lio: Rc<ListenerIo>) {
    let mut batch = RxBatch::default();
    loop {
        let ready = tokio::select! {
            ready = lio.sock.readable() => ready,
            _ = lio.stop.notified() => return,
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
            match batch.recv(lio.sock.get_ref()) {
                Ok(_) => {
                    let now = node.clock.now();
                    lio.state.borrow_mut().count_truncated(batch.truncated());
                    for (src, datagram) in batch.iter() {
                        node.on_datagram(&lio, src, datagram, now);
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
        node.after_batch();
        tokio::task::yield_now().await;
    }
}

async fn timer_task(node: Rc<Node>) {
    loop {
        let deadline = node.core.borrow().poll_timeout();
        node.armed.set(deadline);
        let sleep = async {
            match deadline {
                Some(t) => tokio::time::sleep_until(node.clock.to_tokio(t)).await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = sleep => {
                let now = node.clock.now();
                node.core.borrow_mut().handle_timeout(now);
                node.after_batch();
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
