//! 802.1Q port modes: which segment (VLAN) a received frame belongs to, which
//! ports are members of a segment, and whether a frame leaves a port tagged.
//!
//! The semantics are Open vSwitch's `vlan_mode` and the Linux bridge's
//! `bridge vlan`: an **access** port carries one VLAN untagged; a **trunk**
//! carries a list of VLANs tagged, and optionally a native VLAN that travels
//! untagged (`native-untagged`) or tagged (`native-tagged`). A priority-tagged
//! frame (VID 0) counts as untagged. A port with no mode is **transparent**:
//! the VLAN is whatever the frame's tag says (0 if untagged), it is a member
//! of every VLAN, and frames leave it as they came; that is how every port
//! behaved before VLAN modes existed, so old configurations keep working.

use super::drop::DropReason;

/// The highest usable VLAN id (4095 is reserved).
pub const MAX_VID: u16 = 4094;

/// A set of VLAN ids, 1 to 4094.
#[derive(Clone, PartialEq, Eq)]
pub struct VlanSet([u64; 64]);

impl Default for VlanSet {
    fn default() -> Self {
        VlanSet([0; 64])
    }
}

impl std::fmt::Debug for VlanSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl VlanSet {
    /// Add `vid` (ignored outside 1..=4094).
    pub fn insert(&mut self, vid: u16) {
        if (1..=MAX_VID).contains(&vid) {
            self.0[usize::from(vid / 64)] |= 1 << (vid % 64);
        }
    }

    /// Whether `vid` is in the set.
    #[inline]
    pub fn contains(&self, vid: u16) -> bool {
        vid <= MAX_VID && self.0[usize::from(vid / 64)] & (1 << (vid % 64)) != 0
    }

    /// The ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (1..=MAX_VID).filter(|v| self.contains(*v))
    }

    /// No id at all.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

impl FromIterator<u16> for VlanSet {
    /// The valid ids among `ids` (1 to 4094; others are left out, as by [`VlanSet::insert`]).
    fn from_iter<I: IntoIterator<Item = u16>>(ids: I) -> Self {
        let mut set = VlanSet::default();
        for vid in ids {
            set.insert(vid);
        }
        set
    }
}

/// How a port carries VLANs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum VlanMode {
    /// No VLAN handling: the frame's own tag (or 0) is its VLAN, everywhere.
    #[default]
    Transparent,
    /// One VLAN, untagged on the wire.
    Access(u16),
    /// Tagged VLANs, and a native VLAN for untagged frames.
    Trunk {
        /// VLANs carried tagged (boxed: 512 bytes, and most ports have none).
        allowed: Box<VlanSet>,
        /// The VLAN of untagged (and priority-tagged) frames; `None` drops them.
        native: Option<u16>,
        /// The native VLAN leaves tagged too (`native-tagged`).
        native_tagged: bool,
    },
    /// A tunnel peer whose VNI says the VLAN ([`super::Switch::handle_frame_in`]):
    /// frames travel untagged, and the peer carries the VLANs it has joined.
    Vni(Box<VlanSet>),
}

/// How a frame must leave a port, given the form it arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retag {
    /// As it is.
    #[default]
    Keep,
    /// Without its 802.1Q tag.
    Untag,
    /// With an 802.1Q tag of this VLAN (added, or its VID rewritten).
    Tag(u16),
}

impl VlanMode {
    /// The VLAN of a frame received on this port whose outer tag has VID
    /// `tag` (`None` untagged; `Some(0)` priority-tagged), or why it is dropped.
    #[inline]
    pub fn ingress(&self, tag: Option<u16>) -> Result<u16, DropReason> {
        let tagged = tag.filter(|v| *v != 0);
        match self {
            VlanMode::Transparent => Ok(tag.unwrap_or(0)),
            VlanMode::Access(vid) => match tagged {
                None => Ok(*vid),
                Some(_) => Err(DropReason::VlanTaggedOnAccess),
            },
            VlanMode::Trunk {
                allowed, native, ..
            } => match tagged {
                Some(vid) if allowed.contains(vid) || *native == Some(vid) => Ok(vid),
                Some(_) => Err(DropReason::VlanNotAllowed),
                None => native.ok_or(DropReason::VlanUntaggedOnTrunk),
            },
            // Its frames come with their VLAN from the VNI, never through here.
            VlanMode::Vni(_) => Err(DropReason::VlanNotAllowed),
        }
    }

    /// Whether frames of `vlan` may leave through this port.
    #[inline]
    pub fn carries(&self, vlan: u16) -> bool {
        match self {
            VlanMode::Transparent => true,
            VlanMode::Access(vid) => *vid == vlan,
            VlanMode::Trunk {
                allowed, native, ..
            } => allowed.contains(vlan) || *native == Some(vlan),
            VlanMode::Vni(joined) => joined.contains(vlan),
        }
    }

    /// The tag a frame of `vlan` leaves with: `None` untagged, `Some(vid)`
    /// tagged; `Err(())` for a transparent port, where it leaves as it came.
    #[inline]
    fn egress_tag(&self, vlan: u16) -> Result<Option<u16>, ()> {
        match self {
            VlanMode::Transparent => Err(()),
            VlanMode::Access(_) | VlanMode::Vni(_) => Ok(None),
            VlanMode::Trunk {
                native,
                native_tagged,
                ..
            } => Ok((*native != Some(vlan) || *native_tagged).then_some(vlan)),
        }
    }

