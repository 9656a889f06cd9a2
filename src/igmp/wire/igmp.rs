//! IGMP messages (RFC 1112, RFC 2236, RFC 3376/9776, RFC 4286): parsing a
//! validated IPv4 packet into a [`Message`], and encoding queries.
//!
//! Receive is lenient the way a snooper must be (RFC 4541 §2.1.1): any TTL,
//! Router Alert optional, any destination, source 0.0.0.0 allowed. What is
//! checked is what would make the message's meaning unreliable: the IP
//! header checksum, fragments, the IGMP checksum over the whole message,
//! lengths and counts.
//!
//! A general query counts whatever its IP destination. RFC 3376 §4.1.12
//! says general queries are sent to 224.0.0.1 and Linux drops others
//! (`ip_mc_check_igmp_query`); we follow Open vSwitch and accept them,
//! consistent with accepting reports sent anywhere (RFC 4541 §2.1.1).

use super::code;
use super::records::{self, Width};
use crate::igmp::repr::{Message, Query, Version};
use crate::packet::checksum::{self, Checksum};
use crate::packet::ipv4::Ipv4Packet;
use crate::packet::WireError;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Membership Query (RFC 2236 §2.1, RFC 3376 §4.1).
pub const TYPE_QUERY: u8 = 0x11;
/// IGMPv1 Membership Report (RFC 1112 Appendix I).
pub const TYPE_V1_REPORT: u8 = 0x12;
/// IGMPv2 Membership Report (RFC 2236 §2.1).
pub const TYPE_V2_REPORT: u8 = 0x16;
/// IGMPv2 Leave Group (RFC 2236 §2.1).
pub const TYPE_LEAVE: u8 = 0x17;
/// IGMPv3 Membership Report (RFC 3376 §4.2).
pub const TYPE_V3_REPORT: u8 = 0x22;
/// Multicast Router Advertisement (RFC 4286 §3).
pub const TYPE_MRD_ADVERTISEMENT: u8 = 0x30;
/// Multicast Router Solicitation (RFC 4286 §4).
pub const TYPE_MRD_SOLICITATION: u8 = 0x31;
/// Multicast Router Termination (RFC 4286 §5).
pub const TYPE_MRD_TERMINATION: u8 = 0x32;

/// ALL-SNOOPERS (RFC 4286), where router advertisements are sent.
pub const ALL_SNOOPERS: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 106);

/// Length of an IGMPv1/v2 message and of the header every IGMP message shares.
pub const HEADER_LEN: usize = 8;
/// Length of an IGMPv3 query without sources (RFC 3376 §4.1).
pub const V3_QUERY_LEN: usize = 12;

/// Byte offsets (RFC 2236 §2, RFC 3376 §4.1 and §4.2).
mod field {
    /// Common header.
    pub const TYPE: usize = 0;
    pub const MAX_RESP: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const GROUP: usize = 4;
    /// IGMPv3 query, after the common header.
    pub const QUERY_FLAGS: usize = 8;
    pub const QQIC: usize = 9;
    pub const NUM_SOURCES: usize = 10;
    /// IGMPv3 report, in the common header.
    pub const NUM_RECORDS: usize = 6;
}

/// S flag and QRV in the IGMPv3 query flags byte (RFC 3376 §4.1.5, §4.1.6).
const FLAG_S: u8 = 0x08;
const QRV_MASK: u8 = 0x07;

