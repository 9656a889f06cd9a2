//! The Internet checksum (RFC 1071) and the IPv6 pseudo-header (RFC 8200 §8.1).
//!
//! [`Checksum`] accumulates the one's-complement sum over any number of
//! slices of any length, so a header and a payload that live in different
//! buffers can be summed without copying them together.

use std::net::Ipv6Addr;

/// A running one's-complement sum (RFC 1071 §4.1), not yet complemented.
///
/// Slices may have odd lengths: a slice that starts on an odd offset of the
/// overall message contributes its byte-swapped sum (RFC 1071 §2(B), byte
/// order independence), which is what `odd` tracks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[must_use]
pub struct Checksum {
    acc: u64,
    odd: bool,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Checksum {
        Checksum { acc: 0, odd: false }
    }

    /// Add the bytes of `data`, continuing where the previous slice ended.
    pub fn add_bytes(self, data: &[u8]) -> Checksum {
        let part = fold(sum_be_words(data));
        let part = if self.odd { part.swap_bytes() } else { part };
        Checksum {
            acc: self.acc + u64::from(part),
            odd: self.odd ^ (data.len() % 2 == 1),
        }
    }

    /// Add a 16-bit big-endian value, as if it were two more bytes.
    pub fn add_u16(self, v: u16) -> Checksum {
        self.add_bytes(&v.to_be_bytes())
    }

    /// Add a 32-bit big-endian value, as if it were four more bytes.
    pub fn add_u32(self, v: u32) -> Checksum {
        self.add_bytes(&v.to_be_bytes())
    }

    /// The folded 16-bit one's-complement sum.
    pub fn sum(self) -> u16 {
        fold(self.acc)
    }

    /// The checksum to put in a header: the complement of the sum, computed
    /// with the checksum field set to zero.
    pub fn finish(self) -> u16 {
        !self.sum()
    }

    /// True when the summed data, checksum field included, verifies
    /// (RFC 1071 §1(3): the sum is all ones).
    pub fn is_valid(self) -> bool {
        self.sum() == 0xffff
    }
}

/// The checksum of one contiguous slice (checksum field zeroed beforehand).
pub fn checksum(data: &[u8]) -> u16 {
    Checksum::new().add_bytes(data).finish()
}

/// A sum pre-loaded with the IPv6 pseudo-header of RFC 8200 §8.1, for an
/// upper-layer packet (ICMPv6 here) of `upper_len` bytes.
pub fn ipv6_pseudo_header(
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
    next_header: u8,
    upper_len: u32,
) -> Checksum {
    Checksum::new()
        .add_bytes(&src.octets())
        .add_bytes(&dst.octets())
        .add_u32(upper_len)
        .add_u32(u32::from(next_header))
}

