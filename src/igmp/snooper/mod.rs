//! The one snooping facade the switch core uses: [`Snooper`] owns the
//! membership table, the router ports, the queriers of every (VLAN, family)
//! and the counters, and answers where control messages and multicast data
//! go (RFC 4541).
//!
//! Sans-I/O and deterministic: messages come in with `now`, timers run
//! through [`Snooper::poll_timeout`] / [`Snooper::handle_timeout`], and
//! queries to send come out of [`Snooper::poll_query`]. Nothing reads a
//! clock, nothing is random, and everything that is iterated for output is
//! ordered.
//!
//! VLANs: state is per VLAN (0 = untagged). Queriers for VLAN 0 exist from
//! the start; those of another VLAN are created when the first IGMP/MLD
//! message is seen on it. The snooper does not know which ports belong to
//! which VLAN: port lists it returns (and `QueryTarget::Port` for a port
//! outside the VLAN) must be filtered by the core's VLAN membership.
//!
//! Ports: the snooper knows the core's ports only through `add_port`. A
//! port it was never told about is treated with the default
//! `PortSnoopConfig`.
//!
//! The core must not feed our own queries back in: between two proxy
//! queriers (both 0.0.0.0) the one heard yields, so an echo would silence
//! us until the Other Querier Present timer runs out. `handle_message`
//! judges a query by its `src` argument (the IP source), not `Query::source`.

use super::config::{is_link_local_v6, PortSnoopConfig, RouterPortMode, SnoopConfig};
use super::counters::{bump, SnoopCounters};
use super::membership::{
    Change, Cx, Env, GroupState, MembershipTable, PortPolicy, Role, SpecificQuery,
};
use super::querier::{Querier, QuerierState};
use super::repr::{Family, Message, Query, Version};
use super::router_ports::{RouterPortState, RouterPorts};
use super::scope::{classify, GroupScope};
use super::why::Pinned;
use crate::port::PortId;
use crate::time::{earliest, Instant};
use serde::Serialize;
use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv6Addr};

mod views;
mod vlans;

/// Queries waiting in `poll_query` beyond this are dropped and counted.
const QUERY_QUEUE_LIMIT: usize = 4096;

/// Where a control message itself goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlForward {
    /// Reports and leaves: to the ports [`Snooper::report_egress`] lists
    /// (router ports and `flood_reports` ports, never the ingress) (B1).
    RouterPorts,
    /// Every port of the VLAN but the ingress: queries (B3), messages
    /// snooping does not interpret (A17), MRD advertisements, and
    /// everything while snooping is disabled.
    Flood,
    /// Nowhere: the message must be discarded by every receiver anyway
    /// (an MLD query from a non-link-local source, RFC 3810 §5.1.14).
    Drop,
}

/// Where multicast data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McastEgress {
    /// Every port of the VLAN but the ingress.
    Flood,
    /// Exactly the ports in the `out` vector (possibly none).
    Ports,
}

/// Where a query from us goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum QueryTarget {
    /// Every port of the VLAN (general queries).
    AllPorts,
    /// One port: specific queries after a leave, and the general query
    /// when a port comes up (I4). Ignore it if the port is not in the VLAN.
    Port(PortId),
}

/// Snooping, router ports and queriers of the whole switch.
#[derive(Debug)]
pub struct Snooper {
    cfg: SnoopConfig,
    /// Per-VLAN settings that differ from `cfg` (`[[segment]]`).
    vlan_cfg: BTreeMap<u16, SnoopConfig>,
    own_v6_link_local: Ipv6Addr,
    ports: BTreeMap<PortId, PortSnoopConfig>,
    queriers: BTreeMap<(u16, Family), Querier>,
    table: MembershipTable,
    routers: RouterPorts,
    queue: VecDeque<(u16, QueryTarget, Query)>,
    counters: SnoopCounters,
    pinned: Pinned,
}

/// Everything snooping knows, for `show` and `state.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnoopState {
    /// Snooping enabled.
    pub enabled: bool,
    /// Queriers, in (VLAN, family) order.
    pub queriers: Vec<QuerierState>,
    /// Static router ports (port order), then learned ones ((VLAN, port) order).
    pub router_ports: Vec<RouterPortState>,
    /// Groups, in (VLAN, group) order.
    pub groups: Vec<GroupState>,
    /// Counters.
    pub counters: SnoopCounters,
}