/// Parse the IGMP message in `ip`, which must have protocol 2.
///
/// Unknown types are [`Message::Other`] (RFC 4541 §2.1.1(3): flood, do not
/// interpret), once the checksum has been verified.
pub fn parse(ip: &Ipv4Packet<'_>) -> Result<Message, WireError> {
    if !ip.header_checksum_ok() {
        return Err(WireError::BadIpChecksum);
    }
    if ip.is_fragment() {
        return Err(WireError::Fragment);
    }
    let msg = ip.payload();
    let (hdr, _) = msg
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(WireError::Truncated)?;
    if !Checksum::new().add_bytes(msg).is_valid() {
        return Err(WireError::BadIgmpChecksum);
    }
    match hdr[field::TYPE] {
        TYPE_QUERY => parse_query(ip.src(), msg, hdr),
        TYPE_V1_REPORT => Ok(Message::Report {
            version: Version::IgmpV1,
            group: multicast_group(hdr)?,
        }),
        TYPE_V2_REPORT => Ok(Message::Report {
            version: Version::IgmpV2,
            group: multicast_group(hdr)?,
        }),
        TYPE_LEAVE => Ok(Message::Leave {
            version: Version::IgmpV2,
            group: multicast_group(hdr)?,
        }),
        TYPE_V3_REPORT => parse_v3_report(msg, hdr),
        // As in Linux, only advertisements sent to ALL-SNOOPERS are router
        // evidence; any other is flooded uninterpreted.
        TYPE_MRD_ADVERTISEMENT if ip.dst() == ALL_SNOOPERS => Ok(Message::RouterAdvertisement),
        _ => Ok(Message::Other),
    }
}

/// Version by length and Max Resp Code (RFC 3376 §7.1). Bytes past the
/// first 8 of a v1/v2 query cannot occur (that length is v3 or ignored).
fn parse_query(source: Ipv4Addr, msg: &[u8], hdr: &[u8; HEADER_LEN]) -> Result<Message, WireError> {
    let group = query_group(hdr)?;
    let max_resp = hdr[field::MAX_RESP];
    let query = match msg.len() {
        HEADER_LEN => Query {
            version: if max_resp == 0 {
                Version::IgmpV1
            } else {
                Version::IgmpV2
            },
            source: source.into(),
            group,
            sources: Vec::new(),
            max_response: code::igmpv2_mrt_to_duration(max_resp),
            suppress_router_side: false,
            robustness: 0,
            query_interval: Duration::ZERO,
        },
        n if n < V3_QUERY_LEN => return Err(WireError::BadLength),
        _ => {
            let (v3, rest) = msg
                .split_first_chunk::<V3_QUERY_LEN>()
                .ok_or(WireError::Truncated)?;
            let count = usize::from(u16::from_be_bytes([
                v3[field::NUM_SOURCES],
                v3[field::NUM_SOURCES + 1],
            ]));
            let (sources, _additional_data) = rest
                .split_at_checked(count * 4)
                .ok_or(WireError::Truncated)?;
            let flags = v3[field::QUERY_FLAGS];
            Query {
                version: Version::IgmpV3,
                source: source.into(),
                group,
                sources: addresses(sources),
                max_response: code::igmp_mrc_to_duration(max_resp),
                suppress_router_side: flags & FLAG_S != 0,
                robustness: flags & QRV_MASK,
                query_interval: code::qqic_to_duration(v3[field::QQIC]),
            }
        }
    };
    Ok(Message::Query(query))
}

/// Records in order; unknown record types and records for non-multicast
/// groups are skipped using their own lengths (RFC 3376 §4.2.12). A count
/// that runs past the message rejects the whole report, so a lying
/// report never applies half of itself.
fn parse_v3_report(msg: &[u8], hdr: &[u8; HEADER_LEN]) -> Result<Message, WireError> {
    let count = u16::from_be_bytes([hdr[field::NUM_RECORDS], hdr[field::NUM_RECORDS + 1]]);
    let rest = msg.get(HEADER_LEN..).ok_or(WireError::Truncated)?;
    let records = records::parse(rest, count, Width::V4)?;
    Ok(Message::ReportV3 {
        version: Version::IgmpV3,
        records,
    })
}

/// The group of a query: 0.0.0.0 means general, anything else must be multicast.
fn query_group(hdr: &[u8; HEADER_LEN]) -> Result<Option<IpAddr>, WireError> {
    let group = ipv4_at(hdr, field::GROUP);
    if group.is_unspecified() {
        Ok(None)
    } else if group.is_multicast() {
        Ok(Some(group.into()))
    } else {
        Err(WireError::NotMulticastGroup)
    }
}

