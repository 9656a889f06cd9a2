//! Random message and timer sequences: the snooper never panics, its
//! answers obey C7 (no ingress, no duplicates, sorted), timers always make
//! progress, and two runs of the same input give the same state (determinism).

use super::*;
use crate::igmp::config::{PortSnoopConfig, QuerierMode, RouterPortMode};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Msg {
        vlan: u16,
        port: u32,
        src: u8,
        msg: Message,
    },
    Data {
        vlan: u16,
        port: u32,
        group: u8,
        v6: bool,
        src: u8,
    },
    Advance(u32),
    PortUp(u32),
    RemovePort(u32),
    Flush(Option<u32>),
    Pim(u32),
}

fn addr(v6: bool, kind: u8, i: u8) -> IpAddr {
    // kind: 0 group, 1 source, 2 router/host, 3 odd (unspecified, link-local groups, unicast)
    match (v6, kind) {
        (false, 0) => IpAddr::V4(Ipv4Addr::new(239, 0, 0, i % 4)),
        (true, 0) => IpAddr::V6(Ipv6Addr::new(0xff0e, 0, 0, 0, 0, 0, 0, u16::from(i % 4))),
        (false, 1) => IpAddr::V4(Ipv4Addr::new(10, 1, 0, i % 5)),
        (true, 1) => IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0,
            0,
            0,
            0,
            0,
            u16::from(i % 5),
        )),
        (false, 2) => IpAddr::V4(Ipv4Addr::new(10, 0, 0, i % 3)),
        (true, 2) => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(i % 3))),
        (false, _) => [
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::new(224, 0, 0, 5),
            Ipv4Addr::new(10, 9, 9, 9),
        ][usize::from(i % 3)]
        .into(),
        (true, _) => [
            Ipv6Addr::UNSPECIFIED,
            "ff02::1".parse().expect("literal"),
            "2001:db8::9".parse().expect("literal"),
        ][usize::from(i % 3)]
        .into(),
    }
}

fn version(v6: bool, i: u8) -> Version {
    match (v6, i % 3) {
        (false, 0) => Version::IgmpV1,
        (false, 1) => Version::IgmpV2,
        (false, _) => Version::IgmpV3,
        (true, 0) => Version::MldV1,
        (true, _) => Version::MldV2,
    }
}

fn record_type(i: u8) -> RecordType {
    RecordType::from_wire(i % 6 + 1).unwrap_or(RecordType::Allow)
}

fn any_msg() -> impl Strategy<Value = Message> {
    (
        0u8..6,
        any::<bool>(),
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(
            (
                any::<u8>(),
                any::<u8>(),
                prop::collection::vec(any::<u8>(), 0..4),
            ),
            0..3,
        ),
        (any::<bool>(), 0u8..4, 0u64..30),
    )
        .prop_map(|(kind, v6, a, b, recs, (sflag, qrv, secs))| {
            let odd = |x: u8| if x % 7 == 0 { 3 } else { 0 };
            match kind {
                0 => Message::Report {
                    version: version(v6, a),
                    group: addr(v6, odd(b), b),
                },
                1 => Message::Leave {
                    version: version(v6, a),
                    group: addr(v6, odd(b), b),
                },
                2 => Message::ReportV3 {
                    version: if v6 { Version::MldV2 } else { Version::IgmpV3 },
                    records: recs
                        .into_iter()
                        .map(|(t, g, s)| GroupRecord {
                            record_type: record_type(t),
                            group: addr(v6, odd(g), g),
                            sources: s
                                .into_iter()
                                .map(|x| addr(v6 ^ (x % 11 == 0), 1, x))
                                .collect(),
                        })
                        .collect(),
                },
                3 => Message::Query(Query {
                    version: version(v6, a),
                    source: addr(v6, 2, b),
                    group: (a % 2 == 0).then(|| addr(v6, odd(b), b)),
                    sources: (0..a % 3).map(|x| addr(v6, 1, x)).collect(),
                    max_response: Duration::from_secs(secs % 12),
                    suppress_router_side: sflag,
                    robustness: qrv,
                    query_interval: Duration::from_secs(secs * 7),
                }),
                4 => Message::RouterAdvertisement,
                _ => Message::Other,
            }
        })
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u16..3, 0u32..5, any::<u8>(), any_msg())
            .prop_map(|(vlan, port, src, msg)| Op::Msg { vlan, port, src, msg }),
        3 => (0u16..3, 0u32..5, any::<u8>(), any::<bool>(), any::<u8>())
            .prop_map(|(vlan, port, group, v6, src)| Op::Data { vlan, port, group, v6, src }),
        3 => (0u32..400_000).prop_map(Op::Advance),
        1 => (0u32..5).prop_map(Op::PortUp),
        1 => (0u32..5).prop_map(Op::RemovePort),
        1 => prop::option::of(0u32..5).prop_map(Op::Flush),
        1 => (0u32..5).prop_map(Op::Pim),
    ]
}

