//! The querier of one (VLAN, family): election, general-query schedule,
//! the Other Querier Present timer, and values adopted from the elected
//! foreign querier.
//!
//! Election (RFC 3376 §6.6.2, RFC 2236 §3): the lowest address wins. Our
//! address is the configured one, or 0.0.0.0 for IGMP (a proxy querier,
//! which yields to any real querier; two proxies: whoever spoke first keeps
//! querying) and the switch's link-local address for MLD (without one we
//! cannot query, RFC 3810 §5.1.14). `on` never yields; `off` never sends.
//! Startup: Startup Query Count queries, Startup Query Interval apart, then
//! one every Query Interval. When the Other Querier Present timer runs out
//! we resume and query at once. While a foreign querier is elected we adopt
//! its QRV and QQIC (RFC 3376 §4.1.6–4.1.7) unless they are zero.
//!
//! It also answers whether a querier exists, for the flooding fallback
//! (checklist C8): pruning starts once a querier (ours or foreign) has
//! existed for its Max Response Time, and stops if none is left.

use super::config::{is_link_local_v6, QuerierMode, SnoopConfig, Timers};
use super::counters::{bump, SnoopCounters};
use super::membership::{ms, ms_left, Role};
use super::repr::{Family, Query, Version};
use crate::time::{earliest, Instant};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Floor for intervals, so a zero in an unvalidated configuration cannot
/// make a timer fire forever at the same instant.
const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// The elected foreign querier.
#[derive(Debug, Clone, Copy)]
struct OtherQuerier {
    addr: IpAddr,
    version: Version,
    /// Other Querier Present timer.
    expires: Instant,
}

/// Querier state of one (VLAN, family).
#[derive(Debug)]
pub(crate) struct Querier {
    mode: QuerierMode,
    /// Our address; `None` if we cannot query (MLD without a link-local address).
    own: Option<IpAddr>,
    /// Version of our queries.
    version: Version,
    other: Option<OtherQuerier>,
    next_query: Option<Instant>,
    startup_left: u32,
    adopted_rv: Option<u8>,
    adopted_qi: Option<Duration>,
    /// Effective timers: configuration plus adopted values.
    timers: Timers,
    /// Pruning may start at this instant (a querier appeared + its max response time).
    pruning_from: Option<Instant>,
}

/// Whether `a` wins the election against `b` (lower wins; an unspecified
/// address loses to any real one; between two unspecified ones the
/// challenger wins, so the proxy that already queries keeps doing so).
fn beats(a: IpAddr, b: IpAddr) -> bool {
    match (a.is_unspecified(), b.is_unspecified()) {
        (true, true) => true,
        (true, false) => false,
        (false, true) => true,
        (false, false) => a < b,
    }
}

impl Querier {
    /// A querier for `family`, starting now: its first query is due at `now`.
    pub(crate) fn new(
        family: Family,
        cfg: &SnoopConfig,
        own_v6_link_local: Ipv6Addr,
        now: Instant,
    ) -> Self {
        let (own, version) = match family {
            Family::V4 => (
                Some(IpAddr::V4(
                    cfg.querier_address_v4.unwrap_or(Ipv4Addr::UNSPECIFIED),
                )),
                if cfg.igmp_version == 2 {
                    Version::IgmpV2
                } else {
                    Version::IgmpV3
                },
            ),
            Family::V6 => (
                cfg.querier_address_v6
                    .or(Some(own_v6_link_local))
                    .filter(is_link_local_v6)
                    .map(IpAddr::V6),
                if cfg.mld_version == 1 {
                    Version::MldV1
                } else {
                    Version::MldV2
                },
            ),
        };
        let timers = cfg.timers();
        let mut q = Querier {
            mode: cfg.querier,
            own,
            version,
            other: None,
            next_query: None,
            startup_left: timers.startup_query_count,
            adopted_rv: None,
            adopted_qi: None,
            timers,
            pruning_from: None,
        };
        if q.can_query() {
            q.next_query = Some(now);
        }
        q
    }

    /// Apply a new configuration (live reload): mode, address, version and
    /// timers change; the election state and adopted values stay.
    pub(crate) fn reconfigure(
        &mut self,
        family: Family,
        cfg: &SnoopConfig,
        own_v6_link_local: Ipv6Addr,
        now: Instant,
    ) {
        let fresh = Querier::new(family, cfg, own_v6_link_local, now);
        self.mode = fresh.mode;
        self.own = fresh.own;
        self.version = fresh.version;
        self.timers = cfg.timers_with(self.adopted_rv, self.adopted_qi);
        if !self.can_query() {
            self.next_query = None;
            return;
        }
        let latest = now + self.timers.query_interval;
        self.next_query = Some(self.next_query.map_or(now, |t| t.min(latest)));
    }

