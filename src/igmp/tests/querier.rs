//! The querier: D3 election, D4 startup, E10 adoption, F4/B5 version
//! mismatch, B6 proxy source, G1/G3 query fields, G5 MLD without
//! link-local, I4 port-up query, A7 bad MLD query source.

use super::*;
use crate::igmp::config::QuerierMode;
use crate::igmp::membership::Role;

fn times(sent: &[Sent]) -> Vec<u64> {
    sent.iter()
        .map(|s| s.at.since_origin().as_millis() as u64)
        .collect()
}

#[test]
fn d4_startup_burst_count_and_spacing_then_query_interval() {
    let cfg = SnoopConfig {
        startup_query_interval: Some(Duration::from_secs(1)),
        ..SnoopConfig::default()
    };
    let mut h = H::new(cfg);
    h.secs(300);
    for fam in FAMS {
        let sent = h.sent_of(fam);
        assert_eq!(times(&sent), vec![0, 1_000, 126_000, 251_000], "{fam:?}");
        assert!(sent
            .iter()
            .all(|s| s.target == QueryTarget::AllPorts && s.q.group.is_none()));
    }
}

#[test]
fn d4_default_startup_interval_is_a_quarter_of_query_interval() {
    let mut h = H::new(SnoopConfig::default());
    h.secs(200);
    assert_eq!(times(&h.sent_of(Fam::V4)), vec![0, 31_250, 156_250]);
}

#[test]
fn g1_g3_b6_general_query_fields() {
    let h = H::new(SnoopConfig::default());
    for fam in FAMS {
        let sent = h.sent_of(fam);
        assert_eq!(sent.len(), 1, "{fam:?}");
        let q = &sent[0].q;
        assert_eq!(q.version, fam.v3());
        assert_eq!(q.source, fam.own(), "B6: 0.0.0.0 / link-local");
        assert_eq!(q.group, None);
        assert!(q.sources.is_empty());
        assert_eq!(q.max_response, Duration::from_secs(10), "MaxResp = QRI");
        assert_eq!(q.robustness, 2, "QRV");
        assert_eq!(q.query_interval, Duration::from_secs(125), "QQIC");
        assert!(!q.suppress_router_side);
    }
}

#[test]
fn g3_qrv_is_zero_when_robustness_exceeds_seven() {
    let cfg = SnoopConfig {
        robustness: 8,
        ..SnoopConfig::default()
    };
    let h = H::new(cfg);
    assert_eq!(h.sent_of(Fam::V4)[0].q.robustness, 0);
}

/// We are 10.0.0.2 / fe80::2: router 1 beats us, router 3 does not.
fn own_address_2() -> SnoopConfig {
    SnoopConfig {
        querier_address_v4: Some(Ipv4Addr::new(10, 0, 0, 2)),
        querier_address_v6: Some("fe80::2".parse().expect("literal")),
        ..SnoopConfig::default()
    }
}

#[test]
fn d3_loses_to_lower_address_and_resumes_after_oqpi_with_immediate_query() {
    for fam in FAMS {
        let mut h = H::new(own_address_2());
        h.secs(5);
        h.take_sent();
        h.query(P4, general_query(fam.v3(), fam.router(1)));
        assert_eq!(h.querier(fam).role, Role::NonQuerier, "{fam:?}");
        assert_eq!(h.querier(fam).elected, Some(fam.router(1)));
        h.ms(259_999);
        assert!(
            h.sent_of(fam).is_empty(),
            "{fam:?}: silent while the other querier is present"
        );
        h.secs(260);
        let sent = h.sent_of(fam);
        assert_eq!(
            times(&sent),
            vec![260_000],
            "{fam:?}: resumes at once after OQPI"
        );
        assert_eq!(h.querier(fam).role, Role::Querier);
        h.secs(400);
        assert_eq!(
            times(&h.sent_of(fam)),
            vec![260_000, 385_000],
            "{fam:?}: then every QI"
        );
    }
}

#[test]
fn d3_stays_querier_against_higher_address() {
    for fam in FAMS {
        let mut h = H::new(own_address_2());
        h.secs(5);
        h.query(P4, general_query(fam.v3(), fam.router(3)));
        assert_eq!(h.querier(fam).role, Role::Querier, "{fam:?}");
        assert_eq!(h.querier(fam).other_querier, None);
        h.secs(32);
        assert_eq!(
            times(&h.sent_of(fam)),
            vec![0, 31_250],
            "{fam:?}: startup continues"
        );
    }
}

