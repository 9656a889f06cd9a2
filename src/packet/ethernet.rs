//! Ethernet II header view with up to two 802.1Q / 802.1ad tags: the data-path parse.
//!
//! This is the only parse every frame gets. It validates the length once,
//! then hands out addresses, the VLAN id used for learning, and the
//! offset of the network-layer header.

use std::fmt;

/// Ethertype of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// Ethertype of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// Ethertype of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// Ethertype of an IEEE 802.1Q customer VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// Ethertype of an IEEE 802.1ad service VLAN tag (QinQ outer tag).
pub const ETHERTYPE_QINQ: u16 = 0x88a8;

/// Length of the untagged Ethernet header.
pub const HEADER_LEN: usize = 14;
const TAG_LEN: usize = 4;
/// Tags beyond this many are not looked into: the frame is switched on its outer VLAN.
const MAX_TAGS: usize = 2;

/// A MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The group bit (I/G) is set: multicast or broadcast.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// 01:80:c2:00:00:00 to 01:80:c2:00:00:0f: the IEEE 802.1D reserved
    /// link-local groups (STP, pause, LACP, 802.1X), which a bridge never forwards.
    pub fn is_reserved_link_local(&self) -> bool {
        self.0[..5] == [0x01, 0x80, 0xc2, 0x00, 0x00] && self.0[5] <= 0x0f
    }

    /// The all-zero address, which no station may use as a source.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// A station's own address: unicast and not all-zero. Only these are
    /// learned, and only these may be pinned in the FDB.
    pub fn is_station(&self) -> bool {
        !self.is_multicast() && !self.is_zero()
    }

    /// The address as a u64 in its low 48 bits (for compact map keys).
    pub fn to_u64(self) -> u64 {
        let b = self.0;
        u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    /// Inverse of [`MacAddr::to_u64`].
    pub fn from_u64(v: u64) -> MacAddr {
        let b = v.to_be_bytes();
        MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::str::FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in out.iter_mut() {
            let part = parts
                .next()
                .ok_or_else(|| format!("{s:?}: too few octets"))?;
            if part.len() != 2 {
                return Err(format!("{s:?}: octet {part:?} is not two hex digits"));
            }
            *byte =
                u8::from_str_radix(part, 16).map_err(|_| format!("{s:?}: {part:?} is not hex"))?;
        }
        if parts.next().is_some() {
            return Err(format!("{s:?}: too many octets"));
        }
        Ok(MacAddr(out))
    }
}

impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A validated view of an Ethernet frame's header and tags.
#[derive(Debug, Clone, Copy)]
pub struct EthernetFrame<'a> {
    bytes: &'a [u8],
    /// VLAN id of the outer tag (0 when untagged or priority-tagged).
    vlan: u16,
    /// Ethertype after all parsed tags.
    ethertype: u16,
    /// Offset of the network-layer header.
    payload_offset: usize,
}

/// Why a frame's header could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EthernetError {
    /// Shorter than the 14-byte header, or than its VLAN tags.
    #[error("frame shorter than its Ethernet header")]
    Truncated,
}

impl<'a> EthernetFrame<'a> {
    /// Validate the header (and up to two VLAN tags) of `bytes`.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, EthernetError> {
        let mut ethertype = read_u16(bytes, 12).ok_or(EthernetError::Truncated)?;
        let mut offset = HEADER_LEN;
        let mut vlan = None;
        for _ in 0..MAX_TAGS {
            if ethertype != ETHERTYPE_VLAN && ethertype != ETHERTYPE_QINQ {
                break;
            }
            let tci = read_u16(bytes, offset).ok_or(EthernetError::Truncated)?;
            ethertype = read_u16(bytes, offset + 2).ok_or(EthernetError::Truncated)?;
            vlan.get_or_insert(tci & 0x0fff);
            offset += TAG_LEN;
        }
        Ok(EthernetFrame {
            bytes,
            vlan: vlan.unwrap_or(0),
            ethertype,
            payload_offset: offset,
        })
    }

    /// Destination address.
    pub fn dst(&self) -> MacAddr {
        MacAddr(mac_at(self.bytes, 0))
    }

    /// Source address.
    pub fn src(&self) -> MacAddr {
        MacAddr(mac_at(self.bytes, 6))
    }

    /// VLAN id of the outer tag; 0 for untagged and priority-tagged frames.
    pub fn vlan(&self) -> u16 {
        self.vlan
    }

    /// The outer 802.1Q tag's VID if the frame has one (`Some(0)` for a
    /// priority tag), `None` if it is untagged.
    pub fn tag(&self) -> Option<u16> {
        (self.payload_offset > HEADER_LEN).then_some(self.vlan)
    }

    /// Ethertype of the payload, after the VLAN tags.
    pub fn ethertype(&self) -> u16 {
        self.ethertype
    }

    /// The network-layer header and payload.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(self.payload_offset..).unwrap_or(&[])
    }

    /// The whole frame.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// The meaning of an Ethernet header (smoltcp's `Repr`): what