/// Whether the UDP or TCP checksum of an Ethernet frame verifies: `None`
/// when the frame carries neither (or an IPv4 UDP datagram sent without a
/// checksum, or a fragment). A tunnel samples its inner frames with this:
/// a sender that leaves the checksum to an offload that never happens
/// (a kernel vxlan device over veth) shows up as `Some(false)`.
pub fn l4_checksum_ok(frame: &[u8]) -> Option<bool> {
    use super::ethernet::{EthernetFrame, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
    const TCP: u8 = 6;
    const UDP: u8 = 17;
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (pseudo, proto, segment) = match eth.ethertype() {
        ETHERTYPE_IPV4 => {
            let ip = super::ipv4::Ipv4Packet::new_checked(eth.payload()).ok()?;
            if ip.is_fragment() {
                return None;
            }
            let seg = ip.payload();
            let pseudo = Checksum::new()
                .add_bytes(&ip.src().octets())
                .add_bytes(&ip.dst().octets())
                .add_u16(u16::from(ip.protocol()))
                .add_u16(u16::try_from(seg.len()).ok()?);
            (pseudo, ip.protocol(), seg)
        }
        ETHERTYPE_IPV6 => {
            let ip = super::ipv6::Ipv6Packet::new_checked(eth.payload()).ok()?;
            let upper = ip.upper_layer().ok()?;
            let len = u32::try_from(upper.payload.len()).ok()?;
            let pseudo = ipv6_pseudo_header(&ip.src(), &ip.dst(), upper.protocol, len);
            (pseudo, upper.protocol, upper.payload)
        }
        _ => return None,
    };
    match proto {
        TCP if segment.len() >= 20 => {}
        // IPv4 UDP may go without a checksum (RFC 768); IPv6 UDP may not.
        UDP if segment.len() >= 8 => {
            if segment[6..8] == [0, 0] && eth.ethertype() == ETHERTYPE_IPV4 {
                return None;
            }
        }
        _ => return None,
    }
    Some(pseudo.add_bytes(segment).is_valid())
}

/// Unfolded sum of `data` as big-endian 16-bit words, a trailing odd byte
/// padded with zero. Adding 32-bit words is the same sum modulo 0xffff
/// (2^16 ≡ 1), and halves the number of additions.
fn sum_be_words(data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(4);
    let mut acc = 0u64;
    for c in &mut chunks {
        if let &[a, b, c, d] = c {
            acc += u64::from(u32::from_be_bytes([a, b, c, d]));
        }
    }
    match *chunks.remainder() {
        [a, b, c] => acc + u64::from(u16::from_be_bytes([a, b])) + (u64::from(c) << 8),
        [a, b] => acc + u64::from(u16::from_be_bytes([a, b])),
        [a] => acc + (u64::from(a) << 8),
        _ => acc,
    }
}

/// Fold carries back in until the sum fits in 16 bits (end-around carry).
fn fold(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An IPv4/UDP frame 10.0.0.1:1 -> 10.0.0.2:2 carrying `payload`, its UDP checksum computed.
    fn udp_frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let udp_len = 8 + payload.len() as u16;
        f.extend_from_slice(&[0x45, 0, 0, 20 + udp_len as u8, 0, 0, 0, 0, 64, 17, 0, 0]);
        f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        let ip_sum = checksum(&f[14..34]);
        f[24..26].copy_from_slice(&ip_sum.to_be_bytes());
        f.extend_from_slice(&[0, 1, 0, 2]);
        f.extend_from_slice(&udp_len.to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(payload);
        let sum = Checksum::new()
            .add_bytes(&[10, 0, 0, 1, 10, 0, 0, 2])
            .add_u16(17)
            .add_u16(udp_len)
            .add_bytes(&f[34..])
            .finish();
        f[40..42].copy_from_slice(&sum.to_be_bytes());
        f
    }

    #[test]
    fn inner_checksums_verify_and_an_unfinished_one_does_not() {
        let good = udp_frame(b"heartbeat");
        assert_eq!(l4_checksum_ok(&good), Some(true));
        let mut partial = good.clone();
        partial[40..42].copy_from_slice(&[0x12, 0x34]); // what an unfinished offload leaves
        assert_eq!(l4_checksum_ok(&partial), Some(false));
        let mut none = good.clone();
        none[40..42].copy_from_slice(&[0, 0]);
        assert_eq!(l4_checksum_ok(&none), None, "IPv4 UDP without a checksum");
        assert_eq!(l4_checksum_ok(&good[..30]), None);
        assert_eq!(l4_checksum_ok(&[0u8; 60]), None, "not IP");
    }

    /// Straight from the definition, two bytes at a time, for cross-checking.
    fn reference_sum(data: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for pair in data.chunks(2) {
            let hi = u32::from(pair.first().copied().unwrap_or(0)) << 8;
            let lo = u32::from(pair.get(1).copied().unwrap_or(0));
            s += hi | lo;
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 numerical example: the sum is ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Checksum::new().add_bytes(&data).sum(), 0xddf2);
        assert_eq!(checksum(&data), 0x220d);
    }

    #[test]
    fn ipv4_header_example() {
        // A UDP datagram's IPv4 header, checksum field b861 included.
        static HDR: [u8; 20] = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert!(Checksum::new().add_bytes(&HDR).is_valid());
        let mut zeroed = HDR;
        zeroed[10] = 0;
        zeroed[11] = 0;
        assert_eq!(checksum(&zeroed), 0xb861);
    }

    #[test]
    fn all_zero_data_does_not_verify() {
        assert!(!Checksum::new().add_bytes(&[0u8; 8]).is_valid());
        assert_eq!(checksum(&[0u8; 8]), 0xffff);
    }

    #[test]
    fn pseudo_header_matches_manual_layout() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let dst: Ipv6Addr = "ff02::1".parse().unwrap();
        let mut manual = Vec::new();
        manual.extend_from_slice(&src.octets());
        manual.extend_from_slice(&dst.octets());
        manual.extend_from_slice(&28u32.to_be_bytes());
        manual.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(
            ipv6_pseudo_header(&src, &dst, 58, 28).sum(),
            Checksum::new().add_bytes(&manual).sum()
        );
    }

    proptest! {
        #[test]
        fn matches_reference(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(Checksum::new().add_bytes(&data).sum(), reference_sum(&data));
        }

        #[test]
        fn split_anywhere_is_the_same(
            data in proptest::collection::vec(any::<u8>(), 0..200),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
        ) {
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            points.sort_unstable();
            let mut sum = Checksum::new();
            let mut start = 0;
            for p in points.into_iter().chain(std::iter::once(data.len())) {
                sum = sum.add_bytes(&data[start..p]);
                start = p;
            }
            prop_assert_eq!(sum.sum(), reference_sum(&data));
        }

        #[test]
        fn inserting_the_checksum_verifies(mut data in proptest::collection::vec(any::<u8>(), 2..100)) {
            data[0] = 0;
            data[1] = 0;
            let c = checksum(&data);
            data[..2].copy_from_slice(&c.to_be_bytes());
            prop_assert!(Checksum::new().add_bytes(&data).is_valid());
        }
    }
}