    fn can_query(&self) -> bool {
        self.mode != QuerierMode::Off && self.own.is_some()
    }

    fn other_present(&self, now: Instant) -> bool {
        self.other.is_some_and(|o| o.expires > now)
    }

    /// Effective timers of this (VLAN, family).
    pub(crate) fn timers(&self) -> &Timers {
        &self.timers
    }

    /// Who queries at `now`.
    pub(crate) fn role(&self, now: Instant) -> Role {
        if self.can_query() && (self.mode == QuerierMode::On || !self.other_present(now)) {
            Role::Querier
        } else if self.other_present(now) {
            Role::NonQuerier
        } else {
            Role::Off
        }
    }

    /// Whether snooping may prune at `now`: a querier exists and has existed
    /// for its Max Response Time (checklist C8).
    pub(crate) fn pruning(&self, now: Instant) -> bool {
        self.role(now) != Role::Off && self.pruning_from.is_some_and(|t| t <= now)
    }

    /// A query from `src` was heard (already checked: `src` is of our
    /// family, and link-local for MLD).
    pub(crate) fn heard(
        &mut self,
        cfg: &SnoopConfig,
        src: IpAddr,
        q: &Query,
        now: Instant,
        counters: &mut SnoopCounters,
    ) {
        match (self.version, q.version) {
            (Version::IgmpV3, Version::IgmpV1 | Version::IgmpV2)
            | (Version::IgmpV2, Version::IgmpV1)
            | (Version::MldV2, Version::MldV1) => bump(&mut counters.older_version_querier),
            (Version::IgmpV2, Version::IgmpV3) | (Version::MldV1, Version::MldV2) => {
                bump(&mut counters.newer_version_querier)
            }
            _ => {}
        }
        let beats_us = match self.own {
            Some(own) if self.mode != QuerierMode::Off => beats(src, own),
            _ => true,
        };
        if !beats_us {
            // A worse querier: it will yield to us. Nothing to record.
            return;
        }
        let elected = match self.other {
            Some(o) if o.expires > now => beats(src, o.addr) || src == o.addr,
            _ => true,
        };
        let yields = self.mode != QuerierMode::On;
        if elected && yields && matches!(q.version, Version::IgmpV3 | Version::MldV2) {
            if q.robustness != 0 {
                self.adopted_rv = Some(q.robustness);
            }
            if !q.query_interval.is_zero() {
                self.adopted_qi = Some(q.query_interval);
            }
            self.timers = cfg.timers_with(self.adopted_rv, self.adopted_qi);
        }
        let expires = now + self.timers.other_querier_present_interval;
        match &mut self.other {
            Some(o) if !elected => o.expires = expires,
            other => {
                *other = Some(OtherQuerier {
                    addr: src,
                    version: q.version,
                    expires,
                })
            }
        }
        if yields {
            self.next_query = None;
            self.startup_left = 0;
        }
        let delay = if q.max_response.is_zero() {
            self.timers.query_response_interval
        } else {
            q.max_response
        };
        self.pruning_from.get_or_insert(now + delay);
    }

    /// The next instant [`Querier::handle_timeout`] has work.
    /// A general query to every port is due by `now` anyway: a per-port one would duplicate it.
    pub(crate) fn general_query_due(&self, now: Instant) -> bool {
        self.next_query.is_some_and(|t| t <= now)
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        earliest(self.next_query, self.other.map(|o| o.expires))
    }

    /// Run what is due by `now`; returns a general query to send, with the
    /// instant it was due.
    pub(crate) fn handle_timeout(
        &mut self,
        cfg: &SnoopConfig,
        now: Instant,
    ) -> Option<(Instant, Query)> {
        if let Some(o) = self.other.filter(|o| o.expires <= now) {
            // Other Querier Present timer ran out: no foreign querier now.
            self.other = None;
            let adopted = self.adopted_rv.is_some() || self.adopted_qi.is_some();
            self.adopted_rv = None;
            self.adopted_qi = None;
            if adopted {
                self.timers = cfg.timers();
            }
            if !self.can_query() {
                self.pruning_from = None;
            } else if self.next_query.is_none() {
                // Resume as querier and query at once (RFC 3376 §6.6.2).
                self.next_query = Some(o.expires);
            }
        }
        let due = self.next_query.filter(|t| *t <= now)?;
        if self.role(now) != Role::Querier {
            self.next_query = None;
            return None;
        }
        let query = self.general_query()?;
        self.startup_left = self.startup_left.saturating_sub(1);
        let interval = if self.startup_left > 0 {
            self.timers.startup_query_interval
        } else {
            self.timers.query_interval
        };
        self.next_query = Some(now + interval.max(MIN_INTERVAL));
        self.pruning_from
            .get_or_insert(now + self.timers.query_response_interval);
        Some((due, query))
    }

