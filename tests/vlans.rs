//! 802.1Q port modes with real kernel hosts: the committed VLAN lab example,
//! isolation between VLANs, and tags seen on the trunk (read, as scapy does,
//! from PACKET_AUXDATA: veth and TAP move the tag into metadata).

mod common;

use common::*;

/// The example config with its TAP names made unique for this run.
fn vlan_lab(prefix: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/contrib/examples/vlan-lab.toml"
    );
    std::fs::read_to_string(path)
        .expect("contrib/examples/vlan-lab.toml")
        .replace("\"lab-", &format!("\"{prefix}"))
}

/// The VLAN lab example (with `extra` config appended) running in its own
/// namespace, its TAP names made unique, and a kernel host (IPv6 off) on
/// each of `ports`, host i at `<subnet>.<i+1>/24`.
struct Lab {
    hosts: Vec<Netns>,
    oc: Overcast,
    prefix: String,
    config: String,
    _sw: Netns,
}

impl Lab {
    fn start(tag: &str, extra: &str, subnet: &str, ports: &[&str]) -> Lab {
        let prefix = format!("{}-", unique(tag));
        let config = vlan_lab(&prefix) + extra;
        let sw = Netns::new("s");
        let oc = Overcast::start_config(&sw, &config, "");
        let hosts: Vec<Netns> = ports.iter().map(|_| Netns::new("h")).collect();
        for (i, name) in ports.iter().enumerate() {
            no_ipv6(&hosts[i]);
            let tap = format!("{prefix}{name}");
            move_tap(&sw, &tap, &hosts[i], &format!("{subnet}.{}/24", i + 1));
        }
        Lab {
            hosts,
            oc,
            prefix,
            config,
            _sw: sw,
        }
    }

    /// The unique name of the example's port `lab-<name>`.
    fn tap(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

#[test]
fn the_vlan_lab_example_isolates_vlans_and_tags_the_trunk() {
    if !can_run("the_vlan_lab_example_isolates_vlans_and_tags_the_trunk") {
        return;
    }
    // The same subnet everywhere: only the VLANs keep c20 apart.
    let lab = Lab::start("v", "", "10.250.0", &["a10", "b10", "c20", "trunk"]);
    let (oc, hosts) = (&lab.oc, &lab.hosts);
    let tap = |name: &str| lab.tap(name);
    assert!(
        hosts[0].ping_within("10.250.0.2", 10),
        "a10 cannot reach b10 in its VLAN"
    );
    assert!(
        !hosts[0].pings("10.250.0.3"),
        "a10 reached c20 across VLANs"
    );

    // What the trunk hears of a10's ARP: tagged 10, never untagged.
    hosts[0].run("ip neigh flush all");
    let trunk = tap("trunk");
    let arp = |vlan: &str| {
        sniff_during(
            &hosts[3],
            &trunk,
            3,
            &["--proto", "arp", "--vlan", vlan],
            || {
                hosts[0].exec("ping -c 2 -W 1 10.250.0.9");
            },
        )
    };
    assert!(arp("10") >= 1, "the trunk saw no ARP tagged with VLAN 10");
    hosts[0].run("ip neigh flush all");
    assert_eq!(arp("0"), 0, "a10's ARP reached the trunk untagged");

    let vlans = oc.show("vlans");
    let row = |name: &str| {
        vlans
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["port"] == tap(name)))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        (row("a10")["mode"].as_str(), row("a10")["pvid"].as_u64()),
        (Some("access"), Some(10))
    );
    assert_eq!(row("trunk")["mode"], "native-untagged");
    assert_eq!(row("trunk")["vlans"], serde_json::json!([1, 10, 20]));
    assert_eq!(row("trunk")["tagged"], serde_json::json!([10, 20]));
    // The FDB has a10 in VLAN 10 and c20 in VLAN 20.
    let fdb = oc.show("fdb");
    let vlan_of = |port: &str| {
        fdb.as_array()
            .and_then(|rows| rows.iter().find(|r| r["port"] == tap(port)))
            .and_then(|r| r["vlan"].as_u64())
    };
    assert_eq!(vlan_of("a10"), Some(10));
    assert_eq!(vlan_of("c20"), Some(20));
}

