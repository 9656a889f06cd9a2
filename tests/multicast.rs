//! Real kernel hosts joining groups through their IP stacks: IGMP/MLD snooping, the querier, and election.

mod common;

use common::*;
use std::time::Duration;

/// Short RFC timers so membership ageing, leaves and elections play out in seconds.
/// GMI = 2 × 2 s + 1 s = 5 s; LMQT = 2 × 0.5 s; Other Querier Present = 4.5 s.
const FAST: &str = r#"
[multicast]
query_interval = "2s"
query_response_interval = "1s"
last_member_query_interval = "500ms"
"#;

fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// Hosts 0 and 1 join `group` (from `source` only, if given), host 2 sends
/// `count` datagrams; returns what hosts 0 and 1 received and what host 3's
/// interface saw of the group's traffic.
fn members_vs_bystander(lab: &TapLab, group: &str, count: u32) -> (u64, u64, u64) {
    let mut receivers = Vec::new();
    for i in 0..2 {
        receivers.push(lab.spawn_ready(
            i,
            "mcast.py",
            &["recv", group, "5000", "6", "--iface", &lab.taps[i]],
        ));
    }
    let sniffer = lab.spawn_ready(
        3,
        "sniff.py",
        &[&lab.taps[3], "5", "--proto", "udp", "--dst", group],
    );
    // Let the unsolicited reports arrive and the querier's pruning start.
    sleep_ms(1500);
    lab.hosts[2].run(&format!(
        "python3 {} send {group} 5000 {count} --iface {}",
        tool("mcast.py"),
        lab.taps[2]
    ));
    let a = count_of(receivers.remove(0));
    let b = count_of(receivers.remove(0));
    (a, b, count_of(sniffer))
}

/// Once the querier has existed for its max response time (pruning starts, C8),
/// both members get all 50 datagrams of `group` and the bystander none.
fn members_get_all_and_the_bystander_nothing(lab: &TapLab, group: &str) {
    sleep_ms(1200);
    let (a, b, bystander) = members_vs_bystander(lab, group, 50);
    assert_eq!((a, b), (50, 50), "members of {group} lost datagrams");
    assert_eq!(
        bystander, 0,
        "the host that joined nothing received {group}"
    );
}

#[test]
fn igmp_members_receive_and_a_non_member_gets_nothing() {
    if !can_run("igmp_members_receive_and_a_non_member_gets_nothing") {
        return;
    }
    let lab = TapLab::new(4, Some(FAST), "10.220.0", "22");
    members_get_all_and_the_bystander_nothing(&lab, "239.1.1.1");
    let mdb = lab.oc.show("mdb");
    let groups = mdb["groups"].as_array().unwrap();
    assert!(
        groups
            .iter()
            .all(|g| g["group"] != "239.1.1.1" || g["reason"] == "member"),
        "{mdb}"
    );
}

#[test]
fn with_two_workers_members_receive_and_a_non_member_gets_nothing() {
    if !can_run("with_two_workers_members_receive_and_a_non_member_gets_nothing") {
        return;
    }
    // The ports run on two threads; the MDB they consult is still one.
    let lab = TapLab::new(4, Some(&format!("workers = 2\n{FAST}")), "10.229.0", "29");
    members_get_all_and_the_bystander_nothing(&lab, "239.1.1.2");
}

#[test]
fn mld_members_receive_and_a_non_member_gets_nothing() {
    if !can_run("mld_members_receive_and_a_non_member_gets_nothing") {
        return;
    }
    let lab = TapLab::new(4, Some(FAST), "10.221.0", "23");
    members_get_all_and_the_bystander_nothing(&lab, "ff15::1234");
}