fn multicast_group(hdr: &[u8; HEADER_LEN]) -> Result<IpAddr, WireError> {
    let group = ipv4_at(hdr, field::GROUP);
    if group.is_multicast() {
        Ok(group.into())
    } else {
        Err(WireError::NotMulticastGroup)
    }
}

fn ipv4_at<const N: usize>(buf: &[u8; N], at: usize) -> Ipv4Addr {
    match buf.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

fn addresses(bytes: &[u8]) -> Vec<IpAddr> {
    Width::V4.addresses(bytes)
}

/// Most sources an IGMPv3 query carries: what fits a 1500-byte IP packet
/// with Router Alert, (1500 − 24 − 12) / 4. RFC 3376 §4.1.8 bounds the
/// list by the MTU; a querier with more must split them over several queries.
pub const MAX_QUERY_SOURCES: usize = 366;

/// The sources [`emit_query`] encodes: IPv4 ones, at most [`MAX_QUERY_SOURCES`].
fn query_sources(q: &Query) -> impl Iterator<Item = Ipv4Addr> + '_ {
    let limit = if q.version == Version::IgmpV3 {
        MAX_QUERY_SOURCES
    } else {
        0
    };
    q.sources
        .iter()
        .filter_map(|a| match a {
            IpAddr::V4(a) => Some(*a),
            IpAddr::V6(_) => None,
        })
        .take(limit)
}

/// Length of the IGMP message [`emit_query`] writes for `q`.
pub fn query_len(q: &Query) -> usize {
    match q.version {
        Version::IgmpV3 => V3_QUERY_LEN + 4 * query_sources(q).count(),
        _ => HEADER_LEN,
    }
}

