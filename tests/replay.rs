//! Replay of pcaps built in code: forwarding into per-port outputs, the
//! virtual clock, state files, determinism, and bad input.

mod support;

use overcast::config::Config;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::*;

const MS: Duration = Duration::from_millis(1);

#[test]
fn arp_broadcast_floods_to_every_other_port_including_silent_taps() {
    let tmp = Tmp::new();
    let (a, b) = (tmp.join("a-in.pcap"), tmp.join("b-in.pcap"));
    write_pcap(&a, &[(Duration::ZERO, arp_request(1, 2))]);
    write_pcap(&b, &[]);
    let out = tmp.join("out");
    let mut opts = options(&[("a", &a), ("b", &b)], &out);
    opts.config = Config::parse("[[tap]]\nname = \"quiet\"\n", Path::new("t.toml")).unwrap();
    run(&opts).unwrap();

    assert_eq!(forwarded(&out.join("b.pcap")), vec![arp_request(1, 2)]);
    assert_eq!(forwarded(&out.join("quiet.pcap")), vec![arp_request(1, 2)]);
    assert!(
        forwarded(&out.join("a.pcap")).is_empty(),
        "never back out of the ingress port"
    );
    let state = json(&out.join("state.json"));
    let queries = originated(&out.join("quiet.pcap"), T0).len() as u64;
    assert_eq!(port_counters(&state, "quiet")["tx_frames"], 1 + queries);
    assert_eq!(
        fdb_rows(&state),
        vec![("02:00:00:00:00:01".to_string(), "a".to_string())]
    );
}

#[test]
fn unicast_after_learning_goes_to_exactly_one_port() {
    let tmp = Tmp::new();
    let (a, b, c) = (tmp.join("a.in"), tmp.join("b.in"), tmp.join("c.in"));
    // A asks for B (flood), B answers A (A is known: only a), A then talks to B (only b).
    write_pcap(
        &a,
        &[
            (Duration::ZERO, arp_request(1, 2)),
            (2 * MS, unicast(1, 2, 0xab)),
        ],
    );
    write_pcap(&b, &[(MS, unicast(2, 1, 0xba))]);
    write_pcap(&c, &[]);
    let out = tmp.join("out");
    let report = run(&options(&[("a", &a), ("b", &b), ("c", &c)], &out)).unwrap();

    assert_eq!(forwarded(&out.join("a.pcap")), vec![unicast(2, 1, 0xba)]);
    assert_eq!(
        forwarded(&out.join("b.pcap")),
        vec![arp_request(1, 2), unicast(1, 2, 0xab)]
    );
    assert_eq!(forwarded(&out.join("c.pcap")), vec![arp_request(1, 2)]);
    assert_eq!(report.stats.frames_fed, 3);
    assert_eq!(report.stats.frames_forwarded, 3);
    let state = json(&out.join("state.json"));
    assert_eq!(
        fdb_rows(&state),
        vec![
            ("02:00:00:00:00:01".to_string(), "a".to_string()),
            ("02:00:00:00:00:02".to_string(), "b".to_string())
        ]
    );
}

#[test]
fn fdb_entry_ages_out_with_until_400s() {
    let tmp = Tmp::new();
    let a = tmp.join("a.pcap");
    write_pcap(&a, &[(Duration::ZERO, arp_request(1, 2))]);
    let out = tmp.join("out");
    let mut opts = options(&[("a", &a)], &out);
    opts.until = Some(Duration::from_secs(400));
    opts.state_at = vec![Duration::from_secs(299)];
    run(&opts).unwrap();

    let before = json(&out.join("state-299000.json"));
    assert_eq!(before["switch"]["now_ms"], 299_000);
    assert_eq!(
        fdb_rows(&before).len(),
        1,
        "still learned at 299 s: {before}"
    );
    assert_eq!(before["switch"]["fdb"][0]["age_ms"], 299_000);

    let after = json(&out.join("state.json"));
    assert_eq!(after["switch"]["now_ms"], 400_000);
    assert_eq!(after["replay"]["now_ms"], 400_000);
    assert!(fdb_rows(&after).is_empty(), "aged out by 400 s: {after}");
    assert_eq!(after["switch"]["fdb_counters"]["aged"], 1);
}

