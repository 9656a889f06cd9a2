//! Snooping configuration: the switch-wide [`SnoopConfig`] (RFC 3376 §8 /
//! RFC 3810 §9 timers and counts, querier mode and addresses, table limits),
//! the per-port [`PortSnoopConfig`], their validation, and [`Timers`], the
//! effective timer set derived from the configuration (and from values
//! adopted from a foreign querier, RFC 3376 §4.1.6–4.1.7).
//!
//! Durations are written as human strings ("125s", "1s", "31s 250ms") through
//! [`crate::duration`].

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;
use thiserror::Error;

/// Whether the switch sends queries itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuerierMode {
    /// Take part in the querier election (RFC 3376 §6.6.2): query until a
    /// query from a better (lower) address is heard.
    #[default]
    Auto,
    /// Always query, never yield to another querier.
    On,
    /// Never query; only listen to other queriers.
    Off,
}

/// Whether a port is a multicast-router port (RFC 4541 §2.1.1(1)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouterPortMode {
    /// Learned from queries, PIM hellos and MRD advertisements; ages out.
    #[default]
    Auto,
    /// Always a router port, in every VLAN.
    Always,
    /// Never a router port, whatever arrives on it.
    Never,
}

/// Switch-wide snooping and querier settings. Defaults are the RFC defaults
/// (checklist table H).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnoopConfig {
    /// Snoop at all. When false every multicast frame and control message is flooded.
    pub enabled: bool,
    /// Querier behaviour.
    pub querier: QuerierMode,
    /// Source of our IGMP queries and our address in the election. `None`
    /// queries from 0.0.0.0, which yields to any real querier (RFC 4541 §2.1.1(1b)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub querier_address_v4: Option<Ipv4Addr>,
    /// Source of our MLD queries; must be link-local (RFC 3810 §5.1.14).
    /// `None` uses the link-local address the caller generated for the switch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub querier_address_v6: Option<Ipv6Addr>,
    /// IGMP version of our queries and of the membership model: 3 tracks
    /// sources, 2 keeps (*,G) state only (RFC 4541 §2.1.1, IGMPv3 note).
    pub igmp_version: u8,
    /// MLD version: 2 tracks sources, 1 keeps (*,G) state only.
    pub mld_version: u8,
    /// Robustness Variable (RFC 3376 §8.1).
    pub robustness: u8,
    /// Query Interval (RFC 3376 §8.2).
    #[serde(with = "crate::duration")]
    pub query_interval: Duration,
    /// Query Response Interval, the Max Response Time of general queries (RFC 3376 §8.3).
    #[serde(with = "crate::duration")]
    pub query_response_interval: Duration,
    /// Startup Query Interval; `None` = query_interval / 4 (RFC 3376 §8.6).
    #[serde(
        with = "crate::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub startup_query_interval: Option<Duration>,
    /// Startup Query Count; `None` = robustness (RFC 3376 §8.7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_query_count: Option<u32>,
    /// Last Member Query Interval (RFC 3376 §8.8).
    #[serde(with = "crate::duration")]
    pub last_member_query_interval: Duration,
    /// Last Member Query Count; `None` = robustness (RFC 3376 §8.9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_member_query_count: Option<u32>,
    /// Other Querier Present Interval, also the router-port timeout;
    /// `None` = robustness × query_interval + query_response_interval / 2 (RFC 3376 §8.5).
    #[serde(
        with = "crate::duration::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub other_querier_present_interval: Option<Duration>,
    /// Most (VLAN, group) entries in the table. Further new groups are refused and counted.
    pub max_groups: usize,
    /// Most groups one port may join (a port's own `max_groups` overrides it).
    pub max_groups_per_port: usize,
    /// Most source records per (port, group).
    pub max_sources_per_group: usize,
}

