//! The replay loop: the virtual clock, timers at their exact deadlines,
//! frames in merged order, snapshots at the requested times.
//!
//! A replay is a driver of the same [`Node`] as a live switch, set up by
//! the same [`node::plan`]: TAP ports, static FDB and MDB entries, static
//! peers and every other setting take effect exactly as they do live. TAP
//! ports are up from the start (their "devices" are the output files), and
//! each `--in` port that the configuration does not name is a local port.

use super::inputs::Inputs;
use super::outputs::{write_json, Outputs};
use super::InputKind;
use super::{state_at_path, ReplayError, ReplayOptions, ReplayReport, ReplayStats, StateFile};
use crate::node::{self, Dest, Node, NodeEvent, Resolved, TunnelId};
use crate::packet::udp;
use crate::port::PortId;
use crate::switch::DEFAULT_MAC;
use crate::time::Instant;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

/// The longest stretch of virtual time between two frames. A record stamped
/// further ahead is taken for a corrupt timestamp: the core's once-a-second
/// housekeeping would otherwise keep the replay busy for years of virtual time.
pub const MAX_GAP: Duration = Duration::from_secs(7 * 24 * 3600);

pub(super) struct Engine<'a> {
    opts: &'a ReplayOptions,
    node: Node,
    /// Destinations of the frame being fed; reused.
    dests: Vec<Dest>,
    /// A frame re-tagged for a port's VLAN mode; reused.
    retagged: Vec<u8>,
    outputs: Outputs,
    /// The node's port generation `outputs` was synced at.
    generation: u64,
    /// Per input: the tunnel it feeds and its listener's UDP port (0: any), for `--in-tunnel`.
    tunnel_of: Vec<Option<(TunnelId, u16)>>,
    /// Wall time of virtual time 0.
    origin: Duration,
    now: Instant,
    /// `--state-at` times not yet reached, ascending.
    pending: VecDeque<Instant>,
    stats: ReplayStats,
    files: Vec<PathBuf>,
}

impl<'a> Engine<'a> {
    pub fn run(opts: &'a ReplayOptions) -> Result<ReplayReport, ReplayError> {
        let mut inputs = Inputs::open(&opts.inputs, opts.skip_bad_records)?;
        let origin = inputs.peek().map(|(_, ts)| ts).unwrap_or_default();
        // The fixed default MAC (unless configured) keeps the switch's own
        // frames, and so every output, the same on every run.
        let mut node = Node::new(opts.config.switch_config(DEFAULT_MAC));
        let resolved =
            Resolved::literal(&opts.config).map_err(|e| ReplayError::Options(e.to_string()))?;
        let plan = node::plan(&node.running(), &opts.config, &resolved);
        node.apply(plan, Instant::ZERO)?;
        while let Some(event) = node.poll_event() {
            if let NodeEvent::OpenTap { port, .. } = event {
                node.set_port_up(port, true, Instant::ZERO);
            }
        }
        // Then each other --in port, in --in order.
        let mut tunnel_of = Vec::with_capacity(opts.inputs.len());
        for input in &opts.inputs {
            match input.kind {
                InputKind::Port => {
                    if node.switch().port_by_name(&input.port).is_none() {
                        node.add_local_port(&input.port, Instant::ZERO);
                    }
                    tunnel_of.push(None);
                }
                InputKind::Tunnel => {
                    let (id, cfg) = node.tunnel_by_name(&input.port).ok_or_else(|| {
                        ReplayError::Options(format!(
                            "--in-tunnel {}: the configuration has no listener named {:?}",
                            input.port, input.port
                        ))
                    })?;
                    tunnel_of.push(Some((id, cfg.bind.port())));
                }
            }
        }
        let ports: Vec<(PortId, String)> = node.port_names();
        let outputs = Outputs::create(&opts.out_dir, &ports)?;
        let node_generation = node.generation();
        let mut pending: Vec<Instant> = opts
            .state_at
            .iter()
            .map(|d| Instant::from_duration(*d))
            .collect();
        pending.sort();
        pending.dedup();
        let mut engine = Engine {
            opts,
            node,
            dests: Vec::new(),
            retagged: Vec::new(),
            generation: node_generation,
            tunnel_of,
            outputs,
            origin,
            now: Instant::ZERO,
            pending: pending.into(),
            stats: ReplayStats {
                origin_unix_ns: u64::try_from(origin.as_nanos()).unwrap_or(u64::MAX),
                ..ReplayStats::default()
            },
            files: Vec::new(),
        };
        engine.feed_all(&mut inputs)?;

        // The end: --until, else the last frame; and never before a requested snapshot.
        let mut end = opts.until.map(Instant::from_duration).unwrap_or(engine.now);
        if let Some(last) = engine.pending.back() {
            end = end.max(*last);
        }
        engine.advance(end, true, &inputs)?;
        engine.sync_stats(&inputs);
        let state = engine.opts.out_dir.join("state.json");
        engine.write_state(&state)?;
        engine.files.push(state);
        let mut files = engine.outputs.finish()?;
        files.append(&mut engine.files);
        Ok(ReplayReport {
            stats: engine.stats,
            files,
        })
    }

