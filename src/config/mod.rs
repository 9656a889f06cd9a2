//! The TOML configuration: schema, built-in defaults, and validation that names the field at fault.
//!
//! Each module owns its own section's type (`fdb::FdbConfig`,
//! `igmp::config::SnoopConfig`, `tunnel::config::ListenerConfig`, ...);
//! this module puts them together and checks references between them
//! ([`validate`]). It depends on no driver, so nothing imports in a circle.

mod capture;
mod validate;

pub use capture::CaptureConfig;
pub use validate::Invalid;

use crate::fdb::FdbConfig;
use crate::igmp::config::{PortSnoopConfig, SnoopConfig};
use crate::packet::ethernet::MacAddr;
use crate::switch::SwitchConfig;
use crate::tunnel::config::{Encap, ListenerConfig, PeerConfig, RAW_PORT, VXLAN_PORT};
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Control socket path (default `/run/overcast/control.sock`).
    #[serde(default)]
    pub control: Option<PathBuf>,
    /// Source MAC of the switch's own frames (queries). Default: random
    /// (locally administered) when live, fixed in replay.
    #[serde(default)]
    pub mac: Option<MacAddr>,
    /// Forwarding database.
    #[serde(default)]
    pub fdb: FdbConfig,
    /// IGMP/MLD snooping and the querier.
    #[serde(default)]
    pub multicast: SnoopConfig,
    /// TAP ports.
    #[serde(default, rename = "tap")]
    pub taps: Vec<TapConfig>,
    /// UDP tunnel listeners.
    #[serde(default, rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
    /// Static tunnel peers.
    #[serde(default, rename = "peer")]
    pub peers: Vec<PeerConfig>,
    /// Static FDB entries.
    #[serde(default)]
    pub static_fdb: Vec<StaticFdbEntry>,
    /// Static multicast group members.
    #[serde(default)]
    pub static_mdb: Vec<StaticMdbEntry>,
    /// Per-segment (VLAN) snooping settings that differ from `[multicast]`.
    #[serde(default, rename = "segment")]
    pub segments: Vec<SegmentConfig>,
    /// Live capture of every port to rotating pcap files (off when absent).
    #[serde(default)]
    pub capture: Option<CaptureConfig>,
    /// Serve Prometheus metrics at `http://ADDR/metrics`; off when absent.
    /// A bare port means loopback (see [`crate::metrics::MetricsAddr`]).
    /// Bound at start; a reload leaves the endpoint where it is.
    #[serde(default)]
    pub metrics_listen: Option<crate::metrics::MetricsAddr>,
    /// Switching threads. Ports are spread over this many workers, which
    /// share one FDB and MDB; 1 (the default) runs everything on one thread.
    /// Set at start; a reload leaves it as it is.
    #[serde(default)]
    pub workers: Option<usize>,
}

/// Workers unless configured: one, because on the machine measured a second
/// worker costs small packets more than it gives bulk traffic (the figures
/// are in docs/ARCHITECTURE.md).
pub const DEFAULT_WORKERS: usize = 1;
/// Workers allowed at all.
pub const MAX_WORKERS: usize = 64;

/// A TAP port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapConfig {
    /// Device name (at most 15 bytes). Opened if it exists, created otherwise.
    pub name: String,
    /// Multicast settings of this port.
    #[serde(default)]
    pub multicast: PortSnoopConfig,
    /// Open with `IFF_VNET_HDR` and checksum/TSO offload (64 KB frames from
    /// the stack behind the TAP). Default on; turn off for a TAP whose other
    /// end cannot take offloaded frames.
    #[serde(default = "yes")]
    pub offload: bool,
    /// MTU to set on the device when it is opened (edge mode sets one that fits the tunnel).
    #[serde(default)]
    pub mtu: Option<u32>,
    /// 802.1Q mode (`access`, `trunk`, `native-untagged`, `native-tagged`);
    /// absent: the port is transparent to tags, as before VLAN modes.
    #[serde(default)]
    pub vlan_mode: Option<VlanModeName>,
    /// `access`: the port's VLAN.
    #[serde(default)]
    pub vlan: Option<u16>,
    /// Trunks: the VLANs carried tagged, as ids and `"100-199"` ranges.
    #[serde(default)]
    pub vlans: Vec<VlanItem>,
    /// Trunks: the VLAN of untagged frames (leaves untagged unless `native-tagged`).
    #[serde(default)]
    pub native_vlan: Option<u16>,
}

