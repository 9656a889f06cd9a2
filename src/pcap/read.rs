//! Reading pcap and pcapng files, record by record, without trusting them.
//!
//! Both formats, either byte order, micro- and nanosecond pcap, and
//! pcapng's per-interface timestamp resolution and offset. Every length
//! is checked before it is used or allocated, every error says which
//! record and which byte offset, and nothing here can panic on input.
//!
//! Record indices are 1-based and count packet records only (as
//! Wireshark numbers frames); offsets are where the record (or pcapng
//! block) starts in the file.

use super::{linktype_name, Record, LINKTYPE_ETHERNET, MAX_SNAPLEN};
use std::fmt;
use std::io::{self, Read};
use std::time::Duration;

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

    /// The rest of a section header block whose first four bytes were read.
    fn read_section_header(&mut self, first: [u8; 4]) -> Result<(), ReadError> {
        let start = self.offset - 4;
        let header = start == 0;
        let fail = |this: &Self, kind| ReadError {
            record: (!header).then_some(this.records + 1),
            offset: start,
            kind,
            resumable: false,
        };
        let mut head = [0u8; 8];
        let got = self.fill(&mut head).map_err(|e| fail(self, e.into()))?;
        if got < head.len() {
            let kind = ReadErrorKind::Truncated {
                wanted: 12,
                got: 4 + got as u64,
            };
            return Err(fail(self, kind));
        }
        let big = match u32::from_le_bytes([head[4], head[5], head[6], head[7]]) {
            PCAPNG_BYTE_ORDER => false,
            m if m.swap_bytes() == PCAPNG_BYTE_ORDER => true,
            _ if header => {
                return Err(fail(
                    self,
                    ReadErrorKind::NotACapture(u32::from_be_bytes(first)),
                ))
            }
            m => {
                return Err(fail(
                    self,
                    ReadErrorKind::BadBlock(format!("bad byte-order magic {m:#010x}")),
                ))
            }
        };
        let endian = Endian { big };
        let total = endian.u32(&head, 0).unwrap_or(0);
        if !(28..=MAX_BLOCK).contains(&total) || total % 4 != 0 {
            let kind = ReadErrorKind::BadBlock(format!("section header length {total}"));
            return Err(fail(self, kind));
        }
        // Body after the byte-order magic, plus the trailing length.
        let rest = self
            .take(u64::from(total) - 12)
            .map_err(|e| fail(self, e.into()))?;
        if rest.len() < total as usize - 12 {
            let kind = ReadErrorKind::Truncated {
                wanted: total.into(),
                got: 12 + rest.len() as u64,
            };
            return Err(fail(self, kind));
        }
        if endian.u32(&rest, rest.len() - 4) != Some(total) {
            let kind = ReadErrorKind::BadBlock("section header trailing length differs".into());
            return Err(fail(self, kind));
        }
        // A new section starts with no interfaces; packets keep their order.
        let last_ts = match self.format {
            Format::PcapNg { last_ts, .. } => last_ts,
            Format::Pcap { .. } => Duration::ZERO,
        };
        self.format = Format::PcapNg {
            endian,
            interfaces: Vec::new(),
            last_ts,
        };
        Ok(())
    }

    fn next_pcapng(&mut self) -> Result<Option<Record>, ReadError> {
        loop {
            let start = self.offset;
            self.current = self.records + 1;
            let mut head = [0u8; 4];
            let got = self
                .fill(&mut head)
                .map_err(|e| self.err(start, e.into(), false))?;
            if got == 0 {
                return Ok(None);
            }
            if got < 4 {
                let kind = ReadErrorKind::Truncated {
                    wanted: 8,
                    got: got as u64,
                };
                return Err(self.err(start, kind, false));
            }
            if u32::from_le_bytes(head) == PCAPNG_SHB {
                self.read_section_header(head)?;
                continue;
            }
            let endian = match &self.format {
                Format::PcapNg { endian, .. } => *endian,
                Format::Pcap { .. } => return Ok(None),
            };
            let block_type = endian.u32(&head, 0).unwrap_or(0);
            let is_packet = matches!(block_type, PCAPNG_EPB | PCAPNG_SPB | PCAPNG_PB);
            if is_packet {
                self.records += 1;
            }
            let mut len = [0u8; 4];
            let got = self
                .fill(&mut len)
                .map_err(|e| self.err(start, e.into(), false))?;
            if got < 4 {
                let kind = ReadErrorKind::Truncated {
                    wanted: 8,
                    got: 4 + got as u64,
                };
                return Err(self.err(start, kind, false));
            }
            let total = endian.u32(&len, 0).unwrap_or(0);
            if !(12..=MAX_BLOCK).contains(&total) || total % 4 != 0 {
                let kind = ReadErrorKind::BadBlock(format!(
                    "block type {block_type:#x} has length {total} (must be a multiple of 4, 12 to {MAX_BLOCK})"
                ));
                return Err(self.err(start, kind, false));
            }
            let mut body = self
                .take(u64::from(total) - 8)
                .map_err(|e| self.err(start, e.into(), false))?;
            if body.len() < total as usize - 8 {
                let kind = ReadErrorKind::Truncated {
                    wanted: total.into(),
                    got: 8 + body.len() as u64,
                };
                return Err(self.err(start, kind, false));
            }
            if endian.u32(&body, body.len() - 4) != Some(total) {
                let kind = ReadErrorKind::BadBlock(format!(
                    "block type {block_type:#x}: trailing length differs from {total}"
                ));
                return Err(self.err(start, kind, false));
            }
            body.truncate(body.len() - 4);
            let parsed = match block_type {
                PCAPNG_IDB => self.interface_block(endian, &body).map(|()| None),
                PCAPNG_EPB => self.packet_block(endian, &body, false).map(Some),
                PCAPNG_PB => self.packet_block(endian, &body, true).map(Some),
                PCAPNG_SPB => self.simple_packet_block(endian, body).map(Some),
                // Name resolution, statistics, custom blocks: nothing for a switch.
                _ => Ok(None),
            };
            match parsed {
                Ok(Some(record)) => return Ok(Some(record)),
                Ok(None) => continue,
                // The block was read whole, so the next one can still be read,
                // unless the file is of a link type we cannot use at all.
                Err(kind) => {
                    let resumable = !matches!(kind, ReadErrorKind::LinkType(_));
                    return Err(self.err(start, kind, resumable));
                }
            }
        }
    }

    fn interface_block(&mut self, endian: Endian, body: &[u8]) -> Result<(), ReadErrorKind> {
        let short = || ReadErrorKind::BadBlock("interface description shorter than 8 bytes".into());
        let linktype = endian.u16(body, 0).ok_or_else(short)?;
        let snaplen = endian.u32(body, 4).ok_or_else(short)?;
        let mut iface = Interface {
            linktype: linktype.into(),
            snaplen,
            units_per_sec: 1_000_000,
            offset_secs: 0,
        };
        for (code, value) in options(endian, body.get(8..).unwrap_or_default()) {
            match code {
                OPT_IF_TSRESOL => {
                    let r = value.first().copied().unwrap_or(6);
                    let units = if r & 0x80 == 0 {
                        10u64.checked_pow(u32::from(r))
                    } else {
                        2u64.checked_pow(u32::from(r & 0x7f))
                    };
                    iface.units_per_sec = units.ok_or_else(|| {
                        ReadErrorKind::BadBlock(format!(
                            "timestamp resolution {r:#04x} out of range"
                        ))
                    })?;
                }
                OPT_IF_TSOFFSET => iface.offset_secs = endian.i64(value, 0).unwrap_or(0),
                _ => {}
            }
        }
        if let Format::PcapNg { interfaces, .. } = &mut self.format {
            interfaces.push(iface);
        }
        Ok(())
    }

    fn interface(&self, id: u32) -> Result<Interface, ReadErrorKind> {
        let Format::PcapNg { interfaces, .. } = &self.format else {
            return Err(ReadErrorKind::BadBlock("not a pcapng section".into()));
        };
        let iface = interfaces.get(id as usize).cloned().ok_or_else(|| {
            ReadErrorKind::BadBlock(format!("packet on undeclared interface {id}"))
        })?;
        if iface.linktype != LINKTYPE_ETHERNET {
            return Err(ReadErrorKind::LinkType(iface.linktype));
        }
        Ok(iface)
    }

    /// An enhanced packet block, or the obsolete packet block (`legacy`),
    /// whose interface id is 16 bits followed by a drop count.
    fn packet_block(
        &mut self,
        endian: Endian,
        body: &[u8],
        legacy: bool,
    ) -> Result<Record, ReadErrorKind> {
        let short = || ReadErrorKind::BadBlock("packet block shorter than 20 bytes".into());
        let id = if legacy {
            endian.u16(body, 0).map(u32::from)
        } else {
            endian.u32(body, 0)
        }
        .ok_or_else(short)?;
        let (hi, lo) = (
            endian.u32(body, 4).ok_or_else(short)?,
            endian.u32(body, 8).ok_or_else(short)?,
        );
        let caplen = endian.u32(body, 12).ok_or_else(short)?;
        let orig_len = endian.u32(body, 16).ok_or_else(short)?;
        let iface = self.interface(id)?;
        if caplen > MAX_SNAPLEN {
            return Err(ReadErrorKind::TooLarge(caplen.into()));
        }
        let data = body
            .get(20..20 + caplen as usize)
            .ok_or_else(|| {
                ReadErrorKind::BadBlock(format!("captured length {caplen} overruns the block"))
            })?
            .to_vec();
        let timestamp = ticks_to_time((u64::from(hi) << 32) | u64::from(lo), &iface);
        if let Format::PcapNg { last_ts, .. } = &mut self.format {
            *last_ts = timestamp;
        }
        Ok(Record {
            timestamp,
            data,
            orig_len,
        })
    }

    /// A simple packet block: interface 0, no timestamp (it gets the last one seen).
    fn simple_packet_block(
        &mut self,
        endian: Endian,
        mut body: Vec<u8>,
    ) -> Result<Record, ReadErrorKind> {
        let orig_len = endian.u32(&body, 0).ok_or_else(|| {
            ReadErrorKind::BadBlock("simple packet block shorter than 4 bytes".into())
        })?;
        let iface = self.interface(0)?;
        let mut caplen = (body.len() - 4).min(orig_len as usize);
        if iface.snaplen > 0 {
            caplen = caplen.min(iface.snaplen as usize);
        }
        if caplen > MAX_SNAPLEN as usize {
            return Err(ReadErrorKind::TooLarge(caplen as u64));
        }
        body.drain(..4);
        body.truncate(caplen);
        let timestamp = match self.format {
            Format::PcapNg { last_ts, .. } => last_ts,
            Format::Pcap { .. } => Duration::ZERO,
        };
        Ok(Record {
            timestamp,
            data: body,
            orig_len,
        })
    }
}

/// Convert pcapng ticks to time since the epoch, saturating instead of overflowing.
fn ticks_to_time(ticks: u64, iface: &Interface) -> Duration {
    let units = u128::from(iface.units_per_sec.max(1));
    let ns = u128::from(ticks) * 1_000_000_000 / units;
    let secs = u64::try_from(ns / 1_000_000_000).unwrap_or(u64::MAX);
    let t = Duration::new(secs, (ns % 1_000_000_000) as u32);
    let offset = Duration::from_secs(iface.offset_secs.unsigned_abs());
    if iface.offset_secs >= 0 {
        t.checked_add(offset).unwrap_or(Duration::MAX)
    } else {
        t.saturating_sub(offset)
    }
}

/// pcapng options: (code, value) pairs up to `opt_endofopt` or a malformed one.
fn options(endian: Endian, mut b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let code = endian.u16(b, 0)?;
        let len = usize::from(endian.u16(b, 2)?);
        if code == OPT_END {
            return None;
        }
        let value = b.get(4..4 + len)?;
        let padded = 4 + len.div_ceil(4) * 4;
        b = b.get(padded..).unwrap_or_default();
        Some((code, value))
    })
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
