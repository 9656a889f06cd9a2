//! The virtio-net header (`struct virtio_net_hdr`, virtio 1.x §5.1.6) that TAPs
//! opened with `IFF_VNET_HDR` put in front of every frame.
//!
//! It carries offload state: a frame may be a GSO "super-frame" of up to 64 KB
//! that the receiver segments, and its L4 checksum may still be partial.

/// Length of the header as we configure it (`TUNSETVNETHDRSZ`): the legacy 10 bytes.
pub const LEN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum at `csum_start + csum_offset`
/// holds only the pseudo-header sum; the rest must still be added.
pub const F_NEEDS_CSUM: u8 = 1;

/// GSO types (`VIRTIO_NET_HDR_GSO_*`).
pub const GSO_NONE: u8 = 0;
/// TCP over IPv4.
pub const GSO_TCPV4: u8 = 1;
/// TCP over IPv6.
pub const GSO_TCPV6: u8 = 4;
/// The ECN bit that may be or-ed into a TCP GSO type.
pub const GSO_ECN: u8 = 0x80;

/// A decoded virtio-net header. Fields are little-endian on the wire (x86/ARM hosts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `F_NEEDS_CSUM` and friends.
    pub flags: u8,
    /// `GSO_*`, possibly with `GSO_ECN`.
    pub gso_type: u8,
    /// Length of the headers to replicate in each segment.
    pub hdr_len: u16,
    /// Payload bytes per segment (the MSS for TCP).
    pub gso_size: u16,
    /// Where checksumming starts, from the start of the frame.
    pub csum_start: u16,
    /// Where the checksum goes, from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// The all-zero header: a plain, complete frame.
    pub const PLAIN: [u8; LEN] = [0; LEN];

    /// Decode the first [`LEN`] bytes of `buf`; `None` if it is shorter.
    pub fn parse(buf: &[u8]) -> Option<VnetHdr> {
        let b: &[u8; LEN] = buf.get(..LEN)?.try_into().ok()?;
        let le = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        Some(VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: le(2),
            gso_size: le(4),
            csum_start: le(6),
            csum_offset: le(8),
        })
    }

    /// Encode.
    pub fn to_bytes(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_le_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_le_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_le_bytes());
        b
    }

    /// The GSO type without the ECN bit.
    pub fn gso(&self) -> u8 {
        self.gso_type & !GSO_ECN
    }

    /// The header for the same packet after `delta` bytes were inserted
    /// (or removed) before its network header (an 802.1Q tag added or
    /// stripped): the checksum start and header length move with it.
    pub fn shifted(&self, delta: isize) -> VnetHdr {
        let shift = |v: u16| {
            if v == 0 {
                0
            } else {
                u16::try_from(i64::from(v) + delta as i64).unwrap_or(v)
            }
        };
        VnetHdr {
            hdr_len: shift(self.hdr_len),
            csum_start: if self.flags & F_NEEDS_CSUM != 0 {
                shift(self.csum_start)
            } else {
                self.csum_start
            },
            ..*self
        }
    }

    /// The frame is complete as it is: no segmentation, no checksum to finish.
    pub fn is_plain(&self) -> bool {
        self.gso() == GSO_NONE && self.flags & F_NEEDS_CSUM == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_moves_the_checksum_start_and_header_length() {
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV4,
            hdr_len: 66,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        let t = h.shifted(4);
        assert_eq!(
            (t.hdr_len, t.csum_start, t.csum_offset, t.gso_size),
            (70, 38, 16, 1448)
        );
        assert_eq!(t.shifted(-4), h);
        assert_eq!(
            VnetHdr::default().shifted(4),
            VnetHdr::default(),
            "a plain header stays plain"
        );
    }

    #[test]
    fn round_trips_little_endian() {
        let h = VnetHdr {
            flags: F_NEEDS_CSUM,
            gso_type: GSO_TCPV6 | GSO_ECN,
            hdr_len: 86,
            gso_size: 1428,
            csum_start: 54,
            csum_offset: 16,
        };
        let b = h.to_bytes();
        assert_eq!(&b[..4], &[1, 0x84, 86, 0]);
        assert_eq!(VnetHdr::parse(&b), Some(h));
        assert_eq!(h.gso(), GSO_TCPV6);
        assert!(!h.is_plain());
        assert!(VnetHdr::parse(&VnetHdr::PLAIN).unwrap().is_plain());
        assert_eq!(VnetHdr::parse(&[0; 9]), None);
    }
}
