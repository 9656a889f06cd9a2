//! Human views of the switch state: aligned tables in the style of iproute2's `bridge` command.
//!
//! Input is the JSON the control socket returns (the same data `--json`
//! prints), so the tables and the JSON can never disagree.

use serde_json::Value;

/// Render `rows` under `headers` as left-aligned columns separated by two spaces.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                l.push_str("  ");
            }
            l.push_str(&format!("{cell:<w$}"));
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn secs(ms: &Value) -> String {
    match ms.as_u64() {
        Some(ms) => format!("{:.1}s", ms as f64 / 1000.0),
        None => "-".into(),
    }
}

/// `show fdb`.
pub fn fdb(data: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(data)
        .iter()
        .map(|e| {
            vec![
                s(&e["mac"]),
                s(&e["port"]),
                s(&e["vlan"]),
                if e["is_static"].as_bool() == Some(true) {
                    "static".into()
                } else {
                    secs(&e["age_ms"])
                },
            ]
        })
        .collect();
    table(&["MAC", "PORT", "VLAN", "AGE"], &rows)
}

/// `show vlans`: each port's 802.1Q mode.
pub fn vlans(data: &Value) -> String {
    let list = |v: &Value| {
        let ids: Vec<String> = arr(v).iter().map(s).collect();
        if ids.is_empty() {
            "-".to_string()
        } else {
            ids.join(",")
        }
    };
    let rows: Vec<Vec<String>> = arr(data)
        .iter()
        .map(|p| {
            vec![
                s(&p["port"]),
                s(&p["mode"]),
                s(&p["pvid"]),
                if p["mode"] == "transparent" {
                    "all".into()
                } else {
                    list(&p["vlans"])
                },
                list(&p["tagged"]),
            ]
        })
        .collect();
    table(&["PORT", "MODE", "PVID", "VLANS", "TAGGED"], &rows)
}

/// `show ports`.
pub fn ports(data: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(data)
        .iter()
        .map(|p| {
            let c = &p["counters"];
            let drops: u64 = c["drops"]
                .as_object()
                .map(|m| m.values().filter_map(Value::as_u64).sum())
                .unwrap_or(0);
            vec![
                s(&p["name"]),
                s(&p["kind"]),
                if p["up"].as_bool() == Some(true) {
                    "up"
                } else {
                    "down"
                }
                .into(),
                s(&p["fdb_entries"]),
                s(&c["rx_frames"]),
                s(&c["tx_frames"]),
                drops.to_string(),
            ]
        })
        .collect();
    table(
        &["PORT", "KIND", "STATE", "MACS", "RX", "TX", "DROPS"],
        &rows,
    )
}

/// `show peers`.
pub fn peers(data: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(data)
        .iter()
        .map(|p| {
            let macs: Vec<String> = p["macs"]
                .as_array()
                .map(|m| m.iter().map(s).collect())
                .unwrap_or_default();
            vec![
                s(&p["name"]),
                s(&p["remote"]),
                if p["is_static"].as_bool() == Some(true) {
                    "static"
                } else {
                    "dynamic"
                }
                .into(),
                secs(&p["idle_ms"]),
                if macs.is_empty() {
                    "-".into()
                } else {
                    macs.join(",")
                },
            ]
        })
        .collect();
    table(&["PEER", "REMOTE", "TYPE", "IDLE", "MACS"], &rows)
}

/// `show counters`: per-port traffic and every non-zero drop reason.
pub fn counters(data: &Value) -> String {
    let mut rows = Vec::new();
    for p in arr(&data["switch"]["ports"]) {
        let c = &p["counters"];
        let drops: Vec<String> = c["drops"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(_, v)| v.as_u64().is_some_and(|n| n > 0))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect()
            })
            .unwrap_or_default();
        rows.push(vec![
            s(&p["name"]),
            s(&c["rx_frames"]),
            s(&c["rx_bytes"]),
            s(&c["tx_frames"]),
            s(&c["tx_bytes"]),
            c["mcast_pruned"].as_u64().unwrap_or(0).to_string(),
            if drops.is_empty() {
                "-".into()
            } else {
                drops.join(" ")
            },
        ]);
    }
    let mut out = table(
        &[
            "PORT",
            "RX_FRAMES",
            "RX_BYTES",
            "TX_FRAMES",
            "TX_BYTES",
            "MCAST_PRUNED",
            "DROPS",
        ],
        &rows,
    );
    let listeners: Vec<Vec<String>> = arr(&data["listeners"])
        .iter()
        .map(|l| {
            let c = &l["counters"];
            let drops: Vec<String> = c
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, v)| {
                            k.starts_with("drop_") && v.as_u64().is_some_and(|n| n > 0)
                        })
                        .map(|(k, v)| format!("{}={v}", k.trim_start_matches("drop_")))
                        .collect()
                })
                .unwrap_or_default();
            vec![
                s(&l["name"]),
                format!("{} {}", s(&l["encap"]), s(&l["bind"])),
                s(&c["rx_datagrams"]),
                s(&c["peers_admitted"]),
                s(&c["peers_expired"]),
                format!(
                    "{}/{}",
                    s(&c["inner_csum_bad"]),
                    s(&c["inner_csum_checked"])
                ),
                if drops.is_empty() {
                    "-".into()
                } else {
                    drops.join(" ")
                },
            ]
        })
        .collect();
    if !listeners.is_empty() {
        out.push('\n');
        out.push_str(&table(
            &[
                "LISTENER",
                "SOCKET",
                "RX",
                "ADMITTED",
                "EXPIRED",
                "BAD_INNER_CSUM",
                "DROPS",
            ],
            &listeners,
        ));
        let bad = arr(&data["listeners"]).iter().any(|l| {
            l["counters"]["inner_csum_bad"]
                .as_u64()
                .is_some_and(|n| n > 0)
        });
        if bad {
            out.push_str(
                "note: some tunnel peers send frames whose inner UDP/TCP checksum is wrong \
                 (left to an offload that never ran; receivers drop them). On a kernel \
                 vxlan device over veth: ethtool -K <vxlan dev> tx off\n",
            );
        }
    }
    out
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map(|a| a.as_slice()).unwrap_or(&[])
}