/// One segment's snooping settings where they differ from `[multicast]`,
/// as Linux's per-VLAN `mcast_snooping` / `mcast_querier` options do.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    /// The VLAN (0: untagged traffic on transparent ports).
    pub vlan: u16,
    /// Snoop IGMP/MLD in this VLAN (off: every group is flooded here).
    #[serde(default)]
    pub snooping: Option<bool>,
    /// The querier's mode here.
    #[serde(default)]
    pub querier: Option<crate::igmp::config::QuerierMode>,
    /// The IGMP querier's address here (each VLAN holds its own election).
    #[serde(default)]
    pub querier_address_v4: Option<std::net::Ipv4Addr>,
    /// The MLD querier's (link-local) address here.
    #[serde(default)]
    pub querier_address_v6: Option<std::net::Ipv6Addr>,
    /// IGMP version of our queries here (2 or 3).
    #[serde(default)]
    pub igmp_version: Option<u8>,
    /// MLD version of our queries here (1 or 2).
    #[serde(default)]
    pub mld_version: Option<u8>,
}

impl SegmentConfig {
    /// `base` with this segment's settings applied.
    pub fn apply(&self, base: &SnoopConfig) -> SnoopConfig {
        let mut c = base.clone();
        if let Some(v) = self.snooping {
            c.enabled = v;
        }
        if let Some(q) = self.querier {
            c.querier = q;
        }
        if self.querier_address_v4.is_some() {
            c.querier_address_v4 = self.querier_address_v4;
        }
        if self.querier_address_v6.is_some() {
            c.querier_address_v6 = self.querier_address_v6;
        }
        if let Some(v) = self.igmp_version {
            c.igmp_version = v;
        }
        if let Some(v) = self.mld_version {
            c.mld_version = v;
        }
        c
    }
}

/// The `vlan_mode` names, as Open vSwitch spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VlanModeName {
    /// One VLAN, untagged.
    Access,
    /// Tagged VLANs; with `native_vlan`, untagged frames are that VLAN and leave untagged.
    Trunk,
    /// A trunk whose native VLAN leaves untagged (`native_vlan` required).
    NativeUntagged,
    /// A trunk whose native VLAN leaves tagged too (`native_vlan` required).
    NativeTagged,
    /// 802.1ad QinQ: refused by validation, not built.
    Dot1qTunnel,
}

/// One entry of a trunk's `vlans`: an id or a `"first-last"` range.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum VlanItem {
    /// One VLAN id.
    Id(u16),
    /// `"first-last"`, both included.
    Range(String),
}

impl VlanItem {
    /// The ids, or why the entry is not a VLAN list.
    pub fn ids(&self) -> Result<std::ops::RangeInclusive<u16>, String> {
        let valid = |v: u16| (1..=crate::switch::vlan::MAX_VID).contains(&v);
        let (a, b) = match self {
            VlanItem::Id(v) => (*v, *v),
            VlanItem::Range(text) => {
                let (a, b) = text
                    .split_once('-')
                    .ok_or_else(|| format!("{text:?}: expected an id or \"first-last\""))?;
                let parse = |t: &str| {
                    t.trim()
                        .parse::<u16>()
                        .map_err(|_| format!("{text:?}: {t:?} is not a VLAN id"))
                };
                (parse(a)?, parse(b)?)
            }
        };
        if !valid(a) || !valid(b) {
            return Err(format!("{self:?}: VLAN ids are 1 to 4094"));
        }
        if a > b {
            return Err(format!("{self:?}: the range is backwards"));
        }
        Ok(a..=b)
    }
}

fn yes() -> bool {
    true
}

impl TapConfig {
    /// A TAP port with default settings.
    pub fn new(name: impl Into<String>) -> Self {
        TapConfig {
            name: name.into(),
            multicast: PortSnoopConfig::default(),
            offload: true,
            mtu: None,
            vlan_mode: None,
            vlan: None,
            vlans: Vec::new(),
            native_vlan: None,
        }
    }

