//! Multicast through the core, frame in and frames out: validation, control
//! forwarding, pruning and the querier's own frames (RFC 4541; checklist ids in names).

use super::*;
use crate::igmp::config::RouterPortMode;
use crate::igmp::repr::{Message, Version};
use crate::testing::{udp_to, v2_report};
use std::net::Ipv4Addr;

fn switch(n: usize, router: Option<usize>) -> (Switch, Vec<PortId>) {
    let mut sw = Switch::new(SwitchConfig::default());
    let ports = (0..n)
        .map(|i| {
            let mut cfg = PortConfig::new(format!("p{i}"), PortKind::Tap);
            if router == Some(i) {
                cfg.snoop.mrouter = RouterPortMode::Always;
            }
            sw.add_port(cfg, Instant::ZERO).unwrap()
        })
        .collect();
    (sw, ports)
}

/// Run every timer up to `t` and drain the frames the switch originates.
fn advance(sw: &mut Switch, t: Instant) -> Vec<Transmit> {
    let mut out = Vec::new();
    while let Some(due) = sw.poll_timeout().filter(|d| *d <= t) {
        sw.handle_timeout(due);
        out.extend(std::iter::from_fn(|| sw.poll_transmit()));
    }
    out.extend(std::iter::from_fn(|| sw.poll_transmit()));
    out
}

#[test]
fn a1_bad_igmp_checksum_is_dropped_counted_and_learns_nothing() {
    let (mut sw, p) = switch(3, None);
    let group = Ipv4Addr::new(239, 1, 1, 1);
    assert!(sw
        .handle_frame(p[0], &v2_report(group, true), Instant::ZERO)
        .is_empty());
    assert_eq!(
        sw.ports
            .get(p[0])
            .unwrap()
            .counters
            .drops
            .get(DropReason::BadIgmpChecksum),
        1
    );
    assert!(sw.state(Instant::ZERO).multicast.groups.is_empty());
}

#[test]
fn b1_reports_go_only_to_router_ports_never_to_other_hosts() {
    let (mut sw, p) = switch(4, Some(3));
    let group = Ipv4Addr::new(239, 1, 1, 1);
    assert_eq!(
        sw.handle_frame(p[0], &v2_report(group, false), Instant::ZERO),
        &[p[3]]
    );
    let groups = sw.state(Instant::ZERO).multicast.groups;
    assert_eq!((groups.len(), groups[0].group), (1, group.into()));
}

#[test]
fn c8_then_c2_c3_data_floods_until_the_querier_is_up_then_is_pruned() {
    let (mut sw, p) = switch(4, None);
    let group = Ipv4Addr::new(239, 1, 1, 1);
    let unregistered = Ipv4Addr::new(239, 9, 9, 9);
    sw.handle_frame(p[1], &v2_report(group, false), Instant::ZERO);
    // No querier has run yet: everything floods (C8).
    assert_eq!(
        sw.handle_frame(p[0], &udp_to(group), Instant::ZERO).len(),
        3
    );
    // Our querier starts at once; pruning begins a query response interval (10 s) later.
    let queries = advance(&mut sw, Instant::from_secs(11));
    assert!(!queries.is_empty());
    let t = Instant::from_secs(11);
    assert_eq!(
        sw.handle_frame(p[0], &udp_to(group), t),
        &[p[1]],
        "registered: members only (C2)"
    );
    assert!(
        sw.handle_frame(p[0], &udp_to(unregistered), t).is_empty(),
        "unregistered: no router ports (C3)"
    );
    assert_eq!(
        sw.ports
            .get(p[0])
            .unwrap()
            .counters
            .drops
            .get(DropReason::Pruned),
        1
    );
}

#[test]
fn c1_link_local_groups_are_always_flooded() {
    let (mut sw, p) = switch(3, None);
    advance(&mut sw, Instant::from_secs(11));
    let mdns = Ipv4Addr::new(224, 0, 0, 251);
    assert_eq!(
        sw.handle_frame(p[0], &udp_to(mdns), Instant::from_secs(11))
            .len(),
        2
    );
}

#[test]
fn g1_our_general_queries_leave_on_every_port_and_parse_back() {
    let (mut sw, p) = switch(3, None);
    let sent = advance(&mut sw, Instant::ZERO);
    let v4 = sent
        .iter()
        .find(|t| t.frame.get(12..14) == Some(&[0x08, 0x00][..]))
        .expect("an IGMP general query at start");
    assert_eq!(v4.ports, p);
    let eth = EthernetFrame::new_checked(&v4.frame).unwrap();
    assert_eq!(eth.dst().0, [0x01, 0x00, 0x5e, 0, 0, 1]);
    assert_eq!(eth.src(), DEFAULT_MAC);
    match crate::igmp::wire::parse_ipv4(eth.payload()) {
        Ok(Some(Message::Query(q))) => {
            assert_eq!((q.version, q.group), (Version::IgmpV3, None));
            assert_eq!(q.max_response, Duration::from_secs(10));
        }
        other => panic!("not a general query: {other:?}"),
    }
    assert!(
        sent.iter()
            .any(|t| t.frame.get(12..14) == Some(&[0x86, 0xdd][..])),
        "no MLD query"
    );
    assert_eq!(
        sw.ports.get(p[0]).unwrap().counters.tx_frames,
        sent.len() as u64
    );
}

