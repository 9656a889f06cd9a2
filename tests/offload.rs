//! TCP with TAP offload on: super-frames pass between offload TAPs untouched,
//! and are segmented and checksummed for tunnels. TCP (not only ping) must
//! carry every byte, since a bad checksum lets ping work while TCP stalls.

mod common;

use common::*;

#[test]
fn tcp_between_offload_taps_uses_super_frames_and_arrives_intact() {
    if !can_run("tcp_between_offload_taps_uses_super_frames_and_arrives_intact") {
        return;
    }
    let lab = TapLab::new(2, None, "10.240.0", "40");
    assert!(lab.hosts[0].ping_within(&lab.ips[1], 10));
    let (sent, got) = tcp_transfer(&lab.hosts[0], &lab.hosts[1], &lab.ips[1], 64 << 20);
    assert_eq!(sent, got, "TCP data differs");
    assert!(sent.starts_with(&format!("{} ", 64 << 20)));
    let frames = lab.oc.port_counter(&lab.taps[0], "rx_frames");
    let bytes = lab.oc.port_counter(&lab.taps[0], "rx_bytes");
    assert!(
        bytes / frames > 3000,
        "no super-frames crossed the switch ({} bytes per frame)",
        bytes / frames
    );
    assert!(lab.oc.log_text().contains("offload=true"));
}

#[test]
fn tcp_from_an_offload_tap_to_a_kernel_vxlan_host_is_segmented_and_checksummed() {
    if !can_run("tcp_from_an_offload_tap_to_a_kernel_vxlan_host_is_segmented_and_checksummed") {
        return;
    }
    let cfg = "[[listener]]\nbind = \"0.0.0.0:4789\"\nencap = \"vxlan\"\n";
    let lab = TapLab::new(1, Some(cfg), "10.241.0", "41");
    lab.hosts[0].run(&format!("ip link set {} mtu 1450", lab.taps[0]));
    let ul = Underlay::new(&lab.sw, "10.242.0");
    let vx = Netns::new("v");
    no_ipv6(&vx);
    let local = ul.attach(&vx, 1);
    kernel_vxlan(&vx, 42, &local, &ul.hub_ip(), "10.241.0.50/24");
    vxlan_computes_checksums(&vx);
    assert!(lab.hosts[0].ping_within("10.241.0.50", 10));
    let (sent, got) = tcp_transfer(&lab.hosts[0], &vx, "10.241.0.50", 32 << 20);
    assert_eq!(sent, got, "TAP to VXLAN: TCP data differs");
    let (sent, got) = tcp_transfer(&vx, &lab.hosts[0], &lab.ips[0], 32 << 20);
    assert_eq!(sent, got, "VXLAN to TAP: TCP data differs");
    let ports = lab.oc.show("ports");
    let bad: u64 = ports
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["counters"]["drops"]["bad_offload"].as_u64().unwrap())
        .sum();
    assert_eq!(bad, 0, "offloaded frames could not be completed: {ports}");
}

#[test]
fn tcp_hub_to_hub_between_vxlan_hosts_and_from_an_offload_edge() {
    if !can_run("tcp_hub_to_hub_between_vxlan_hosts_and_from_an_offload_edge") {
        return;
    }
    let hub = Netns::new("H");
    let ul = Underlay::new(&hub, "10.243.0");
    let _oc = Overcast::start(&hub, "");
    let (hosts, _) = ul.vxlan_hosts(2, "10.244.0");
    hosts.iter().for_each(vxlan_computes_checksums);
    assert!(hosts[0].ping_within("10.244.0.2", 10));
    let (sent, got) = tcp_transfer(&hosts[0], &hosts[1], "10.244.0.2", 16 << 20);
    assert_eq!(
        sent, got,
        "VXLAN to VXLAN through the hub: TCP data differs"
    );

    // An overcast edge whose TAP has offload on: its super-frames are segmented into the tunnel.
    let edge = Netns::new("e");
    no_ipv6(&edge);
    ul.attach(&edge, 9);
    let tap = unique("t");
    let edge_oc = raw_edge(&edge, &tap, &ul.hub_ip(), "10.244.0.9/24");
    assert!(edge.ping_within("10.244.0.1", 10));
    let (sent, got) = tcp_transfer(&edge, &hosts[0], "10.244.0.1", 16 << 20);
    assert_eq!(sent, got, "edge to VXLAN host: TCP data differs");
    let (sent, got) = tcp_transfer(&hosts[1], &edge, "10.244.0.9", 16 << 20);
    assert_eq!(sent, got, "VXLAN host to edge: TCP data differs");
    let mtu = edge.run(&format!("cat /sys/class/net/{tap}/mtu"));
    assert_eq!(
        mtu.trim(),
        "1458",
        "edge mode sizes its TAP to the raw tunnel"
    );
    assert!(edge_oc.log_text().contains("offload=true"));
}