    /// What to do to a frame of `vlan`, arrived with outer tag `tag`, to send it here.
    #[inline]
    pub fn retag(&self, vlan: u16, tag: Option<u16>) -> Retag {
        match (self.egress_tag(vlan), tag) {
            (Err(()), _) => Retag::Keep,
            (Ok(None), None) => Retag::Keep,
            (Ok(None), Some(_)) => Retag::Untag,
            (Ok(Some(want)), Some(have)) if want == have => Retag::Keep,
            (Ok(Some(want)), _) => Retag::Tag(want),
        }
    }

    /// Every VLAN the port is a member of (none listed for a transparent port).
    pub fn vlans(&self) -> Vec<u16> {
        match self {
            VlanMode::Transparent => Vec::new(),
            VlanMode::Access(vid) => vec![*vid],
            VlanMode::Vni(joined) => joined.iter().collect(),
            VlanMode::Trunk {
                allowed, native, ..
            } => {
                let mut v: Vec<u16> = allowed.iter().collect();
                if let Some(n) = native {
                    if !v.contains(n) {
                        v.push(*n);
                        v.sort_unstable();
                    }
                }
                v
            }
        }
    }
}

/// One port's VLAN mode as `show vlans` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VlanRow {
    /// Port name.
    pub port: String,
    /// `transparent`, `access`, `trunk`, `native-untagged` or `native-tagged`.
    pub mode: &'static str,
    /// The VLAN of untagged frames: the access VLAN or the native VLAN.
    pub pvid: Option<u16>,
    /// Every VLAN the port carries (empty for a transparent port: all of them).
    pub vlans: Vec<u16>,
    /// VLANs that leave the port tagged.
    pub tagged: Vec<u16>,
}

impl VlanMode {
    /// The row of port `port` for `show vlans`.
    pub fn row(&self, port: &str) -> VlanRow {
        let vlans = self.vlans();
        let tagged = vlans
            .iter()
            .copied()
            .filter(|v| matches!(self.egress_tag(*v), Ok(Some(_))))
            .collect();
        let (mode, pvid) = match self {
            VlanMode::Transparent => ("transparent", None),
            VlanMode::Access(v) => ("access", Some(*v)),
            VlanMode::Vni(_) => ("vni", None),
            VlanMode::Trunk { native: None, .. } => ("trunk", None),
            VlanMode::Trunk {
                native: Some(n),
                native_tagged: false,
                ..
            } => ("native-untagged", Some(*n)),
            VlanMode::Trunk {
                native: Some(n),
                native_tagged: true,
                ..
            } => ("native-tagged", Some(*n)),
        };
        VlanRow {
            port: port.to_string(),
            mode,
            pvid,
            vlans,
            tagged,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk(allowed: &[u16], native: Option<u16>, native_tagged: bool) -> VlanMode {
        VlanMode::Trunk {
            allowed: Box::new(allowed.iter().copied().collect()),
            native,
            native_tagged,
        }
    }

    #[test]
    fn access_ports_take_untagged_and_priority_tagged_frames_only() {
        let a = VlanMode::Access(10);
        assert_eq!(a.ingress(None), Ok(10));
        assert_eq!(a.ingress(Some(0)), Ok(10), "VID 0 is untagged");
        assert_eq!(a.ingress(Some(10)), Err(DropReason::VlanTaggedOnAccess));
        assert!(a.carries(10) && !a.carries(20));
        assert_eq!(a.retag(10, Some(10)), Retag::Untag);
        assert_eq!(a.retag(10, None), Retag::Keep);
        assert_eq!(
            a.retag(10, Some(0)),
            Retag::Untag,
            "a priority tag is stripped"
        );
    }

    #[test]
    fn trunks_check_the_allowed_list_and_handle_the_native_vlan() {
        let t = trunk(&[10, 20], Some(1), false);
        assert_eq!(t.ingress(Some(10)), Ok(10));
        assert_eq!(t.ingress(Some(30)), Err(DropReason::VlanNotAllowed));
        assert_eq!(t.ingress(None), Ok(1));
        assert_eq!(t.ingress(Some(0)), Ok(1));
        assert_eq!(t.retag(10, None), Retag::Tag(10));
        assert_eq!(t.retag(10, Some(10)), Retag::Keep);
        assert_eq!(t.retag(1, None), Retag::Keep, "native leaves untagged");
        assert_eq!(t.retag(1, Some(1)), Retag::Untag);
        let tagged = trunk(&[10], Some(1), true);
        assert_eq!(tagged.retag(1, None), Retag::Tag(1), "native-tagged");
        let bare = trunk(&[10], None, false);
        assert_eq!(bare.ingress(None), Err(DropReason::VlanUntaggedOnTrunk));
        assert_eq!(t.vlans(), vec![1, 10, 20]);
    }

    #[test]
    fn transparent_ports_keep_the_frame_as_it_came() {
        let t = VlanMode::Transparent;
        assert_eq!(t.ingress(Some(7)), Ok(7));
        assert_eq!(t.ingress(None), Ok(0));
        assert!(t.carries(7) && t.carries(0));
        assert_eq!(t.retag(7, Some(7)), Retag::Keep);
    }

    #[test]
    fn the_set_holds_every_valid_id_and_nothing_else() {
        let s: VlanSet = [0, 1, 63, 64, 4094, 4095, 9999].into_iter().collect();
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1, 63, 64, 4094]);
        assert!(!s.contains(4095) && !s.contains(u16::MAX));
    }
}
