//! Router ports (B2): learning from queries, PIM hellos and MRD
//! advertisements, expiry after OQPI, static always / never.

use super::*;
use crate::igmp::config::{PortSnoopConfig, RouterPortMode};
use crate::igmp::router_ports::RouterPortState;

fn learned(h: &H) -> Vec<(Option<u16>, PortId, Option<u64>, bool)> {
    h.s.state(h.now)
        .router_ports
        .into_iter()
        .map(
            |RouterPortState {
                 vlan,
                 port,
                 expires_ms,
                 is_static,
             }| (vlan, port, expires_ms, is_static),
        )
        .collect()
}

#[test]
fn b2_query_with_source_makes_router_port_until_oqpi() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.query(P3, general_query(fam.v3(), fam.router(1)));
        assert_eq!(
            learned(&h),
            vec![(Some(0), P3, Some(255_000), false)],
            "{fam:?}"
        );
        assert_eq!(h.ports_for(g, fam.src(1), P1), vec![P3]);
        h.ms(264_999);
        assert_eq!(h.ports_for(g, fam.src(1), P1), vec![P3]);
        h.secs(265);
        assert!(learned(&h).is_empty(), "{fam:?}: expired after OQPI");
        assert_eq!(h.ports_for(g, fam.src(1), P1), Vec::<PortId>::new());
    }
}

#[test]
fn b2_query_from_unspecified_source_makes_no_router_port() {
    let mut h = H::ready(10);
    h.query(P3, general_query(Version::IgmpV3, Fam::V4.unspecified()));
    assert!(learned(&h).is_empty());
    assert_eq!(
        h.ports_for(Fam::V4.group(), Fam::V4.src(1), P1),
        Vec::<PortId>::new()
    );
}

#[test]
fn b2_pim_hello_and_mrd_advertisement_make_router_ports() {
    let mut h = H::ready(10);
    h.s.pim_hello_seen(0, P2, h.now);
    h.msg(P3, Fam::V6.router(1), Message::RouterAdvertisement);
    assert_eq!(
        learned(&h),
        vec![
            (Some(0), P2, Some(255_000), false),
            (Some(0), P3, Some(255_000), false)
        ]
    );
}

#[test]
fn b2_static_always_and_never_override_learning() {
    let always = PortSnoopConfig {
        mrouter: RouterPortMode::Always,
        ..PortSnoopConfig::default()
    };
    let never = PortSnoopConfig {
        mrouter: RouterPortMode::Never,
        ..PortSnoopConfig::default()
    };
    let mut h = H::with_ports(SnoopConfig::default(), &[(P2, always), (P3, never)]);
    h.secs(10);
    h.query(P3, general_query(Version::IgmpV3, Fam::V4.router(1)));
    assert_eq!(h.s.counters().ignored.router_on_never_port, 1);
    assert_eq!(learned(&h), vec![(None, P2, None, true)]);
    assert_eq!(h.ports_for(Fam::V4.group(), Fam::V4.src(1), P1), vec![P2]);
    h.secs(10_000);
    assert_eq!(
        h.ports_for(Fam::V4.group(), Fam::V4.src(1), P1),
        vec![P2],
        "static never expires"
    );
    // Switching a learned port to never forgets it.
    h.query(P4, general_query(Version::IgmpV3, Fam::V4.router(2)));
    assert_eq!(
        h.ports_for(Fam::V4.group(), Fam::V4.src(1), P1),
        vec![P2, P4]
    );
    let never = PortSnoopConfig {
        mrouter: RouterPortMode::Never,
        ..PortSnoopConfig::default()
    };
    h.s.add_port(P4, never, h.now);
    assert_eq!(h.ports_for(Fam::V4.group(), Fam::V4.src(1), P1), vec![P2]);
}
