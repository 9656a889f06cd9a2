//! Whole Ethernet frames for the querier's queries, and the address
//! mappings they need.
//!
//! Send side is strict where receive is lenient (RFC 3376 §4, RFC 3810 §5):
//! IPv4 TTL 1 with Router Alert (RFC 2113) and TOS 0xc0; IPv6 hop limit 1
//! with a Hop-by-Hop Router Alert (RFC 2711); general queries to
//! 224.0.0.1 / ff02::1, specific ones to the group (RFC 3376 §4.1.12,
//! RFC 3810 §5.1.15).

use super::{igmp, mld};
use crate::igmp::repr::{Family, Query};
use crate::packet::ethernet::{EthernetRepr, MacAddr, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::packet::ipv4::{Ipv4Repr, PROTO_IGMP};
use crate::packet::ipv6::{Ipv6Repr, NH_HOP_BY_HOP, NH_ICMPV6, OPT_ROUTER_ALERT};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// All-systems group, destination of IGMP general queries (RFC 1112 §4).
pub const ALL_SYSTEMS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 1);
/// All-nodes group, destination of MLD general queries (RFC 4291 §2.7.1).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Internetwork Control precedence, as RFC 2236 and Linux send queries.
const TOS_INTERNETWORK_CONTROL: u8 = 0xc0;

/// The Hop-by-Hop header of every MLD message: Router Alert with value 0
/// ("Multicast Listener Discovery message", RFC 2711 §2.1), then a PadN
/// with no data to fill the header to 8 octets (RFC 8200 §4.2).
pub const MLD_HOP_BY_HOP: [u8; 8] = [NH_ICMPV6, 0, OPT_ROUTER_ALERT, 2, 0, 0, 1, 0];

/// Write a complete Ethernet frame carrying `q` into `out` (cleared first),
/// with an 802.1Q tag when `vlan` is given (PCP 0; only the low 12 bits of
/// `vlan` are used).
///
/// IGMP versions need IPv4 addresses and MLD versions IPv6 ones; on a
/// mismatch between `q.version`, `q.source` and `q.group`, `out` is left
/// empty. Sources beyond [`igmp::MAX_QUERY_SOURCES`] /
/// [`mld::MAX_QUERY_SOURCES`] are not encoded, and v1/v2 queries carry no
/// sources at all.
pub fn emit_query(q: &Query, src_mac: [u8; 6], vlan: Option<u16>, out: &mut Vec<u8>) {
    out.clear();
    match (q.version.family(), q.source, q.group) {
        (Family::V4, IpAddr::V4(src), None) => emit_igmp(q, src, None, src_mac, vlan, out),
        (Family::V4, IpAddr::V4(src), Some(IpAddr::V4(g))) => {
            emit_igmp(q, src, Some(g), src_mac, vlan, out)
        }
        (Family::V6, IpAddr::V6(src), None) => emit_mld(q, src, None, src_mac, vlan, out),
        (Family::V6, IpAddr::V6(src), Some(IpAddr::V6(g))) => {
            emit_mld(q, src, Some(g), src_mac, vlan, out)
        }
        _ => {}
    }
}

fn emit_igmp(
    q: &Query,
    src: Ipv4Addr,
    group: Option<Ipv4Addr>,
    src_mac: [u8; 6],
    vlan: Option<u16>,
    out: &mut Vec<u8>,
) {
    let dst = group.unwrap_or(ALL_SYSTEMS);
    EthernetRepr {
        dst: MacAddr(multicast_mac(dst.into())),
        src: MacAddr(src_mac),
        vlan,
        ethertype: ETHERTYPE_IPV4,
    }
    .emit(out);
    Ipv4Repr {
        src,
        dst,
        protocol: PROTO_IGMP,
        ttl: 1,
        tos: TOS_INTERNETWORK_CONTROL,
        // Snoopers ignore fragments, so a query must never be fragmented.
        dont_fragment: true,
        router_alert: true,
        payload_len: igmp::query_len(q) as u16, // bounded by MAX_QUERY_SOURCES
    }
    .emit(out);
    igmp::emit_query(q, group.unwrap_or(Ipv4Addr::UNSPECIFIED), out);
}

fn emit_mld(
    q: &Query,
    src: Ipv6Addr,
    group: Option<Ipv6Addr>,
    src_mac: [u8; 6],
    vlan: Option<u16>,
    out: &mut Vec<u8>,
) {
    let dst = group.unwrap_or(ALL_NODES);
    EthernetRepr {
        dst: MacAddr(multicast_mac(dst.into())),
        src: MacAddr(src_mac),
        vlan,
        ethertype: ETHERTYPE_IPV6,
    }
    .emit(out);
    Ipv6Repr {
        src,
        dst,
        next_header: NH_HOP_BY_HOP,
        hop_limit: 1,
        // bounded by MAX_QUERY_SOURCES
        payload_len: (MLD_HOP_BY_HOP.len() + mld::query_len(q)) as u16,
    }
    .emit(out);
    out.extend_from_slice(&MLD_HOP_BY_HOP);
    mld::emit_query(q, group.unwrap_or(Ipv6Addr::UNSPECIFIED), &src, &dst, out);
}

