//! Pcap replay: drive the sans-I/O core from capture files on a virtual clock.
//!
//! Each input feeds one named port, or one tunnel listener (`--in-tunnel`:
//! an underlay capture whose UDP datagrams go through the listener's
//! admission, so peers are admitted, expire and are refused on the virtual
//! clock exactly as live; each admitted peer gets an output file). All inputs are merged by timestamp
//! (ties: `--in` order, then record order). **Virtual time 0 is the
//! timestamp of the earliest first record among the inputs** (the
//! earliest record, for files in time order, as captures are); a record
//! stamped before the time already reached is fed at the current time and
//! counted in `out_of_order_records`; one stamped more than [`MAX_GAP`]
//! (7 days) ahead is taken for corruption. Before each frame, every timer due
//! at or before its time fires at its own deadline, and what the switch
//! originates then is written at that deadline.
//!
//! Outputs, in the output directory:
//! - `<port>.pcap` for every port (the `--in` ports and the config's TAP
//!   ports, which are silent): what the switch sent out of it, stamped
//!   with virtual time + the earliest record's wall time, so outputs are
//!   real captures. Nanosecond pcap; port names map to file names through
//!   [`crate::pcap::port_file_stem`].
//! - `state.json` at the end, `state-<ms>.json` for each `--state-at`:
//!   `{"replay": ReplayStats, "switch": SwitchState}`.
//!
//! The same inputs and config give byte-identical outputs: no wall clock,
//! no randomness, and every list in the state is sorted.

mod engine;
mod inputs;
mod outputs;

pub use engine::MAX_GAP;

use crate::config::Config;
use crate::pcap::ReadError;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// What an input's records are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum InputKind {
    /// Frames arriving on a switch port (`--in PORT=FILE`).
    #[default]
    Port,
    /// An underlay capture of UDP datagrams to a tunnel listener
    /// (`--in-tunnel LISTENER=FILE`): each datagram goes through the
    /// listener's admission, so peers appear, expire and are refused as live.
    Tunnel,
}

/// One `--in PORT=FILE` or `--in-tunnel LISTENER=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// The port the file's frames arrive on, or the listener its datagrams are sent to.
    pub port: String,
    /// A pcap or pcapng file of Ethernet frames.
    pub file: PathBuf,
    /// Frames for a port, or datagrams for a listener.
    pub kind: InputKind,
}

impl FromStr for InputSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('=') {
            Some((port, file)) if !port.is_empty() && !file.is_empty() => Ok(InputSpec {
                port: port.to_string(),
                file: PathBuf::from(file),
                kind: InputKind::Port,
            }),
            _ => Err(format!("{s:?}: expected PORT=FILE")),
        }
    }
}

/// What to replay, and how.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Switch settings and TAP ports (which exist as silent ports).
    pub config: Config,
    /// Inputs, in `--in` order.
    pub inputs: Vec<InputSpec>,
    /// Where outputs go (created if missing).
    pub out_dir: PathBuf,
    /// Keep the clock running to this virtual time; frames stamped later are not fed.
    pub until: Option<Duration>,
    /// Also write the state at these virtual times.
    pub state_at: Vec<Duration>,
    /// Count and skip bad records instead of failing.
    pub skip_bad_records: bool,
}

/// Counters of one input.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct InputStats {
    /// The port it feeds.
    pub port: String,
    /// The file's name (no directory, so state files do not depend on where inputs live).
    pub file: String,
    /// Good records read.
    pub records_read: u64,
    /// Records fed to the core.
    pub frames_fed: u64,
    /// Records whose capture kept fewer bytes than the frame had; fed as captured.
    pub truncated_records: u64,
    /// Bad records skipped (`--skip-bad-records`): unreadable, or stamped more
    /// than [`MAX_GAP`] past the clock.
    pub bad_records: u64,
    /// Records stamped earlier than the clock had reached; fed at the current time.
    pub out_of_order_records: u64,
    /// Records of a tunnel input that are not a UDP datagram to its listener's port.
    #[serde(skip_serializing_if = "crate::is_zero")]
    pub not_for_listener: u64,
}

