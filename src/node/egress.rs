//! Where a port's frames leave: the ids the node gives devices and sockets,
//! and the resolved destinations it hands the driver with each decision.
//!
//! The node never holds a device. It names them ([`TapId`], [`TunnelId`]) and
//! the driver keeps the device or socket under the same index, so a send
//! needs no table lookup beyond an index and no lock.

use crate::packet::ethernet::retag_into;
use crate::port::PortId;
use crate::switch::Retag;
use crate::tunnel::vxlan;
use std::net::SocketAddr;

/// A TAP device slot; the driver opens the device and keeps it at this index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TapId(pub u32);

/// A tunnel listener slot; the driver binds its sockets and keeps them at this index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelId(pub u32);

impl TapId {
    /// As a vector index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl TunnelId {
    /// As a vector index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The bytes a tunnel puts before each frame (the VXLAN header, or nothing
/// for raw frames). Copied into every destination so the driver never asks
/// the tunnel for it while sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EncapHeader {
    bytes: [u8; vxlan::HEADER_LEN],
    len: u8,
}

impl EncapHeader {
    /// No header (raw frames).
    pub const NONE: EncapHeader = EncapHeader {
        bytes: [0; vxlan::HEADER_LEN],
        len: 0,
    };

    /// A VXLAN header for `vni`.
    pub fn vxlan(vni: u32) -> Self {
        EncapHeader {
            bytes: vxlan::header(vni),
            len: vxlan::HEADER_LEN as u8,
        }
    }

    /// The header bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The device behind a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Egress {
    /// A TAP device.
    Tap(TapId),
    /// A peer of a tunnel: send `header` + frame to `remote` from the tunnel's socket.
    Peer {
        /// The tunnel whose socket sends.
        tunnel: TunnelId,
        /// The peer's address.
        remote: SocketAddr,
        /// What goes before the frame.
        header: EncapHeader,
    },
    /// A port the driver serves itself (a replay input).
    Local,
}

/// One egress of a decision: the port (for counters), how to reach it, and
/// what its VLAN mode asks of the frame's 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dest {
    /// The switch port.
    pub port: PortId,
    /// Its device.
    pub to: Egress,
    /// Keep the frame as it came, strip its tag, or tag it.
    pub retag: Retag,
}

impl Dest {
    /// The frame as it must leave through this destination: `frame` itself,
    /// or its re-tagged copy in `buf` (`None` if it is too short to re-tag).
    pub fn frame<'a>(&self, frame: &'a [u8], buf: &'a mut Vec<u8>) -> Option<&'a [u8]> {
        let tag = match self.retag {
            Retag::Keep => return Some(frame),
            Retag::Untag => None,
            Retag::Tag(vid) => Some(vid),
        };
        retag_into(frame, tag, buf)?;
        Some(buf)
    }
}
