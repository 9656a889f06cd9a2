//! The Prometheus endpoint on a real switch: valid OpenMetrics text whose
//! counters follow the traffic, and a start refused when it cannot bind.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Metrics on a bare port (so: the switch namespace's own loopback), plus
/// short multicast timers so the querier prunes within a second or two.
const CONFIG: &str = r#"
metrics_listen = "9477"

[multicast]
query_interval = "2s"
query_response_interval = "1s"
last_member_query_interval = "500ms"
"#;

/// A parsed exposition: sample (name, labels) -> value.
type Samples = BTreeMap<(String, BTreeMap<String, String>), f64>;

/// A strict reader of the OpenMetrics text we emit: every line is a HELP,
/// TYPE or UNIT comment or a `name{labels} value` sample; each family is
/// described once, before its samples, which follow contiguously and carry
/// the family's name (with `_total` for counters); no sample repeats; the
/// text ends with exactly one `# EOF`.
fn parse(text: &str) -> Result<Samples, String> {
    let body = text
        .strip_suffix("# EOF\n")
        .ok_or("the exposition does not end with \"# EOF\\n\"")?;
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut closed = BTreeSet::new();
    let mut samples = Samples::new();
    for (n, line) in body.lines().enumerate() {
        let at = |e: &str| format!("line {}: {e}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kind, name, arg) = (parts.next(), parts.next(), parts.next());
            let (Some(kind), Some(name), Some(arg)) = (kind, name, arg) else {
                return Err(at("malformed comment"));
            };
            if !valid_name(name) {
                return Err(at("bad metric family name"));
            }
            if current.as_deref() != Some(name) {
                if closed.contains(name) {
                    return Err(at("family described again after others"));
                }
                if let Some(prev) = current.replace(name.to_string()) {
                    closed.insert(prev);
                }
            }
            match kind {
                "HELP" => {
                    if !helps.insert(name.to_string()) {
                        return Err(at("second HELP"));
                    }
                }
                "TYPE" => {
                    if !["counter", "gauge", "info", "stateset", "unknown"].contains(&arg) {
                        return Err(at("unknown type"));
                    }
                    if types.insert(name.to_string(), arg.to_string()).is_some() {
                        return Err(at("second TYPE"));
                    }
                }
                "UNIT" => {}
                _ => return Err(at("unknown comment")),
            }
            continue;
        }
        let family = current
            .clone()
            .ok_or_else(|| at("sample before any TYPE"))?;
        let kind = types
            .get(&family)
            .ok_or_else(|| at("family without TYPE"))?;
        let (name, labels, value) = sample(line).map_err(|e| at(&e))?;
        let expected = match kind.as_str() {
            "counter" => format!("{family}_total"),
            _ => family.clone(),
        };
        if name != expected {
            return Err(at(&format!("sample outside its family {family}")));
        }
        if kind == "counter" && value < 0.0 {
            return Err(at("negative counter"));
        }
        if samples.insert((name, labels), value).is_some() {
            return Err(at("duplicate sample"));
        }
    }
    Ok(samples)
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `name{k="v",...} value` or `name value`.
fn sample(line: &str) -> Result<(String, BTreeMap<String, String>, f64), String> {
    let name_end = line.find(['{', ' ']).ok_or("no value")?;
    let name = &line[..name_end];
    if !valid_name(name) {
        return Err("bad metric name".into());
    }
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(r) = rest.strip_prefix('{') {
        rest = r;
        loop {
            let eq = rest.find('=').ok_or("label without =")?;
            let key = &rest[..eq];
            if !valid_name(key) || key.contains(':') {
                return Err(format!("bad label name {key:?}"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or("unquoted label value")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        _ => return Err("bad escape in label value".into()),
                    },
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                }
            };
            if labels.insert(key.to_string(), value).is_some() {
                return Err(format!("label {key} twice"));
            }
            rest = &rest[end + 1..];
            if let Some(r) = rest.strip_prefix(',') {
                rest = r;
            } else if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            } else {
                return Err("expected , or } after a label".into());
            }
        }
    }
    let value = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let value: f64 = value
        .parse()
        .map_err(|_| format!("value {value:?} is not a number"))?;
    Ok((name.to_string(), labels, value))
}

