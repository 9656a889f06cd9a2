//! IPv6 header view, extension-header walk and emitter (RFC 8200), with the
//! Hop-by-Hop Router Alert option (RFC 2711).
//!
//! [`Ipv6Packet::new_checked`] validates the fixed header and Payload Length
//! once; [`Ipv6Packet::upper_layer`] walks the extension headers a snooper
//! must skip to find MLD (RFC 4541 §3), each bounded by what remains.

use super::WireError;
use std::net::Ipv6Addr;

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;
/// Next Header: Hop-by-Hop Options (RFC 8200 §4.3).
pub const NH_HOP_BY_HOP: u8 = 0;
/// Next Header: Routing (RFC 8200 §4.4).
pub const NH_ROUTING: u8 = 43;
/// Next Header: Fragment (RFC 8200 §4.5).
pub const NH_FRAGMENT: u8 = 44;
/// Next Header: ICMPv6 (RFC 4443).
pub const NH_ICMPV6: u8 = 58;
/// Next Header: No Next Header (RFC 8200 §4.7).
pub const NH_NO_NEXT_HEADER: u8 = 59;
/// Next Header: Destination Options (RFC 8200 §4.6).
pub const NH_DEST_OPTS: u8 = 60;
/// Hop-by-Hop option type of Router Alert (RFC 2711 §2.1).
pub const OPT_ROUTER_ALERT: u8 = 5;
/// Extension headers walked before giving up. RFC 8200 §4.1 allows each
/// type once (Destination Options twice), so a legitimate chain of the types
/// walked here is at most four long; the margin tolerates odd senders.
pub const MAX_EXT_HEADERS: usize = 8;

/// Byte offsets of the fixed header (RFC 8200 §3).
pub(crate) mod field {
    pub const VER_TC_FLOW: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

/// Hop-by-Hop / Destination option types with special layout (RFC 8200 §4.2).
const OPT_PAD1: u8 = 0;
/// Router Alert option data length: a 16-bit value (RFC 2711 §2.1).
const ROUTER_ALERT_LEN: usize = 2;

/// A validated IPv6 packet: fixed header and payload bounded by Payload Length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Packet<'a> {
    header: &'a [u8; HEADER_LEN],
    payload: &'a [u8],
}

/// Where the extension-header walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer<'a> {
    /// Protocol number of the upper layer ([`NH_NO_NEXT_HEADER`] when none).
    pub protocol: u8,
    /// The upper-layer message, up to Payload Length (empty after No Next Header).
    pub payload: &'a [u8],
    /// Offset of `payload` from the start of the IPv6 header.
    pub offset: usize,
    /// The first header after the fixed header was Hop-by-Hop Options.
    pub leading_hop_by_hop: bool,
    /// That Hop-by-Hop header carried a Router Alert option.
    pub router_alert: bool,
}

