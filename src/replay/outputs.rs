//! The replay's output side: one pcap per port (`DIR/<port>.pcap`, see
//! [`crate::pcap::port_file_stem`]) holding what the switch sent out of it,
//! and the JSON state files.

use super::ReplayError;
use crate::pcap::{port_file_stem, PcapWriter};
use crate::port::PortId;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Output {
    path: PathBuf,
    writer: PcapWriter<BufWriter<File>>,
}

/// Per-port output files, indexed by port id.
pub(super) struct Outputs {
    by_port: Vec<Option<Output>>,
}

impl Outputs {
    /// Create `DIR/<port>.pcap` for every port (each starts as an empty capture).
    pub fn create(dir: &Path, ports: &[(PortId, String)]) -> Result<Outputs, ReplayError> {
        let mut by_port: Vec<Option<Output>> = Vec::new();
        for (id, name) in ports {
            let path = dir.join(format!("{}.pcap", port_file_stem(name)));
            let out_err = |error| ReplayError::Output {
                file: path.clone(),
                error,
            };
            let file = File::create(&path).map_err(out_err)?;
            let writer = PcapWriter::new(BufWriter::new(file)).map_err(out_err)?;
            if by_port.len() <= id.index() {
                by_port.resize_with(id.index() + 1, || None);
            }
            by_port[id.index()] = Some(Output { path, writer });
        }
        Ok(Outputs { by_port })
    }

    /// Record that the switch sent `frame` out of `port` at wall time `ts`.
    pub fn write(&mut self, port: PortId, ts: Duration, frame: &[u8]) -> Result<(), ReplayError> {
        let Some(Some(out)) = self.by_port.get_mut(port.index()) else {
            return Ok(());
        };
        out.writer
            .write(ts, frame)
            .map_err(|error| ReplayError::Output {
                file: out.path.clone(),
                error,
            })
    }

    /// Flush every file; the paths written, in port order.
    pub fn finish(self) -> Result<Vec<PathBuf>, ReplayError> {
        let mut paths = Vec::new();
        for out in self.by_port.into_iter().flatten() {
            let mut inner = out
                .writer
                .into_inner()
                .map_err(|error| ReplayError::Output {
                    file: out.path.clone(),
                    error,
                })?;
            inner.flush().map_err(|error| ReplayError::Output {
                file: out.path.clone(),
                error,
            })?;
            paths.push(out.path);
        }
        Ok(paths)
    }
}

/// Write `value` as pretty JSON with a final newline.
pub(super) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), ReplayError> {
    let out_err = |error| ReplayError::Output {
        file: path.to_path_buf(),
        error,
    };
    let mut text = serde_json::to_string_pretty(value).map_err(|e| out_err(e.into()))?;
    text.push('\n');
    std::fs::write(path, text).map_err(out_err)
}
