//! The membership table: per (VLAN, group, port) router-side state of
//! RFC 3376 §6 / RFC 3810 §7, and nothing else.
//!
//! Each port is treated as its own link: a (port, group) has a filter mode,
//! a group timer (EXCLUDE only) and source records with their own timers
//! (§6.2). Group records change it exactly as the tables of §6.4.1
//! (current-state) and §6.4.2 (filter-mode and source-list change) say;
//! expiries follow §6.5 / §6.2.3. The "Send Q(G)" and "Send Q(G,A)" actions
//! lower timers to LMQT and, when we are the querier, produce group-specific
//! and group-and-source-specific queries for that port, retransmitted every
//! LMQI with the S flag split of §6.6.3. Older hosts are handled as in
//! §7.3.2 (RFC 3810 §8.3.2), table limits as checklist I3: a full table
//! refuses new state and counts it, and what exists keeps working.
//!
//! The table is driven entirely by its caller: every entry point takes
//! `now`, and [`MembershipTable::expire`] runs the timers that are due.
//! Forwarding decisions over this state live in `lookup.rs`; one port's
//! state for one group, and the record tables that change it, in
//! [`port_group`]; the serializable dump in [`state`].

use super::config::Timers;
use super::counters::{bump, SnoopCounters};
use super::repr::{Family, RecordType, Version};
use crate::port::PortId;
use crate::time::{earliest, Instant};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;

mod port_group;
mod state;

pub(crate) use port_group::PortGroup;
pub use state::{GroupState, PortGroupState, SourceState};

/// Filter mode of a (port, group) (RFC 3376 §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FilterMode {
    /// Forward only the listed sources whose timers run.
    Include,
    /// Forward every source except the blocked ones (timer 0).
    Exclude,
}

/// Who queries on a (VLAN, family): decides what "Send Q(…)" does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// We are the querier: lower timers to LMQT and send the specific queries.
    Querier,
    /// Another router is the querier: it sends the specific queries, and we
    /// lower timers when we hear them (RFC 3376 §6.6.1, RFC 2236 §3).
    NonQuerier,
    /// Nobody queries: lower timers to LMQT without queries (as the Linux bridge).
    Off,
}

/// What the table needs to know about the (VLAN, family) a change concerns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Env {
    /// Effective timers.
    pub timers: Timers,
    /// Who queries.
    pub role: Role,
    /// The switch runs IGMPv3 / MLDv2. If false, state is (*,G) only and v3
    /// records degrade to joins and leaves (RFC 4541 §2.1.1, IGMPv3 note).
    pub source_filtering: bool,
}

/// The port settings a change needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PortPolicy {
    /// Leaves take effect at once (timers lowered to zero, no queries).
    pub fast_leave: bool,
    /// Most groups the port may hold.
    pub max_groups: usize,
}

/// One membership message (or record) as it applies to one group.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change<'a> {
    /// IGMPv1/v2 or MLDv1 report: IS_EX({}) plus the older-host timer (RFC 3376 §7.3.2).
    OlderReport(Version),
    /// IGMPv2 leave or MLDv1 done: TO_IN({}), ignored while a v1 host is present.
    OlderLeave,
    /// An IGMPv3 / MLDv2 group record.
    Record(RecordType, &'a BTreeSet<IpAddr>),
}

/// A group-specific (no sources) or group-and-source-specific query the
/// table wants sent out of one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpecificQuery {
    /// When it was due.
    pub due: Instant,
    /// VLAN.
    pub vlan: u16,
    /// Port it goes out of.
    pub port: PortId,
    /// Group queried.
    pub group: IpAddr,
    /// Sources queried; empty for a group-specific query.
    pub sources: Vec<IpAddr>,
    /// S flag (Suppress Router-Side Processing).
    pub suppress: bool,
}

/// Everything a change needs besides the table.
pub(crate) struct Cx<'a> {
    /// Current time.
    pub now: Instant,
    /// The (VLAN, family) context.
    pub env: Env,
    /// The port's settings.
    pub port: PortPolicy,
    /// Counters to update.
    pub counters: &'a mut SnoopCounters,
    /// Where specific queries go.
    pub queries: &'a mut Vec<SpecificQuery>,
}

/// All ports' state for one (VLAN, group).
#[derive(Debug, Default)]
pub(crate) struct GroupEntry {
    pub(crate) ports: BTreeMap<PortId, PortGroup>,
    /// The earliest deadline of its ports, as indexed in `deadlines`.
    deadline: Option<Instant>,
    /// Copies of the group's data not sent to ports without a member
    /// (pruned), while registered. A `Cell`, so the forwarding decision,
    /// which reads the table, counts without a second lookup.
    pub(crate) pruned: std::cell::Cell<u64>,
}

/// The membership table of the whole switch.
#[derive(Debug)]
pub(crate) struct MembershipTable {
    pub(crate) groups: BTreeMap<(u16, IpAddr), GroupEntry>,
    /// Groups per port, for the per-port limit.
    per_port: HashMap<PortId, usize>,
    /// Deadline index: (deadline, vlan, group), one per entry that has one.
    deadlines: BTreeSet<(Instant, u16, IpAddr)>,
    max_groups: usize,
    max_sources: usize,
}

