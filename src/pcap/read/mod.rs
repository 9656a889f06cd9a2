//! Reading pcap and pcapng files, record by record, without trusting them.
//!
//! Both formats, either byte order, micro- and nanosecond pcap, and
//! pcapng's per-interface timestamp resolution and offset. Every length
//! is checked before it is used or allocated, every error says which
//! record and which byte offset, and nothing here can panic on input.
//!
//! Record indices are 1-based and count packet records only (as
//! Wireshark numbers frames); offsets are where the record (or pcapng
//! block) starts in the file. The pcapng blocks are read in [`pcapng`].

use super::{linktype_name, Record, LINKTYPE_ETHERNET, MAX_SNAPLEN};
use std::fmt;
use std::io::{self, Read};
use std::time::Duration;

mod pcapng;

/// The largest pcapng block we read: a maximal packet plus generous options.
const MAX_BLOCK: u32 = 16 << 20;

const PCAP_MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BYTE_ORDER: u32 = 0x1a2b_3c4d;
const PCAPNG_IDB: u32 = 1;
const PCAPNG_PB: u32 = 2;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_EPB: u32 = 6;
const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

/// What went wrong, and where.
#[derive(Debug)]
pub struct ReadError {
    /// The 1-based index of the packet record being read; `None` for the file header.
    pub record: Option<u64>,
    /// Byte offset of the record or block in the file.
    pub offset: u64,
    /// What is wrong.
    pub kind: ReadErrorKind,
    /// Whether the reader can go on with the next record (the bad one's
    /// framing was intact, so it was skipped whole).
    pub resumable: bool,
}

/// The kinds of bad input.
#[derive(Debug, thiserror::Error)]
pub enum ReadErrorKind {
    /// Reading the file failed.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The file starts with neither a pcap magic nor a pcapng section header.
    #[error("not a pcap or pcapng file (starts with {0:#010x})")]
    NotACapture(u32),
    /// The capture is not of Ethernet frames.
    #[error("link type {0} ({name}) is not Ethernet (1): capture on the port's own interface", name = linktype_name(*.0))]
    LinkType(u32),
    /// The file ends inside a record.
    #[error("truncated: {wanted} bytes needed, the file ends after {got}")]
    Truncated {
        /// Bytes the header or record needs (its header included).
        wanted: u64,
        /// Bytes present.
        got: u64,
    },
    /// A length too large to be real.
    #[error("corrupt: record length {0} exceeds the limit of {MAX_SNAPLEN} bytes")]
    TooLarge(u64),
    /// A pcapng block that contradicts itself.
    #[error("corrupt pcapng block: {0}")]
    BadBlock(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            Some(n) => write!(
                f,
                "record {n} at byte offset {}: {}",
                self.offset, self.kind
            ),
            None => write!(
                f,
                "file header at byte offset {}: {}",
                self.offset, self.kind
            ),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ReadErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Byte order of the file.
#[derive(Debug, Clone, Copy)]
struct Endian {
    big: bool,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let raw: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        })
    }

    fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let raw: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        })
    }

    fn i64(self, b: &[u8], at: usize) -> Option<i64> {
        let raw: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
        Some(if self.big {
            i64::from_be_bytes(raw)
        } else {
            i64::from_le_bytes(raw)
        })
    }
}

/// A pcapng interface: what its packets are and how its clock ticks.
#[derive(Debug, Clone)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    units_per_sec: u64,
    offset_secs: i64,
}

#[derive(Debug)]
enum Format {
    Pcap {
        endian: Endian,
        nanos: bool,
    },
    PcapNg {
        endian: Endian,
        interfaces: Vec<Interface>,
        /// Simple packet blocks carry no time; they get the last one seen.
        last_ts: Duration,
    },
}

/// Reads records from a pcap or pcapng stream.
#[derive(Debug)]
pub struct PcapReader<R> {
    src: R,
    format: Format,
    /// Bytes consumed so far.
    offset: u64,
    /// Packet records started so far.
    records: u64,
    /// The record index errors report: the record being read, or for a
    /// pcapng block that holds no packet, the record that would come next.
    current: u64,
    /// Set after the end of the file or an error the reader cannot pass.
    done: bool,
}