/// Write one broadcast ARP request from `mac_last` for 10.250.0.99, tagged
/// `vid`, straight onto `dev` with AF_PACKET (no 802.1Q sub-interfaces here).
fn send_tagged_arp(host: &Netns, dev: &str, vid: u16) {
    host.run(&format!(
        "python3 -c \"import socket,struct; s=socket.socket(socket.AF_PACKET, socket.SOCK_RAW); \
         s.bind(('{dev}', 0)); src=bytes([2,0,0,0,0x99,1]); \
         arp=struct.pack('!HHBBH', 1, 0x0800, 6, 4, 1)+src+bytes([10,250,0,4])+bytes(6)+bytes([10,250,0,99]); \
         s.send(b'\\xff'*6+src+struct.pack('!HH', 0x8100, {vid})+b'\\x08\\x06'+arp+bytes(18))\""
    ));
}

#[test]
fn tagged_frames_from_a_trunk_reach_their_vlan_only_and_disallowed_ones_are_counted() {
    if !can_run("tagged_frames_from_a_trunk_reach_their_vlan_only_and_disallowed_ones_are_counted")
    {
        return;
    }
    let lab = Lab::start("w", "", "10.250.0", &["a10", "b10", "c20", "trunk"]);
    let (oc, hosts) = (&lab.oc, &lab.hosts);
    let tap = |name: &str| lab.tap(name);
    let trunk = tap("trunk");
    let heard = |host: usize, vid: u16| {
        sniff_during(
            &hosts[host],
            &tap(["a10", "b10", "c20"][host]),
            2,
            &["--proto", "arp", "--vlan", "0"],
            || {
                send_tagged_arp(&hosts[3], &trunk, vid);
            },
        )
    };
    assert!(
        heard(2, 20) >= 1,
        "c20 did not get the trunk's VLAN 20 broadcast (untagged)"
    );
    assert_eq!(heard(0, 20), 0, "a10 got a VLAN 20 frame");
    assert_eq!(heard(0, 30), 0, "a VLAN the trunk does not carry leaked");
    let ports = oc.show("ports");
    let trunk_drops = ports
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == trunk.as_str()))
        .map(|p| p["counters"]["drops"]["vlan_not_allowed"].clone());
    assert_eq!(trunk_drops, Some(serde_json::json!(1)), "{ports}");
}

#[test]
fn kernel_vxlan_clients_on_two_vnis_reach_only_their_vlan_through_one_hub() {
    if !can_run("kernel_vxlan_clients_on_two_vnis_reach_only_their_vlan_through_one_hub") {
        return;
    }
    let (a10, c20) = (unique("a"), unique("c"));
    let sw = Netns::new("s");
    let underlay = Underlay::new(&sw, "10.252.0");
    let oc = Overcast::start_config(
        &sw,
        &format!(
            "[[tap]]\nname = \"{a10}\"\nvlan_mode = \"access\"\nvlan = 10\n\
             [[tap]]\nname = \"{c20}\"\nvlan_mode = \"access\"\nvlan = 20\n\
             [[listener]]\nbind = \"0.0.0.0:4789\"\nencap = \"vxlan\"\nvnis = {{ 1010 = 10, 1020 = 20 }}\n"
        ),
        "",
    );
    let (ha, hc) = (Netns::new("h"), Netns::new("h"));
    for (h, t, ip) in [(&ha, &a10, "1"), (&hc, &c20, "3")] {
        no_ipv6(h);
        move_tap(&sw, t, h, &format!("10.251.0.{ip}/24"));
    }
    let vx: Vec<Netns> = (0..3).map(|_| Netns::new("v")).collect();
    for (i, (h, vni)) in vx.iter().zip([1010, 1020, 1030]).enumerate() {
        no_ipv6(h);
        let local = underlay.attach(h, i as u8 + 1);
        kernel_vxlan(
            h,
            vni,
            &local,
            &underlay.hub_ip(),
            &format!("10.251.0.{}/24", 11 + i),
        );
    }
    // Generous waits: under a loaded test run a first ARP round can take seconds.
    assert!(
        vx[0].ping_within("10.251.0.1", 20),
        "VNI 1010 did not reach VLAN 10: {}",
        oc.log_text()
    );
    assert!(
        vx[1].ping_within("10.251.0.3", 20),
        "VNI 1020 did not reach VLAN 20: {}\n{}\n{}",
        oc.show("fdb"),
        oc.show("vlans"),
        oc.log_text()
    );
    assert!(!vx[0].pings("10.251.0.3"), "VNI 1010 reached VLAN 20");
    assert!(
        !vx[0].pings("10.251.0.12"),
        "VNI 1010 reached the VNI 1020 client"
    );
    assert!(!vx[2].pings("10.251.0.1"), "an unmapped VNI got through");
    let state = oc.show("state");
    let counters = &state["listeners"][0]["counters"];
    assert!(counters["drop_wrong_vni"].as_u64() > Some(0), "{counters}");
    assert_eq!(
        state["listeners"][0]["vnis"],
        serde_json::json!({"1010": 10, "1020": 20})
    );
    let vlans = oc.show("vlans");
    let peer = vlans
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["port"] == "vxlan/10.252.0.1"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (peer["mode"].as_str(), &peer["vlans"]),
        (Some("vni"), &serde_json::json!([10])),
        "{vlans}"
    );
}

