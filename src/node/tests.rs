//! The node on a virtual clock: plans, applies, admission, egress resolution, expiry.

use super::*;
use crate::config::{StaticMdbEntry, TapConfig};
use crate::testing::frame;
use crate::tunnel::config::{Encap, PeerConfig};
use crate::tunnel::vxlan;

const A: [u8; 6] = [2, 0, 0, 0, 0, 0xa];
const B: [u8; 6] = [2, 0, 0, 0, 0, 0xb];
const BCAST: [u8; 6] = [0xff; 6];

fn vxlan_datagram(vni: u32, frame: &[u8]) -> Vec<u8> {
    let mut d = vxlan::header(vni).to_vec();
    d.extend_from_slice(frame);
    d
}

fn hub_with_taps(taps: &[&str]) -> Config {
    let mut cfg = Config::default_hub();
    cfg.taps = taps.iter().map(|t| TapConfig::new(*t)).collect();
    cfg
}

/// A node set up from `cfg` as a driver would, with every TAP reported up.
fn started(cfg: &Config) -> (Node, Vec<NodeEvent>) {
    let mut node = Node::new(cfg.switch_config(crate::switch::DEFAULT_MAC));
    let plan = plan(&node.running(), cfg, &Resolved::literal(cfg).unwrap());
    node.apply(plan, Instant::ZERO).unwrap();
    let events: Vec<NodeEvent> = std::iter::from_fn(|| node.poll_event()).collect();
    for e in &events {
        if let NodeEvent::OpenTap { port, .. } = e {
            node.set_port_up(*port, true, Instant::ZERO);
        }
    }
    (node, events)
}

/// A broadcast from station A inside a VXLAN datagram (VNI 42) from `src`: the peer's port.
fn vxlan_peer(node: &mut Node, src: &str) -> PortId {
    let src: SocketAddr = src.parse().unwrap();
    let d = vxlan_datagram(42, &frame(BCAST, A));
    node.handle_datagram(Instant::ZERO, TunnelId(0), src, &d, &mut Vec::new())
        .expect("admitted")
        .0
}

fn port(node: &Node, name: &str) -> PortId {
    node.switch().port_by_name(name).unwrap()
}

#[test]
fn start_is_a_plan_from_nothing_that_opens_every_device() {
    let (node, events) = started(&hub_with_taps(&["t0", "t1"]));
    let opened: Vec<&NodeEvent> = events
        .iter()
        .filter(|e| matches!(e, NodeEvent::OpenTap { .. } | NodeEvent::OpenTunnel { .. }))
        .collect();
    assert_eq!(opened.len(), 4, "{events:?}");
    assert!(events.contains(&NodeEvent::OpenTunnel {
        tunnel: TunnelId(0)
    }));
    assert!(events.contains(&NodeEvent::OpenTunnel {
        tunnel: TunnelId(1)
    }));
    assert_eq!(node.running().taps.len(), 2);
    assert_eq!(node.running().tunnels.len(), 2);
}

#[test]
fn a_datagram_admits_its_peer_and_egress_resolves_to_devices() {
    let (mut node, _) = started(&hub_with_taps(&["t0"]));
    let src: SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let mut out = Vec::new();
    let d = vxlan_datagram(42, &frame(BCAST, A));
    let (peer, inner) = node
        .handle_datagram(Instant::ZERO, TunnelId(0), src, &d, &mut out)
        .expect("admitted");
    assert_eq!(inner, &d[8..]);
    assert_eq!(node.switch().port_name(peer), Some("vxlan/10.0.0.2"));
    assert_eq!(
        out,
        vec![Dest {
            port: port(&node, "t0"),
            to: Egress::Tap(TapId(0)),
            retag: Retag::Keep,
        }]
    );
    assert_eq!(
        node.poll_event(),
        Some(NodeEvent::PeerAdmitted {
            name: "vxlan/10.0.0.2".into(),
            remote: "10.0.0.2:4789".parse().unwrap(),
        })
    );
    // The TAP answers the peer's station: one destination, the peer, with the tunnel's header.
    node.handle_frame(Instant::ZERO, port(&node, "t0"), &frame(A, B), &mut out);
    assert_eq!(
        out,
        vec![Dest {
            port: peer,
            to: Egress::Peer {
                tunnel: TunnelId(0),
                remote: "10.0.0.2:4789".parse().unwrap(),
                header: EncapHeader::vxlan(42),
            },
            retag: Retag::Keep,
        }]
    );
}

