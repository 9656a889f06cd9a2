//! The replay's input side: one reader per `--in` file, merged into a single
//! stream ordered by timestamp, ties broken by `--in` order and then by
//! record order, so the merge is the same on every run.

use super::{InputSpec, InputStats, ReplayError};
use crate::pcap::{PcapReader, ReadErrorKind, Record};
use std::fs::File;
use std::io::BufReader;
use std::time::Duration;

/// One input file and its next record.
struct Input {
    spec: InputSpec,
    reader: PcapReader<BufReader<File>>,
    head: Option<Record>,
    stats: InputStats,
}

/// All inputs, merged.
pub(super) struct Inputs {
    inputs: Vec<Input>,
    skip_bad_records: bool,
}

impl Inputs {
    /// Open every file and read its first record. A file that is not a
    /// capture, or not of Ethernet frames, is an error even with
    /// `skip_bad_records`: there is nothing in it to replay.
    pub fn open(specs: &[InputSpec], skip_bad_records: bool) -> Result<Inputs, ReplayError> {
        let mut inputs = Vec::with_capacity(specs.len());
        for spec in specs {
            let file = File::open(&spec.file).map_err(|error| ReplayError::Open {
                file: spec.file.clone(),
                error,
            })?;
            let reader =
                PcapReader::new(BufReader::new(file)).map_err(|error| ReplayError::Input {
                    file: spec.file.clone(),
                    error,
                })?;
            inputs.push(Input {
                stats: InputStats::new(spec),
                spec: spec.clone(),
                reader,
                head: None,
            });
        }
        let mut all = Inputs {
            inputs,
            skip_bad_records,
        };
        for i in 0..all.inputs.len() {
            all.refill(i)?;
        }
        Ok(all)
    }

    /// Load input `i`'s next good record into its head, skipping bad ones if allowed.
    fn refill(&mut self, i: usize) -> Result<(), ReplayError> {
        let skip = self.skip_bad_records;
        let Some(input) = self.inputs.get_mut(i) else {
            return Ok(());
        };
        input.head = None;
        loop {
            match input.reader.next_record() {
                Ok(Some(record)) => {
                    input.stats.records_read += 1;
                    if record.is_truncated() {
                        input.stats.truncated_records += 1;
                    }
                    input.head = Some(record);
                    return Ok(());
                }
                Ok(None) => return Ok(()),
                Err(e) if skip && !matches!(e.kind, ReadErrorKind::LinkType(_)) => {
                    input.stats.bad_records += 1;
                    // A resumable error skipped the bad record whole; otherwise
                    // the reader is finished and the next call says so.
                    tracing::warn!(file = %input.spec.file.display(), error = %e, "bad record skipped");
                }
                Err(error) => {
                    return Err(ReplayError::Input {
                        file: input.spec.file.clone(),
                        error,
                    })
                }
            }
        }
    }

    /// The earliest head: (input index, timestamp). Ties go to the earlier input.
    pub fn peek(&self) -> Option<(usize, Duration)> {
        self.inputs
            .iter()
            .enumerate()
            .filter_map(|(i, input)| input.head.as_ref().map(|r| (i, r.timestamp)))
            .min_by_key(|&(i, ts)| (ts, i))
    }

    /// Take input `i`'s head and read its next record.
    pub fn take(&mut self, i: usize) -> Result<Option<Record>, ReplayError> {
        let record = self.inputs.get_mut(i).and_then(|input| input.head.take());
        self.refill(i)?;
        Ok(record)
    }

    /// Drop input `i`'s head as a bad record (an implausible timestamp).
    pub fn skip_bad(&mut self, i: usize) -> Result<(), ReplayError> {
        if let Some(input) = self.inputs.get_mut(i) {
            input.stats.bad_records += 1;
        }
        self.take(i).map(|_| ())
    }

    /// Input `i`'s file and the 1-based index of its head record, for messages.
    pub fn position(&self, i: usize) -> (std::path::PathBuf, u64) {
        self.inputs
            .get(i)
            .map(|input| (input.spec.file.clone(), input.reader.records_seen()))
            .unwrap_or_default()
    }

    /// The port input `i` feeds.
    pub fn port(&self, i: usize) -> Option<&str> {
        self.inputs.get(i).map(|input| input.spec.port.as_str())
    }

    /// Per-input counters, in `--in` order.
    pub fn stats(&self) -> impl Iterator<Item = &InputStats> {
        self.inputs.iter().map(|i| &i.stats)
    }

    /// Counters of input `i`, to update as its records are fed.
    pub fn stats_mut(&mut self, i: usize) -> Option<&mut InputStats> {
        self.inputs.get_mut(i).map(|input| &mut input.stats)
    }
}