#[test]
fn timers_fire_at_their_exact_virtual_time_between_frames() {
    // Ageing 10 s: a station heard at 0 is forgotten by the sweep due at 10 s,
    // so a frame to it at 10.5 s floods again, and one at 9.5 s did not.
    let tmp = Tmp::new();
    let (a, b, c) = (tmp.join("a.pcap"), tmp.join("b.pcap"), tmp.join("c.pcap"));
    write_pcap(&a, &[(Duration::ZERO, arp_request(1, 9))]);
    write_pcap(
        &b,
        &[
            (Duration::from_millis(9_500), unicast(2, 1, 1)),
            (Duration::from_millis(10_500), unicast(2, 1, 2)),
        ],
    );
    write_pcap(&c, &[]);
    let out = tmp.join("out");
    let mut opts = options(&[("a", &a), ("b", &b), ("c", &c)], &out);
    opts.config = Config::parse("[fdb]\nageing_time = \"10s\"\n", Path::new("t.toml")).unwrap();
    run(&opts).unwrap();
    assert_eq!(
        forwarded(&out.join("c.pcap")),
        vec![arp_request(1, 9), unicast(2, 1, 2)]
    );
    let state = json(&out.join("state.json"));
    assert_eq!(state["switch"]["fdb_counters"]["aged"], 1);
}

#[test]
fn queries_the_switch_originates_appear_at_the_time_they_were_due() {
    // One query round every 10 s from time 0 (one startup query), both
    // families; a's frame at 15 s lands between the 10 s and 20 s rounds.
    let tmp = Tmp::new();
    let (a, b) = (tmp.join("a.pcap"), tmp.join("b.pcap"));
    write_pcap(
        &a,
        &[
            (Duration::ZERO, arp_request(1, 9)),
            (Duration::from_secs(15), arp_request(1, 8)),
        ],
    );
    write_pcap(&b, &[]);
    let out = tmp.join("out");
    let mut opts = options(&[("a", &a), ("b", &b)], &out);
    opts.config = Config::parse(
        "[multicast]\nquery_interval = \"10s\"\nquery_response_interval = \"5s\"\nstartup_query_count = 1\n",
        Path::new("t.toml"),
    )
    .unwrap();
    opts.until = Some(Duration::from_secs(35));
    let report = run(&opts).unwrap();

    let times: Vec<u64> = originated(&out.join("b.pcap"), T0)
        .iter()
        .map(|(at, _)| at.as_secs())
        .collect();
    assert_eq!(
        times,
        vec![0, 0, 10, 10, 20, 20, 30, 30],
        "query rounds at their deadlines"
    );
    assert_eq!(report.stats.frames_originated, 8);
    let order: Vec<(u64, bool)> = read_pcap(&out.join("b.pcap"))
        .iter()
        .map(|r| {
            let own = r.data.get(6..12) == Some(&overcast::switch::DEFAULT_MAC.0[..]);
            ((r.timestamp - T0).as_secs(), own)
        })
        .collect();
    let frame_at = order.iter().position(|&(t, own)| t == 15 && !own);
    let before = order.iter().position(|&(t, _)| t == 20);
    assert!(
        frame_at.is_some() && frame_at < before,
        "the 15 s frame sits between the rounds: {order:?}"
    );
}

#[test]
fn bad_length_frame_is_dropped_and_counted() {
    let tmp = Tmp::new();
    let (a, b) = (tmp.join("a.pcap"), tmp.join("b.pcap"));
    write_pcap(&a, &[(Duration::ZERO, vec![0x02; 10])]);
    write_pcap(&b, &[]);
    let out = tmp.join("out");
    let report = run(&options(&[("a", &a), ("b", &b)], &out)).unwrap();
    assert_eq!(
        (report.stats.frames_fed, report.stats.frames_dropped),
        (1, 1)
    );
    assert!(forwarded(&out.join("b.pcap")).is_empty());
    let state = json(&out.join("state.json"));
    assert_eq!(port_counters(&state, "a")["drops"]["too_short"], 1);
    assert_eq!(port_counters(&state, "a")["rx_frames"], 1);
}

