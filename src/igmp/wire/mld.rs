//! MLD messages inside ICMPv6 (RFC 2710, RFC 3810/9777, RFC 4286): parsing
//! into a [`Message`], and encoding queries.
//!
//! Receive is lenient as for IGMP (any hop limit, any destination, Router
//! Alert optional, reports from `::` accepted per RFC 3810 §5.2.13), with
//! two checks the RFCs require of every listener: the ICMPv6 checksum over
//! the pseudo-header (RFC 4443 §2.3) and, for queries, a link-local source
//! (RFC 3810 §5.1.14). As for IGMP, a general query counts whatever its IP
//! destination (see `igmp.rs`).

use super::code;
use super::records::{self, Width};
use crate::igmp::repr::{Message, Query, Version};
use crate::packet::checksum;
use crate::packet::ipv6::{Ipv6Packet, NH_ICMPV6};
use crate::packet::WireError;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

/// Multicast Listener Query (RFC 2710 §3, RFC 3810 §5.1).
pub const TYPE_QUERY: u8 = 130;
/// MLDv1 Multicast Listener Report (RFC 2710 §3).
pub const TYPE_V1_REPORT: u8 = 131;
/// MLDv1 Multicast Listener Done (RFC 2710 §3).
pub const TYPE_DONE: u8 = 132;
/// MLDv2 Multicast Listener Report (RFC 3810 §5.2).
pub const TYPE_V2_REPORT: u8 = 143;
/// Multicast Router Advertisement (RFC 4286 §3).
pub const TYPE_MRD_ADVERTISEMENT: u8 = 151;
/// Multicast Router Solicitation (RFC 4286 §4).
pub const TYPE_MRD_SOLICITATION: u8 = 152;
/// Multicast Router Termination (RFC 4286 §5).
pub const TYPE_MRD_TERMINATION: u8 = 153;

/// ALL-SNOOPERS (RFC 4286), where router advertisements are sent.
pub const ALL_SNOOPERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x6a);

/// Length of an MLDv1 message (RFC 2710 §3).
pub const V1_LEN: usize = 24;
/// Length of an MLDv2 query without sources (RFC 3810 §5.1).
pub const V2_QUERY_LEN: usize = 28;
/// Length of the MLDv2 report header before its records (RFC 3810 §5.2).
pub const V2_REPORT_HEADER_LEN: usize = 8;
/// Most sources an MLDv2 query carries: what fits a 1500-byte IPv6 packet
/// with the 8-byte Hop-by-Hop header, (1500 − 40 − 8 − 28) / 16. RFC 3810
/// §5.1.10 bounds the list by the MTU; a querier must split larger sets.
pub const MAX_QUERY_SOURCES: usize = 89;

/// Byte offsets (RFC 2710 §3, RFC 3810 §5.1, §5.2).
mod field {
    /// Common to every MLD message.
    pub const TYPE: usize = 0;
    pub const CHECKSUM: usize = 2;
    pub const MAX_RESP: usize = 4;
    /// Query and MLDv1 messages: the address after the first 8 bytes.
    pub const ADDRESS: usize = 8;
    /// MLDv2 query, after the address.
    pub const QUERY_FLAGS: usize = 24;
    pub const QQIC: usize = 25;
    pub const NUM_SOURCES: usize = 26;
    /// MLDv2 report header.
    pub const NUM_RECORDS: usize = 6;
}

/// S flag and QRV in the MLDv2 query flags byte (RFC 3810 §5.1.7, §5.1.8).
const FLAG_S: u8 = 0x08;
const QRV_MASK: u8 = 0x07;

/// Whether an ICMPv6 type belongs to MLD or MRD; other ICMPv6 is not ours.
pub fn is_mld_type(icmp_type: u8) -> bool {
    matches!(
        icmp_type,
        TYPE_QUERY
            | TYPE_V1_REPORT
            | TYPE_DONE
            | TYPE_V2_REPORT
            | TYPE_MRD_ADVERTISEMENT
            | TYPE_MRD_SOLICITATION
            | TYPE_MRD_TERMINATION
    )
}

