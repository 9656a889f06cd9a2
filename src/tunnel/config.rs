//! Tunnel configuration: listeners, static peers, and the `vxlan://` / `raw://` peer URLs.

use ipnet::IpNet;
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

/// IANA port for VXLAN (RFC 7348 §5).
pub const VXLAN_PORT: u16 = 4789;
/// Default VNI of the built-in hub.
pub const DEFAULT_VNI: u32 = 42;
/// Default port of the built-in raw-frame listener (QEMU `-netdev dgram`).
pub const RAW_PORT: u16 = 4800;
/// MACs a raw peer may have learned behind it unless `max_macs_per_peer` says otherwise.
pub const RAW_MACS_PER_PEER: usize = 16;

/// How frames are carried in datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encap {
    /// RFC 7348 VXLAN: an 8-byte header then the frame. Peers are identified
    /// by source IP and answered at their VTEP port.
    Vxlan,
    /// One Ethernet frame per datagram, no header (QEMU dgram/udp sockets).
    /// Peers are identified by source address and port.
    Raw,
}

impl fmt::Display for Encap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encap::Vxlan => "vxlan",
            Encap::Raw => "raw",
        })
    }
}

/// A UDP socket that tunnel peers send to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Name, used in peer port names ("vxlan/10.0.0.2"). Defaults to the encapsulation.
    #[serde(default)]
    pub name: Option<String>,
    /// Address to bind, e.g. "0.0.0.0:4789" or "[::]:4789".
    pub bind: SocketAddr,
    /// Encapsulation spoken on this socket.
    pub encap: Encap,
    /// VXLAN network identifier accepted and sent (VXLAN only), when `vnis` is empty.
    #[serde(default = "default_vni")]
    pub vni: u32,
    /// Segments (VXLAN only): VNI → VLAN, e.g. `{ 1010 = 10, 1020 = 20 }`.
    /// Each VNI is its VLAN's segment; a peer joins a VLAN by sending in its
    /// VNI, and frames go back in the VNI of their VLAN. Replaces `vni`.
    #[serde(default)]
    pub vnis: std::collections::BTreeMap<String, u16>,
    /// Where to send to a VXLAN peer: its IP at this port (VXLAN only).
    #[serde(default = "default_vtep_port")]
    pub peer_port: u16,
    /// Source networks admitted as dynamic peers. Empty: no dynamic peers.
    #[serde(default = "default_allow", deserialize_with = "cidr_list")]
    pub allow: Vec<IpNet>,
    /// Most dynamic peers at once.
    #[serde(default = "default_max_peers")]
    pub max_peers: usize,
    /// Most MACs learned behind one peer. Default: 16 for raw listeners
    /// (a raw datagram has no header, so any plausible bytes from an allowed
    /// source read as a frame; the cap bounds what garbage can learn), none
    /// for VXLAN beyond the FDB's per-port limit (a VTEP may front a bridge).
    #[serde(default)]
    pub max_macs_per_peer: Option<usize>,
    /// A dynamic peer silent this long is removed, with its FDB entries.
    #[serde(default = "default_idle", with = "crate::duration")]
    pub idle_timeout: Duration,
    /// Multicast settings of every peer of this listener.
    #[serde(default)]
    pub multicast: crate::igmp::config::PortSnoopConfig,
}

impl ListenerConfig {
    /// The listener's name: configured, or its encapsulation.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.encap.to_string())
    }

    /// A listener with the built-in defaults.
    pub fn new(bind: SocketAddr, encap: Encap) -> Self {
        ListenerConfig {
            name: None,
            bind,
            encap,
            vni: default_vni(),
            vnis: Default::default(),
            peer_port: default_vtep_port(),
            allow: default_allow(),
            max_peers: default_max_peers(),
            max_macs_per_peer: None,
            idle_timeout: default_idle(),
            multicast: Default::default(),
        }
    }

    /// The `vnis` map as (VNI, VLAN) pairs, in VNI order (entries that do not parse
    /// are left out; validation refuses them first).
    pub fn segments(&self) -> Vec<(u32, u16)> {
        // The keys are text ("100" sorts before "20"): order by number, for lookups.
        let mut v: Vec<(u32, u16)> = self
            .vnis
            .iter()
            .filter_map(|(vni, vlan)| Some((vni.trim().parse().ok()?, *vlan)))
            .collect();
        v.sort_unstable();
        v.dedup_by_key(|(vni, _)| *vni);
        v
    }

    /// The most MACs one peer may have learned behind it (see `max_macs_per_peer`).
    pub fn mac_limit(&self) -> Option<usize> {
        self.max_macs_per_peer.or(match self.encap {
            Encap::Raw => Some(RAW_MACS_PER_PEER),
            Encap::Vxlan => None,
        })
    }
}

