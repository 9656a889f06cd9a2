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
//! Forwarding decisions over this state live in `lookup.rs`.

use super::config::Timers;
use super::counters::{bump, SnoopCounters};
use super::repr::{Family, RecordType, Version};
use crate::port::PortId;
use crate::time::{earliest, Instant};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Duration;

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

/// A source record: timer (`None` = 0, i.e. blocked in EXCLUDE mode) and
/// the number of group-and-source query retransmissions left.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) expires: Option<Instant>,
    rexmit: u32,
}

impl Source {
    fn running(&self, now: Instant) -> bool {
        self.expires.is_some_and(|t| t > now)
    }
}

/// The "Send Q(G)" / "Send Q(G,A)" actions a record asks for.
#[derive(Debug, Default)]
struct Actions {
    sources: Vec<IpAddr>,
    group: bool,
}

/// State of one port for one group (RFC 3376 §6.2.1).
#[derive(Debug, Clone)]
pub(crate) struct PortGroup {
    pub(crate) mode: FilterMode,
    /// Group timer; meaningful in EXCLUDE mode only.
    pub(crate) group_expires: Instant,
    pub(crate) sources: BTreeMap<IpAddr, Source>,
    /// IGMPv1 Host Present timer.
    v1_host: Option<Instant>,
    /// IGMPv2 / MLDv1 Host Present timer.
    v2_host: Option<Instant>,
    /// Group-specific query retransmissions left.
    group_rexmit: u32,
    /// When the next specific-query retransmission is due.
    next_rexmit: Option<Instant>,
}

impl PortGroup {
    /// INCLUDE({}): the state of a port that has no record for the group.
    fn new(now: Instant) -> Self {
        PortGroup {
            mode: FilterMode::Include,
            group_expires: now,
            sources: BTreeMap::new(),
            v1_host: None,
            v2_host: None,
            group_rexmit: 0,
            next_rexmit: None,
        }
    }

    /// Group compatibility mode (RFC 3376 §7.3.2, RFC 3810 §8.3.2).
    pub(crate) fn compat(&self, family: Family, now: Instant) -> Version {
        let running = |t: Option<Instant>| t.is_some_and(|t| t > now);
        match family {
            Family::V4 if running(self.v1_host) => Version::IgmpV1,
            Family::V4 if running(self.v2_host) => Version::IgmpV2,
            Family::V4 => Version::IgmpV3,
            Family::V6 if running(self.v2_host) => Version::MldV1,
            Family::V6 => Version::MldV2,
        }
    }

    /// Apply the timers that have run out by `now`: RFC 3376 §6.5 (group
    /// timer in EXCLUDE: go INCLUDE keeping running sources) and §6.2.3
    /// (source timer: delete in INCLUDE, block in EXCLUDE).
    pub(crate) fn expire(&mut self, now: Instant) {
        match self.mode {
            FilterMode::Include => self.sources.retain(|_, s| s.running(now)),
            FilterMode::Exclude => {
                for s in self.sources.values_mut() {
                    if !s.running(now) {
                        s.expires = None;
                        s.rexmit = 0;
                    }
                }
                if self.group_expires <= now {
                    self.sources.retain(|_, s| s.expires.is_some());
                    self.mode = FilterMode::Include;
                    self.group_rexmit = 0;
                }
            }
        }
        if self.v1_host.is_some_and(|t| t <= now) {
            self.v1_host = None;
        }
        if self.v2_host.is_some_and(|t| t <= now) {
            self.v2_host = None;
        }
    }

    /// Whether the state still says anything (after [`PortGroup::expire`]).
    fn alive(&self) -> bool {
        self.mode == FilterMode::Exclude || !self.sources.is_empty()
    }

    /// The next instant something must happen to this state.
    fn deadline(&self) -> Option<Instant> {
        let mut d = self.next_rexmit;
        if self.mode == FilterMode::Exclude {
            d = earliest(d, Some(self.group_expires));
        }
        for s in self.sources.values() {
            d = earliest(d, s.expires);
        }
        d
    }

    /// Set a source timer, creating the record if the limit allows.
    fn set_source(
        &mut self,
        source: IpAddr,
        expires: Option<Instant>,
        limit: usize,
        refused: &mut u64,
    ) {
        if let Some(s) = self.sources.get_mut(&source) {
            s.expires = expires;
        } else if self.sources.len() < limit {
            self.sources.insert(source, Source { expires, rexmit: 0 });
        } else {
            bump(refused);
        }
    }

    /// Create a source record with `expires` unless it exists.
    fn add_source(
        &mut self,
        source: IpAddr,
        expires: Option<Instant>,
        limit: usize,
        refused: &mut u64,
    ) {
        if !self.sources.contains_key(&source) {
            self.set_source(source, expires, limit, refused);
        }
    }

    /// Sources of `b` that have running timers (the "A−Y" / "A*B" sets).
    fn running_of(&self, b: &BTreeSet<IpAddr>, now: Instant) -> Vec<IpAddr> {
        b.iter()
            .filter(|s| self.sources.get(s).is_some_and(|r| r.running(now)))
            .copied()
            .collect()
    }