fn cfg_for(i: u8) -> SnoopConfig {
    SnoopConfig {
        querier: [QuerierMode::Auto, QuerierMode::On, QuerierMode::Off][usize::from(i % 3)],
        igmp_version: if i % 2 == 0 { 3 } else { 2 },
        mld_version: if i % 4 < 2 { 2 } else { 1 },
        max_groups: 6,
        max_groups_per_port: 3,
        max_sources_per_group: 3,
        ..SnoopConfig::default()
    }
}

fn run(cfg: SnoopConfig, ports: &[PortSnoopConfig], ops: &[Op]) -> (String, u64) {
    let mut s = Snooper::new(cfg, own_ll());
    for (i, pc) in ports.iter().enumerate() {
        s.add_port(PortId(i as u32), pc.clone(), Instant::ZERO);
    }
    let mut now = Instant::ZERO;
    let mut sent = 0u64;
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Msg {
                vlan,
                port,
                src,
                msg,
            } => {
                let v6 = match msg {
                    Message::Query(q) => q.version.family() == Family::V6,
                    Message::Report { version, .. }
                    | Message::Leave { version, .. }
                    | Message::ReportV3 { version, .. } => version.family() == Family::V6,
                    _ => src % 2 == 0,
                };
                let ip = match msg {
                    Message::Query(q) => q.source,
                    _ => addr(v6, 2, *src),
                };
                s.handle_message(*vlan, PortId(*port), ip, msg, now);
            }
            Op::Data {
                vlan,
                port,
                group,
                v6,
                src,
            } => {
                let g = addr(*v6, if group % 5 == 0 { 3 } else { 0 }, *group);
                let e = s.data_egress(*vlan, g, addr(*v6, 1, *src), PortId(*port), now, &mut out);
                if e == McastEgress::Flood {
                    assert!(out.is_empty());
                }
                assert!(!out.contains(&PortId(*port)), "C7: never the ingress");
                assert!(
                    out.windows(2).all(|w| w[0] < w[1]),
                    "C7: sorted, one copy each"
                );
            }
            Op::Advance(ms) => {
                let target = now + Duration::from_millis(u64::from(*ms));
                let mut guard = 0;
                while let Some(t) = s.poll_timeout() {
                    if t > target {
                        break;
                    }
                    now = now.max(t);
                    s.handle_timeout(now);
                    guard += 1;
                    assert!(guard < 10_000, "timers make progress");
                }
                now = target;
            }
            Op::PortUp(p) => s.port_up(PortId(*p), now),
            Op::RemovePort(p) => s.remove_port(PortId(*p)),
            Op::Flush(p) => s.flush(p.map(PortId)),
            Op::Pim(p) => s.pim_hello_seen(0, PortId(*p), now),
        }
        while s.poll_query().is_some() {
            sent += 1;
        }
    }
    let state = s.state(now);
    assert!(state.groups.len() <= 6, "max_groups holds");
    let json = serde_json::to_string(&state).expect("state serializes");
    (json, sent)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_input_never_panics_and_is_deterministic(
        cfg in any::<u8>(),
        port_bits in prop::collection::vec(any::<u8>(), 4),
        ops in prop::collection::vec(any_op(), 0..80),
    ) {
        let ports: Vec<PortSnoopConfig> = port_bits
            .iter()
            .map(|b| PortSnoopConfig {
                mrouter: [RouterPortMode::Auto, RouterPortMode::Always, RouterPortMode::Never][usize::from(b % 3)],
                fast_leave: b & 4 != 0,
                flood_unregistered: [None, Some(true), Some(false)][usize::from((b >> 3) % 3)],
                flood_reports: b & 32 != 0,
                max_groups: (b & 64 != 0).then_some(2),
            })
            .collect();
        let a = run(cfg_for(cfg), &ports, &ops);
        let b = run(cfg_for(cfg), &ports, &ops);
        prop_assert_eq!(a, b);
    }
}
