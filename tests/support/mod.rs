//! Helpers for the replay tests: frames, pcaps written in code, temp dirs,
//! and running a replay into a directory.
#![allow(dead_code)]

use overcast::pcap::{PcapReader, PcapWriter, Record};
use overcast::replay::{self, InputSpec, ReplayError, ReplayOptions, ReplayReport};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A wall-clock time to stamp test captures with (2023-11-14 22:13:20 UTC).
pub const T0: Duration = Duration::from_secs(1_700_000_000);

/// The locally administered MAC 02:00:00:00:00:n.
pub fn mac(n: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, n]
}

pub const BROADCAST: [u8; 6] = [0xff; 6];

/// An Ethernet frame with a payload of `len` bytes (each `fill`).
pub fn frame(dst: [u8; 6], src: [u8; 6], ethertype: u16, len: usize, fill: u8) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + len);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.resize(14 + len, fill);
    f
}

/// A broadcast ARP request from station `n` (10.0.0.n) for 10.0.0.`target`.
pub fn arp_request(n: u8, target: u8) -> Vec<u8> {
    let mut f = frame(BROADCAST, mac(n), 0x0806, 0, 0);
    f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
    f.extend_from_slice(&mac(n));
    f.extend_from_slice(&[10, 0, 0, n]);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&[10, 0, 0, target]);
    f.resize(60, 0);
    f
}

/// A unicast IPv4-typed frame from station `src` to station `dst`.
pub fn unicast(src: u8, dst: u8, fill: u8) -> Vec<u8> {
    frame(mac(dst), mac(src), 0x0800, 46, fill)
}

/// An IPv4/UDP frame from `src` to `dst` (MACs and socket addresses), its
/// IP header checksum filled in (the UDP checksum is left zero, as IPv4 allows).
pub fn udp4(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: std::net::SocketAddrV4,
    dst: std::net::SocketAddrV4,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = frame(dst_mac, src_mac, 0x0800, 0, 0);
    let total = (20 + 8 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src.ip().octets());
    f.extend_from_slice(&dst.ip().octets());
    let sum = overcast::packet::checksum::checksum(&f[14..34]);
    f[24..26].copy_from_slice(&sum.to_be_bytes());
    f.extend_from_slice(&src.port().to_be_bytes());
    f.extend_from_slice(&dst.port().to_be_bytes());
    f.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    if f.len() < 60 {
        f.resize(60, 0);
    }
    f
}

/// A VXLAN datagram (VNI `vni`) carrying `inner`.
pub fn vxlan(vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut d = vec![0x08, 0, 0, 0];
    d.extend_from_slice(&(vni << 8).to_be_bytes());
    d.extend_from_slice(inner);
    d
}

/// Write frames stamped T0 + offset to a pcap.
pub fn write_pcap(path: &Path, frames: &[(Duration, Vec<u8>)]) {
    let file = std::fs::File::create(path).expect("create pcap");
    let mut w = PcapWriter::new(std::io::BufWriter::new(file)).expect("pcap header");
    for (at, f) in frames {
        w.write(T0 + *at, f).expect("pcap record");
    }
    w.into_inner().expect("flush");
}

/// Every record of a pcap.
pub fn read_pcap(path: &Path) -> Vec<Record> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = PcapReader::new(std::io::BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    while let Some(rec) = r
        .next_record()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    {
        out.push(rec);
    }
    out
}

/// The frames of a pcap, without timestamps.
pub fn frames_of(path: &Path) -> Vec<Vec<u8>> {
    read_pcap(path).into_iter().map(|r| r.data).collect()
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A temporary directory, removed on drop.
pub struct Tmp(PathBuf);

impl Tmp {
    pub fn new() -> Tmp {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("overcast-replay-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        Tmp(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Options replaying `inputs` (PORT, FILE) into `out`.
pub fn options(inputs: &[(&str, &Path)], out: &Path) -> ReplayOptions {
    ReplayOptions {
        inputs: inputs
            .iter()
            .map(|(port, file)| InputSpec {
                kind: overcast::replay::InputKind::Port,
                port: port.to_string(),
                file: file.to_path_buf(),
            })
            .collect(),
        out_dir: out.to_path_buf(),
        ..ReplayOptions::default()
    }
}

pub fn run(opts: &ReplayOptions) -> Result<ReplayReport, ReplayError> {
    replay::run(opts)
}

/// A JSON file, parsed.
pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// A port's counters in a state file.
pub fn port_counters<'a>(state: &'a serde_json::Value, port: &str) -> &'a serde_json::Value {
    state["switch"]["ports"]
        .as_array()
        .and_then(|ports| ports.iter().find(|p| p["name"] == port))
        .map(|p| &p["counters"])
        .unwrap_or_else(|| panic!("no port {port} in {state}"))
}

/// (mac, port) of every FDB row in a state file.
pub fn fdb_rows(state: &serde_json::Value) -> Vec<(String, String)> {
    state["switch"]["fdb"]
        .as_array()
        .expect("fdb is a list")
        .iter()
        .map(|r| {
            (
                r["mac"].as_str().unwrap_or_default().to_string(),
                r["port"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The frames of a pcap the switch forwarded: without the ones it originated
/// itself (queries, from its MAC), whose schedule is the querier's business.
pub fn forwarded(path: &Path) -> Vec<Vec<u8>> {
    let own = overcast::switch::DEFAULT_MAC.0;
    frames_of(path)
        .into_iter()
        .filter(|f| f.get(6..12) != Some(&own[..]))
        .collect()
}

/// (time since the first frame's wall time, frame) of what the switch originated.
pub fn originated(path: &Path, origin: Duration) -> Vec<(Duration, Vec<u8>)> {
    let own = overcast::switch::DEFAULT_MAC.0;
    read_pcap(path)
        .into_iter()
        .filter(|r| r.data.get(6..12) == Some(&own[..]))
        .map(|r| (r.timestamp.saturating_sub(origin), r.data))
        .collect()
}