impl Default for SnoopConfig {
    fn default() -> Self {
        SnoopConfig {
            enabled: true,
            querier: QuerierMode::Auto,
            querier_address_v4: None,
            querier_address_v6: None,
            igmp_version: 3,
            mld_version: 2,
            robustness: 2,
            query_interval: Duration::from_secs(125),
            query_response_interval: Duration::from_secs(10),
            startup_query_interval: None,
            startup_query_count: None,
            last_member_query_interval: Duration::from_secs(1),
            last_member_query_count: None,
            other_querier_present_interval: None,
            max_groups: 4096,
            max_groups_per_port: 1024,
            max_sources_per_group: 64,
        }
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid snooping setting `{field}`: {reason}")]
pub struct ConfigError {
    /// The offending field, as spelled in the configuration file.
    pub field: &'static str,
    /// Why it is rejected.
    pub reason: String,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        reason: reason.into(),
    }
}

/// Largest Max Response Time an IGMPv2 query can carry (255 × 0.1 s).
const IGMPV2_MAX_RESPONSE: Duration = Duration::from_millis(25_500);
/// Largest Max Response Time an IGMPv3 query can carry (code 0xff: 31744 × 0.1 s).
const IGMPV3_MAX_RESPONSE: Duration = Duration::from_millis(3_174_400);
/// Largest Maximum Response Delay an MLDv1 query can carry (65535 ms).
const MLDV1_MAX_RESPONSE: Duration = Duration::from_millis(65_535);
/// Largest Maximum Response Delay an MLDv2 query can carry (code 0xffff: 8387584 ms).
const MLDV2_MAX_RESPONSE: Duration = Duration::from_millis(8_387_584);
/// Largest Querier's Query Interval a v3 query can carry (QQIC 0xff: 31744 s).
const MAX_QUERY_INTERVAL: Duration = Duration::from_secs(31_744);

impl SnoopConfig {
    /// Check every setting; the error names the first bad field and why.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.igmp_version, 2 | 3) {
            return Err(invalid("igmp_version", "must be 2 or 3"));
        }
        if !matches!(self.mld_version, 1 | 2) {
            return Err(invalid("mld_version", "must be 1 or 2"));
        }
        if self.robustness == 0 {
            return Err(invalid("robustness", "must not be 0 (RFC 3376 §8.1)"));
        }
        if self.query_interval.is_zero() {
            return Err(invalid("query_interval", "must be longer than zero"));
        }
        if self.query_interval > MAX_QUERY_INTERVAL {
            return Err(invalid(
                "query_interval",
                "must be at most 31744s (QQIC limit)",
            ));
        }
        let max_response = self.max_encodable_response();
        for (field, value) in [
            ("query_response_interval", self.query_response_interval),
            (
                "last_member_query_interval",
                self.last_member_query_interval,
            ),
        ] {
            if value.is_zero() {
                return Err(invalid(field, "must be longer than zero"));
            }
            if value > max_response {
                return Err(invalid(
                    field,
                    format!(
                        "must be at most {} with igmp_version {} and mld_version {} (Max Response Code limit)",
                        humantime::format_duration(max_response),
                        self.igmp_version,
                        self.mld_version
                    ),
                ));
            }
        }
        if self.query_response_interval >= self.query_interval {
            return Err(invalid(
                "query_response_interval",
                "must be shorter than query_interval (RFC 3376 §8.3)",
            ));
        }
        if self.startup_query_interval.is_some_and(|d| d.is_zero()) {
            return Err(invalid(
                "startup_query_interval",
                "must be longer than zero",
            ));
        }
        if self.startup_query_count == Some(0) {
            return Err(invalid("startup_query_count", "must be at least 1"));
        }
        if self.last_member_query_count == Some(0) {
            return Err(invalid(
                "last_member_query_count",
                "must be at least 1 (use a port's fast_leave for immediate leaves)",
            ));
        }
        if let Some(oqpi) = self.other_querier_present_interval {
            if oqpi <= self.query_interval {
                return Err(invalid(
                    "other_querier_present_interval",
                    "must be longer than query_interval, or two queriers would alternate",
                ));
            }
        }
        if let Some(a) = self.querier_address_v4 {
            if a.is_multicast() || a.is_broadcast() {
                return Err(invalid(
                    "querier_address_v4",
                    "must be a unicast address or 0.0.0.0",
                ));
            }
        }
        if let Some(a) = self.querier_address_v6 {
            if !is_link_local_v6(&a) {
                return Err(invalid(
                    "querier_address_v6",
                    "must be a link-local (fe80::/10) address (RFC 3810 §5.1.14)",
                ));
            }
        }
        for (field, value) in [
            ("max_groups", self.max_groups),
            ("max_groups_per_port", self.max_groups_per_port),
            ("max_sources_per_group", self.max_sources_per_group),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        Ok(())
    }

    /// The smaller of the longest Max Response Times our IGMP and MLD queries can encode.
    fn max_encodable_response(&self) -> Duration {
        let igmp = if self.igmp_version == 2 {
            IGMPV2_MAX_RESPONSE
        } else {
            IGMPV3_MAX_RESPONSE
        };
        let mld = if self.mld_version == 1 {
            MLDV1_MAX_RESPONSE
        } else {
            MLDV2_MAX_RESPONSE
        };
        igmp.min(mld)
    }

    /// The timers as configured, with nothing adopted from another querier.
    pub fn timers(&self) -> Timers {
        self.timers_with(None, None)
    }

