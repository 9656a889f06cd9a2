//! Software offload: finishing partial checksums and segmenting TCP super-frames.
//!
//! A TAP opened with `IFF_VNET_HDR` hands us 64 KB TCP "super-frames" and
//! frames whose L4 checksum is only partial. Another offload-capable TAP
//! takes them as they are; any other egress (a tunnel peer, a pcap) needs
//! real, complete frames. This module makes them, exactly as the kernel's
//! GSO would: the headers are replicated per segment, IPv4 ids increment,
//! TCP sequence numbers advance, FIN/PSH stay on the last segment and CWR
//! on the first, and every checksum is computed afresh. Without this, ping
//! works (ICMP checksums are never offloaded) while TCP silently carries nothing.

use super::checksum::Checksum;
use super::ethernet::{EthernetFrame, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use super::ipv4::{self, field as v4f};
use super::ipv6::{self, field as v6f};
use super::virtio::{VnetHdr, F_NEEDS_CSUM, GSO_NONE, GSO_TCPV4, GSO_TCPV6};
use std::ops::Range;

const PROTO_TCP: u8 = 6;
/// The TCP header's fields this module touches (RFC 9293 §3.1).
mod tcp {
    pub const SEQ: usize = 4;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const CHECKSUM: usize = 16;
    pub const MIN_HEADER: usize = 20;
}
const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;
const TCP_CWR: u8 = 0x80;
/// Offset of the UDP checksum in its header: a computed 0 must be sent as 0xffff.
const UDP_CSUM_OFFSET: u16 = 6;

/// Why a frame could not be made complete; it is dropped and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OffloadError {
    /// A GSO type we do not segment (UDP fragmentation offload, say).
    #[error("unsupported GSO type")]
    Unsupported,
    /// Offsets in the virtio header or the packet headers do not add up.
    #[error("malformed offload frame")]
    Malformed,
}

/// Complete frames produced from one offloaded frame, in one reusable buffer.
#[derive(Debug, Default)]
pub struct Segments {
    buf: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

impl Segments {
    /// The frames, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.ranges.iter().filter_map(|r| self.buf.get(r.clone()))
    }

    /// How many frames.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.ranges.clear();
    }

    fn push(&mut self, parts: &[&[u8]]) -> Range<usize> {
        let start = self.buf.len();
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        let r = start..self.buf.len();
        self.ranges.push(r.clone());
        r
    }
}

/// Turn `frame` (described by `hdr`) into complete frames in `out`.
/// Callers skip this for plain frames ([`VnetHdr::is_plain`]).
pub fn complete(hdr: &VnetHdr, frame: &[u8], out: &mut Segments) -> Result<(), OffloadError> {
    out.clear();
    match hdr.gso() {
        GSO_NONE => {
            let r = out.push(&[frame]);
            if hdr.flags & F_NEEDS_CSUM != 0 {
                let f = out.buf.get_mut(r).ok_or(OffloadError::Malformed)?;
                finish_checksum(f, hdr.csum_start, hdr.csum_offset)?;
            }
            Ok(())
        }
        GSO_TCPV4 | GSO_TCPV6 => segment_tcp(hdr, frame, out),
        _ => Err(OffloadError::Unsupported),
    }
}

/// Fill in a partial checksum: the field holds the pseudo-header sum, so the
/// checksum is the complement of the sum over everything from `start`.
pub fn finish_checksum(frame: &mut [u8], start: u16, offset: u16) -> Result<(), OffloadError> {
    let start = usize::from(start);
    let at = start + usize::from(offset);
    if at + 2 > frame.len() || start > frame.len() {
        return Err(OffloadError::Malformed);
    }
    let mut c = Checksum::new().add_bytes(&frame[start..]).finish();
    if c == 0 && offset == UDP_CSUM_OFFSET {
        c = 0xffff;
    }
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
    Ok(())
}

/// Where the headers of a TCP frame are.
struct TcpLayout {
    l3: usize,
    l4: usize,
    payload: usize,
    v4: bool,
}

fn tcp_layout(frame: &[u8]) -> Result<TcpLayout, OffloadError> {
    let eth = EthernetFrame::new_checked(frame).map_err(|_| OffloadError::Malformed)?;
    let l3 = frame.len() - eth.payload().len();
    let ip = eth.payload();
    let (v4, l4) = match eth.ethertype() {
        ETHERTYPE_IPV4 => {
            let ihl = usize::from(*ip.get(v4f::VER_IHL).ok_or(OffloadError::Malformed)? & 0x0f) * 4;
            if ihl < ipv4::HEADER_LEN || ip.get(v4f::PROTOCOL) != Some(&PROTO_TCP) {
                return Err(OffloadError::Malformed);
            }
            (true, l3 + ihl)
        }
        ETHERTYPE_IPV6 => {
            // The kernel's TSO frames carry no extension headers.
            if ip.get(v6f::NEXT_HEADER) != Some(&PROTO_TCP) {
                return Err(OffloadError::Unsupported);
            }
            (false, l3 + ipv6::HEADER_LEN)
        }
        _ => return Err(OffloadError::Malformed),
    };
    let doff = usize::from(
        *frame
            .get(l4 + tcp::DATA_OFFSET)
            .ok_or(OffloadError::Malformed)?
            >> 4,
    ) * 4;
    let payload = l4 + doff;
    if doff < tcp::MIN_HEADER || payload > frame.len() {
        return Err(OffloadError::Malformed);
    }
    Ok(TcpLayout {
        l3,
        l4,
        payload,
        v4,
    })
}

