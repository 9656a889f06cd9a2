//! Core forwarding tests on a virtual clock.

use super::*;
use crate::testing::frame;

const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];
const C: [u8; 6] = [2, 0, 0, 0, 0, 0xc];
const BCAST: [u8; 6] = [0xff; 6];

fn switch_with(n: usize) -> (Switch, Vec<PortId>) {
    let mut sw = Switch::new(SwitchConfig::default());
    let ports = (0..n)
        .map(|i| {
            sw.add_port(
                PortConfig::new(format!("p{i}"), PortKind::Tap),
                Instant::ZERO,
            )
            .unwrap()
        })
        .collect();
    (sw, ports)
}

fn drops(sw: &Switch, port: PortId, reason: DropReason) -> u64 {
    sw.ports.get(port).unwrap().counters.drops.get(reason)
}

#[test]
fn unknown_unicast_and_broadcast_flood_to_all_but_ingress() {
    let (mut sw, p) = switch_with(3);
    assert_eq!(
        sw.handle_frame(p[0], &frame(B, A), Instant::ZERO),
        &[p[1], p[2]]
    );
    assert_eq!(
        sw.handle_frame(p[1], &frame(BCAST, B), Instant::ZERO),
        &[p[0], p[2]]
    );
}

#[test]
fn known_unicast_goes_to_its_one_port() {
    let (mut sw, p) = switch_with(3);
    sw.handle_frame(p[1], &frame(BCAST, B), Instant::ZERO);
    assert_eq!(sw.handle_frame(p[0], &frame(B, A), Instant::ZERO), &[p[1]]);
    assert_eq!(sw.handle_frame(p[1], &frame(A, B), Instant::ZERO), &[p[0]]);
}

#[test]
fn never_back_out_the_ingress_port() {
    let (mut sw, p) = switch_with(2);
    sw.handle_frame(p[0], &frame(BCAST, A), Instant::ZERO);
    sw.handle_frame(p[0], &frame(BCAST, B), Instant::ZERO);
    assert!(sw
        .handle_frame(p[0], &frame(B, A), Instant::ZERO)
        .is_empty());
    assert_eq!(drops(&sw, p[0], DropReason::SameSegment), 1);
}

#[test]
fn multicast_and_broadcast_sources_are_dropped_and_not_learned() {
    let (mut sw, p) = switch_with(2);
    let mcast_src = [0x01, 0, 0x5e, 0, 0, 1];
    assert!(sw
        .handle_frame(p[0], &frame(B, mcast_src), Instant::ZERO)
        .is_empty());
    assert!(sw
        .handle_frame(p[0], &frame(B, BCAST), Instant::ZERO)
        .is_empty());
    assert!(sw
        .handle_frame(p[0], &frame(B, [0; 6]), Instant::ZERO)
        .is_empty());
    assert_eq!(drops(&sw, p[0], DropReason::InvalidSource), 3);
    assert!(sw.fdb().is_empty());
}

#[test]
fn reserved_link_local_groups_are_not_forwarded() {
    let (mut sw, p) = switch_with(3);
    for last in [0x00, 0x02, 0x0e, 0x0f] {
        let stp = [0x01, 0x80, 0xc2, 0, 0, last];
        assert!(sw
            .handle_frame(p[0], &frame(stp, A), Instant::ZERO)
            .is_empty());
    }
    assert_eq!(drops(&sw, p[0], DropReason::ReservedGroup), 4);
    let not_reserved = [0x01, 0x80, 0xc2, 0, 0, 0x10];
    assert_eq!(
        sw.handle_frame(p[0], &frame(not_reserved, A), Instant::ZERO)
            .len(),
        2
    );
}

#[test]
fn multicast_floods_until_snooping_decides() {
    let (mut sw, p) = switch_with(3);
    let mdns = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];
    assert_eq!(
        sw.handle_frame(p[2], &frame(mdns, C), Instant::ZERO),
        &[p[0], p[1]]
    );
}

#[test]
fn short_frames_are_dropped_and_counted() {
    let (mut sw, p) = switch_with(2);
    assert!(sw.handle_frame(p[0], &[0u8; 13], Instant::ZERO).is_empty());
    assert!(sw.handle_frame(p[0], &[], Instant::ZERO).is_empty());
    assert_eq!(drops(&sw, p[0], DropReason::TooShort), 2);
}

#[test]
fn learned_entries_age_out_on_the_virtual_clock() {
    let (mut sw, p) = switch_with(3);
    sw.handle_frame(p[1], &frame(BCAST, B), Instant::ZERO);
    let at_299 = Instant::from_secs(299);
    assert_eq!(sw.handle_frame(p[0], &frame(B, A), at_299), &[p[1]]);
    let at_301 = Instant::from_secs(301);
    while sw.poll_timeout().is_some_and(|t| t <= at_301) {
        let t = sw.poll_timeout().unwrap();
        sw.handle_timeout(t);
    }
    assert_eq!(sw.fdb().lookup(0, MacAddr(B), at_301), None);
    assert_eq!(
        sw.handle_frame(p[0], &frame(B, A), at_301),
        &[p[1], p[2]],
        "aged: floods again"
    );
}