fn default_vni() -> u32 {
    DEFAULT_VNI
}
fn default_vtep_port() -> u16 {
    VXLAN_PORT
}
fn default_max_peers() -> usize {
    1024
}
fn default_idle() -> Duration {
    Duration::from_secs(300)
}

/// Read `["10.0.0.0/8", "fd00::/8", "192.0.2.7"]`, saying what is wrong with a bad entry.
fn cidr_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| parse_cidr(t).map_err(serde::de::Error::custom))
        .collect()
}

/// A network in CIDR notation, or a single address (a /32 or /128).
pub fn parse_cidr(text: &str) -> Result<IpNet, String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let ip: std::net::IpAddr = addr
        .parse()
        .map_err(|_| format!("{text:?}: {addr:?} is not an IPv4 or IPv6 address"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .map_err(|_| format!("{text:?}: the prefix length {p:?} is not a number"))?,
    };
    if len > max {
        return Err(format!(
            "{text:?}: a prefix length of {len} exceeds {max}, the most an IPv{} address has",
            if ip.is_ipv4() { 4 } else { 6 }
        ));
    }
    IpNet::new(ip, len).map_err(|e| format!("{text:?}: {e}"))
}

/// Private (RFC 1918), loopback and unique-local (RFC 4193) networks: the
/// only sources a listener admits unless told otherwise.
pub fn default_allow() -> Vec<IpNet> {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "::1/128",
        "fc00::/7",
    ]
    .iter()
    .filter_map(|n| n.parse().ok())
    .collect()
}

/// The largest inner MTU (IP packet size) a tunnel of `encap` carries over an
/// IPv4 underlay of MTU `underlay`: VXLAN costs 14 (inner Ethernet) + 8 + 8 + 20,
/// raw frames 14 + 8 + 20.
pub fn inner_mtu(encap: Encap, underlay: u32) -> u32 {
    let overhead = match encap {
        Encap::Vxlan => 50,
        Encap::Raw => 42,
    };
    underlay.saturating_sub(overhead)
}

/// A peer URL: `vxlan://host:port` or `raw://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerUrl {
    /// Encapsulation to speak.
    pub encap: Encap,
    /// `host:port`, resolved at start.
    pub remote: String,
}

/// `vxlan://REST` or `raw://REST`: the encapsulation and the rest.
fn split_scheme(s: &str) -> Result<(Encap, &str), String> {
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| format!("{s:?}: expected vxlan://HOST:PORT or raw://HOST:PORT"))?;
    let encap = match scheme {
        "vxlan" => Encap::Vxlan,
        "raw" => Encap::Raw,
        other => {
            return Err(format!(
                "{s:?}: unknown encapsulation {other:?} (vxlan or raw)"
            ))
        }
    };
    Ok((encap, rest))
}

/// A listener from the command line: `vxlan://ADDR[:PORT]` or
/// `raw://ADDR[:PORT]` (ports 4789 and 4800 unless given), admitting the
/// default `allow` networks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenUrl(pub ListenerConfig);

impl FromStr for ListenUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (encap, rest) = split_scheme(s)?;
        let default_port = match encap {
            Encap::Vxlan => VXLAN_PORT,
            Encap::Raw => RAW_PORT,
        };
        let bind = match rest.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                let ip = rest.trim_start_matches('[').trim_end_matches(']');
                let ip: std::net::IpAddr = ip.parse().map_err(|_| {
                    format!("{s:?}: expected an IP address to bind, with an optional port")
                })?;
                SocketAddr::new(ip, default_port)
            }
        };
        Ok(ListenUrl(ListenerConfig::new(bind, encap)))
    }
}

