//! Writing classic pcap files: nanosecond resolution, little-endian, Ethernet.
//!
//! Nanoseconds because the core's clock is nanoseconds: a replayed frame or
//! a query the switch originated is stamped at its exact virtual time, and
//! microsecond input timestamps carry over unchanged. Classic pcap (not
//! pcapng) because every tool reads it and appending is trivially safe.

use super::{Record, LINKTYPE_ETHERNET, MAX_SNAPLEN};
use std::io::{self, Write};
use std::time::Duration;

/// Size of the file header.
pub const FILE_HEADER_LEN: u64 = 24;
/// Size of each record header.
pub const RECORD_HEADER_LEN: u64 = 16;

const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Writes a pcap stream.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Start a file: write its header.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = Vec::with_capacity(FILE_HEADER_LEN as usize);
        h.extend_from_slice(&MAGIC_NANOS.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone: always UTC
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&MAX_SNAPLEN.to_le_bytes());
        h.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            written: FILE_HEADER_LEN,
        })
    }

    /// Append one frame seen at `timestamp` (since the epoch). Frames longer
    /// than [`MAX_SNAPLEN`] are cut there, with their real length recorded.
    pub fn write(&mut self, timestamp: Duration, frame: &[u8]) -> io::Result<()> {
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let caplen = orig_len.min(MAX_SNAPLEN);
        self.write_parts(timestamp, &frame[..caplen as usize], orig_len)
    }

    /// Append a record as read (keeps a truncated record truncated).
    pub fn write_record(&mut self, r: &Record) -> io::Result<()> {
        let caplen = r.data.len().min(MAX_SNAPLEN as usize);
        self.write_parts(
            r.timestamp,
            &r.data[..caplen],
            r.orig_len.max(caplen as u32),
        )
    }

    fn write_parts(&mut self, ts: Duration, data: &[u8], orig_len: u32) -> io::Result<()> {
        // pcap seconds are 32 bits: fine until 2106; later times saturate.
        let secs = u32::try_from(ts.as_secs()).unwrap_or(u32::MAX);
        let mut h = [0u8; RECORD_HEADER_LEN as usize];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&ts.subsec_nanos().to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(data)?;
        self.written += RECORD_HEADER_LEN + data.len() as u64;
        Ok(())
    }

    /// Bytes written so far, header included.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Flush the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flush and hand back the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