    /// The core's VLAN mode for this port (after [`Config::validate`]).
    pub fn vlan_mode(&self) -> crate::switch::VlanMode {
        use crate::switch::{VlanMode, VlanSet};
        let trunk = |native_tagged: bool| {
            let allowed: VlanSet = self
                .vlans
                .iter()
                .filter_map(|item| item.ids().ok())
                .flatten()
                .collect();
            VlanMode::Trunk {
                allowed: Box::new(allowed),
                native: self.native_vlan,
                native_tagged,
            }
        };
        match self.vlan_mode {
            None | Some(VlanModeName::Dot1qTunnel) => VlanMode::Transparent,
            Some(VlanModeName::Access) => VlanMode::Access(self.vlan.unwrap_or(1)),
            Some(VlanModeName::Trunk) | Some(VlanModeName::NativeUntagged) => trunk(false),
            Some(VlanModeName::NativeTagged) => trunk(true),
        }
    }
}

/// A MAC pinned to a port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticFdbEntry {
    /// Station MAC.
    pub mac: MacAddr,
    /// Port name (a TAP name).
    pub port: String,
    /// VLAN id; 0 is untagged.
    #[serde(default)]
    pub vlan: u16,
}

/// A port pinned as a member of a multicast group, whatever IGMP/MLD says.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticMdbEntry {
    /// The group.
    pub group: std::net::IpAddr,
    /// Port name (a TAP name).
    pub port: String,
    /// VLAN id; 0 is untagged.
    #[serde(default)]
    pub vlan: u16,
}

/// One line: where (line and column), which field, and what is wrong, in
/// words rather than Rust's type names.
fn describe_toml_error(text: &str, e: &toml::de::Error, field: &str) -> String {
    let mut out = String::new();
    if let Some(span) = e.span() {
        let before = text.get(..span.start).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        out.push_str(&format!("line {line}, column {column}: "));
    }
    if !field.is_empty() && field != "." {
        out.push_str(&format!("field `{field}`: "));
    }
    out.push_str(&plain_words(e.message().trim()));
    out
}

/// Serde's "expected usize" and friends, as a user would say them.
fn plain_words(message: &str) -> String {
    let mut m = message.replace('\n', " ");
    for (rust, plain) in [
        ("expected usize", "expected a whole number"),
        ("expected u64", "expected a whole number"),
        ("expected u32", "expected a whole number"),
        ("expected u16", "expected a whole number"),
        ("expected u8", "expected a whole number"),
        ("expected i64", "expected a whole number"),
        ("expected a boolean", "expected true or false"),
        ("expected bool", "expected true or false"),
    ] {
        m = m.replace(rust, plain);
    }
    m
}

/// A configuration problem, naming the file, the field and the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config {file}: cannot read: {source}")]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key, or a value of the wrong type or format.
    #[error("config {file}: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parser's message, with line, column and key.
        message: String,
    },
    /// A value that parses but cannot work.
    #[error("config {file}: field `{field}`: {reason}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// Dotted path of the field, e.g. `tap[1].name`.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl Config {
    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parse and validate config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let parse_error = |message: String| ConfigError::Parse {
            file: path.to_path_buf(),
            message,
        };
        let de = toml::de::Deserializer::parse(text)
            .map_err(|e| parse_error(describe_toml_error(text, &e, "")))?;
        let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            parse_error(describe_toml_error(text, e.inner(), &field))
        })?;
        cfg.validate()
            .map_err(|(field, reason)| ConfigError::Invalid {
                file: path.to_path_buf(),
                field,
                reason,
            })?;
        Ok(cfg)
    }

    /// The built-in hub: VXLAN on 0.0.0.0:4789 (VNI 42) and raw frames on
    /// 0.0.0.0:4800, admitting private, loopback and ULA sources.
    pub fn default_hub() -> Config {
        let any = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        Config {
            listeners: vec![
                ListenerConfig::new(SocketAddr::new(any, VXLAN_PORT), Encap::Vxlan),
                ListenerConfig::new(SocketAddr::new(any, RAW_PORT), Encap::Raw),
            ],
            ..Config::default()
        }
    }

    /// Switching threads to run.
    pub fn workers(&self) -> usize {
        self.workers.unwrap_or(DEFAULT_WORKERS)
    }

    /// The core's configuration; `mac` is used when none is configured.
    pub fn switch_config(&self, mac: MacAddr) -> SwitchConfig {
        SwitchConfig {
            fdb: self.fdb.clone(),
            snoop: self.multicast.clone(),
            snoop_vlans: self
                .segments
                .iter()
                .map(|s| (s.vlan, s.apply(&self.multicast)))
                .collect(),
            mac: self.mac.unwrap_or(mac),
        }
    }
}

#[cfg(test)]
mod tests;
