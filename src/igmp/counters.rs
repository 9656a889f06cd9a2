//! Snooping counters: messages per version, refused state, ignored messages
//! by reason, and warn-worthy querier conditions. The snooper only counts;
//! the caller decides what to log.

use super::repr::Version;
use serde::Serialize;

/// All snooping counters; serialized as-is in `show` output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SnoopCounters {
    /// Membership reports received (v1/v2/MLDv1 reports and v3/MLDv2 reports).
    pub reports: PerVersion,
    /// IGMPv2 leaves / MLDv1 dones received.
    pub leaves: PerVersion,
    /// Queries received.
    pub queries_received: PerVersion,
    /// Queries handed out by `poll_query`.
    pub queries_sent: PerVersion,
    /// State the table refused to create because a limit was reached.
    pub refused: Refused,
    /// Messages (or records) ignored, by reason.
    pub ignored: Ignored,
    /// Queries of an older version than ours heard (RFC 3376 §7.3.1: the
    /// querier version must be lowered by hand; warn).
    pub older_version_querier: u64,
    /// Queries of a newer version than ours heard: our queries would inject
    /// an older version into a newer network (RFC 4541 §2.1.1(4); warn).
    pub newer_version_querier: u64,
    /// Queries dropped because `poll_query` was not drained.
    pub queries_dropped: u64,
}

/// One counter per protocol version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PerVersion {
    /// IGMPv1.
    pub igmp_v1: u64,
    /// IGMPv2.
    pub igmp_v2: u64,
    /// IGMPv3.
    pub igmp_v3: u64,
    /// MLDv1.
    pub mld_v1: u64,
    /// MLDv2.
    pub mld_v2: u64,
}

impl PerVersion {
    /// Count one message of `version`.
    pub fn bump(&mut self, version: Version) {
        let c = match version {
            Version::IgmpV1 => &mut self.igmp_v1,
            Version::IgmpV2 => &mut self.igmp_v2,
            Version::IgmpV3 => &mut self.igmp_v3,
            Version::MldV1 => &mut self.mld_v1,
            Version::MldV2 => &mut self.mld_v2,
        };
        *c = c.saturating_add(1);
    }

    /// The count for `version`.
    pub fn get(&self, version: Version) -> u64 {
        match version {
            Version::IgmpV1 => self.igmp_v1,
            Version::IgmpV2 => self.igmp_v2,
            Version::IgmpV3 => self.igmp_v3,
            Version::MldV1 => self.mld_v1,
            Version::MldV2 => self.mld_v2,
        }
    }
}

/// Joins and sources refused because the table is full (checklist I3).
/// Existing state keeps working; snooping is never turned off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Refused {
    /// A new group refused: `max_groups` (VLAN, group) entries exist.
    pub table_full: u64,
    /// A new group refused on a port that has joined its maximum.
    pub port_full: u64,
    /// A new source record refused: `max_sources_per_group` reached.
    pub sources: u64,
}

/// Messages or records that changed nothing, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ignored {
    /// Reports for groups that are always flooded (224.0.0.0/24, ff02::1, scopes 0/1).
    pub unsnooped_group: u64,
    /// Group not multicast, or not of the message's family.
    pub invalid_group: u64,
    /// Query whose source is of the wrong family.
    pub invalid_source: u64,
    /// MLD query from a non-link-local source, :: included (RFC 3810 §5.1.14).
    pub mld_query_not_link_local: u64,
    /// Leave while an IGMPv1 host is present for the group (RFC 3376 §7.3.2).
    pub leave_v1_host_present: u64,
    /// Leave while another router is the querier (RFC 2236 §3: it will query).
    pub leave_non_querier: u64,
    /// BLOCK record in IGMPv1/v2 / MLDv1 compatibility mode (RFC 3376 §7.3.2).
    pub block_in_compat_mode: u64,
    /// BLOCK record while we run IGMPv2 / MLDv1, (*,G) state only.
    pub block_without_sources: u64,
    /// Router evidence (query, PIM hello, MRD) on a port set to `mrouter = never`.
    pub router_on_never_port: u64,
}

/// Add one to a counter without overflowing.
pub(crate) fn bump(c: &mut u64) {
    *c = c.saturating_add(1);
}
