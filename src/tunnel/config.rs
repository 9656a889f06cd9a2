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
    /// VXLAN network identifier accepted and sent (VXLAN only).
    #[serde(default = "default_vni")]
    pub vni: u32,
    /// Where to send to a VXLAN peer: its IP at this port (VXLAN only).
    #[serde(default = "default_vtep_port")]
    pub peer_port: u16,
    /// Source networks admitted as dynamic peers. Empty: no dynamic peers.
    #[serde(default = "default_allow")]
    pub allow: Vec<IpNet>,
    /// Most dynamic peers at once.
    #[serde(default = "default_max_peers")]
    pub max_peers: usize,
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
            peer_port: default_vtep_port(),
            allow: default_allow(),
            max_peers: default_max_peers(),
            idle_timeout: default_idle(),
            multicast: Default::default(),
        }
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

impl FromStr for PeerUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
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
