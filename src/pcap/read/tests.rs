use super::*;
use crate::pcap::write::PcapWriter;
use proptest::prelude::*;

fn pcap_of(frames: &[(u64, &[u8])]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new()).unwrap();
    for (ns, f) in frames {
        w.write(Duration::from_nanos(*ns), f).unwrap();
    }
    w.into_inner().unwrap()
}

fn read_all(bytes: &[u8]) -> Result<Vec<Record>, ReadError> {
    let mut r = PcapReader::new(bytes)?;
    let mut out = Vec::new();
    while let Some(rec) = r.next_record()? {
        out.push(rec);
    }
    Ok(out)
}

/// A pcapng block: type, total length, body padded to 4, total length.
fn block(big: bool, kind: u32, body: &[u8]) -> Vec<u8> {
    let u32b = |v: u32| {
        if big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(&u32b(kind));
    b.extend_from_slice(&u32b(total));
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend_from_slice(&u32b(total));
    b
}

fn shb(big: bool) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&if big {
        0x1a2b3c4du32.to_be_bytes()
    } else {
        0x1a2b3c4du32.to_le_bytes()
    });
    body.extend_from_slice(&[0, 1, 0, 0]); // version (byte order irrelevant for the test)
    body.extend_from_slice(&[0xff; 8]); // section length unknown
    block(big, PCAPNG_SHB, &body)
}

fn idb(linktype: u16, tsresol: Option<u8>) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&linktype.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    if let Some(r) = tsresol {
        body.extend_from_slice(&OPT_IF_TSRESOL.to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&[r, 0, 0, 0]);
        body.extend_from_slice(&[0, 0, 0, 0]);
    }
    block(false, PCAPNG_IDB, &body)
}

fn epb(iface: u32, ticks: u64, data: &[u8], orig: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&iface.to_le_bytes());
    body.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ticks as u32).to_le_bytes());
    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
    body.extend_from_slice(&orig.to_le_bytes());
    body.extend_from_slice(data);
    block(false, PCAPNG_EPB, &body)
}

#[test]
fn pcap_written_by_us_reads_back_with_nanoseconds() {
    let bytes = pcap_of(&[
        (1_700_000_000_123_456_789, b"abcdefghijklmn"),
        (1_700_000_001_000_000_000, b"xy"),
    ]);
    let recs = read_all(&bytes).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[0].timestamp,
        Duration::from_nanos(1_700_000_000_123_456_789)
    );
    assert_eq!(recs[0].data, b"abcdefghijklmn");
    assert_eq!(recs[1].orig_len, 2);
    assert!(!recs[1].is_truncated());
}

#[test]
fn big_endian_microsecond_pcap_reads() {
    let mut b = Vec::new();
    b.extend_from_slice(&PCAP_MAGIC_MICROS.to_be_bytes());
    b.extend_from_slice(&[
        0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1,
    ]);
    b.extend_from_slice(&10u32.to_be_bytes());
    b.extend_from_slice(&250_000u32.to_be_bytes());
    b.extend_from_slice(&3u32.to_be_bytes());
    b.extend_from_slice(&60u32.to_be_bytes());
    b.extend_from_slice(b"abc");
    let recs = read_all(&b).unwrap();
    assert_eq!(recs[0].timestamp, Duration::from_millis(10_250));
    assert!(recs[0].is_truncated(), "caplen 3 < origlen 60");
}

#[test]
fn pcapng_with_nanosecond_resolution_and_unknown_blocks_reads() {
    let mut b = shb(false);
    b.extend(idb(1, Some(9)));
    b.extend(block(false, 5, &[0; 16])); // interface statistics: skipped
    b.extend(epb(0, 5_000_000_007, b"frame-one", 9));
    b.extend(epb(0, 6_000_000_000, b"two", 100));
    let recs = read_all(&b).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].timestamp, Duration::from_nanos(5_000_000_007));
    assert_eq!(recs[1].data, b"two");
    assert!(recs[1].is_truncated());
}

#[test]
fn pcapng_default_resolution_is_microseconds() {
    let mut b = shb(false);
    b.extend(idb(1, None));
    b.extend(epb(0, 1_500_000, b"x", 1));
    assert_eq!(
        read_all(&b).unwrap()[0].timestamp,
        Duration::from_millis(1500)
    );
}

#[test]
fn non_ethernet_link_types_are_refused_by_name() {
    let mut b = pcap_of(&[]);
    b[20..24].copy_from_slice(&113u32.to_le_bytes());
    let err = read_all(&b).unwrap_err().to_string();
    assert!(
        err.contains("link type 113") && err.contains("Linux cooked"),
        "{err}"
    );

    let mut ng = shb(false);
    ng.extend(idb(101, None));
    ng.extend(epb(0, 1, b"x", 1));
    let err = read_all(&ng).unwrap_err();
    assert!(matches!(err.kind, ReadErrorKind::LinkType(101)), "{err}");
    assert!(!err.resumable);
}