/// [`EthernetRepr::parse`] reads from a frame and [`EthernetRepr::emit`]
/// writes, one 802.1Q tag at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Destination address.
    pub dst: MacAddr,
    /// Source address.
    pub src: MacAddr,
    /// The 802.1Q VLAN id to tag with; `None` is untagged. 0 is a priority tag.
    pub vlan: Option<u16>,
    /// Ethertype of the payload.
    pub ethertype: u16,
}

impl EthernetRepr {
    /// The header of a validated frame (its outer VLAN id, if tagged).
    pub fn parse(frame: &EthernetFrame<'_>) -> Self {
        let tagged = frame.payload_offset > HEADER_LEN;
        EthernetRepr {
            dst: frame.dst(),
            src: frame.src(),
            vlan: tagged.then_some(frame.vlan),
            ethertype: frame.ethertype,
        }
    }

    /// Bytes [`EthernetRepr::emit`] writes.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + if self.vlan.is_some() { TAG_LEN } else { 0 }
    }

    /// Append the header to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.dst.0);
        out.extend_from_slice(&self.src.0);
        if let Some(id) = self.vlan {
            out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            out.extend_from_slice(&(id & 0x0fff).to_be_bytes());
        }
        out.extend_from_slice(&self.ethertype.to_be_bytes());
    }
}

/// Write `frame` into `out` with its outer 802.1Q tag set to `tag`: `None`
/// strips the tag (if any), `Some(vid)` rewrites the VID of the existing tag
/// (keeping its priority bits) or inserts one. Returns the change in length
/// (+4, 0 or -4), which an offload header's offsets must follow, or `None`
/// for a frame too short to have an Ethernet header (nothing written).
pub fn retag_into(frame: &[u8], tag: Option<u16>, out: &mut Vec<u8>) -> Option<isize> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let tagged = eth.tag().is_some();
    out.clear();
    out.extend_from_slice(frame.get(..12)?);
    let rest = if tagged {
        frame.get(16..)?
    } else {
        frame.get(12..)?
    };
    let delta = match (tag, tagged) {
        (None, false) => 0,
        (None, true) => -(TAG_LEN as isize),
        (Some(vid), had) => {
            let pcp = if had {
                read_u16(frame, 14)? & 0xf000
            } else {
                0
            };
            out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
            out.extend_from_slice(&(pcp | (vid & 0x0fff)).to_be_bytes());
            if had {
                0
            } else {
                TAG_LEN as isize
            }
        }
    };
    out.extend_from_slice(rest);
    Some(delta)
}

fn read_u16(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at + 2)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Six bytes at `at`; callers have validated the 14-byte header already.
fn mac_at(bytes: &[u8], at: usize) -> [u8; 6] {
    let mut mac = [0u8; 6];
    if let Some(b) = bytes.get(at..at + 6) {
        mac.copy_from_slice(b);
    }
    mac
}

