//! IPv4 header view and emitter (RFC 791), with the Router Alert option (RFC 2113).
//!
//! [`Ipv4Packet::new_checked`] validates version, IHL and total length once;
//! the view then holds the fixed header as a `&[u8; 20]`, so every accessor
//! indexes a fixed-size array with constant offsets and cannot panic.

use super::checksum::Checksum;
use super::WireError;
use std::net::Ipv4Addr;

/// Length of the fixed IPv4 header (IHL 5).
pub const HEADER_LEN: usize = 20;
/// IP protocol number of IGMP (RFC 1112 Appendix I).
pub const PROTO_IGMP: u8 = 2;
/// Option type of Router Alert: copied flag set, class 0, number 20 (RFC 2113 §2.1).
pub const OPT_ROUTER_ALERT: u8 = 0x94;
/// Router Alert option as sent: value 0, "router shall examine packet".
pub const ROUTER_ALERT: [u8; 4] = [OPT_ROUTER_ALERT, 4, 0, 0];

/// Byte offsets of the fixed header (RFC 791 §3.1).
pub(crate) mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LENGTH: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

/// Option types with no length byte (RFC 791 §3.1, "Options").
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// A validated IPv4 packet: header, options and payload bounded by Total Length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Packet<'a> {
    header: &'a [u8; HEADER_LEN],
    options: &'a [u8],
    payload: &'a [u8],
}

impl<'a> Ipv4Packet<'a> {
    /// Validate `buf` as an IPv4 packet starting at its header.
    ///
    /// Bytes past Total Length are ignored: short frames carry Ethernet
    /// padding after the datagram.
    pub fn new_checked(buf: &'a [u8]) -> Result<Ipv4Packet<'a>, WireError> {
        let (header, _) = buf
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(WireError::Truncated)?;
        if header[field::VER_IHL] >> 4 != 4 {
            return Err(WireError::BadIpVersion);
        }
        let header_len = usize::from(header[field::VER_IHL] & 0x0f) * 4;
        if header_len < HEADER_LEN {
            return Err(WireError::BadIpHeaderLength);
        }
        let total_len = usize::from(be16(header, field::LENGTH));
        if total_len < header_len {
            return Err(WireError::BadIpHeaderLength);
        }
        let options = buf
            .get(HEADER_LEN..header_len)
            .ok_or(WireError::Truncated)?;
        let payload = buf.get(header_len..total_len).ok_or(WireError::Truncated)?;
        Ok(Ipv4Packet {
            header,
            options,
            payload,
        })
    }

    /// Header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.len()
    }

    /// Total Length: header plus payload.
    pub fn total_len(&self) -> u16 {
        be16(self.header, field::LENGTH)
    }

    /// Type of Service / DSCP+ECN byte.
    pub fn tos(&self) -> u8 {
        self.header[field::TOS]
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        be16(self.header, field::IDENT)
    }

    /// Don't Fragment flag.
    pub fn dont_fragment(&self) -> bool {
        be16(self.header, field::FLAGS_FRAG) & FLAG_DF != 0
    }

    /// More Fragments flag.
    pub fn more_fragments(&self) -> bool {
        be16(self.header, field::FLAGS_FRAG) & FLAG_MF != 0
    }

    /// Fragment offset in 8-byte units.
    pub fn frag_offset(&self) -> u16 {
        be16(self.header, field::FLAGS_FRAG) & FRAG_OFFSET_MASK
    }

    /// True for any fragment, first or later: its payload is not a whole
    /// upper-layer message, so snooping must not interpret it.
    pub fn is_fragment(&self) -> bool {
        self.more_fragments() || self.frag_offset() != 0
    }

    /// Time to Live.
    pub fn ttl(&self) -> u8 {
        self.header[field::TTL]
    }

    /// Protocol number of the payload.
    pub fn protocol(&self) -> u8 {
        self.header[field::PROTOCOL]
    }

    /// Header Checksum field as received.
    pub fn checksum(&self) -> u16 {
        be16(self.header, field::CHECKSUM)
    }

    /// True when the header checksum, over header and options, verifies.
    pub fn header_checksum_ok(&self) -> bool {
        Checksum::new()
            .add_bytes(self.header)
            .add_bytes(self.options)
            .is_valid()
    }

    /// Source address.
    pub fn src(&self) -> Ipv4Addr {
        addr(self.header, field::SRC)
    }

    /// Destination address.
    pub fn dst(&self) -> Ipv4Addr {
        addr(self.header, field::DST)
    }

