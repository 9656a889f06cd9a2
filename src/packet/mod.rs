//! Zero-copy, validated views over frame bytes. Nothing here allocates or panics.
//!
//! Each view's `new_checked()` validates lengths once, at the edge; after
//! that every accessor is infallible. [`WireError`] is shared by these views
//! and by the IGMP/MLD parser in `igmp::wire`, so that one enum names every
//! reason a control packet can be refused.

pub mod checksum;
pub mod ethernet;
pub mod gso;
pub mod ipv4;
pub mod ipv6;
pub mod udp;
pub mod virtio;

/// Why a packet could not be used. The switch counts these under its own
/// drop reasons (`switch::DropReason`), which carry the stable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
pub enum WireError {
    /// The buffer ends before a header or a length field says it should.
    #[error("packet truncated")]
    Truncated,
    /// IP version nibble is not the one of the ethertype (4 or 6).
    #[error("bad IP version")]
    BadIpVersion,
    /// IPv4 IHL below 5, or a total length shorter than the header.
    #[error("bad IP header length")]
    BadIpHeaderLength,
    /// IPv4 header checksum does not verify (RFC 4541 §2.1.1(5)).
    #[error("bad IPv4 header checksum")]
    BadIpChecksum,
    /// IGMP checksum over the whole message does not verify (RFC 3376 §4.1.2).
    #[error("bad IGMP checksum")]
    BadIgmpChecksum,
    /// ICMPv6 checksum with pseudo-header does not verify (RFC 4443 §2.3).
    #[error("bad ICMPv6 checksum")]
    BadIcmpv6Checksum,
    /// A message length the protocol says to ignore, e.g. an IGMP query of
    /// 9–11 octets (RFC 3376 §7.1) or an MLD query of 25–27 (RFC 3810 §8.1).
    #[error("bad message length")]
    BadLength,
    /// Structurally invalid: bad option or extension-header encoding, too
    /// many extension headers.
    #[error("malformed packet")]
    Malformed,
    /// MLD query whose IPv6 source is not link-local (RFC 3810 §5.1.14).
    #[error("MLD query source is not link-local")]
    MldSourceNotLinkLocal,
    /// A report, leave or specific query names a group that is not multicast.
    #[error("group address is not multicast")]
    NotMulticastGroup,
    /// IP fragment: control messages are never fragmented, and a fragment
    /// cannot be interpreted on its own.
    #[error("IP fragment")]
    Fragment,
}