impl FromStr for PeerUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (encap, rest) = split_scheme(s)?;
        let remote = if rest
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
            && !rest.ends_with(']')
        {
            rest.to_string()
        } else if encap == Encap::Vxlan {
            format!("{rest}:{VXLAN_PORT}")
        } else {
            return Err(format!("{s:?}: raw peers need a port"));
        };
        Ok(PeerUrl { encap, remote })
    }
}

/// A static peer: always present, never expires.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// `host:port`; the host is resolved at start.
    pub remote: String,
    /// Encapsulation.
    pub encap: Encap,
    /// The listener (socket) to send from. Defaults to the first listener with the same encapsulation.
    #[serde(default)]
    pub listener: Option<String>,
}

impl From<PeerUrl> for PeerConfig {
    fn from(u: PeerUrl) -> Self {
        PeerConfig {
            remote: u.remote,
            encap: u.encap,
            listener: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_urls_parse_with_and_without_ports() {
        let u: PeerUrl = "vxlan://hub.example:4789".parse().unwrap();
        assert_eq!(
            (u.encap, u.remote.as_str()),
            (Encap::Vxlan, "hub.example:4789")
        );
        let u: PeerUrl = "vxlan://10.0.0.1".parse().unwrap();
        assert_eq!(u.remote, "10.0.0.1:4789");
        let u: PeerUrl = "raw://[fd00::1]:4800".parse().unwrap();
        assert_eq!((u.encap, u.remote.as_str()), (Encap::Raw, "[fd00::1]:4800"));
        assert!("raw://10.0.0.1".parse::<PeerUrl>().is_err());
        assert!("gre://10.0.0.1:1".parse::<PeerUrl>().is_err());
        assert!("10.0.0.1:1".parse::<PeerUrl>().is_err());
    }

    #[test]
    fn cidrs_say_what_is_wrong() {
        assert_eq!(parse_cidr("10.0.0.0/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("fd00::1").unwrap().to_string(), "fd00::1/128");
        let too_long = parse_cidr("10.0.0.0/33").unwrap_err();
        assert!(too_long.contains("33 exceeds 32"), "{too_long}");
        assert!(parse_cidr("10.0.0/8")
            .unwrap_err()
            .contains("not an IPv4 or IPv6 address"));
        assert!(parse_cidr("::/x").unwrap_err().contains("not a number"));
    }

    #[test]
    fn listen_urls_take_an_address_and_default_the_port() {
        let l: ListenUrl = "vxlan://0.0.0.0".parse().unwrap();
        assert_eq!(
            (l.0.bind, l.0.encap),
            ("0.0.0.0:4789".parse().unwrap(), Encap::Vxlan)
        );
        let l: ListenUrl = "raw://[::1]".parse().unwrap();
        assert_eq!(l.0.bind, "[::1]:4800".parse().unwrap());
        let l: ListenUrl = "raw://127.0.0.1:5555".parse().unwrap();
        assert_eq!(l.0.bind, "127.0.0.1:5555".parse().unwrap());
        assert_eq!(l.0.allow, default_allow());
        assert!("vxlan://hub.example".parse::<ListenUrl>().is_err());
        assert!("udp://0.0.0.0:1".parse::<ListenUrl>().is_err());
    }

    #[test]
    fn default_allow_admits_private_and_refuses_public() {
        let allow = default_allow();
        let admits = |ip: &str| {
            allow
                .iter()
                .any(|n| n.contains(&ip.parse::<std::net::IpAddr>().unwrap()))
        };
        assert!(admits("10.1.2.3") && admits("192.168.0.9") && admits("127.0.0.1"));
        assert!(admits("fd12::1") && admits("::1"));
        assert!(!admits("8.8.8.8") && !admits("2001:db8::1") && !admits("172.32.0.1"));
    }
}