    /// The options area (empty for IHL 5).
    pub fn options(&self) -> &'a [u8] {
        self.options
    }

    /// The payload, up to Total Length (Ethernet padding excluded).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Whether the options carry a Router Alert (RFC 2113).
    ///
    /// Walks the options as RFC 791 §3.1 lays them out: End of Option List
    /// stops, No Operation is one byte, every other option has a length byte
    /// counting itself and the type. An option that runs past the header, or
    /// a Router Alert whose length is not 4, is [`WireError::Malformed`].
    pub fn has_router_alert(&self) -> Result<bool, WireError> {
        let mut rest = self.options;
        while let Some((&kind, tail)) = rest.split_first() {
            match kind {
                OPT_END => break,
                OPT_NOP => rest = tail,
                _ => {
                    let len = usize::from(*tail.first().ok_or(WireError::Malformed)?);
                    if len < 2 {
                        return Err(WireError::Malformed);
                    }
                    if kind == OPT_ROUTER_ALERT {
                        return if len == ROUTER_ALERT.len() && rest.len() >= len {
                            Ok(true)
                        } else {
                            Err(WireError::Malformed)
                        };
                    }
                    rest = rest.get(len..).ok_or(WireError::Malformed)?;
                }
            }
        }
        Ok(false)
    }
}

/// The fields of an IPv4 header this crate sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Payload protocol.
    pub protocol: u8,
    /// Time to Live.
    pub ttl: u8,
    /// Type of Service byte.
    pub tos: u8,
    /// Set Don't Fragment.
    pub dont_fragment: bool,
    /// Add a Router Alert option (IHL 6).
    pub router_alert: bool,
    /// Length of the payload that will follow the header.
    pub payload_len: u16,
}

impl Ipv4Repr {
    /// Length of the header this repr emits.
    pub fn header_len(&self) -> usize {
        if self.router_alert {
            HEADER_LEN + ROUTER_ALERT.len()
        } else {
            HEADER_LEN
        }
    }

    /// Append the header, options and checksum to `out`.
    ///
    /// Total Length saturates at 65535; callers keep payloads small (a
    /// query is bounded by the MTU), so this never truncates in practice.
    pub fn emit(&self, out: &mut Vec<u8>) {
        let header_len = self.header_len();
        let total = u16::try_from(header_len)
            .unwrap_or(u16::MAX)
            .saturating_add(self.payload_len);
        let mut h = [0u8; HEADER_LEN];
        h[field::VER_IHL] = 0x40 | (header_len / 4) as u8;
        h[field::TOS] = self.tos;
        put16(&mut h, field::LENGTH, total);
        put16(&mut h, field::IDENT, 0);
        let flags = if self.dont_fragment { FLAG_DF } else { 0 };
        put16(&mut h, field::FLAGS_FRAG, flags);
        h[field::TTL] = self.ttl;
        h[field::PROTOCOL] = self.protocol;
        put_addr(&mut h, field::SRC, self.src);
        put_addr(&mut h, field::DST, self.dst);
        let options: &[u8] = if self.router_alert {
            &ROUTER_ALERT
        } else {
            &[]
        };
        let sum = Checksum::new().add_bytes(&h).add_bytes(options).finish();
        put16(&mut h, field::CHECKSUM, sum);
        out.extend_from_slice(&h);
        out.extend_from_slice(options);
    }
}

fn be16(h: &[u8; HEADER_LEN], at: usize) -> u16 {
    match h.get(at..at + 2) {
        Some(&[a, b]) => u16::from_be_bytes([a, b]),
        _ => 0,
    }
}

fn addr(h: &[u8; HEADER_LEN], at: usize) -> Ipv4Addr {
    match h.get(at..at + 4) {
        Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
        _ => Ipv4Addr::UNSPECIFIED,
    }
}

fn put16(h: &mut [u8; HEADER_LEN], at: usize, v: u16) {
    if let Some(dst) = h.get_mut(at..at + 2) {
        dst.copy_from_slice(&v.to_be_bytes());
    }
}

