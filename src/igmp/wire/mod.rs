//! IGMP and MLD on the wire: IP packets in, [`Message`] out; [`Query`]
//! in, Ethernet frames out.
//!
//! [`parse_ipv4`] and [`parse_ipv6`] are what the switch core calls, with
//! `l3` starting at the IP header (Ethernet and VLAN tags already
//! stripped). `Ok(None)` means "not ours, forward as data"; `Err` names
//! why an IGMP/MLD-looking packet cannot be used, for a drop counter.
//!
//! [`Query`]: crate::igmp::repr::Query

pub mod code;
pub mod emit;
pub mod igmp;
pub mod mld;
mod records;

pub use emit::{emit_query, link_local_from_mac, multicast_mac};

use crate::igmp::repr::Message;
use crate::packet::ipv4::{Ipv4Packet, PROTO_IGMP};
use crate::packet::ipv6::{Ipv6Packet, NH_HOP_BY_HOP, NH_ICMPV6};
use crate::packet::WireError;

/// Parse an IPv4 packet; `Ok(None)` when it is valid IPv4 but not IGMP.
///
/// Errors from the IPv4 header itself are returned for any protocol; the
/// IP header checksum is verified only for IGMP (RFC 4541 §2.1.1(5)), since
/// data is forwarded untouched either way.
pub fn parse_ipv4(l3: &[u8]) -> Result<Option<Message>, WireError> {
    parse_ipv4_packet(&Ipv4Packet::new_checked(l3)?)
}

/// [`parse_ipv4`] for a packet the caller has already validated.
pub fn parse_ipv4_packet(ip: &Ipv4Packet<'_>) -> Result<Option<Message>, WireError> {
    if ip.protocol() != PROTO_IGMP {
        return Ok(None);
    }
    igmp::parse(ip).map(Some)
}

/// Parse an IPv6 packet; `Ok(None)` when it is valid IPv6 but not MLD.
///
/// MLD is recognised only when the first header after the fixed one is
/// Hop-by-Hop and the upper layer, past any Routing or Destination Options
/// headers, is ICMPv6 with an MLD or MRD type. Every MLD sender includes
/// that Hop-by-Hop header for its Router Alert (RFC 2710 §3, RFC 3810 §5),
/// RFC 4541 §3 tells snoopers to look past it, and Linux
/// (`ipv6_mc_check_mld`) treats ICMPv6 without it as data: so do we, which
/// keeps Neighbor Discovery and other ICMPv6 on the fast path. The Router
/// Alert option itself is not required (lenient receive, as for IGMP).
pub fn parse_ipv6(l3: &[u8]) -> Result<Option<Message>, WireError> {
    parse_ipv6_packet(&Ipv6Packet::new_checked(l3)?)
}

