//! VLAN modes in the core: isolation, trunk rules, tagging per egress port,
//! per-VLAN learning and per-VLAN queries, on the virtual clock.

use super::*;
use crate::testing::frame;

const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];
const BCAST: [u8; 6] = [0xff; 6];

fn tagged(dst: [u8; 6], src: [u8; 6], vid: u16) -> Vec<u8> {
    let mut f = Vec::new();
    crate::packet::ethernet::retag_into(&frame(dst, src), Some(vid), &mut f).unwrap();
    f
}

fn trunk(allowed: &[u16], native: Option<u16>) -> VlanMode {
    VlanMode::Trunk {
        allowed: Box::new(allowed.iter().copied().collect()),
        native,
        native_tagged: false,
    }
}

/// The lab of the VLAN example: a10, b10 (access 10), c20 (access 20), trunk (10, 20, native 1).
fn lab() -> (Switch, [PortId; 4]) {
    lab_with(SwitchConfig::default())
}

fn lab_with(cfg: SwitchConfig) -> (Switch, [PortId; 4]) {
    let mut sw = Switch::new(cfg);
    let modes = [
        ("a10", VlanMode::Access(10)),
        ("b10", VlanMode::Access(10)),
        ("c20", VlanMode::Access(20)),
        ("trunk", trunk(&[10, 20], Some(1))),
    ];
    let ports = modes.map(|(name, mode)| {
        let mut cfg = PortConfig::new(name, PortKind::Tap);
        cfg.vlan = mode;
        sw.add_port(cfg, Instant::ZERO).unwrap()
    });
    (sw, ports)
}

fn drops(sw: &Switch, port: PortId, reason: DropReason) -> u64 {
    sw.ports.get(port).unwrap().counters.drops.get(reason)
}

#[test]
fn a_broadcast_in_vlan_10_reaches_vlan_10_and_the_trunk_tagged_never_vlan_20() {
    let (mut sw, [a, b, _c, t]) = lab();
    assert_eq!(sw.handle_frame(a, &frame(BCAST, A), Instant::ZERO), &[b, t]);
    assert_eq!(sw.last_vlan(), (10, None));
    assert_eq!(sw.retag_for(b), Retag::Keep);
    assert_eq!(sw.retag_for(t), Retag::Tag(10));
}

#[test]
fn a_tagged_frame_from_the_trunk_reaches_its_vlan_untagged() {
    let (mut sw, [a, b, c, t]) = lab();
    assert_eq!(
        sw.handle_frame(t, &tagged(BCAST, A, 20), Instant::ZERO),
        &[c]
    );
    assert_eq!(sw.retag_for(c), Retag::Untag);
    assert_eq!(
        sw.handle_frame(t, &tagged(BCAST, B, 10), Instant::ZERO),
        &[a, b]
    );
    // Untagged on the trunk is the native VLAN 1, which no access port carries.
    assert!(sw
        .handle_frame(t, &frame(BCAST, A), Instant::ZERO)
        .is_empty());
    assert_eq!(drops(&sw, t, DropReason::NoEgress), 1);
}

#[test]
fn trunk_and_access_rules_drop_and_count_what_does_not_belong() {
    let (mut sw, [a, _b, _c, t]) = lab();
    assert!(sw
        .handle_frame(a, &tagged(BCAST, A, 10), Instant::ZERO)
        .is_empty());
    assert_eq!(drops(&sw, a, DropReason::VlanTaggedOnAccess), 1);
    assert!(sw
        .handle_frame(t, &tagged(BCAST, A, 30), Instant::ZERO)
        .is_empty());
    assert_eq!(drops(&sw, t, DropReason::VlanNotAllowed), 1);
    // A priority-tagged frame (VID 0) on an access port is untagged traffic.
    assert!(!sw
        .handle_frame(a, &tagged(BCAST, A, 0), Instant::ZERO)
        .is_empty());
}