#[test]
fn truncated_records_are_counted_per_input_and_fed_as_captured() {
    let tmp = Tmp::new();
    let (a, b) = (tmp.join("a.pcap"), tmp.join("b.pcap"));
    let full = unicast(1, 2, 7);
    let mut record = overcast::pcap::Record {
        timestamp: T0,
        data: full[..20].to_vec(),
        orig_len: full.len() as u32,
    };
    {
        let file = std::fs::File::create(&a).unwrap();
        let mut w = overcast::pcap::PcapWriter::new(file).unwrap();
        w.write_record(&record).unwrap();
        record.data = full.clone();
        record.timestamp += MS;
        w.write_record(&record).unwrap();
    }
    write_pcap(&b, &[]);
    let out = tmp.join("out");
    run(&options(&[("a", &a), ("b", &b)], &out)).unwrap();
    let state = json(&out.join("state.json"));
    assert_eq!(state["replay"]["inputs"][0]["truncated_records"], 1);
    assert_eq!(state["replay"]["inputs"][0]["records_read"], 2);
    assert_eq!(
        forwarded(&out.join("b.pcap")),
        vec![full[..20].to_vec(), full]
    );
}

#[test]
fn outputs_are_stamped_virtual_time_plus_the_first_records_wall_time() {
    let tmp = Tmp::new();
    let (a, b) = (tmp.join("a.pcap"), tmp.join("b.pcap"));
    write_pcap(&a, &[(Duration::from_millis(250), arp_request(1, 2))]);
    write_pcap(&b, &[(Duration::from_millis(100), arp_request(2, 1))]);
    let out = tmp.join("out");
    let report = run(&options(&[("a", &a), ("b", &b)], &out)).unwrap();
    // Virtual 0 is b's record (the earliest); a's frame comes 150 ms later.
    assert_eq!(
        report.stats.origin_unix_ns as u128,
        (T0 + 100 * MS).as_nanos()
    );
    assert_eq!(report.stats.now_ms, 150);
    let first_forwarded = |port: &str| {
        read_pcap(&out.join(format!("{port}.pcap")))
            .into_iter()
            .find(|r| r.data.get(6..12) != Some(&overcast::switch::DEFAULT_MAC.0[..]))
            .map(|r| r.timestamp)
    };
    assert_eq!(first_forwarded("b"), Some(T0 + 250 * MS));
    assert_eq!(first_forwarded("a"), Some(T0 + 100 * MS));
}

#[test]
fn inputs_merge_by_timestamp_and_ties_follow_in_order() {
    let tmp = Tmp::new();
    let (a, b, c) = (tmp.join("a.pcap"), tmp.join("b.pcap"), tmp.join("c.pcap"));
    write_pcap(&a, &[(MS, arp_request(1, 9)), (3 * MS, arp_request(1, 8))]);
    write_pcap(&b, &[(MS, arp_request(2, 9)), (2 * MS, arp_request(2, 8))]);
    write_pcap(&c, &[]);
    let out1 = tmp.join("ab");
    run(&options(&[("a", &a), ("b", &b), ("c", &c)], &out1)).unwrap();
    assert_eq!(
        forwarded(&out1.join("c.pcap")),
        vec![
            arp_request(1, 9),
            arp_request(2, 9),
            arp_request(2, 8),
            arp_request(1, 8)
        ]
    );
    let out2 = tmp.join("ba");
    run(&options(&[("b", &b), ("a", &a), ("c", &c)], &out2)).unwrap();
    assert_eq!(
        forwarded(&out2.join("c.pcap")),
        vec![
            arp_request(2, 9),
            arp_request(1, 9),
            arp_request(2, 8),
            arp_request(1, 8)
        ]
    );
}