#[test]
fn refused_sources_are_reported_once_per_interval() {
    let (mut node, _) = started(&Config::default_hub());
    let public: SocketAddr = "8.8.8.8:4789".parse().unwrap();
    let d = vxlan_datagram(42, &frame(BCAST, A));
    let mut out = Vec::new();
    for ms in [0, 1_000, 9_999] {
        assert!(node
            .handle_datagram(Instant::from_millis(ms), TunnelId(0), public, &d, &mut out)
            .is_none());
    }
    let refusals = std::iter::from_fn(|| node.poll_event())
        .filter(|e| matches!(e, NodeEvent::SourceRefused { .. }))
        .count();
    assert_eq!(refusals, 1);
    node.handle_datagram(
        Instant::from_millis(10_000),
        TunnelId(0),
        public,
        &d,
        &mut out,
    );
    assert!(matches!(
        node.poll_event(),
        Some(NodeEvent::SourceRefused { .. })
    ));
    assert_eq!(node.listener_rows()[0].counters.drop_not_allowed, 4);
}

#[test]
fn an_idle_peer_expires_from_its_own_tunnel_and_the_egress_map() {
    let mut cfg = Config::default_hub();
    cfg.listeners[0].idle_timeout = Duration::from_secs(5);
    let (mut node, _) = started(&cfg);
    let peer = vxlan_peer(&mut node, "10.0.0.2:40000");
    while node.poll_event().is_some() {}
    let mut now = Instant::ZERO;
    while now < Instant::from_millis(7_000) {
        now = node.poll_timeout().unwrap();
        node.handle_timeout(now);
    }
    assert_eq!(
        node.poll_event(),
        Some(NodeEvent::PeerExpired {
            name: "vxlan/10.0.0.2".into()
        })
    );
    assert!(node.switch().port_name(peer).is_none());
    assert!(node.peers(now).is_empty());
    let c = &node.listener_rows()[0].counters;
    assert_eq!((c.peers_admitted, c.peers_expired), (1, 1));
}

#[test]
fn a_dynamic_peer_made_static_keeps_its_name_and_is_not_counted_as_expired() {
    let (mut node, _) = started(&Config::default_hub());
    vxlan_peer(&mut node, "10.0.0.2:40000");
    let mut cfg = Config::default_hub();
    cfg.peers.push(PeerConfig {
        remote: "10.0.0.2:4789".into(),
        encap: Encap::Vxlan,
        listener: None,
    });
    let p = plan(&node.running(), &cfg, &Resolved::literal(&cfg).unwrap());
    assert!(
        p.open_tunnels.is_empty() && p.close_tunnels.is_empty(),
        "{p:?}"
    );
    let summary = node.apply(p, Instant::from_millis(1)).unwrap();
    assert_eq!(summary.added, vec!["peer vxlan/10.0.0.2".to_string()]);
    let peers = node.peers(Instant::from_millis(1));
    assert_eq!(peers.len(), 1);
    assert!(peers[0].is_static);
    assert_eq!(node.listener_rows()[0].counters.peers_expired, 0);
}

#[test]
fn an_unchanged_config_plans_nothing_and_a_changed_one_only_the_difference() {
    let cfg = hub_with_taps(&["t0", "t1"]);
    let (node, _) = started(&cfg);
    let same = plan(&node.running(), &cfg, &Resolved::default());
    assert!(same.open_taps.is_empty() && same.close_taps.is_empty() && same.update_taps.is_empty());
    assert!(same.open_tunnels.is_empty() && same.close_tunnels.is_empty());
    assert!(same.update_tunnels.is_empty());

    let mut next = hub_with_taps(&["t1", "t2"]);
    next.listeners[1].max_peers = 7;
    next.listeners.remove(0);
    let p = plan(&node.running(), &next, &Resolved::default());
    assert_eq!(p.close_taps, vec![TapId(0)]);
    assert_eq!(p.open_taps.len(), 1);
    assert_eq!(
        p.open_taps[0].0,
        TapId(2),
        "a closing slot is not reused in the same plan"
    );
    assert_eq!(p.close_tunnels, vec![TunnelId(0)]);
    assert_eq!(p.update_tunnels.len(), 1);
    assert_eq!(p.update_tunnels[0].0, TunnelId(1));
}