#[test]
fn i4_a_port_added_later_is_queried_at_once_but_startup_sends_no_duplicates() {
    let (mut sw, _) = switch(2, None);
    let startup = advance(&mut sw, Instant::ZERO);
    assert_eq!(
        startup.len(),
        2,
        "one IGMP and one MLD general query at start, no per-port copies"
    );
    advance(&mut sw, Instant::from_secs(5));
    let late = sw
        .add_port(
            PortConfig::new("late", PortKind::Peer),
            Instant::from_secs(5),
        )
        .unwrap();
    let queries: Vec<Transmit> = std::iter::from_fn(|| sw.poll_transmit()).collect();
    assert_eq!(
        queries.len(),
        2,
        "an IGMP and an MLD query for the new port"
    );
    assert!(queries.iter().all(|t| t.ports == [late]));
}

#[test]
fn reconfigure_changes_querier_and_timers_and_keeps_learned_groups() {
    let (mut sw, p) = switch(3, None);
    advance(&mut sw, Instant::ZERO);
    sw.handle_frame(
        p[1],
        &v2_report(Ipv4Addr::new(239, 1, 1, 1), false),
        Instant::ZERO,
    );
    let mut cfg = SwitchConfig::default();
    cfg.snoop.querier = crate::igmp::config::QuerierMode::Off;
    sw.reconfigure(cfg.clone(), Instant::from_secs(1));
    assert!(
        advance(&mut sw, Instant::from_secs(200)).is_empty(),
        "querier off sends nothing"
    );
    assert_eq!(
        sw.state(Instant::from_secs(200)).multicast.groups.len(),
        1,
        "groups survive a reload"
    );
    cfg.snoop.querier = crate::igmp::config::QuerierMode::Auto;
    cfg.snoop.query_interval = Duration::from_secs(20);
    sw.reconfigure(cfg, Instant::from_secs(200));
    let sent = advance(&mut sw, Instant::from_secs(241));
    let v4 = sent
        .iter()
        .filter(|t| t.frame.get(12..14) == Some(&[0x08, 0x00][..]))
        .count();
    assert!(
        v4 >= 3,
        "querier back on with a 20 s interval: {v4} IGMP queries in 41 s"
    );
}

#[test]
fn static_mdb_entries_receive_a_group_whatever_snooping_says() {
    let (mut sw, p) = switch(3, None);
    advance(&mut sw, Instant::from_secs(11));
    let group = Ipv4Addr::new(239, 7, 7, 7);
    let t = Instant::from_secs(11);
    assert!(
        sw.handle_frame(p[0], &udp_to(group), t).is_empty(),
        "unregistered: pruned"
    );
    sw.add_static_mdb(0, group.into(), p[2]).unwrap();
    assert_eq!(sw.handle_frame(p[0], &udp_to(group), t), &[p[2]]);
    let mdb = sw.mdb(t);
    assert_eq!(
        (mdb.groups.len(), mdb.groups[0].reason),
        (1, Reason::Static)
    );
    assert!(sw
        .add_static_mdb(0, Ipv4Addr::new(10, 0, 0, 1).into(), p[2])
        .is_err());
    assert!(sw.remove_static_mdb(0, group.into(), p[2]));
    assert!(sw.handle_frame(p[0], &udp_to(group), t).is_empty());
}

#[test]
fn spared_copies_are_counted_per_port_and_group_and_stop_while_a_port_is_down() {
    let (mut sw, p) = switch(4, None);
    let group = Ipv4Addr::new(239, 1, 1, 1);
    sw.handle_frame(p[1], &v2_report(group, false), Instant::ZERO);
    let t = Instant::from_secs(20); // our querier has been up for its response interval
    advance(&mut sw, t);
    for _ in 0..3 {
        assert_eq!(sw.handle_frame(p[0], &udp_to(group), t), &[p[1]]);
    }
    sw.set_port_up(p[3], false, t);
    for _ in 0..2 {
        sw.handle_frame(p[0], &udp_to(group), t);
    }
    let spared: Vec<u64> = p.iter().map(|id| sw.spared(*id)).collect();
    assert_eq!(
        spared,
        vec![0, 0, 5, 3],
        "sender and member never; p3 only while up"
    );
    let g = &sw.state(t).multicast.groups[0];
    assert_eq!(g.pruned_copies, 3 * 2 + 2);
    sw.set_port_up(p[3], true, t);
    sw.handle_frame(p[0], &udp_to(group), t);
    assert_eq!(sw.spared(p[3]), 4, "counting goes on from where it stopped");
}