#[test]
fn igmpv3_source_specific_members_get_only_their_sources() {
    if !can_run("igmpv3_source_specific_members_get_only_their_sources") {
        return;
    }
    let lab = TapLab::new(4, Some(FAST), "10.222.0", "24");
    sleep_ms(1200);
    let group = "232.1.1.1";
    // Host 0 wants the group from host 2 only; host 1 from host 3 only.
    let mut joins = Vec::new();
    for (i, source) in [(0usize, 2usize), (1, 3)] {
        joins.push(lab.spawn_ready(
            i,
            "mcast.py",
            &[
                "recv",
                group,
                "5000",
                "7",
                "--iface",
                &lab.taps[i],
                "--source",
                &lab.ips[source],
            ],
        ));
    }
    // What actually reaches each member's interface, by source (the socket itself filters too).
    let mut sniffers = Vec::new();
    for (i, other) in [(0usize, 3usize), (1, 2)] {
        sniffers.push(lab.spawn_ready(
            i,
            "sniff.py",
            &[
                &lab.taps[i],
                "5",
                "--proto",
                "udp",
                "--dst",
                group,
                "--src",
                &lab.ips[other],
            ],
        ));
    }
    sleep_ms(1500);
    for sender in [2, 3] {
        lab.hosts[sender].run(&format!(
            "python3 {} send {group} 5000 30 --iface {}",
            tool("mcast.py"),
            lab.taps[sender]
        ));
    }
    let unwanted: Vec<u64> = sniffers.into_iter().map(count_of).collect();
    let wanted: Vec<u64> = joins.into_iter().map(count_of).collect();
    assert_eq!(
        wanted,
        vec![30, 30],
        "members did not get their chosen source"
    );
    assert_eq!(
        unwanted,
        vec![0, 0],
        "a member's port got a source it did not ask for"
    );
    let mdb = lab.oc.show("mdb");
    let include = mdb["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["group"] == group && g["filter_mode"] == "INCLUDE")
        .count();
    assert_eq!(include, 2, "expected two INCLUDE ports for {group}: {mdb}");
}

#[test]
fn own_querier_keeps_members_alive_past_gmi_and_a_leave_stops_traffic_quickly() {
    if !can_run("own_querier_keeps_members_alive_past_gmi_and_a_leave_stops_traffic_quickly") {
        return;
    }
    let lab = TapLab::new(3, Some(FAST), "10.223.0", "25");
    sleep_ms(1200);
    let group = "239.2.2.2";
    let stay = lab.spawn_ready(
        0,
        "mcast.py",
        &["recv", group, "5000", "14", "--iface", &lab.taps[0]],
    );
    let leaver = lab.spawn_ready(
        1,
        "mcast.py",
        &[
            "recv",
            group,
            "5000",
            "14",
            "--iface",
            &lab.taps[1],
            "--leave-after",
            "4",
        ],
    );
    sleep_ms(1000);
    // 12 s of traffic, well past the 5 s Group Membership Interval: only our queries keep it alive.
    let sender = lab.spawn(
        2,
        "mcast.py",
        &[
            "send",
            group,
            "5000",
            "120",
            "--iface",
            &lab.taps[2],
            "--interval",
            "0.1",
        ],
    );
    // The leave happens 4 s after host 1 joined; allow 1.5 s (LMQT is 1 s), then watch its port.
    sleep_ms(4000);
    let after_leave = lab.spawn_ready(
        1,
        "sniff.py",
        &[&lab.taps[1], "6", "--proto", "udp", "--dst", group],
    );
    let _ = sender.wait_with_output();
    let kept = count_of(stay);
    let leftover = count_of(after_leave);
    let _ = leaver.wait_with_output();
    assert!(
        kept >= 114,
        "the staying member lost its membership: got {kept} of 120"
    );
    assert_eq!(leftover, 0, "traffic still reached the host that left");
    let q = lab.oc.show("querier");
    let v4 = q
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["family"] == "v4")
        .unwrap();
    assert_eq!(v4["role"], "querier", "{q}");
    // General queries every 2 s for ~15 s, plus the group-specific ones after the leave.
    let counters = lab.oc.show("state")["switch"]["multicast"]["counters"].clone();
    let sent = counters["queries_sent"]["igmp_v3"].as_u64().unwrap();
    assert!(sent >= 7, "only {sent} IGMPv3 queries sent: {counters}");
    assert!(
        counters["leaves"]["igmp_v3"].as_u64().unwrap_or(0)
            + counters["reports"]["igmp_v3"].as_u64().unwrap()
            >= 4,
        "{counters}"
    );
}

