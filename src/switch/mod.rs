//! The switching core: a deterministic, sans-I/O 802.1D bridge.
//!
//! Drivers feed it `(ingress port, frame, now)` and get back the egress
//! ports. It never reads a clock or touches a device: timers run through
//! [`Switch::poll_timeout`] / [`Switch::handle_timeout`], frames the switch
//! originates come out of [`Switch::poll_transmit`], and port lifecycle
//! news comes out of [`Switch::poll_event`]. Live ports and pcap replay
//! drive exactly this code.

mod admin;
mod classify;
mod drop;
mod mdb;
mod ports;
mod pruned;
mod segments;
mod state;
pub mod vlan;

pub use crate::igmp::why::Reason;
pub use drop::{DropCounts, DropReason};
pub use mdb::{GroupStats, MdbRow, MdbView, RouterRow};
pub use ports::{PortConfig, PortCounters, PortKind};
pub use state::{PortView, SwitchState};
pub use vlan::{Retag, VlanMode, VlanSet};

use crate::fdb::{Fdb, FdbConfig};
use crate::igmp::config::SnoopConfig;
use crate::igmp::snooper::{ControlForward, McastEgress, QueryTarget, Snooper};
use crate::igmp::wire::{emit_query, link_local_from_mac};
use crate::packet::ethernet::{EthernetFrame, MacAddr};
use crate::port::PortId;
use crate::time::Instant;
use ports::PortTable;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

/// How often the core sweeps aged FDB entries and idle ports. Lookups and
/// forwarding are exact regardless; this only bounds how long dead state
/// lingers in memory and in `show` output.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(1);

/// Core-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchConfig {
    /// Forwarding database timers and limits.
    pub fdb: FdbConfig,
    /// IGMP/MLD snooping and the querier.
    pub snoop: SnoopConfig,
    /// Per-VLAN snooping settings where they differ (`[[segment]]`).
    pub snoop_vlans: std::collections::BTreeMap<u16, SnoopConfig>,
    /// Source MAC of frames the switch originates (queries); its IPv6
    /// link-local address, the MLD querier's source, is derived from it.
    pub mac: MacAddr,
}

/// The MAC used when none is configured: locally administered, fixed, so
/// that replays are reproducible. Live switches pick a random one.
pub const DEFAULT_MAC: MacAddr = MacAddr([0x02, 0x6f, 0x63, 0x00, 0x00, 0x01]);

impl Default for SwitchConfig {
    fn default() -> Self {
        SwitchConfig {
            fdb: FdbConfig::default(),
            snoop: SnoopConfig::default(),
            snoop_vlans: Default::default(),
            mac: DEFAULT_MAC,
        }
    }
}

/// A frame the switch itself originates (a query, say), and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The complete Ethernet frame (tagged with `vlan` unless it is 0).
    pub frame: Vec<u8>,
    /// Egress ports.
    pub ports: Vec<PortId>,
    /// The VLAN (segment) it belongs to.
    pub vlan: u16,
}

/// Port lifecycle news for the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The core removed a port that was idle for its `idle_timeout`.
    PortExpired {
        /// The port's id (now free).
        port: PortId,
        /// The port's name.
        name: String,
    },
}

/// Errors from port management.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwitchError {
    /// Port names are unique.
    #[error("a port named {0:?} already exists")]
    DuplicatePort(String),
    /// No such port.
    #[error("no port named {0:?}")]
    NoSuchPort(String),
    /// A static FDB entry needs a station (unicast, non-zero) MAC.
    #[error("{0} is not a unicast MAC")]
    NotStation(MacAddr),
    /// A static group entry needs a multicast group.
    #[error("{0} is not a multicast group")]
    NotMulticast(IpAddr),
}

/// Why an egress send failed, as reported back by the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxFailure {
    /// The device or socket returned an error (or its queue was full).
    Error,
    /// The frame exceeds what the egress can carry.
    TooBig,
    /// An offloaded frame could not be segmented or checksummed for this egress.
    Offload,
}

/// The switch.
#[derive(Debug)]
pub struct Switch {
    ports: PortTable,
    fdb: Fdb,
    snooper: Snooper,
    mac: MacAddr,
    /// Egress list of the frame being decided; reused so deciding never allocates.
    egress: Vec<PortId>,
    /// The VLAN of the last frame decided, and the outer tag it arrived with.
    last_vlan: (u16, Option<u16>),
    /// Pruned-copy accounting, in O(egress) per frame.
    ledger: pruned::Ledger,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    next_housekeeping: Option<Instant>,
}

