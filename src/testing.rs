//! Builders shared by the unit tests of several modules.

use crate::packet::checksum::checksum;
use crate::packet::ipv4::Ipv4Repr;
use std::net::Ipv4Addr;

/// A minimal IPv4-typed Ethernet frame from `src` to `dst` (60 bytes).
pub(crate) fn frame(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[0u8; 46]);
    f
}

/// The source MAC of the IPv4 frames built here.
pub(crate) const H0: [u8; 6] = [2, 0, 0, 0, 0, 0x10];

pub(crate) fn ipv4_frame(
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = dst_mac.to_vec();
    f.extend_from_slice(&H0);
    f.extend_from_slice(&[0x08, 0x00]);
    Ipv4Repr {
        src,
        dst,
        protocol,
        ttl: 1,
        tos: 0xc0,
        dont_fragment: false,
        router_alert: protocol == 2,
        payload_len: payload.len() as u16,
    }
    .emit(&mut f);
    f.extend_from_slice(payload);
    f
}

pub(crate) fn mac_of(group: Ipv4Addr) -> [u8; 6] {
    let o = group.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

/// An IGMPv2 membership report for `group`, with a correct checksum unless `corrupt`.
pub(crate) fn v2_report(group: Ipv4Addr, corrupt: bool) -> Vec<u8> {
    let mut igmp = vec![0x16, 100, 0, 0];
    igmp.extend_from_slice(&group.octets());
    let c = checksum(&igmp) ^ if corrupt { 1 } else { 0 };
    igmp[2..4].copy_from_slice(&c.to_be_bytes());
    ipv4_frame(mac_of(group), Ipv4Addr::new(10, 0, 0, 1), group, 2, &igmp)
}

/// Multicast UDP data to `group` from 10.0.0.9.
pub(crate) fn udp_to(group: Ipv4Addr) -> Vec<u8> {
    ipv4_frame(
        mac_of(group),
        Ipv4Addr::new(10, 0, 0, 9),
        group,
        17,
        &[0u8; 16],
    )
}