    /// One row of RFC 3376 §6.4.1 / §6.4.2 (RFC 3810 §7.4.1 / §7.4.2).
    /// Must be called on state already expired at `now`. Returns the Send Q
    /// actions; the caller carries them out.
    fn apply(
        &mut self,
        kind: RecordType,
        b: &BTreeSet<IpAddr>,
        now: Instant,
        gmi: Duration,
        limit: usize,
        refused: &mut u64,
    ) -> Actions {
        use RecordType::*;
        let gmi_at = Some(now + gmi);
        let mut act = Actions::default();
        match (self.mode, kind) {
            // INCLUDE(A) + IS_IN(B) / ALLOW(B) → INCLUDE(A+B); (B)=GMI.
            // EXCLUDE(X,Y) + IS_IN(A) / ALLOW(A) → EXCLUDE(X+A, Y−A); (A)=GMI.
            (_, IsInclude | Allow) => {
                for s in b {
                    self.set_source(*s, gmi_at, limit, refused);
                }
            }
            // INCLUDE(A) + IS_EX(B) → EXCLUDE(A*B, B−A); (B−A)=0; Delete(A−B); GT=GMI.
            // INCLUDE(A) + TO_EX(B) → the same, and Send Q(G, A*B).
            (FilterMode::Include, IsExclude | ToExclude) => {
                self.sources.retain(|s, _| b.contains(s));
                if kind == ToExclude {
                    act.sources = self.sources.keys().copied().collect();
                }
                for s in b {
                    self.add_source(*s, None, limit, refused);
                }
                self.mode = FilterMode::Exclude;
                self.group_expires = now + gmi;
                self.group_rexmit = 0;
            }
            // INCLUDE(A) + TO_IN(B) → INCLUDE(A+B); (B)=GMI; Send Q(G, A−B).
            (FilterMode::Include, ToInclude) => {
                act.sources = self
                    .sources
                    .keys()
                    .filter(|s| !b.contains(s))
                    .copied()
                    .collect();
                for s in b {
                    self.set_source(*s, gmi_at, limit, refused);
                }
            }
            // INCLUDE(A) + BLOCK(B) → INCLUDE(A); Send Q(G, A*B).
            (FilterMode::Include, Block) => {
                act.sources = self.running_of(b, now);
            }
            // EXCLUDE(X,Y) + IS_EX(A) → EXCLUDE(A−Y, Y*A); (A−X−Y)=GMI;
            //   Delete(X−A), Delete(Y−A); GT=GMI.
            // EXCLUDE(X,Y) + TO_EX(A) → EXCLUDE(A−Y, Y*A); (A−X−Y)=Group Timer;
            //   Delete(X−A), Delete(Y−A); Send Q(G, A−Y); GT=GMI.
            (FilterMode::Exclude, IsExclude | ToExclude) => {
                let new_timer = if kind == IsExclude {
                    gmi_at
                } else {
                    Some(self.group_expires)
                };
                self.sources.retain(|s, _| b.contains(s));
                for s in b {
                    self.add_source(*s, new_timer, limit, refused);
                }
                if kind == ToExclude {
                    act.sources = self.running_of(b, now);
                }
                self.group_expires = now + gmi;
            }
            // EXCLUDE(X,Y) + TO_IN(A) → EXCLUDE(X+A, Y−A); (A)=GMI;
            //   Send Q(G, X−A); Send Q(G).
            (FilterMode::Exclude, ToInclude) => {
                act.sources = self
                    .sources
                    .iter()
                    .filter(|(s, r)| r.running(now) && !b.contains(s))
                    .map(|(s, _)| *s)
                    .collect();
                for s in b {
                    self.set_source(*s, gmi_at, limit, refused);
                }
                act.group = true;
            }
            // EXCLUDE(X,Y) + BLOCK(A) → EXCLUDE(X+(A−Y), Y); (A−X−Y)=Group Timer;
            //   Send Q(G, A−Y).
            (FilterMode::Exclude, Block) => {
                let gt = Some(self.group_expires);
                for s in b {
                    self.add_source(*s, gt, limit, refused);
                }
                act.sources = self.running_of(b, now);
            }
        }
        act
    }

    /// Lower the group timer to `until` if it is later (EXCLUDE only).
    fn lower_group(&mut self, until: Instant) -> bool {
        if self.mode == FilterMode::Exclude && self.group_expires > until {
            self.group_expires = until;
            true
        } else {
            false
        }
    }

    /// Lower a running source timer to `until` if it is later.
    fn lower_source(&mut self, source: &IpAddr, until: Instant) -> Option<&mut Source> {
        match self.sources.get_mut(source) {
            Some(s) if s.expires.is_some_and(|t| t > until) => {
                s.expires = Some(until);
                Some(s)
            }
            _ => None,
        }
    }