impl MembershipTable {
    /// An empty table with these limits.
    pub(crate) fn new(max_groups: usize, max_sources: usize) -> Self {
        MembershipTable {
            groups: BTreeMap::new(),
            per_port: HashMap::new(),
            deadlines: BTreeSet::new(),
            max_groups,
            max_sources,
        }
    }

    /// Forget every group of the VLANs `keep` says no to (their snooping was turned off).
    pub(crate) fn retain_vlans(&mut self, keep: impl Fn(u16) -> bool) {
        let gone: Vec<(u16, IpAddr)> = self
            .groups
            .keys()
            .filter(|(vlan, _)| !keep(*vlan))
            .copied()
            .collect();
        for key in gone {
            if let Some(entry) = self.groups.remove(&key) {
                if let Some(d) = entry.deadline {
                    self.deadlines.remove(&(d, key.0, key.1));
                }
                for port in entry.ports.keys() {
                    release(&mut self.per_port, *port);
                }
            }
        }
    }

    /// (VLAN, group) entries held (some may be waiting for their expiry sweep).
    pub(crate) fn len(&self) -> usize {
        self.groups.len()
    }

    /// The earliest deadline of any entry.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(t, _, _)| *t)
    }

    /// Expire (if `now` is given) and drop dead port state of one entry,
    /// drop the entry if empty, and re-index its deadline.
    fn settle(&mut self, key: (u16, IpAddr), now: Option<Instant>) {
        let Some(entry) = self.groups.get_mut(&key) else {
            return;
        };
        if let Some(d) = entry.deadline.take() {
            self.deadlines.remove(&(d, key.0, key.1));
        }
        let per_port = &mut self.per_port;
        entry.ports.retain(|port, pg| {
            if let Some(now) = now {
                pg.expire(now);
            }
            let keep = pg.alive();
            if !keep {
                release(per_port, *port);
            }
            keep
        });
        if entry.ports.is_empty() {
            self.groups.remove(&key);
            return;
        }
        entry.deadline = entry.ports.values().filter_map(PortGroup::deadline).min();
        if let Some(d) = entry.deadline {
            self.deadlines.insert((d, key.0, key.1));
        }
    }

    /// Apply one report, record or leave from `port` to (`vlan`, `group`).
    /// `group` must be a snooped group of the family `cx.env` belongs to.
    pub(crate) fn handle(
        &mut self,
        vlan: u16,
        group: IpAddr,
        port: PortId,
        change: Change<'_>,
        cx: &mut Cx<'_>,
    ) {
        let key = (vlan, group);
        let now = cx.now;
        let family = Family::of(&group);
        self.settle(key, Some(now));
        let compat = self
            .groups
            .get(&key)
            .and_then(|e| e.ports.get(&port))
            .map_or(newest(family), |pg| pg.compat(family, now));
        let older_compat = !matches!(compat, Version::IgmpV3 | Version::MldV2);
        let empty = BTreeSet::new();
        let ignored = &mut cx.counters.ignored;
        let (kind, sources, host_timer) = match change {
            Change::OlderReport(v) => (RecordType::IsExclude, &empty, Some(v)),
            Change::OlderLeave => {
                if compat == Version::IgmpV1 {
                    bump(&mut ignored.leave_v1_host_present);
                    return;
                }
                (RecordType::ToInclude, &empty, None)
            }
            Change::Record(kind, srcs) if !cx.env.source_filtering => match kind {
                RecordType::Block => {
                    bump(&mut ignored.block_without_sources);
                    return;
                }
                RecordType::Allow if srcs.is_empty() => return,
                RecordType::IsInclude | RecordType::ToInclude if srcs.is_empty() => {
                    (RecordType::ToInclude, &empty, None)
                }
                _ => (RecordType::IsExclude, &empty, None),
            },
            Change::Record(RecordType::Block, _) if older_compat => {
                bump(&mut ignored.block_in_compat_mode);
                return;
            }
            Change::Record(RecordType::ToExclude, _) if older_compat => {
                (RecordType::ToExclude, &empty, None)
            }
            Change::Record(kind, srcs) => (kind, srcs, None),
        };
        let is_leave = kind == RecordType::ToInclude && sources.is_empty();
        if is_leave && cx.env.role == Role::NonQuerier && !cx.port.fast_leave {
            bump(&mut ignored.leave_non_querier);
        }
        let gmi = cx.env.timers.group_membership_interval;
        let host_until = now + cx.env.timers.older_host_present_interval;
        let limit = self.max_sources;
        let mark_host = |pg: &mut PortGroup| match host_timer {
            Some(Version::IgmpV1) => pg.v1_host = Some(host_until),
            Some(_) => pg.v2_host = Some(host_until),
            None => {}
        };
        let existing = self
            .groups
            .get_mut(&key)
            .and_then(|e| e.ports.remove(&port));
        let is_new = existing.is_none();
        // No state is INCLUDE({}), from which no record asks for queries.
        let mut pg = existing.unwrap_or_else(|| PortGroup::new(now));
        let act = pg.apply(
            kind,
            sources,
            now,
            gmi,
            limit,
            &mut cx.counters.refused.sources,
        );
        mark_host(&mut pg);
        pg.send_queries(act, cx, vlan, group, port);
        if is_new {
            pg.expire(now);
            if !pg.alive() {
                return;
            }
            if !self.groups.contains_key(&key) && self.groups.len() >= self.max_groups {
                bump(&mut cx.counters.refused.table_full);
                return;
            }
            let held = self.per_port.entry(port).or_insert(0);
            if *held >= cx.port.max_groups {
                bump(&mut cx.counters.refused.port_full);
                return;
            }
            *held += 1;
        }
        self.groups.entry(key).or_default().ports.insert(port, pg);
        self.settle(key, Some(now));
    }

    /// A query for `group` (and `sources`) with S=0 was heard: lower the
    /// group timer, or the listed source timers, to `lower_to` from now on
    /// every port (RFC 3376 §6.6.1, RFC 2236 §3 non-querier). Source lists
    /// are ignored without source filtering.
    pub(crate) fn query_heard(
        &mut self,
        vlan: u16,
        group: IpAddr,
        sources: &[IpAddr],
        lower_to: Duration,
        now: Instant,
        source_filtering: bool,
    ) {
        let key = (vlan, group);
        self.settle(key, Some(now));
        let until = now + lower_to;
        if let Some(entry) = self.groups.get_mut(&key) {
            for pg in entry.ports.values_mut() {
                if sources.is_empty() {
                    pg.lower_group(until);
                } else if source_filtering {
                    for s in sources {
                        pg.lower_source(s, until);
                    }
                }
            }
        }
        self.settle(key, Some(now));
    }

    /// Run everything due by `now`: retransmissions (if `env` still says we
    /// are the querier) and timer expiries. Specific queries go to `out`.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        env: &dyn Fn(u16, Family) -> Env,
        out: &mut Vec<SpecificQuery>,
    ) {
        let due: Vec<(u16, IpAddr)> = self
            .deadlines
            .iter()
            .take_while(|(t, _, _)| *t <= now)
            .map(|&(_, vlan, group)| (vlan, group))
            .collect();
        for (vlan, group) in due {
            let e = env(vlan, Family::of(&group));
            if let Some(entry) = self.groups.get_mut(&(vlan, group)) {
                for (port, pg) in entry.ports.iter_mut() {
                    pg.retransmit(now, &e, (vlan, group, *port), out);
                }
            }
            self.settle((vlan, group), Some(now));
        }
    }

    /// Forget a port's state, or everyone's (`None`).
    pub(crate) fn flush(&mut self, port: Option<PortId>) {
        let Some(port) = port else {
            self.groups.clear();
            self.per_port.clear();
            self.deadlines.clear();
            return;
        };
        let keys: Vec<(u16, IpAddr)> = self
            .groups
            .iter()
            .filter(|(_, e)| e.ports.contains_key(&port))
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            if let Some(entry) = self.groups.get_mut(&key) {
                if entry.ports.remove(&port).is_some() {
                    release(&mut self.per_port, port);
                }
            }
            self.settle(key, None);
        }
        self.per_port.remove(&port);
    }

    /// The table as of `now`, in (VLAN, group, port, source) order.
    pub(crate) fn dump(&self, now: Instant) -> Vec<GroupState> {
        let mut groups = Vec::new();
        for (&(vlan, group), entry) in &self.groups {
            let family = Family::of(&group);
            let mut ports = Vec::new();
            for (&port, pg) in &entry.ports {
                let mut pg = pg.clone();
                pg.expire(now);
                if !pg.alive() {
                    continue;
                }
                ports.push(PortGroupState {
                    port,
                    filter_mode: pg.mode,
                    group_timer_ms: (pg.mode == FilterMode::Exclude)
                        .then(|| ms_left(pg.group_expires, now)),
                    compat: pg.compat(family, now),
                    sources: pg
                        .sources
                        .iter()
                        .map(|(s, r)| SourceState {
                            source: *s,
                            timer_ms: r.expires.map_or(0, |t| ms_left(t, now)),
                        })
                        .collect(),
                });
            }
            if !ports.is_empty() {
                groups.push(GroupState {
                    vlan,
                    group,
                    ports,
                    pruned_copies: entry.pruned.get(),
                });
            }
        }
        groups
    }
}

/// Decrement a port's group count.
fn release(per_port: &mut HashMap<PortId, usize>, port: PortId) {
    if let Some(n) = per_port.get_mut(&port) {
        *n = n.saturating_sub(1);
    }
}

/// The newest protocol version of a family: the mode with no older hosts.
fn newest(family: Family) -> Version {
    match family {
        Family::V4 => Version::IgmpV3,
        Family::V6 => Version::MldV2,
    }
}

/// Milliseconds from `now` to `t` (0 if past).
pub(crate) fn ms_left(t: Instant, now: Instant) -> u64 {
    ms(t.saturating_since(now))
}

/// A duration in whole milliseconds, for state dumps.
pub(crate) fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
