//! Hostile frames through replay: truncated headers, bad lengths, nested
//! VLAN tags, jumbo frames and IGMP/MLD-looking garbage never panic, and
//! every frame fed is accounted for in the state's counters.

mod support;

use proptest::prelude::*;
use std::time::Duration;
use support::*;

/// A few stations, plus the addresses a source must never be.
fn src_mac() -> impl Strategy<Value = [u8; 6]> {
    prop_oneof![
        (1u8..6).prop_map(mac),
        Just([0; 6]),
        Just(BROADCAST),
        Just([0x01, 0x00, 0x5e, 0, 0, 1]),
    ]
}

fn dst_mac() -> impl Strategy<Value = [u8; 6]> {
    prop_oneof![
        (1u8..8).prop_map(mac),
        Just(BROADCAST),
        Just([0x01, 0x00, 0x5e, 0, 0, 0x16]), // IGMPv3 reports
        Just([0x33, 0x33, 0, 0, 0, 0x16]),    // MLDv2 reports
        Just([0x01, 0x80, 0xc2, 0, 0, 0]),    // STP: reserved
        any::<[u8; 6]>(),
    ]
}

/// Ethertypes, including stacked tags (a tag's payload starts with the next type).
fn ethertype() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(0x0800u16),
        Just(0x86dd),
        Just(0x0806),
        Just(0x8100),
        Just(0x88a8),
        any::<u16>(),
    ]
}

/// One hostile frame.
fn hostile_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Truncated headers.
        proptest::collection::vec(any::<u8>(), 0..14),
        // A header, up to four nested tags (possibly cut), then anything.
        (
            dst_mac(),
            src_mac(),
            proptest::collection::vec((ethertype(), any::<u16>()), 0..4),
            ethertype(),
            proptest::collection::vec(any::<u8>(), 0..120),
            0usize..8,
        )
            .prop_map(|(dst, src, tags, last, payload, cut)| {
                let mut f = Vec::new();
                f.extend_from_slice(&dst);
                f.extend_from_slice(&src);
                for (tpid, tci) in tags {
                    f.extend_from_slice(&tpid.to_be_bytes());
                    f.extend_from_slice(&tci.to_be_bytes());
                }
                f.extend_from_slice(&last.to_be_bytes());
                f.extend_from_slice(&payload);
                let keep = f.len().saturating_sub(cut);
                f.truncate(keep);
                f
            }),
        // IPv4 carrying IGMP (protocol 2), with a garbled header and body.
        (
            src_mac(),
            proptest::collection::vec(any::<u8>(), 0..60),
            any::<u8>()
        )
            .prop_map(|(src, body, ihl)| {
                let mut f = frame([0x01, 0x00, 0x5e, 0, 0, 1], src, 0x0800, 0, 0);
                f.extend_from_slice(&[0x40 | (ihl & 0x0f), 0xc0, 0, 32, 0, 0, 0, 0, 1, 2, 0, 0]);
                f.extend_from_slice(&[10, 0, 0, 1, 224, 0, 0, 1]);
                f.extend_from_slice(&body);
                f
            }),
        // IPv6 with hop-by-hop then ICMPv6 (MLD), garbled.
        (src_mac(), proptest::collection::vec(any::<u8>(), 0..80)).prop_map(|(src, body)| {
            let mut f = frame([0x33, 0x33, 0, 0, 0, 1], src, 0x86dd, 0, 0);
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&(body.len() as u16).to_be_bytes());
            f.extend_from_slice(&[0, 1]);
            f.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            f.extend_from_slice(&[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            f.extend_from_slice(&body);
            f
        }),
        // Jumbo frames.
        (dst_mac(), src_mac(), 1500usize..16_000)
            .prop_map(|(d, s, n)| frame(d, s, 0x0800, n, 0x5a)),
    ]
}