#[test]
fn the_same_mac_in_two_vlans_is_two_entries_and_neither_moves_the_other() {
    let (mut sw, [a, _b, c, t]) = lab();
    sw.handle_frame(a, &frame(BCAST, A), Instant::ZERO);
    sw.handle_frame(c, &frame(BCAST, A), Instant::ZERO);
    assert_eq!(sw.fdb().lookup(10, MacAddr(A), Instant::ZERO), Some(a));
    assert_eq!(sw.fdb().lookup(20, MacAddr(A), Instant::ZERO), Some(c));
    // The trunk answers A in VLAN 20: only c gets it.
    assert_eq!(sw.handle_frame(t, &tagged(A, B, 20), Instant::ZERO), &[c]);
}

#[test]
fn moving_a_port_to_another_vlan_forgets_what_it_learned() {
    let (mut sw, [a, b, _c, _t]) = lab();
    sw.handle_frame(a, &frame(BCAST, A), Instant::ZERO);
    sw.set_port_vlan(a, VlanMode::Access(20), Instant::ZERO);
    assert_eq!(sw.fdb().lookup(10, MacAddr(A), Instant::ZERO), None);
    // b's unicast to A now floods VLAN 10 only: a is not in it any more.
    assert_eq!(
        sw.handle_frame(b, &frame(A, B), Instant::ZERO),
        &[PortId(3)]
    );
}

#[test]
fn each_vlan_has_its_own_querier_and_queries_go_tagged_on_trunks_only() {
    let (mut sw, [a, b, c, t]) = lab();
    sw.handle_timeout(Instant::ZERO);
    let mut per_vlan: std::collections::BTreeMap<u16, Vec<PortId>> = Default::default();
    while let Some(tx) = sw.poll_transmit() {
        let e = EthernetFrame::new_checked(&tx.frame).unwrap();
        assert_eq!(
            e.tag(),
            (tx.vlan != 0).then_some(tx.vlan),
            "emitted tagged with its VLAN"
        );
        per_vlan.entry(tx.vlan).or_default().extend(&tx.ports);
    }
    let ports_of = |v| {
        let mut p = per_vlan.get(&v).cloned().unwrap_or_default();
        p.sort();
        p.dedup();
        p
    };
    assert_eq!(ports_of(10), vec![a, b, t]);
    assert_eq!(ports_of(20), vec![c, t]);
    assert_eq!(ports_of(1), vec![t]);
    assert!(ports_of(0).is_empty(), "no port carries VLAN 0");
    assert_eq!(sw.retag_own(a, 10), Retag::Untag);
    assert_eq!(sw.retag_own(t, 10), Retag::Keep);
    assert_eq!(
        sw.retag_own(t, 1),
        Retag::Untag,
        "the native VLAN leaves untagged"
    );
}

#[test]
fn a_segment_with_snooping_off_floods_and_has_no_querier_while_the_others_prune() {
    use crate::testing::udp_to;
    let mut cfg = SwitchConfig::default();
    let mut off = cfg.snoop.clone();
    off.enabled = false;
    cfg.snoop_vlans.insert(20, off);
    let (mut sw, [a, _b, c, t]) = lab_with(cfg);
    let group = std::net::Ipv4Addr::new(239, 1, 1, 1);
    let later = Instant::from_secs(20);
    let mut vlans_queried = std::collections::BTreeSet::new();
    while let Some(due) = sw.poll_timeout().filter(|d| *d <= later) {
        sw.handle_timeout(due);
        while let Some(tx) = sw.poll_transmit() {
            vlans_queried.insert(tx.vlan);
        }
    }
    assert!(
        vlans_queried.contains(&10) && !vlans_queried.contains(&20),
        "{vlans_queried:?}"
    );
    // VLAN 10 has a querier and no member: the group goes nowhere.
    assert!(sw.handle_frame(a, &udp_to(group), later).is_empty());
    assert_eq!(drops(&sw, a, DropReason::Pruned), 1);
    // VLAN 20 does not snoop: the group is flooded in VLAN 20.
    assert_eq!(sw.handle_frame(c, &udp_to(group), later), &[t]);
}
