//! Two switching workers: ports spread over threads that share one FDB.
//! Concurrent TCP streams through TAPs and through the hub must arrive
//! intact, and the table must hold every host on its own port.

mod common;

use common::*;

/// Threads of process `pid` named `overcast-worker`.
fn worker_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|tasks| {
            tasks
                .flatten()
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        .is_ok_and(|c| c.trim() == "overcast-worker")
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn two_workers_carry_concurrent_tcp_streams_and_keep_one_fdb() {
    if !can_run("two_workers_carry_concurrent_tcp_streams_and_keep_one_fdb") {
        return;
    }
    let lab = TapLab::new(4, Some("workers = 2\n"), "10.207.0", "07");
    assert_eq!(worker_threads(lab.oc.pid()), 2, "not running two workers");
    for (i, host) in lab.hosts.iter().enumerate() {
        for (j, ip) in lab.ips.iter().enumerate() {
            if i != j {
                assert!(host.ping_within(ip, 10), "host {i} cannot ping {ip}");
            }
        }
    }

    // Two streams at once, each ingress port busy on its own.
    let h = &lab.hosts;
    concurrent_tcp_transfers(
        &[(&h[0], &h[1], &lab.ips[1]), (&h[2], &h[3], &lab.ips[3])],
        64 << 20,
    );

    lab.assert_each_host_learned_on_its_port();
}

#[test]
fn a_hub_with_two_workers_carries_tcp_between_kernel_vxlan_hosts() {
    if !can_run("a_hub_with_two_workers_carries_tcp_between_kernel_vxlan_hosts") {
        return;
    }
    let hub = Netns::new("w");
    let ul = Underlay::new(&hub, "10.208.0");
    let oc = Overcast::start(&hub, "--workers 2");
    let (hosts, _) = ul.vxlan_hosts(3, "10.209.0");
    let ips: Vec<String> = (1..=3).map(|i| format!("10.209.0.{i}")).collect();
    hosts.iter().for_each(vxlan_computes_checksums);
    assert!(hosts[0].ping_within(&ips[1], 10));
    assert!(hosts[2].ping_within(&ips[0], 10));
    assert_eq!(worker_threads(oc.pid()), 2, "not running two workers");
    assert!(
        oc.log_text().contains("sockets=2"),
        "listeners are not sharded over the workers"
    );
    concurrent_tcp_transfers(
        &[
            (&hosts[0], &hosts[1], &ips[1]),
            (&hosts[2], &hosts[0], &ips[0]),
        ],
        16 << 20,
    );
}

#[test]
fn one_worker_switches_on_the_main_thread_alone() {
    if !can_run("one_worker_switches_on_the_main_thread_alone") {
        return;
    }
    let lab = TapLab::new(2, Some("workers = 1\n"), "10.206.0", "06");
    assert!(lab.hosts[0].ping_within(&lab.ips[1], 10));
    assert_eq!(
        worker_threads(lab.oc.pid()),
        0,
        "worker threads with workers = 1"
    );
    let (sent, got) = tcp_transfer(&lab.hosts[0], &lab.hosts[1], &lab.ips[1], 16 << 20);
    assert_eq!(sent, got, "TCP data differs");
}
