//! Prometheus metrics: a snapshot of the switch taken at scrape time, encoded
//! in the OpenMetrics text format with `prometheus-client`.
//!
//! Sans-I/O like the core: the driver fills a [`Sample`] from the running
//! switch and serves [`Sample::render`]; nothing here touches a socket. The
//! counters already live in the core, so instead of keeping a second set of
//! metric objects in step, [`Sample`] is a `prometheus-client` collector that
//! emits constant counters and gauges from the snapshot (one registry per
//! scrape). Counter families are suffixed `_total` on the wire, as
//! OpenMetrics requires, and the exposition ends with `# EOF`.

use crate::igmp::counters::{PerVersion, SnoopCounters};
use crate::igmp::querier::QuerierState;
use crate::igmp::repr::{Family, Version};
use crate::switch::PortView;
use crate::tunnel::ListenerCounters;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use std::fmt;

mod listen;
pub use listen::{MetricsAddr, DEFAULT_PORT};

/// The `Content-Type` of [`Sample::render`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A tunnel listener's share of a sample.
#[derive(Debug, Clone)]
pub struct ListenerSample {
    /// Listener name.
    pub name: String,
    /// Peers it has now (static and dynamic).
    pub peers: usize,
    /// Its datagram counters.
    pub counters: ListenerCounters,
}

/// Everything one scrape reports, taken from the switch at one instant.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Ports with their traffic and drop counters.
    pub ports: Vec<PortView>,
    /// FDB entries.
    pub fdb_entries: usize,
    /// (VLAN, group) entries with at least one member.
    pub mdb_groups: usize,
    /// The querier of each (VLAN, family).
    pub queriers: Vec<QuerierState>,
    /// Snooping counters.
    pub snoop: SnoopCounters,
    /// Tunnel listeners.
    pub listeners: Vec<ListenerSample>,
}

type Labels = Vec<(&'static str, String)>;

/// Emit one metric family: a descriptor, then one sample per label set
/// (a family without labels has one sample, written without braces).
fn family<M: EncodeMetric>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (Labels, M)>,
) -> fmt::Result {
    family_in(enc, name, help, None, rows)
}

/// [`family`] with an OpenMetrics unit: `name` is the family's name without
/// the unit, which the encoder appends (`overcast_port_rx` + bytes →
/// `overcast_port_rx_bytes`) and declares in a `# UNIT` line.
fn family_in<M: EncodeMetric>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    rows: impl IntoIterator<Item = (Labels, M)>,
) -> fmt::Result {
    let mut rows = rows.into_iter().peekable();
    let Some(first) = rows.peek() else {
        return Ok(());
    };
    let mut metric = enc.encode_descriptor(name, help, unit, first.1.metric_type())?;
    if first.0.is_empty() {
        return match rows.next() {
            Some((_, value)) => value.encode(metric),
            None => Ok(()),
        };
    }
    for (labels, value) in rows {
        value.encode(metric.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

fn gauge(v: usize) -> ConstGauge<i64> {
    ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
}

fn version_name(v: Version) -> &'static str {
    match v {
        Version::IgmpV1 => "igmp_v1",
        Version::IgmpV2 => "igmp_v2",
        Version::IgmpV3 => "igmp_v3",
        Version::MldV1 => "mld_v1",
        Version::MldV2 => "mld_v2",
    }
}

const VERSIONS: [Version; 5] = [
    Version::IgmpV1,
    Version::IgmpV2,
    Version::IgmpV3,
    Version::MldV1,
    Version::MldV2,
];

fn per_version(c: &PerVersion) -> impl Iterator<Item = (Labels, ConstCounter<u64>)> + '_ {
    VERSIONS.iter().map(move |v| {
        (
            vec![("version", version_name(*v).to_string())],
            counter(c.get(*v)),
        )
    })
}

fn family_name(f: Family) -> &'static str {
    match f {
        Family::V4 => "igmp",
        Family::V6 => "mld",
    }
}