#[test]
fn snooping_and_the_querier_run_per_vlan_with_kernel_hosts() {
    if !can_run("snooping_and_the_querier_run_per_vlan_with_kernel_hosts") {
        return;
    }
    let ports = ["a10", "b10", "c20", "trunk"];
    let lab = Lab::start(
        "m",
        "[multicast]\nquery_interval = \"2s\"\nquery_response_interval = \"1s\"\n",
        "10.253.0",
        &ports,
    );
    let (oc, hosts) = (&lab.oc, &lab.hosts);
    let tap = |name: &str| lab.tap(name);
    for (i, name) in ports.iter().enumerate() {
        hosts[i].run(&format!("ip route add 224.0.0.0/4 dev {}", tap(name)));
    }
    let group = "239.7.7.7";
    // Each VLAN has its own querier, and its queries reach the trunk tagged.
    let queries = |vlan: &str| {
        sniff_during(
            &hosts[3],
            &tap("trunk"),
            3,
            &["--proto", "igmp", "--vlan", vlan],
            || {},
        )
    };
    assert!(queries("10") >= 1, "no VLAN 10 query on the trunk");
    assert!(queries("20") >= 1, "no VLAN 20 query on the trunk");

    let member = spawn_tool_ready(
        &hosts[0],
        "mcast.py",
        &["recv", group, "5000", "5", "--iface", &tap("a10")],
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let on_trunk = sniff_during(
        &hosts[3],
        &tap("trunk"),
        3,
        &["--proto", "udp", "--dst", group],
        || {
            hosts[1].run(&format!(
                "python3 {} send {group} 5000 20 --iface {}",
                tool("mcast.py"),
                tap("b10")
            ));
        },
    );
    assert_eq!(count_of(member), 20, "the VLAN 10 member lost datagrams");
    assert_eq!(
        on_trunk, 0,
        "the trunk is no member: VLAN 10's group is pruned there"
    );

    // The join opened the group in VLAN 10 only.
    let mdb = oc.show("mdb");
    let vlans: std::collections::BTreeSet<u64> = mdb["groups"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter(|r| r["group"] == group && r["reason"] == "member")
                .filter_map(|r| r["vlan"].as_u64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(vlans, [10].into_iter().collect(), "{mdb}");
    let queriers = oc.show("querier");
    let ours: Vec<u64> = queriers
        .as_array()
        .map(|q| {
            q.iter()
                .filter(|q| q["family"] == "v4" && q["role"] == "querier")
                .filter_map(|q| q["vlan"].as_u64())
                .collect()
        })
        .unwrap_or_default();
    assert!(ours.contains(&10) && ours.contains(&20), "{queriers}");
}

/// (outer tag, source MAC) of every frame in a pcap.
fn tags_and_sources(path: &std::path::Path) -> Vec<(Option<u16>, [u8; 6])> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = overcast::pcap::PcapReader::new(std::io::BufReader::new(file)).expect("pcap");
    let mut out = Vec::new();
    while let Some(rec) = reader.next_record().expect("record") {
        if let Ok(eth) = overcast::packet::ethernet::EthernetFrame::new_checked(&rec.data) {
            out.push((eth.tag(), eth.src().0));
        }
    }
    out
}

#[test]
fn the_tagged_golden_scenario_keeps_vlans_apart_in_replay() {
    // Recorded from kernel hosts (pcaps/vlan-access-trunk/traffic.sh); its
    // outputs are checked byte for byte by tests/pcap_scenarios.rs. Here: what they mean.
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pcaps/vlan-access-trunk"
    ));
    let sources = |port: &str| -> std::collections::BTreeSet<[u8; 6]> {
        tags_and_sources(&dir.join(format!("{port}.in.pcap")))
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    };
    let (p1, p3) = (sources("p1"), sources("p3"));
    let trunk_raw = [2, 0, 0, 0, 0x99, 4];
    let out = |port: &str| tags_and_sources(&dir.join("expected").join(format!("{port}.pcap")));
    let own = overcast::switch::DEFAULT_MAC.0;
    let p4 = out("p4");
    assert!(
        p4.iter().any(|(t, s)| *t == Some(10) && p1.contains(s)),
        "p1's frames reach the trunk tagged 10"
    );
    assert!(
        p4.iter().any(|(t, s)| *t == Some(20) && p3.contains(s)),
        "p3's frames reach the trunk tagged 20"
    );
    assert!(
        p4.iter().all(|(t, s)| t.is_some() || *s == own),
        "only the native VLAN's queries leave untagged"
    );
    assert!(
        out("p3").contains(&(None, trunk_raw)),
        "the trunk's VLAN 20 broadcast reaches p3 untagged"
    );
    assert!(
        out("p1")
            .iter()
            .all(|(_, s)| *s != trunk_raw && !p3.contains(s)),
        "nothing of VLAN 20 in VLAN 10"
    );
    assert!(
        out("p1")
            .iter()
            .chain(out("p3").iter())
            .all(|(t, _)| t.is_none()),
        "access ports get untagged frames"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected/state.json")).expect("state"))
            .expect("json");
    let trunk = state["switch"]["ports"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "p4"))
        .cloned();
    assert_eq!(
        trunk.map(|t| t["counters"]["drops"]["vlan_not_allowed"].clone()),
        Some(1.into()),
        "VLAN 30"
    );
}

