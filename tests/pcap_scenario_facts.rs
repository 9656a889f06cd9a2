//! What each multicast golden scenario under `pcaps/` is meant to show,
//! checked on its goldens (`expected/state*.json` and the output pcaps), so
//! that a re-bless cannot silently turn a scenario into one that shows
//! something else. `tests/pcap_scenarios.rs` checks that the goldens are
//! still what the replay produces; this file checks that they say what the
//! scenario's `traffic.sh` claims.
//!
//! Timer values come from the scenario's own `config.toml` (or, for adopted
//! values, from its state), not from constants here.

mod support;

use overcast::config::Config;
use overcast::igmp::config::Timers;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

/// One recorded scenario's directory and replay origin.
struct Scenario {
    dir: PathBuf,
    /// Wall time of virtual time 0 (the earliest input record).
    origin: Duration,
}

impl Scenario {
    fn new(name: &str) -> Scenario {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("pcaps")
            .join(name);
        let state = support::json(&dir.join("expected/state.json"));
        let origin = state["replay"]["origin_unix_ns"]
            .as_u64()
            .map(Duration::from_nanos)
            .expect("state.json has replay.origin_unix_ns");
        Scenario { dir, origin }
    }

    /// `expected/<file>`, parsed.
    fn state(&self, file: &str) -> Value {
        support::json(&self.dir.join("expected").join(file))
    }

    /// The scenario's configured snooping timers.
    fn timers(&self) -> Timers {
        let config = Config::load(&self.dir.join("config.toml")).unwrap_or_else(|e| panic!("{e}"));
        config.multicast.timers()
    }

    /// Every frame of `expected/<port>.pcap` (what the switch sent out of
    /// the port), with its virtual time.
    fn output(&self, port: &str) -> Vec<(Duration, Frame)> {
        self.frames(&self.dir.join("expected").join(format!("{port}.pcap")))
    }

    /// Every frame of the input `<port>.in.pcap` (what the port's host sent).
    fn input(&self, port: &str) -> Vec<(Duration, Frame)> {
        self.frames(&self.dir.join(format!("{port}.in.pcap")))
    }

    fn frames(&self, path: &std::path::Path) -> Vec<(Duration, Frame)> {
        support::read_pcap(path)
            .into_iter()
            .map(|r| (r.timestamp.saturating_sub(self.origin), classify(&r.data)))
            .collect()
    }
}

/// What a frame is, as far as these facts care.
#[derive(Debug, Clone, PartialEq)]
enum Frame {
    /// A UDP datagram (the scenarios' multicast data) from this source to this group.
    Udp {
        src: IpAddr,
        dst: IpAddr,
    },
    /// An IGMP query (type 0x11); `group` is 0.0.0.0 for a general query.
    IgmpQuery {
        src: Ipv4Addr,
        group: Ipv4Addr,
    },
    /// Any other IGMP message, by type.
    Igmp {
        src: Ipv4Addr,
        kind: u8,
    },
    /// An MLD query (ICMPv6 type 130); `group` is :: for a general query.
    MldQuery {
        group: Ipv6Addr,
    },
    Other,
}

/// Parse the little of an untagged Ethernet frame the facts need.
fn classify(f: &[u8]) -> Frame {
    let ethertype = f.get(12..14).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match ethertype {
        Some(0x0800) if f.len() >= 34 => {
            let ihl = usize::from(f[14] & 0x0f) * 4;
            let src = Ipv4Addr::new(f[26], f[27], f[28], f[29]);
            let dst = Ipv4Addr::new(f[30], f[31], f[32], f[33]);
            let l4 = &f[(14 + ihl).min(f.len())..];
            match f[23] {
                17 => Frame::Udp {
                    src: src.into(),
                    dst: dst.into(),
                },
                2 if l4.len() >= 8 && l4[0] == 0x11 => Frame::IgmpQuery {
                    src,
                    group: Ipv4Addr::new(l4[4], l4[5], l4[6], l4[7]),
                },
                2 if !l4.is_empty() => Frame::Igmp { src, kind: l4[0] },
                _ => Frame::Other,
            }
        }
        Some(0x86dd) if f.len() >= 54 => {
            let addr = |at: usize| {
                let mut a = [0u8; 16];
                a.copy_from_slice(&f[at..at + 16]);
                Ipv6Addr::from(a)
            };
            let (src, dst) = (addr(22), addr(38));
            let (mut next, mut at) = (f[20], 54);
            if next == 0 && f.len() >= at + 2 {
                // Hop-by-hop options (MLD's Router Alert).
                next = f[at];
                at += (usize::from(f[at + 1]) + 1) * 8;
            }
            match next {
                17 => Frame::Udp {
                    src: src.into(),
                    dst: dst.into(),
                },
                58 if f.len() >= at + 24 && f[at] == 130 => {
                    let mut g = [0u8; 16];
                    g.copy_from_slice(&f[at + 8..at + 24]);
                    Frame::MldQuery {
                        group: Ipv6Addr::from(g),
                    }
                }
                _ => Frame::Other,
            }
        }
        _ => Frame::Other,
    }
}