/// [`parse_ipv6`] for a packet the caller has already validated.
pub fn parse_ipv6_packet(ip: &Ipv6Packet<'_>) -> Result<Option<Message>, WireError> {
    if ip.next_header() != NH_HOP_BY_HOP {
        return Ok(None);
    }
    let upper = ip.upper_layer()?;
    if upper.protocol != NH_ICMPV6 {
        return Ok(None);
    }
    match upper.payload.first() {
        Some(&t) if mld::is_mld_type(t) => mld::parse(ip, upper.payload).map(Some),
        Some(_) => Ok(None),
        None => Err(WireError::Truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::igmp::repr::{Query, Version};
    use crate::packet::checksum;
    use proptest::prelude::*;
    use std::net::IpAddr;
    use std::time::Duration;

    /// Valid packets of every kind, as seeds for mutation.
    fn seeds() -> Vec<Vec<u8>> {
        let mut seeds = Vec::new();
        let v4: IpAddr = "10.0.0.1".parse().unwrap();
        let ll: IpAddr = "fe80::1".parse().unwrap();
        for (version, source, group, src) in [
            (Version::IgmpV2, v4, "239.1.1.1", "10.0.0.9"),
            (Version::IgmpV3, v4, "232.1.1.1", "10.0.0.9"),
            (Version::MldV1, ll, "ff05::1", "2001:db8::9"),
            (Version::MldV2, ll, "ff05::1", "2001:db8::9"),
        ] {
            let q = Query {
                version,
                source,
                group: Some(group.parse().unwrap()),
                sources: vec![src.parse().unwrap(); 2],
                max_response: Duration::from_secs(10),
                suppress_router_side: false,
                robustness: 2,
                query_interval: Duration::from_secs(125),
            };
            let mut out = Vec::new();
            emit_query(&q, [2, 0, 0, 0, 0, 1], None, &mut out);
            seeds.push(out.split_off(14));
        }
        // An IGMPv3 report and an MLDv2 report, each with two records.
        let mut igmp = vec![0x22, 0, 0, 0, 0, 0, 0, 2];
        igmp.extend_from_slice(&[1, 1, 0, 1, 239, 1, 1, 1, 10, 0, 0, 1, 0, 0, 0, 0]);
        igmp.extend_from_slice(&[4, 0, 0, 0, 239, 2, 2, 2]);
        let mut ip = seeds[0].clone();
        ip.truncate(24);
        ip.extend_from_slice(&igmp);
        seeds.push(ip);
        let mut mld = vec![143, 0, 0, 0, 0, 0, 0, 2];
        mld.extend_from_slice(&[2, 0, 0, 1]);
        mld.extend_from_slice(&[0xff, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        mld.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
        mld.extend_from_slice(&[5, 1, 0, 0]);
        mld.extend_from_slice(&[0xff, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        mld.extend_from_slice(&[0; 4]);
        let mut ip = seeds[2].clone();
        ip.truncate(48);
        ip.extend_from_slice(&mld);
        seeds.push(ip);
        seeds.iter_mut().for_each(|s| fix_lengths_and_checksums(s));
        seeds
    }

    /// Make a mutated packet's lengths and checksums consistent again where
    /// its structure allows, so mutations reach the message parsers instead
    /// of stopping at a checksum.
    fn fix_lengths_and_checksums(b: &mut [u8]) {
        match b.first().map(|v| v >> 4) {
            Some(4) if b.len() >= 20 => {
                let ihl = usize::from(b[0] & 0x0f) * 4;
                if (20..=b.len()).contains(&ihl) {
                    let total = b.len() as u16;
                    b[2..4].copy_from_slice(&total.to_be_bytes());
                    b[10..12].fill(0);
                    let sum = checksum::checksum(&b[..ihl]);
                    b[10..12].copy_from_slice(&sum.to_be_bytes());
                    if b.len() >= ihl + 4 {
                        b[ihl + 2..ihl + 4].fill(0);
                        let sum = checksum::checksum(&b[ihl..]);
                        b[ihl + 2..ihl + 4].copy_from_slice(&sum.to_be_bytes());
                    }
                }
            }
            Some(6) if b.len() >= 40 => {
                let payload = (b.len() - 40) as u16;
                b[4..6].copy_from_slice(&payload.to_be_bytes());
                let Ok(ip) = Ipv6Packet::new_checked(b) else {
                    return;
                };
                let Ok(ul) = ip.upper_layer() else { return };
                let (src, dst, at) = (ip.src(), ip.dst(), ul.offset);
                if ul.protocol == NH_ICMPV6 && b.len() >= at + 4 {
                    b[at + 2..at + 4].fill(0);
                    let len = (b.len() - at) as u32;
                    let sum = checksum::ipv6_pseudo_header(&src, &dst, NH_ICMPV6, len)
                        .add_bytes(&b[at..])
                        .finish();
                    b[at + 2..at + 4].copy_from_slice(&sum.to_be_bytes());
                }
            }
            _ => {}
        }
    }

    #[test]
    fn seeds_parse() {
        for s in seeds() {
            let r = match s[0] >> 4 {
                4 => parse_ipv4(&s),
                _ => parse_ipv6(&s),
            };
            assert!(matches!(r, Ok(Some(_))), "{r:?}");
        }
    }

    #[test]
    fn not_ours_is_none() {
        // UDP over IPv4.
        let mut udp = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 239, 1, 1, 1,
        ];
        udp.extend_from_slice(&[0; 8]);
        assert_eq!(parse_ipv4(&udp), Ok(None));
        // MLD report without a leading Hop-by-Hop header is data.
        let mut mld = vec![0x60, 0, 0, 0, 0, 24, NH_ICMPV6, 1];
        mld.extend_from_slice(&[0; 32]);
        mld.extend_from_slice(&[131, 0, 0, 0, 0, 0, 0, 0]);
        mld.extend_from_slice(&[0xff, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(parse_ipv6(&mld), Ok(None));
        // Neighbor Solicitation behind Hop-by-Hop is not MLD either.
        let mut ns = vec![0x60, 0, 0, 0, 0, 12, NH_HOP_BY_HOP, 255];
        ns.extend_from_slice(&[0; 32]);
        ns.extend_from_slice(&[NH_ICMPV6, 0, 1, 4, 0, 0, 0, 0, 135, 0, 0, 0]);
        assert_eq!(parse_ipv6(&ns), Ok(None));
        // UDP behind Hop-by-Hop.
        ns[40] = 17;
        assert_eq!(parse_ipv6(&ns), Ok(None));
    }

    #[test]
    fn hop_by_hop_without_router_alert_is_still_mld() {
        let mut b = seeds()[2].clone();
        b[42..46].copy_from_slice(&[1, 2, 0, 0]); // PadN instead of Router Alert
        assert!(matches!(parse_ipv6(&b), Ok(Some(Message::Query(_)))));
    }

    #[test]
    fn ip_header_errors_pass_through() {
        assert_eq!(parse_ipv4(&[0x45, 0, 0]), Err(WireError::Truncated));
        assert_eq!(parse_ipv6(&[0x45; 40]), Err(WireError::BadIpVersion));
    }

    fn parse_any(b: &[u8]) {
        let _ = parse_ipv4(b);
        let _ = parse_ipv6(b);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn random_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            parse_any(&b);
        }

        #[test]
        fn mutated_packets_never_panic(
            seed in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in any::<prop::sample::Index>(),
            fix in any::<bool>(),
        ) {
            let seeds = seeds();
            let mut b = seeds[seed.index(seeds.len())].clone();
            for (at, v) in edits {
                let i = at.index(b.len());
                b[i] = v;
            }
            b.truncate(cut.index(b.len() + 1).max(b.len() / 2));
            if fix {
                fix_lengths_and_checksums(&mut b);
            }
            parse_any(&b);
        }
    }
}
