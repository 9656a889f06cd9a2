//! The meaning of IGMP and MLD messages, independent of their encoding.
//!
//! The wire code (`igmp::wire`) parses frames into these types and emits
//! queries from them; the snooping state (`igmp::membership`,
//! `igmp::querier`) consumes and produces only these types. IPv4 and IPv6
//! share one representation: IGMPv3 and MLDv2 have the same semantics
//! (RFC 3376 §6 and RFC 3810 §7), and so do IGMPv2 and MLDv1.

use serde::Serialize;
use std::net::IpAddr;
use std::time::Duration;

/// Address family of a multicast protocol: IGMP for IPv4, MLD for IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4, IGMP.
    V4,
    /// IPv6, MLD.
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// Protocol version of a message, as determined by RFC 3376 §7.1 / RFC 3810 §8.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    /// IGMPv1 (RFC 1112).
    IgmpV1,
    /// IGMPv2 (RFC 2236).
    IgmpV2,
    /// IGMPv3 (RFC 3376 / 9776).
    IgmpV3,
    /// MLDv1 (RFC 2710).
    MldV1,
    /// MLDv2 (RFC 3810 / 9777).
    MldV2,
}

impl Version {
    /// The family this version belongs to.
    pub fn family(self) -> Family {
        match self {
            Version::IgmpV1 | Version::IgmpV2 | Version::IgmpV3 => Family::V4,
            Version::MldV1 | Version::MldV2 => Family::V6,
        }
    }
}

/// IGMPv3 / MLDv2 group record type (RFC 3376 §4.2.12, RFC 3810 §5.2.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordType {
    /// MODE_IS_INCLUDE (1), a current-state record.
    IsInclude,
    /// MODE_IS_EXCLUDE (2), a current-state record.
    IsExclude,
    /// CHANGE_TO_INCLUDE_MODE (3), a filter-mode-change record.
    ToInclude,
    /// CHANGE_TO_EXCLUDE_MODE (4), a filter-mode-change record.
    ToExclude,
    /// ALLOW_NEW_SOURCES (5), a source-list-change record.
    Allow,
    /// BLOCK_OLD_SOURCES (6), a source-list-change record.
    Block,
}

impl RecordType {
    /// Decode the on-wire record type; `None` for unknown types, which are skipped.
    pub fn from_wire(v: u8) -> Option<RecordType> {
        Some(match v {
            1 => RecordType::IsInclude,
            2 => RecordType::IsExclude,
            3 => RecordType::ToInclude,
            4 => RecordType::ToExclude,
            5 => RecordType::Allow,
            6 => RecordType::Block,
            _ => return None,
        })
    }

    /// The on-wire record type.
    pub fn to_wire(self) -> u8 {
        match self {
            RecordType::IsInclude => 1,
            RecordType::IsExclude => 2,
            RecordType::ToInclude => 3,
            RecordType::ToExclude => 4,
            RecordType::Allow => 5,
            RecordType::Block => 6,
        }
    }
}

/// One group record of an IGMPv3 / MLDv2 report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// What the record says.
    pub record_type: RecordType,
    /// The multicast group the record is about.
    pub group: IpAddr,
    /// The record's source list (may be empty).
    pub sources: Vec<IpAddr>,
}

/// A membership query (general, group-specific, or group-and-source-specific):
/// what the wire code parses from a received query and what it encodes for
/// one the querier sends. When sending, `version` is IgmpV2, IgmpV3, MldV1 or
/// MldV2; `source` is 0.0.0.0 for a proxy querier and link-local for MLD;
/// a robustness above 7 is sent as QRV 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Version, by message length (RFC 3376 §7.1, RFC 3810 §8.1).
    pub version: Version,
    /// IP source address of the querier (0.0.0.0 / :: for proxy queriers).
    pub source: IpAddr,
    /// `None` for a general query; the group for a specific query.
    pub group: Option<IpAddr>,
    /// Sources of a group-and-source-specific query (v3/MLDv2 only).
    pub sources: Vec<IpAddr>,
    /// Decoded Max Response Time. For IGMPv1 this is zero.
    pub max_response: Duration,
    /// "Suppress Router-Side Processing" flag (v3/MLDv2 only).
    pub suppress_router_side: bool,
    /// Querier's Robustness Variable (v3/MLDv2 only; 0 = not given).
    pub robustness: u8,
    /// Decoded Querier's Query Interval (v3/MLDv2 only; zero = not given).
    pub query_interval: Duration,
}

/// A parsed IGMP or MLD message that snooping cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A membership query.
    Query(Query),
    /// IGMPv1/v2 or MLDv1 report: a (*,G) join.
    Report {
        /// The report's version.
        version: Version,
        /// The group field of the message (state is keyed on it, never on the IP destination).
        group: IpAddr,
    },
    /// IGMPv2 Leave or MLDv1 Done.
    Leave {
        /// The message's version.
        version: Version,
        /// The group being left.
        group: IpAddr,
    },
    /// IGMPv3 / MLDv2 report with its (known-type) group records.
    ReportV3 {
        /// The report's version (IgmpV3 or MldV2).
        version: Version,
        /// Records with known types, in message order; unknown types were skipped.
        records: Vec<GroupRecord>,
    },
    /// An IGMP/MLD message snooping does not interpret (RFC 4541 §2.1.1(3):
    /// flood it). MRD advertisements are reported separately.
    Other,
    /// A Multicast Router Discovery advertisement (RFC 4286): the port has a router.
    RouterAdvertisement,
}
