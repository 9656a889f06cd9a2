//! Where the metrics endpoint listens, as written in the config and on the command line.

use serde::{de, Deserialize, Deserializer};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// The port `metrics_listen` conventionally uses.
pub const DEFAULT_PORT: u16 = 9477;

/// Where the metrics endpoint listens: `IP:PORT`, `[IPv6]:PORT`, or a bare
/// `PORT`, which means loopback (`127.0.0.1:PORT`) so that turning metrics
/// on never exposes them by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsAddr(pub SocketAddr);

impl FromStr for MetricsAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(port) = s.parse::<u16>() {
            return Ok(MetricsAddr(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                port,
            )));
        }
        s.parse::<SocketAddr>().map(MetricsAddr).map_err(|_| {
            format!(
                "{s:?}: expected IP:PORT, [IPv6]:PORT or a bare PORT (loopback), e.g. \"127.0.0.1:{DEFAULT_PORT}\""
            )
        })
    }
}

impl fmt::Display for MetricsAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for MetricsAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = MetricsAddr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"IP:PORT\" or a port number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MetricsAddr, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MetricsAddr, E> {
                u16::try_from(v)
                    .map_err(|_| E::custom(format!("{v} is not a port number")))
                    .and_then(|p| p.to_string().parse().map_err(E::custom))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MetricsAddr, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
        }
        d.deserialize_any(Visitor)
    }
}