/// The settings of `vlan`: its own if it has some, else the switch's.
fn pick<'a>(
    cfg: &'a SnoopConfig,
    vlan_cfg: &'a BTreeMap<u16, SnoopConfig>,
    vlan: u16,
) -> &'a SnoopConfig {
    vlan_cfg.get(&vlan).unwrap_or(cfg)
}

/// The membership environment of (`vlan`, `family`) at `now`.
fn env_of(
    cfg: &SnoopConfig,
    queriers: &BTreeMap<(u16, Family), Querier>,
    vlan: u16,
    family: Family,
    now: Instant,
) -> Env {
    let source_filtering = match family {
        Family::V4 => cfg.igmp_version == 3,
        Family::V6 => cfg.mld_version == 2,
    };
    match queriers.get(&(vlan, family)) {
        Some(q) => Env {
            timers: *q.timers(),
            role: q.role(now),
            source_filtering,
        },
        None => Env {
            timers: cfg.timers(),
            role: Role::Off,
            source_filtering,
        },
    }
}

impl Snooper {
    /// A snooper with `cfg` (validate it first with [`SnoopConfig::validate`]).
    /// `own_v6_link_local` is the switch's link-local address for MLD
    /// queries when `querier_address_v6` is not set; pass `::` if there is
    /// none, and the MLD querier stays silent (G5). The queriers of VLAN 0
    /// start at once: their first query is due at the first `handle_timeout`.
    pub fn new(cfg: SnoopConfig, own_v6_link_local: Ipv6Addr) -> Self {
        let mut s = Snooper {
            table: MembershipTable::new(cfg.max_groups, cfg.max_sources_per_group),
            cfg,
            vlan_cfg: BTreeMap::new(),
            own_v6_link_local,
            ports: BTreeMap::new(),
            queriers: BTreeMap::new(),
            routers: RouterPorts::default(),
            queue: VecDeque::new(),
            counters: SnoopCounters::default(),
            pinned: Pinned::default(),
        };
        if s.cfg.enabled {
            s.ensure_vlan(0, Instant::ZERO);
        }
        s
    }

    /// Register `port` or change its settings. `now` is unused today.
    pub fn add_port(&mut self, port: PortId, cfg: PortSnoopConfig, _now: Instant) {
        if cfg.mrouter == RouterPortMode::Never {
            self.routers.flush(Some(port));
        }
        self.ports.insert(port, cfg);
    }

    /// Forget `port`: its groups, router-port state, settings and queued
    /// queries (I1). Its id may be reused.
    pub fn remove_port(&mut self, port: PortId) {
        self.table.flush(Some(port));
        self.routers.flush(Some(port));
        self.pinned.remove_port(port);
        self.ports.remove(&port);
        self.queue
            .retain(|(_, target, _)| *target != QueryTarget::Port(port));
    }

    /// `port` became forwarding: if we are the querier of a (VLAN, family),
    /// queue a general query for that port only (I4). Never when another
    /// router is the querier, so we never inject our version into its
    /// network (B5).
    pub fn port_up(&mut self, port: PortId, now: Instant) {
        let mut queries = Vec::new();
        for (&(vlan, _), q) in &self.queriers {
            if !self.cfg_for(vlan).enabled {
                continue;
            }
            // At start (or when resuming) the general query to all ports covers this port.
            if q.role(now) == Role::Querier && !q.general_query_due(now) {
                if let Some(query) = q.general_query() {
                    queries.push((vlan, query));
                }
            }
        }
        for (vlan, query) in queries {
            self.push_query(vlan, QueryTarget::Port(port), query);
        }
    }

