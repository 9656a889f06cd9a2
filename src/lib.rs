//! Overcast: a userspace Ethernet switch that gets multicast right.
//!
//! The crate is split along one line: everything that decides is sans-I/O
//! ([`switch`], [`fdb`], [`igmp`], [`packet`], [`tunnel`], and [`node`]
//! around them), and everything that moves bytes is a thin driver
//! ([`driver`], [`replay`]). The core takes `(port, frame, now)` and answers
//! with egress ports; the node owns the ports, tunnel peers and devices
//! behind them and the configuration that made them; timers run through
//! `poll_timeout()` / `handle_timeout(now)`, so the same code serves live
//! ports and pcap replay on a virtual clock.

pub mod config;
pub mod driver;
pub mod duration;
pub mod fdb;
pub mod igmp;
pub mod lab;
pub mod metrics;
pub mod node;
pub mod packet;
pub mod pcap;
pub mod port;
pub mod replay;
pub mod show;
pub mod switch;
pub mod time;
pub mod tunnel;

/// `skip_serializing_if` for counters that are new to a view: they appear
/// once they count something, so existing state files keep their shape.
pub(crate) fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[cfg(test)]
pub(crate) mod testing;