#[test]
fn d3_unspecified_address_yields_to_any_real_querier() {
    let mut h = H::new(SnoopConfig::default());
    h.secs(5);
    h.query(
        P4,
        general_query(Version::IgmpV3, "192.168.255.254".parse().expect("literal")),
    );
    assert_eq!(h.querier(Fam::V4).role, Role::NonQuerier);
}

#[test]
fn d3_proxy_querier_with_real_address_does_not_yield_to_unspecified() {
    let cfg = SnoopConfig {
        querier_address_v4: Some(Ipv4Addr::new(10, 0, 0, 9)),
        ..SnoopConfig::default()
    };
    let mut h = H::new(cfg);
    h.secs(5);
    h.query(P4, general_query(Version::IgmpV3, Fam::V4.unspecified()));
    assert_eq!(h.querier(Fam::V4).role, Role::Querier);
}

#[test]
fn d3_on_never_yields() {
    for fam in FAMS {
        let cfg = SnoopConfig {
            querier: QuerierMode::On,
            ..SnoopConfig::default()
        };
        let mut h = H::new(cfg);
        h.secs(5);
        h.query(P4, general_query(fam.v3(), fam.router(1)));
        assert_eq!(h.querier(fam).role, Role::Querier, "{fam:?}");
        assert_eq!(h.querier(fam).other_querier, Some(fam.router(1)));
        h.secs(32);
        assert_eq!(times(&h.sent_of(fam)), vec![0, 31_250], "{fam:?}");
    }
}

#[test]
fn d3_off_never_sends() {
    let cfg = SnoopConfig {
        querier: QuerierMode::Off,
        ..SnoopConfig::default()
    };
    let mut h = H::new(cfg);
    h.port_up(P2);
    h.secs(1000);
    assert!(h.sent.is_empty());
    assert_eq!(h.querier(Fam::V4).role, Role::Off);
    // A foreign querier makes us a non-querier (we listen to it).
    h.query(P4, general_query(Version::IgmpV3, Fam::V4.unspecified()));
    assert_eq!(
        h.querier(Fam::V4).role,
        Role::NonQuerier,
        "off yields to anyone, 0.0.0.0 included"
    );
    h.secs(2000);
    assert!(h.sent.is_empty());
}

#[test]
fn e10_adopts_qrv_and_qqic_from_elected_querier() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        let mut q = general_query(fam.v3(), fam.router(1));
        q.robustness = 3;
        q.query_interval = Duration::from_secs(60);
        h.query(P4, q);
        let st = h.querier(fam);
        assert_eq!(st.adopted_robustness, Some(3), "{fam:?}");
        assert_eq!(st.adopted_query_interval_ms, Some(60_000));
        assert_eq!(
            st.group_membership_interval_ms, 190_000,
            "GMI = 3 × 60 + 10"
        );
        assert_eq!(
            st.other_querier_timer_ms,
            Some(185_000),
            "OQPI = 3 × 60 + 5"
        );
        h.report(P1, fam.older(), g);
        assert_eq!(
            h.port_state(g, P1).expect("joined").group_timer_ms,
            Some(190_000)
        );
        // When the querier goes away we resume with our own values.
        h.secs(10 + 185);
        let st = h.querier(fam);
        assert_eq!(st.role, Role::Querier);
        assert_eq!(st.adopted_robustness, None);
        assert_eq!(st.group_membership_interval_ms, 260_000);
    }
}

#[test]
fn e10_zero_qrv_and_qqic_are_not_adopted() {
    let mut h = H::ready(10);
    let mut q = general_query(Version::IgmpV3, Fam::V4.router(1));
    q.robustness = 0;
    q.query_interval = Duration::ZERO;
    h.query(P4, q);
    let st = h.querier(Fam::V4);
    assert_eq!(st.adopted_robustness, None);
    assert_eq!(st.adopted_query_interval_ms, None);
    assert_eq!(st.group_membership_interval_ms, 260_000);
}

#[test]
fn f4_older_version_querier_is_counted() {
    let mut h = H::ready(10);
    h.query(P4, general_query(Version::IgmpV2, Fam::V4.router(1)));
    h.query(P4, general_query(Version::MldV1, Fam::V6.router(1)));
    assert_eq!(h.s.counters().older_version_querier, 2);
    assert_eq!(h.s.counters().queries_received.igmp_v2, 1);
    assert_eq!(h.s.counters().queries_received.mld_v1, 1);
}

