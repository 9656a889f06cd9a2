//! Live capture: what every port receives and sends, to rotating pcap files,
//! without ever slowing the switch.
//!
//! The data path only copies the frame into a bounded queue (at most
//! [`QUEUE_FRAMES`] frames and [`QUEUE_BYTES`] bytes) and returns; a writer
//! thread ([`writer`]) does all file I/O. When the queue is full the frame is
//! not captured and `capture_dropped` counts it; the switch never waits.
//!
//! Layout, in the capture directory, per port (names through
//! [`crate::pcap::port_file_stem`]: `vxlan/10.0.0.2` → `vxlan%2F10.0.0.2`):
//! - `<port>.in.pcap`: frames the port received, i.e. what the switch was
//!   fed; exactly what `overcast replay --in <port>=<port>.in.pcap` feeds.
//! - `<port>.out.pcap`: frames the switch sent (or tried to send) out of it.
//!
//! Both files of a port are created when the port first has traffic either
//! way, so every port that took part has an input file, possibly empty.
//! When a file would pass `max_bytes` it is renamed `<port>.in.1.pcap`
//! (older ones shift to `.2`, ...) and a new one starts; `max_files` files
//! are kept per stream, the oldest removed. Timestamps are wall-clock
//! (nanosecond pcap): the core's clock plus the wall time it started at.

mod writer;

use super::lock;
use crate::config::CaptureConfig;
use crate::port::PortId;
use crate::time::Instant;
use serde::Serialize;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

/// Most frames waiting for the writer.
pub const QUEUE_FRAMES: usize = 4096;
/// Most bytes waiting for the writer (bounds memory whatever the frame sizes).
pub const QUEUE_BYTES: usize = 16 << 20;

/// Which way a frame crossed the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    /// Received by the port: input to the switch.
    In,
    /// Sent out of the port by the switch.
    Out,
}

/// Capture counters, shown in `show state`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CaptureCounters {
    /// Frames handed to the writer.
    pub captured: u64,
    /// Frames not captured because the queue was full (or the writer had stopped).
    pub capture_dropped: u64,
    /// Frames lost to file errors (each file's first error is logged).
    pub write_errors: u64,
}

#[derive(Debug, Default)]
struct Shared {
    captured: AtomicU64,
    dropped: AtomicU64,
    write_errors: AtomicU64,
    queued_bytes: AtomicUsize,
}

/// One frame on its way to the writer.
#[derive(Debug)]
struct Msg {
    port: Arc<str>,
    dir: Direction,
    ts: Duration,
    frame: Vec<u8>,
}

/// The data path's handle: cheap and non-blocking, shared by the workers.
#[derive(Debug)]
pub struct Capture {
    tx: Mutex<Option<SyncSender<Msg>>>,
    shared: Arc<Shared>,
    /// Port names by id, as of the node's port generation in `generation`.
    names: Mutex<Vec<Option<Arc<str>>>>,
    /// The node's port generation `names` was filled at (`u64::MAX`: never);
    /// when the node's moves on, a port id may now belong to another port.
    generation: AtomicU64,
    /// Wall time at the core's clock origin.
    wall_origin: Duration,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Capture {
    /// Create the directory and start the writer thread. Port names are
    /// learned from the node as frames pass (see [`Capture::sync_names`]).
    pub fn start(cfg: &CaptureConfig, now: Instant) -> io::Result<Capture> {
        std::fs::create_dir_all(&cfg.dir).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("capture directory {}: {e}", cfg.dir.display()),
            )
        })?;
        let (tx, rx) = mpsc::sync_channel(QUEUE_FRAMES);
        let shared = Arc::new(Shared::default());
        let thread_shared = shared.clone();
        let thread_cfg = cfg.clone();
        let writer = std::thread::Builder::new()
            .name("overcast-capture".into())
            .spawn(move || writer::run(rx, thread_cfg, thread_shared))?;
        Ok(Capture::with_sender(tx, shared, Some(writer), now))
    }

    fn with_sender(
        tx: SyncSender<Msg>,
        shared: Arc<Shared>,
        writer: Option<JoinHandle<()>>,
        now: Instant,
    ) -> Capture {
        let wall_now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        Capture {
            tx: Mutex::new(Some(tx)),
            shared,
            names: Mutex::new(Vec::new()),
            generation: AtomicU64::new(u64::MAX),
            wall_origin: wall_now.saturating_sub(now.since_origin()),
            writer: Mutex::new(writer),
        }
    }

    /// Bring the port names up to the node's `generation`; `names` (every
    /// port's id and name) is only called when ports changed since the last call.
    pub fn sync_names(&self, generation: u64, names: impl FnOnce() -> Vec<(PortId, String)>) {
        if self.generation.load(Ordering::Relaxed) == generation {
            return;
        }
        let mut table = lock(&self.names);
        table.clear();
        for (id, name) in names() {
            if table.len() <= id.index() {
                table.resize(id.index() + 1, None);
            }
            table[id.index()] = Some(Arc::from(name.as_str()));
        }
        self.generation.store(generation, Ordering::Relaxed);
    }

    /// `frame` arrived on `port` at `now`.
    pub fn rx(&self, port: PortId, frame: &[u8], now: Instant) {
        self.enqueue(port, Direction::In, frame, now);
    }

    /// The switch is sending `frame` out of `port` at `now`.
    pub fn tx(&self, port: PortId, frame: &[u8], now: Instant) {
        self.enqueue(port, Direction::Out, frame, now);
    }

    /// Counters so far.
    pub fn counters(&self) -> CaptureCounters {
        CaptureCounters {
            captured: self.shared.captured.load(Ordering::Relaxed),
            capture_dropped: self.shared.dropped.load(Ordering::Relaxed),
            write_errors: self.shared.write_errors.load(Ordering::Relaxed),
        }
    }

    /// Stop taking frames, let the writer flush what is queued, and wait for it.
    pub fn shutdown(&self) {
        lock(&self.tx).take();
        let writer = lock(&self.writer).take();
        if let Some(handle) = writer {
            let _ = handle.join();
        }
    }

    fn name(&self, port: PortId) -> Option<Arc<str>> {
        lock(&self.names).get(port.index()).cloned().flatten()
    }

    fn enqueue(&self, port: PortId, dir: Direction, frame: &[u8], now: Instant) {
        let Some(name) = self.name(port) else {
            return;
        };
        let tx = lock(&self.tx);
        let Some(tx) = tx.as_ref() else {
            return;
        };
        let len = frame.len();
        let queued = self.shared.queued_bytes.fetch_add(len, Ordering::Relaxed);
        if queued + len > QUEUE_BYTES {
            self.shared.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let msg = Msg {
            port: name,
            dir,
            ts: self.wall_origin.saturating_add(now.since_origin()),
            frame: frame.to_vec(),
        };
        match tx.try_send(msg) {
            Ok(()) => {
                self.shared.captured.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.shared.queued_bytes.fetch_sub(len, Ordering::Relaxed);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests;