fn segment_tcp(hdr: &VnetHdr, frame: &[u8], out: &mut Segments) -> Result<(), OffloadError> {
    let mss = usize::from(hdr.gso_size);
    if mss == 0 {
        return Err(OffloadError::Malformed);
    }
    let TcpLayout {
        l3,
        l4,
        payload,
        v4,
    } = tcp_layout(frame)?;
    let headers = &frame[..payload];
    let data = &frame[payload..];
    let be16 = |at: usize| u16::from_be_bytes([frame[at], frame[at + 1]]);
    let seq0 = (u32::from(be16(l4 + tcp::SEQ)) << 16) | u32::from(be16(l4 + tcp::SEQ + 2));
    let flags0 = frame[l4 + tcp::FLAGS];
    let id0 = be16(l3 + v4f::IDENT);
    let chunks = data.len().div_ceil(mss).max(1);
    for i in 0..chunks {
        let chunk = data
            .get(i * mss..((i + 1) * mss).min(data.len()))
            .unwrap_or(&[]);
        let r = out.push(&[headers, chunk]);
        let seg = &mut out.buf[r];
        let tcp_len = payload - l4 + chunk.len();
        if v4 {
            let total = (l4 - l3 + tcp_len) as u16;
            put16(seg, l3 + v4f::LENGTH, total);
            put16(seg, l3 + v4f::IDENT, id0.wrapping_add(i as u16));
            put16(seg, l3 + v4f::CHECKSUM, 0);
            let c = Checksum::new().add_bytes(&seg[l3..l4]).finish();
            put16(seg, l3 + v4f::CHECKSUM, c);
        } else {
            put16(seg, l3 + v6f::PAYLOAD_LEN, tcp_len as u16);
        }
        let seq = seq0.wrapping_add((i * mss) as u32);
        seg[l4 + tcp::SEQ..l4 + tcp::SEQ + 4].copy_from_slice(&seq.to_be_bytes());
        let mut flags = flags0;
        if i + 1 < chunks {
            flags &= !(TCP_FIN | TCP_PSH);
        }
        if i > 0 {
            flags &= !TCP_CWR;
        }
        seg[l4 + tcp::FLAGS] = flags;
        put16(seg, l4 + tcp::CHECKSUM, 0);
        // The pseudo-header's addresses: source and destination, adjacent in both versions.
        let pseudo = if v4 {
            Checksum::new()
                .add_bytes(&seg[l3 + v4f::SRC..l3 + v4f::DST + 4])
                .add_u16(u16::from(PROTO_TCP))
                .add_u16(tcp_len as u16)
        } else {
            Checksum::new()
                .add_bytes(&seg[l3 + v6f::SRC..l3 + v6f::DST + 16])
                .add_u32(tcp_len as u32)
                .add_u32(u32::from(PROTO_TCP))
        };
        let c = pseudo.add_bytes(&seg[l4..]).finish();
        put16(seg, l4 + tcp::CHECKSUM, c);
    }
    Ok(())
}