impl<'a> Ipv6Packet<'a> {
    /// Validate `buf` as an IPv6 packet starting at its header.
    ///
    /// Bytes past Payload Length (Ethernet padding) are ignored. Jumbograms
    /// (Payload Length 0, RFC 2675) are not supported: their payload reads
    /// as empty, so any extension-header walk reports [`WireError::Truncated`].
    pub fn new_checked(buf: &'a [u8]) -> Result<Ipv6Packet<'a>, WireError> {
        let (header, rest) = buf
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(WireError::Truncated)?;
        if header[field::VER_TC_FLOW] >> 4 != 6 {
            return Err(WireError::BadIpVersion);
        }
        let payload_len = usize::from(be16(header, field::PAYLOAD_LEN));
        let payload = rest.get(..payload_len).ok_or(WireError::Truncated)?;
        Ok(Ipv6Packet { header, payload })
    }

    /// Traffic Class.
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    /// Flow Label.
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// Payload Length: everything after the fixed header, extension headers included.
    pub fn payload_len(&self) -> u16 {
        be16(self.header, field::PAYLOAD_LEN)
    }

    /// Next Header of the fixed header.
    pub fn next_header(&self) -> u8 {
        self.header[field::NEXT_HEADER]
    }

    /// Hop Limit.
    pub fn hop_limit(&self) -> u8 {
        self.header[field::HOP_LIMIT]
    }

    /// Source address.
    pub fn src(&self) -> Ipv6Addr {
        addr(self.header, field::SRC)
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv6Addr {
        addr(self.header, field::DST)
    }

    /// Everything after the fixed header, up to Payload Length.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Skip Hop-by-Hop, Routing and Destination Options headers and report
    /// the upper layer.
    ///
    /// Errors: a header running past Payload Length is
    /// [`WireError::Truncated`]; Hop-by-Hop anywhere but first (RFC 8200
    /// §4.1), bad option encoding in it, or more than [`MAX_EXT_HEADERS`]
    /// headers is [`WireError::Malformed`]; a Fragment header is
    /// [`WireError::Fragment`], because a fragment cannot be interpreted
    /// without reassembly. Any other Next Header value (ESP, AH, an
    /// unknown type) ends the walk and is reported as the upper layer.
    pub fn upper_layer(&self) -> Result<UpperLayer<'a>, WireError> {
        let mut next = self.next_header();
        let mut rest = self.payload;
        let mut offset = HEADER_LEN;
        let mut router_alert = false;
        for index in 0..=MAX_EXT_HEADERS {
            match next {
                NH_HOP_BY_HOP | NH_ROUTING | NH_DEST_OPTS => {
                    if index == MAX_EXT_HEADERS || (next == NH_HOP_BY_HOP && index != 0) {
                        return Err(WireError::Malformed);
                    }
                    let (header, tail) = split_ext_header(rest)?;
                    if next == NH_HOP_BY_HOP {
                        router_alert = options_have_router_alert(header)?;
                    }
                    next = header.first().copied().ok_or(WireError::Truncated)?;
                    offset += header.len();
                    rest = tail;
                }
                NH_FRAGMENT => return Err(WireError::Fragment),
                _ => {
                    let payload = if next == NH_NO_NEXT_HEADER { &[] } else { rest };
                    return Ok(UpperLayer {
                        protocol: next,
                        payload,
                        offset,
                        leading_hop_by_hop: self.next_header() == NH_HOP_BY_HOP,
                        router_alert,
                    });
                }
            }
        }
        Err(WireError::Malformed)
    }

    fn ver_tc_flow(&self) -> u32 {
        match self.header.get(field::VER_TC_FLOW..field::VER_TC_FLOW + 4) {
            Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]),
            _ => 0,
        }
    }
}

/// Split off one extension header whose second byte is its length in
/// 8-octet units, not counting the first 8 (RFC 8200 §4.3, §4.4, §4.6).
fn split_ext_header(rest: &[u8]) -> Result<(&[u8], &[u8]), WireError> {
    let units = usize::from(*rest.get(1).ok_or(WireError::Truncated)?);
    let len = (units + 1) * 8;
    if rest.len() < len {
        return Err(WireError::Truncated);
    }
    Ok(rest.split_at(len))
}

/// Walk the TLV options of a Hop-by-Hop header (RFC 8200 §4.2) and report
/// whether one is a Router Alert. Pad1 is a lone byte; every other option
/// has a data-length byte, and must fit in the header.
fn options_have_router_alert(header: &[u8]) -> Result<bool, WireError> {
    let mut rest = header.get(2..).ok_or(WireError::Truncated)?;
    let mut found = false;
    while let Some((&kind, tail)) = rest.split_first() {
        if kind == OPT_PAD1 {
            rest = tail;
            continue;
        }
        let (&len, data) = tail.split_first().ok_or(WireError::Malformed)?;
        let len = usize::from(len);
        if data.len() < len {
            return Err(WireError::Malformed);
        }
        if kind == OPT_ROUTER_ALERT {
            if len != ROUTER_ALERT_LEN {
                return Err(WireError::Malformed);
            }
            found = true;
        }
        rest = data.get(len..).ok_or(WireError::Malformed)?;
    }
    Ok(found)
}

/// The fields of an IPv6 header this crate sends (traffic class and flow label zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Next Header of the fixed header.
    pub next_header: u8,
    /// Hop Limit.
    pub hop_limit: u8,
    /// Length of everything that will follow the fixed header.
    pub payload_len: u16,
}