impl<R: Read> PcapReader<R> {
    /// Read the file header and get ready for records. A pcap file must be of
    /// Ethernet frames; a pcapng file's interfaces are checked as packets use them.
    pub fn new(mut src: R) -> Result<Self, ReadError> {
        let header_err = |kind| ReadError {
            record: None,
            offset: 0,
            kind,
            resumable: false,
        };
        let mut magic = [0u8; 4];
        let got = fill(&mut src, &mut magic).map_err(|e| header_err(e.into()))?;
        if got < 4 {
            return Err(header_err(ReadErrorKind::Truncated {
                wanted: 4,
                got: got as u64,
            }));
        }
        let le = u32::from_le_bytes(magic);
        let be = u32::from_be_bytes(magic);
        let mut reader = PcapReader {
            src,
            format: Format::PcapNg {
                endian: Endian { big: false },
                interfaces: Vec::new(),
                last_ts: Duration::ZERO,
            },
            offset: 4,
            records: 0,
            current: 1,
            done: false,
        };
        if le == PCAPNG_SHB {
            reader.read_section_header(magic)?;
            return Ok(reader);
        }
        let (big, nanos) = match (le, be) {
            (PCAP_MAGIC_MICROS, _) => (false, false),
            (PCAP_MAGIC_NANOS, _) => (false, true),
            (_, PCAP_MAGIC_MICROS) => (true, false),
            (_, PCAP_MAGIC_NANOS) => (true, true),
            _ => return Err(header_err(ReadErrorKind::NotACapture(be))),
        };
        let endian = Endian { big };
        let mut rest = [0u8; 20];
        let got = reader.fill(&mut rest).map_err(|e| header_err(e.into()))?;
        if got < rest.len() {
            return Err(header_err(ReadErrorKind::Truncated {
                wanted: 24,
                got: 4 + got as u64,
            }));
        }
        // The link type is the low 16 bits; the upper bits may carry FCS flags.
        let linktype = endian.u32(&rest, 16).unwrap_or(0) & 0xffff;
        if linktype != LINKTYPE_ETHERNET {
            return Err(header_err(ReadErrorKind::LinkType(linktype)));
        }
        reader.format = Format::Pcap { endian, nanos };
        Ok(reader)
    }

    /// The next record; `Ok(None)` at the end of the file.
    ///
    /// After an error that is not [`ReadError::resumable`], the reader is
    /// finished and returns `Ok(None)`.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        if self.done {
            return Ok(None);
        }
        let result = match self.format {
            Format::Pcap { endian, nanos } => self.next_pcap(endian, nanos),
            Format::PcapNg { .. } => self.next_pcapng(),
        };
        match &result {
            Ok(None) => self.done = true,
            Err(e) if !e.resumable => self.done = true,
            _ => {}
        }
        result
    }

    /// Records started so far (including bad ones).
    pub fn records_seen(&self) -> u64 {
        self.records
    }

    fn fill(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = fill(&mut self.src, buf)?;
        self.offset += n as u64;
        Ok(n)
    }

    /// Read up to `len` bytes into a growing buffer (nothing is allocated
    /// for bytes the file does not have).
    fn take(&mut self, len: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        (&mut self.src).take(len).read_to_end(&mut out)?;
        self.offset += out.len() as u64;
        Ok(out)
    }

    fn err(&self, offset: u64, kind: ReadErrorKind, resumable: bool) -> ReadError {
        ReadError {
            record: Some(self.current),
            offset,
            kind,
            resumable,
        }
    }

    fn next_pcap(&mut self, endian: Endian, nanos: bool) -> Result<Option<Record>, ReadError> {
        let start = self.offset;
        self.current = self.records + 1;
        let mut hdr = [0u8; 16];
        let got = self
            .fill(&mut hdr)
            .map_err(|e| self.err(start, e.into(), false))?;
        if got == 0 {
            return Ok(None);
        }
        self.records += 1;
        if got < hdr.len() {
            let kind = ReadErrorKind::Truncated {
                wanted: 16,
                got: got as u64,
            };
            return Err(self.err(start, kind, false));
        }
        let field = |at| endian.u32(&hdr, at).unwrap_or(0);
        let (secs, frac, caplen, orig_len) = (field(0), field(4), field(8), field(12));
        if caplen > MAX_SNAPLEN {
            return Err(self.err(start, ReadErrorKind::TooLarge(caplen.into()), false));
        }
        let data = self
            .take(caplen.into())
            .map_err(|e| self.err(start, e.into(), false))?;
        if data.len() < caplen as usize {
            let kind = ReadErrorKind::Truncated {
                wanted: 16 + u64::from(caplen),
                got: 16 + data.len() as u64,
            };
            return Err(self.err(start, kind, false));
        }
        let frac_ns = if nanos {
            u64::from(frac)
        } else {
            u64::from(frac) * 1_000
        };
        Ok(Some(Record {
            timestamp: Duration::from_secs(secs.into()) + Duration::from_nanos(frac_ns),
            data,
            orig_len,
        }))
    }
}

/// Read until `buf` is full or the stream ends; the count read.
fn fill(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
