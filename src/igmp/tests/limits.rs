//! Bounded state (I3) and port removal / flush (I1).

use super::*;
use crate::igmp::config::PortSnoopConfig;
use RecordType::*;

#[test]
fn i3_per_port_limit_refuses_new_joins_and_counts_them() {
    for fam in FAMS {
        let cfg = SnoopConfig {
            max_groups_per_port: 2,
            ..SnoopConfig::default()
        };
        let mut h = H::new(cfg);
        h.secs(10);
        for n in 1..=3 {
            h.report(P1, fam.older(), fam.group_n(n));
        }
        assert_eq!(h.s.counters().refused.port_full, 1, "{fam:?}");
        assert!(h.group_state(fam.group_n(3)).is_none());
        // Existing groups still work and refresh; other ports are not limited by P1.
        h.report(P1, fam.older(), fam.group_n(1));
        h.report(P2, fam.older(), fam.group_n(3));
        assert_eq!(h.s.counters().refused.port_full, 1);
        assert_eq!(h.ports_for(fam.group_n(1), fam.src(1), P4), vec![P1]);
        assert_eq!(h.ports_for(fam.group_n(2), fam.src(1), P4), vec![P1]);
        assert_eq!(h.ports_for(fam.group_n(3), fam.src(1), P4), vec![P2]);
        // When a group goes, the port may join another.
        h.v3(P1, fam, ToInclude, fam.group_n(2), &[]);
        h.secs(12);
        h.report(P1, fam.older(), fam.group_n(4));
        assert!(h.port_state(fam.group_n(4), P1).is_some(), "{fam:?}");
    }
}

#[test]
fn i3_port_setting_overrides_per_port_limit() {
    let one = PortSnoopConfig {
        max_groups: Some(1),
        ..PortSnoopConfig::default()
    };
    let none = PortSnoopConfig {
        max_groups: Some(0),
        ..PortSnoopConfig::default()
    };
    let mut h = H::with_ports(SnoopConfig::default(), &[(P1, one), (P2, none)]);
    let fam = Fam::V4;
    h.report(P1, fam.older(), fam.group_n(1));
    h.report(P1, fam.older(), fam.group_n(2));
    h.report(P2, fam.older(), fam.group_n(1));
    assert_eq!(h.s.counters().refused.port_full, 2);
    assert_eq!(h.s.state(h.now).groups.len(), 1);
}

#[test]
fn i3_total_limit_refuses_new_groups_but_not_new_ports_of_existing_ones() {
    let cfg = SnoopConfig {
        max_groups: 2,
        ..SnoopConfig::default()
    };
    let mut h = H::new(cfg);
    h.secs(10);
    let fam = Fam::V4;
    h.report(P1, fam.older(), fam.group_n(1));
    h.v3(P2, Fam::V6, IsExclude, Fam::V6.group_n(1), &[]);
    h.report(P3, fam.older(), fam.group_n(3));
    assert_eq!(h.s.counters().refused.table_full, 1);
    h.report(P3, fam.older(), fam.group_n(1));
    assert_eq!(h.s.counters().refused.table_full, 1);
    assert_eq!(h.ports_for(fam.group_n(1), fam.src(1), P4), vec![P1, P3]);
    assert_eq!(
        h.ports_for(fam.group_n(3), fam.src(1), P4),
        Vec::<PortId>::new()
    );
}

#[test]
fn i3_sources_per_group_limit() {
    let cfg = SnoopConfig {
        max_sources_per_group: 2,
        ..SnoopConfig::default()
    };
    let mut h = H::new(cfg);
    h.secs(10);
    let fam = Fam::V6;
    let g = fam.group();
    h.v3(P1, fam, IsInclude, g, &fam.srcs(&[1, 2, 3]));
    assert_eq!(h.s.counters().refused.sources, 1);
    h.v3(P1, fam, IsInclude, g, &fam.srcs(&[1]));
    assert_eq!(
        h.s.counters().refused.sources,
        1,
        "refreshing is not refused"
    );
    let st = h.port_state(g, P1).expect("joined");
    assert_eq!(st.sources.len(), 2);
    assert_eq!(h.ports_for(g, fam.src(2), P4), vec![P1]);
}

#[test]
fn i1_remove_port_flushes_its_groups_router_state_and_queued_queries() {
    let mut h = H::ready(10);
    let fam = Fam::V4;
    h.report(P1, fam.older(), fam.group_n(1));
    h.report(P2, fam.older(), fam.group_n(1));
    h.query(P1, general_query(Version::IgmpV3, fam.router(200)));
    h.s.port_up(P1, h.now);
    h.s.remove_port(P1);
    assert!(
        h.s.poll_query().is_none(),
        "the port's queued query is gone"
    );
    let st = h.s.state(h.now);
    assert!(st.router_ports.is_empty());
    assert_eq!(st.groups.len(), 1);
    assert_eq!(st.groups[0].ports.len(), 1);
    assert_eq!(st.groups[0].ports[0].port, P2);
    // The id may be reused: the new port starts clean.
    h.s.add_port(P1, PortSnoopConfig::default(), h.now);
    assert_eq!(h.ports_for(fam.group_n(1), fam.src(1), P3), vec![P2]);
}

#[test]
fn mdb_flush_forgets_groups_and_learned_routers() {
    let mut h = H::ready(10);
    let fam = Fam::V4;
    h.report(P1, fam.older(), fam.group_n(1));
    h.report(P2, fam.older(), fam.group_n(2));
    h.query(P3, general_query(Version::IgmpV3, fam.router(1)));
    h.s.flush(Some(P1));
    assert_eq!(h.s.state(h.now).groups.len(), 1);
    h.s.flush(None);
    let st = h.s.state(h.now);
    assert!(st.groups.is_empty() && st.router_ports.is_empty());
    assert_eq!(
        h.s.poll_timeout().map(|t| t > h.now),
        Some(true),
        "only querier timers left"
    );
}
