//! The replay's output side: one pcap per port (`DIR/<port>.pcap`, see
//! [`crate::pcap::port_file_stem`]) holding what the switch sent out of it,
//! and the JSON state files.

use super::ReplayError;
use crate::pcap::{port_file_stem, PcapWriter};
use crate::port::PortId;
use serde::Serialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Output {
    path: PathBuf,
    writer: PcapWriter<BufWriter<File>>,
}

/// Per-port output files, by port name (a port id may be reused by a
/// later port, a name is not), with the current id-to-file map.
pub(super) struct Outputs {
    dir: PathBuf,
    files: Vec<Output>,
    by_name: HashMap<String, usize>,
    by_port: Vec<Option<usize>>,
}

impl Outputs {
    /// Create `DIR/<port>.pcap` for every port (each starts as an empty capture).
    pub fn create(dir: &Path, ports: &[(PortId, String)]) -> Result<Outputs, ReplayError> {
        let mut outputs = Outputs {
            dir: dir.to_path_buf(),
            files: Vec::new(),
            by_name: HashMap::new(),
            by_port: Vec::new(),
        };
        outputs.sync(ports)?;
        Ok(outputs)
    }

    /// Map port ids to files as `ports` says, creating a file for each new name.
    pub fn sync(&mut self, ports: &[(PortId, String)]) -> Result<(), ReplayError> {
        self.by_port.clear();
        for (id, name) in ports {
            let index = match self.by_name.get(name) {
                Some(i) => *i,
                None => {
                    let path = self.dir.join(format!("{}.pcap", port_file_stem(name)));
                    let out_err = |error| ReplayError::Output {
                        file: path.clone(),
                        error,
                    };
                    let file = File::create(&path).map_err(out_err)?;
                    let writer = PcapWriter::new(BufWriter::new(file)).map_err(out_err)?;
                    self.files.push(Output { path, writer });
                    self.by_name.insert(name.clone(), self.files.len() - 1);
                    self.files.len() - 1
                }
            };
            if self.by_port.len() <= id.index() {
                self.by_port.resize(id.index() + 1, None);
            }
            self.by_port[id.index()] = Some(index);
        }
        Ok(())
    }

    /// Record that the switch sent `frame` out of `port` at wall time `ts`.
    pub fn write(&mut self, port: PortId, ts: Duration, frame: &[u8]) -> Result<(), ReplayError> {
        let Some(Some(index)) = self.by_port.get(port.index()) else {
            return Ok(());
        };
        let out = &mut self.files[*index];
        out.writer
            .write(ts, frame)
            .map_err(|error| ReplayError::Output {
                file: out.path.clone(),
                error,
            })
    }

    /// Flush every file; the paths written, in the order the ports appeared.
    pub fn finish(self) -> Result<Vec<PathBuf>, ReplayError> {
        let mut paths = Vec::new();
        for out in self.files {
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