/// Parse the MLD message `icmp` (the whole ICMPv6 message) carried in `ip`.
///
/// ICMPv6 types outside [`is_mld_type`] come back as [`Message::Other`];
/// callers filter them first, since they are not MLD at all.
pub fn parse(ip: &Ipv6Packet<'_>, icmp: &[u8]) -> Result<Message, WireError> {
    let (hdr, _) = icmp.split_first_chunk::<4>().ok_or(WireError::Truncated)?;
    let len = u32::try_from(icmp.len()).map_err(|_| WireError::BadLength)?;
    let sum = checksum::ipv6_pseudo_header(&ip.src(), &ip.dst(), NH_ICMPV6, len).add_bytes(icmp);
    if !sum.is_valid() {
        return Err(WireError::BadIcmpv6Checksum);
    }
    match hdr[field::TYPE] {
        TYPE_QUERY => parse_query(ip.src(), icmp),
        TYPE_V1_REPORT => Ok(Message::Report {
            version: Version::MldV1,
            group: v1_group(icmp)?,
        }),
        TYPE_DONE => Ok(Message::Leave {
            version: Version::MldV1,
            group: v1_group(icmp)?,
        }),
        TYPE_V2_REPORT => parse_v2_report(icmp),
        // As for IGMP: only advertisements to ALL-SNOOPERS are router evidence.
        TYPE_MRD_ADVERTISEMENT if ip.dst() == ALL_SNOOPERS => Ok(Message::RouterAdvertisement),
        _ => Ok(Message::Other),
    }
}

/// Version by length (RFC 3810 §8.1): 24 is MLDv1, 28 or more MLDv2,
/// anything else ignored. Then the source must be link-local.
fn parse_query(source: Ipv6Addr, icmp: &[u8]) -> Result<Message, WireError> {
    let version = match icmp.len() {
        n if n < V1_LEN => return Err(WireError::Truncated),
        V1_LEN => Version::MldV1,
        n if n < V2_QUERY_LEN => return Err(WireError::BadLength),
        _ => Version::MldV2,
    };
    if !source.is_unicast_link_local() {
        return Err(WireError::MldSourceNotLinkLocal);
    }
    let (v1, _) = icmp
        .split_first_chunk::<V1_LEN>()
        .ok_or(WireError::Truncated)?;
    let group = ipv6_at(v1, field::ADDRESS);
    let group = if group.is_unspecified() {
        None
    } else if group.is_multicast() {
        Some(IpAddr::V6(group))
    } else {
        return Err(WireError::NotMulticastGroup);
    };
    let max_resp = u16::from_be_bytes([v1[field::MAX_RESP], v1[field::MAX_RESP + 1]]);
    let query = if version == Version::MldV1 {
        Query {
            version,
            source: source.into(),
            group,
            sources: Vec::new(),
            max_response: code::mldv1_mrd_to_duration(max_resp),
            suppress_router_side: false,
            robustness: 0,
            query_interval: Duration::ZERO,
        }
    } else {
        let (v2, rest) = icmp
            .split_first_chunk::<V2_QUERY_LEN>()
            .ok_or(WireError::Truncated)?;
        let flags = v2[field::QUERY_FLAGS];
        let count = usize::from(u16::from_be_bytes([
            v2[field::NUM_SOURCES],
            v2[field::NUM_SOURCES + 1],
        ]));
        let (sources, _additional_data) = rest
            .split_at_checked(count * 16)
            .ok_or(WireError::Truncated)?;
        Query {
            version,
            source: source.into(),
            group,
            sources: addresses(sources),
            max_response: code::mld_mrc_to_duration(max_resp),
            suppress_router_side: flags & FLAG_S != 0,
            robustness: flags & QRV_MASK,
            query_interval: code::qqic_to_duration(v2[field::QQIC]),
        }
    };
    Ok(Message::Query(query))
}