/// `show mdb --stats`: per registered group, its member ports and the copies pruning spared.
pub fn mdb_stats(data: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(&data["stats"])
        .iter()
        .map(|g| {
            vec![
                s(&g["vlan"]),
                s(&g["group"]),
                s(&g["members"]),
                s(&g["pruned_copies"]),
            ]
        })
        .collect();
    table(&["VLAN", "GROUP", "MEMBERS", "PRUNED_COPIES"], &rows)
}

/// `show mdb`: per group, each receiving port and why, in the style of `bridge mdb show`.
pub fn mdb(data: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(&data["groups"])
        .iter()
        .map(|r| {
            let sources: Vec<String> = arr(&r["sources"])
                .iter()
                .map(|src| format!("{}({})", s(&src["source"]), secs(&src["timer_ms"])))
                .collect();
            vec![
                s(&r["port"]),
                s(&r["vlan"]),
                s(&r["group"]),
                s(&r["reason"]),
                s(&r["filter_mode"]).to_lowercase(),
                if sources.is_empty() {
                    "-".into()
                } else {
                    sources.join(",")
                },
                secs(&r["timer_ms"]),
            ]
        })
        .collect();
    let mut out = table(
        &["PORT", "VLAN", "GROUP", "WHY", "MODE", "SOURCES", "TIMER"],
        &rows,
    );
    let routers: Vec<Vec<String>> = arr(&data["router_ports"])
        .iter()
        .map(|r| {
            vec![
                s(&r["port"]),
                s(&r["vlan"]),
                if r["is_static"].as_bool() == Some(true) {
                    "static".into()
                } else {
                    secs(&r["expires_ms"])
                },
            ]
        })
        .collect();
    if !routers.is_empty() {
        out.push('\n');
        out.push_str(&table(&["ROUTER-PORT", "VLAN", "EXPIRES"], &routers));
    }
    for q in arr(&data["queriers"]) {
        out.push_str(&format!(
            "\nvlan {} {}: {}",
            s(&q["vlan"]),
            if q["family"] == "v4" { "IGMP" } else { "MLD" },
            if q["pruning"].as_bool() == Some(true) {
                "pruning"
            } else {
                "flooding (no querier known yet)"
            }
        ));
    }
    out.push('\n');
    out
}

/// `show querier`: each (VLAN, family) querier and the election.
pub fn querier(data: &Value) -> String {
    let rows: Vec<Vec<String>> = arr(data)
        .iter()
        .map(|q| {
            vec![
                s(&q["vlan"]),
                if q["family"] == "v4" {
                    "igmp".into()
                } else {
                    "mld".into()
                },
                s(&q["mode"]),
                s(&q["role"]),
                s(&q["version"]),
                s(&q["own_address"]),
                s(&q["elected"]),
                secs(&q["other_querier_timer_ms"]),
                if q["pruning"].as_bool() == Some(true) {
                    "yes".into()
                } else {
                    "no".into()
                },
            ]
        })
        .collect();
    table(
        &[
            "VLAN",
            "PROTO",
            "MODE",
            "ROLE",
            "VERSION",
            "OURS",
            "ELECTED",
            "OTHER-TIMER",
            "PRUNING",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(&["A", "LONGER"], &[vec!["xxxx".into(), "y".into()]]);
        assert_eq!(t, "A     LONGER\nxxxx  y\n");
    }

    #[test]
    fn fdb_rows_show_static_and_age() {
        let v = serde_json::json!([
            {"mac": "02:00:00:00:00:01", "port": "tap0", "vlan": 0, "is_static": false, "age_ms": 1500},
            {"mac": "02:00:00:00:00:02", "port": "tap1", "vlan": 0, "is_static": true, "age_ms": 0}
        ]);
        let t = fdb(&v);
        assert!(t.contains("02:00:00:00:00:01  tap0  0     1.5s"), "{t}");
        assert!(t.contains("static"), "{t}");
    }
}
