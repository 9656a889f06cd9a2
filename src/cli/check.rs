//! `overcast check-config`: validate a file and say what it would build.

use overcast::config::Config;
use overcast::igmp::config::QuerierMode;

/// What a config would build, for `check-config`.
pub fn describe(cfg: &Config) -> String {
    let mut out = String::from("config OK\n");
    out.push_str(&format!(
        "fdb: ageing {}, max {} entries, {} per port\n",
        humantime::format_duration(cfg.fdb.ageing_time),
        cfg.fdb.max_entries,
        cfg.fdb.max_entries_per_port
    ));
    out.push_str(&multicast(cfg));
    for seg in &cfg.segments {
        let c = seg.apply(&cfg.multicast);
        out.push_str(&format!(
            "segment vlan {}: snooping {}, querier {:?}, IGMPv{} and MLDv{}\n",
            seg.vlan,
            if c.enabled { "on" } else { "off" },
            c.querier,
            c.igmp_version,
            c.mld_version
        ));
    }
    out.push_str(&format!("workers: {}\n", cfg.workers()));
    for t in &cfg.taps {
        let row = t.vlan_mode().row(&t.name);
        let vlans = match (row.mode, row.pvid) {
            ("transparent", _) => String::new(),
            ("access", Some(v)) => format!(" (access, VLAN {v})"),
            (mode, pvid) => format!(
                " ({mode}, VLANs {:?}{})",
                row.vlans,
                pvid.map(|v| format!(", native {v}")).unwrap_or_default()
            ),
        };
        out.push_str(&format!("tap port {}{vlans}\n", t.name));
    }
    for l in &cfg.listeners {
        out.push_str(&format!(
            "listener {} on {} ({}{}), allow [{}], max {} peers, idle timeout {}\n",
            l.display_name(),
            l.bind,
            l.encap,
            if !l.vnis.is_empty() {
                let map: Vec<String> = l
                    .segments()
                    .iter()
                    .map(|(vni, vlan)| format!("{vni}->vlan {vlan}"))
                    .collect();
                format!(" vnis {}", map.join(", "))
            } else if l.encap == overcast::tunnel::Encap::Vxlan {
                format!(" vni {}", l.vni)
            } else {
                String::new()
            },
            l.allow
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            l.max_peers,
            humantime::format_duration(l.idle_timeout)
        ));
    }
    for p in &cfg.peers {
        out.push_str(&format!("static peer {}://{}\n", p.encap, p.remote));
    }
    if let Some(c) = &cfg.capture {
        out.push_str(&format!(
            "capture to {} ({} bytes x {} files per port and direction)\n",
            c.dir.display(),
            c.max_bytes,
            c.max_files
        ));
    }
    if let Some(addr) = cfg.metrics_listen {
        out.push_str(&format!("metrics at http://{addr}/metrics\n"));
    }
    for s in &cfg.static_fdb {
        out.push_str(&format!(
            "static fdb {} vlan {} -> {}\n",
            s.mac, s.vlan, s.port
        ));
    }
    for s in &cfg.static_mdb {
        out.push_str(&format!(
            "static mdb {} vlan {} -> {}\n",
            s.group, s.vlan, s.port
        ));
    }
    if cfg.taps.is_empty() && cfg.listeners.is_empty() && cfg.peers.is_empty() {
        out.push_str("warning: no ports and no listeners: the switch would do nothing\n");
    }
    out
}

/// The snooping and querier line.
fn multicast(cfg: &Config) -> String {
    let m = &cfg.multicast;
    if !m.enabled {
        return "multicast: snooping off (every group is flooded)\n".into();
    }
    let t = m.timers();
    format!(
        "multicast: snooping on, querier {}, IGMPv{} and MLDv{}, query every {}, \
         membership interval {}, at most {} groups ({} per port), {} sources per group\n",
        match m.querier {
            QuerierMode::Auto => "auto (elected)",
            QuerierMode::On => "on (never yields)",
            QuerierMode::Off => "off",
        },
        m.igmp_version,
        m.mld_version,
        humantime::format_duration(t.query_interval),
        humantime::format_duration(t.group_membership_interval),
        m.max_groups,
        m.max_groups_per_port,
        m.max_sources_per_group,
    )
}