    /// A parsed control message arrived on `port` in `vlan` with IP source `src`.
    /// Returns where the message itself goes.
    pub fn handle_message(
        &mut self,
        vlan: u16,
        port: PortId,
        src: IpAddr,
        msg: &Message,
        now: Instant,
    ) -> ControlForward {
        if !self.cfg_for(vlan).enabled {
            return ControlForward::Flood;
        }
        match msg {
            Message::Other => ControlForward::Flood,
            Message::RouterAdvertisement => {
                self.ensure_vlan(vlan, now);
                let family = Family::of(&src);
                let oqpi = env_of(self.cfg_for(vlan), &self.queriers, vlan, family, now)
                    .timers
                    .other_querier_present_interval;
                self.learn_router(vlan, port, now + oqpi);
                ControlForward::Flood
            }
            Message::Query(q) => self.on_query(vlan, port, src, q, now),
            Message::Report { version, group } => {
                self.counters.reports.bump(*version);
                self.on_change(
                    vlan,
                    port,
                    *version,
                    *group,
                    Change::OlderReport(*version),
                    now,
                );
                ControlForward::RouterPorts
            }
            Message::Leave { version, group } => {
                self.counters.leaves.bump(*version);
                self.on_change(vlan, port, *version, *group, Change::OlderLeave, now);
                ControlForward::RouterPorts
            }
            Message::ReportV3 { version, records } => {
                self.counters.reports.bump(*version);
                let family = version.family();
                for record in records {
                    let mut sources = BTreeSet::new();
                    for s in &record.sources {
                        if Family::of(s) == family {
                            sources.insert(*s);
                        } else {
                            bump(&mut self.counters.ignored.invalid_source);
                        }
                    }
                    let change = Change::Record(record.record_type, &sources);
                    self.on_change(vlan, port, *version, record.group, change, now);
                }
                ControlForward::RouterPorts
            }
        }
    }

    /// A PIM hello arrived on `port` in `vlan`: a router is there.
    pub fn pim_hello_seen(&mut self, vlan: u16, port: PortId, now: Instant) {
        if self.cfg_for(vlan).enabled {
            let oqpi = self.cfg_for(vlan).timers().other_querier_present_interval;
            self.learn_router(vlan, port, now + oqpi);
        }
    }

    /// Where reports and leaves go (the `RouterPorts` answer): router ports
    /// of `vlan` and `flood_reports` ports, never `ingress`, each once, in
    /// port order. `out` is cleared first.
    pub fn report_egress(&self, vlan: u16, ingress: PortId, now: Instant, out: &mut Vec<PortId>) {
        out.clear();
        self.router_ports_into(vlan, now, out);
        out.extend(
            self.ports
                .iter()
                .filter(|(_, c)| c.flood_reports)
                .map(|(p, _)| *p),
        );
        finish(out, ingress);
    }

    /// Data to `group` from `source` entering on `ingress`. When it returns
    /// `Ports`, `out` (cleared first) holds the egress ports, each once, in
    /// port order, never `ingress`.
    ///
    /// 224.0.0.0/24, ff02::1 and IPv6 scopes 0/1 are always flooded (C1, C5).
    /// While no querier is known for the VLAN and family (or for its first
    /// Max Response Time), everything is flooded (C8), except to ports with
    /// `flood_unregistered = Some(false)` that neither joined the group nor
    /// are router ports. Once snooping prunes: a registered group goes to
    /// the ports whose state forwards `source` (E2, E11) and the router
    /// ports (C2); an unregistered one to the router ports and the ports
    /// with `flood_unregistered = Some(true)` (C3). Pinned ports
    /// ([`Snooper::pinned`]) get their groups in every case.
    pub fn data_egress(
        &self,
        vlan: u16,
        group: IpAddr,
        source: IpAddr,
        ingress: PortId,
        now: Instant,
        out: &mut Vec<PortId>,
    ) -> McastEgress {
        self.data_egress_counted(vlan, group, source, ingress, now, out)
            .0
    }

    /// [`Snooper::data_egress`], with the group's pruned-copies counter when
    /// it has one, for the caller to add the copies it did not send.
    pub fn data_egress_counted(
        &self,
        vlan: u16,
        group: IpAddr,
        source: IpAddr,
        ingress: PortId,
        now: Instant,
        out: &mut Vec<PortId>,
    ) -> (McastEgress, Option<&Cell<u64>>) {
        out.clear();
        if !self.cfg_for(vlan).enabled || classify(&group) != GroupScope::Snooped {
            return (McastEgress::Flood, None);
        }
        let family = Family::of(&group);
        let pruning = self
            .queriers
            .get(&(vlan, family))
            .is_some_and(|q| q.pruning(now));
        if !pruning {
            if !self
                .ports
                .values()
                .any(|c| c.flood_unregistered == Some(false))
            {
                return (McastEgress::Flood, None);
            }
            for (&port, c) in &self.ports {
                let wanted = c.flood_unregistered != Some(false)
                    || self.is_router(vlan, port, now)
                    || self.table.port_forwards(vlan, &group, port, &source, now);
                if wanted {
                    out.push(port);
                }
            }
            self.pinned.extend(vlan, &group, out);
            finish(out, ingress);
            return (McastEgress::Ports, self.table.pruned_counter(vlan, &group));
        }
        self.router_ports_into(vlan, now, out);
        let counter = self.table.egress(vlan, &group, &source, now, out);
        if counter.is_none() {
            out.extend(
                self.ports
                    .iter()
                    .filter(|(_, c)| c.flood_unregistered == Some(true))
                    .map(|(p, _)| *p),
            );
        }
        self.pinned.extend(vlan, &group, out);
        finish(out, ingress);
        (McastEgress::Ports, counter)
    }