fn put_addr(h: &mut [u8; HEADER_LEN], at: usize, a: Ipv4Addr) {
    if let Some(dst) = h.get_mut(at..at + 4) {
        dst.copy_from_slice(&a.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IGMPv2 membership report for 239.1.2.3 from 192.168.1.10: IHL 6 with
    /// Router Alert, TTL 1, 4 bytes of Ethernet padding after Total Length.
    static IGMP_V2_REPORT: [u8; 36] = [
        0x46, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x40, 0x00, 0x01, 0x02, 0x31, 0x61, // ver..csum
        0xc0, 0xa8, 0x01, 0x0a, 0xef, 0x01, 0x02, 0x03, // src, dst
        0x94, 0x04, 0x00, 0x00, // router alert
        0x16, 0x00, 0xf8, 0xfa, 0xef, 0x01, 0x02, 0x03, // IGMP
        0x00, 0x00, 0x00, 0x00, // padding
    ];

    #[test]
    fn parses_report_header() {
        let p = Ipv4Packet::new_checked(&IGMP_V2_REPORT).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.total_len(), 32);
        assert_eq!(p.tos(), 0xc0);
        assert_eq!(p.ttl(), 1);
        assert_eq!(p.protocol(), PROTO_IGMP);
        assert!(p.dont_fragment());
        assert!(!p.is_fragment());
        assert_eq!(p.src(), Ipv4Addr::new(192, 168, 1, 10));
        assert_eq!(p.dst(), Ipv4Addr::new(239, 1, 2, 3));
        assert!(p.header_checksum_ok());
        assert_eq!(p.has_router_alert(), Ok(true));
        assert_eq!(p.payload(), &IGMP_V2_REPORT[24..32]);
    }

    #[test]
    fn bad_header_checksum_detected() {
        let mut b = IGMP_V2_REPORT;
        b[11] ^= 1;
        assert!(!Ipv4Packet::new_checked(&b).unwrap().header_checksum_ok());
    }

    #[test]
    fn rejects_bad_headers() {
        let mut v6 = IGMP_V2_REPORT;
        v6[0] = 0x66;
        assert_eq!(Ipv4Packet::new_checked(&v6), Err(WireError::BadIpVersion));
        let mut ihl4 = IGMP_V2_REPORT;
        ihl4[0] = 0x44;
        assert_eq!(
            Ipv4Packet::new_checked(&ihl4),
            Err(WireError::BadIpHeaderLength)
        );
        let mut short_total = IGMP_V2_REPORT;
        short_total[3] = 20; // total length below IHL 6
        assert_eq!(
            Ipv4Packet::new_checked(&short_total),
            Err(WireError::BadIpHeaderLength)
        );
        let mut long_total = IGMP_V2_REPORT;
        long_total[3] = 37;
        assert_eq!(
            Ipv4Packet::new_checked(&long_total),
            Err(WireError::Truncated)
        );
        assert_eq!(
            Ipv4Packet::new_checked(&IGMP_V2_REPORT[..22]),
            Err(WireError::Truncated)
        );
        for n in 0..HEADER_LEN {
            assert_eq!(
                Ipv4Packet::new_checked(&IGMP_V2_REPORT[..n]),
                Err(WireError::Truncated)
            );
        }
    }

    fn with_options(options: &[u8]) -> Vec<u8> {
        let header_len = HEADER_LEN + options.len();
        let mut b = vec![0u8; header_len];
        b[0] = 0x40 | (header_len / 4) as u8;
        b[3] = header_len as u8;
        b[HEADER_LEN..].copy_from_slice(options);
        b
    }

    #[test]
    fn option_walk() {
        let cases: &[(&[u8], Result<bool, WireError>)] = &[
            (&[], Ok(false)),
            (&[0x94, 4, 0, 0], Ok(true)),
            (&[1, 1, 1, 1], Ok(false)),
            (&[1, 0x94, 4, 0, 0, 0, 0, 0], Ok(true)),
            (&[0, 0x94, 0, 0], Ok(false)), // after End of Option List
            // Record Route (7, len 7) then Router Alert.
            (&[7, 7, 4, 0, 0, 0, 0, 0x94, 4, 0, 0, 0], Ok(true)),
            (&[7, 8, 4, 0], Err(WireError::Malformed)), // runs past header
            (&[7, 1, 0, 0], Err(WireError::Malformed)), // length below 2
            (&[7, 0, 0, 0], Err(WireError::Malformed)),
            (&[0x94, 6, 0, 0, 0, 0, 0, 0], Err(WireError::Malformed)),
            (&[1, 1, 1, 0x94], Err(WireError::Malformed)), // no length byte
            (&[1, 1, 0x94, 4], Err(WireError::Malformed)), // runs past header
        ];
        for (opts, want) in cases {
            let b = with_options(opts);
            let p = Ipv4Packet::new_checked(&b).unwrap();
            assert_eq!(p.has_router_alert(), *want, "options {opts:02x?}");
        }
    }

    #[test]
    fn fragments() {
        let mut b = with_options(&[]);
        assert!(!Ipv4Packet::new_checked(&b).unwrap().is_fragment());
        b[6] = 0x20; // MF
        assert!(Ipv4Packet::new_checked(&b).unwrap().is_fragment());
        b[6] = 0x00;
        b[7] = 0x01; // offset 8
        let p = Ipv4Packet::new_checked(&b).unwrap();
        assert!(p.is_fragment());
        assert_eq!(p.frag_offset(), 1);
        b[6] = 0x40;
        b[7] = 0;
        assert!(!Ipv4Packet::new_checked(&b).unwrap().is_fragment()); // DF only
    }

    #[test]
    fn emit_matches_captured_header() {
        let repr = Ipv4Repr {
            src: Ipv4Addr::new(192, 168, 1, 10),
            dst: Ipv4Addr::new(239, 1, 2, 3),
            protocol: PROTO_IGMP,
            ttl: 1,
            tos: 0xc0,
            dont_fragment: true,
            router_alert: true,
            payload_len: 8,
        };
        let mut out = Vec::new();
        repr.emit(&mut out);
        assert_eq!(out, &IGMP_V2_REPORT[..24]);
    }
}
