//! The FDB table itself: learning, lookup with exact ageing, limits and sweeps.

use super::FdbConfig;
use crate::packet::ethernet::MacAddr;
use crate::port::PortId;
use crate::time::Instant;
use serde::Serialize;
use std::collections::HashMap;

/// One FDB entry. Kept small: the table may hold tens of thousands.
#[derive(Debug, Clone, Copy)]
struct Entry {
    port: PortId,
    last_seen: Instant,
    is_static: bool,
}

/// What learning a source address did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnOutcome {
    /// A new entry.
    Learned,
    /// The entry existed on this port; its age was reset.
    Refreshed,
    /// The MAC moved here from another port.
    Moved,
    /// A static entry pins this MAC; learning left it alone.
    Static,
    /// The table is full: not learned.
    RefusedTableFull,
    /// This port has its maximum of learned entries: not learned.
    RefusedPortFull,
}

/// Counters of table events, for `show counters` and metrics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FdbCounters {
    /// New entries learned.
    pub learned: u64,
    /// MAC moves between ports.
    pub moved: u64,
    /// Entries removed by ageing.
    pub aged: u64,
    /// Learning refused because the whole table was full.
    pub refused_table_full: u64,
    /// Learning refused because the port had its maximum.
    pub refused_port_full: u64,
}

/// An entry as shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FdbEntryView {
    /// VLAN id (0 = untagged).
    pub vlan: u16,
    /// The station's MAC.
    pub mac: MacAddr,
    /// Where it was seen.
    pub port: PortId,
    /// Static entries never age.
    pub is_static: bool,
    /// Milliseconds since the MAC was last seen (0 for static entries).
    pub age_ms: u64,
}

/// The forwarding database, keyed by (VLAN, MAC).
#[derive(Debug)]
pub struct Fdb {
    cfg: FdbConfig,
    entries: HashMap<u64, Entry>,
    /// Learned (non-static) entries per port index.
    per_port: Vec<usize>,
    /// A port's own cap on learned entries, below the table-wide one (tunnel peers).
    port_limit: Vec<Option<usize>>,
    counters: FdbCounters,
}

fn key(vlan: u16, mac: MacAddr) -> u64 {
    (u64::from(vlan) << 48) | mac.to_u64()
}

fn unkey(k: u64) -> (u16, MacAddr) {
    ((k >> 48) as u16, MacAddr::from_u64(k & 0xffff_ffff_ffff))
}

impl Fdb {
    /// An empty table.
    pub fn new(cfg: FdbConfig) -> Self {
        Fdb {
            cfg,
            entries: HashMap::new(),
            per_port: Vec::new(),
            port_limit: Vec::new(),
            counters: FdbCounters::default(),
        }
    }

    /// Cap the learned entries of `port` at `limit` (never above
    /// `max_entries_per_port`); `None` leaves only the table-wide cap.
    pub fn set_port_limit(&mut self, port: PortId, limit: Option<usize>) {
        let i = port.index();
        if self.port_limit.len() <= i {
            self.port_limit.resize(i + 1, None);
        }
        self.port_limit[i] = limit;
    }

    /// The most learned entries `port` may hold.
    fn limit_of(&self, port: PortId) -> usize {
        let own = self.port_limit.get(port.index()).copied().flatten();
        own.map_or(self.cfg.max_entries_per_port, |l| {
            l.min(self.cfg.max_entries_per_port)
        })
    }

    /// The table's configuration.
    pub fn config(&self) -> &FdbConfig {
        &self.cfg
    }

    /// Replace timers and limits; existing entries stay (even above a lowered limit).
    pub fn set_config(&mut self, cfg: FdbConfig) {
        self.cfg = cfg;
    }

    /// Record that `mac` was seen as a source on `port`.
    pub fn learn(&mut self, vlan: u16, mac: MacAddr, port: PortId, now: Instant) -> LearnOutcome {
        let k = key(vlan, mac);
        let port_full = self.port_count(port) >= self.limit_of(port);
        if let Some(entry) = self.entries.get_mut(&k) {
            if entry.is_static {
                return LearnOutcome::Static;
            }
            if entry.port == port {
                entry.last_seen = now;
                return LearnOutcome::Refreshed;
            }
            // A move takes effect at once: the station is now behind `port`.
            let old = entry.port;
            if port_full {
                // Keeping the stale entry would black-hole the station; drop it so its traffic floods.
                self.entries.remove(&k);
                self.dec_port(old);
                self.counters.refused_port_full += 1;
                return LearnOutcome::RefusedPortFull;
            }
            entry.port = port;
            entry.last_seen = now;
            self.dec_port(old);
            self.inc_port(port);
            self.counters.moved += 1;
            return LearnOutcome::Moved;
        }
        if self.entries.len() >= self.cfg.max_entries {
            self.counters.refused_table_full += 1;
            return LearnOutcome::RefusedTableFull;
        }
        if port_full {
            self.counters.refused_port_full += 1;
            return LearnOutcome::RefusedPortFull;
        }
        self.entries.insert(
            k,
            Entry {
                port,
                last_seen: now,
                is_static: false,
            },
        );
        self.inc_port(port);
        self.counters.learned += 1;
        LearnOutcome::Learned
    }

