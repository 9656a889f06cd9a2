//! Parsing and validation, each failure naming its field.

use super::*;
use std::time::Duration;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("test.toml"))
}

#[test]
fn full_config_parses_with_human_durations() {
    let cfg = parse(
        r#"
        control = "/tmp/oc.sock"
        [fdb]
        ageing_time = "2m"
        max_entries = 100
        [[tap]]
        name = "tap0"
        [[tap]]
        name = "tap1"
        [[listener]]
        bind = "0.0.0.0:4789"
        encap = "vxlan"
        vni = 7
        allow = ["10.0.0.0/8"]
        idle_timeout = "30s"
        [[peer]]
        remote = "hub:4789"
        encap = "vxlan"
        [[static_fdb]]
        mac = "02:00:00:00:00:01"
        port = "tap1"
        "#,
    )
    .unwrap();
    assert_eq!(cfg.fdb.ageing_time, Duration::from_secs(120));
    assert_eq!(
        cfg.fdb.max_entries_per_port,
        FdbConfig::default().max_entries_per_port
    );
    assert_eq!(cfg.taps.len(), 2);
    assert_eq!(cfg.listeners[0].idle_timeout, Duration::from_secs(30));
    assert_eq!(cfg.listeners[0].max_peers, 1024);
}

#[test]
fn unknown_keys_name_the_file_and_key() {
    let err = parse("[fdb]\nageing = \"5m\"\n").unwrap_err().to_string();
    assert!(err.contains("test.toml") && err.contains("ageing"), "{err}");
}

#[test]
fn parse_errors_are_one_line_naming_the_field_in_plain_words() {
    let err =
        parse("[[listener]]\nbind = \"0.0.0.0:1\"\nencap = \"raw\"\nallow = [\"10.0.0.0/33\"]\n")
            .unwrap_err()
            .to_string();
    assert!(!err.contains('\n'), "{err}");
    assert!(
        err.contains("line 4") && err.contains("listener[0].allow"),
        "{err}"
    );
    assert!(err.contains("33 exceeds 32"), "{err}");
    let err = parse("[fdb]\nmax_entries = \"many\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expected a whole number") && !err.contains("usize"),
        "{err}"
    );
    assert!(err.contains("fdb.max_entries"), "{err}");
}

#[test]
fn vlan_modes_parse_and_bad_ones_name_the_field() {
    let cfg = parse(
        "[[tap]]\nname = \"a\"\nvlan_mode = \"access\"\nvlan = 10\n\
         [[tap]]\nname = \"t\"\nvlan_mode = \"trunk\"\nvlans = [10, \"100-102\"]\nnative_vlan = 1\n",
    )
    .unwrap();
    assert_eq!(cfg.taps[0].vlan_mode(), crate::switch::VlanMode::Access(10));
    assert_eq!(cfg.taps[1].vlan_mode().vlans(), vec![1, 10, 100, 101, 102]);
    for (text, field) in [
        ("vlan_mode = \"access\"\n", "tap[0].vlan"),
        ("vlan_mode = \"access\"\nvlan = 4095\n", "tap[0].vlan"),
        ("vlan = 10\n", "tap[0].vlan"),
        (
            "vlan_mode = \"trunk\"\nvlans = [\"20-10\"]\n",
            "tap[0].vlans[0]",
        ),
        ("vlan_mode = \"trunk\"\n", "tap[0].vlans"),
        (
            "vlan_mode = \"native-tagged\"\nvlans = [10]\n",
            "tap[0].native_vlan",
        ),
        ("vlan_mode = \"dot1q-tunnel\"\n", "tap[0].vlan_mode"),
    ] {
        let err = parse(&format!("[[tap]]\nname = \"a\"\n{text}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("`{field}`")), "{text}: {err}");
    }
}

#[test]
fn segments_override_snooping_per_vlan_and_name_bad_fields() {
    let cfg = parse(
        "[multicast]\nquerier = \"auto\"\n[[segment]]\nvlan = 20\nsnooping = false\n\
         [[segment]]\nvlan = 30\nquerier = \"off\"\nigmp_version = 2\n",
    )
    .unwrap();
    let sc = cfg.switch_config(crate::switch::DEFAULT_MAC);
    assert!(!sc.snoop_vlans[&20].enabled);
    assert_eq!(sc.snoop_vlans[&30].igmp_version, 2);
    assert_eq!(
        sc.snoop_vlans[&30].querier,
        crate::igmp::config::QuerierMode::Off
    );
    let err = parse("[[segment]]\nvlan = 30\nigmp_version = 5\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("segment[0].igmp_version"), "{err}");
    let err = parse("[[segment]]\nvlan = 3\n[[segment]]\nvlan = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("segment[1].vlan"), "{err}");
}

#[test]
fn bad_durations_say_why() {
    let err = parse("[fdb]\nageing_time = \"5 parsecs\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("invalid duration") && err.contains("ageing_time"),
        "{err}"
    );
}

#[test]
fn duplicate_port_names_name_the_field() {
    let err = parse("[[tap]]\nname = \"a\"\n[[tap]]\nname = \"a\"\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "config test.toml: field `tap[1].name`: duplicate port name \"a\""
    );
}

#[test]
fn semantic_checks_name_fields() {
    let long = parse("[[tap]]\nname = \"a-very-long-interface\"\n")
        .unwrap_err()
        .to_string();
    assert!(long.contains("tap[0].name"), "{long}");
    let vni = parse("[[listener]]\nbind = \"0.0.0.0:1\"\nencap = \"vxlan\"\nvni = 16777216\n")
        .unwrap_err()
        .to_string();
    assert!(vni.contains("listener[0].vni"), "{vni}");
    let fdb = parse("[[static_fdb]]\nmac = \"02:00:00:00:00:01\"\nport = \"nope\"\n")
        .unwrap_err()
        .to_string();
    assert!(fdb.contains("static_fdb[0].port"), "{fdb}");
}

#[test]
fn capture_section_has_defaults_and_limits() {
    let cfg = parse("[capture]\ndir = \"/tmp/cap\"\n").unwrap();
    let cap = cfg.capture.unwrap();
    assert_eq!((cap.max_bytes, cap.max_files), (64 << 20, 4));
    let err = parse("[capture]\ndir = \"/tmp/cap\"\nmax_files = 0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("capture.max_files"), "{err}");
    let err = parse("[capture]\ndir = \"/tmp/cap\"\nmax_bytes = 1000\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("capture.max_bytes"), "{err}");
}

#[test]
fn static_mdb_entries_name_bad_fields() {
    let ok = parse("[[tap]]\nname = \"a\"\n[[static_mdb]]\ngroup = \"239.1.1.1\"\nport = \"a\"\n");
    assert_eq!(ok.unwrap().static_mdb.len(), 1);
    let err = parse("[[tap]]\nname = \"a\"\n[[static_mdb]]\ngroup = \"10.0.0.1\"\nport = \"a\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("static_mdb[0].group"), "{err}");
}

#[test]
fn the_default_hub_listens_on_vxlan_and_raw() {
    let cfg = Config::default_hub();
    assert!(cfg.validate().is_ok());
    assert_eq!(cfg.listeners[0].bind, "0.0.0.0:4789".parse().unwrap());
    assert_eq!(cfg.listeners[0].vni, 42);
    assert_eq!(cfg.listeners[1].encap, Encap::Raw);
}
