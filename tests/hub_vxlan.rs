//! The overlay hub with real clients: kernel VXLAN devices and overcast itself in edge mode.

mod common;

use common::*;
use std::time::Duration;

/// Frames received on all ports (what reached the core).
fn rx_total(oc: &Overcast) -> u64 {
    oc.show("ports")
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["counters"]["rx_frames"].as_u64().unwrap())
        .sum()
}

fn peer_names(oc: &Overcast) -> Vec<String> {
    names(&oc.show("peers"))
}

#[test]
fn kernel_vxlan_hosts_and_a_raw_edge_share_one_domain_through_the_default_hub() {
    if !can_run("kernel_vxlan_hosts_and_a_raw_edge_share_one_domain_through_the_default_hub") {
        return;
    }
    let hub = Netns::new("H");
    let ul = Underlay::new(&hub, "10.210.0");
    // The hub with no config at all: its built-in defaults.
    let oc = Overcast::start(&hub, "");

    let (hosts, underlay) = ul.vxlan_hosts(3, "10.211.0");
    let overlay = ["10.211.0.1", "10.211.0.2", "10.211.0.3"];
    for (i, host) in hosts.iter().enumerate() {
        for (j, ip) in overlay.iter().enumerate() {
            if i != j {
                assert!(host.ping_within(ip, 10), "vxlan host {i} cannot ping {ip}");
            }
        }
    }

    // Broadcast reaches every peer: host 3 sees host 1's ARP request for host 2.
    hosts[0].run(&format!("ip neigh flush dev vx0 to {}", overlay[1]));
    let arps = sniff_during(
        &hosts[2],
        "vx0",
        3,
        &["--proto", "arp", "--dst", overlay[1]],
        || {
            hosts[0].run(&format!("ping -c 1 -W 1 {}", overlay[1]));
        },
    );
    assert!(arps >= 1, "the ARP broadcast did not reach host 3");

    // Each kernel VTEP is its own dynamic peer, with its MAC learned behind it.
    let peers = oc.show("peers");
    for (i, h) in hosts.iter().enumerate() {
        let name = format!("vxlan/{}", underlay[i]);
        let mac = mac_of(h, "vx0");
        let p = peers
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no peer {name}: {peers}"));
        assert_eq!(p["is_static"], false);
        assert_eq!(p["remote"], format!("{}:4789", underlay[i]).as_str());
        assert!(
            p["macs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == mac.as_str()),
            "{mac} not behind {name}: {p}"
        );
    }

    // A raw-frame edge (overcast in edge mode, its TAP in its own namespace) reaches a VXLAN host.
    let edge = Netns::new("e");
    no_ipv6(&edge);
    let edge_ul = ul.attach(&edge, 9);
    let tap = unique("t");
    let _edge_oc = raw_edge(&edge, &tap, &ul.hub_ip(), "10.211.0.9/24");
    assert!(
        edge.ping_within(overlay[0], 10),
        "the raw edge cannot ping a VXLAN host"
    );
    assert!(
        hosts[1].pings("10.211.0.9"),
        "a VXLAN host cannot ping the raw edge"
    );
    assert!(
        peer_names(&oc)
            .iter()
            .any(|n| n.starts_with(&format!("raw/{edge_ul}:"))),
        "the edge is not a raw peer of the hub: {:?}",
        peer_names(&oc)
    );
}

#[test]
fn hub_admits_only_allowed_sources_and_counts_garbage() {
    if !can_run("hub_admits_only_allowed_sources_and_counts_garbage") {
        return;
    }
    let hub = Netns::new("H");
    let ul = Underlay::new(&hub, "10.212.0");
    let oc = Overcast::start_config(
        &hub,
        r#"
        [[listener]]
        bind = "0.0.0.0:4789"
        encap = "vxlan"
        vni = 42
        allow = ["10.212.0.1/32"]
        "#,
        "",
    );
    let good = Netns::new("v");
    let bad = Netns::new("v");
    for (n, h) in [(1u8, &good), (2, &bad)] {
        no_ipv6(h);
        let local = ul.attach(h, n);
        kernel_vxlan(h, 42, &local, &ul.hub_ip(), &format!("10.213.0.{n}/24"));
    }
    // The refused host's traffic creates no peer and is forwarded nowhere.
    let leaked = sniff_during(
        &good,
        "vx0",
        3,
        &["--proto", "icmp", "--dst", "10.213.0.1"],
        || {
            let _ = bad.exec("ping -c 5 -i 0.2 -W 1 10.213.0.1");
        },
    );
    assert_eq!(
        leaked, 0,
        "traffic from a source outside `allow` was forwarded"
    );
    assert!(
        !peer_names(&oc).iter().any(|n| n.contains("10.212.0.2")),
        "{:?}",
        peer_names(&oc)
    );

    // Garbage from an allowed source is counted and forwards nothing.
    let peers_before = peer_names(&oc);
    let rx_before = rx_total(&oc);
    good.run(&format!(
        "python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
         s.bind(('10.212.0.1', 0)); [s.sendto(b'garbage', ('{}', 4789)) for _ in range(3)]\"",
        ul.hub_ip()
    ));
    std::thread::sleep(Duration::from_millis(300));
    let state = oc.show("state");
    let l = &state["listeners"][0]["counters"];
    assert!(l["drop_not_allowed"].as_u64().unwrap() >= 1, "{l}");
    assert_eq!(l["drop_short"].as_u64().unwrap(), 3, "{l}");
    assert_eq!(
        peer_names(&oc),
        peers_before,
        "garbage changed the peer table"
    );
    assert_eq!(
        rx_total(&oc),
        rx_before,
        "garbage reached the switch core as frames"
    );
    assert!(
        oc.log_text().contains("outside `allow`"),
        "the refusal was not logged"
    );
}

#[test]
fn idle_dynamic_peers_expire_with_their_macs() {
    if !can_run("idle_dynamic_peers_expire_with_their_macs") {
        return;
    }
    let hub = Netns::new("H");
    let ul = Underlay::new(&hub, "10.214.0");
    let oc = Overcast::start_config(
        &hub,
        r#"
        [[listener]]
        bind = "0.0.0.0:4789"
        encap = "vxlan"
        idle_timeout = "2s"
        "#,
        "",
    );
    let (hosts, _) = ul.vxlan_hosts(2, "10.215.0");
    assert!(hosts[0].ping_within("10.215.0.2", 10));
    assert_eq!(peer_names(&oc).len(), 2);
    // Silence: both peers and their FDB entries go after the idle timeout.
    let end = std::time::Instant::now() + Duration::from_secs(8);
    while !peer_names(&oc).is_empty() {
        assert!(
            std::time::Instant::now() < end,
            "peers never expired: {:?}",
            peer_names(&oc)
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(
        oc.show("fdb").as_array().unwrap().len(),
        0,
        "expired peers left FDB entries"
    );
    // Returning hosts are admitted again (host 2 announces itself with a gratuitous ARP).
    hosts[1].run("ip link set vx0 down");
    hosts[1].run("ip link set vx0 up");
    assert!(hosts[0].ping_within("10.215.0.2", 10));
}

#[test]
fn a_thousand_dynamic_peers_are_admitted_and_the_peer_limit_holds() {
    if !can_run("a_thousand_dynamic_peers_are_admitted_and_the_peer_limit_holds") {
        return;
    }
    let hub = Netns::new("H");
    let oc = Overcast::start_config(
        &hub,
        "[[listener]]\nbind = \"127.0.0.1:4800\"\nencap = \"raw\"\nmax_peers = 1000\n",
        "",
    );
    // 1 010 raw peers on loopback, each its own socket (address and port), each sending one
    // frame: unicast to the first peer's MAC, so the test is not a 1 000-way flood storm.
    hub.run(
        "python3 -c \"import socket,time
socks=[]
for i in range(1010):
    s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1', 0)); socks.append(s)
    mac=bytes([2,0,0,0,(i>>8)&0xff,i&0xff])
    s.sendto(bytes([2,0,0,0,0,0])+mac+b'\\x08\\x06'+bytes(46), ('127.0.0.1', 4800))
    if i % 100 == 99: time.sleep(0.05)
time.sleep(0.5)\"",
    );
    let peers = peer_names(&oc);
    assert_eq!(peers.len(), 1000, "expected exactly max_peers peers");
    let counters = &oc.show("state")["listeners"][0]["counters"];
    assert_eq!(
        counters["drop_peer_limit"].as_u64().unwrap(),
        10,
        "{counters}"
    );
    assert_eq!(
        counters["peers_admitted"].as_u64().unwrap(),
        1000,
        "{counters}"
    );
    assert_eq!(
        oc.show("fdb").as_array().unwrap().len(),
        1000,
        "one MAC learned behind each peer"
    );
}

#[test]
fn an_unreachable_peer_and_oversized_frames_are_counted_and_the_rest_keeps_switching() {
    if !can_run("an_unreachable_peer_and_oversized_frames_are_counted_and_the_rest_keeps_switching")
    {
        return;
    }
    let hub = Netns::new("H");
    let ul = Underlay::new(&hub, "10.216.0");
    let tap = unique("t");
    // A static peer nobody can route to: every flood towards it fails to send.
    let oc = Overcast::start_config(
        &hub,
        "[[listener]]\nbind = \"0.0.0.0:4789\"\nencap = \"vxlan\"\n\n[[peer]]\nremote = \"192.0.2.1:4789\"\nencap = \"vxlan\"\n",
        &format!("--tap {tap}"),
    );
    let (hosts, _) = ul.vxlan_hosts(2, "10.217.0");
    assert!(
        hosts[0].ping_within("10.217.0.2", 10),
        "one dead peer stopped the others"
    );
    let port = |name: &str| {
        oc.show("ports")
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no port {name}"))
    };
    let dead = port("vxlan/192.0.2.1");
    assert!(
        dead["counters"]["drops"]["tx_error"].as_u64().unwrap() >= 1,
        "{dead}"
    );

    // A frame bigger than the underlay can carry is dropped and counted, not
    // fragmented: a host on a jumbo TAP port sends one to a VXLAN host.
    let jumbo = Netns::new("j");
    no_ipv6(&jumbo);
    move_tap(&hub, &tap, &jumbo, "10.217.0.9/24");
    jumbo.run(&format!("ip link set {tap} mtu 9000"));
    assert!(jumbo.ping_within("10.217.0.2", 10));
    let _ = jumbo.exec("ping -c 2 -W 1 -M do -s 4000 10.217.0.2");
    let target = port("vxlan/10.216.0.2");
    assert!(
        target["counters"]["drops"]["tx_too_big"].as_u64().unwrap() >= 1,
        "{target}"
    );
    assert!(
        jumbo.pings("10.217.0.2"),
        "normal traffic stopped after the oversized frames"
    );
    assert!(hosts[0].pings("10.217.0.2"));
}