    /// A general query from us (G1, G3), or `None` if we have no address.
    pub(crate) fn general_query(&self) -> Option<Query> {
        Some(Query {
            version: self.version,
            source: self.own?,
            group: None,
            sources: Vec::new(),
            max_response: self.timers.query_response_interval,
            suppress_router_side: false,
            robustness: self.timers.qrv(),
            query_interval: self.timers.query_interval,
        })
    }

    /// A group-specific or group-and-source-specific query from us (G2),
    /// or `None` if we have no address or our version cannot list sources.
    pub(crate) fn specific_query(
        &self,
        group: IpAddr,
        sources: Vec<IpAddr>,
        suppress: bool,
    ) -> Option<Query> {
        let v3 = matches!(self.version, Version::IgmpV3 | Version::MldV2);
        if !sources.is_empty() && !v3 {
            return None;
        }
        Some(Query {
            version: self.version,
            source: self.own?,
            group: Some(group),
            sources,
            max_response: self.timers.last_member_query_interval,
            suppress_router_side: suppress && v3,
            robustness: self.timers.qrv(),
            query_interval: self.timers.query_interval,
        })
    }

    /// The querier as of `now`, for a state dump.
    pub(crate) fn state(&self, vlan: u16, family: Family, now: Instant) -> QuerierState {
        let role = self.role(now);
        let other = self.other.filter(|o| o.expires > now);
        QuerierState {
            vlan,
            family,
            mode: self.mode,
            role,
            version: self.version,
            own_address: self.own,
            elected: match role {
                Role::Querier => self.own,
                Role::NonQuerier => other.map(|o| o.addr),
                Role::Off => None,
            },
            other_querier: other.map(|o| o.addr),
            other_querier_version: other.map(|o| o.version),
            other_querier_timer_ms: other.map(|o| ms_left(o.expires, now)),
            next_query_ms: self.next_query.map(|t| ms_left(t, now)),
            startup_queries_left: self.startup_left,
            adopted_robustness: self.adopted_rv,
            adopted_query_interval_ms: self.adopted_qi.map(ms),
            robustness: self.timers.robustness,
            query_interval_ms: ms(self.timers.query_interval),
            group_membership_interval_ms: ms(self.timers.group_membership_interval),
            pruning: self.pruning(now),
        }
    }
}

/// One (VLAN, family) querier in a state dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuerierState {
    /// VLAN (0 = untagged).
    pub vlan: u16,
    /// IGMP (v4) or MLD (v6).
    pub family: Family,
    /// Configured mode.
    pub mode: QuerierMode,
    /// querier / non_querier / off.
    pub role: Role,
    /// Version of our queries.
    pub version: Version,
    /// Our address in the election; `None` if we cannot query (MLD without link-local).
    pub own_address: Option<IpAddr>,
    /// The address that queries now: ours or the foreign querier's.
    pub elected: Option<IpAddr>,
    /// The best foreign querier heard, while its Other Querier Present timer runs.
    pub other_querier: Option<IpAddr>,
    /// Its version.
    pub other_querier_version: Option<Version>,
    /// Other Querier Present timer left.
    pub other_querier_timer_ms: Option<u64>,
    /// Time to our next general query.
    pub next_query_ms: Option<u64>,
    /// Startup queries still to send.
    pub startup_queries_left: u32,
    /// QRV adopted from the elected foreign querier.
    pub adopted_robustness: Option<u8>,
    /// QQI adopted from the elected foreign querier.
    pub adopted_query_interval_ms: Option<u64>,
    /// Effective Robustness Variable.
    pub robustness: u8,
    /// Effective Query Interval.
    pub query_interval_ms: u64,
    /// Effective Group Membership Interval.
    pub group_membership_interval_ms: u64,
    /// Whether snooping prunes (a querier is known), or floods (checklist C8).
    pub pruning: bool,
}
