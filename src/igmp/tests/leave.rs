//! Leaves and specific queries: D2, D5–D7, E7–E9, F1–F3, fast leave, B4, B7.

use super::*;
use crate::igmp::config::PortSnoopConfig;
use crate::igmp::membership::FilterMode;
use RecordType::*;

/// A switch where router 1 (lower address) is the querier on P4.
fn with_foreign_querier(fam: Fam) -> H {
    let mut h = H::ready(10);
    h.query(P4, general_query(fam.v3(), fam.router(1)));
    h.take_sent();
    h
}

#[test]
fn d2_older_report_sets_group_timer_to_gmi() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.report(P1, fam.older(), g);
        let st = h.port_state(g, P1).expect("joined");
        assert_eq!(st.filter_mode, FilterMode::Exclude, "{fam:?}: IS_EX({{}})");
        assert_eq!(st.group_timer_ms, Some(260_000));
        assert!(st.sources.is_empty());
        assert_eq!(st.compat, fam.older());
    }
}

#[test]
fn b4_membership_ages_out_after_gmi_without_leave() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.report(P1, fam.older(), g);
        h.ms(269_999);
        assert_eq!(h.ports_for(g, fam.src(1), P2), vec![P1]);
        h.secs(270);
        assert!(h.group_state(g).is_none());
        assert_eq!(h.ports_for(g, fam.src(1), P2), Vec::<PortId>::new());
    }
}

#[test]
fn d5_leave_with_own_querier_sends_lmqc_group_specific_queries_then_deletes() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.report(P1, fam.older(), g);
        h.report(P2, fam.older(), g);
        h.secs(20);
        h.take_sent();
        h.leave(P1, fam.older(), g);
        h.ms(21_999);
        assert!(h.port_state(g, P1).is_some());
        h.secs(22);
        assert!(h.port_state(g, P1).is_none(), "{fam:?}: gone after LMQT");
        assert!(
            h.port_state(g, P2).is_some(),
            "{fam:?}: other port untouched"
        );
        let sent = h.take_sent();
        let times: Vec<Instant> = sent.iter().map(|s| s.at).collect();
        assert_eq!(times, vec![Instant::from_secs(20), Instant::from_secs(21)]);
        for s in &sent {
            assert_eq!(s.target, QueryTarget::Port(P1));
            assert_eq!(s.q.group, Some(g), "G2: group-specific");
            assert_eq!(
                s.q.max_response,
                Duration::from_secs(1),
                "G2: MaxResp = LMQI"
            );
            assert_eq!(s.q.version, fam.v3(), "our configured version");
            assert!(!s.q.suppress_router_side);
        }
        assert_eq!(h.ports_for(g, fam.src(1), P3), vec![P2]);
    }
}

#[test]
fn d5_report_during_leave_queries_keeps_the_group() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.report(P1, fam.older(), g);
        h.secs(20);
        h.leave(P1, fam.older(), g);
        h.ms(20_500);
        h.report(P1, fam.older(), g);
        h.secs(30);
        assert!(h.port_state(g, P1).is_some(), "{fam:?}");
    }
}

#[test]
fn e7_group_query_retransmission_sets_s_flag_when_timer_above_lmqt() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.v3(P1, fam, IsExclude, g, &[]);
        h.secs(20);
        h.take_sent();
        h.v3(P1, fam, ToInclude, g, &[]);
        h.ms(20_500);
        h.v3(P1, fam, IsExclude, g, &[]); // a host answers: GT back to GMI
        h.secs(30);
        let flags: Vec<(Instant, bool)> = h
            .take_sent()
            .into_iter()
            .map(|s| (s.at, s.q.suppress_router_side))
            .collect();
        assert_eq!(
            flags,
            vec![
                (Instant::from_secs(20), false),
                (Instant::from_secs(21), true)
            ],
            "{fam:?}"
        );
        assert!(h.port_state(g, P1).is_some());
    }
}