#[test]
fn mac_move_redirects_traffic_at_once() {
    let (mut sw, p) = switch_with(3);
    sw.handle_frame(p[1], &frame(BCAST, B), Instant::ZERO);
    sw.handle_frame(p[2], &frame(BCAST, B), Instant::from_secs(1));
    assert_eq!(
        sw.handle_frame(p[0], &frame(B, A), Instant::from_secs(1)),
        &[p[2]]
    );
}

#[test]
fn full_fdb_keeps_forwarding_by_flooding() {
    let mut sw = Switch::new(SwitchConfig {
        fdb: FdbConfig {
            max_entries: 1,
            ..FdbConfig::default()
        },
        ..SwitchConfig::default()
    });
    let p: Vec<_> = (0..3)
        .map(|i| {
            sw.add_port(
                PortConfig::new(format!("p{i}"), PortKind::Tap),
                Instant::ZERO,
            )
            .unwrap()
        })
        .collect();
    sw.handle_frame(p[0], &frame(BCAST, A), Instant::ZERO);
    sw.handle_frame(p[1], &frame(BCAST, B), Instant::ZERO);
    assert_eq!(sw.fdb().counters().refused_table_full, 1);
    assert_eq!(
        sw.handle_frame(p[0], &frame(B, A), Instant::ZERO),
        &[p[1], p[2]]
    );
    assert_eq!(sw.handle_frame(p[1], &frame(A, B), Instant::ZERO), &[p[0]]);
}

#[test]
fn down_ports_get_nothing_and_forget_their_stations() {
    let (mut sw, p) = switch_with(3);
    sw.handle_frame(p[1], &frame(BCAST, B), Instant::ZERO);
    sw.set_port_up(p[1], false, Instant::ZERO);
    assert_eq!(sw.handle_frame(p[0], &frame(B, A), Instant::ZERO), &[p[2]]);
    assert!(sw
        .handle_frame(p[1], &frame(A, B), Instant::ZERO)
        .is_empty());
    assert_eq!(drops(&sw, p[1], DropReason::PortDown), 1);
}

#[test]
fn idle_ports_expire_with_an_event_and_their_fdb_entries() {
    let mut sw = Switch::new(SwitchConfig::default());
    let hub = sw
        .add_port(PortConfig::new("tap", PortKind::Tap), Instant::ZERO)
        .unwrap();
    let mut cfg = PortConfig::new("10.0.0.2", PortKind::Peer);
    cfg.idle_timeout = Some(Duration::from_secs(30));
    let peer = sw.add_port(cfg, Instant::ZERO).unwrap();
    sw.handle_frame(peer, &frame(BCAST, B), Instant::from_secs(10));
    let mut t = Instant::ZERO;
    while let Some(next) = sw.poll_timeout().filter(|n| *n <= Instant::from_secs(39)) {
        t = next;
        sw.handle_timeout(t);
    }
    assert!(t >= Instant::from_secs(39));
    assert_eq!(sw.poll_event(), None, "still within its idle timeout");
    sw.handle_timeout(Instant::from_secs(40));
    assert_eq!(
        sw.poll_event(),
        Some(Event::PortExpired {
            port: peer,
            name: "10.0.0.2".into()
        })
    );
    assert_eq!(sw.fdb().lookup(0, MacAddr(B), Instant::from_secs(40)), None);
    assert_eq!(
        sw.handle_frame(hub, &frame(B, A), Instant::from_secs(40)),
        &[] as &[PortId]
    );
}

#[test]
fn duplicate_port_names_are_refused() {
    let (mut sw, _) = switch_with(1);
    let err = sw
        .add_port(PortConfig::new("p0", PortKind::Tap), Instant::ZERO)
        .unwrap_err();
    assert_eq!(err, SwitchError::DuplicatePort("p0".into()));
}

#[test]
fn state_names_ports_and_counts_traffic() {
    let (mut sw, p) = switch_with(2);
    sw.handle_frame(p[0], &frame(BCAST, A), Instant::ZERO);
    let st = sw.state(Instant::from_secs(2));
    assert_eq!(st.fdb.len(), 1);
    assert_eq!((st.fdb[0].port.as_str(), st.fdb[0].age_ms), ("p0", 2000));
    assert_eq!(st.ports[0].counters.rx_frames, 1);
    assert_eq!(st.ports[1].counters.tx_frames, 1);
}
