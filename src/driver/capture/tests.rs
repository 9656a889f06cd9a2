use super::writer::Rotating;
use super::*;
use crate::pcap::{PcapReader, Record};
use std::path::{Path, PathBuf};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("overcast-capture-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn records(path: &Path) -> Vec<Record> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = PcapReader::new(std::io::BufReader::new(file)).unwrap();
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push(rec);
    }
    out
}

/// Port names as a node would list them: ids in order.
fn ports(names: &[&str]) -> Vec<(PortId, String)> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| (PortId(i as u32), n.to_string()))
        .collect()
}

#[test]
fn rotation_keeps_max_files_each_within_max_bytes() {
    let dir = temp_dir("rotate");
    let cfg = CaptureConfig {
        dir: dir.clone(),
        max_bytes: 24 + 3 * (16 + 100),
        max_files: 3,
    };
    let mut stream = Rotating::new(&cfg, "vxlan/10.0.0.2", Direction::In);
    for i in 0..10u8 {
        stream
            .write(Duration::from_secs(i.into()), &[i; 100])
            .unwrap();
    }
    stream.flush();
    let first_byte = |p: &Path| -> Vec<u8> { records(p).iter().map(|r| r.data[0]).collect() };
    assert_eq!(stream.path(), dir.join("vxlan%2F10.0.0.2.in.pcap"));
    assert_eq!(first_byte(&stream.path()), vec![9]);
    assert_eq!(first_byte(&stream.rotated(1)), vec![6, 7, 8]);
    assert_eq!(first_byte(&stream.rotated(2)), vec![3, 4, 5]);
    assert!(!stream.rotated(3).exists(), "only max_files files are kept");
    for p in [stream.path(), stream.rotated(1), stream.rotated(2)] {
        assert!(std::fs::metadata(&p).unwrap().len() <= cfg.max_bytes);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_blocking() {
    // No writer thread: the queue (2 frames) fills and stays full.
    let (tx, _rx) = mpsc::sync_channel(2);
    let cap = Capture::with_sender(tx, Arc::new(Shared::default()), None, Instant::ZERO);
    cap.sync_names(0, || ports(&["a"]));
    let port = PortId(0);
    for _ in 0..5 {
        cap.rx(port, &[0u8; 60], Instant::ZERO);
    }
    assert_eq!(
        cap.counters(),
        CaptureCounters {
            captured: 2,
            capture_dropped: 3,
            write_errors: 0
        }
    );
}

#[test]
fn a_huge_backlog_is_bounded_by_bytes_too() {
    let (tx, _rx) = mpsc::sync_channel(QUEUE_FRAMES);
    let cap = Capture::with_sender(tx, Arc::new(Shared::default()), None, Instant::ZERO);
    cap.sync_names(0, || ports(&["a"]));
    let jumbo = vec![0u8; 65_536];
    for _ in 0..(QUEUE_BYTES / jumbo.len() + 3) {
        cap.tx(PortId(0), &jumbo, Instant::ZERO);
    }
    let c = cap.counters();
    assert_eq!(c.captured as usize, QUEUE_BYTES / jumbo.len());
    assert_eq!(c.capture_dropped, 3);
}

#[test]
fn a_reused_port_id_is_captured_under_its_new_name() {
    let dir = temp_dir("reuse");
    let cap = Capture::start(&CaptureConfig::new(&dir), Instant::ZERO).unwrap();
    cap.sync_names(1, || ports(&["old"]));
    cap.tx(PortId(0), b"to old", Instant::ZERO);
    // The node removed "old" and gave its id to "new": its generation moved.
    cap.sync_names(3, || ports(&["new"]));
    cap.tx(PortId(0), b"to new", Instant::ZERO);
    cap.shutdown();
    assert_eq!(records(&dir.join("old.out.pcap")).len(), 1);
    assert_eq!(records(&dir.join("new.out.pcap"))[0].data, b"to new");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_port_gets_in_and_out_files_named_safely() {
    let dir = temp_dir("ports");
    let cap = Capture::start(&CaptureConfig::new(&dir), Instant::ZERO).unwrap();
    // A port that only ever sends is named from the node.
    cap.sync_names(1, || ports(&["tap0"]));
    cap.tx(PortId(0), b"to the tap", Instant::from_millis(5));
    // A peer admitted later is picked up once the node's generation moves.
    cap.sync_names(2, || ports(&["tap0", "vxlan/10.0.0.2"]));
    cap.sync_names(2, || panic!("names are only listed when ports changed"));
    cap.rx(PortId(1), b"from the peer", Instant::from_millis(6));
    cap.shutdown();
    let peer_in = records(&dir.join("vxlan%2F10.0.0.2.in.pcap"));
    assert_eq!(peer_in.len(), 1);
    assert_eq!(peer_in[0].data, b"from the peer");
    assert!(records(&dir.join("vxlan%2F10.0.0.2.out.pcap")).is_empty());
    assert_eq!(records(&dir.join("tap0.out.pcap"))[0].data, b"to the tap");
    assert!(
        records(&dir.join("tap0.in.pcap")).is_empty(),
        "a port that only sent still has its (empty) input file"
    );
    assert_eq!(cap.counters().captured, 2);
    let _ = std::fs::remove_dir_all(dir);
}