#[test]
fn e8_group_and_source_queries_split_by_s_flag() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.v3(P1, fam, IsInclude, g, &fam.srcs(&[1, 2]));
        h.secs(20);
        h.take_sent();
        h.v3(P1, fam, Block, g, &fam.srcs(&[1, 2]));
        h.ms(20_500);
        h.v3(P1, fam, IsInclude, g, &fam.srcs(&[1])); // S1 still wanted
        h.secs(30);
        let sent: Vec<(Instant, Vec<IpAddr>, bool)> = h
            .take_sent()
            .into_iter()
            .map(|s| (s.at, s.q.sources, s.q.suppress_router_side))
            .collect();
        assert_eq!(
            sent,
            vec![
                (Instant::from_secs(20), fam.srcs(&[1, 2]), false),
                (Instant::from_secs(21), fam.srcs(&[1]), true),
                (Instant::from_secs(21), fam.srcs(&[2]), false),
            ],
            "{fam:?}"
        );
        let st = h.port_state(g, P1).expect("S1 keeps the group");
        assert_eq!(st.sources.len(), 1);
        assert_eq!(st.sources[0].source, fam.src(1));
    }
}

#[test]
fn d6_non_querier_ignores_leave_and_gsq_lowers_timer() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = with_foreign_querier(fam);
        h.report(P1, fam.older(), g);
        h.secs(20);
        h.leave(P1, fam.older(), g);
        assert_eq!(h.s.counters().ignored.leave_non_querier, 1);
        assert!(
            h.take_sent().is_empty(),
            "{fam:?}: a non-querier sends no queries"
        );
        let st = h.port_state(g, P1).expect("still joined");
        assert_eq!(
            st.group_timer_ms,
            Some(250_000),
            "{fam:?}: leave changed nothing"
        );
        // The querier's group-specific query (MaxResp 1 s) lowers the timer to LMQC × 1 s.
        h.query(
            P4,
            specific_query(fam.older(), fam.router(1), g, vec![], false),
        );
        assert_eq!(
            h.port_state(g, P1).expect("joined").group_timer_ms,
            Some(2_000)
        );
        h.secs(22);
        assert!(h.port_state(g, P1).is_none(), "{fam:?}");
    }
}

#[test]
fn e9_foreign_query_with_s_flag_changes_no_timers() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = with_foreign_querier(fam);
        h.v3(P1, fam, IsExclude, g, &[]);
        h.v3(P1, fam, Allow, g, &fam.srcs(&[1]));
        h.query(P4, specific_query(fam.v3(), fam.router(1), g, vec![], true));
        h.query(
            P4,
            specific_query(fam.v3(), fam.router(1), g, fam.srcs(&[1]), true),
        );
        let st = h.port_state(g, P1).expect("joined");
        assert_eq!(st.group_timer_ms, Some(260_000), "{fam:?}: S=1 ignored");
        assert_eq!(st.sources[0].timer_ms, 260_000);
        // S=0 group-and-source query lowers the source timer only.
        h.query(
            P4,
            specific_query(fam.v3(), fam.router(1), g, fam.srcs(&[1]), false),
        );
        let st = h.port_state(g, P1).expect("joined");
        assert_eq!(st.group_timer_ms, Some(260_000));
        assert_eq!(
            st.sources[0].timer_ms, 2_000,
            "{fam:?}: source lowered to LMQT"
        );
    }
}

#[test]
fn fast_leave_removes_port_at_once_without_queries() {
    for fam in FAMS {
        let g = fam.group();
        let fast = PortSnoopConfig {
            fast_leave: true,
            ..PortSnoopConfig::default()
        };
        let mut h = H::with_ports(SnoopConfig::default(), &[(P1, fast)]);
        h.secs(10);
        h.report(P1, fam.older(), g);
        h.v3(P1, fam, IsInclude, fam.group_n(2), &fam.srcs(&[1, 2]));
        h.take_sent();
        h.leave(P1, fam.older(), g);
        assert!(h.port_state(g, P1).is_none(), "{fam:?}");
        // A v3 BLOCK on a fast-leave port removes the sources at once too.
        h.v3(P1, fam, Block, fam.group_n(2), &fam.srcs(&[1]));
        let st = h.port_state(fam.group_n(2), P1).expect("S2 left");
        assert_eq!(st.sources.len(), 1);
        assert_eq!(st.sources[0].source, fam.src(2));
        assert!(h.take_sent().is_empty());
    }
}

#[test]
fn d7_v1_host_present_ignores_leaves() {
    let g = Fam::V4.group();
    let mut h = H::ready(10);
    h.report(P1, Version::IgmpV1, g);
    assert_eq!(h.port_state(g, P1).expect("joined").compat, Version::IgmpV1);
    h.secs(20);
    h.report(P1, Version::IgmpV2, g);
    h.leave(P1, Version::IgmpV2, g);
    assert_eq!(h.s.counters().ignored.leave_v1_host_present, 1);
    h.secs(100);
    assert!(h.port_state(g, P1).is_some(), "leave ignored");
    assert!(
        h.sent.iter().all(|s| s.q.group.is_none()),
        "no group-specific query"
    );
    h.secs(280);
    assert!(h.port_state(g, P1).is_none(), "aged out after GMI");
}