/// Times of the UDP datagrams (from `src`, if given) in a list of frames.
fn udp_times(frames: &[(Duration, Frame)], src: Option<IpAddr>) -> Vec<Duration> {
    frames
        .iter()
        .filter(
            |(_, f)| matches!(f, Frame::Udp { src: s, .. } if src.is_none_or(|want| *s == want)),
        )
        .map(|(t, _)| *t)
        .collect()
}

/// The UDP sources seen in a list of frames, sorted and deduplicated.
fn udp_sources(frames: &[(Duration, Frame)]) -> Vec<IpAddr> {
    let mut v: Vec<IpAddr> = frames
        .iter()
        .filter_map(|(_, f)| match f {
            Frame::Udp { src, .. } => Some(*src),
            _ => None,
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The port id of a port name in a state.
fn port_id(state: &Value, name: &str) -> u64 {
    state["switch"]["ports"]
        .as_array()
        .and_then(|ports| ports.iter().find(|p| p["name"] == name))
        .and_then(|p| p["id"].as_u64())
        .unwrap_or_else(|| panic!("no port {name}"))
}

/// The per-port entries of `group` in a state (empty if the group is absent).
fn group_ports<'a>(state: &'a Value, group: &str) -> Vec<&'a Value> {
    state["switch"]["multicast"]["groups"]
        .as_array()
        .expect("groups is a list")
        .iter()
        .filter(|g| g["group"] == group)
        .flat_map(|g| g["ports"].as_array().expect("ports is a list").iter())
        .collect()
}

/// The names of the ports that are members of `group` in a state.
fn member_names(state: &Value, group: &str) -> Vec<String> {
    let names: Vec<(u64, String)> = state["switch"]["ports"]
        .as_array()
        .expect("ports is a list")
        .iter()
        .map(|p| {
            (
                p["id"].as_u64().unwrap_or(u64::MAX),
                p["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    group_ports(state, group)
        .iter()
        .map(|e| {
            let id = e["port"].as_u64().expect("port id");
            names
                .iter()
                .find(|(i, _)| *i == id)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| format!("#{id}"))
        })
        .collect()
}

/// A port's entry in `group`.
fn member<'a>(state: &'a Value, group: &str, port: &str) -> &'a Value {
    let id = port_id(state, port);
    group_ports(state, group)
        .into_iter()
        .find(|e| e["port"] == id)
        .unwrap_or_else(|| panic!("{port} is not in {group}"))
}

/// The querier of a family ("v4" or "v6") in a state.
fn querier<'a>(state: &'a Value, family: &str) -> &'a Value {
    state["switch"]["multicast"]["queriers"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["vlan"] == 0 && q["family"] == family))
        .unwrap_or_else(|| panic!("no {family} querier"))
}

fn counter(state: &Value, kind: &str, version: &str) -> u64 {
    state["switch"]["multicast"]["counters"][kind][version]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {kind}.{version}"))
}

fn ms(v: &Value) -> Duration {
    Duration::from_millis(
        v.as_u64()
            .unwrap_or_else(|| panic!("{v} is not a number of ms")),
    )
}

