//! Control and data forwarding: A17, B1, B3, C1–C3, C5, C7, C8, E2, E11,
//! `flood_unregistered`, disabled snooping.

use super::*;
use crate::igmp::config::{PortSnoopConfig, QuerierMode};
use RecordType::*;

const NONE: Vec<PortId> = Vec::new();

#[test]
fn b1_reports_and_leaves_go_to_router_ports_and_flood_reports_ports() {
    let flood = PortSnoopConfig {
        flood_reports: true,
        ..PortSnoopConfig::default()
    };
    let mut h = H::with_ports(SnoopConfig::default(), &[(P3, flood)]);
    h.query(P4, general_query(Version::IgmpV3, Fam::V4.router(1)));
    for fam in FAMS {
        let g = fam.group();
        assert_eq!(h.report(P1, fam.older(), g), ControlForward::RouterPorts);
        assert_eq!(h.leave(P1, fam.older(), g), ControlForward::RouterPorts);
        let r = h.s.handle_message(
            0,
            P1,
            fam.host(),
            &Message::ReportV3 {
                version: fam.v3(),
                records: vec![],
            },
            h.now,
        );
        assert_eq!(r, ControlForward::RouterPorts);
    }
    let mut out = vec![P2];
    h.s.report_egress(0, P1, h.now, &mut out);
    assert_eq!(
        out,
        vec![P3, P4],
        "router port + flood_reports port, not host port P2"
    );
    h.s.report_egress(0, P4, h.now, &mut out);
    assert_eq!(out, vec![P3], "never back to the ingress");
}

#[test]
fn b3_a17_queries_unknown_messages_and_mrd_are_flooded() {
    let mut h = H::ready(10);
    for fam in FAMS {
        assert_eq!(
            h.query(P4, general_query(fam.v3(), fam.router(1))),
            ControlForward::Flood
        );
        assert_eq!(h.msg(P1, fam.host(), Message::Other), ControlForward::Flood);
        assert_eq!(
            h.msg(P1, fam.router(7), Message::RouterAdvertisement),
            ControlForward::Flood
        );
    }
}

#[test]
fn c1_link_local_ipv4_groups_always_flooded_never_stored() {
    let mut h = H::ready(10);
    let mdns: IpAddr = "224.0.0.251".parse().expect("literal");
    h.report(P1, Version::IgmpV2, mdns);
    h.v3(P1, Fam::V4, IsExclude, mdns, &[]);
    assert!(h.s.state(h.now).groups.is_empty());
    assert_eq!(h.s.counters().ignored.unsnooped_group, 2);
    assert_eq!(
        h.egress(mdns, Fam::V4.src(1), P2),
        (McastEgress::Flood, NONE)
    );
}

#[test]
fn c2_registered_group_goes_to_members_and_router_ports() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.query(P3, general_query(fam.v3(), fam.router(1)));
        h.report(P2, fam.older(), g);
        assert_eq!(h.ports_for(g, fam.src(1), P1), vec![P2, P3], "{fam:?}");
    }
}

#[test]
fn c3_unregistered_goes_to_router_ports_and_flood_unregistered_ports() {
    for fam in FAMS {
        let g = fam.group();
        let flood = PortSnoopConfig {
            flood_unregistered: Some(true),
            ..PortSnoopConfig::default()
        };
        let mut h = H::with_ports(SnoopConfig::default(), &[(P4, flood)]);
        h.secs(10);
        assert_eq!(
            h.ports_for(g, fam.src(1), P1),
            vec![P4],
            "{fam:?}: no router yet"
        );
        h.query(P3, general_query(fam.v3(), fam.router(1)));
        assert_eq!(h.ports_for(g, fam.src(1), P1), vec![P3, P4], "{fam:?}");
        // Registered: flood_unregistered no longer applies.
        h.report(P2, fam.older(), g);
        assert_eq!(h.ports_for(g, fam.src(1), P1), vec![P2, P3], "{fam:?}");
    }
}

#[test]
fn c5_ipv6_all_nodes_flooded_other_link_scope_groups_snooped() {
    let mut h = H::ready(10);
    let all_nodes: IpAddr = "ff02::1".parse().expect("literal");
    let mdns: IpAddr = "ff02::fb".parse().expect("literal");
    h.report(P1, Version::MldV1, all_nodes);
    assert!(h.s.state(h.now).groups.is_empty());
    assert_eq!(
        h.egress(all_nodes, Fam::V6.src(1), P2).0,
        McastEgress::Flood
    );
    assert_eq!(h.ports_for(mdns, Fam::V6.src(1), P2), NONE);
    h.report(P3, Version::MldV1, mdns);
    assert_eq!(h.ports_for(mdns, Fam::V6.src(1), P2), vec![P3]);
}

#[test]
fn c7_never_the_ingress_and_one_copy_per_port() {
    for fam in FAMS {
        let g = fam.group();
        let flood = PortSnoopConfig {
            flood_unregistered: Some(true),
            ..PortSnoopConfig::default()
        };
        let mut h = H::with_ports(SnoopConfig::default(), &[(P3, flood)]);
        h.secs(10);
        h.query(P3, general_query(fam.v3(), fam.router(1)));
        h.report(P3, fam.older(), g); // router port and member
        h.report(P1, fam.older(), g);
        assert_eq!(h.ports_for(g, fam.src(1), P2), vec![P1, P3], "{fam:?}");
        assert_eq!(
            h.ports_for(g, fam.src(1), P1),
            vec![P3],
            "{fam:?}: not back to P1"
        );
        assert_eq!(
            h.ports_for(fam.group_n(9), fam.src(1), P2),
            vec![P3],
            "{fam:?}"
        );
    }
}