/// The multicast address of an MLDv1 Report or Done (RFC 2710 §3.6).
fn v1_group(icmp: &[u8]) -> Result<IpAddr, WireError> {
    let (v1, _) = icmp
        .split_first_chunk::<V1_LEN>()
        .ok_or(WireError::Truncated)?;
    let group = ipv6_at(v1, field::ADDRESS);
    if group.is_multicast() {
        Ok(group.into())
    } else {
        Err(WireError::NotMulticastGroup)
    }
}

/// Records in order, unknown types and non-multicast addresses skipped by
/// their own lengths (RFC 3810 §5.2.12); all-or-nothing on bad counts.
fn parse_v2_report(icmp: &[u8]) -> Result<Message, WireError> {
    let (hdr, rest) = icmp
        .split_first_chunk::<V2_REPORT_HEADER_LEN>()
        .ok_or(WireError::Truncated)?;
    let count = u16::from_be_bytes([hdr[field::NUM_RECORDS], hdr[field::NUM_RECORDS + 1]]);
    let records = records::parse(rest, count, Width::V6)?;
    Ok(Message::ReportV3 {
        version: Version::MldV2,
        records,
    })
}

fn ipv6_at<const N: usize>(buf: &[u8; N], at: usize) -> Ipv6Addr {
    buf.get(at..at + 16)
        .and_then(|s| <[u8; 16]>::try_from(s).ok())
        .map_or(Ipv6Addr::UNSPECIFIED, Ipv6Addr::from)
}

fn addresses(bytes: &[u8]) -> Vec<IpAddr> {
    Width::V6.addresses(bytes)
}

/// The sources [`emit_query`] encodes: IPv6 ones, at most [`MAX_QUERY_SOURCES`], MLDv2 only.
fn query_sources(q: &Query) -> impl Iterator<Item = Ipv6Addr> + '_ {
    let limit = if q.version == Version::MldV2 {
        MAX_QUERY_SOURCES
    } else {
        0
    };
    q.sources
        .iter()
        .filter_map(|a| match a {
            IpAddr::V6(a) => Some(*a),
            IpAddr::V4(_) => None,
        })
        .take(limit)
}

/// Length of the ICMPv6 message [`emit_query`] writes for `q`.
pub fn query_len(q: &Query) -> usize {
    match q.version {
        Version::MldV2 => V2_QUERY_LEN + 16 * query_sources(q).count(),
        _ => V1_LEN,
    }
}