impl Ipv6Repr {
    /// Append the fixed header to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let mut h = [0u8; HEADER_LEN];
        h[field::VER_TC_FLOW] = 0x60;
        if let Some(dst) = h.get_mut(field::PAYLOAD_LEN..field::PAYLOAD_LEN + 2) {
            dst.copy_from_slice(&self.payload_len.to_be_bytes());
        }
        h[field::NEXT_HEADER] = self.next_header;
        h[field::HOP_LIMIT] = self.hop_limit;
        if let Some(dst) = h.get_mut(field::SRC..field::SRC + 16) {
            dst.copy_from_slice(&self.src.octets());
        }
        if let Some(dst) = h.get_mut(field::DST..field::DST + 16) {
            dst.copy_from_slice(&self.dst.octets());
        }
        out.extend_from_slice(&h);
    }
}

fn be16(h: &[u8; HEADER_LEN], at: usize) -> u16 {
    match h.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

fn addr(h: &[u8; HEADER_LEN], at: usize) -> Ipv6Addr {
    h.get(at..at + 16)
        .and_then(|s| <[u8; 16]>::try_from(s).ok())
        .map_or(Ipv6Addr::UNSPECIFIED, Ipv6Addr::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MLDv2 report from fe80::200:ff:fe00:2 to ff02::16 behind a
    /// Hop-by-Hop Router Alert: TO_EX ff02::fb {} and ALLOW ff05::1:3
    /// {2001:db8::5}.
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

    #[test]
    fn parses_fixed_header() {
        let p = Ipv6Packet::new_checked(&MLDV2_REPORT).unwrap();
        assert_eq!(p.traffic_class(), 0);
        assert_eq!(p.flow_label(), 0);
        assert_eq!(p.payload_len(), 72);
        assert_eq!(p.next_header(), NH_HOP_BY_HOP);
        assert_eq!(p.hop_limit(), 1);
        assert_eq!(p.src(), "fe80::200:ff:fe00:2".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst(), "ff02::16".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.payload(), &MLDV2_REPORT[40..]);
    }

    #[test]
    fn walks_hop_by_hop_to_icmpv6() {
        let p = Ipv6Packet::new_checked(&MLDV2_REPORT).unwrap();
        let ul = p.upper_layer().unwrap();
        assert_eq!(ul.protocol, NH_ICMPV6);
        assert_eq!(ul.offset, 48);
        assert_eq!(ul.payload, &MLDV2_REPORT[48..]);
        assert!(ul.leading_hop_by_hop);
        assert!(ul.router_alert);
    }

    #[test]
    fn rejects_bad_fixed_headers() {
        let mut v4 = MLDV2_REPORT;
        v4[0] = 0x45;
        assert_eq!(Ipv6Packet::new_checked(&v4), Err(WireError::BadIpVersion));
        assert_eq!(
            Ipv6Packet::new_checked(&MLDV2_REPORT[..111]),
            Err(WireError::Truncated)
        );
        assert_eq!(
            Ipv6Packet::new_checked(&MLDV2_REPORT[..39]),
            Err(WireError::Truncated)
        );
        let mut padded = MLDV2_REPORT.to_vec();
        padded.extend_from_slice(&[0; 6]);
        let p = Ipv6Packet::new_checked(&padded).unwrap();
        assert_eq!(p.payload().len(), 72);
    }

    /// An IPv6 packet with `first` as Next Header and `rest` as payload.
    fn packet(first: u8, rest: &[u8]) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b[0] = 0x60;
        b[4..6].copy_from_slice(&(rest.len() as u16).to_be_bytes());
        b[6] = first;
        b.extend_from_slice(rest);
        b
    }

    fn walk(first: u8, rest: &[u8]) -> Result<UpperLayer<'static>, WireError> {
        let b: &'static [u8] = Box::leak(packet(first, rest).into_boxed_slice());
        Ipv6Packet::new_checked(b)?.upper_layer()
    }

    #[test]
    fn extension_chains() {
        // Hop-by-Hop (PadN only) → Destination Options → Routing → ICMPv6.
        let chain = [
            60, 0, 1, 4, 0, 0, 0, 0, // HBH, no Router Alert
            43, 0, 1, 4, 0, 0, 0, 0, // Dest Opts
            58, 0, 0, 0, 0, 0, 0, 0, // Routing
            130, 0, 0, 0, // ICMPv6
        ];
        let ul = walk(NH_HOP_BY_HOP, &chain).unwrap();
        assert_eq!((ul.protocol, ul.offset, ul.payload.len()), (58, 64, 4));
        assert!(ul.leading_hop_by_hop && !ul.router_alert);

        // No extension header at all.
        let ul = walk(NH_ICMPV6, &[131, 0, 0, 0]).unwrap();
        assert!(!ul.leading_hop_by_hop);
        assert_eq!(ul.offset, 40);

        // No Next Header: empty upper layer even if bytes follow.
        let ul = walk(NH_NO_NEXT_HEADER, &[1, 2, 3]).unwrap();
        assert_eq!((ul.protocol, ul.payload.len()), (59, 0));

        // Hop-by-Hop with a second 8-octet unit (len 1).
        let long = [58, 1, 5, 2, 0, 0, 1, 8, 0, 0, 0, 0, 0, 0, 0, 0, 143];
        let ul = walk(NH_HOP_BY_HOP, &long).unwrap();
        assert!(ul.router_alert);
        assert_eq!(ul.offset, 56);
    }

    #[test]
    fn extension_errors() {
        let cases: &[(u8, &[u8], WireError)] = &[
            (NH_HOP_BY_HOP, &[], WireError::Truncated),
            (NH_HOP_BY_HOP, &[58], WireError::Truncated),
            (NH_HOP_BY_HOP, &[58, 0, 5, 2, 0, 0, 1], WireError::Truncated),
            (
                NH_HOP_BY_HOP,
                &[58, 1, 5, 2, 0, 0, 1, 0],
                WireError::Truncated,
            ),
            // Option length runs past the header.
            (
                NH_HOP_BY_HOP,
                &[58, 0, 5, 2, 0, 0, 1, 1],
                WireError::Malformed,
            ),
            (
                NH_HOP_BY_HOP,
                &[58, 0, 1, 5, 0, 0, 0, 0],
                WireError::Malformed,
            ),
            // Option type with no length byte.
            (
                NH_HOP_BY_HOP,
                &[58, 0, 0, 0, 0, 0, 0, 7],
                WireError::Malformed,
            ),
            // Router Alert of the wrong length.
            (
                NH_HOP_BY_HOP,
                &[58, 0, 5, 3, 0, 0, 0, 0],
                WireError::Malformed,
            ),
            // Hop-by-Hop after another header.
            (
                NH_DEST_OPTS,
                &[0, 0, 1, 4, 0, 0, 0, 0, 58, 0, 1, 4, 0, 0, 0, 0],
                WireError::Malformed,
            ),
            (NH_FRAGMENT, &[58, 0, 0, 0, 0, 0, 0, 0], WireError::Fragment),
            (
                NH_HOP_BY_HOP,
                &[44, 0, 1, 4, 0, 0, 0, 0, 58, 0, 0, 1, 0, 0, 0, 0],
                WireError::Fragment,
            ),
        ];
        for (first, rest, want) in cases {
            assert_eq!(walk(*first, rest), Err(*want), "{first} {rest:?}");
        }
    }

    #[test]
    fn extension_header_count_is_bounded() {
        let mut chain = Vec::new();
        for _ in 0..MAX_EXT_HEADERS {
            chain.extend_from_slice(&[NH_DEST_OPTS, 0, 1, 4, 0, 0, 0, 0]);
        }
        assert_eq!(walk(NH_DEST_OPTS, &chain), Err(WireError::Malformed));
        let n = chain.len();
        chain[n - 8] = NH_ICMPV6;
        chain.extend_from_slice(&[130, 0, 0, 0]);
        assert_eq!(walk(NH_DEST_OPTS, &chain).unwrap().protocol, NH_ICMPV6);
    }

    #[test]
    fn emit_round_trips() {
        let repr = Ipv6Repr {
            src: "fe80::200:ff:fe00:2".parse().unwrap(),
            dst: "ff02::16".parse().unwrap(),
            next_header: NH_HOP_BY_HOP,
            hop_limit: 1,
            payload_len: 72,
        };
        let mut out = Vec::new();
        repr.emit(&mut out);
        assert_eq!(out, &MLDV2_REPORT[..40]);
    }
}