/// Append the IGMP query for `q`, with group field `group`, to `out`,
/// checksum included.
///
/// `IgmpV1` writes Max Resp Code 0 and `IgmpV2` a linear code of at least
/// 1, so that the receiver derives the same version (RFC 3376 §7.1).
/// Sources, S, QRV and QQIC exist only in v3; older versions drop them.
/// QRV is 0 when the robustness exceeds 7 (RFC 3376 §4.1.6).
pub fn emit_query(q: &Query, group: Ipv4Addr, out: &mut Vec<u8>) {
    let start = out.len();
    let max_resp = match q.version {
        Version::IgmpV1 => 0,
        Version::IgmpV3 => code::igmp_mrc_from_duration(q.max_response),
        _ => code::igmpv2_mrt_from_duration(q.max_response),
    };
    let mut hdr = [0u8; HEADER_LEN];
    hdr[field::TYPE] = TYPE_QUERY;
    hdr[field::MAX_RESP] = max_resp;
    if let Some(dst) = hdr.get_mut(field::GROUP..field::GROUP + 4) {
        dst.copy_from_slice(&group.octets());
    }
    out.extend_from_slice(&hdr);
    if q.version == Version::IgmpV3 {
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
    let sum = out.get(start..).map_or(0, checksum::checksum);
    let at = start + field::CHECKSUM;
    if let Some(dst) = out.get_mut(at..at + 2) {
        dst.copy_from_slice(&sum.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::igmp::repr::{GroupRecord, RecordType};
    use crate::packet::ipv4::{Ipv4Repr, PROTO_IGMP};

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }

    fn parse_bytes(b: &[u8]) -> Result<Message, WireError> {
        parse(&Ipv4Packet::new_checked(b).unwrap())
    }

    /// An IPv4 packet around `igmp`, with both checksums filled in.
    fn build(src: &str, dst: &str, igmp: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        Ipv4Repr {
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            protocol: PROTO_IGMP,
            ttl: 1,
            tos: 0xc0,
            dont_fragment: false,
            router_alert: true,
            payload_len: igmp.len() as u16,
        }
        .emit(&mut out);
        let start = out.len();
        out.extend_from_slice(igmp);
        let sum = checksum::checksum(&out[start..]);
        out[start + 2..start + 4].copy_from_slice(&sum.to_be_bytes());
        out
    }

    /// IGMPv2 general query, 192.168.1.1 → 224.0.0.1, Max Resp Time 10 s.
    static IGMP_V2_GENERAL_QUERY: [u8; 32] = [
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x42, 0x6d, 0xc0, 0xa8, 0x01,
        0x01, 0xe0, 0x00, 0x00, 0x01, 0x94, 0x04, 0x00, 0x00, 0x11, 0x64, 0xee, 0x9b, 0x00, 0x00,
        0x00, 0x00,
    ];

    /// IGMPv3 group-and-source query, 10.0.0.1 → 232.1.1.1: MRC 0x8e
    /// (24 s), S=1, QRV 2, QQIC 125, sources 10.1.1.1 and 10.1.1.2.
    static IGMP_V3_GSS_QUERY: [u8; 44] = [
        0x46, 0xc0, 0x00, 0x2c, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0xf1, 0x08, 0x0a, 0x00, 0x00,
        0x01, 0xe8, 0x01, 0x01, 0x01, 0x94, 0x04, 0x00, 0x00, 0x11, 0x8e, 0xe4, 0xea, 0xe8, 0x01,
        0x01, 0x01, 0x0a, 0x7d, 0x00, 0x02, 0x0a, 0x01, 0x01, 0x01, 0x0a, 0x01, 0x01, 0x02,
    ];

    /// IGMPv3 report, 10.0.0.2 → 224.0.0.22, four records: an unknown
    /// type 7 (one source, one aux word), IS_EX 239.2.2.2 {}, ALLOW for the
    /// unicast 192.0.2.1, BLOCK 232.1.1.1 {10.1.1.1}.
    static IGMP_V3_REPORT: [u8; 76] = [
        0x46, 0xc0, 0x00, 0x4c, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0xf9, 0xd3, 0x0a, 0x00, 0x00,
        0x02, 0xe0, 0x00, 0x00, 0x16, 0x94, 0x04, 0x00, 0x00, 0x22, 0x00, 0x83, 0x35, 0x00, 0x00,
        0x00, 0x04, 0x07, 0x01, 0x00, 0x01, 0xef, 0x00, 0x00, 0x07, 0x0a, 0x09, 0x09, 0x09, 0xde,
        0xad, 0xbe, 0xef, 0x02, 0x00, 0x00, 0x00, 0xef, 0x02, 0x02, 0x02, 0x05, 0x00, 0x00, 0x00,
        0xc0, 0x00, 0x02, 0x01, 0x06, 0x00, 0x00, 0x01, 0xe8, 0x01, 0x01, 0x01, 0x0a, 0x01, 0x01,
        0x01,
    ];

    /// IGMPv1 report for 239.9.9.9 from 0.0.0.0, TTL 64, no Router Alert,
    /// 4 bytes of Ethernet padding.
    static IGMP_V1_REPORT: [u8; 32] = [
        0x45, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x40, 0x02, 0x82, 0xce, 0x00, 0x00, 0x00,
        0x00, 0xef, 0x09, 0x09, 0x09, 0x12, 0x00, 0xf5, 0xec, 0xef, 0x09, 0x09, 0x09, 0x00, 0x00,
        0x00, 0x00,
    ];

    #[test]
    fn v2_general_query() {
        let want = Query {
            version: Version::IgmpV2,
            source: v4("192.168.1.1"),
            group: None,
            sources: vec![],
            max_response: Duration::from_secs(10),
            suppress_router_side: false,
            robustness: 0,
            query_interval: Duration::ZERO,
        };
        assert_eq!(
            parse_bytes(&IGMP_V2_GENERAL_QUERY),
            Ok(Message::Query(want))
        );
    }

    #[test]
    fn v3_group_and_source_query() {
        let want = Query {
            version: Version::IgmpV3,
            source: v4("10.0.0.1"),
            group: Some(v4("232.1.1.1")),
            sources: vec![v4("10.1.1.1"), v4("10.1.1.2")],
            max_response: Duration::from_secs(24),
            suppress_router_side: true,
            robustness: 2,
            query_interval: Duration::from_secs(125),
        };
        assert_eq!(parse_bytes(&IGMP_V3_GSS_QUERY), Ok(Message::Query(want)));
    }

    #[test]
    fn v3_report_skips_unknown_and_unicast_records() {
        let want = Message::ReportV3 {
            version: Version::IgmpV3,
            records: vec![
                GroupRecord {
                    record_type: RecordType::IsExclude,
                    group: v4("239.2.2.2"),
                    sources: vec![],
                },
                GroupRecord {
                    record_type: RecordType::Block,
                    group: v4("232.1.1.1"),
                    sources: vec![v4("10.1.1.1")],
                },
            ],
        };
        assert_eq!(parse_bytes(&IGMP_V3_REPORT), Ok(want));
    }

    #[test]
    fn v1_report_lenient_receive() {
        // TTL 64, no Router Alert, source 0.0.0.0 (A6, A15).
        let want = Message::Report {
            version: Version::IgmpV1,
            group: v4("239.9.9.9"),
        };
        assert_eq!(parse_bytes(&IGMP_V1_REPORT), Ok(want));
    }

    #[test]
    fn v1_query_v2_report_and_leave() {
        let q = build("10.0.0.1", "224.0.0.1", &[0x11, 0, 0, 0, 0, 0, 0, 0]);
        let Ok(Message::Query(q)) = parse_bytes(&q) else {
            panic!("not a query")
        };
        assert_eq!(
            (q.version, q.max_response),
            (Version::IgmpV1, Duration::ZERO)
        );

        // Bytes past the first 8 of a v2 report are ignored (RFC 2236 §2.5).
        let r = build(
            "10.0.0.2",
            "239.1.1.1",
            &[0x16, 0, 0, 0, 239, 1, 1, 1, 9, 9, 9, 9],
        );
        assert_eq!(
            parse_bytes(&r),
            Ok(Message::Report {
                version: Version::IgmpV2,
                group: v4("239.1.1.1")
            })
        );
        let l = build("10.0.0.2", "224.0.0.2", &[0x17, 0, 0, 0, 239, 1, 1, 1]);
        assert_eq!(
            parse_bytes(&l),
            Ok(Message::Leave {
                version: Version::IgmpV2,
                group: v4("239.1.1.1")
            })
        );
    }

    #[test]
    fn general_query_to_any_destination_is_accepted() {
        let q = build("10.0.0.1", "239.1.1.1", &[0x11, 100, 0, 0, 0, 0, 0, 0]);
        let Ok(Message::Query(q)) = parse_bytes(&q) else {
            panic!("not a query")
        };
        assert_eq!(q.group, None);
    }

    #[test]
    fn query_of_9_to_11_bytes_is_ignored() {
        for n in 9..=11 {
            let mut body = vec![0x11, 100, 0, 0, 0, 0, 0, 0];
            body.resize(n, 0);
            assert_eq!(
                parse_bytes(&build("10.0.0.1", "224.0.0.1", &body)),
                Err(WireError::BadLength)
            );
        }
    }

    #[test]
    fn checksums_are_verified() {
        // A1: the IGMP checksum covers the whole message, sources included.
        let mut b = IGMP_V3_GSS_QUERY;
        b[43] ^= 0x01;
        assert_eq!(parse_bytes(&b), Err(WireError::BadIgmpChecksum));
        // A3: IP header checksum.
        let mut b = IGMP_V2_GENERAL_QUERY;
        b[8] = 2; // TTL changed, checksum not updated
        assert_eq!(parse_bytes(&b), Err(WireError::BadIpChecksum));
    }

    #[test]
    fn structural_errors() {
        let short = build("10.0.0.1", "224.0.0.1", &[0x16, 0, 0, 0, 239, 1]);
        assert_eq!(parse_bytes(&short), Err(WireError::Truncated));

        let unicast = build("10.0.0.2", "10.0.0.1", &[0x16, 0, 0, 0, 10, 0, 0, 1]);
        assert_eq!(parse_bytes(&unicast), Err(WireError::NotMulticastGroup));
        let unicast_query = build("10.0.0.1", "224.0.0.1", &[0x11, 10, 0, 0, 10, 0, 0, 1]);
        assert_eq!(
            parse_bytes(&unicast_query),
            Err(WireError::NotMulticastGroup)
        );

        // v3 query claiming three sources, carrying two.
        let q = build(
            "10.0.0.1",
            "232.1.1.1",
            &[
                0x11, 100, 0, 0, 232, 1, 1, 1, 2, 125, 0, 3, 10, 1, 1, 1, 10, 1, 1, 2,
            ],
        );
        assert_eq!(parse_bytes(&q), Err(WireError::Truncated));

        // v3 report: record claiming 2 sources, carrying 1; record count past end.
        let r = build(
            "10.0.0.2",
            "224.0.0.22",
            &[
                0x22, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 2, 239, 1, 1, 1, 10, 0, 0, 1,
            ],
        );
        assert_eq!(parse_bytes(&r), Err(WireError::Truncated));
        let r = build(
            "10.0.0.2",
            "224.0.0.22",
            &[0x22, 0, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 239, 1, 1, 1],
        );
        assert_eq!(parse_bytes(&r), Err(WireError::Truncated));
        // Aux data running past the end.
        let r = build(
            "10.0.0.2",
            "224.0.0.22",
            &[0x22, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0, 0, 239, 1, 1, 1],
        );
        assert_eq!(parse_bytes(&r), Err(WireError::Truncated));
    }

    #[test]
    fn fragments_are_refused() {
        let mut b = build("10.0.0.2", "239.1.1.1", &[0x16, 0, 0, 0, 239, 1, 1, 1]);
        b[6] = 0x20; // More Fragments
        b[10] = 0;
        b[11] = 0;
        let sum = checksum::checksum(&b[..24]);
        b[10..12].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(parse_bytes(&b), Err(WireError::Fragment));
    }

    #[test]
    fn unknown_and_mrd_types() {
        let adv = build("10.0.0.1", "224.0.0.106", &[0x30, 20, 0, 0, 0, 125, 0, 2]);
        assert_eq!(parse_bytes(&adv), Ok(Message::RouterAdvertisement));
        let adv_elsewhere = build("10.0.0.1", "224.0.0.1", &[0x30, 20, 0, 0, 0, 125, 0, 2]);
        assert_eq!(parse_bytes(&adv_elsewhere), Ok(Message::Other));
        for t in [0x31, 0x32, 0x13, 0x99] {
            let b = build("10.0.0.1", "224.0.0.106", &[t, 0, 0, 0, 0, 0, 0, 0]);
            assert_eq!(parse_bytes(&b), Ok(Message::Other), "type {t:#x}");
        }
    }

    #[test]
    fn v3_query_encoding() {
        let q = Query {
            version: Version::IgmpV3,
            source: v4("10.0.0.1"),
            group: Some(v4("232.1.1.1")),
            sources: vec![v4("10.1.1.1"), v4("10.1.1.2")],
            max_response: Duration::from_secs(24),
            suppress_router_side: true,
            robustness: 2,
            query_interval: Duration::from_secs(125),
        };
        let mut out = Vec::new();
        emit_query(&q, "232.1.1.1".parse().unwrap(), &mut out);
        assert_eq!(out, &IGMP_V3_GSS_QUERY[24..]);
        assert_eq!(out.len(), query_len(&q));
    }
}