#[test]
fn f1_f2_v2_host_present_ignores_block_and_strips_to_ex_sources() {
    let fam = Fam::V4;
    let g = fam.group();
    let mut h = H::ready(10);
    h.report(P1, Version::IgmpV2, g);
    h.v3(P1, fam, Block, g, &fam.srcs(&[1]));
    assert_eq!(h.s.counters().ignored.block_in_compat_mode, 1);
    h.v3(P1, fam, ToExclude, g, &fam.srcs(&[1]));
    let st = h.port_state(g, P1).expect("joined");
    assert_eq!(st.compat, Version::IgmpV2);
    assert!(st.sources.is_empty(), "TO_EX(x) treated as TO_EX({{}})");
    assert_eq!(h.ports_for(g, fam.src(1), P2), vec![P1]);
    // Once the Older Host Present timer runs out, v3 rules apply again.
    h.secs(200);
    h.v3(P1, fam, IsExclude, g, &[]);
    h.secs(271);
    let st = h.port_state(g, P1).expect("joined");
    assert_eq!(st.compat, Version::IgmpV3);
    h.v3(P1, fam, Block, g, &fam.srcs(&[1]));
    assert_eq!(h.s.counters().ignored.block_in_compat_mode, 1);
    assert_eq!(h.port_state(g, P1).expect("joined").sources.len(), 1);
}

#[test]
fn f3_mldv1_listener_present_compat_and_done_is_to_in_empty() {
    let fam = Fam::V6;
    let g = fam.group();
    let mut h = H::ready(10);
    h.report(P1, Version::MldV1, g);
    assert_eq!(h.port_state(g, P1).expect("joined").compat, Version::MldV1);
    h.v3(P1, fam, Block, g, &fam.srcs(&[1]));
    assert_eq!(h.s.counters().ignored.block_in_compat_mode, 1);
    h.take_sent();
    h.leave(P1, Version::MldV1, g);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].q.version, Version::MldV2);
    assert_eq!(sent[0].q.group, Some(g));
    assert_eq!(sent[0].q.source, fam.own(), "link-local source");
    h.secs(12);
    assert!(h.port_state(g, P1).is_none());
    assert_eq!(h.s.counters().leaves.mld_v1, 1);
    assert_eq!(h.s.counters().reports.mld_v1, 1);
    assert_eq!(h.s.counters().reports.mld_v2, 1);
}

#[test]
fn b7_v2_switch_degrades_v3_reports_to_star_g_joins_and_leaves() {
    for fam in FAMS {
        let g = fam.group();
        let cfg = SnoopConfig {
            igmp_version: 2,
            mld_version: 1,
            ..SnoopConfig::default()
        };
        let mut h = H::new(cfg);
        h.secs(10);
        h.v3(P1, fam, ToExclude, g, &fam.srcs(&[1]));
        h.v3(P2, fam, IsInclude, g, &fam.srcs(&[2]));
        h.v3(P3, fam, Allow, fam.group_n(2), &fam.srcs(&[3]));
        for (port, group) in [(P1, g), (P2, g), (P3, fam.group_n(2))] {
            let st = h.port_state(group, port).expect("joined");
            assert_eq!(st.filter_mode, FilterMode::Exclude, "{fam:?}: (*,G)");
            assert!(st.sources.is_empty());
        }
        assert_eq!(h.ports_for(g, fam.src(1), P4), vec![P1, P2]);
        h.v3(P1, fam, Block, g, &fam.srcs(&[9]));
        assert_eq!(h.s.counters().ignored.block_without_sources, 1);
        h.take_sent();
        h.v3(P2, fam, IsInclude, g, &[]); // IS_IN{} = leave
        let sent = h.take_sent();
        assert_eq!(sent.len(), 1, "{fam:?}");
        assert_eq!(
            sent[0].q.version,
            fam.older(),
            "{fam:?}: our queries are v2 / MLDv1"
        );
        assert_eq!(sent[0].target, QueryTarget::Port(P2));
        h.secs(12);
        assert!(h.port_state(g, P2).is_none());
        assert!(h.port_state(g, P1).is_some());
    }
}
