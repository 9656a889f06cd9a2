//! Real hosts (network namespaces) on real TAP ports: learning, forwarding, isolation, and a TAP vanishing.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn three_namespaces_switch_through_tap_ports() {
    if !can_run("three_namespaces_switch_through_tap_ports") {
        return;
    }
    let lab = TapLab::new(3, None, "10.201.0", "21");
    let (hosts, taps, oc) = (&lab.hosts, &lab.taps, &lab.oc);
    let ips: Vec<&str> = lab.ips.iter().map(String::as_str).collect();

    // Every host reaches every other host.
    for (i, host) in hosts.iter().enumerate() {
        for (j, ip) in ips.iter().enumerate() {
            if i != j {
                assert!(host.ping_within(ip, 10), "host {i} cannot ping {ip}");
            }
        }
    }

    // The FDB holds the three MACs, each on its own port.
    lab.assert_each_host_learned_on_its_port();

    // Known unicast reaches only its port: host 3 sees none of host 1's pings to host 2.
    let seen = sniff_during(
        &hosts[2],
        &taps[2],
        4,
        &["--proto", "icmp", "--dst", ips[1]],
        || {
            hosts[0].run(&format!("ping -c 10 -i 0.1 -W 1 {}", ips[1]));
        },
    );
    assert_eq!(seen, 0, "host 3 received unicast ICMP meant for host 2");

    // Delete host 3's TAP while hosts 1 and 2 ping each other: they keep pinging.
    let pinger = spawn_ping(&hosts[0], ips[1], 30, "0.1");
    std::thread::sleep(Duration::from_millis(800));
    run(&format!("ip -n {} link del {}", hosts[2].name, taps[2]));
    let out = pinger.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(" 0% packet loss"),
        "pings lost while a TAP vanished:\n{text}"
    );
    assert!(hosts[1].pings(ips[0]), "hosts 1 and 2 stopped switching");
    // The switch noticed: the port went down (and is being reopened).
    let noticed = format!("TAP port down; will reopen tap={}", taps[2]);
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while !oc.log_text().contains(&noticed) {
        assert!(
            std::time::Instant::now() < end,
            "the vanished TAP's port never went down"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