/// Append the MLD query for `q`, with multicast address field `group`, to
/// `out`; the checksum covers the pseudo-header of `src` → `dst`.
///
/// `MldV1` writes a linear Maximum Response Delay (ms, clamped to 65535);
/// `MldV2` the 16-bit floating code, S, QRV (0 above 7, RFC 3810 §5.1.8),
/// QQIC and sources.
pub fn emit_query(q: &Query, group: Ipv6Addr, src: &Ipv6Addr, dst: &Ipv6Addr, out: &mut Vec<u8>) {
    let start = out.len();
    let max_resp = if q.version == Version::MldV2 {
        code::mld_mrc_from_duration(q.max_response)
    } else {
        code::mldv1_mrd_from_duration(q.max_response)
    };
    let mut v1 = [0u8; V1_LEN];
    v1[field::TYPE] = TYPE_QUERY;
    if let Some(d) = v1.get_mut(field::MAX_RESP..field::MAX_RESP + 2) {
        d.copy_from_slice(&max_resp.to_be_bytes());
    }
    if let Some(d) = v1.get_mut(field::ADDRESS..field::ADDRESS + 16) {
        d.copy_from_slice(&group.octets());
    }
    out.extend_from_slice(&v1);
    if q.version == Version::MldV2 {
        let s = if q.suppress_router_side { FLAG_S } else { 0 };
        let qrv = if q.robustness > QRV_MASK {
            0
        } else {
            q.robustness
        };
        out.push(s | qrv);
        out.push(code::qqic_from_duration(q.query_interval));
        let count = query_sources(q).count() as u16; // ≤ MAX_QUERY_SOURCES
        out.extend_from_slice(&count.to_be_bytes());
        for s in query_sources(q) {
            out.extend_from_slice(&s.octets());
        }
    }
    let msg = out.get(start..).unwrap_or_default();
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    let sum = checksum::ipv6_pseudo_header(src, dst, NH_ICMPV6, len)
        .add_bytes(msg)
        .finish();
    let at = start + field::CHECKSUM;
    if let Some(d) = out.get_mut(at..at + 2) {
        d.copy_from_slice(&sum.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::igmp::repr::{GroupRecord, RecordType};
    use crate::packet::ipv6::{Ipv6Repr, NH_HOP_BY_HOP};

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().unwrap())
    }

    fn parse_bytes(b: &[u8]) -> Result<Message, WireError> {
        let ip = Ipv6Packet::new_checked(b).unwrap();
        let ul = ip.upper_layer().unwrap();
        assert_eq!(ul.protocol, NH_ICMPV6);
        parse(&ip, ul.payload)
    }

    /// An IPv6 packet with a Router Alert Hop-by-Hop header around the
    /// ICMPv6 message `icmp`, checksum filled in.
    fn build(src: &str, dst: &str, icmp: &[u8]) -> Vec<u8> {
        let (src, dst): (Ipv6Addr, Ipv6Addr) = (src.parse().unwrap(), dst.parse().unwrap());
        let mut out = Vec::new();
        Ipv6Repr {
            src,
            dst,
            next_header: NH_HOP_BY_HOP,
            hop_limit: 1,
            payload_len: (8 + icmp.len()) as u16,
        }
        .emit(&mut out);
        out.extend_from_slice(&[NH_ICMPV6, 0, 5, 2, 0, 0, 1, 0]);
        let start = out.len();
        out.extend_from_slice(icmp);
        let sum = checksum::ipv6_pseudo_header(&src, &dst, NH_ICMPV6, icmp.len() as u32)
            .add_bytes(icmp)
            .finish();
        out[start + 2..start + 4].copy_from_slice(&sum.to_be_bytes());
        out
    }

    fn v1_body(t: u8, max_resp: u16, addr: &str) -> Vec<u8> {
        let mut b = vec![t, 0, 0, 0];
        b.extend_from_slice(&max_resp.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&addr.parse::<Ipv6Addr>().unwrap().octets());
        b
    }

    /// MLDv2 report from fe80::200:ff:fe00:2 to ff02::16: TO_EX ff02::fb {}
    /// and ALLOW ff05::1:3 {2001:db8::5}.
    static MLDV2_REPORT: [u8; 112] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x02, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x00, 0x02, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x16, 0x3a, 0x00, 0x05, 0x02, 0x00,
        0x00, 0x01, 0x00, 0x8f, 0x00, 0x3c, 0x20, 0x00, 0x00, 0x00, 0x02, 0x04, 0x00, 0x00, 0x00,
        0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xfb, 0x05, 0x00, 0x00, 0x01, 0xff, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
    ];

    /// MLDv1 report from :: (a host before DAD) for ff02::1:ff00:2.
    static MLDV1_REPORT: [u8; 72] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x02, 0x3a, 0x00, 0x05, 0x02, 0x00,
        0x00, 0x01, 0x00, 0x83, 0x00, 0x80, 0x9f, 0x00, 0x00, 0x00, 0x00, 0xff, 0x02, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x00, 0x00, 0x02,
    ];

    /// MLDv2 general query from fe80::1 to ff02::1: MRC 10000 ms, QRV 2, QQIC 125.
    static MLDV2_GENERAL_QUERY: [u8; 76] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x3a, 0x00, 0x05, 0x02, 0x00,
        0x00, 0x01, 0x00, 0x82, 0x00, 0x56, 0x96, 0x27, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x7d, 0x00,
        0x00,
    ];

    /// MLDv1 group-specific query from fe80::1 to ff05::1:3, delay 1000 ms.
    static MLDV1_GROUP_QUERY: [u8; 72] = [
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x01, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xff, 0x05, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 0x3a, 0x00, 0x05, 0x02, 0x00,
        0x00, 0x01, 0x00, 0x82, 0x00, 0x7d, 0x2f, 0x03, 0xe8, 0x00, 0x00, 0xff, 0x05, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03,
    ];

    #[test]
    fn v2_report() {
        let want = Message::ReportV3 {
            version: Version::MldV2,
            records: vec![
                GroupRecord {
                    record_type: RecordType::ToExclude,
                    group: v6("ff02::fb"),
                    sources: vec![],
                },
                GroupRecord {
                    record_type: RecordType::Allow,
                    group: v6("ff05::1:3"),
                    sources: vec![v6("2001:db8::5")],
                },
            ],
        };
        assert_eq!(parse_bytes(&MLDV2_REPORT), Ok(want));
    }

    #[test]
    fn v1_report_from_unspecified() {
        let want = Message::Report {
            version: Version::MldV1,
            group: v6("ff02::1:ff00:2"),
        };
        assert_eq!(parse_bytes(&MLDV1_REPORT), Ok(want));
    }

    #[test]
    fn v2_general_query() {
        let want = Query {
            version: Version::MldV2,
            source: v6("fe80::1"),
            group: None,
            sources: vec![],
            max_response: Duration::from_secs(10),
            suppress_router_side: false,
            robustness: 2,
            query_interval: Duration::from_secs(125),
        };
        assert_eq!(parse_bytes(&MLDV2_GENERAL_QUERY), Ok(Message::Query(want)));
    }

    #[test]
    fn v1_group_query() {
        let want = Query {
            version: Version::MldV1,
            source: v6("fe80::1"),
            group: Some(v6("ff05::1:3")),
            sources: vec![],
            max_response: Duration::from_secs(1),
            suppress_router_side: false,
            robustness: 0,
            query_interval: Duration::ZERO,
        };
        assert_eq!(parse_bytes(&MLDV1_GROUP_QUERY), Ok(Message::Query(want)));
    }

    #[test]
    fn done() {
        let b = build("fe80::2", "ff02::2", &v1_body(TYPE_DONE, 0, "ff05::1:3"));
        let want = Message::Leave {
            version: Version::MldV1,
            group: v6("ff05::1:3"),
        };
        assert_eq!(parse_bytes(&b), Ok(want));
    }

    #[test]
    fn bad_checksum() {
        let mut b = MLDV1_REPORT;
        b[51] ^= 0x08; // checksum 809f → 8097
        assert_eq!(parse_bytes(&b), Err(WireError::BadIcmpv6Checksum));
        // The pseudo-header counts: same message, another destination.
        let mut b = MLDV2_GENERAL_QUERY;
        b[39] = 0x02;
        assert_eq!(parse_bytes(&b), Err(WireError::BadIcmpv6Checksum));
    }

    #[test]
    fn query_source_must_be_link_local() {
        for src in ["2001:db8::1", "::", "fec0::1"] {
            let b = build(src, "ff02::1", &v1_body(TYPE_QUERY, 1000, "::"));
            assert_eq!(
                parse_bytes(&b),
                Err(WireError::MldSourceNotLinkLocal),
                "{src}"
            );
        }
        let b = build("febf::1", "ff02::1", &v1_body(TYPE_QUERY, 1000, "::"));
        assert!(matches!(parse_bytes(&b), Ok(Message::Query(_))));
    }

    #[test]
    fn query_length_rules() {
        for n in 25..=27 {
            let mut body = v1_body(TYPE_QUERY, 1000, "::");
            body.resize(n, 0);
            let b = build("fe80::1", "ff02::1", &body);
            assert_eq!(parse_bytes(&b), Err(WireError::BadLength), "{n}");
        }
        let mut body = v1_body(TYPE_QUERY, 1000, "::");
        body.truncate(20);
        let b = build("fe80::1", "ff02::1", &body);
        assert_eq!(parse_bytes(&b), Err(WireError::Truncated));
        // MLDv2 query claiming one source, carrying none.
        let mut body = v1_body(TYPE_QUERY, 1000, "ff05::1");
        body.extend_from_slice(&[2, 125, 0, 1]);
        let b = build("fe80::1", "ff05::1", &body);
        assert_eq!(parse_bytes(&b), Err(WireError::Truncated));
    }

    #[test]
    fn group_must_be_multicast() {
        let b = build(
            "fe80::2",
            "ff02::2",
            &v1_body(TYPE_V1_REPORT, 0, "2001:db8::1"),
        );
        assert_eq!(parse_bytes(&b), Err(WireError::NotMulticastGroup));
        let b = build("fe80::1", "ff02::1", &v1_body(TYPE_QUERY, 0, "2001:db8::1"));
        assert_eq!(parse_bytes(&b), Err(WireError::NotMulticastGroup));
    }

    #[test]
    fn v2_report_skips_and_bounds() {
        // Unknown record type 9 with one source and one aux word, then IS_IN
        // for a unicast address (skipped), then IS_EX ff05::2 {}.
        let mut body = vec![TYPE_V2_REPORT, 0, 0, 0, 0, 0, 0, 3];
        body.extend_from_slice(&[9, 1, 0, 1]);
        body.extend_from_slice(&"ff05::9".parse::<Ipv6Addr>().unwrap().octets());
        body.extend_from_slice(&[0xaa; 16]);
        body.extend_from_slice(&[0xbb; 4]);
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        body.extend_from_slice(&[2, 0, 0, 0]);
        body.extend_from_slice(&"ff05::2".parse::<Ipv6Addr>().unwrap().octets());
        let b = build("fe80::2", "ff02::16", &body);
        let want = Message::ReportV3 {
            version: Version::MldV2,
            records: vec![GroupRecord {
                record_type: RecordType::IsExclude,
                group: v6("ff05::2"),
                sources: vec![],
            }],
        };
        assert_eq!(parse_bytes(&b), Ok(want));

        // One record too many.
        body[7] = 4;
        let b = build("fe80::2", "ff02::16", &body);
        assert_eq!(parse_bytes(&b), Err(WireError::Truncated));
    }

    #[test]
    fn mrd_types() {
        let adv = [TYPE_MRD_ADVERTISEMENT, 20, 0, 0, 0, 125, 0, 2];
        assert_eq!(
            parse_bytes(&build("fe80::1", "ff02::6a", &adv)),
            Ok(Message::RouterAdvertisement)
        );
        assert_eq!(
            parse_bytes(&build("fe80::1", "ff02::1", &adv)),
            Ok(Message::Other)
        );
        let sol = [TYPE_MRD_SOLICITATION, 0, 0, 0];
        assert_eq!(
            parse_bytes(&build("fe80::1", "ff02::2", &sol)),
            Ok(Message::Other)
        );
    }

    #[test]
    fn v2_query_encoding() {
        let q = Query {
            version: Version::MldV2,
            source: v6("fe80::1"),
            group: None,
            sources: vec![],
            max_response: Duration::from_secs(10),
            suppress_router_side: false,
            robustness: 2,
            query_interval: Duration::from_secs(125),
        };
        let mut out = Vec::new();
        let (src, dst) = ("fe80::1".parse().unwrap(), "ff02::1".parse().unwrap());
        emit_query(&q, Ipv6Addr::UNSPECIFIED, &src, &dst, &mut out);
        assert_eq!(out, &MLDV2_GENERAL_QUERY[48..]);
        assert_eq!(out.len(), query_len(&q));
    }
}
