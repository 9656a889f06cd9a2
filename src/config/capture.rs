//! The `[capture]` section: where live capture writes and how much it keeps.
//! The capture itself is the driver's (`driver::capture`); the setting lives
//! here so the configuration depends on no driver.

use serde::Deserialize;
use std::path::PathBuf;

/// The `[capture]` config section (or `overcast run --capture DIR`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureConfig {
    /// Directory for the pcap files (created if missing).
    pub dir: PathBuf,
    /// Rotate a file before it grows past this many bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Files kept per port and direction, the current one included.
    #[serde(default = "default_max_files")]
    pub max_files: usize,
}

/// 64 MiB per file.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// Four files per port and direction.
pub const DEFAULT_MAX_FILES: usize = 4;

fn default_max_bytes() -> u64 {
    DEFAULT_MAX_BYTES
}

fn default_max_files() -> usize {
    DEFAULT_MAX_FILES
}

impl CaptureConfig {
    /// Capture into `dir` with the default limits.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        CaptureConfig {
            dir: dir.into(),
            max_bytes: DEFAULT_MAX_BYTES,
            max_files: DEFAULT_MAX_FILES,
        }
    }
}