#[test]
fn a_static_peer_with_no_listener_gets_an_implicit_one_that_admits_nobody() {
    let mut cfg = Config::default();
    cfg.peers.push(PeerConfig {
        remote: "192.0.2.1:4800".into(),
        encap: Encap::Raw,
        listener: None,
    });
    let p = plan(&Running::default(), &cfg, &Resolved::literal(&cfg).unwrap());
    assert_eq!(p.open_tunnels.len(), 1);
    let (id, l) = &p.open_tunnels[0];
    assert_eq!((*id, l.encap, l.bind.port()), (TunnelId(0), Encap::Raw, 0));
    assert!(l.allow.is_empty());
    assert_eq!(
        p.add_peers[0].key,
        PeerKey::Addr("192.0.2.1:4800".parse().unwrap())
    );
}

#[test]
fn hostnames_are_refused_where_nothing_may_be_resolved() {
    let mut cfg = Config::default();
    cfg.peers.push(PeerConfig {
        remote: "hub.example:4789".into(),
        encap: Encap::Vxlan,
        listener: None,
    });
    let err = Resolved::literal(&cfg).unwrap_err();
    assert_eq!(err.remote, "hub.example:4789");
}

#[test]
fn static_mdb_entries_are_pinned_by_apply_and_unpinned_by_the_next() {
    let mut cfg = hub_with_taps(&["t0", "t1"]);
    let group: std::net::IpAddr = "239.1.2.3".parse().unwrap();
    cfg.static_mdb.push(StaticMdbEntry {
        group,
        port: "t1".into(),
        vlan: 0,
    });
    let (mut node, _) = started(&cfg);
    let t1 = port(&node, "t1");
    assert_eq!(
        node.switch().static_mdb().collect::<Vec<_>>(),
        vec![(0, group, t1)]
    );
    cfg.static_mdb.clear();
    let p = plan(&node.running(), &cfg, &Resolved::default());
    node.apply(p, Instant::from_millis(1)).unwrap();
    assert_eq!(node.switch().static_mdb().count(), 0);
}

#[test]
fn closing_a_tunnel_removes_its_peers_ports() {
    let (mut node, _) = started(&Config::default_hub());
    let mut out = Vec::new();
    let raw_src: SocketAddr = "10.0.0.3:5000".parse().unwrap();
    node.handle_datagram(
        Instant::ZERO,
        TunnelId(1),
        raw_src,
        &frame(BCAST, B),
        &mut out,
    )
    .unwrap();
    let mut cfg = Config::default_hub();
    cfg.listeners.truncate(1);
    let p = plan(&node.running(), &cfg, &Resolved::default());
    let summary = node.apply(p, Instant::from_millis(1)).unwrap();
    assert_eq!(summary.removed, vec!["listener raw".to_string()]);
    assert!(std::iter::from_fn(|| node.poll_event()).any(|e| e
        == NodeEvent::CloseTunnel {
            tunnel: TunnelId(1)
        }));
    assert!(node.switch().port_by_name("raw/10.0.0.3:5000").is_none());
}

#[test]
fn a_raw_peer_learns_at_most_its_mac_limit() {
    let (mut node, _) = started(&Config::default_hub());
    let src: SocketAddr = "10.0.0.3:5000".parse().unwrap();
    let mut out = Vec::new();
    for n in 0..40u8 {
        let junk = frame(BCAST, [2, 0, 0, 0, 9, n]);
        node.handle_datagram(Instant::ZERO, TunnelId(1), src, &junk, &mut out)
            .unwrap();
    }
    let peers = node.peers(Instant::ZERO);
    assert_eq!(
        peers[0].macs.len(),
        crate::tunnel::config::RAW_MACS_PER_PEER
    );
    assert_eq!(
        node.switch().fdb().counters().refused_port_full,
        40 - crate::tunnel::config::RAW_MACS_PER_PEER as u64
    );
}

/// A hub whose VXLAN listener maps VNI 1010 to VLAN 10 and 1020 to VLAN 20,
/// with TAPs a10 (access 10) and c20 (access 20).
fn segmented_hub() -> (Node, PortId, PortId) {
    let text = "[[tap]]\nname = \"a10\"\nvlan_mode = \"access\"\nvlan = 10\n\
                [[tap]]\nname = \"c20\"\nvlan_mode = \"access\"\nvlan = 20\n\
                [[listener]]\nbind = \"0.0.0.0:4789\"\nencap = \"vxlan\"\nvnis = { 1010 = 10, 1020 = 20 }\n";
    let cfg = Config::parse(text, std::path::Path::new("t.toml")).unwrap();
    let (node, _) = started(&cfg);
    let (a, c) = (port(&node, "a10"), port(&node, "c20"));
    (node, a, c)
}