/// Equal to the millisecond (state files round timers to whole milliseconds).
fn assert_close(got: Duration, want: Duration) {
    let diff = got.max(want) - got.min(want);
    assert!(diff < Duration::from_millis(1), "{got:?} is not {want:?}");
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an IP address")
}

/// The group-specific queries for `group` sent out of a port, by time.
fn igmp_group_queries(frames: &[(Duration, Frame)], group: Ipv4Addr) -> Vec<Duration> {
    frames
        .iter()
        .filter(|(_, f)| matches!(f, Frame::IgmpQuery { group: g, .. } if *g == group))
        .map(|(t, _)| *t)
        .collect()
}

#[test]
fn igmpv2_join_leave_prunes_the_leaving_port_within_lmqt_and_keeps_the_other() {
    let sc = Scenario::new("igmpv2-join-leave");
    let timers = sc.timers();
    let lmqt = timers.last_member_query_time();
    let group = "239.1.1.1";

    // Before the leave: both members, as IGMPv2 hosts, under our IGMPv2 querier.
    let before = sc.state("state-3000.json");
    let q = querier(&before, "v4");
    assert_eq!(
        (&q["role"], &q["version"]),
        (&"querier".into(), &"igmpv2".into())
    );
    assert_eq!(member_names(&before, group), ["p1", "p2"]);
    for p in ["p1", "p2"] {
        assert_eq!(member(&before, group, p)["compat"], "igmpv2", "{p}");
    }

    // The leave: one v2 Leave, answered by LMQC group-specific queries out of
    // p1, LMQI apart, starting when the Leave arrived.
    let leave_at = sc
        .input("p1")
        .iter()
        .find(|(_, f)| matches!(f, Frame::Igmp { kind: 0x17, .. }))
        .map(|(t, _)| *t)
        .expect("host 1 sent an IGMPv2 Leave");
    let p1 = sc.output("p1");
    let gsq = igmp_group_queries(&p1, group.parse().unwrap());
    let expected: Vec<Duration> = (0..timers.last_member_query_count)
        .map(|i| leave_at + timers.last_member_query_interval * i)
        .collect();
    assert_eq!(gsq, expected, "group-specific queries out of p1");

    // During the leave: p1 still listed, its timer lowered to what is left of LMQT.
    let during = sc.state("state-4750.json");
    assert_eq!(counter(&during, "leaves", "igmp_v2"), 1);
    assert!(
        Duration::from_millis(4750) > leave_at && Duration::from_millis(4750) < leave_at + lmqt
    );
    assert_close(
        ms(&member(&during, group, "p1")["group_timer_ms"]),
        leave_at + lmqt - Duration::from_millis(4750),
    );
    assert!(ms(&member(&during, group, "p2")["group_timer_ms"]) > lmqt);

    // After: p1 is gone, p2 stays.
    let after = sc.state("state.json");
    assert_eq!(member_names(&after, group), ["p2"]);

    // Host 3's datagrams reach p1 until LMQT after the Leave, and p2 throughout.
    let to_p1 = udp_times(&p1, None);
    let to_p2 = udp_times(&sc.output("p2"), None);
    let last_p1 = *to_p1.last().expect("p1 got data before it left");
    assert!(last_p1 < leave_at + lmqt, "p1 got data at {last_p1:?}");
    assert!(
        to_p2.iter().filter(|t| **t > leave_at + lmqt).count() >= 10,
        "p2 kept getting the group after p1 left: {to_p2:?}"
    );
    assert_eq!(
        to_p1,
        to_p2
            .iter()
            .copied()
            .filter(|t| *t < leave_at + lmqt)
            .collect::<Vec<_>>(),
        "until then p1 got what p2 got"
    );

    // What p1 was spared is counted, on p1 and on the group: each of host 3's
    // datagrams after p1's state expired, one copy each.
    let spared = to_p2.len() - to_p1.len();
    let port = |name: &str| {
        after["switch"]["ports"]
            .as_array()
            .and_then(|ports| ports.iter().find(|p| p["name"] == name))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(port("p1")["counters"]["mcast_pruned"], spared as u64);
    assert!(
        port("p2")["counters"].get("mcast_pruned").is_none(),
        "a member is never pruned"
    );
    let entry = after["switch"]["multicast"]["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["group"] == group))
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["pruned_copies"], spared as u64);
}

#[test]
fn igmpv3_include_exclude_ports_get_only_the_sources_their_filters_allow() {
    let sc = Scenario::new("igmpv3-include-exclude");
    let group = "239.2.2.2";
    let (s3, s4) = (ip("10.77.0.3"), ip("10.77.0.4"));
    let state = sc.state("state.json");

    // The filters: p1 INCLUDE {h3}, p2 INCLUDE {h4}, p5 EXCLUDE {}.
    assert_eq!(member_names(&state, group), ["p1", "p2", "p5"]);
    for (port, mode, sources) in [
        ("p1", "INCLUDE", vec!["10.77.0.3"]),
        ("p2", "INCLUDE", vec!["10.77.0.4"]),
        ("p5", "EXCLUDE", vec![]),
    ] {
        let m = member(&state, group, port);
        assert_eq!(m["filter_mode"], mode, "{port}");
        let got: Vec<&str> = m["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .map(|s| s["source"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(got, sources, "{port}'s source list");
    }
    // INCLUDE ports have no group timer; the EXCLUDE port has one.
    assert!(member(&state, group, "p1")["group_timer_ms"].is_null());
    assert!(member(&state, group, "p5")["group_timer_ms"].is_u64());

    // The data (E2/E11): each sender's ten datagrams reach exactly the ports whose filter allows them.
    let sent = |port: &str| udp_times(&sc.input(port), None).len();
    assert_eq!((sent("p3"), sent("p4")), (10, 10));
    assert_eq!(udp_sources(&sc.output("p1")), [s3]);
    assert_eq!(udp_sources(&sc.output("p2")), [s4]);
    assert_eq!(udp_sources(&sc.output("p5")), [s3, s4]);
    assert_eq!(udp_times(&sc.output("p1"), Some(s3)).len(), 10);
    assert_eq!(udp_times(&sc.output("p2"), Some(s4)).len(), 10);
    assert_eq!(udp_times(&sc.output("p5"), None).len(), 20);
    for sender in ["p3", "p4"] {
        assert!(
            udp_sources(&sc.output(sender)).is_empty(),
            "{sender} got data"
        );
    }
}

#[test]
fn mldv2_join_leave_prunes_the_leaving_port_within_llqt_and_keeps_the_other() {
    let sc = Scenario::new("mldv2-join-leave");
    let timers = sc.timers();
    let llqt = timers.last_member_query_time();
    let group = "ff15::1234";
    let group6: Ipv6Addr = group.parse().unwrap();

    let before = sc.state("state-5000.json");
    assert_eq!(querier(&before, "v6")["role"], "querier");
    assert_eq!(member_names(&before, group), ["p1", "p2"]);
    for p in ["p1", "p2"] {
        let m = member(&before, group, p);
        assert_eq!(
            (&m["filter_mode"], &m["compat"]),
            (&"EXCLUDE".into(), &"mldv2".into())
        );
    }
    // The hosts' own solicited-node groups are snooped like any other (real ND/MLD traffic).
    let solicited = before["switch"]["multicast"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            g["group"]
                .as_str()
                .is_some_and(|a| a.starts_with("ff02::1:ff"))
        })
        .count();
    assert_eq!(solicited, 3, "one solicited-node group per host");

    // The leave is MLDv2 TO_IN {}: answered by LLQC address-specific queries
    // out of p1, LLQI apart; the first goes out at the leave.
    let p1 = sc.output("p1");
    let mas: Vec<Duration> = p1
        .iter()
        .filter(|(_, f)| *f == Frame::MldQuery { group: group6 })
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(
        mas.len(),
        timers.last_member_query_count as usize,
        "{mas:?}"
    );
    let leave_at = mas[0];
    assert_eq!(mas[1] - mas[0], timers.last_member_query_interval);

    let during = sc.state("state-6600.json");
    let t = Duration::from_millis(6600);
    assert!(t > leave_at && t < leave_at + llqt);
    assert!(ms(&member(&during, group, "p1")["group_timer_ms"]) < llqt);
    assert!(ms(&member(&during, group, "p2")["group_timer_ms"]) > llqt);

    let after = sc.state("state.json");
    assert_eq!(member_names(&after, group), ["p2"]);

    let to_p1 = udp_times(&p1, None);
    let to_p2 = udp_times(&sc.output("p2"), None);
    assert!(!to_p1.is_empty() && to_p1.iter().any(|t| *t < leave_at));
    assert!(
        to_p1.iter().all(|t| *t < leave_at + llqt),
        "p1 got data after it was pruned: {to_p1:?}"
    );
    assert!(
        to_p2.iter().filter(|t| **t > leave_at + llqt).count() >= 10,
        "p2 kept getting the group: {to_p2:?}"
    );
    assert!(
        udp_times(&sc.output("p3"), None).is_empty(),
        "the sender got its own group"
    );
}

#[test]
fn querier_election_yields_to_the_lower_address_and_resumes_after_oqpi() {
    let sc = Scenario::new("querier-election");
    let (ours, theirs) = (ip("10.77.0.254"), ip("10.77.0.1"));

    // While host 1's bridge queries: Overcast is not the querier, has adopted
    // its robustness and interval, and p1 is a router port.
    let yielded = sc.state("state-4000.json");
    let q = querier(&yielded, "v4");
    assert_eq!(q["role"], "non_querier");
    assert_eq!(q["own_address"], ours.to_string());
    assert_eq!(q["elected"], theirs.to_string());
    assert_eq!(q["other_querier"], theirs.to_string());
    assert_eq!(q["other_querier_version"], "igmpv3");
    assert!(
        q["next_query_ms"].is_null(),
        "a non-querier schedules no query"
    );
    let routers = yielded["switch"]["multicast"]["router_ports"]
        .as_array()
        .unwrap();
    assert_eq!(routers.len(), 1, "{routers:?}");
    assert_eq!(routers[0]["port"], port_id(&yielded, "p1"));
    assert_eq!(member_names(&yielded, "239.1.1.1"), ["p2"]);
    // The IPv6 side has no rival: still the querier.
    assert_eq!(querier(&yielded, "v6")["role"], "querier");

    // The winner's queries, from host 1, and the Other Querier Present Interval they set.
    let config = Config::load(&sc.dir.join("config.toml")).unwrap_or_else(|e| panic!("{e}"));
    let adopted_qi = ms(&q["adopted_query_interval_ms"]);
    let adopted_rv = q["adopted_robustness"]
        .as_u64()
        .and_then(|v| u8::try_from(v).ok());
    let oqpi = config
        .multicast
        .timers_with(adopted_rv, Some(adopted_qi))
        .other_querier_present_interval;
    assert!(
        adopted_qi < config.multicast.query_interval,
        "the bridge queries more often than Overcast would"
    );
    let theirs4: Ipv4Addr = "10.77.0.1".parse().unwrap();
    let foreign: Vec<Duration> = sc
        .input("p1")
        .iter()
        .filter(|(_, f)| matches!(f, Frame::IgmpQuery { src, .. } if *src == theirs4))
        .map(|(t, _)| *t)
        .collect();
    assert!(foreign.len() >= 3, "{foreign:?}");
    let (first, last) = (foreign[0], *foreign.last().unwrap());

    // Our own general queries (out of p2): none from the first foreign query
    // until one OQPI after the last; then one at exactly that moment.
    let ours4: Ipv4Addr = "10.77.0.254".parse().unwrap();
    let own: Vec<Duration> = sc
        .output("p2")
        .iter()
        .filter(|(_, f)| matches!(f, Frame::IgmpQuery { src, group } if *src == ours4 && group.is_unspecified()))
        .map(|(t, _)| *t)
        .collect();
    assert!(
        own.iter().all(|t| *t <= first || *t >= last + oqpi),
        "Overcast queried while the other querier was present: {own:?}"
    );
    assert!(
        own.contains(&(last + oqpi)),
        "no query at {:?}: {own:?}",
        last + oqpi
    );

    // Host 2's reports go to the router port p1 (and nowhere else) while
    // p1 is one, i.e. until OQPI after the last foreign query; later ones
    // have no router port to go to.
    let host2: Ipv4Addr = "10.77.0.2".parse().unwrap();
    let is_report = |f: &Frame| matches!(f, Frame::Igmp { src, kind: 0x22 } if *src == host2);
    let until = ms(&sc.state("state.json")["switch"]["now_ms"]);
    let reports: Vec<Duration> = sc
        .input("p2")
        .iter()
        .filter(|(t, f)| *t <= until && is_report(f))
        .map(|(t, _)| *t)
        .collect();
    let to_router: Vec<Duration> = sc
        .output("p1")
        .iter()
        .filter(|(_, f)| is_report(f))
        .map(|(t, _)| *t)
        .collect();
    let while_router: Vec<Duration> = reports
        .iter()
        .copied()
        .filter(|t| *t < last + oqpi)
        .collect();
    assert!(while_router.len() >= 3 && while_router.len() < reports.len());
    assert_eq!(
        to_router, while_router,
        "reports forwarded to the router port"
    );

    // At the end: the querier again, elected itself, p1 no longer a router port.
    let end = sc.state("state.json");
    assert!(ms(&end["switch"]["now_ms"]) > last + oqpi);
    let q = querier(&end, "v4");
    assert_eq!(q["role"], "querier");
    assert_eq!(q["elected"], ours.to_string());
    assert!(q["other_querier"].is_null());
    assert!(end["switch"]["multicast"]["router_ports"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        member_names(&end, "239.1.1.1"),
        ["p2"],
        "host 2 answered the resumed queries"
    );
}

#[test]
fn membership_expiry_without_leave_ages_the_group_out_after_gmi() {
    let sc = Scenario::new("membership-expiry-no-leave");
    let gmi = sc.timers().group_membership_interval;
    let group = "239.5.5.5";

    // Host 1's last report; after it, host 1 sends nothing at all.
    let p1_in = sc.input("p1");
    let last_report = p1_in.last().map(|(t, _)| *t).expect("host 1 reported");
    assert!(
        p1_in
            .iter()
            .all(|(_, f)| matches!(f, Frame::Igmp { kind: 0x22, .. })),
        "host 1 sent only IGMPv3 reports: {p1_in:?}"
    );

    // Mid-way: still a member, its timer running down from the last report.
    let mid = sc.state("state-5000.json");
    assert_eq!(member_names(&mid, group), ["p1"]);
    assert_close(
        ms(&member(&mid, group, "p1")["group_timer_ms"]),
        last_report + gmi - Duration::from_millis(5000),
    );

    // Our general queries to p1 after its last report went unanswered.
    let p1 = sc.output("p1");
    let unanswered = p1
        .iter()
        .filter(|(t, f)| {
            *t > last_report
                && matches!(f, Frame::IgmpQuery { group, .. } if group.is_unspecified())
        })
        .count();
    assert!(
        unanswered >= 2,
        "{unanswered} queries after the last report"
    );

    // Data reaches p1 until GMI after the last report, never later, though host 2 kept sending.
    let expiry = last_report + gmi;
    let to_p1 = udp_times(&p1, None);
    assert!(to_p1.iter().any(|t| *t > last_report + gmi / 2));
    assert!(to_p1.iter().all(|t| *t < expiry), "{to_p1:?}");
    let end = sc.state("state.json");
    let until = ms(&end["switch"]["now_ms"]);
    let later = udp_times(&sc.input("p2"), None)
        .into_iter()
        .filter(|t| *t > expiry && *t <= until)
        .count();
    assert!(later >= 5, "host 2 kept sending after the expiry");

    // At the end: the group is gone without any leave; the late datagrams were pruned.
    assert!(member_names(&end, group).is_empty());
    for v in ["igmp_v1", "igmp_v2", "igmp_v3"] {
        assert_eq!(counter(&end, "leaves", v), 0, "no leave ({v})");
    }
    assert_eq!(
        support::port_counters(&end, "p2")["drops"]["pruned"].as_u64(),
        Some(later as u64)
    );
}