#[cfg(test)]
mod tests {
    #[test]
    fn retagging_adds_rewrites_and_strips_the_outer_tag() {
        let plain = frame([0xff; 6], [2, 0, 0, 0, 0, 1], &[0x08, 0x06, 1, 2, 3]);
        let mut out = Vec::new();
        assert_eq!(retag_into(&plain, Some(10), &mut out), Some(4));
        let tagged = out.clone();
        let e = EthernetFrame::new_checked(&tagged).unwrap();
        assert_eq!(
            (e.tag(), e.ethertype(), e.payload()),
            (Some(10), ETHERTYPE_ARP, &[1u8, 2, 3][..])
        );
        let mut prio = tagged.clone();
        prio[14] |= 0xa0; // PCP 5
        assert_eq!(retag_into(&prio, Some(20), &mut out), Some(0));
        assert_eq!(
            u16::from_be_bytes([out[14], out[15]]),
            0xa000 | 20,
            "priority kept"
        );
        assert_eq!(retag_into(&tagged, None, &mut out), Some(-4));
        assert_eq!(out, plain);
        assert_eq!(retag_into(&plain, None, &mut out), Some(0));
        assert_eq!(out, plain);
        assert_eq!(retag_into(&plain[..10], Some(1), &mut out), None);
    }

    #[test]
    fn a_repr_round_trips_tagged_and_untagged_headers() {
        for vlan in [None, Some(0), Some(10), Some(4094)] {
            let repr = EthernetRepr {
                dst: MacAddr::BROADCAST,
                src: MacAddr([2, 0, 0, 0, 0, 1]),
                vlan,
                ethertype: ETHERTYPE_ARP,
            };
            let mut out = Vec::new();
            repr.emit(&mut out);
            assert_eq!(out.len(), repr.header_len());
            let frame = EthernetFrame::new_checked(&out).unwrap();
            assert_eq!(EthernetRepr::parse(&frame), repr);
            assert_eq!(frame.payload(), &[] as &[u8]);
        }
    }

    use super::*;

    fn frame(dst: [u8; 6], src: [u8; 6], tail: &[u8]) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&src);
        f.extend_from_slice(tail);
        f
    }

    #[test]
    fn parses_untagged_header() {
        let f = frame([0xff; 6], [2, 0, 0, 0, 0, 1], &[0x08, 0x06, 1, 2]);
        let e = EthernetFrame::new_checked(&f).unwrap();
        assert!(e.dst().is_broadcast());
        assert_eq!(e.src().to_string(), "02:00:00:00:00:01");
        assert_eq!(e.ethertype(), ETHERTYPE_ARP);
        assert_eq!(e.vlan(), 0);
        assert_eq!(e.payload(), &[1, 2]);
    }

    #[test]
    fn parses_single_and_double_tags() {
        let f = frame([1; 6], [2; 6], &[0x81, 0x00, 0x20, 0x0a, 0x08, 0x00, 0x45]);
        let e = EthernetFrame::new_checked(&f).unwrap();
        assert_eq!(
            (e.vlan(), e.ethertype(), e.payload()),
            (10, ETHERTYPE_IPV4, &[0x45][..])
        );
        let q = frame(
            [1; 6],
            [2; 6],
            &[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x05, 0x86, 0xdd],
        );
        let e = EthernetFrame::new_checked(&q).unwrap();
        assert_eq!((e.vlan(), e.ethertype()), (100, ETHERTYPE_IPV6));
    }

    #[test]
    fn short_frames_and_cut_tags_are_truncated() {
        assert_eq!(
            EthernetFrame::new_checked(&[0; 13]).unwrap_err(),
            EthernetError::Truncated
        );
        let f = frame([1; 6], [2; 6], &[0x81, 0x00, 0x00]);
        assert!(EthernetFrame::new_checked(&f).is_err());
    }

    #[test]
    fn reserved_groups_are_the_sixteen_ieee_addresses() {
        let stp: MacAddr = "01:80:c2:00:00:00".parse().unwrap();
        let lacp: MacAddr = "01:80:c2:00:00:02".parse().unwrap();
        let last: MacAddr = "01:80:c2:00:00:0f".parse().unwrap();
        let lldp_like: MacAddr = "01:80:c2:00:00:10".parse().unwrap();
        assert!(stp.is_reserved_link_local() && lacp.is_reserved_link_local());
        assert!(last.is_reserved_link_local());
        assert!(!lldp_like.is_reserved_link_local());
    }

    #[test]
    fn mac_round_trips_through_u64_and_text() {
        let m: MacAddr = "02:ab:cd:ef:01:23".parse().unwrap();
        assert_eq!(MacAddr::from_u64(m.to_u64()), m);
        assert!("02:ab:cd".parse::<MacAddr>().is_err());
        assert!("zz:ab:cd:ef:01:23".parse::<MacAddr>().is_err());
    }
}
