//! Which multicast groups snooping may prune (RFC 4541 §2.1.2(2), §3).
//!
//! IPv4 224.0.0.0/24 and IPv6 ff02::1 are always flooded and never enter the
//! table; so are IPv6 scopes 0 and 1 (ff00::/16, ff01::/16), which should
//! never appear on a link (RFC 4541 §3). Every other multicast group,
//! including the rest of ff02::/16, is snooped.

use std::net::IpAddr;

/// How snooping treats a destination address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupScope {
    /// A group snooping keeps state for and prunes.
    Snooped,
    /// A multicast address that is always flooded and never stored.
    AlwaysFlood,
    /// Not a multicast address.
    NotMulticast,
}

/// Classify a group address.
pub fn classify(group: &IpAddr) -> GroupScope {
    match group {
        IpAddr::V4(a) => {
            if !a.is_multicast() {
                GroupScope::NotMulticast
            } else if a.octets()[..3] == [224, 0, 0] {
                GroupScope::AlwaysFlood
            } else {
                GroupScope::Snooped
            }
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            if !a.is_multicast() {
                GroupScope::NotMulticast
            } else if s == [0xff02, 0, 0, 0, 0, 0, 0, 1] || (s[0] & 0x000f) <= 1 {
                GroupScope::AlwaysFlood
            } else {
                GroupScope::Snooped
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_c5_scopes() {
        let cases = [
            ("224.0.0.251", GroupScope::AlwaysFlood),
            ("224.0.0.1", GroupScope::AlwaysFlood),
            ("224.0.1.1", GroupScope::Snooped),
            ("239.1.1.1", GroupScope::Snooped),
            ("10.0.0.1", GroupScope::NotMulticast),
            ("ff02::1", GroupScope::AlwaysFlood),
            ("ff01::5", GroupScope::AlwaysFlood),
            ("ff02::fb", GroupScope::Snooped),
            ("ff02::1:ff00:1", GroupScope::Snooped),
            ("ff05::1:3", GroupScope::Snooped),
            ("ff3e::1234", GroupScope::Snooped),
            ("fe80::1", GroupScope::NotMulticast),
        ];
        for (addr, want) in cases {
            let a: IpAddr = addr.parse().expect("test address");
            assert_eq!(classify(&a), want, "{addr}");
        }
    }
}
