//! What kind of multicast a frame is: IGMP/MLD control, IP multicast data, or neither.
//!
//! Only frames with a multicast destination MAC get here. Control messages
//! are parsed and validated (checksums, lengths) so that a bad one is
//! dropped and counted before it can change any state.

use super::DropReason;
use crate::igmp::repr::Message;
use crate::igmp::wire;
use crate::packet::ethernet::{EthernetFrame, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use crate::packet::ipv4::Ipv4Packet;
use crate::packet::ipv6::Ipv6Packet;
use crate::packet::WireError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IP protocol / next header number of PIM (RFC 7761).
const PROTO_PIM: u8 = 103;
/// ALL-PIM-ROUTERS, where PIM hellos go.
const ALL_PIM_ROUTERS_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);
const ALL_PIM_ROUTERS_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xd);

/// The multicast meaning of a frame.
#[derive(Debug)]
pub(crate) enum Class {
    /// A valid IGMP or MLD message, from IP source `src`.
    Control { src: IpAddr, msg: Message },
    /// IP multicast data to `group` from `source`.
    Data { group: IpAddr, source: IpAddr },
    /// A PIM hello: data to a link-local group that also marks a router port.
    PimHello { group: IpAddr, source: IpAddr },
    /// Not IP multicast (or not parseable as IP): bridged as any multicast.
    Other,
}

/// Classify a frame whose destination MAC is multicast.
pub(crate) fn classify(eth: &EthernetFrame<'_>) -> Result<Class, DropReason> {
    match eth.ethertype() {
        ETHERTYPE_IPV4 => classify_v4(eth.payload()),
        ETHERTYPE_IPV6 => classify_v6(eth.payload()),
        _ => Ok(Class::Other),
    }
}

fn classify_v4(l3: &[u8]) -> Result<Class, DropReason> {
    let Ok(ip) = Ipv4Packet::new_checked(l3) else {
        return Ok(Class::Other);
    };
    let (group, source) = (ip.dst(), ip.src());
    if !group.is_multicast() {
        return Ok(Class::Other);
    }
    match wire::parse_ipv4_packet(&ip) {
        Ok(Some(msg)) => Ok(Class::Control {
            src: IpAddr::V4(source),
            msg,
        }),
        Ok(None) if ip.protocol() == PROTO_PIM && group == ALL_PIM_ROUTERS_V4 => {
            Ok(Class::PimHello {
                group: group.into(),
                source: source.into(),
            })
        }
        Ok(None) => Ok(Class::Data {
            group: group.into(),
            source: source.into(),
        }),
        Err(e) => Err(drop_reason(e)),
    }
}

fn classify_v6(l3: &[u8]) -> Result<Class, DropReason> {
    let Ok(ip) = Ipv6Packet::new_checked(l3) else {
        return Ok(Class::Other);
    };
    let (group, source) = (ip.dst(), ip.src());
    if !group.is_multicast() {
        return Ok(Class::Other);
    }
    let data = Class::Data {
        group: group.into(),
        source: source.into(),
    };
    match wire::parse_ipv6_packet(&ip) {
        Ok(Some(msg)) => Ok(Class::Control {
            src: IpAddr::V6(source),
            msg,
        }),
        Ok(None) if ip.next_header() == PROTO_PIM && group == ALL_PIM_ROUTERS_V6 => {
            Ok(Class::PimHello {
                group: group.into(),
                source: source.into(),
            })
        }
        Ok(None) => Ok(data),
        // A fragment behind a Hop-by-Hop header is not MLD we can read; forward it as data.
        Err(WireError::Fragment) => Ok(data),
        Err(e) => Err(drop_reason(e)),
    }
}

fn drop_reason(e: WireError) -> DropReason {
    match e {
        WireError::BadIpChecksum => DropReason::BadIpChecksum,
        WireError::BadIgmpChecksum => DropReason::BadIgmpChecksum,
        WireError::BadIcmpv6Checksum => DropReason::BadIcmpv6Checksum,
        WireError::MldSourceNotLinkLocal => DropReason::InvalidQuerySource,
        WireError::BadIpVersion | WireError::BadIpHeaderLength => DropReason::BadIpHeader,
        WireError::Truncated
        | WireError::BadLength
        | WireError::Malformed
        | WireError::NotMulticastGroup
        | WireError::Fragment => DropReason::MalformedControl,
    }
}