/// A scenario with flooding, learning, a drop, ageing and snapshots.
fn busy_scenario(tmp: &Tmp) -> overcast::replay::ReplayOptions {
    let (a, b) = (tmp.join("a.pcap"), tmp.join("b.pcap"));
    let mut fa = Vec::new();
    let mut fb = Vec::new();
    for i in 0..50u8 {
        let at = Duration::from_millis(u64::from(i) * 37);
        fa.push((at, arp_request(i % 5 + 1, 20)));
        fa.push((at + MS, unicast(i % 5 + 1, 20, i)));
        fb.push((at + 2 * MS, unicast(20, i % 5 + 1, i)));
        fb.push((at + 3 * MS, vec![i; usize::from(i % 20)]));
    }
    write_pcap(&a, &fa);
    write_pcap(&b, &fb);
    let mut opts = options(&[("a", &a), ("b", &b)], &tmp.join("unused"));
    opts.config = Config::parse(
        "[fdb]\nageing_time = \"30s\"\n[[tap]]\nname = \"t0\"\n",
        Path::new("t.toml"),
    )
    .unwrap();
    opts.until = Some(Duration::from_secs(60));
    opts.state_at = vec![Duration::from_secs(1), Duration::from_millis(1500)];
    opts
}

#[test]
fn replay_is_deterministic_byte_for_byte() {
    let tmp = Tmp::new();
    let mut opts = busy_scenario(&tmp);
    let mut runs = Vec::new();
    for name in ["one", "two"] {
        opts.out_dir = tmp.join(name);
        let report = run(&opts).unwrap();
        let files: Vec<(String, Vec<u8>)> = report
            .files
            .iter()
            .map(|p| {
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(p).unwrap(),
                )
            })
            .collect();
        runs.push(files);
    }
    assert_eq!(
        runs[0].len(),
        6,
        "3 pcaps, 2 snapshots and state.json; got {:?}",
        runs[0].iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (x, y) in runs[0].iter().zip(&runs[1]) {
        assert_eq!(x.0, y.0);
        assert!(x.1 == y.1, "{} differs between two replays", x.0);
    }
    let mut listed: Vec<_> = std::fs::read_dir(tmp.join("one"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    listed.sort();
    let mut reported: Vec<_> = runs[0].iter().map(|f| f.0.clone()).collect();
    reported.sort();
    assert_eq!(listed, reported, "the report lists every file written");
}

/// A three-record pcap whose last record is cut short; returns the path and the offset of record 3.
fn truncated_pcap(tmp: &Tmp) -> (std::path::PathBuf, u64) {
    let path = tmp.join("cut.pcap");
    write_pcap(
        &path,
        &[
            (Duration::ZERO, arp_request(1, 2)),
            (MS, unicast(1, 2, 1)),
            (2 * MS, unicast(1, 2, 2)),
        ],
    );
    let bytes = std::fs::read(&path).unwrap();
    let third = 24 + 16 + 60 + 16 + 60;
    std::fs::write(&path, &bytes[..third + 16 + 5]).unwrap();
    (path, third as u64)
}

#[test]
fn truncated_pcap_fails_naming_file_record_and_offset() {
    let tmp = Tmp::new();
    let (cut, offset) = truncated_pcap(&tmp);
    let err = run(&options(&[("a", &cut)], &tmp.join("out")))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&cut.display().to_string()), "{err}");
    assert!(err.contains("record 3"), "{err}");
    assert!(err.contains(&format!("byte offset {offset}")), "{err}");
}

#[test]
fn skip_bad_records_counts_and_replays_the_good_ones() {
    let tmp = Tmp::new();
    let (cut, _) = truncated_pcap(&tmp);
    let b = tmp.join("b.pcap");
    write_pcap(&b, &[]);
    let out = tmp.join("out");
    let mut opts = options(&[("a", &cut), ("b", &b)], &out);
    opts.skip_bad_records = true;
    let report = run(&opts).unwrap();
    assert_eq!(report.stats.inputs[0].bad_records, 1);
    assert_eq!(report.stats.inputs[0].records_read, 2);
    assert_eq!(forwarded(&out.join("b.pcap")).len(), 2);
    let state = json(&out.join("state.json"));
    assert_eq!(state["replay"]["inputs"][0]["bad_records"], 1);
}