#[test]
fn c8_no_querier_means_flooding() {
    for fam in FAMS {
        let g = fam.group();
        let cfg = SnoopConfig {
            querier: QuerierMode::Off,
            ..SnoopConfig::default()
        };
        let mut h = H::new(cfg);
        h.secs(100);
        h.report(P2, fam.older(), g);
        assert_eq!(h.egress(g, fam.src(1), P1).0, McastEgress::Flood, "{fam:?}");
        // A foreign querier appears: pruning after its Max Response Time.
        h.query(P4, general_query(fam.v3(), fam.router(1)));
        h.ms(109_999);
        assert_eq!(h.egress(g, fam.src(1), P1).0, McastEgress::Flood, "{fam:?}");
        h.secs(110);
        assert_eq!(h.ports_for(g, fam.src(1), P1), vec![P2, P4], "{fam:?}");
        // It goes away: flooding again.
        h.secs(100 + 255);
        assert_eq!(h.egress(g, fam.src(1), P1).0, McastEgress::Flood, "{fam:?}");
    }
}

#[test]
fn c8_own_querier_prunes_only_after_query_response_interval() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::new(SnoopConfig::default());
        h.ms(9_999);
        assert_eq!(h.egress(g, fam.src(1), P1).0, McastEgress::Flood, "{fam:?}");
        h.secs(10);
        assert_eq!(h.ports_for(g, fam.src(1), P1), NONE, "{fam:?}");
    }
}

#[test]
fn c8_flood_unregistered_false_ports_skip_the_fallback_flood() {
    let off = PortSnoopConfig {
        flood_unregistered: Some(false),
        ..PortSnoopConfig::default()
    };
    let cfg = SnoopConfig {
        querier: QuerierMode::Off,
        ..SnoopConfig::default()
    };
    let mut h = H::with_ports(cfg, &[(P3, off.clone()), (P4, off)]);
    let fam = Fam::V4;
    let g = fam.group();
    h.report(P4, fam.older(), g);
    assert_eq!(
        h.egress(g, fam.src(1), P1),
        (McastEgress::Ports, vec![P2, P4])
    );
    assert_eq!(
        h.egress(fam.group_n(2), fam.src(1), P1),
        (McastEgress::Ports, vec![P2])
    );
}

#[test]
fn e2_include_and_exclude_forwarding_rules() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.v3(P1, fam, IsInclude, g, &fam.srcs(&[1]));
        h.v3(P2, fam, IsExclude, g, &fam.srcs(&[2]));
        assert_eq!(h.ports_for(g, fam.src(1), P4), vec![P1, P2], "{fam:?}");
        assert_eq!(
            h.ports_for(g, fam.src(2), P4),
            NONE,
            "{fam:?}: blocked on P2, not listed on P1"
        );
        assert_eq!(h.ports_for(g, fam.src(3), P4), vec![P2], "{fam:?}");
    }
}

#[test]
fn e11_exclude_port_receives_sg_traffic_alongside_include_port() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.v3(P1, fam, IsExclude, g, &[]);
        h.v3(P2, fam, IsInclude, g, &fam.srcs(&[1]));
        assert_eq!(h.ports_for(g, fam.src(1), P3), vec![P1, P2], "{fam:?}");
        assert_eq!(h.ports_for(g, fam.src(2), P3), vec![P1], "{fam:?}");
    }
}

#[test]
fn vlans_keep_separate_state() {
    let fam = Fam::V4;
    let g = fam.group();
    let mut h = H::ready(10);
    h.s.handle_message(
        7,
        P1,
        fam.host(),
        &Message::Report {
            version: Version::IgmpV2,
            group: g,
        },
        h.now,
    );
    assert!(
        h.s.state(h.now).queriers.iter().any(|q| q.vlan == 7),
        "created lazily"
    );
    assert_eq!(h.ports_for(g, fam.src(1), P2), NONE, "VLAN 0 has no member");
    let mut out = Vec::new();
    assert_eq!(
        h.s.data_egress(7, g, fam.src(1), P2, h.now, &mut out),
        McastEgress::Flood,
        "VLAN 7 querier just started"
    );
    h.secs(20);
    assert_eq!(
        h.s.data_egress(7, g, fam.src(1), P2, h.now, &mut out),
        McastEgress::Ports
    );
    assert_eq!(out, vec![P1]);
    let vlans: Vec<(u16, QueryTarget)> = h.take_sent().iter().map(|s| (s.vlan, s.target)).collect();
    assert!(
        vlans.contains(&(7, QueryTarget::AllPorts)),
        "VLAN 7 queries"
    );
}

#[test]
fn disabled_snooping_floods_everything_and_keeps_no_state() {
    let cfg = SnoopConfig {
        enabled: false,
        ..SnoopConfig::default()
    };
    let mut h = H::new(cfg);
    h.secs(100);
    let fam = Fam::V4;
    assert_eq!(
        h.report(P1, fam.older(), fam.group()),
        ControlForward::Flood
    );
    assert_eq!(h.egress(fam.group(), fam.src(1), P2).0, McastEgress::Flood);
    let st = h.s.state(h.now);
    assert!(st.groups.is_empty() && st.queriers.is_empty() && h.sent.is_empty());
    assert_eq!(h.s.poll_timeout(), None);
}