    /// Feed every record in merged order, running the clock up to each.
    fn feed_all(&mut self, inputs: &mut Inputs) -> Result<(), ReplayError> {
        let until = self.opts.until.map(Instant::from_duration);
        while let Some((i, ts)) = inputs.peek() {
            let virt = Instant::from_duration(ts.saturating_sub(self.origin));
            if until.is_some_and(|u| virt > u) {
                break;
            }
            let gap = virt.saturating_since(self.now);
            if gap > MAX_GAP {
                if self.opts.skip_bad_records {
                    tracing::warn!(gap = ?gap, "record with an implausible timestamp skipped");
                    inputs.skip_bad(i)?;
                    continue;
                }
                let (file, record) = inputs.position(i);
                return Err(ReplayError::TimeJump { file, record, gap });
            }
            let late = ts < self.origin || virt < self.now;
            let t = virt.max(self.now);
            // State at T includes frames stamped T, so only earlier snapshots come first.
            self.advance(t, false, inputs)?;
            let Some(record) = inputs.take(i)? else {
                continue;
            };
            let port = inputs
                .port(i)
                .and_then(|name| self.node.switch().port_by_name(name));
            if let Some(stats) = inputs.stats_mut(i) {
                stats.frames_fed += 1;
                stats.out_of_order_records += u64::from(late);
            }
            match self.tunnel_of.get(i).copied().flatten() {
                Some((tunnel, listen_port)) => {
                    let datagram = udp::in_frame(&record.data)
                        .filter(|d| listen_port == 0 || d.dst.port() == listen_port);
                    match datagram {
                        Some(d) => self.feed_datagram(tunnel, d.src, d.payload, t)?,
                        None => {
                            if let Some(stats) = inputs.stats_mut(i) {
                                stats.not_for_listener += 1;
                            }
                        }
                    }
                }
                None => {
                    if let Some(port) = port {
                        self.feed(port, &record.data, t)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// One datagram into its tunnel (admission, then the frame inside), and
    /// the frame out to its egress ports' files.
    fn feed_datagram(
        &mut self,
        tunnel: TunnelId,
        src: std::net::SocketAddr,
        datagram: &[u8],
        t: Instant,
    ) -> Result<(), ReplayError> {
        self.stats.frames_fed += 1;
        let got = self
            .node
            .handle_datagram(t, tunnel, src, datagram, &mut self.dests);
        self.sync_outputs()?;
        match got {
            Some((_, frame)) => self.write_decided(frame, t)?,
            None => self.stats.frames_dropped += 1,
        }
        self.drain(t)
    }

    /// Give ports that appeared since the last call their output files.
    fn sync_outputs(&mut self) -> Result<(), ReplayError> {
        if self.node.generation() != self.generation {
            self.outputs.sync(&self.node.port_names())?;
            self.generation = self.node.generation();
        }
        Ok(())
    }

    /// One frame into the core, and out to its egress ports' files.
    fn feed(&mut self, port: PortId, frame: &[u8], t: Instant) -> Result<(), ReplayError> {
        self.stats.frames_fed += 1;
        self.node.handle_frame(t, port, frame, &mut self.dests);
        self.write_decided(frame, t)?;
        self.drain(t)
    }

    /// Count the decision just made on `frame` (in `self.dests`: empty is a
    /// drop) and write it to its egress ports' files.
    fn write_decided(&mut self, frame: &[u8], t: Instant) -> Result<(), ReplayError> {
        if self.dests.is_empty() {
            self.stats.frames_dropped += 1;
            return Ok(());
        }
        self.stats.frames_forwarded += 1;
        let wall = self.wall(t);
        write_dests(
            &mut self.outputs,
            &self.dests,
            wall,
            frame,
            &mut self.retagged,
        )
    }

    /// Run the clock to `t`: every timer due by then fires at its deadline,
    /// and every snapshot before `t` (or at `t`, if `inclusive`) is written
    /// after the timers due by its time.
    fn advance(&mut self, t: Instant, inclusive: bool, inputs: &Inputs) -> Result<(), ReplayError> {
        loop {
            let snap = self
                .pending
                .front()
                .copied()
                .filter(|s| *s < t || (inclusive && *s == t));
            self.run_timers(snap.unwrap_or(t))?;
            let Some(at) = snap else { break };
            self.pending.pop_front();
            self.now = self.now.max(at);
            self.sync_stats(inputs);
            let path = state_at_path(&self.opts.out_dir, at.since_origin());
            self.write_state(&path)?;
            self.files.push(path);
        }
        self.now = self.now.max(t);
        Ok(())
    }

    /// Fire every timer due at or before `limit`, each at its own deadline.
    fn run_timers(&mut self, limit: Instant) -> Result<(), ReplayError> {
        while let Some(deadline) = self.node.poll_timeout() {
            if deadline > limit {
                break;
            }
            let at = deadline.max(self.now);
            self.now = at;
            self.node.handle_timeout(at);
            self.drain(at)?;
            if self.node.poll_timeout().is_some_and(|next| next <= at) {
                return Err(ReplayError::TimerStuck(at.since_origin()));
            }
        }
        Ok(())
    }

    /// Write what the switch originated at `t`; the node's events need no
    /// action (replay opens no device after the start).
    fn drain(&mut self, t: Instant) -> Result<(), ReplayError> {
        self.sync_outputs()?;
        let wall = self.wall(t);
        while let Some(frame) = self.node.poll_transmit(&mut self.dests) {
            self.stats.frames_originated += 1;
            write_dests(
                &mut self.outputs,
                &self.dests,
                wall,
                &frame,
                &mut self.retagged,
            )?;
        }
        while self.node.poll_event().is_some() {}
        Ok(())
    }

    fn wall(&self, t: Instant) -> Duration {
        self.origin.saturating_add(t.since_origin())
    }

    fn sync_stats(&mut self, inputs: &Inputs) {
        self.stats.now_ms = u64::try_from(self.now.since_origin().as_millis()).unwrap_or(u64::MAX);
        self.stats.inputs = inputs.stats().cloned().collect();
    }

    fn write_state(&self, path: &std::path::Path) -> Result<(), ReplayError> {
        let file = StateFile {
            replay: &self.stats,
            switch: self.node.switch().state(self.now),
            listeners: self.node.listener_rows(),
            peers: self.node.peers(self.now),
        };
        write_json(path, &file)
    }
}

/// Write `frame` to each destination's file, in the 802.1Q form its port wants.
fn write_dests(
    outputs: &mut Outputs,
    dests: &[Dest],
    wall: Duration,
    frame: &[u8],
    buf: &mut Vec<u8>,
) -> Result<(), ReplayError> {
    for d in dests {
        if let Some(out) = d.frame(frame, buf) {
            outputs.write(d.port, wall, out)?;
        }
    }
    Ok(())
}
