//! Why a frame was not forwarded: one counter per reason, per port.

use serde::ser::SerializeMap;
use serde::Serialize;

macro_rules! drop_reasons {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// Every reason the switch drops a frame. Each has a stable snake_case
        /// name, used as a JSON key and a metric label.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DropReason {
            $(#[doc = $doc] $variant,)*
        }

        impl DropReason {
            /// All reasons, in counter order.
            pub const ALL: &'static [DropReason] = &[$(DropReason::$variant,)*];

            /// The stable name of the reason.
            pub fn name(self) -> &'static str {
                match self {
                    $(DropReason::$variant => $name,)*
                }
            }
        }
    };
}

drop_reasons! {
    TooShort => "too_short", "Shorter than an Ethernet header (14 bytes, plus any VLAN tags).";
    InvalidSource => "invalid_source", "Source MAC is multicast, broadcast or all-zero.";
    ReservedGroup => "reserved_group", "Destination is an IEEE 802.1D reserved group 01:80:c2:00:00:0x.";
    SameSegment => "same_segment", "Destination lives behind the ingress port itself.";
    PortDown => "port_down", "Arrived on a port that is down or gone.";
    NoEgress => "no_egress", "No other port to send it to.";
    BadIpHeader => "bad_ip_header", "IGMP/MLD packet with a malformed IP header or extension headers.";
    BadIpChecksum => "bad_ip_checksum", "IGMP packet whose IPv4 header checksum is wrong.";
    BadIgmpChecksum => "bad_igmp_checksum", "IGMP message whose checksum is wrong.";
    BadIcmpv6Checksum => "bad_icmpv6_checksum", "MLD message whose ICMPv6 checksum is wrong.";
    MalformedControl => "malformed_control", "IGMP/MLD message that is truncated or inconsistent.";
    InvalidQuerySource => "invalid_query_source", "MLD query from a source that is not link-local.";
    Pruned => "pruned", "Multicast with no receiver behind any other port.";
    VlanTaggedOnAccess => "vlan_tagged_on_access", "An 802.1Q-tagged frame on an access port.";
    VlanNotAllowed => "vlan_not_allowed", "A tagged frame whose VLAN the trunk does not carry.";
    VlanUntaggedOnTrunk => "vlan_untagged_on_trunk", "An untagged frame on a trunk with no native VLAN.";
    TxError => "tx_error", "The egress device or socket refused the frame.";
    TxTooBig => "tx_too_big", "Larger than the egress tunnel can carry.";
    BadOffload => "bad_offload", "An offloaded (GSO or partial-checksum) frame that could not be completed for its egress.";
}

/// Drop counters for one port, indexed by [`DropReason`].
#[derive(Debug, Clone, Default)]
pub struct DropCounts([u64; DropReason::ALL.len()]);

impl DropCounts {
    /// Count one drop.
    #[inline]
    pub fn add(&mut self, reason: DropReason) {
        self.0[reason as usize] += 1;
    }

    /// The count for one reason.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason as usize]
    }

    /// Sum over all reasons.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// (reason, count) pairs, all reasons, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL.iter().map(move |r| (*r, self.get(*r)))
    }
}

impl Serialize for DropCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(DropReason::ALL.len()))?;
        for (reason, count) in self.iter() {
            map.serialize_entry(reason.name(), &count)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_counts_add_up() {
        let mut names: Vec<_> = DropReason::ALL.iter().map(|r| r.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DropReason::ALL.len());
        let mut c = DropCounts::default();
        c.add(DropReason::TooShort);
        c.add(DropReason::TooShort);
        c.add(DropReason::Pruned);
        assert_eq!((c.get(DropReason::TooShort), c.total()), (2, 3));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["too_short"], 2);
    }
}
