//! One port's state for one group (RFC 3376 §6.2.1 / RFC 3810 §7.2): the
//! filter mode, the group and source timers, the older-host timers, and the
//! record tables of §6.4.1 and §6.4.2 that change them, with the specific
//! queries (§6.6.3) they ask for.

use super::*;

/// A source record: timer (`None` = 0, i.e. blocked in EXCLUDE mode) and
/// the number of group-and-source query retransmissions left.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) expires: Option<Instant>,
    pub(super) rexmit: u32,
}

impl Source {
    pub(super) fn running(&self, now: Instant) -> bool {
        self.expires.is_some_and(|t| t > now)
    }
}

/// The "Send Q(G)" / "Send Q(G,A)" actions a record asks for.
#[derive(Debug, Default)]
pub(super) struct Actions {
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
    pub(super) v1_host: Option<Instant>,
    /// IGMPv2 / MLDv1 Host Present timer.
    pub(super) v2_host: Option<Instant>,
    /// Group-specific query retransmissions left.
    group_rexmit: u32,
    /// When the next specific-query retransmission is due.
    next_rexmit: Option<Instant>,
}

impl PortGroup {
    /// INCLUDE({}): the state of a port that has no record for the group.
    pub(super) fn new(now: Instant) -> Self {
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
    pub(super) fn alive(&self) -> bool {
        self.mode == FilterMode::Exclude || !self.sources.is_empty()
    }

    /// The next instant something must happen to this state.
    pub(super) fn deadline(&self) -> Option<Instant> {
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
    pub(super) fn set_source(
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
    pub(super) fn add_source(
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
    pub(super) fn running_of(&self, b: &BTreeSet<IpAddr>, now: Instant) -> Vec<IpAddr> {
        b.iter()
            .filter(|s| self.sources.get(s).is_some_and(|r| r.running(now)))
            .copied()
            .collect()
    }

    /// One row of RFC 3376 §6.4.1 / §6.4.2 (RFC 3810 §7.4.1 / §7.4.2).
    /// Must be called on state already expired at `now`. Returns the Send Q
    /// actions; the caller carries them out.
    pub(super) fn apply(
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
    pub(super) fn lower_group(&mut self, until: Instant) -> bool {
        if self.mode == FilterMode::Exclude && self.group_expires > until {
            self.group_expires = until;
            true
        } else {
            false
        }
    }

    /// Lower a running source timer to `until` if it is later.
    pub(super) fn lower_source(&mut self, source: &IpAddr, until: Instant) -> Option<&mut Source> {
        match self.sources.get_mut(source) {
            Some(s) if s.expires.is_some_and(|t| t > until) => {
                s.expires = Some(until);
                Some(s)
            }
            _ => None,
        }
    }

    /// Carry out "Send Q(G)" / "Send Q(G,A)" (RFC 3376 §6.6.3).
    pub(super) fn send_queries(
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
    pub(super) fn transmit(
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
    pub(super) fn retransmit(
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
