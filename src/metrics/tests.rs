//! Rendering a known sample: names, labels, types and the `# EOF` terminator.

use super::*;
use crate::switch::{PortCounters, PortKind};
use serde::Deserialize;

fn port(name: &str, rx: u64) -> PortView {
    let mut counters = PortCounters {
        rx_frames: rx,
        rx_bytes: rx * 100,
        tx_frames: 2,
        tx_bytes: 200,
        ..PortCounters::default()
    };
    counters.drops.add(crate::switch::DropReason::Pruned);
    PortView {
        id: 0,
        name: name.to_string(),
        kind: PortKind::Tap,
        up: true,
        fdb_entries: 1,
        idle_ms: 0,
        counters,
    }
}

fn sample() -> Sample {
    let mut snoop = SnoopCounters::default();
    snoop.queries_sent.bump(Version::IgmpV3);
    snoop.reports.bump(Version::MldV2);
    snoop.refused.port_full = 4;
    Sample {
        ports: vec![port("tap0", 7), port("tap\"1", 3)],
        fdb_entries: 2,
        mdb_groups: 1,
        queriers: Vec::new(),
        snoop,
        listeners: vec![ListenerSample {
            name: "vxlan".into(),
            peers: 3,
            counters: ListenerCounters {
                rx_datagrams: 9,
                drop_not_allowed: 1,
                ..ListenerCounters::default()
            },
        }],
    }
}

#[test]
fn counters_carry_port_kind_and_reason_labels() {
    let text = sample().render().unwrap();
    assert!(
        text.contains("# TYPE overcast_port_rx_frames counter\n"),
        "{text}"
    );
    assert!(
        text.contains("overcast_port_rx_frames_total{port=\"tap0\",kind=\"tap\"} 7\n"),
        "{text}"
    );
    assert!(
        text.contains("overcast_port_drops_total{port=\"tap0\",reason=\"pruned\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("overcast_port_drops_total{port=\"tap0\",reason=\"too_short\"} 0\n"),
        "every reason is exported, zero or not: {text}"
    );
    assert!(
        text.contains("overcast_multicast_queries_sent_total{version=\"igmp_v3\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("overcast_multicast_refused_joins_total{reason=\"port_full\"} 4\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "overcast_listener_drops_total{listener=\"vxlan\",reason=\"not_allowed\"} 1\n"
        ),
        "{text}"
    );
}

#[test]
fn gauges_report_table_sizes_and_peers() {
    let text = sample().render().unwrap();
    assert!(
        text.contains("# TYPE overcast_fdb_entries gauge\novercast_fdb_entries 2\n"),
        "{text}"
    );
    assert!(text.contains("overcast_mdb_groups 1\n"), "{text}");
    assert!(
        text.contains("overcast_peers{listener=\"vxlan\"} 3\n"),
        "{text}"
    );
}

#[test]
fn label_values_are_escaped_and_the_exposition_ends_with_eof() {
    let text = sample().render().unwrap();
    assert!(text.contains("port=\"tap\\\"1\""), "{text}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(text.matches("# EOF").count(), 1);
}

#[test]
fn empty_families_are_left_out() {
    let text = Sample::default().render().unwrap();
    assert!(!text.contains("overcast_port_rx_frames"), "{text}");
    assert!(!text.contains("overcast_multicast_querier"), "{text}");
    assert!(text.contains("overcast_fdb_entries 0\n"), "{text}");
}

#[test]
fn listen_addresses_default_to_loopback_for_a_bare_port() {
    let bare: MetricsAddr = "9477".parse().unwrap();
    assert_eq!(bare.0, "127.0.0.1:9477".parse().unwrap());
    let v6: MetricsAddr = "[::1]:9100".parse().unwrap();
    assert_eq!(v6.0, "[::1]:9100".parse().unwrap());
    let err = "localhost:9477".parse::<MetricsAddr>().unwrap_err();
    assert!(err.contains("IP:PORT"), "{err}");
    assert!("70000".parse::<MetricsAddr>().is_err());
}

#[test]
fn listen_addresses_deserialize_from_strings_and_port_numbers() {
    #[derive(Deserialize)]
    struct T {
        a: MetricsAddr,
        b: MetricsAddr,
    }
    let t: T = toml::from_str("a = \"0.0.0.0:9477\"\nb = 9100\n").unwrap();
    assert_eq!(t.a.0, "0.0.0.0:9477".parse().unwrap());
    assert_eq!(t.b.0, "127.0.0.1:9100".parse().unwrap());
    assert!(toml::from_str::<T>("a = 1\nb = 99999\n").is_err());
}

#[test]
fn byte_counters_declare_their_unit() {
    let text = sample().render().unwrap();
    assert!(
        text.contains(
            "# TYPE overcast_port_rx_bytes counter\n# UNIT overcast_port_rx_bytes bytes\n"
        ),
        "{text}"
    );
    assert!(text.contains("overcast_port_tx_bytes_total{"), "{text}");
    assert!(
        !text.contains("# UNIT overcast_port_rx_frames"),
        "frames have no unit"
    );
}