#[test]
fn b5_v2_switch_never_queries_into_an_elected_v3_querier() {
    let cfg = SnoopConfig {
        igmp_version: 2,
        ..SnoopConfig::default()
    };
    let mut h = H::new(cfg);
    h.secs(10);
    h.query(P4, general_query(Version::IgmpV3, Fam::V4.router(1)));
    assert_eq!(h.s.counters().newer_version_querier, 1);
    h.take_sent();
    h.port_up(P2);
    h.secs(200);
    assert!(
        h.sent_of(Fam::V4).is_empty(),
        "no IGMPv2 query into the v3 network"
    );
}

#[test]
fn i4_port_up_queues_general_query_for_that_port_when_querier() {
    let mut h = H::ready(10);
    h.port_up(P2);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 2, "one per family");
    for s in &sent {
        assert_eq!(s.target, QueryTarget::Port(P2));
        assert_eq!(s.q.group, None);
        assert_eq!(s.at, Instant::from_secs(10));
    }
    // Not when another router is the querier.
    h.query(P4, general_query(Version::IgmpV3, Fam::V4.router(1)));
    h.port_up(P2);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].q.version, Version::MldV2);
}

#[test]
fn g5_without_link_local_no_mld_queries_and_ipv6_is_flooded() {
    let mut s = Snooper::new(SnoopConfig::default(), Ipv6Addr::UNSPECIFIED);
    s.handle_timeout(Instant::ZERO);
    let mut versions = Vec::new();
    while let Some((_, _, q)) = s.poll_query() {
        versions.push(q.version);
    }
    assert_eq!(versions, vec![Version::IgmpV3]);
    let mut out = Vec::new();
    let t = Instant::from_secs(100);
    s.handle_timeout(t);
    let g = Fam::V6.group();
    assert_eq!(
        s.data_egress(0, g, Fam::V6.src(1), P1, t, &mut out),
        McastEgress::Flood
    );
    let st = s.state(t);
    let q6 = st
        .queriers
        .iter()
        .find(|q| q.family == Family::V6)
        .expect("v6 querier");
    assert_eq!(q6.role, Role::Off);
    assert_eq!(q6.own_address, None);
}

#[test]
fn a7_mld_query_from_non_link_local_source_is_dropped_and_ignored() {
    let mut h = H::ready(10);
    for src in ["2001:db8::1", "::"] {
        let q = general_query(Version::MldV2, src.parse().expect("literal"));
        assert_eq!(h.query(P4, q), ControlForward::Drop);
    }
    assert_eq!(h.s.counters().ignored.mld_query_not_link_local, 2);
    assert_eq!(h.querier(Fam::V6).role, Role::Querier);
    assert!(h.s.state(h.now).router_ports.is_empty());
}

#[test]
fn querier_state_dump_is_deterministic_json() {
    let mut h = H::ready(10);
    h.report(P1, Version::IgmpV2, Fam::V4.group());
    h.v3(
        P2,
        Fam::V6,
        RecordType::IsInclude,
        Fam::V6.group(),
        &Fam::V6.srcs(&[2, 1]),
    );
    h.query(P4, general_query(Version::IgmpV3, Fam::V4.router(1)));
    let a = serde_json::to_string(&h.s.state(h.now)).expect("serializes");
    let b = serde_json::to_string(&h.s.state(h.now)).expect("serializes");
    assert_eq!(a, b);
    let v: serde_json::Value = serde_json::from_str(&a).expect("json");
    assert_eq!(v["groups"][0]["group"], "239.1.0.1");
    assert_eq!(v["groups"][0]["ports"][0]["filter_mode"], "EXCLUDE");
    assert_eq!(v["groups"][0]["ports"][0]["group_timer_ms"], 260_000);
    assert_eq!(
        v["groups"][1]["ports"][0]["sources"][0]["source"],
        "2001:db8::1"
    );
    assert_eq!(v["queriers"][0]["role"], "non_querier");
    assert_eq!(v["queriers"][0]["elected"], "10.0.0.1");
    assert_eq!(v["router_ports"][0]["port"], 4);
    assert_eq!(v["counters"]["reports"]["igmp_v2"], 1);
}