    /// Carry out "Send Q(G)" / "Send Q(G,A)" (RFC 3376 §6.6.3).
    fn send_queries(
        &mut self,
        act: Actions,
        cx: &mut Cx<'_>,
        vlan: u16,
        group: IpAddr,
        port: PortId,
    ) {
        if act.sources.is_empty() && !act.group {
            return;
        }
        let now = cx.now;
        if cx.port.fast_leave {
            // Fast leave: the timers run out now; no queries.
            for s in &act.sources {
                self.lower_source(s, now);
            }
            if act.group {
                self.lower_group(now);
            }
            return;
        }
        let until = now + cx.env.timers.last_member_query_time();
        match cx.env.role {
            Role::NonQuerier => {}
            Role::Off => {
                for s in &act.sources {
                    self.lower_source(s, until);
                }
                if act.group {
                    self.lower_group(until);
                }
            }
            Role::Querier => {
                let count = cx.env.timers.last_member_query_count;
                let mut marked = false;
                for s in &act.sources {
                    if let Some(r) = self.lower_source(s, until) {
                        r.rexmit = count;
                        marked = true;
                    }
                }
                if act.group && self.lower_group(until) {
                    self.group_rexmit = count;
                    marked = true;
                }
                if marked {
                    self.transmit(now, now, &cx.env, (vlan, group, port), cx.queries);
                }
            }
        }
    }

    /// Send what has retransmissions left (RFC 3376 §6.6.3.1–2): the
    /// group-and-source query split into S=1 (timer > LMQT) and S=0 sets,
    /// then the group-specific query (S=1 if the group timer > LMQT).
    fn transmit(
        &mut self,
        due: Instant,
        now: Instant,
        env: &Env,
        (vlan, group, port): (u16, IpAddr, PortId),
        out: &mut Vec<SpecificQuery>,
    ) {
        let lmqt_at = now + env.timers.last_member_query_time();
        let mut high = Vec::new();
        let mut low = Vec::new();
        for (addr, s) in self.sources.iter_mut() {
            if s.rexmit == 0 {
                continue;
            }
            if !s.running(now) {
                s.rexmit = 0;
                continue;
            }
            s.rexmit -= 1;
            if s.expires.is_some_and(|t| t > lmqt_at) {
                high.push(*addr);
            } else {
                low.push(*addr);
            }
        }
        let query = |sources: Vec<IpAddr>, suppress: bool| SpecificQuery {
            due,
            vlan,
            port,
            group,
            sources,
            suppress,
        };
        if !high.is_empty() {
            out.push(query(high, true));
        }
        if !low.is_empty() {
            out.push(query(low, false));
        }
        if self.group_rexmit > 0 {
            self.group_rexmit -= 1;
            if self.mode == FilterMode::Exclude {
                out.push(query(Vec::new(), self.group_expires > lmqt_at));
            } else {
                self.group_rexmit = 0;
            }
        }
        let more = self.group_rexmit > 0 || self.sources.values().any(|s| s.rexmit > 0);
        self.next_rexmit = more.then(|| now + env.timers.last_member_query_interval);
    }

    /// Run a due retransmission; stop them if we are no longer the querier.
    fn retransmit(
        &mut self,
        now: Instant,
        env: &Env,
        key: (u16, IpAddr, PortId),
        out: &mut Vec<SpecificQuery>,
    ) {
        let Some(due) = self.next_rexmit.filter(|t| *t <= now) else {
            return;
        };
        self.next_rexmit = None;
        if env.role != Role::Querier {
            self.group_rexmit = 0;
            for s in self.sources.values_mut() {
                s.rexmit = 0;
            }
            return;
        }
        self.transmit(due, now, env, key, out);
    }
}

/// All ports' state for one (VLAN, group).
#[derive(Debug, Default)]
pub(crate) struct GroupEntry {
    pub(crate) ports: BTreeMap<PortId, PortGroup>,
    /// The earliest deadline of its ports, as indexed in `deadlines`.
    deadline: Option<Instant>,
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
                groups.push(GroupState { vlan, group, ports });
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

/// One (VLAN, group) in a state dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupState {
    /// VLAN (0 = untagged).
    pub vlan: u16,
    /// Group address.
    pub group: IpAddr,
    /// Ports with state, in port order.
    pub ports: Vec<PortGroupState>,
}

/// One port's state for a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortGroupState {
    /// The port.
    pub port: PortId,
    /// INCLUDE or EXCLUDE.
    pub filter_mode: FilterMode,
    /// Group timer left (EXCLUDE only).
    pub group_timer_ms: Option<u64>,
    /// Group compatibility mode: the oldest host version present.
    pub compat: Version,
    /// Source records in address order; `timer_ms` 0 = blocked (EXCLUDE's Y set).
    pub sources: Vec<SourceState>,
}

/// One source record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceState {
    /// Source address.
    pub source: IpAddr,
    /// Source timer left; 0 means blocked.
    pub timer_ms: u64,
}