#[test]
fn a_vni_is_its_vlans_segment_both_ways() {
    let (mut node, a10, c20) = segmented_hub();
    let src: SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let mut out = Vec::new();
    let (peer, _) = node
        .handle_datagram(
            Instant::ZERO,
            TunnelId(0),
            src,
            &vxlan_datagram(1010, &frame(BCAST, A)),
            &mut out,
        )
        .unwrap();
    let ports: Vec<PortId> = out.iter().map(|d| d.port).collect();
    assert_eq!(ports, vec![a10], "VNI 1010 reaches VLAN 10 only");
    assert_eq!(
        node.switch().fdb().lookup(10, MacAddr(A), Instant::ZERO),
        Some(peer)
    );
    // a10 answers: the peer gets it in VNI 1010, untagged.
    node.handle_frame(Instant::ZERO, a10, &frame(A, B), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].retag, Retag::Keep);
    assert!(matches!(out[0].to, Egress::Peer { header, .. } if header == EncapHeader::vxlan(1010)));
    // VLAN 20's broadcast does not go to a peer that never spoke in VNI 1020.
    node.handle_frame(Instant::ZERO, c20, &frame(BCAST, B), &mut out);
    assert!(out.is_empty(), "{out:?}");
    // Once it does, it is in both segments, each with its own VNI.
    node.handle_datagram(
        Instant::ZERO,
        TunnelId(0),
        src,
        &vxlan_datagram(1020, &frame(BCAST, A)),
        &mut out,
    )
    .unwrap();
    assert_eq!(out.iter().map(|d| d.port).collect::<Vec<_>>(), vec![c20]);
    node.handle_frame(Instant::ZERO, c20, &frame(BCAST, B), &mut out);
    assert!(matches!(out[0].to, Egress::Peer { header, .. } if header == EncapHeader::vxlan(1020)));
    assert_eq!(
        node.switch().fdb().lookup(20, MacAddr(A), Instant::ZERO),
        Some(peer),
        "one MAC, two VLANs"
    );
}

#[test]
fn an_unmapped_vni_is_dropped_and_counted() {
    let (mut node, _, _) = segmented_hub();
    let src: SocketAddr = "10.0.0.2:40000".parse().unwrap();
    let d = vxlan_datagram(1030, &frame(BCAST, A));
    assert!(node
        .handle_datagram(Instant::ZERO, TunnelId(0), src, &d, &mut Vec::new())
        .is_none());
    assert_eq!(node.listener_rows()[0].counters.drop_wrong_vni, 1);
    assert!(
        node.peers(Instant::ZERO).is_empty(),
        "no peer from an unmapped VNI"
    );
}

#[test]
fn multicast_is_pruned_per_vni_and_queries_go_out_in_each_vni() {
    use crate::testing::{udp_to, v2_report};
    let (mut node, a10, _c20) = segmented_hub();
    let group = std::net::Ipv4Addr::new(239, 1, 1, 1);
    let mut out = Vec::new();
    let mut from = |node: &mut Node, src: &str, vni: u32, frame: &[u8]| {
        let src: SocketAddr = src.parse().unwrap();
        node.handle_datagram(
            Instant::ZERO,
            TunnelId(0),
            src,
            &vxlan_datagram(vni, frame),
            &mut out,
        )
        .expect("admitted")
        .0
    };
    let member = from(&mut node, "10.0.0.2:1", 1010, &v2_report(group, false));
    let bystander = from(&mut node, "10.0.0.3:1", 1010, &frame(BCAST, B));
    let other_vni = from(&mut node, "10.0.0.4:1", 1020, &v2_report(group, false));
    // Our querier runs per VLAN; its queries reach each peer in its VNI.
    let t = Instant::from_secs(20);
    let mut now = Instant::ZERO;
    let mut query_headers = Vec::new();
    while let Some(due) = node.poll_timeout().filter(|d| *d <= t) {
        now = due;
        node.handle_timeout(now);
        while node.poll_transmit(&mut out).is_some() {
            for d in &out {
                if let Egress::Peer { header, .. } = d.to {
                    query_headers.push((d.port, header));
                }
            }
        }
    }
    assert!(query_headers.contains(&(member, EncapHeader::vxlan(1010))));
    assert!(query_headers.contains(&(other_vni, EncapHeader::vxlan(1020))));
    assert!(
        !query_headers.contains(&(other_vni, EncapHeader::vxlan(1010))),
        "a VLAN 10 query to a peer only in VNI 1020"
    );
    // Data in VLAN 10 goes to the VLAN 10 member only: not the bystander,
    // not the member of the same group in VNI 1020.
    node.handle_frame(now, a10, &udp_to(group), &mut out);
    let to: Vec<PortId> = out.iter().map(|d| d.port).collect();
    assert_eq!(
        to,
        vec![member],
        "bystander {bystander:?}, other VNI {other_vni:?}"
    );
    assert!(matches!(out[0].to, Egress::Peer { header, .. } if header == EncapHeader::vxlan(1010)));
}

