//! What serde cannot check: unique names, limits, and references between
//! sections. Each section has its own check; each failure names the field
//! (a dotted path such as `tap[1].name`) and the reason.

use super::{Config, StaticFdbEntry, StaticMdbEntry, TapConfig, VlanModeName, MAX_WORKERS};
use crate::switch::vlan::MAX_VID;
use crate::tunnel::config::{Encap, ListenerConfig, PeerConfig};
use std::collections::HashSet;

/// A field at fault, and why.
pub type Invalid = (String, String);

/// Linux limits interface names to IFNAMSIZ - 1 bytes.
const MAX_IFNAME: usize = 15;
/// Smallest capture file limit: one maximal TAP frame fits.
const MIN_CAPTURE_BYTES: u64 = 128 << 10;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Invalid {
    (field.into(), reason.into())
}

impl Config {
    /// Check what serde cannot: unique names, limits, references between sections.
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Err(e) = self.multicast.validate() {
            return Err(invalid(format!("multicast.{}", e.field), e.reason));
        }
        if let Some(n) = self.workers.filter(|n| !(1..=MAX_WORKERS).contains(n)) {
            return Err(invalid(
                "workers",
                format!("{n}: must be between 1 and {MAX_WORKERS}"),
            ));
        }
        if self.mac.is_some_and(|m| !m.is_station()) {
            return Err(invalid("mac", "must be a unicast, non-zero MAC"));
        }
        if self.fdb.ageing_time.is_zero() {
            return Err(invalid("fdb.ageing_time", "must be greater than zero"));
        }
        let mut seen = HashSet::new();
        for (i, seg) in self.segments.iter().enumerate() {
            if seg.vlan > MAX_VID || !seen.insert(seg.vlan) {
                return Err(invalid(
                    format!("segment[{i}].vlan"),
                    format!("{}: a VLAN id (0 to 4094) given once", seg.vlan),
                ));
            }
            if let Err(e) = seg.apply(&self.multicast).validate() {
                return Err(invalid(format!("segment[{i}].{}", e.field), e.reason));
            }
        }
        let taps = taps(&self.taps)?;
        listeners(&self.listeners)?;
        peers(&self.peers, &self.listeners)?;
        static_fdb(&self.static_fdb, &taps)?;
        static_mdb(&self.static_mdb, &taps)?;
        if let Some(c) = &self.capture {
            if c.max_files == 0 {
                return Err(invalid("capture.max_files", "must be at least 1"));
            }
            if c.max_bytes < MIN_CAPTURE_BYTES {
                return Err(invalid(
                    "capture.max_bytes",
                    format!(
                        "{} is below the minimum of {MIN_CAPTURE_BYTES}",
                        c.max_bytes
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// TAP names: valid interface names, unique. Returns them.
fn taps(taps: &[TapConfig]) -> Result<HashSet<&str>, Invalid> {
    let mut names = HashSet::new();
    for (i, tap) in taps.iter().enumerate() {
        let field = format!("tap[{i}].name");
        if tap.name.is_empty() || tap.name.len() > MAX_IFNAME {
            return Err(invalid(
                field,
                format!("{:?}: must be 1 to {MAX_IFNAME} bytes", tap.name),
            ));
        }
        if tap.name.contains(['/', ' ', '\0']) {
            return Err(invalid(
                field,
                format!("{:?}: not a valid interface name", tap.name),
            ));
        }
        if tap.mtu.is_some_and(|m| !(68..=65_535).contains(&m)) {
            return Err(invalid(
                format!("tap[{i}].mtu"),
                "must be between 68 and 65535",
            ));
        }
        if !names.insert(tap.name.as_str()) {
            return Err(invalid(
                field,
                format!("duplicate port name {:?}", tap.name),
            ));
        }
        vlan_mode(i, tap)?;
    }
    Ok(names)
}

/// A port's 802.1Q settings agree with its `vlan_mode`.
fn vlan_mode(i: usize, tap: &TapConfig) -> Result<(), Invalid> {
    let at = |f: &str| format!("tap[{i}].{f}");
    let vid_ok = |v: u16| (1..=MAX_VID).contains(&v);
    for (k, item) in tap.vlans.iter().enumerate() {
        item.ids()
            .map_err(|e| invalid(at(&format!("vlans[{k}]")), e))?;
    }
    match tap.vlan_mode {
        None => {
            let set = [
                ("vlan", tap.vlan.is_some()),
                ("vlans", !tap.vlans.is_empty()),
                ("native_vlan", tap.native_vlan.is_some()),
            ];
            if let Some((f, _)) = set.iter().find(|(_, on)| *on) {
                return Err(invalid(
                    at(f),
                    "needs `vlan_mode` (access, trunk, native-untagged or native-tagged)",
                ));
            }
        }
        Some(VlanModeName::Dot1qTunnel) => {
            return Err(invalid(
                at("vlan_mode"),
                "QinQ (dot1q-tunnel) is not supported yet",
            ));
        }
        Some(VlanModeName::Access) => {
            match tap.vlan {
                Some(v) if vid_ok(v) => {}
                Some(v) => return Err(invalid(at("vlan"), format!("{v}: VLAN ids are 1 to 4094"))),
                None => return Err(invalid(at("vlan"), "an access port needs its VLAN")),
            }
            if !tap.vlans.is_empty() || tap.native_vlan.is_some() {
                return Err(invalid(
                    at("vlans"),
                    "an access port carries one VLAN: use `vlan` only",
                ));
            }
        }
        Some(mode) => {
            if tap.vlan.is_some() {
                return Err(invalid(
                    at("vlan"),
                    "a trunk takes `vlans` and `native_vlan`, not `vlan`",
                ));
            }
            match tap.native_vlan {
                Some(v) if !vid_ok(v) => {
                    return Err(invalid(
                        at("native_vlan"),
                        format!("{v}: VLAN ids are 1 to 4094"),
                    ))
                }
                None if mode != VlanModeName::Trunk => {
                    return Err(invalid(
                        at("native_vlan"),
                        "a native-untagged or native-tagged trunk needs its native VLAN",
                    ))
                }
                _ => {}
            }
            if tap.vlans.is_empty() && tap.native_vlan.is_none() {
                return Err(invalid(at("vlans"), "a trunk needs at least one VLAN"));
            }
        }
    }
    Ok(())
}

fn listeners(listeners: &[ListenerConfig]) -> Result<(), Invalid> {
    let mut names = HashSet::new();
    let mut binds = HashSet::new();
    for (i, l) in listeners.iter().enumerate() {
        if !names.insert(l.display_name()) {
            return Err(invalid(
                format!("listener[{i}].name"),
                format!(
                    "duplicate listener name {:?} (set `name`)",
                    l.display_name()
                ),
            ));
        }
        if !binds.insert(l.bind) {
            return Err(invalid(
                format!("listener[{i}].bind"),
                format!("{} is bound twice", l.bind),
            ));
        }
        if l.encap == Encap::Vxlan && l.vni >= 1 << 24 {
            return Err(invalid(
                format!("listener[{i}].vni"),
                format!("{} does not fit in 24 bits", l.vni),
            ));
        }
        let mut segment_vlans = HashSet::new();
        let mut vnis_seen = HashSet::new();
        for (vni, vlan) in &l.vnis {
            let field = format!("listener[{i}].vnis");
            if l.encap != Encap::Vxlan {
                return Err(invalid(field, "only a VXLAN listener maps VNIs"));
            }
            match vni.trim().parse::<u32>() {
                Ok(n) if n < 1 << 24 && !vnis_seen.insert(n) => {
                    return Err(invalid(field, format!("VNI {n} is given twice")));
                }
                Ok(n) if n < 1 << 24 => {}
                _ => {
                    return Err(invalid(
                        field,
                        format!("{vni:?} is not a VNI (0 to 16777215)"),
                    ))
                }
            }
            if !(1..=MAX_VID).contains(vlan) {
                return Err(invalid(
                    field,
                    format!("VNI {vni}: VLAN {vlan}: VLAN ids are 1 to 4094"),
                ));
            }
            if !segment_vlans.insert(*vlan) {
                return Err(invalid(
                    field,
                    format!("VLAN {vlan} has two VNIs; a VLAN is one segment"),
                ));
            }
        }
        if l.max_macs_per_peer == Some(0) {
            return Err(invalid(
                format!("listener[{i}].max_macs_per_peer"),
                "must be at least 1",
            ));
        }
        if l.idle_timeout.is_zero() {
            return Err(invalid(
                format!("listener[{i}].idle_timeout"),
                "must be greater than zero",
            ));
        }
    }
    Ok(())
}

fn peers(peers: &[PeerConfig], listeners: &[ListenerConfig]) -> Result<(), Invalid> {
    for (i, p) in peers.iter().enumerate() {
        if let Some(name) = &p.listener {
            let found = listeners
                .iter()
                .find(|l| &l.display_name() == name)
                .ok_or_else(|| {
                    invalid(
                        format!("peer[{i}].listener"),
                        format!("no listener named {name:?}"),
                    )
                })?;
            if found.encap != p.encap {
                return Err(invalid(
                    format!("peer[{i}].listener"),
                    format!(
                        "listener {name:?} speaks {}, the peer {}",
                        found.encap, p.encap
                    ),
                ));
            }
        }
        if !p.remote.contains(':') {
            return Err(invalid(
                format!("peer[{i}].remote"),
                format!("{:?}: expected host:port", p.remote),
            ));
        }
    }
    Ok(())
}

fn static_fdb(entries: &[StaticFdbEntry], taps: &HashSet<&str>) -> Result<(), Invalid> {
    for (i, s) in entries.iter().enumerate() {
        pinned_entry("static_fdb", i, &s.port, s.vlan, taps)?;
        if !s.mac.is_station() {
            return Err(invalid(
                format!("static_fdb[{i}].mac"),
                format!("{} is not a unicast MAC", s.mac),
            ));
        }
    }
    Ok(())
}

fn static_mdb(entries: &[StaticMdbEntry], taps: &HashSet<&str>) -> Result<(), Invalid> {
    for (i, s) in entries.iter().enumerate() {
        pinned_entry("static_mdb", i, &s.port, s.vlan, taps)?;
        if !s.group.is_multicast() {
            return Err(invalid(
                format!("static_mdb[{i}].group"),
                format!("{} is not a multicast group", s.group),
            ));
        }
    }
    Ok(())
}

/// A pinned entry names a TAP port and a VLAN id.
fn pinned_entry(
    section: &str,
    i: usize,
    port: &str,
    vlan: u16,
    taps: &HashSet<&str>,
) -> Result<(), Invalid> {
    if !taps.contains(port) {
        return Err(invalid(
            format!("{section}[{i}].port"),
            format!("no TAP port named {port:?}"),
        ));
    }
    if vlan > MAX_VID {
        return Err(invalid(
            format!("{section}[{i}].vlan"),
            format!("{vlan} is not a VLAN id"),
        ));
    }
    Ok(())
}