#[test]
fn a_timestamp_years_ahead_is_refused_or_skipped_not_replayed_for_years() {
    let tmp = Tmp::new();
    let a = tmp.join("jump.pcap");
    let years = Duration::from_secs(100 * 365 * 24 * 3600);
    write_pcap(
        &a,
        &[
            (Duration::ZERO, arp_request(1, 2)),
            (years, arp_request(1, 3)),
            (2 * MS, arp_request(1, 4)),
        ],
    );
    let mut opts = options(&[("a", &a)], &tmp.join("out"));
    let err = run(&opts).unwrap_err().to_string();
    assert!(
        err.contains("jump.pcap") && err.contains("record 2") && err.contains("corrupt?"),
        "{err}"
    );
    opts.skip_bad_records = true;
    let report = run(&opts).unwrap();
    assert_eq!(report.stats.inputs[0].bad_records, 1);
    assert_eq!(report.stats.frames_fed, 2);
}

#[test]
fn non_ethernet_capture_is_refused_naming_the_file() {
    let tmp = Tmp::new();
    let path = tmp.join("any.pcap");
    write_pcap(&path, &[(Duration::ZERO, arp_request(1, 2))]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20..24].copy_from_slice(&113u32.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    let mut opts = options(&[("a", &path)], &tmp.join("out"));
    opts.skip_bad_records = true;
    let err = run(&opts).unwrap_err().to_string();
    assert!(
        err.contains("any.pcap") && err.contains("link type 113"),
        "{err}"
    );
}

#[test]
fn state_at_after_until_is_refused() {
    let tmp = Tmp::new();
    let mut opts = options(&[], &tmp.join("out"));
    opts.until = Some(Duration::from_secs(10));
    opts.state_at = vec![Duration::from_secs(11)];
    let err = run(&opts).unwrap_err().to_string();
    assert!(err.contains("--state-at 11s is after --until 10s"), "{err}");
}

#[test]
fn cli_replays_and_reports_bad_input_with_a_nonzero_exit() {
    let tmp = Tmp::new();
    let (cut, offset) = truncated_pcap(&tmp);
    let bin = env!("CARGO_BIN_EXE_overcast");
    let arg = format!("a={}", cut.display());
    let out = tmp.join("out");
    let bad = Command::new(bin)
        .args(["replay", "--in", &arg, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        stderr.contains("cut.pcap")
            && stderr.contains("record 3")
            && stderr.contains(&format!("byte offset {offset}")),
        "{stderr}"
    );
    let ok = Command::new(bin)
        .args([
            "replay",
            "--skip-bad-records",
            "--until",
            "5s",
            "--state-at",
            "1s",
            "--in",
            &arg,
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(stdout.contains("replayed 2 frames"), "{stdout}");
    assert!(out.join("a.pcap").exists() && out.join("state-1000.json").exists());
    assert_eq!(json(&out.join("state.json"))["switch"]["now_ms"], 5000);
}

/// Data to 239.1.1.1 from station 1, as a multicast IPv4/UDP frame.
fn group_data(fill: u8) -> Vec<u8> {
    udp4(
        mac(1),
        [0x01, 0x00, 0x5e, 0x01, 0x01, 0x01],
        "10.0.0.1:5000".parse().unwrap(),
        "239.1.1.1:5000".parse().unwrap(),
        &[fill; 32],
    )
}

#[test]
fn replay_applies_static_mdb_entries_as_live_does() {
    // Once the switch has been querier for a response interval, unregistered
    // groups go to router ports only; a pinned member still gets its group.
    let tmp = Tmp::new();
    let (a, b) = (tmp.join("a.pcap"), tmp.join("b.pcap"));
    write_pcap(
        &a,
        &[
            (Duration::ZERO, arp_request(1, 2)),
            (Duration::from_secs(20), group_data(7)),
        ],
    );
    write_pcap(&b, &[]);
    let with = |pinned: bool| {
        let out = tmp.join(if pinned { "pinned" } else { "plain" });
        let mut opts = options(&[("a", &a), ("b", &b)], &out);
        let mut text = String::from("[[tap]]\nname = \"vm\"\n");
        if pinned {
            text.push_str("[[static_mdb]]\ngroup = \"239.1.1.1\"\nport = \"vm\"\n");
        }
        opts.config = Config::parse(&text, Path::new("t.toml")).unwrap();
        run(&opts).unwrap();
        out
    };
    let pinned = with(true);
    let plain = with(false);
    assert_eq!(
        forwarded(&pinned.join("vm.pcap")).last(),
        Some(&group_data(7))
    );
    assert!(
        !forwarded(&plain.join("vm.pcap")).contains(&group_data(7)),
        "no member, no pin: pruned"
    );
    assert!(!forwarded(&pinned.join("b.pcap")).contains(&group_data(7)));
}

#[test]
fn a_tunnel_input_must_name_a_configured_listener() {
    let tmp = Tmp::new();
    let file = tmp.join("u.pcap");
    write_pcap(&file, &[]);
    let mut opts = options(&[], &tmp.join("out"));
    opts.inputs.push(overcast::replay::InputSpec {
        kind: overcast::replay::InputKind::Tunnel,
        port: "nope".into(),
        file,
    });
    let err = run(&opts).unwrap_err().to_string();
    assert!(
        err.contains("--in-tunnel nope") && err.contains("no listener"),
        "{err}"
    );
}

#[test]
fn tunnel_inputs_admit_refuse_and_expire_peers_on_the_virtual_clock() {
    let tmp = Tmp::new();
    let underlay = tmp.join("underlay.pcap");
    let hub: std::net::SocketAddrV4 = "10.0.0.1:4789".parse().unwrap();
    let from = |ip: &str, inner: &[u8]| {
        udp4(
            mac(0x20),
            mac(0x10),
            format!("{ip}:40000").parse().unwrap(),
            hub,
            &vxlan(42, inner),
        )
    };
    write_pcap(
        &underlay,
        &[
            (Duration::ZERO, from("10.0.0.2", &arp_request(2, 3))),
            (MS, from("10.0.0.3", &unicast(3, 2, 0x33))),
            (2 * MS, from("8.8.8.8", &arp_request(8, 3))),
            (3 * MS, frame(BROADCAST, mac(0x20), 0x0806, 46, 0)),
        ],
    );
    let out = tmp.join("out");
    let mut opts = options(&[], &out);
    opts.inputs.push(overcast::replay::InputSpec {
        kind: overcast::replay::InputKind::Tunnel,
        port: "vxlan".into(),
        file: underlay.clone(),
    });
    opts.config = Config::parse(
        "[[tap]]\nname = \"vm\"\n[[listener]]\nbind = \"0.0.0.0:4789\"\nencap = \"vxlan\"\nidle_timeout = \"5s\"\n",
        Path::new("t.toml"),
    )
    .unwrap();
    opts.state_at = vec![Duration::from_secs(1)];
    opts.until = Some(Duration::from_secs(10));
    run(&opts).unwrap();

    // .2's broadcast reached the TAP; .3's answer went to .2 only, as a peer port.
    assert_eq!(forwarded(&out.join("vm.pcap")), vec![arp_request(2, 3)]);
    assert_eq!(
        forwarded(&out.join("vxlan%2F10.0.0.2.pcap")),
        vec![unicast(3, 2, 0x33)]
    );
    assert!(forwarded(&out.join("vxlan%2F10.0.0.3.pcap")).is_empty());
    assert!(
        !out.join("vxlan%2F8.8.8.8.pcap").exists(),
        "a public source is not admitted"
    );

    let early = json(&out.join("state-1000.json"));
    let peers: Vec<&str> = early["peers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(peers, vec!["vxlan/10.0.0.2", "vxlan/10.0.0.3"]);
    let counters = &early["listeners"][0]["counters"];
    assert_eq!(
        (
            counters["drop_not_allowed"].as_u64(),
            counters["peers_admitted"].as_u64()
        ),
        (Some(1), Some(2))
    );
    assert_eq!(
        early["replay"]["inputs"][0]["not_for_listener"], 1,
        "the non-UDP record"
    );

    let end = json(&out.join("state.json"));
    assert!(
        end.get("peers").is_none(),
        "both peers expired after 5 s idle: {end}"
    );
    assert_eq!(end["listeners"][0]["counters"]["peers_expired"], 2);

    // Deterministic: the same inputs give the same bytes.
    let again = tmp.join("again");
    let mut opts2 = opts.clone();
    opts2.out_dir = again.clone();
    run(&opts2).unwrap();
    for f in ["vm.pcap", "vxlan%2F10.0.0.2.pcap", "state.json"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(again.join(f)).unwrap(),
            "{f}"
        );
    }
}