#[test]
fn vni_maps_are_looked_up_by_number_not_text() {
    let text =
        "[[listener]]\nbind = \"0.0.0.0:4789\"\nencap = \"vxlan\"\nvnis = { 100 = 10, 20 = 20 }\n";
    let cfg = Config::parse(text, std::path::Path::new("t.toml")).unwrap();
    let (mut node, _) = started(&cfg);
    let mut out = Vec::new();
    for (n, vni) in [100u32, 20].into_iter().enumerate() {
        let src: SocketAddr = format!("10.0.0.{}:1", n + 2).parse().unwrap();
        let d = vxlan_datagram(vni, &frame(BCAST, A));
        assert!(
            node.handle_datagram(Instant::ZERO, TunnelId(0), src, &d, &mut out)
                .is_some(),
            "VNI {vni}"
        );
    }
    assert_eq!(node.listener_rows()[0].counters.drop_wrong_vni, 0);
}

#[test]
fn a_reload_that_changes_the_vni_map_moves_the_peers_with_it() {
    let (mut node, a10, _) = segmented_hub();
    let src: SocketAddr = "10.0.0.2:1".parse().unwrap();
    let mut out = Vec::new();
    let (peer, _) = node
        .handle_datagram(
            Instant::ZERO,
            TunnelId(0),
            src,
            &vxlan_datagram(1010, &frame(BCAST, A)),
            &mut out,
        )
        .unwrap();
    // VLAN 10 now travels in VNI 2010.
    let mut cfg = node.config().clone();
    cfg.listeners[0].vnis = [("2010".to_string(), 10u16)].into_iter().collect();
    let p = plan(&node.running(), &cfg, &Resolved::default());
    node.apply(p, Instant::from_millis(1)).unwrap();
    assert_eq!(
        node.switch()
            .vlan_rows()
            .iter()
            .find(|r| r.port == "vxlan/10.0.0.2")
            .map(|r| r.vlans.clone()),
        Some(vec![])
    );
    node.handle_datagram(
        Instant::ZERO,
        TunnelId(0),
        src,
        &vxlan_datagram(2010, &frame(BCAST, A)),
        &mut out,
    )
    .unwrap();
    assert_eq!(out.iter().map(|d| d.port).collect::<Vec<_>>(), vec![a10]);
    node.handle_frame(Instant::ZERO, a10, &frame(A, B), &mut out);
    assert_eq!(out[0].port, peer);
    assert!(matches!(out[0].to, Egress::Peer { header, .. } if header == EncapHeader::vxlan(2010)));
}

#[test]
fn a_static_peer_whose_port_changes_is_replaced() {
    let mut cfg = Config::default_hub();
    cfg.peers.push(PeerConfig {
        remote: "10.0.0.2:4789".into(),
        encap: Encap::Vxlan,
        listener: None,
    });
    let (mut node, _) = started(&cfg);
    cfg.peers[0].remote = "10.0.0.2:8472".into();
    let p = plan(&node.running(), &cfg, &Resolved::literal(&cfg).unwrap());
    assert_eq!(p.remove_peers.len(), 1);
    node.apply(p, Instant::from_millis(1)).unwrap();
    let peers = node.peers(Instant::from_millis(1));
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].remote, "10.0.0.2:8472".parse().unwrap());
}
