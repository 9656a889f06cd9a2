//! The capture writer thread: all file I/O, size-based rotation, and
//! flushing when the queue goes quiet (so files are whole while idle).

use super::{CaptureConfig, Direction, Msg, Shared};
use crate::pcap::write::{FILE_HEADER_LEN, RECORD_HEADER_LEN};
use crate::pcap::{port_file_stem, PcapWriter};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// Flush open files after this long without a frame.
const FLUSH_AFTER_IDLE: Duration = Duration::from_millis(200);

/// The thread's body: write until the data path hangs up, then flush.
pub(super) fn run(rx: Receiver<Msg>, cfg: CaptureConfig, shared: Arc<Shared>) {
    let mut streams: BTreeMap<(Arc<str>, Direction), Rotating> = BTreeMap::new();
    loop {
        match rx.recv_timeout(FLUSH_AFTER_IDLE) {
            Ok(msg) => {
                shared
                    .queued_bytes
                    .fetch_sub(msg.frame.len(), Ordering::Relaxed);
                if !streams.contains_key(&(msg.port.clone(), msg.dir)) {
                    // Both files of a port start together: a port that only
                    // ever sent still gets its (empty) input file for replay.
                    for dir in [Direction::In, Direction::Out] {
                        let stream = Rotating::new(&cfg, &msg.port, dir);
                        streams.insert((msg.port.clone(), dir), stream);
                    }
                }
                if let Some(stream) = streams.get_mut(&(msg.port.clone(), msg.dir)) {
                    if stream.write(msg.ts, &msg.frame).is_err() {
                        shared.write_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => streams.values_mut().for_each(Rotating::flush),
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    streams.values_mut().for_each(Rotating::flush);
}

/// One port and direction: the current file and its rotated predecessors.
pub(super) struct Rotating {
    dir: PathBuf,
    /// `<port>.in` or `<port>.out`.
    stem: String,
    max_bytes: u64,
    max_files: usize,
    current: Option<PcapWriter<BufWriter<File>>>,
    /// Set after a file error, so each stream logs its first error only.
    failed: bool,
}

impl Rotating {
    /// Start the stream: remove what an earlier run left under its names,
    /// create the current file.
    pub fn new(cfg: &CaptureConfig, port: &str, dir: Direction) -> Rotating {
        let suffix = match dir {
            Direction::In => "in",
            Direction::Out => "out",
        };
        let mut stream = Rotating {
            dir: cfg.dir.clone(),
            stem: format!("{}.{suffix}", port_file_stem(port)),
            max_bytes: cfg.max_bytes,
            max_files: cfg.max_files.max(1),
            current: None,
            failed: false,
        };
        let mut k = 1;
        while std::fs::remove_file(stream.rotated(k)).is_ok() {
            k += 1;
        }
        if let Err(e) = stream.open() {
            stream.fail(&e);
        }
        stream
    }

    /// The current file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.pcap", self.stem))
    }

    /// The `k`-th rotated file (1 = most recent).
    pub fn rotated(&self, k: usize) -> PathBuf {
        self.dir.join(format!("{}.{k}.pcap", self.stem))
    }

    fn open(&mut self) -> io::Result<()> {
        let file = File::create(self.path())?;
        let mut w = PcapWriter::new(BufWriter::new(file))?;
        // The header reaches the disk at once: a file is a valid (empty)
        // capture from the start, even if the switch is killed.
        w.flush()?;
        self.current = Some(w);
        Ok(())
    }

    /// Append a frame, rotating first if it would push the file past `max_bytes`
    /// (a file holds at least one frame, however large).
    pub fn write(&mut self, ts: Duration, frame: &[u8]) -> io::Result<()> {
        let size = self.current.as_ref().map(PcapWriter::bytes_written);
        let Some(size) = size else {
            return Err(io::Error::other("capture file unavailable"));
        };
        let grows_to = size + RECORD_HEADER_LEN + frame.len() as u64;
        if size > FILE_HEADER_LEN && grows_to > self.max_bytes {
            if let Err(e) = self.rotate() {
                self.fail(&e);
                return Err(e);
            }
        }
        let result = match self.current.as_mut() {
            Some(w) => w.write(ts, frame),
            None => Err(io::Error::other("capture file unavailable")),
        };
        if let Err(e) = &result {
            self.fail(e);
        }
        result
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(w) = self.current.take() {
            w.into_inner()?;
        }
        let oldest = self.max_files - 1;
        if oldest == 0 {
            return self.open();
        }
        remove_if_exists(&self.rotated(oldest))?;
        for k in (1..oldest).rev() {
            rename_if_exists(&self.rotated(k), &self.rotated(k + 1))?;
        }
        std::fs::rename(self.path(), self.rotated(1))?;
        self.open()
    }

    /// Push buffered frames to the file.
    pub fn flush(&mut self) {
        if let Some(w) = self.current.as_mut() {
            if let Err(e) = w.flush() {
                self.fail(&e);
            }
        }
    }

    fn fail(&mut self, e: &io::Error) {
        if !self.failed {
            self.failed = true;
            tracing::warn!(file = %self.path().display(), error = %e, "capture file error; frames for it are lost");
        }
    }
}

fn remove_if_exists(p: &Path) -> io::Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