impl Switch {
    /// A switch with no ports.
    pub fn new(cfg: SwitchConfig) -> Self {
        let mut snooper = Snooper::new(cfg.snoop, link_local_from_mac(cfg.mac.0));
        snooper.set_vlan_configs(cfg.snoop_vlans, Instant::ZERO);
        Switch {
            ports: PortTable::default(),
            fdb: Fdb::new(cfg.fdb),
            snooper,
            mac: cfg.mac,
            egress: Vec::with_capacity(64),
            last_vlan: (0, None),
            ledger: pruned::Ledger::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_housekeeping: None,
        }
    }

    /// Add a port. It starts up.
    pub fn add_port(&mut self, cfg: PortConfig, now: Instant) -> Result<PortId, SwitchError> {
        if self.ports.by_name(&cfg.name).is_some() {
            return Err(SwitchError::DuplicatePort(cfg.name));
        }
        let snoop = cfg.snoop.clone();
        let max_macs = cfg.max_macs;
        for vlan in cfg.vlan.vlans() {
            self.snooper.add_vlan(vlan, now);
        }
        let id = self.ports.insert(cfg, now);
        if let Some(p) = self.ports.get_mut(id) {
            self.ledger.join(&p.cfg.vlan, &mut p.prune);
        }
        self.fdb.set_port_limit(id, max_macs);
        self.snooper.add_port(id, snoop, now);
        self.snooper.port_up(id, now);
        self.next_housekeeping
            .get_or_insert(now + HOUSEKEEPING_INTERVAL);
        Ok(id)
    }

    /// Apply new core-wide settings (live reload). Learned state stays; new
    /// timers and limits apply from now on. The MAC cannot change.
    pub fn reconfigure(&mut self, cfg: SwitchConfig, now: Instant) {
        self.fdb.set_config(cfg.fdb);
        self.snooper.set_config(cfg.snoop, now);
        self.snooper.set_vlan_configs(cfg.snoop_vlans, now);
        // A VLAN whose snooping came back on gets its queriers again.
        for (_, p) in self.ports.iter() {
            for vlan in p.cfg.vlan.vlans() {
                self.snooper.add_vlan(vlan, now);
            }
        }
    }

    /// The egress ports [`Switch::handle_frame`] returned last.
    pub fn last_egress(&self) -> &[PortId] {
        &self.egress
    }

    /// Remove a port and everything learned on it.
    pub fn remove_port(&mut self, port: PortId) {
        if let Some(mut p) = self.ports.remove(port) {
            if p.up {
                self.ledger.leave(&p.cfg.vlan, &mut p.prune);
            }
            self.fdb.remove_port(port);
            self.snooper.remove_port(port);
        }
    }

    /// Mark a port up or down. A port going down forgets what was learned on it
    /// (its stations may come back elsewhere), and gets no traffic until it is up.
    pub fn set_port_up(&mut self, port: PortId, up: bool, now: Instant) {
        let Some(p) = self.ports.get_mut(port) else {
            return;
        };
        if p.up == up {
            return;
        }
        p.up = up;
        p.last_rx = now;
        if up {
            self.ledger.join(&p.cfg.vlan, &mut p.prune);
        } else {
            self.ledger.leave(&p.cfg.vlan, &mut p.prune);
        }
        if up {
            // RFC 4541 §2.1.1(4): query a port as it comes up, for fast convergence.
            self.snooper.port_up(port, now);
        } else {
            self.fdb.flush(Some(port));
            self.snooper.flush(Some(port));
        }
    }

    /// Snooping state and the querier (read-only).
    pub fn snooper(&self) -> &Snooper {
        &self.snooper
    }

    /// Snooping state, for operator commands (flush).
    pub fn snooper_mut(&mut self) -> &mut Snooper {
        &mut self.snooper
    }

    /// The forwarding database (read-only).
    pub fn fdb(&self) -> &Fdb {
        &self.fdb
    }

    /// The forwarding database, for operator commands (flush, static entries).
    pub fn fdb_mut(&mut self) -> &mut Fdb {
        &mut self.fdb
    }

    /// Decide where `frame`, received on `ingress` at `now`, goes.
    ///
    /// Returns the egress ports; empty means the frame was dropped, and the
    /// reason was counted on the ingress port. The caller sends the frame
    /// unchanged to each returned port.
    pub fn handle_frame(&mut self, ingress: PortId, frame: &[u8], now: Instant) -> &[PortId] {
        self.handle(ingress, frame, None, now)
    }