    /// The next instant `handle_timeout` has work, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t = earliest(self.routers.next_expiry(), self.table.next_deadline());
        for q in self.queriers.values() {
            t = earliest(t, q.poll_timeout());
        }
        t
    }

    /// Run every timer due by `now`: general queries, querier takeover,
    /// router-port and membership expiry, specific-query retransmissions.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut due: Vec<(Instant, u16, QueryTarget, Query)> = Vec::new();
        let (cfg, vlan_cfg) = (&self.cfg, &self.vlan_cfg);
        for (&(vlan, _), q) in self.queriers.iter_mut() {
            let c = pick(cfg, vlan_cfg, vlan);
            if !c.enabled {
                continue;
            }
            if let Some((at, query)) = q.handle_timeout(c, now) {
                due.push((at, vlan, QueryTarget::AllPorts, query));
            }
        }
        self.routers.expire(now);
        let mut specific = Vec::new();
        let queriers = &self.queriers;
        self.table.expire(
            now,
            &|vlan, family| env_of(pick(cfg, vlan_cfg, vlan), queriers, vlan, family, now),
            &mut specific,
        );
        for sq in specific {
            if let Some(query) = self.specific_to_send(&sq) {
                due.push((sq.due, sq.vlan, QueryTarget::Port(sq.port), query));
            }
        }
        due.sort_by_key(|d| d.0);
        for (_, vlan, target, query) in due {
            self.push_query(vlan, target, query);
        }
    }

    /// The next query to encode and send, in the order they fell due.
    pub fn poll_query(&mut self) -> Option<(u16, QueryTarget, Query)> {
        let next = self.queue.pop_front()?;
        self.counters.queries_sent.bump(next.2.version);
        Some(next)
    }

    /// `mdb flush`: forget the groups and learned router ports of `port`,
    /// or of every port (`None`). Static router ports and queriers stay.
    pub fn flush(&mut self, port: Option<PortId>) {
        self.table.flush(port);
        self.routers.flush(port);
    }

    fn on_query(
        &mut self,
        vlan: u16,
        port: PortId,
        src: IpAddr,
        q: &Query,
        now: Instant,
    ) -> ControlForward {
        let family = q.version.family();
        if Family::of(&src) != family {
            bump(&mut self.counters.ignored.invalid_source);
            return ControlForward::Flood;
        }
        if let IpAddr::V6(a) = src {
            if !is_link_local_v6(&a) {
                bump(&mut self.counters.ignored.mld_query_not_link_local);
                return ControlForward::Drop;
            }
        }
        if q.group.is_some_and(|g| Family::of(&g) != family) {
            bump(&mut self.counters.ignored.invalid_group);
            return ControlForward::Flood;
        }
        self.counters.queries_received.bump(q.version);
        self.ensure_vlan(vlan, now);
        let cfg = pick(&self.cfg, &self.vlan_cfg, vlan);
        let Some(querier) = self.queriers.get_mut(&(vlan, family)) else {
            return ControlForward::Flood;
        };
        querier.heard(cfg, src, q, now, &mut self.counters);
        let timers = *querier.timers();
        // Queries from 0.0.0.0 / :: (proxy queriers) make no router port (B2).
        if !src.is_unspecified() {
            self.learn_router(vlan, port, now + timers.other_querier_present_interval);
        }
        // A specific query with S=0 lowers timers: LMQC × its Max Response
        // Time (RFC 2236 §3, RFC 3376 §6.6.1; checklist D6, E9).
        if let Some(group) = q.group {
            if !q.suppress_router_side && classify(&group) == GroupScope::Snooped {
                let per_query = if q.max_response.is_zero() {
                    timers.last_member_query_interval
                } else {
                    q.max_response
                };
                let lower_to = per_query.saturating_mul(timers.last_member_query_count);
                let source_filtering =
                    env_of(self.cfg_for(vlan), &self.queriers, vlan, family, now).source_filtering;
                self.table
                    .query_heard(vlan, group, &q.sources, lower_to, now, source_filtering);
            }
        }
        ControlForward::Flood
    }

    fn on_change(
        &mut self,
        vlan: u16,
        port: PortId,
        version: Version,
        group: IpAddr,
        change: Change<'_>,
        now: Instant,
    ) {
        let family = version.family();
        if Family::of(&group) != family {
            bump(&mut self.counters.ignored.invalid_group);
            return;
        }
        match classify(&group) {
            GroupScope::Snooped => {}
            GroupScope::AlwaysFlood => {
                bump(&mut self.counters.ignored.unsnooped_group);
                return;
            }
            GroupScope::NotMulticast => {
                bump(&mut self.counters.ignored.invalid_group);
                return;
            }
        }
        self.ensure_vlan(vlan, now);
        let env = env_of(self.cfg_for(vlan), &self.queriers, vlan, family, now);
        let port_cfg = self.ports.get(&port);
        let policy = PortPolicy {
            fast_leave: port_cfg.is_some_and(|c| c.fast_leave),
            max_groups: port_cfg
                .and_then(|c| c.max_groups)
                .unwrap_or(self.cfg.max_groups_per_port),
        };
        let mut specific = Vec::new();
        let mut cx = Cx {
            now,
            env,
            port: policy,
            counters: &mut self.counters,
            queries: &mut specific,
        };
        self.table.handle(vlan, group, port, change, &mut cx);
        for sq in specific {
            if let Some(query) = self.specific_to_send(&sq) {
                self.push_query(sq.vlan, QueryTarget::Port(sq.port), query);
            }
        }
    }

    /// Turn a membership query request into a query from our querier.
    fn specific_to_send(&self, sq: &SpecificQuery) -> Option<Query> {
        self.queriers
            .get(&(sq.vlan, Family::of(&sq.group)))?
            .specific_query(sq.group, sq.sources.clone(), sq.suppress)
    }

    fn push_query(&mut self, vlan: u16, target: QueryTarget, query: Query) {
        if self.queue.len() >= QUERY_QUEUE_LIMIT {
            bump(&mut self.counters.queries_dropped);
        } else {
            self.queue.push_back((vlan, target, query));
        }
    }

    /// Record router evidence on `port` unless it is configured otherwise.
    fn learn_router(&mut self, vlan: u16, port: PortId, until: Instant) {
        match self.ports.get(&port).map(|c| c.mrouter) {
            Some(RouterPortMode::Never) => bump(&mut self.counters.ignored.router_on_never_port),
            Some(RouterPortMode::Always) => {}
            _ => self.routers.learn(vlan, port, until),
        }
    }

    fn is_router(&self, vlan: u16, port: PortId, now: Instant) -> bool {
        match self.ports.get(&port).map(|c| c.mrouter) {
            Some(RouterPortMode::Always) => true,
            Some(RouterPortMode::Never) => false,
            _ => self.routers.is_learned(vlan, port, now),
        }
    }

    /// Push the router ports of `vlan` at `now`: static ones and learned
    /// ones (never learned on `never` ports: `learn_router` refuses them and
    /// `add_port` forgets them).
    fn router_ports_into(&self, vlan: u16, now: Instant, out: &mut Vec<PortId>) {
        out.extend(self.static_router_ports());
        self.routers.collect(vlan, now, out);
    }

    /// Ports configured `mrouter = always`, in port order.
    fn static_router_ports(&self) -> impl Iterator<Item = PortId> + '_ {
        self.ports
            .iter()
            .filter(|(_, c)| c.mrouter == RouterPortMode::Always)
            .map(|(p, _)| *p)
    }
}

/// Sort, deduplicate (C7: one copy per port) and drop the ingress port.
fn finish(out: &mut Vec<PortId>, ingress: PortId) {
    out.sort_unstable();
    out.dedup();
    out.retain(|p| *p != ingress);
}
