//! The group records of IGMPv3 and MLDv2 reports, and source lists: one walker
//! for both protocols, which differ only in the width of their addresses.

use crate::igmp::repr::{GroupRecord, RecordType};
use crate::packet::WireError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The address width of a protocol: IGMP carries IPv4, MLD IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Width {
    /// 4-byte IPv4 addresses (IGMP).
    V4,
    /// 16-byte IPv6 addresses (MLD).
    V6,
}

impl Width {
    /// Bytes per address.
    pub(super) const fn len(self) -> usize {
        match self {
            Width::V4 => 4,
            Width::V6 => 16,
        }
    }

    /// The address at the start of `bytes`, if they hold one.
    fn addr(self, bytes: &[u8]) -> Option<IpAddr> {
        match self {
            Width::V4 => <[u8; 4]>::try_from(bytes.get(..4)?)
                .ok()
                .map(|a| IpAddr::V4(Ipv4Addr::from(a))),
            Width::V6 => <[u8; 16]>::try_from(bytes.get(..16)?)
                .ok()
                .map(|a| IpAddr::V6(Ipv6Addr::from(a))),
        }
    }

    /// Every whole address in `bytes`, in order.
    pub(super) fn addresses(self, bytes: &[u8]) -> Vec<IpAddr> {
        bytes
            .chunks_exact(self.len())
            .filter_map(|c| self.addr(c))
            .collect()
    }
}

/// Record type, aux data length in 32-bit words, and a 16-bit source count
/// come before the group address (RFC 3376 §4.2.4, RFC 3810 §5.2.4).
const FIXED: usize = 4;

/// Walk `count` group records at the start of `rest`.
///
/// Records of unknown types and records whose group is not multicast are
/// skipped using their own lengths (checklist A12: never lose sync with the
/// records that follow). A count that runs past the end fails the whole
/// report, so a report never applies half of itself.
pub(super) fn parse(
    mut rest: &[u8],
    count: u16,
    width: Width,
) -> Result<Vec<GroupRecord>, WireError> {
    let header = FIXED + width.len();
    // Capacity from what the bytes can hold, not from the claimed count.
    let mut records = Vec::with_capacity(usize::from(count).min(rest.len() / header));
    for _ in 0..count {
        let (fixed, tail) = rest
            .split_first_chunk::<FIXED>()
            .ok_or(WireError::Truncated)?;
        let [kind, aux_words, n_hi, n_lo] = *fixed;
        let (group, tail) = tail
            .split_at_checked(width.len())
            .ok_or(WireError::Truncated)?;
        let num_sources = usize::from(u16::from_be_bytes([n_hi, n_lo]));
        let (sources, tail) = tail
            .split_at_checked(num_sources * width.len())
            .ok_or(WireError::Truncated)?;
        rest = tail
            .get(usize::from(aux_words) * 4..)
            .ok_or(WireError::Truncated)?;
        let (Some(record_type), Some(group)) = (RecordType::from_wire(kind), width.addr(group))
        else {
            continue;
        };
        if !group.is_multicast() {
            continue;
        }
        records.push(GroupRecord {
            record_type,
            group,
            sources: width.addresses(sources),
        });
    }
    Ok(records)
}