#[test]
fn garbage_is_not_a_capture() {
    let err = read_all(b"hello world, this is text").unwrap_err();
    assert!(matches!(err.kind, ReadErrorKind::NotACapture(_)));
    assert_eq!(err.record, None);
    let err = read_all(b"\xd4\xc3").unwrap_err();
    assert!(matches!(err.kind, ReadErrorKind::Truncated { .. }), "{err}");
}

#[test]
fn truncated_record_names_its_index_and_offset() {
    let bytes = pcap_of(&[(0, &[1; 20]), (1, &[2; 30]), (2, &[3; 40])]);
    // Record 3 starts at 24 + (16+20) + (16+30) = 106; cut it after 10 bytes of data.
    let cut = &bytes[..106 + 16 + 10];
    let mut r = PcapReader::new(cut).unwrap();
    assert!(r.next_record().unwrap().is_some());
    assert!(r.next_record().unwrap().is_some());
    let err = r.next_record().unwrap_err();
    assert_eq!((err.record, err.offset), (Some(3), 106));
    assert_eq!(
        err.to_string(),
        "record 3 at byte offset 106: truncated: 56 bytes needed, the file ends after 26"
    );
    assert!(!err.resumable);
    assert!(
        r.next_record().unwrap().is_none(),
        "the reader is finished after a fatal error"
    );
}

#[test]
fn absurd_caplen_is_refused_before_allocating() {
    let mut bytes = pcap_of(&[(0, b"abc")]);
    bytes[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = read_all(&bytes).unwrap_err();
    assert!(matches!(err.kind, ReadErrorKind::TooLarge(_)), "{err}");
    assert_eq!((err.record, err.offset), (Some(1), 24));
}

#[test]
fn bad_pcapng_packet_block_is_skippable() {
    let mut b = shb(false);
    b.extend(idb(1, None));
    let bad_at = b.len() as u64;
    b.extend(epb(7, 1, b"on-a-missing-interface", 22));
    b.extend(epb(0, 2, b"good", 4));
    let mut r = PcapReader::new(b.as_slice()).unwrap();
    let err = r.next_record().unwrap_err();
    assert!(err.resumable);
    assert_eq!((err.record, err.offset), (Some(1), bad_at));
    let rec = r.next_record().unwrap().unwrap();
    assert_eq!(rec.data, b"good");
    assert_eq!(r.records_seen(), 2);
}

#[test]
fn pcapng_block_with_a_lying_length_is_fatal() {
    let mut b = shb(false);
    b.extend(idb(1, None));
    let mut e = epb(0, 1, b"abcd", 4);
    let n = e.len();
    e[n - 4..].copy_from_slice(&999u32.to_le_bytes());
    b.extend(e);
    let err = read_all(&b).unwrap_err();
    assert!(!err.resumable);
    assert!(err.to_string().contains("trailing length"), "{err}");
}

#[test]
fn big_endian_pcapng_reads() {
    let mut b = shb(true);
    let mut idb_body = Vec::new();
    idb_body.extend_from_slice(&1u16.to_be_bytes());
    idb_body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    b.extend(block(true, PCAPNG_IDB, &idb_body));
    let mut body = Vec::new();
    for v in [0u32, 0, 2_000_000, 2, 2] {
        body.extend_from_slice(&v.to_be_bytes());
    }
    body.extend_from_slice(b"hi");
    b.extend(block(true, PCAPNG_EPB, &body));
    let recs = read_all(&b).unwrap();
    assert_eq!(
        (recs[0].timestamp, recs[0].data.as_slice()),
        (Duration::from_secs(2), &b"hi"[..])
    );
}

proptest! {
    /// Any bytes, or a valid file with any bytes flipped or cut: errors, never a panic.
    #[test]
    fn hostile_bytes_never_panic(garbage in proptest::collection::vec(any::<u8>(), 0..512),
                                 flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..8),
                                 cut in 0usize..400) {
        let _ = read_all(&garbage);
        let mut ng = shb(false);
        ng.extend(idb(1, Some(9)));
        ng.extend(epb(0, 1, &[7; 60], 60));
        ng.extend(epb(0, 2, &[8; 14], 1500));
        let mut p = pcap_of(&[(0, &[1; 60]), (5, &[2; 100])]);
        for f in [&mut ng, &mut p] {
            for (at, v) in &flips {
                if let Some(b) = f.get_mut(*at) { *b ^= *v; }
            }
            f.truncate(cut.max(4));
            let _ = read_all(f);
        }
    }
}