/// The Ethernet multicast address of an IP multicast group: 01:00:5e plus
/// the low 23 bits for IPv4 (RFC 1112 §6.4), 33:33 plus the low 32 bits for
/// IPv6 (RFC 2464 §7). The mapping is many-to-one, which is why forwarding
/// state is keyed on IP groups, never on these.
pub fn multicast_mac(group: IpAddr) -> [u8; 6] {
    match group {
        IpAddr::V4(g) => {
            let [_, b, c, d] = g.octets();
            [0x01, 0x00, 0x5e, b & 0x7f, c, d]
        }
        IpAddr::V6(g) => {
            let [.., a, b, c, d] = g.octets();
            [0x33, 0x33, a, b, c, d]
        }
    }
}

/// The link-local address fe80::/64 with a modified EUI-64 interface
/// identifier from `mac` (RFC 4291 §2.5.1 and Appendix A; RFC 2464 §4):
/// the universal/local bit flipped and ff:fe in the middle.
pub fn link_local_from_mac(mac: [u8; 6]) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        a ^ 0x02,
        b,
        c,
        0xff,
        0xfe,
        d,
        e,
        f,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::igmp::repr::{Message, Query, Version};
    use crate::igmp::wire::{parse_ipv4, parse_ipv6};
    use std::time::Duration;

    const MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

    fn default_query(version: Version, source: IpAddr) -> Query {
        Query {
            version,
            source,
            group: None,
            sources: vec![],
            max_response: Duration::from_secs(10),
            suppress_router_side: false,
            robustness: 2,
            query_interval: Duration::from_secs(125),
        }
    }

    /// The default IGMPv3 general query from 192.0.2.1, byte by byte.
    #[test]
    fn igmpv3_general_query_bytes() {
        let q = default_query(Version::IgmpV3, "192.0.2.1".parse().unwrap());
        let mut out = vec![0xaa; 3]; // cleared first
        emit_query(&q, MAC, None, &mut out);
        #[rustfmt::skip]
        let want: [u8; 50] = [
            // Ethernet: 224.0.0.1's MAC, our MAC, IPv4.
            0x01, 0x00, 0x5e, 0x00, 0x00, 0x01,
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
            0x08, 0x00,
            // IPv4: IHL 6, TOS c0, length 36, DF, TTL 1, IGMP, checksum,
            // 192.0.2.1 → 224.0.0.1, Router Alert.
            0x46, 0xc0, 0x00, 0x24, 0x00, 0x00, 0x40, 0x00,
            0x01, 0x02, 0x42, 0x11,
            0xc0, 0x00, 0x02, 0x01,
            0xe0, 0x00, 0x00, 0x01,
            0x94, 0x04, 0x00, 0x00,
            // IGMPv3 query: type 11, MRC 100 (10 s), checksum, group 0,
            // S=0 QRV=2, QQIC 125, no sources.
            0x11, 0x64, 0xec, 0x1e,
            0x00, 0x00, 0x00, 0x00,
            0x02, 0x7d, 0x00, 0x00,
        ];
        assert_eq!(out, want);
    }

    /// The default MLDv2 general query from fe80::1, byte by byte.
    #[test]
    fn mldv2_general_query_bytes() {
        let q = default_query(Version::MldV2, "fe80::1".parse().unwrap());
        let mut out = Vec::new();
        emit_query(&q, MAC, Some(100), &mut out);
        #[rustfmt::skip]
        let want: [u8; 94] = [
            // Ethernet: ff02::1's MAC, our MAC, 802.1Q VLAN 100, IPv6.
            0x33, 0x33, 0x00, 0x00, 0x00, 0x01,
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
            0x81, 0x00, 0x00, 0x64,
            0x86, 0xdd,
            // IPv6: payload 36, Hop-by-Hop, hop limit 1, fe80::1 → ff02::1.
            0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x01,
            0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
            // Hop-by-Hop: next ICMPv6, Router Alert (MLD), PadN.
            0x3a, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00,
            // MLDv2 query: type 130, checksum, MRC 10000 ms, group ::,
            // S=0 QRV=2, QQIC 125, no sources.
            0x82, 0x00, 0x56, 0x96, 0x27, 0x10, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x02, 0x7d, 0x00, 0x00,
        ];
        assert_eq!(out, want);
    }

    fn l3(frame: &[u8]) -> &[u8] {
        let vlan = frame.get(12..14) == Some(&[0x81, 0x00]);
        &frame[if vlan { 18 } else { 14 }..]
    }

    fn round_trip(q: &Query) -> Query {
        let mut out = Vec::new();
        emit_query(q, MAC, Some(7), &mut out);
        let parsed = match q.version.family() {
            Family::V4 => parse_ipv4(l3(&out)),
            Family::V6 => parse_ipv6(l3(&out)),
        };
        match parsed {
            Ok(Some(Message::Query(p))) => p,
            other => panic!("{q:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn round_trips() {
        let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
        let v6 = |s: &str| IpAddr::V6(s.parse().unwrap());
        let cases = [
            (
                Version::IgmpV2,
                v4("10.0.0.1"),
                v4("239.1.1.1"),
                v4("10.9.9.9"),
            ),
            (
                Version::IgmpV3,
                v4("0.0.0.0"),
                v4("232.1.1.1"),
                v4("10.9.9.9"),
            ),
            (
                Version::MldV1,
                v6("fe80::1"),
                v6("ff05::1:3"),
                v6("2001:db8::9"),
            ),
            (
                Version::MldV2,
                v6("fe80::1"),
                v6("ff3e::8000:1"),
                v6("2001:db8::9"),
            ),
        ];
        for (version, source, group, src) in cases {
            let v3ish = matches!(version, Version::IgmpV3 | Version::MldV2);
            for (group, sources) in [
                (None, vec![]),
                (Some(group), vec![]),
                (Some(group), vec![src, src]),
            ] {
                if !v3ish && !sources.is_empty() {
                    continue;
                }
                let q = Query {
                    version,
                    source,
                    group,
                    sources: sources.clone(),
                    max_response: Duration::from_secs(1),
                    suppress_router_side: v3ish && group.is_some(),
                    robustness: if v3ish { 3 } else { 0 },
                    query_interval: if v3ish {
                        Duration::from_secs(160)
                    } else {
                        Duration::ZERO
                    },
                };
                let p = round_trip(&q);
                assert_eq!(p.version, q.version);
                assert_eq!(p.source, q.source);
                assert_eq!(p.group, q.group);
                assert_eq!(p.sources, q.sources);
                assert_eq!(p.max_response, q.max_response);
                assert_eq!(p.suppress_router_side, q.suppress_router_side);
                assert_eq!(p.robustness, q.robustness);
                assert_eq!(p.query_interval, q.query_interval);
            }
        }
    }

    #[test]
    fn igmpv1_and_short_max_response_keep_their_version() {
        let mut q = default_query(Version::IgmpV1, "10.0.0.1".parse().unwrap());
        assert_eq!(round_trip(&q).version, Version::IgmpV1);
        q.version = Version::IgmpV2;
        q.max_response = Duration::from_millis(10);
        let p = round_trip(&q);
        assert_eq!(p.version, Version::IgmpV2);
        assert_eq!(p.max_response, Duration::from_millis(100));
    }

    #[test]
    fn group_specific_query_goes_to_the_group() {
        let mut q = default_query(Version::IgmpV2, "10.0.0.1".parse().unwrap());
        q.group = Some("239.129.2.3".parse().unwrap());
        let mut out = Vec::new();
        emit_query(&q, MAC, None, &mut out);
        assert_eq!(&out[..6], &[0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
        assert_eq!(&out[14 + 16..14 + 20], &[239, 129, 2, 3]);
        assert_eq!(out.len(), 14 + 24 + 8);
    }

    #[test]
    fn family_mismatch_emits_nothing() {
        let mut out = vec![1, 2, 3];
        let q = default_query(Version::IgmpV3, "fe80::1".parse().unwrap());
        emit_query(&q, MAC, None, &mut out);
        assert!(out.is_empty());
        let mut q = default_query(Version::MldV2, "fe80::1".parse().unwrap());
        q.group = Some("239.1.1.1".parse().unwrap());
        emit_query(&q, MAC, None, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn source_lists_are_capped_at_the_mtu() {
        let mut q = default_query(Version::IgmpV3, "10.0.0.1".parse().unwrap());
        q.group = Some("232.1.1.1".parse().unwrap());
        q.sources = (0..1000u32).map(|i| IpAddr::V4(i.into())).collect();
        let mut out = Vec::new();
        emit_query(&q, MAC, None, &mut out);
        assert_eq!(out.len() - 14, 1500);
        assert_eq!(round_trip(&q).sources.len(), igmp::MAX_QUERY_SOURCES);

        let mut q = default_query(Version::MldV2, "fe80::1".parse().unwrap());
        q.group = Some("ff05::1".parse().unwrap());
        q.sources = (0..1000u128).map(|i| IpAddr::V6(i.into())).collect();
        emit_query(&q, MAC, None, &mut out);
        assert!(out.len() - 14 <= 1500);
        assert_eq!(round_trip(&q).sources.len(), mld::MAX_QUERY_SOURCES);
    }

    #[test]
    fn mac_mappings() {
        assert_eq!(
            multicast_mac("224.0.0.1".parse().unwrap()),
            [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01]
        );
        // The 32:1 ambiguity: the top 5 group bits are lost.
        assert_eq!(
            multicast_mac("239.129.1.1".parse().unwrap()),
            multicast_mac("224.1.1.1".parse().unwrap())
        );
        assert_eq!(
            multicast_mac("ff02::1:ff12:3456".parse().unwrap()),
            [0x33, 0x33, 0xff, 0x12, 0x34, 0x56]
        );
        assert_eq!(
            link_local_from_mac([0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e]),
            "fe80::21b:21ff:fe3c:4d5e".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            link_local_from_mac(MAC),
            "fe80::ff:fe00:1".parse::<Ipv6Addr>().unwrap()
        );
    }
}