    fn handle(
        &mut self,
        ingress: PortId,
        frame: &[u8],
        forced: Option<u16>,
        now: Instant,
    ) -> &[PortId] {
        self.egress.clear();
        let Some(port) = self.ports.get_mut(ingress) else {
            return &[];
        };
        port.counters.rx_frames += 1;
        port.counters.rx_bytes += frame.len() as u64;
        port.last_rx = now;
        if !port.up {
            port.counters.drops.add(DropReason::PortDown);
            return &[];
        }
        let verdict = self.decide(ingress, frame, forced, now);
        if let Err(reason) = verdict {
            self.ports.drop_on(ingress, reason);
            self.egress.clear();
            return &[];
        }
        let len = frame.len() as u64;
        for id in &self.egress {
            if let Some(p) = self.ports.get_mut(*id) {
                p.counters.tx_frames += 1;
                p.counters.tx_bytes += len;
            }
        }
        &self.egress
    }

    /// Fill `self.egress`, or say why the frame is dropped.
    fn decide(
        &mut self,
        ingress: PortId,
        frame: &[u8],
        forced: Option<u16>,
        now: Instant,
    ) -> Result<(), DropReason> {
        let eth = EthernetFrame::new_checked(frame).map_err(|_| DropReason::TooShort)?;
        let src = eth.src();
        if src.is_multicast() || src.is_zero() {
            return Err(DropReason::InvalidSource);
        }
        let tag = eth.tag();
        let vlan = match (forced, self.ports.get(ingress)) {
            (Some(_), _) if tag.is_some_and(|t| t != 0) => {
                return Err(DropReason::VlanTaggedOnAccess)
            }
            (Some(vlan), _) => vlan,
            (None, Some(p)) => p.cfg.vlan.ingress(tag)?,
            (None, None) => return Err(DropReason::PortDown),
        };
        self.last_vlan = (vlan, tag);
        self.fdb.learn(vlan, src, ingress, now);

        let dst = eth.dst();
        if dst.is_multicast() {
            if dst.is_reserved_link_local() {
                return Err(DropReason::ReservedGroup);
            }
            self.multicast(vlan, ingress, &eth, now)?;
        } else {
            match self.fdb.lookup(vlan, dst, now) {
                Some(port) if port == ingress => return Err(DropReason::SameSegment),
                Some(port)
                    if self
                        .ports
                        .get(port)
                        .is_some_and(|p| p.up && p.cfg.vlan.carries(vlan)) =>
                {
                    self.egress.push(port)
                }
                _ => self.flood(vlan, ingress),
            }
        }
        if self.egress.is_empty() {
            return Err(DropReason::NoEgress);
        }
        Ok(())
    }

    /// Fill `self.egress` for a frame to a multicast MAC (RFC 4541).
    fn multicast(
        &mut self,
        vlan: u16,
        ingress: PortId,
        eth: &EthernetFrame<'_>,
        now: Instant,
    ) -> Result<(), DropReason> {
        match classify::classify(eth)? {
            classify::Class::Control { src, msg } => {
                match self.snooper.handle_message(vlan, ingress, src, &msg, now) {
                    ControlForward::RouterPorts => {
                        self.snooper
                            .report_egress(vlan, ingress, now, &mut self.egress);
                        self.keep_up_ports(vlan, ingress);
                    }
                    ControlForward::Flood => self.flood(vlan, ingress),
                    ControlForward::Drop => return Err(DropReason::InvalidQuerySource),
                }
            }
            classify::Class::PimHello { group, source } => {
                self.snooper.pim_hello_seen(vlan, ingress, now);
                self.data(vlan, group, source, ingress, now)?;
            }
            classify::Class::Data { group, source } => {
                self.data(vlan, group, source, ingress, now)?
            }
            classify::Class::Other => self.flood(vlan, ingress),
        }
        Ok(())
    }

    fn data(
        &mut self,
        vlan: u16,
        group: std::net::IpAddr,
        source: std::net::IpAddr,
        ingress: PortId,
        now: Instant,
    ) -> Result<(), DropReason> {
        let (verdict, pruned_copies) =
            self.snooper
                .data_egress_counted(vlan, group, source, ingress, now, &mut self.egress);
        match verdict {
            McastEgress::Flood => self.flood(vlan, ingress),
            McastEgress::Ports => {
                keep_carrying(&self.ports, &mut self.egress, vlan, ingress);
                let members = self.ledger.decided(vlan);
                for id in std::iter::once(&ingress).chain(self.egress.iter()) {
                    if let Some(p) = self.ports.get_mut(*id) {
                        pruned::Ledger::seen(&mut p.prune);
                    }
                }
                if let Some(counter) = pruned_copies {
                    let spared = u64::from(members).saturating_sub(1 + self.egress.len() as u64);
                    counter.set(counter.get() + spared);
                }
                if self.egress.is_empty() {
                    return Err(DropReason::Pruned);
                }
            }
        }
        Ok(())
    }