    /// The port `mac` lives behind, if known and not aged out at `now`.
    #[inline]
    pub fn lookup(&self, vlan: u16, mac: MacAddr, now: Instant) -> Option<PortId> {
        let entry = self.entries.get(&key(vlan, mac))?;
        if entry.is_static || now.saturating_since(entry.last_seen) < self.cfg.ageing_time {
            Some(entry.port)
        } else {
            None
        }
    }

    /// Pin `mac` to `port`. Replaces any learned entry. Static entries ignore the limits.
    pub fn add_static(&mut self, vlan: u16, mac: MacAddr, port: PortId) {
        let previous = self.entries.insert(
            key(vlan, mac),
            Entry {
                port,
                last_seen: Instant::ZERO,
                is_static: true,
            },
        );
        if let Some(old) = previous.filter(|e| !e.is_static) {
            self.dec_port(old.port);
        }
    }

    /// Remove one entry, static or learned. Returns whether it existed.
    pub fn remove(&mut self, vlan: u16, mac: MacAddr) -> bool {
        match self.entries.remove(&key(vlan, mac)) {
            Some(e) => {
                if !e.is_static {
                    self.dec_port(e.port);
                }
                true
            }
            None => false,
        }
    }

    /// Remove learned entries, on one port or everywhere. Static entries stay.
    pub fn flush(&mut self, port: Option<PortId>) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|_, e| e.is_static || port.is_some_and(|p| e.port != p));
        match port {
            Some(p) => {
                if let Some(c) = self.per_port.get_mut(p.index()) {
                    *c = 0;
                }
            }
            None => self.per_port.iter_mut().for_each(|c| *c = 0),
        }
        before - self.entries.len()
    }

    /// Remove every entry of a port that is gone, static ones included.
    pub fn remove_port(&mut self, port: PortId) {
        self.entries.retain(|_, e| e.port != port);
        if let Some(c) = self.per_port.get_mut(port.index()) {
            *c = 0;
        }
        self.set_port_limit(port, None);
    }

    /// Drop entries that aged out by `now`. Lookups already ignore them;
    /// this returns their memory and their per-port quota.
    pub fn sweep(&mut self, now: Instant) {
        let ageing = self.cfg.ageing_time;
        let mut aged = Vec::new();
        self.entries.retain(|_, e| {
            let keep = e.is_static || now.saturating_since(e.last_seen) < ageing;
            if !keep {
                aged.push(e.port);
            }
            keep
        });
        for port in aged {
            self.dec_port(port);
            self.counters.aged += 1;
        }
    }

    /// Live entries at `now`, sorted by VLAN then MAC.
    pub fn entries(&self, now: Instant) -> Vec<FdbEntryView> {
        let mut out: Vec<FdbEntryView> = self
            .entries
            .iter()
            .filter(|(_, e)| {
                e.is_static || now.saturating_since(e.last_seen) < self.cfg.ageing_time
            })
            .map(|(k, e)| {
                let (vlan, mac) = unkey(*k);
                FdbEntryView {
                    vlan,
                    mac,
                    port: e.port,
                    is_static: e.is_static,
                    age_ms: if e.is_static {
                        0
                    } else {
                        now.saturating_since(e.last_seen).as_millis() as u64
                    },
                }
            })
            .collect();
        out.sort_by_key(|e| (e.vlan, e.mac));
        out
    }

    /// Number of entries held (including any not yet swept).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Learned entries held for `port`.
    pub fn port_count(&self, port: PortId) -> usize {
        self.per_port.get(port.index()).copied().unwrap_or(0)
    }

    /// Event counters.
    pub fn counters(&self) -> &FdbCounters {
        &self.counters
    }

    fn inc_port(&mut self, port: PortId) {
        let i = port.index();
        if self.per_port.len() <= i {
            self.per_port.resize(i + 1, 0);
        }
        self.per_port[i] += 1;
    }

    fn dec_port(&mut self, port: PortId) {
        if let Some(c) = self.per_port.get_mut(port.index()) {
            *c = c.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xa]);
    const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xb]);
    const C: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xc]);
    const P1: PortId = PortId(1);
    const P2: PortId = PortId(2);

    fn fdb(max: usize, per_port: usize) -> Fdb {
        Fdb::new(FdbConfig {
            ageing_time: Duration::from_secs(300),
            max_entries: max,
            max_entries_per_port: per_port,
        })
    }

    #[test]
    fn learns_and_looks_up_per_vlan() {
        let mut f = fdb(10, 10);
        assert_eq!(f.learn(0, A, P1, Instant::ZERO), LearnOutcome::Learned);
        assert_eq!(f.lookup(0, A, Instant::ZERO), Some(P1));
        assert_eq!(
            f.lookup(7, A, Instant::ZERO),
            None,
            "VLANs learn independently"
        );
        assert_eq!(
            f.learn(0, A, P1, Instant::from_secs(1)),
            LearnOutcome::Refreshed
        );
    }

    #[test]
    fn entries_age_out_exactly_at_the_ageing_time() {
        let mut f = fdb(10, 10);
        f.learn(0, A, P1, Instant::from_secs(10));
        assert_eq!(f.lookup(0, A, Instant::from_millis(309_999)), Some(P1));
        assert_eq!(f.lookup(0, A, Instant::from_secs(310)), None);
        f.sweep(Instant::from_secs(310));
        assert!(f.is_empty());
        assert_eq!(f.counters().aged, 1);
        assert_eq!(f.port_count(P1), 0);
    }

    #[test]
    fn refresh_postpones_ageing() {
        let mut f = fdb(10, 10);
        f.learn(0, A, P1, Instant::ZERO);
        f.learn(0, A, P1, Instant::from_secs(200));
        assert_eq!(f.lookup(0, A, Instant::from_secs(400)), Some(P1));
    }

    #[test]
    fn mac_move_takes_effect_immediately() {
        let mut f = fdb(10, 10);
        f.learn(0, A, P1, Instant::ZERO);
        assert_eq!(
            f.learn(0, A, P2, Instant::from_secs(1)),
            LearnOutcome::Moved
        );
        assert_eq!(f.lookup(0, A, Instant::from_secs(1)), Some(P2));
        assert_eq!((f.port_count(P1), f.port_count(P2)), (0, 1));
    }

    #[test]
    fn static_entries_never_age_or_move() {
        let mut f = fdb(10, 10);
        f.add_static(0, A, P1);
        assert_eq!(f.learn(0, A, P2, Instant::ZERO), LearnOutcome::Static);
        assert_eq!(f.lookup(0, A, Instant::from_secs(1_000_000)), Some(P1));
        f.flush(None);
        assert_eq!(
            f.lookup(0, A, Instant::ZERO),
            Some(P1),
            "flush keeps static entries"
        );
    }

    #[test]
    fn total_limit_refuses_and_counts() {
        let mut f = fdb(2, 10);
        f.learn(0, A, P1, Instant::ZERO);
        f.learn(0, B, P2, Instant::ZERO);
        assert_eq!(
            f.learn(0, C, P1, Instant::ZERO),
            LearnOutcome::RefusedTableFull
        );
        assert_eq!(f.lookup(0, C, Instant::ZERO), None);
        assert_eq!(f.counters().refused_table_full, 1);
        assert_eq!(
            f.lookup(0, A, Instant::ZERO),
            Some(P1),
            "existing entries keep working"
        );
    }

    #[test]
    fn per_port_limit_refuses_and_counts() {
        let mut f = fdb(10, 1);
        f.learn(0, A, P1, Instant::ZERO);
        assert_eq!(
            f.learn(0, B, P1, Instant::ZERO),
            LearnOutcome::RefusedPortFull
        );
        assert_eq!(f.learn(0, B, P2, Instant::ZERO), LearnOutcome::Learned);
        // Moving onto a full port drops the stale entry rather than black-holing the station.
        assert_eq!(
            f.learn(0, A, P2, Instant::ZERO),
            LearnOutcome::RefusedPortFull
        );
        assert_eq!(f.lookup(0, A, Instant::ZERO), None);
        assert_eq!(f.counters().refused_port_full, 2);
    }

    #[test]
    fn flush_and_remove_port() {
        let mut f = fdb(10, 10);
        f.learn(0, A, P1, Instant::ZERO);
        f.learn(0, B, P2, Instant::ZERO);
        f.add_static(0, C, P1);
        assert_eq!(f.flush(Some(P1)), 1);
        assert_eq!(f.lookup(0, B, Instant::ZERO), Some(P2));
        f.remove_port(P1);
        assert_eq!(
            f.lookup(0, C, Instant::ZERO),
            None,
            "a removed port takes its static entries"
        );
        let shown = f.entries(Instant::from_secs(5));
        assert_eq!(shown.len(), 1);
        assert_eq!((shown[0].mac, shown[0].age_ms), (B, 5000));
    }

    #[test]
    fn a_port_limit_caps_one_port_below_the_table_wide_one() {
        let mut fdb = Fdb::new(FdbConfig::default());
        let (capped, free) = (PortId(1), PortId(2));
        fdb.set_port_limit(capped, Some(2));
        for n in 0..5u8 {
            fdb.learn(0, MacAddr([2, 0, 0, 0, 1, n]), capped, Instant::ZERO);
            fdb.learn(0, MacAddr([2, 0, 0, 0, 2, n]), free, Instant::ZERO);
        }
        assert_eq!((fdb.port_count(capped), fdb.port_count(free)), (2, 5));
        assert_eq!(fdb.counters().refused_port_full, 3);
        fdb.remove_port(capped);
        for n in 0..3u8 {
            fdb.learn(0, MacAddr([2, 0, 0, 0, 3, n]), capped, Instant::ZERO);
        }
        assert_eq!(
            fdb.port_count(capped),
            3,
            "a removed port's id starts uncapped"
        );
    }
}