/// Write a big-endian u16 at `at`; callers checked the layout.
fn put16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An Ethernet + IPv4/IPv6 + TCP super-frame with `len` payload bytes.
    pub(crate) fn super_frame(v4: bool, len: usize, flags: u8) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        let tcp_len = 20 + len;
        if v4 {
            f.extend_from_slice(&[0x08, 0x00]);
            let total = (20 + tcp_len) as u16;
            f.extend_from_slice(&[
                0x45,
                0,
                (total >> 8) as u8,
                total as u8,
                0x12,
                0x34,
                0x40,
                0,
                64,
                6,
                0,
                0,
            ]);
            f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        } else {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend_from_slice(&[0x60, 0, 0, 0, (tcp_len >> 8) as u8, tcp_len as u8, 6, 64]);
            f.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
            f.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        }
        f.extend_from_slice(&[
            0x9c, 0x40, 0x14, 0x51, 0, 0, 0x10, 0, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        f.extend((0..len).map(|i| (i * 7 + 3) as u8));
        f
    }

    fn tcp_checksum_ok(seg: &[u8]) -> bool {
        let l = tcp_layout(seg).unwrap();
        let tcp = &seg[l.l4..];
        let pseudo = if l.v4 {
            Checksum::new()
                .add_bytes(&seg[l.l3 + 12..l.l3 + 20])
                .add_u16(6)
                .add_u16(tcp.len() as u16)
        } else {
            Checksum::new()
                .add_bytes(&seg[l.l3 + 8..l.l3 + 40])
                .add_u32(tcp.len() as u32)
                .add_u32(6)
        };
        pseudo.add_bytes(tcp).is_valid()
    }

    fn check_segments(v4: bool, len: usize, mss: u16) {
        let flags = TCP_PSH | TCP_FIN | TCP_CWR | 0x10;
        let f = super_frame(v4, len, flags);
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: if v4 { GSO_TCPV4 } else { GSO_TCPV6 },
            hdr_len: if v4 { 54 } else { 74 },
            gso_size: mss,
            csum_start: if v4 { 34 } else { 54 },
            csum_offset: 16,
        };
        let mut out = Segments::default();
        complete(&hdr, &f, &mut out).unwrap();
        let n = len.div_ceil(usize::from(mss)).max(1);
        assert_eq!(out.len(), n);
        let mut data = Vec::new();
        for (i, seg) in out.iter().enumerate() {
            let l = tcp_layout(seg).unwrap();
            assert!(tcp_checksum_ok(seg), "segment {i} has a bad TCP checksum");
            if v4 {
                assert!(
                    Checksum::new().add_bytes(&seg[l.l3..l.l4]).is_valid(),
                    "bad IPv4 checksum"
                );
                assert_eq!(
                    u16::from_be_bytes([seg[l.l3 + 2], seg[l.l3 + 3]]) as usize,
                    seg.len() - l.l3
                );
                assert_eq!(
                    u16::from_be_bytes([seg[l.l3 + 4], seg[l.l3 + 5]]),
                    0x1234 + i as u16
                );
            } else {
                assert_eq!(
                    u16::from_be_bytes([seg[l.l3 + 4], seg[l.l3 + 5]]) as usize,
                    seg.len() - l.l3 - 40
                );
            }
            let seq =
                u32::from_be_bytes([seg[l.l4 + 4], seg[l.l4 + 5], seg[l.l4 + 6], seg[l.l4 + 7]]);
            assert_eq!(seq, 0x1000u32.wrapping_add((i * usize::from(mss)) as u32));
            let fl = seg[l.l4 + 13];
            assert_eq!(
                fl & (TCP_FIN | TCP_PSH) != 0,
                i + 1 == n,
                "FIN/PSH only on the last"
            );
            assert_eq!(fl & TCP_CWR != 0, i == 0, "CWR only on the first");
            assert!(seg.len() - l.payload <= usize::from(mss));
            data.extend_from_slice(&seg[l.payload..]);
        }
        assert_eq!(data, f[f.len() - len..]);
    }

    #[test]
    fn segments_tcp_over_ipv4_and_ipv6() {
        check_segments(true, 10_000, 1448);
        check_segments(false, 65_000, 1428);
        check_segments(true, 1448, 1448);
    }

    #[test]
    fn finishes_a_partial_checksum() {
        let mut f = super_frame(true, 100, 0x18);
        // The kernel leaves the pseudo-header sum (not complemented) in the field.
        let pseudo = Checksum::new()
            .add_bytes(&f[26..34])
            .add_u16(6)
            .add_u16(120)
            .sum();
        f[50..52].copy_from_slice(&pseudo.to_be_bytes());
        let hdr = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 34,
            csum_offset: 16,
            ..VnetHdr::default()
        };
        let mut out = Segments::default();
        complete(&hdr, &f, &mut out).unwrap();
        let seg = out.iter().next().unwrap();
        assert!(tcp_checksum_ok(seg));
    }

    #[test]
    fn bad_offsets_are_errors_not_panics() {
        let f = super_frame(true, 10, 0);
        let bad = VnetHdr {
            flags: F_NEEDS_CSUM,
            csum_start: 60_000,
            csum_offset: 16,
            ..VnetHdr::default()
        };
        assert_eq!(
            complete(&bad, &f, &mut Segments::default()),
            Err(OffloadError::Malformed)
        );
        let udp = VnetHdr {
            gso_type: 3,
            ..VnetHdr::default()
        };
        assert_eq!(
            complete(&udp, &f, &mut Segments::default()),
            Err(OffloadError::Unsupported)
        );
        let zero_mss = VnetHdr {
            gso_type: GSO_TCPV4,
            ..VnetHdr::default()
        };
        assert_eq!(
            complete(&zero_mss, &f, &mut Segments::default()),
            Err(OffloadError::Malformed)
        );
    }

    proptest! {
        #[test]
        fn segmentation_preserves_payload_and_checksums(v4: bool, len in 1usize..20_000, mss in 500u16..9000) {
            check_segments(v4, len, mss);
        }

        #[test]
        fn arbitrary_headers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), hdr in any::<[u8; 10]>()) {
            let h = VnetHdr::parse(&hdr).unwrap();
            let _ = complete(&h, &bytes, &mut Segments::default());
        }
    }
}
