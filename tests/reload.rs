//! Live reload: ports come and go without a restart, and a bad config changes nothing.

mod common;

use common::*;
use std::time::{Duration, Instant};

fn port_names(oc: &Overcast) -> Vec<String> {
    oc.show("ports")
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn reload_adds_and_removes_ports_without_losing_a_ping_and_refuses_bad_configs() {
    if !can_run("reload_adds_and_removes_ports_without_losing_a_ping_and_refuses_bad_configs") {
        return;
    }
    let lab = TapLab::new(2, Some("[fdb]\nageing_time = \"300s\"\n"), "10.230.0", "30");
    let oc = &lab.oc;
    let file = oc.config.clone().unwrap();
    assert!(lab.hosts[0].ping_within(&lab.ips[1], 10));
    let macs_before = oc.show("fdb").as_array().unwrap().len();

    // Pings run between the two hosts for the whole test.
    let pinger = spawn_ping(&lab.hosts[0], &lab.ips[1], 80, "0.05");

    // Add a TAP port and change a timer through `overcast reload`.
    let extra = unique("t");
    std::fs::write(
        &file,
        format!("[fdb]\nageing_time = \"200s\"\n\n[[tap]]\nname = \"{extra}\"\n"),
    )
    .unwrap();
    let (ok, out) = oc.ctl("reload");
    assert!(ok, "reload failed: {out}");
    assert!(out.contains(&format!("tap {extra}")), "{out}");
    let end = Instant::now() + Duration::from_secs(5);
    while !lab
        .sw
        .exec(&format!("ip link show {extra}"))
        .status
        .success()
    {
        assert!(Instant::now() < end, "the added TAP never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(port_names(oc).contains(&extra));

    // A bad config is refused with the field and reason; the running one stays.
    std::fs::write(&file, "[fdb]\nageing_time = \"soon\"\n").unwrap();
    let (ok, out) = oc.ctl("reload");
    assert!(!ok, "a bad config was accepted");
    assert!(
        out.contains("ageing_time") && out.contains("invalid duration"),
        "{out}"
    );
    assert!(
        port_names(oc).contains(&extra),
        "the refused reload changed the ports"
    );

    // SIGHUP reloads too: remove the extra port again.
    std::fs::write(&file, "[fdb]\nageing_time = \"300s\"\n").unwrap();
    run(&format!("kill -HUP {}", oc.pid()));
    let end = Instant::now() + Duration::from_secs(5);
    while port_names(oc).contains(&extra) {
        assert!(Instant::now() < end, "SIGHUP did not remove the port");
        std::thread::sleep(Duration::from_millis(50));
    }

    let out = pinger.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(" 0% packet loss"),
        "pings were lost across reloads:\n{text}"
    );
    // The unchanged ports kept what they had learned.
    assert!(oc.show("fdb").as_array().unwrap().len() >= macs_before);
    assert!(
        port_names(oc)
            .iter()
            .filter(|n| lab.taps.contains(n))
            .count()
            == 2
    );
}