    /// Drop the ingress, ports that are down or gone, and ports outside
    /// `vlan` from `self.egress`.
    fn keep_up_ports(&mut self, vlan: u16, ingress: PortId) {
        keep_carrying(&self.ports, &mut self.egress, vlan, ingress);
    }

    /// Every up port of `vlan` but the ingress.
    fn flood(&mut self, vlan: u16, ingress: PortId) {
        let egress = &mut self.egress;
        egress.extend(
            self.ports
                .iter()
                .filter(|(id, p)| *id != ingress && p.up && p.cfg.vlan.carries(vlan))
                .map(|(id, _)| id),
        );
    }

    /// The driver could not send a frame the core had routed to `port`.
    pub fn record_tx_failure(&mut self, port: PortId, failure: TxFailure) {
        let reason = match failure {
            TxFailure::Error => DropReason::TxError,
            TxFailure::TooBig => DropReason::TxTooBig,
            TxFailure::Offload => DropReason::BadOffload,
        };
        self.ports.drop_on(port, reason);
    }

    /// Count a frame dropped on `port` before it reached the core (a driver-side check).
    pub fn record_rx_drop(&mut self, port: PortId, len: usize, reason: DropReason) {
        if let Some(p) = self.ports.get_mut(port) {
            p.counters.rx_frames += 1;
            p.counters.rx_bytes += len as u64;
            p.counters.drops.add(reason);
        }
    }

    /// The next frame the switch originates, if any.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        while self.transmits.is_empty() {
            let (vlan, target, query) = self.snooper.poll_query()?;
            let mut frame = Vec::new();
            emit_query(&query, self.mac.0, (vlan != 0).then_some(vlan), &mut frame);
            let ports: Vec<PortId> = match target {
                QueryTarget::AllPorts => self
                    .ports
                    .iter()
                    .filter(|(_, p)| p.up && p.cfg.vlan.carries(vlan))
                    .map(|(id, _)| id)
                    .collect(),
                QueryTarget::Port(p) => self
                    .ports
                    .get(p)
                    .filter(|port| port.up && port.cfg.vlan.carries(vlan))
                    .map(|_| p)
                    .into_iter()
                    .collect(),
            };
            if frame.is_empty() || ports.is_empty() {
                continue;
            }
            for id in &ports {
                if let Some(p) = self.ports.get_mut(*id) {
                    p.counters.tx_frames += 1;
                    p.counters.tx_bytes += frame.len() as u64;
                }
            }
            self.transmits.push_back(Transmit { frame, ports, vlan });
        }
        self.transmits.pop_front()
    }

    /// The next port lifecycle event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Switch::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        crate::time::earliest(self.next_housekeeping, self.snooper.poll_timeout())
    }

    /// Run every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.snooper.poll_timeout().is_some_and(|t| t <= now) {
            self.snooper.handle_timeout(now);
        }
        if self.next_housekeeping.is_some_and(|t| t <= now) {
            self.housekeeping(now);
            self.next_housekeeping = Some(now + HOUSEKEEPING_INTERVAL);
        }
    }

    fn housekeeping(&mut self, now: Instant) {
        self.fdb.sweep(now);
        let idle: Vec<(PortId, String)> = self
            .ports
            .iter()
            .filter(|(_, p)| {
                p.cfg
                    .idle_timeout
                    .is_some_and(|t| now.saturating_since(p.last_rx) >= t)
            })
            .map(|(id, p)| (id, p.cfg.name.clone()))
            .collect();
        for (port, name) in idle {
            self.remove_port(port);
            self.events.push_back(Event::PortExpired { port, name });
        }
    }

    /// The multicast copies `port` was spared so far (see [`pruned`]).
    pub(crate) fn spared(&self, port: PortId) -> u64 {
        self.ports
            .get(port)
            .map_or(0, |p| self.ledger.spared(&p.cfg.vlan, &p.prune, p.up))
    }

    /// The ports and their counters, without the FDB rows (cheap enough for every metrics scrape).
    pub fn port_views(&self, now: Instant) -> Vec<PortView> {
        state::port_views(self, now)
    }

    /// A snapshot of the whole switch for `show` and `state.json`.
    pub fn state(&self, now: Instant) -> SwitchState {
        state::snapshot(self, now)
    }
}

/// Keep in `egress` only the up ports of `vlan`, never the ingress.
fn keep_carrying(ports: &PortTable, egress: &mut Vec<PortId>, vlan: u16, ingress: PortId) {
    egress.retain(|p| {
        *p != ingress
            && ports
                .get(*p)
                .is_some_and(|port| port.up && port.cfg.vlan.carries(vlan))
    });
}

#[cfg(test)]
mod mcast_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vlan_tests;