    /// The timers with a Robustness Variable and Query Interval adopted from
    /// the elected querier's QRV and QQIC (RFC 3376 §4.1.6–4.1.7). Values
    /// derived from them (GMI, OQPI, counts left at their defaults) follow.
    pub fn timers_with(&self, robustness: Option<u8>, query_interval: Option<Duration>) -> Timers {
        let rv = robustness.unwrap_or(self.robustness);
        let qi = query_interval.unwrap_or(self.query_interval);
        let qri = self.query_response_interval;
        let rv_times_qi = qi.saturating_mul(u32::from(rv));
        let gmi = rv_times_qi.saturating_add(qri);
        Timers {
            robustness: rv,
            query_interval: qi,
            query_response_interval: qri,
            startup_query_interval: self.startup_query_interval.unwrap_or(qi / 4),
            startup_query_count: self.startup_query_count.unwrap_or(u32::from(rv)),
            last_member_query_interval: self.last_member_query_interval,
            last_member_query_count: self.last_member_query_count.unwrap_or(u32::from(rv)),
            other_querier_present_interval: self
                .other_querier_present_interval
                .unwrap_or(rv_times_qi.saturating_add(qri / 2)),
            group_membership_interval: gmi,
            older_host_present_interval: gmi,
        }
    }
}

/// The effective timers of one (VLAN, family): configuration plus adopted values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timers {
    /// Robustness Variable.
    pub robustness: u8,
    /// Query Interval.
    pub query_interval: Duration,
    /// Query Response Interval.
    pub query_response_interval: Duration,
    /// Startup Query Interval.
    pub startup_query_interval: Duration,
    /// Startup Query Count.
    pub startup_query_count: u32,
    /// Last Member Query Interval.
    pub last_member_query_interval: Duration,
    /// Last Member Query Count.
    pub last_member_query_count: u32,
    /// Other Querier Present Interval (also the router-port timeout).
    pub other_querier_present_interval: Duration,
    /// Group Membership Interval (RV × QI + QRI).
    pub group_membership_interval: Duration,
    /// Older Host Present Interval (RV × QI + QRI).
    pub older_host_present_interval: Duration,
}

impl Timers {
    /// Last Member Query Time: LMQI × LMQC (RFC 3376 §8.10).
    pub fn last_member_query_time(&self) -> Duration {
        self.last_member_query_interval
            .saturating_mul(self.last_member_query_count)
    }

    /// The QRV field for our queries: the Robustness Variable, or 0 if it exceeds 7 (RFC 3376 §4.1.6).
    pub fn qrv(&self) -> u8 {
        if self.robustness > 7 {
            0
        } else {
            self.robustness
        }
    }
}

/// Per-port snooping settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortSnoopConfig {
    /// Multicast-router port: learned, forced on, or forced off.
    pub mrouter: RouterPortMode,
    /// Act on leaves at once, without group-specific queries: for ports with
    /// a single host behind them.
    pub fast_leave: bool,
    /// Unregistered multicast (no group state in the VLAN) to this port:
    /// `None` (default): only while no querier is known (the flooding
    /// fallback), or if it is a router port; `Some(true)`: always, also once
    /// snooping prunes (RFC 4541 §2.1.2(3) knob); `Some(false)`: never, not
    /// even in the flooding fallback; the port still gets the groups it
    /// joined and, if it is a router port, everything router ports get.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flood_unregistered: Option<bool>,
    /// Also send membership reports and leaves to this port, not only to
    /// router ports (RFC 4541 §2.1.1(1) administrative override).
    pub flood_reports: bool,
    /// Most groups this port may join; `None` = the switch's `max_groups_per_port`;
    /// `Some(0)` refuses every join on the port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_groups: Option<usize>,
}

