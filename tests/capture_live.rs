//! Live capture with real hosts: record what the TAP ports receive, replay
//! it, and get the same forwarding database and the same forwarded frames.

mod common;
mod support;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;

/// Frames sent by one of `stations` (so frames the switch itself originates,
/// whose timing differs between a live run and a replay, are left out).
fn from_stations(path: &Path, stations: &[[u8; 6]]) -> Vec<Vec<u8>> {
    support::frames_of(path)
        .into_iter()
        .filter(|f| f.len() >= 12 && stations.iter().any(|s| f[6..12] == s[..]))
        .collect()
}

fn parse_mac(s: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (i, part) in s.split(':').enumerate().take(6) {
        m[i] = u8::from_str_radix(part, 16).unwrap_or(0);
    }
    m
}

#[test]
fn live_capture_replays_to_the_same_fdb_and_forwarding() {
    if !can_run("live_capture_replays_to_the_same_fdb_and_forwarding") {
        return;
    }
    let sw = Netns::new("s");
    let hosts = [Netns::new("h"), Netns::new("h")];
    let taps = [unique("t"), unique("t")];
    let cap = TempDir::new();
    let mut oc = Overcast::start(
        &sw,
        &format!(
            "--tap {} --tap {} --capture {}",
            taps[0],
            taps[1],
            cap.path().display()
        ),
    );
    let ips = ["10.202.0.1", "10.202.0.2"];
    for i in 0..2 {
        move_tap(&sw, &taps[i], &hosts[i], &format!("{}/24", ips[i]));
    }
    assert!(hosts[0].ping_within(ips[1], 10), "h1 cannot ping h2");
    hosts[1].run(&format!("ping -c 3 -i 0.2 -W 1 {}", ips[0]));

    let live: BTreeSet<(String, String)> = oc
        .show("fdb")
        .as_array()
        .expect("fdb list")
        .iter()
        .map(|e| {
            (
                e["mac"].as_str().unwrap_or_default().to_string(),
                e["port"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    // The TAPs vanish with the switch: note the hosts' MACs first.
    let macs: Vec<String> = (0..2).map(|i| mac_of(&hosts[i], &taps[i])).collect();
    let stations: Vec<[u8; 6]> = macs.iter().map(|m| parse_mac(m)).collect();
    let state = oc.show("state");
    assert_eq!(state["capture"]["capture_dropped"], 0, "{state}");
    assert!(oc.terminate(), "overcast did not stop on SIGTERM");

    // Replay exactly what each port received.
    let replayed = TempDir::new();
    let inputs: Vec<(String, std::path::PathBuf)> = taps
        .iter()
        .map(|t| (t.clone(), cap.path().join(format!("{t}.in.pcap"))))
        .collect();
    let refs: Vec<(&str, &Path)> = inputs
        .iter()
        .map(|(t, p)| (t.as_str(), p.as_path()))
        .collect();
    let report = support::run(&support::options(&refs, replayed.path()))
        .unwrap_or_else(|e| panic!("replay of the live capture failed: {e}"));
    assert!(report.stats.frames_fed > 0);

    let replay_state = support::json(&replayed.path().join("state.json"));
    let replay_fdb: BTreeSet<(String, String)> =
        support::fdb_rows(&replay_state).into_iter().collect();
    for i in 0..2 {
        let mac = &macs[i];
        assert!(
            live.contains(&(mac.clone(), taps[i].clone())),
            "{mac} not learned live on {}: {live:?}",
            taps[i]
        );
    }
    assert_eq!(
        replay_fdb, live,
        "the replay learned what the live switch learned"
    );

    // And it forwarded the hosts' frames to the same ports, in the same order.
    for t in &taps {
        let live_out = from_stations(&cap.path().join(format!("{t}.out.pcap")), &stations);
        let replay_out = from_stations(&replayed.path().join(format!("{t}.pcap")), &stations);
        assert!(!live_out.is_empty(), "nothing was sent out of {t}");
        assert_eq!(live_out, replay_out, "frames out of {t} differ");
    }
}