fn get(samples: &Samples, name: &str, labels: &[(&str, &str)]) -> f64 {
    let key = (
        name.to_string(),
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    *samples
        .get(&key)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
}

/// GET /metrics from inside the switch's namespace: (Content-Type, body).
fn scrape(ns: &Netns) -> (String, String) {
    let out = ns.run(
        "python3 -c 'import urllib.request as u; r = u.urlopen(\"http://127.0.0.1:9477/metrics\", timeout=5); \
         print(r.headers[\"Content-Type\"]); print(r.read().decode(), end=\"\")'",
    );
    let (ctype, body) = out.split_once('\n').expect("a Content-Type line");
    (ctype.to_string(), body.to_string())
}

#[test]
fn the_parser_rejects_what_prometheus_would() {
    let good = "# HELP a_b x\n# TYPE a_b counter\na_b_total{p=\"1\"} 2\n# EOF\n";
    assert!(parse(good).is_ok());
    for bad in [
        "# TYPE a counter\na_total 1\n",                       // no EOF
        "# TYPE a counter\na 1\n# EOF\n",                      // counter without _total
        "# TYPE a gauge\nb 1\n# EOF\n",                        // outside its family
        "a 1\n# EOF\n",                                        // no TYPE
        "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n# EOF\n", // duplicate
        "# TYPE a gauge\na{x=1} 1\n# EOF\n",                   // unquoted
        "# TYPE a gauge\na one\n# EOF\n",                      // not a number
        "# TYPE a gauge\n# TYPE b gauge\n# TYPE a gauge\n# EOF\n",
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn metrics_endpoint_serves_valid_openmetrics_that_follow_the_traffic() {
    if !can_run("metrics_endpoint_serves_valid_openmetrics_that_follow_the_traffic") {
        return;
    }
    let lab = TapLab::new(3, Some(CONFIG), "10.231.0", "31");
    assert!(
        lab.oc
            .log_text()
            .contains("metrics at http://127.0.0.1:9477/metrics"),
        "a bare port must mean loopback: {}",
        lab.oc.log_text()
    );
    let (ctype, body) = scrape(&lab.sw);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    let before = parse(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));

    // Unicast: 10 pings from host 0 to host 1.
    lab.hosts[0].run(&format!("ping -c 10 -i 0.1 -W 1 {}", lab.ips[1]));
    // Multicast: host 0 joins 239.9.9.9; host 2 sends 20 there and 20 to a group nobody joined.
    std::thread::sleep(Duration::from_millis(1200)); // the querier prunes after its max response time
    let dir = TempDir::new();
    let ready = dir.path().join("r");
    let member = lab.spawn(
        0,
        "mcast.py",
        &[
            "recv",
            "239.9.9.9",
            "5000",
            "5",
            "--iface",
            &lab.taps[0],
            "--ready",
            ready.to_str().unwrap(),
        ],
    );
    wait_file(&ready);
    std::thread::sleep(Duration::from_millis(1500));
    for group in ["239.9.9.9", "239.9.9.8"] {
        lab.hosts[2].run(&format!(
            "python3 {} send {group} 5000 20 --iface {}",
            tool("mcast.py"),
            lab.taps[2]
        ));
    }
    let shown_before = lab.oc.port_counter(&lab.taps[0], "rx_frames");
    let (_, body) = scrape(&lab.sw);
    let shown_after = lab.oc.port_counter(&lab.taps[0], "rx_frames");
    let after = parse(&body).unwrap_or_else(|e| panic!("{e}\n{body}"));
    assert_eq!(count_of(member), 20, "the member lost datagrams");

    let port = |name: &str, i: usize| {
        get(
            &after,
            name,
            &[("port", lab.taps[i].as_str()), ("kind", "tap")],
        )
    };
    let rx0 = port("overcast_port_rx_frames_total", 0);
    assert!(
        (shown_before as f64..=shown_after as f64).contains(&rx0),
        "metrics say {rx0} frames in on port 0, show ports {shown_before}..{shown_after}"
    );
    assert!(rx0 >= 10.0, "10 echo requests came in on port 0: {rx0}");
    assert!(port("overcast_port_tx_frames_total", 1) >= 10.0);
    assert!(port("overcast_port_rx_bytes_total", 0) >= 10.0 * 98.0);
    assert_eq!(port("overcast_port_up", 2), 1.0);
    let pruned = |s: &Samples| {
        get(
            s,
            "overcast_port_drops_total",
            &[("port", lab.taps[2].as_str()), ("reason", "pruned")],
        )
    };
    assert!(
        pruned(&after) - pruned(&before) >= 20.0,
        "the 20 datagrams to a group without members were not counted as pruned"
    );
    assert_eq!(
        get(
            &after,
            "overcast_multicast_querier",
            &[("vlan", "0"), ("family", "igmp")]
        ),
        1.0,
        "we are the only IGMP querier"
    );
    assert!(
        get(
            &after,
            "overcast_multicast_queries_sent_total",
            &[("version", "igmp_v3")]
        ) >= 1.0
    );
    assert!(
        get(
            &after,
            "overcast_multicast_reports_total",
            &[("version", "igmp_v3")]
        ) >= 1.0
    );
    assert!(get(&after, "overcast_mdb_groups", &[]) >= 1.0);
    assert!(get(&after, "overcast_fdb_entries", &[]) >= 2.0);
    assert_eq!(
        get(
            &after,
            "overcast_multicast_refused_joins_total",
            &[("reason", "table_full")]
        ),
        0.0
    );
}

#[test]
fn metrics_listen_that_cannot_be_bound_stops_the_start() {
    if !can_run("metrics_listen_that_cannot_be_bound_stops_the_start") {
        return;
    }
    let ns = Netns::new("m");
    let tap = unique("t");
    // 192.0.2.1 (TEST-NET-1) is not an address of this namespace.
    let out = ns.exec(&format!(
        "timeout 10 {} run --no-control --tap {tap} --metrics-listen 192.0.2.1:9477",
        env!("CARGO_BIN_EXE_overcast")
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it started anyway: {err}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "it must exit, not time out: {err}"
    );
    assert!(
        err.contains("metrics endpoint 192.0.2.1:9477") && err.contains("assign requested address"),
        "{err}"
    );
    assert!(
        !ns.exec(&format!("ip link show {tap}")).status.success(),
        "the switch created its TAP before giving up"
    );
}