impl InputStats {
    fn new(spec: &InputSpec) -> Self {
        InputStats {
            port: spec.port.clone(),
            file: spec
                .file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..InputStats::default()
        }
    }
}

/// What a replay did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ReplayStats {
    /// Wall time of virtual time 0, in nanoseconds since the Unix epoch.
    pub origin_unix_ns: u64,
    /// Virtual time reached, in milliseconds.
    pub now_ms: u64,
    /// Frames fed to the core.
    pub frames_fed: u64,
    /// Fed frames the core sent out of at least one port.
    pub frames_forwarded: u64,
    /// Fed frames the core dropped (each counted under a reason on its port).
    pub frames_dropped: u64,
    /// Frames the switch originated (queries).
    pub frames_originated: u64,
    /// Per input, in `--in` order.
    pub inputs: Vec<InputStats>,
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct ReplayReport {
    /// Final counters (also in `state.json`).
    pub stats: ReplayStats,
    /// Every file written, outputs in port order then the state files.
    pub files: Vec<PathBuf>,
}

/// Why a replay failed. Each message is complete (file, record, offset,
/// cause), so the cause is part of the message rather than a separate source.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An input file could not be opened.
    #[error("input {}: cannot open: {error}", file.display())]
    Open {
        /// The file.
        file: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// An input file is bad (the error names the record and byte offset).
    #[error("input {}: {error}", file.display())]
    Input {
        /// The file.
        file: PathBuf,
        /// What and where.
        error: ReadError,
    },
    /// An output could not be written.
    #[error("output {}: {error}", file.display())]
    Output {
        /// The file.
        file: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A record stamped implausibly far past the clock (see [`MAX_GAP`]).
    #[error(
        "input {}: record {record}: timestamp is {} past the replay's clock \
         (more than {}; corrupt?)",
        file.display(),
        humantime::format_duration(*gap),
        humantime::format_duration(MAX_GAP)
    )]
    TimeJump {
        /// The file.
        file: PathBuf,
        /// The record's 1-based index.
        record: u64,
        /// How far ahead it is.
        gap: Duration,
    },
    /// A port could not be created.
    #[error("{0}")]
    Port(#[from] crate::switch::SwitchError),
    /// Options that contradict each other.
    #[error("{0}")]
    Options(String),
    /// The core asked for a timer at or before the one it just ran: replaying
    /// on would never end, so stop and say so.
    #[error("the core's timer did not advance past {0:?}")]
    TimerStuck(Duration),
}

/// The JSON written to `state.json` and `state-<ms>.json`.
#[derive(Debug, Serialize)]
pub struct StateFile<'a> {
    /// Replay counters so far.
    pub replay: &'a ReplayStats,
    /// The core's whole state.
    pub switch: crate::switch::SwitchState,
    /// Tunnel listeners, when the configuration has any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<crate::node::ListenerRow>,
    /// Tunnel peers, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<crate::node::PeerRow>,
}

/// Replay the inputs; write outputs and state files into `opts.out_dir`.
pub fn run(opts: &ReplayOptions) -> Result<ReplayReport, ReplayError> {
    if let (Some(until), Some(late)) = (opts.until, opts.state_at.iter().max()) {
        if *late > until {
            return Err(ReplayError::Options(format!(
                "--state-at {} is after --until {}",
                humantime::format_duration(*late),
                humantime::format_duration(until)
            )));
        }
    }
    std::fs::create_dir_all(&opts.out_dir).map_err(|error| ReplayError::Output {
        file: opts.out_dir.clone(),
        error,
    })?;
    engine::Engine::run(opts)
}

/// The file `--state-at` writes for virtual time `at`.
pub fn state_at_path(dir: &Path, at: Duration) -> PathBuf {
    dir.join(format!("state-{}.json", at.as_millis()))
}