#[test]
fn a_reload_moves_a_port_to_another_vlan_and_the_others_lose_nothing() {
    if !can_run("a_reload_moves_a_port_to_another_vlan_and_the_others_lose_nothing") {
        return;
    }
    let lab = Lab::start("r", "", "10.249.0", &["a10", "b10", "c20"]);
    let (oc, hosts) = (&lab.oc, &lab.hosts);
    let tap = |name: &str| lab.tap(name);
    assert!(
        hosts[0].ping_within("10.249.0.2", 20),
        "a10 cannot reach b10"
    );
    assert!(
        !hosts[2].pings("10.249.0.2"),
        "c20 reached b10 before the move"
    );
    // a10 keeps pinging b10 while c20 moves from VLAN 20 to VLAN 10.
    let pinger = spawn_ping(&hosts[0], "10.249.0.2", 40, "0.05");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let file = oc.config.clone().expect("config file");
    let moved = lab.config.replace(
        &format!(
            "name = \"{}\"\nvlan_mode = \"access\"\nvlan = 20",
            tap("c20")
        ),
        &format!(
            "name = \"{}\"\nvlan_mode = \"access\"\nvlan = 10",
            tap("c20")
        ),
    );
    assert_ne!(moved, lab.config, "the example's c20 port was not found");
    std::fs::write(&file, moved).expect("config rewritten");
    let (ok, out) = oc.ctl("reload");
    assert!(ok, "reload failed: {out}");
    let done = pinger.wait_with_output().expect("ping ends");
    let text = String::from_utf8_lossy(&done.stdout);
    assert!(
        text.contains("40 received"),
        "a10 lost pings to b10 during the reload:\n{text}"
    );
    // c20 is in VLAN 10 now, and what it learned in VLAN 20 is gone.
    assert!(
        hosts[2].ping_within("10.249.0.2", 20),
        "c20 cannot reach b10 after the move"
    );
    let vlans = oc.show("vlans");
    let c20 = vlans
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["port"] == tap("c20")))
        .map(|r| r["pvid"].clone());
    assert_eq!(c20, Some(10.into()), "{vlans}");
    let fdb = oc.show("fdb");
    assert!(
        fdb.as_array().is_some_and(|rows| rows
            .iter()
            .filter(|r| r["port"] == tap("c20"))
            .all(|r| r["vlan"] == 10)),
        "c20's VLAN 20 entries survived the move: {fdb}"
    );
}
