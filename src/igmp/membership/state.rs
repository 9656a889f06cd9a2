//! The membership table as operators see it: a serializable, sorted dump.

use super::FilterMode;
use crate::igmp::repr::Version;
use crate::port::PortId;
use serde::Serialize;
use std::net::IpAddr;

/// One (VLAN, group) in a state dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupState {
    /// VLAN (0 = untagged).
    pub vlan: u16,
    /// Group address.
    pub group: IpAddr,
    /// Ports with state, in port order.
    pub ports: Vec<PortGroupState>,
    /// Copies of the group's data that ports without a member were spared
    /// while the group was registered (one per port per datagram).
    #[serde(skip_serializing_if = "crate::is_zero")]
    pub pruned_copies: u64,
}

/// One port's state for a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortGroupState {
    /// The port.
    pub port: PortId,
    /// INCLUDE or EXCLUDE.
    pub filter_mode: FilterMode,
    /// Group timer left (EXCLUDE only).
    pub group_timer_ms: Option<u64>,
    /// Group compatibility mode: the oldest host version present.
    pub compat: Version,
    /// Source records in address order; `timer_ms` 0 = blocked (EXCLUDE's Y set).
    pub sources: Vec<SourceState>,
}

/// One source record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceState {
    /// Source address.
    pub source: IpAddr,
    /// Source timer left; 0 means blocked.
    pub timer_ms: u64,
}