/// (port index, delay since the previous frame, frame).
fn traffic() -> impl Strategy<Value = Vec<(usize, u64, Vec<u8>)>> {
    proptest::collection::vec((0usize..3, 0u64..2_000, hostile_frame()), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn hostile_frames_never_panic_and_every_frame_is_accounted_for(
        traffic in traffic(),
        until_extra in 0u64..400,
    ) {
        let tmp = Tmp::new();
        let mut per_port: Vec<Vec<(Duration, Vec<u8>)>> = vec![Vec::new(); 3];
        let mut at = Duration::ZERO;
        for (port, delay, f) in &traffic {
            at += Duration::from_millis(*delay);
            per_port[*port].push((at, f.clone()));
        }
        let names = ["p0", "p1", "vxlan/10.0.0.2"];
        let files: Vec<_> = (0..3).map(|i| tmp.join(&format!("in{i}.pcap"))).collect();
        for (f, frames) in files.iter().zip(&per_port) {
            write_pcap(f, frames);
        }
        let inputs: Vec<(&str, &std::path::Path)> =
            names.iter().copied().zip(files.iter().map(|f| f.as_path())).collect();
        let out = tmp.join("out");
        let mut opts = options(&inputs, &out);
        opts.until = Some(at + Duration::from_secs(until_extra));
        let report = run(&opts).map_err(|e| TestCaseError::fail(e.to_string()))?;

        let fed = traffic.len() as u64;
        let state = json(&out.join("state.json"));
        let ports = state["switch"]["ports"].as_array().cloned().unwrap_or_default();
        let sum = |key: &str| -> u64 { ports.iter().map(|p| p["counters"][key].as_u64().unwrap_or(0)).sum() };
        let drops: u64 = ports
            .iter()
            .flat_map(|p| p["counters"]["drops"].as_object().cloned().unwrap_or_default())
            .map(|(_, v)| v.as_u64().unwrap_or(0))
            .sum();
        prop_assert_eq!(report.stats.frames_fed, fed);
        prop_assert_eq!(sum("rx_frames"), fed, "every fed frame was received on some port");
        prop_assert_eq!(report.stats.frames_forwarded + report.stats.frames_dropped, fed);
        prop_assert_eq!(drops + report.stats.frames_forwarded, fed, "each frame either went out or counted one drop");
        let written: usize = names
            .iter()
            .map(|n| frames_of(&out.join(format!("{}.pcap", overcast::pcap::port_file_stem(n)))).len())
            .sum();
        prop_assert!(written as u64 >= report.stats.frames_forwarded);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A valid capture with bytes flipped and its tail cut: replay fails with
    /// a message naming the file, or (skipping bad records) completes; never panics.
    #[test]
    fn garbled_capture_files_fail_cleanly_or_are_skipped(
        frames in proptest::collection::vec(hostile_frame(), 1..20),
        flips in proptest::collection::vec((24usize..2_000, 1u8..=255), 0..6),
        cut in 24usize..4_000,
    ) {
        let tmp = Tmp::new();
        let path = tmp.join("garbled.pcap");
        let stamped: Vec<(Duration, Vec<u8>)> = frames
            .into_iter()
            .enumerate()
            .map(|(i, f)| (Duration::from_millis(i as u64), f))
            .collect();
        write_pcap(&path, &stamped);
        let mut bytes = std::fs::read(&path).unwrap_or_default();
        for (at, x) in flips {
            if let Some(b) = bytes.get_mut(at) {
                *b ^= x;
            }
        }
        bytes.truncate(cut);
        std::fs::write(&path, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut opts = options(&[("a", &path)], &tmp.join("out"));
        if let Err(e) = run(&opts) {
            prop_assert!(e.to_string().contains("garbled.pcap"), "{}", e);
        }
        opts.skip_bad_records = true;
        let skipped = run(&opts);
        prop_assert!(skipped.is_ok(), "with --skip-bad-records: {:?}", skipped.err().map(|e| e.to_string()));
    }
}