#[test]
fn querier_yields_to_a_lower_address_and_resumes_when_it_goes_quiet() {
    if !can_run("querier_yields_to_a_lower_address_and_resumes_when_it_goes_quiet") {
        return;
    }
    // Switch A: our querier at 10.224.0.50, with a raw listener for switch B.
    let a_cfg = format!(
        "{FAST}querier_address_v4 = \"10.224.0.50\"\n\n[[listener]]\nbind = \"0.0.0.0:4800\"\nencap = \"raw\"\n"
    );
    let lab = TapLab::new(2, Some(&a_cfg), "10.224.0", "26");
    let ul = Underlay::new(&lab.sw, "10.225.0");
    let role = |oc: &Overcast| -> (String, String) {
        let q = oc.show("querier");
        let v4 = q
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["family"] == "v4")
            .cloned()
            .unwrap();
        (
            v4["role"].as_str().unwrap_or("").to_string(),
            v4["elected"].to_string(),
        )
    };
    let wait_role = |oc: &Overcast, want: &str, secs: u64| {
        let end = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let (r, elected) = role(oc);
            if r == want {
                return elected;
            }
            assert!(
                std::time::Instant::now() < end,
                "role stayed {r} (elected {elected}), wanted {want}"
            );
            sleep_ms(200);
        }
    };
    wait_role(&lab.oc, "querier", 5);

    // Switch B, an edge reaching A over the raw tunnel, queries from the lower 10.224.0.1.
    let edge = Netns::new("e");
    ul.attach(&edge, 1);
    let b_cfg = format!("{FAST}querier_address_v4 = \"10.224.0.1\"\n");
    let b = Overcast::start_config(&edge, &b_cfg, &format!("--peer raw://{}:4800", ul.hub_ip()));
    let elected = wait_role(&lab.oc, "non_querier", 10);
    assert!(elected.contains("10.224.0.1"), "elected {elected}");
    assert_eq!(role(&b).0, "querier", "the lower address must stay querier");

    // B goes quiet: A resumes after the Other Querier Present Interval (4.5 s here).
    drop(b);
    let resumed_at = std::time::Instant::now();
    wait_role(&lab.oc, "querier", 10);
    let took = resumed_at.elapsed();
    // B's last query was at most one query interval (2 s) before it stopped.
    assert!(
        took >= Duration::from_secs(2),
        "resumed after only {took:?}: the other-querier timer was not honoured"
    );
}

#[test]
fn static_fdb_and_mdb_entries_are_added_and_removed_at_run_time() {
    if !can_run("static_fdb_and_mdb_entries_are_added_and_removed_at_run_time") {
        return;
    }
    let lab = TapLab::new(3, Some(FAST), "10.226.0", "27");
    let oc = &lab.oc;
    // FDB: pin a MAC, see it static, remove it.
    let (ok, out) = oc.ctl(&format!("fdb add 02:00:00:00:00:99 --port {}", lab.taps[1]));
    assert!(ok, "{out}");
    let fdb = oc.show("fdb");
    let pinned = fdb
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["mac"] == "02:00:00:00:00:99")
        .cloned();
    assert_eq!(
        pinned.as_ref().map(|e| e["is_static"].clone()),
        Some(serde_json::json!(true)),
        "{fdb}"
    );
    assert!(oc.ctl("fdb del 02:00:00:00:00:99").0);
    assert!(!oc.show("fdb").to_string().contains("02:00:00:00:00:99"));
    assert!(
        !oc.ctl("fdb add 01:00:5e:00:00:01 --port nope").0,
        "a bad entry was accepted"
    );

    // MDB: host 2 never joins 239.9.9.9, yet a static entry sends it the group.
    sleep_ms(1200);
    let (ok, out) = oc.ctl(&format!("mdb add 239.9.9.9 --port {}", lab.taps[2]));
    assert!(ok, "{out}");
    let mdb = oc.show("mdb");
    assert!(
        mdb["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["group"] == "239.9.9.9" && r["reason"] == "static"),
        "{mdb}"
    );
    let send = || {
        lab.hosts[0].run(&format!(
            "python3 {} send 239.9.9.9 5000 20 --iface {}",
            tool("mcast.py"),
            lab.taps[0]
        ));
    };
    let got = sniff_during(
        &lab.hosts[2],
        &lab.taps[2],
        3,
        &["--proto", "udp", "--dst", "239.9.9.9"],
        send,
    );
    assert_eq!(got, 20, "the static member did not get the group");
    assert!(
        oc.ctl(&format!("mdb del 239.9.9.9 --port {}", lab.taps[2]))
            .0
    );
    let got = sniff_during(
        &lab.hosts[2],
        &lab.taps[2],
        3,
        &["--proto", "udp", "--dst", "239.9.9.9"],
        send,
    );
    assert_eq!(
        got, 0,
        "the group still reached the port after its static entry was removed"
    );
}
