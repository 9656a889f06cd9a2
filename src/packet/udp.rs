//! UDP (RFC 768): a validated view over a datagram, and the one place that
//! digs a datagram out of an Ethernet frame (replay feeds tunnels from
//! underlay captures this way).

use super::ethernet::{EthernetFrame, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use super::ipv4::Ipv4Packet;
use super::ipv6::Ipv6Packet;
use super::WireError;
use std::net::{IpAddr, SocketAddr};

/// The UDP header's length.
pub const HEADER_LEN: usize = 8;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
}

/// A validated UDP datagram: header and a payload bounded by its Length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpDatagram<'a> {
    header: &'a [u8; HEADER_LEN],
    payload: &'a [u8],
}

impl<'a> UdpDatagram<'a> {
    /// Validate `buf` as a UDP datagram. Bytes past Length are ignored.
    pub fn new_checked(buf: &'a [u8]) -> Result<UdpDatagram<'a>, WireError> {
        let header: &[u8; HEADER_LEN] = buf
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(WireError::Truncated)?;
        let len = usize::from(u16::from_be_bytes([
            header[field::LENGTH],
            header[field::LENGTH + 1],
        ]));
        if len < HEADER_LEN {
            return Err(WireError::BadLength);
        }
        let payload = buf.get(HEADER_LEN..len).ok_or(WireError::Truncated)?;
        Ok(UdpDatagram { header, payload })
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        u16::from_be_bytes([
            self.header[field::SRC_PORT],
            self.header[field::SRC_PORT + 1],
        ])
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        u16::from_be_bytes([
            self.header[field::DST_PORT],
            self.header[field::DST_PORT + 1],
        ])
    }

    /// The payload.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }
}

/// A UDP datagram found in an Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramedDatagram<'a> {
    /// Sender's address and port.
    pub src: SocketAddr,
    /// Receiver's address and port.
    pub dst: SocketAddr,
    /// The UDP payload.
    pub payload: &'a [u8],
}

/// The UDP datagram an Ethernet frame carries over IPv4 or IPv6, if it is
/// one (unfragmented; IPv6 extension headers are walked).
pub fn in_frame(frame: &[u8]) -> Option<FramedDatagram<'_>> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (src, dst, udp) = match eth.ethertype() {
        ETHERTYPE_IPV4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            if ip.protocol() != PROTO_UDP || ip.is_fragment() {
                return None;
            }
            (IpAddr::V4(ip.src()), IpAddr::V4(ip.dst()), ip.payload())
        }
        ETHERTYPE_IPV6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            let upper = ip.upper_layer().ok()?;
            if upper.protocol != PROTO_UDP {
                return None;
            }
            (IpAddr::V6(ip.src()), IpAddr::V6(ip.dst()), upper.payload)
        }
        _ => return None,
    };
    let udp = UdpDatagram::new_checked(udp).ok()?;
    Some(FramedDatagram {
        src: SocketAddr::new(src, udp.src_port()),
        dst: SocketAddr::new(dst, udp.dst_port()),
        payload: udp.payload(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10.0.0.2:40000 -> 10.0.0.1:4789, payload "hi", in an Ethernet frame.
    fn frame() -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        let ip_len: u16 = 20 + 8 + 2;
        f.extend_from_slice(&[0x45, 0, 0, ip_len as u8, 0, 0, 0x40, 0, 64, PROTO_UDP, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 2, 10, 0, 0, 1]);
        let sum = crate::packet::checksum::checksum(&f[14..34]);
        f[24..26].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&40000u16.to_be_bytes());
        f.extend_from_slice(&4789u16.to_be_bytes());
        f.extend_from_slice(&10u16.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(b"hi");
        f.extend_from_slice(&[0; 16]); // Ethernet padding
        f
    }

    #[test]
    fn a_datagram_is_found_in_its_frame_without_the_padding() {
        let f = frame();
        let d = in_frame(&f).expect("a UDP datagram");
        assert_eq!(d.src, "10.0.0.2:40000".parse().unwrap());
        assert_eq!(d.dst, "10.0.0.1:4789".parse().unwrap());
        assert_eq!(d.payload, b"hi");
    }

    #[test]
    fn short_or_lying_lengths_are_refused_without_panicking() {
        let f = frame();
        for cut in 0..f.len() {
            let _ = in_frame(&f[..cut]);
        }
        let mut bad = f.clone();
        bad[38..40].copy_from_slice(&4u16.to_be_bytes());
        assert!(in_frame(&bad).is_none(), "a Length below the header");
        assert_eq!(UdpDatagram::new_checked(&[0; 7]), Err(WireError::Truncated));
    }
}
