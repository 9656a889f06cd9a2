//! Tests of the snooper on the virtual clock, table-driven where the RFC
//! is a table. Test names start with the checklist item they cover
//! (`shared/reference/rfc-requirements.md`), e.g. `e4_…`, `d6_…`.
//!
//! Everything goes through the [`Snooper`] facade, as the switch core
//! would use it; [`H`] is a small driver that runs timers exactly when
//! `poll_timeout` says and logs every query with the time it came out.

mod forwarding;
mod fuzz;
mod leave;
mod limits;
mod querier;
mod router;
mod transitions;

use super::config::{PortSnoopConfig, SnoopConfig};
use super::membership::{GroupState, PortGroupState};
use super::querier::QuerierState;
use super::repr::{Family, GroupRecord, Message, Query, RecordType, Version};
use super::snooper::{ControlForward, McastEgress, QueryTarget, Snooper};
use crate::port::PortId;
use crate::time::Instant;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

pub(super) const P1: PortId = PortId(1);
pub(super) const P2: PortId = PortId(2);
pub(super) const P3: PortId = PortId(3);
pub(super) const P4: PortId = PortId(4);

/// The switch's own link-local address in tests: high, so that test
/// routers fe80::1… win MLD elections against it.
pub(super) fn own_ll() -> Ipv6Addr {
    "fe80::ff".parse().expect("literal")
}

/// The two address families, so one test table runs for IGMP and MLD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fam {
    V4,
    V6,
}

pub(super) const FAMS: [Fam; 2] = [Fam::V4, Fam::V6];

impl Fam {
    /// The group most tests use.
    pub(super) fn group(self) -> IpAddr {
        self.group_n(1)
    }

    /// Distinct groups: 239.1.0.n / ff0e::1:n.
    pub(super) fn group_n(self, n: u16) -> IpAddr {
        match self {
            Fam::V4 => IpAddr::V4(Ipv4Addr::new(239, 1, (n >> 8) as u8, n as u8)),
            Fam::V6 => IpAddr::V6(Ipv6Addr::new(0xff0e, 0, 0, 0, 0, 0, 1, n)),
        }
    }

    /// Source `i`: 10.0.1.i / 2001:db8::i.
    pub(super) fn src(self, i: u8) -> IpAddr {
        match self {
            Fam::V4 => IpAddr::V4(Ipv4Addr::new(10, 0, 1, i)),
            Fam::V6 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(i))),
        }
    }

    pub(super) fn srcs(self, ids: &[u8]) -> Vec<IpAddr> {
        ids.iter().map(|i| self.src(*i)).collect()
    }

    /// A host's address.
    pub(super) fn host(self) -> IpAddr {
        match self {
            Fam::V4 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100)),
            Fam::V6 => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100)),
        }
    }

    /// Router `i`: 10.0.0.i / fe80::i (both beat the switch's own address).
    pub(super) fn router(self, i: u8) -> IpAddr {
        match self {
            Fam::V4 => IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
            Fam::V6 => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(i))),
        }
    }

    pub(super) fn unspecified(self) -> IpAddr {
        match self {
            Fam::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Fam::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }

    pub(super) fn family(self) -> Family {
        match self {
            Fam::V4 => Family::V4,
            Fam::V6 => Family::V6,
        }
    }

    /// IGMPv3 / MLDv2.
    pub(super) fn v3(self) -> Version {
        match self {
            Fam::V4 => Version::IgmpV3,
            Fam::V6 => Version::MldV2,
        }
    }

    /// IGMPv2 / MLDv1.
    pub(super) fn older(self) -> Version {
        match self {
            Fam::V4 => Version::IgmpV2,
            Fam::V6 => Version::MldV1,
        }
    }

    /// Our own query source with the default configuration.
    pub(super) fn own(self) -> IpAddr {
        match self {
            Fam::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Fam::V6 => IpAddr::V6(own_ll()),
        }
    }
}

/// The test host of `version`'s family.
fn host_of(version: Version) -> IpAddr {
    match version.family() {
        Family::V4 => Fam::V4.host(),
        Family::V6 => Fam::V6.host(),
    }
}

/// A general query from `src` of `version`, as a router with default timers sends it.
pub(super) fn general_query(version: Version, src: IpAddr) -> Query {
    Query {
        version,
        source: src,
        group: None,
        sources: Vec::new(),
        max_response: Duration::from_secs(10),
        suppress_router_side: false,
        robustness: if matches!(version, Version::IgmpV3 | Version::MldV2) {
            2
        } else {
            0
        },
        query_interval: if matches!(version, Version::IgmpV3 | Version::MldV2) {
            Duration::from_secs(125)
        } else {
            Duration::ZERO
        },
    }
}

/// A group(-and-source)-specific query from `src`, Max Response 1 s.
pub(super) fn specific_query(
    version: Version,
    src: IpAddr,
    group: IpAddr,
    sources: Vec<IpAddr>,
    s_flag: bool,
) -> Query {
    Query {
        group: Some(group),
        sources,
        max_response: Duration::from_secs(1),
        suppress_router_side: s_flag,
        ..general_query(version, src)
    }
}

/// A query that came out of `poll_query`, with when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sent {
    pub at: Instant,
    pub vlan: u16,
    pub target: QueryTarget,
    pub q: Query,
}

/// Test driver: a snooper, the virtual clock, and the log of queries sent.
pub(super) struct H {
    pub s: Snooper,
    pub now: Instant,
    pub sent: Vec<Sent>,
}

impl H {
    /// A snooper with `cfg` and ports P1–P4 with default settings, at time 0.
    pub(super) fn new(cfg: SnoopConfig) -> H {
        Self::with_ports(cfg, &[])
    }