/// Whether an IPv6 address is link-local unicast (fe80::/10).
pub fn is_link_local_v6(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h_defaults_are_the_rfc_defaults() {
        let cfg = SnoopConfig::default();
        assert!(cfg.validate().is_ok());
        let t = cfg.timers();
        assert_eq!(t.robustness, 2);
        assert_eq!(t.query_interval, Duration::from_secs(125));
        assert_eq!(t.query_response_interval, Duration::from_secs(10));
        assert_eq!(t.group_membership_interval, Duration::from_secs(260));
        assert_eq!(t.other_querier_present_interval, Duration::from_secs(255));
        assert_eq!(t.startup_query_interval, Duration::from_millis(31_250));
        assert_eq!(t.startup_query_count, 2);
        assert_eq!(t.last_member_query_interval, Duration::from_secs(1));
        assert_eq!(t.last_member_query_count, 2);
        assert_eq!(t.last_member_query_time(), Duration::from_secs(2));
        assert_eq!(t.older_host_present_interval, Duration::from_secs(260));
        assert_eq!(t.qrv(), 2);
        assert_eq!(cfg.max_groups, 4096);
        assert_eq!(cfg.max_groups_per_port, 1024);
        assert_eq!(cfg.max_sources_per_group, 64);
    }

    #[test]
    fn e10_adopted_values_recompute_derived_timers() {
        let cfg = SnoopConfig::default();
        let t = cfg.timers_with(Some(3), Some(Duration::from_secs(60)));
        assert_eq!(t.group_membership_interval, Duration::from_secs(190));
        assert_eq!(t.other_querier_present_interval, Duration::from_secs(185));
        assert_eq!(t.last_member_query_count, 3);
        // An explicitly configured count is kept.
        let cfg = SnoopConfig {
            last_member_query_count: Some(5),
            ..SnoopConfig::default()
        };
        assert_eq!(cfg.timers_with(Some(3), None).last_member_query_count, 5);
    }

    #[test]
    fn config_parses_human_durations_and_defaults_the_rest() {
        let cfg: SnoopConfig = toml::from_str(
            r#"
            querier = "off"
            query_interval = "60s"
            last_member_query_interval = "500ms"
            startup_query_interval = "2s"
            igmp_version = 2
            "#,
        )
        .expect("valid config");
        assert_eq!(cfg.querier, QuerierMode::Off);
        assert_eq!(cfg.query_interval, Duration::from_secs(60));
        assert_eq!(cfg.last_member_query_interval, Duration::from_millis(500));
        assert_eq!(cfg.startup_query_interval, Some(Duration::from_secs(2)));
        assert_eq!(cfg.igmp_version, 2);
        assert_eq!(cfg.robustness, 2);
        assert!(cfg.validate().is_ok());
        // Round trip through the serializer.
        let text = toml::to_string(&cfg).expect("serializes");
        let back: SnoopConfig = toml::from_str(&text).expect("parses back");
        assert_eq!(back, cfg);
    }

    #[test]
    fn config_rejects_unknown_fields_and_bad_durations() {
        assert!(toml::from_str::<SnoopConfig>("query_intervall = \"1s\"").is_err());
        assert!(toml::from_str::<SnoopConfig>("query_interval = \"soon\"").is_err());
        assert!(toml::from_str::<SnoopConfig>("query_interval = 125").is_err());
        let port: PortSnoopConfig =
            toml::from_str("mrouter = \"always\"\nfast_leave = true\nflood_unregistered = false")
                .expect("valid port config");
        assert_eq!(port.mrouter, RouterPortMode::Always);
        assert!(port.fast_leave);
        assert_eq!(port.flood_unregistered, Some(false));
        assert!(toml::from_str::<PortSnoopConfig>("mrouter = \"sometimes\"").is_err());
    }

    #[test]
    fn g6_validate_names_the_field_and_reason() {
        let cases: Vec<(SnoopConfig, &str)> = vec![
            (
                SnoopConfig {
                    query_response_interval: Duration::from_secs(125),
                    ..SnoopConfig::default()
                },
                "query_response_interval",
            ),
            (
                SnoopConfig {
                    robustness: 0,
                    ..SnoopConfig::default()
                },
                "robustness",
            ),
            (
                SnoopConfig {
                    igmp_version: 1,
                    ..SnoopConfig::default()
                },
                "igmp_version",
            ),
            (
                SnoopConfig {
                    mld_version: 3,
                    ..SnoopConfig::default()
                },
                "mld_version",
            ),
            (
                SnoopConfig {
                    igmp_version: 2,
                    query_response_interval: Duration::from_secs(30),
                    ..SnoopConfig::default()
                },
                "query_response_interval",
            ),
            (
                SnoopConfig {
                    querier_address_v6: Some("2001:db8::1".parse().expect("addr")),
                    ..SnoopConfig::default()
                },
                "querier_address_v6",
            ),
            (
                SnoopConfig {
                    querier_address_v4: Some(Ipv4Addr::new(224, 0, 0, 1)),
                    ..SnoopConfig::default()
                },
                "querier_address_v4",
            ),
            (
                SnoopConfig {
                    last_member_query_count: Some(0),
                    ..SnoopConfig::default()
                },
                "last_member_query_count",
            ),
            (
                SnoopConfig {
                    other_querier_present_interval: Some(Duration::from_secs(100)),
                    ..SnoopConfig::default()
                },
                "other_querier_present_interval",
            ),
            (
                SnoopConfig {
                    max_groups: 0,
                    ..SnoopConfig::default()
                },
                "max_groups",
            ),
        ];
        for (cfg, field) in cases {
            let err = cfg.validate().expect_err(field);
            assert_eq!(err.field, field);
            assert!(err.to_string().contains(field), "{err}");
        }
        let ok = SnoopConfig {
            querier_address_v6: Some("fe80::1".parse().expect("addr")),
            querier_address_v4: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ..SnoopConfig::default()
        };
        assert_eq!(ok.validate(), Ok(()));
    }
}