impl Sample {
    /// The exposition in OpenMetrics text, ending with `# EOF`.
    pub fn render(&self) -> Result<String, fmt::Error> {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self.clone()));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }

    fn ports(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let port_labels =
            |p: &PortView| vec![("port", p.name.clone()), ("kind", serde_plain(&p.kind))];
        type Get = fn(&PortView) -> u64;
        let traffic: [(&str, &str, Option<Unit>, Get); 4] = [
            (
                "overcast_port_rx_frames",
                "Frames received on the port.",
                None,
                |p| p.counters.rx_frames,
            ),
            (
                "overcast_port_rx",
                "Bytes received on the port.",
                Some(Unit::Bytes),
                |p| p.counters.rx_bytes,
            ),
            (
                "overcast_port_tx_frames",
                "Frames switched out of the port.",
                None,
                |p| p.counters.tx_frames,
            ),
            (
                "overcast_port_tx",
                "Bytes switched out of the port.",
                Some(Unit::Bytes),
                |p| p.counters.tx_bytes,
            ),
        ];
        for (name, help, unit, get) in traffic {
            family_in(
                enc,
                name,
                help,
                unit.as_ref(),
                self.ports.iter().map(|p| (port_labels(p), counter(get(p)))),
            )?;
        }
        family(
            enc,
            "overcast_port_up",
            "1 if the port forwards, 0 if it is down.",
            self.ports
                .iter()
                .map(|p| (port_labels(p), gauge(usize::from(p.up)))),
        )?;
        family(
            enc,
            "overcast_port_drops",
            "Frames dropped, by port and reason (ingress drops on the ingress port, send failures on the egress port).",
            self.ports.iter().flat_map(|p| {
                p.counters.drops.iter().map(move |(reason, n)| {
                    (
                        vec![("port", p.name.clone()), ("reason", reason.name().to_string())],
                        counter(n),
                    )
                })
            }),
        )
    }

    fn tables(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        family(
            enc,
            "overcast_fdb_entries",
            "Entries in the forwarding database (learned and static).",
            [(Labels::new(), gauge(self.fdb_entries))],
        )?;
        family(
            enc,
            "overcast_mdb_groups",
            "(VLAN, group) entries in the multicast database with at least one member port.",
            [(Labels::new(), gauge(self.mdb_groups))],
        )?;
        family(
            enc,
            "overcast_peers",
            "Tunnel peers (switch ports) of each listener.",
            self.listeners
                .iter()
                .map(|l| (vec![("listener", l.name.clone())], gauge(l.peers))),
        )
    }

    fn listeners(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        family(
            enc,
            "overcast_listener_rx_datagrams",
            "Datagrams received by the listener.",
            self.listeners.iter().map(|l| {
                (
                    vec![("listener", l.name.clone())],
                    counter(l.counters.rx_datagrams),
                )
            }),
        )?;
        family(
            enc,
            "overcast_listener_drops",
            "Datagrams the listener dropped, by reason.",
            self.listeners.iter().flat_map(|l| {
                let c = &l.counters;
                [
                    ("short", c.drop_short),
                    ("bad_flags", c.drop_bad_flags),
                    ("wrong_vni", c.drop_wrong_vni),
                    ("not_allowed", c.drop_not_allowed),
                    ("peer_limit", c.drop_peer_limit),
                    ("truncated", c.drop_truncated),
                ]
                .map(|(reason, n)| {
                    (
                        vec![("listener", l.name.clone()), ("reason", reason.to_string())],
                        counter(n),
                    )
                })
            }),
        )?;
        family(
            enc,
            "overcast_listener_peers_admitted",
            "Dynamic peers admitted by the listener.",
            self.listeners.iter().map(|l| {
                (
                    vec![("listener", l.name.clone())],
                    counter(l.counters.peers_admitted),
                )
            }),
        )?;
        family(
            enc,
            "overcast_listener_peers_expired",
            "Dynamic peers removed after their idle timeout.",
            self.listeners.iter().map(|l| {
                (
                    vec![("listener", l.name.clone())],
                    counter(l.counters.peers_expired),
                )
            }),
        )
    }

    fn multicast(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let q_labels = |q: &QuerierState| {
            vec![
                ("vlan", q.vlan.to_string()),
                ("family", family_name(q.family).to_string()),
            ]
        };
        family(
            enc,
            "overcast_multicast_querier",
            "1 if this switch is the elected querier of the (VLAN, family), else 0.",
            self.queriers.iter().map(|q| {
                let ours = q.role == crate::igmp::membership::Role::Querier;
                (q_labels(q), gauge(usize::from(ours)))
            }),
        )?;
        family(
            enc,
            "overcast_multicast_pruning",
            "1 if a querier is known and multicast is pruned to members, 0 while it is flooded.",
            self.queriers
                .iter()
                .map(|q| (q_labels(q), gauge(usize::from(q.pruning)))),
        )?;
        let s = &self.snoop;
        family(
            enc,
            "overcast_multicast_queries_sent",
            "IGMP/MLD queries this switch sent, by version.",
            per_version(&s.queries_sent),
        )?;
        family(
            enc,
            "overcast_multicast_queries_received",
            "IGMP/MLD queries received, by version.",
            per_version(&s.queries_received),
        )?;
        family(
            enc,
            "overcast_multicast_reports",
            "Membership reports received, by version.",
            per_version(&s.reports),
        )?;
        family(
            enc,
            "overcast_multicast_leaves",
            "IGMPv2 leaves and MLDv1 dones received, by version.",
            per_version(&s.leaves),
        )?;
        family(
            enc,
            "overcast_multicast_refused_joins",
            "Joins refused because a limit was reached: table_full, port_full, sources.",
            [
                ("table_full", s.refused.table_full),
                ("port_full", s.refused.port_full),
                ("sources", s.refused.sources),
            ]
            .map(|(reason, n)| (vec![("reason", reason.to_string())], counter(n))),
        )
    }
}

/// A unit enum's serde name (`"tap"`), for labels.
fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".to_string(),
    }
}

impl Collector for Sample {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        self.ports(&mut enc)?;
        self.tables(&mut enc)?;
        self.listeners(&mut enc)?;
        self.multicast(&mut enc)
    }
}

#[cfg(test)]
mod tests;