    /// As `new`, with some ports' settings replaced.
    pub(super) fn with_ports(cfg: SnoopConfig, special: &[(PortId, PortSnoopConfig)]) -> H {
        let mut s = Snooper::new(cfg, own_ll());
        for p in [P1, P2, P3, P4] {
            let pc = special
                .iter()
                .find(|(q, _)| *q == p)
                .map(|(_, c)| c.clone())
                .unwrap_or_default();
            s.add_port(p, pc, Instant::ZERO);
        }
        let mut h = H {
            s,
            now: Instant::ZERO,
            sent: Vec::new(),
        };
        h.run_to(Instant::ZERO);
        h
    }

    /// Default configuration, clock run to `secs` so startup queries are out
    /// and (from 10 s on) snooping prunes.
    pub(super) fn ready(secs: u64) -> H {
        let mut h = H::new(SnoopConfig::default());
        h.secs(secs);
        h.sent.clear();
        h
    }

    fn drain(&mut self) {
        while let Some((vlan, target, q)) = self.s.poll_query() {
            self.sent.push(Sent {
                at: self.now,
                vlan,
                target,
                q,
            });
        }
    }

    /// Run every timer up to and including `t`, each at its own instant.
    pub(super) fn run_to(&mut self, t: Instant) {
        let mut guard = 0u32;
        while let Some(d) = self.s.poll_timeout() {
            if d > t {
                break;
            }
            guard += 1;
            assert!(guard < 100_000, "timers do not settle at {d:?}");
            self.now = self.now.max(d);
            self.s.handle_timeout(self.now);
            self.drain();
        }
        self.now = self.now.max(t);
        self.drain();
    }

    pub(super) fn secs(&mut self, s: u64) {
        self.run_to(Instant::from_secs(s));
    }

    pub(super) fn ms(&mut self, ms: u64) {
        self.run_to(Instant::from_millis(ms));
    }

    /// Take the queries logged so far.
    pub(super) fn take_sent(&mut self) -> Vec<Sent> {
        std::mem::take(&mut self.sent)
    }

    /// Deliver a message on VLAN 0.
    pub(super) fn msg(&mut self, port: PortId, src: IpAddr, msg: Message) -> ControlForward {
        let r = self.s.handle_message(0, port, src, &msg, self.now);
        self.drain();
        r
    }

    /// An IGMPv3 / MLDv2 report with one record.
    pub(super) fn v3(
        &mut self,
        port: PortId,
        fam: Fam,
        kind: RecordType,
        group: IpAddr,
        sources: &[IpAddr],
    ) {
        let msg = Message::ReportV3 {
            version: fam.v3(),
            records: vec![GroupRecord {
                record_type: kind,
                group,
                sources: sources.to_vec(),
            }],
        };
        self.msg(port, fam.host(), msg);
    }

    /// An IGMPv1/v2 or MLDv1 report.
    pub(super) fn report(
        &mut self,
        port: PortId,
        version: Version,
        group: IpAddr,
    ) -> ControlForward {
        self.msg(port, host_of(version), Message::Report { version, group })
    }

    /// An IGMPv2 leave or MLDv1 done.
    pub(super) fn leave(
        &mut self,
        port: PortId,
        version: Version,
        group: IpAddr,
    ) -> ControlForward {
        self.msg(port, host_of(version), Message::Leave { version, group })
    }

    /// `port` came up.
    pub(super) fn port_up(&mut self, port: PortId) {
        self.s.port_up(port, self.now);
        self.drain();
    }

    /// A query arriving on `port`.
    pub(super) fn query(&mut self, port: PortId, q: Query) -> ControlForward {
        let src = q.source;
        self.msg(port, src, Message::Query(q))
    }

    /// Where data to `group` from `source` entering on `ingress` goes now.
    pub(super) fn egress(
        &self,
        group: IpAddr,
        source: IpAddr,
        ingress: PortId,
    ) -> (McastEgress, Vec<PortId>) {
        let mut out = vec![PortId(999)];
        let e = self
            .s
            .data_egress(0, group, source, ingress, self.now, &mut out);
        if e == McastEgress::Flood {
            assert!(out.is_empty(), "out must be cleared");
        }
        (e, out)
    }

    /// The egress ports, asserting snooping prunes.
    pub(super) fn ports_for(&self, group: IpAddr, source: IpAddr, ingress: PortId) -> Vec<PortId> {
        let (e, out) = self.egress(group, source, ingress);
        assert_eq!(
            e,
            McastEgress::Ports,
            "expected pruning for {group} from {source}"
        );
        out
    }

    pub(super) fn group_state(&self, group: IpAddr) -> Option<GroupState> {
        self.s
            .state(self.now)
            .groups
            .into_iter()
            .find(|g| g.vlan == 0 && g.group == group)
    }

    pub(super) fn port_state(&self, group: IpAddr, port: PortId) -> Option<PortGroupState> {
        self.group_state(group)?
            .ports
            .into_iter()
            .find(|p| p.port == port)
    }

    pub(super) fn querier(&self, fam: Fam) -> QuerierState {
        self.s
            .state(self.now)
            .queriers
            .into_iter()
            .find(|q| q.vlan == 0 && q.family == fam.family())
            .expect("VLAN 0 querier exists")
    }

    /// Queries of one family from the log.
    pub(super) fn sent_of(&self, fam: Fam) -> Vec<Sent> {
        self.sent
            .iter()
            .filter(|s| s.q.version.family() == fam.family())
            .cloned()
            .collect()
    }
}
