//! What a newcomer meets first: which listeners `run` opens with no config,
//! and finding a running instance by name or because it is the only one.

mod common;

use common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn listener_names(oc: &Overcast) -> Vec<String> {
    names(&oc.show("state")["listeners"])
}

#[test]
fn a_tap_only_run_is_a_lab_switch_and_listeners_come_only_when_asked() {
    if !can_run("a_tap_only_run_is_a_lab_switch_and_listeners_come_only_when_asked") {
        return;
    }
    let ns = Netns::new("n");
    let lab = Overcast::start(&ns, &format!("--tap {}", unique("t")));
    assert!(
        listener_names(&lab).is_empty(),
        "a lab switch opened listeners"
    );
    let hub = Overcast::start(&ns, &format!("--tap {} --hub", unique("t")));
    assert_eq!(listener_names(&hub), ["vxlan", "raw"]);
    drop(hub);
    let one = Overcast::start(
        &ns,
        &format!("--tap {} --listen raw://127.0.0.1:5555", unique("t")),
    );
    assert_eq!(listener_names(&one), ["raw"]);
    let bare = Overcast::start(&ns, "");
    assert_eq!(
        listener_names(&bare),
        ["vxlan", "raw"],
        "no ports at all is the hub"
    );
}

/// `overcast run --name NAME ARGS` in `ns`, its sockets under `dir`.
fn named(ns: &Netns, dir: &Path, name: &str, args: &str) -> Child {
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            env!("CARGO_BIN_EXE_overcast"),
            "run",
            "--name",
            name,
        ])
        .args(args.split_whitespace())
        .env("RUNTIME_DIRECTORY", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("overcast starts");
    let sock = dir.join(format!("{name}.sock"));
    let end = Instant::now() + Duration::from_secs(10);
    while !sock.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(sock.exists(), "{name} made no socket at {}", sock.display());
    child
}

/// `overcast ARGS` as a client, with sockets under `dir`: (success, stdout, stderr).
fn client(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_overcast"))
        .args(args)
        .env("RUNTIME_DIRECTORY", dir)
        .output()
        .expect("overcast runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn instances_are_reached_by_name_or_as_the_only_one_running() {
    if !can_run("instances_are_reached_by_name_or_as_the_only_one_running") {
        return;
    }
    let dir = TempDir::new();
    let (n1, n2) = (Netns::new("a"), Netns::new("b"));
    let (t1, t2) = (unique("t"), unique("t"));
    let mut first = named(&n1, dir.path(), "edge1", &format!("--tap {t1}"));
    let (ok, out, err) = client(dir.path(), &["show", "ports", "--json"]);
    assert!(
        ok && out.contains(&t1),
        "the only instance answers without a name: {err}"
    );

    let mut second = named(&n2, dir.path(), "edge2", &format!("--tap {t2}"));
    let (ok, _, err) = client(dir.path(), &["show", "ports"]);
    assert!(!ok, "two instances and no name must not pick one");
    assert!(
        err.contains("edge1") && err.contains("edge2") && err.contains("--name"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (ok, out, err) = client(dir.path(), &["show", "ports", "--json", "--name", "edge2"]);
    assert!(ok && out.contains(&t2) && !out.contains(&t1), "{err}");

    for child in [&mut first, &mut second] {
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let _ = child.wait();
    }
    assert!(
        !dir.path().join("edge1.sock").exists(),
        "the socket is removed on exit"
    );
}

/// Send `n` UDP datagrams from `host` to `ip:port` (python3, so no tool is needed beyond it).
fn udp_burst(host: &Netns, ip: &str, port: u16, n: usize) {
    host.run(&format!(
        "python3 -c \"import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); \
         [s.sendto(b'x'*100, ('{ip}', {port})) for _ in range({n})]\""
    ));
}

fn listener_counter(hub: &Overcast, name: &str) -> u64 {
    hub.show("state")["listeners"][0]["counters"][name]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn the_hub_points_at_senders_whose_inner_checksums_are_unfinished() {
    if !can_run("the_hub_points_at_senders_whose_inner_checksums_are_unfinished") {
        return;
    }
    let hub_ns = Netns::new("h");
    let underlay = Underlay::new(&hub_ns, "10.231.0");
    let hub = Overcast::start(&hub_ns, "");
    let (hosts, _) = underlay.vxlan_hosts(2, "10.232.0");
    assert!(
        hosts[0].ping_within("10.232.0.2", 10),
        "the hosts do not reach each other"
    );
    // Over veth, the kernel's vxlan device leaves the inner UDP checksum to an offload.
    udp_burst(&hosts[0], "10.232.0.2", 9999, 64);
    std::thread::sleep(Duration::from_millis(300));
    let (checked, bad) = (
        listener_counter(&hub, "inner_csum_checked"),
        listener_counter(&hub, "inner_csum_bad"),
    );
    assert!(bad >= 2 && bad <= checked, "checked {checked}, bad {bad}");
    let (_, text) = hub.ctl("show counters");
    assert!(
        text.contains("ethtool -K"),
        "show counters says what to do:\n{text}"
    );

    // Once the sender completes its checksums, the samples come out clean.
    vxlan_computes_checksums(&hosts[0]);
    udp_burst(&hosts[0], "10.232.0.2", 9999, 64);
    std::thread::sleep(Duration::from_millis(300));
    assert!(listener_counter(&hub, "inner_csum_checked") >= checked + 2);
    assert_eq!(listener_counter(&hub, "inner_csum_bad"), bad);
}
