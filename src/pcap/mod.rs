//! Capture files: a pcap/pcapng reader, a pcap writer, and the port-name to
//! file-name mapping shared by replay outputs and live captures.
//!
//! Our own small code rather than the `pcap-file` crate: errors here must
//! name the record index and byte offset (pcap-file 2.x reports neither),
//! a truncated or hostile file must never panic or allocate what its
//! headers claim before checking it, and pcap-file 2.x does not validate
//! pcapng packet blocks (that only arrived in its 3.0 release candidates).
//! The formats are small: pcap is a 24-byte header and 16-byte record
//! headers; pcapng needs four block types.

mod name;
pub mod read;
pub mod write;

pub use name::port_file_stem;
pub use read::{PcapReader, ReadError, ReadErrorKind};
pub use write::PcapWriter;

use std::time::Duration;

/// Link type of Ethernet (LINKTYPE_ETHERNET), the only one a switch replays.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Largest record we accept or write: tcpdump's maximum snap length.
/// Anything claiming more is corrupt, and is refused before allocating.
pub const MAX_SNAPLEN: u32 = 262_144;

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Capture time since the Unix epoch.
    pub timestamp: Duration,
    /// The captured bytes (possibly fewer than were on the wire).
    pub data: Vec<u8>,
    /// Length of the frame on the wire.
    pub orig_len: u32,
}

impl Record {
    /// The capture kept fewer bytes than the frame had (caplen < origlen).
    pub fn is_truncated(&self) -> bool {
        (self.data.len() as u64) < u64::from(self.orig_len)
    }
}

/// A readable name for a link type, for error messages.
pub fn linktype_name(linktype: u32) -> &'static str {
    match linktype {
        0 => "BSD loopback",
        1 => "Ethernet",
        101 => "raw IP",
        105 => "802.11",
        113 => "Linux cooked capture (tcpdump -i any)",
        127 => "802.11 radiotap",
        228 => "raw IPv4",
        229 => "raw IPv6",
        276 => "Linux cooked capture v2 (tcpdump -i any)",
        _ => "unknown",
    }
}
