//! pcapng (draft-ietf-opsawg-pcapng): section headers, interface
//! descriptions with their timestamp resolution and offset, and the three
//! packet block kinds, each length checked before it is used.

use super::*;

impl<R: Read> PcapReader<R> {
    /// The rest of a section header block whose first four bytes were read.
    pub(super) fn read_section_header(&mut self, first: [u8; 4]) -> Result<(), ReadError> {
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

    pub(super) fn next_pcapng(&mut self) -> Result<Option<Record>, ReadError> {
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

    pub(super) fn interface_block(
        &mut self,
        endian: Endian,
        body: &[u8],
    ) -> Result<(), ReadErrorKind> {
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

    pub(super) fn interface(&self, id: u32) -> Result<Interface, ReadErrorKind> {
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
    pub(super) fn packet_block(
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
    pub(super) fn simple_packet_block(
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
