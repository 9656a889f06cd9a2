//! Core decision cost: ns per frame for known unicast (at 2, 10 and 1 000
//! ports), an 8-port flood, and a multicast decision among 1 000 groups with
//! 100 sources each; plus FDB bytes per entry, measured with a counting allocator.

use criterion::{BenchmarkId, Criterion, Throughput};
use overcast::igmp::repr::{GroupRecord, Message, RecordType, Version};
use overcast::packet::ethernet::MacAddr;
use overcast::switch::{PortConfig, PortKind, Switch, SwitchConfig};
use overcast::time::Instant;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live heap bytes, so table memory is measured rather than estimated.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only adds bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn frame(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x00]);
    f.resize(64, 0);
    f
}

fn switch_with(ports: usize) -> (Switch, Vec<overcast::port::PortId>) {
    let mut sw = Switch::new(SwitchConfig::default());
    let ids = (0..ports)
        .map(|i| {
            sw.add_port(
                PortConfig::new(format!("p{i}"), PortKind::Tap),
                Instant::ZERO,
            )
            .expect("unique names")
        })
        .collect();
    (sw, ids)
}

fn mac(i: u32) -> [u8; 6] {
    let b = i.to_be_bytes();
    [2, 0, b[0], b[1], b[2], b[3]]
}

fn unicast(c: &mut Criterion) {
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(1));
    for ports in [2usize, 10, 1000] {
        let (mut sw, ids) = switch_with(ports);
        // One learned station per port, plus 1000 more behind port 0.
        for (i, id) in ids.iter().enumerate() {
            sw.handle_frame(*id, &frame([0xff; 6], mac(i as u32)), Instant::ZERO);
        }
        for i in 0..1000 {
            sw.handle_frame(ids[0], &frame([0xff; 6], mac(10_000 + i)), Instant::ZERO);
        }
        let f = frame(mac(1), mac(0));
        let now = Instant::from_secs(1);
        g.bench_with_input(BenchmarkId::new("known_unicast", ports), &ports, |b, _| {
            b.iter(|| black_box(sw.handle_frame(ids[0], black_box(&f), now).len()))
        });
    }
    let (mut sw, ids) = switch_with(8);
    let f = frame([0xff; 6], mac(0));
    g.bench_function("flood_8_ports", |b| {
        b.iter(|| black_box(sw.handle_frame(ids[0], black_box(&f), Instant::ZERO).len()))
    });
    g.finish();
}

/// An IPv4 UDP frame from `src` to `group`.
fn mcast_frame(group: Ipv4Addr, src: Ipv4Addr) -> Vec<u8> {
    let g = group.octets();
    let mut f = vec![
        0x01,
        0x00,
        0x5e,
        g[1] & 0x7f,
        g[2],
        g[3],
        2,
        0,
        0,
        0,
        0,
        9,
        0x08,
        0x00,
    ];
    let mut ip = vec![0x45, 0, 0, 36, 0, 0, 0, 0, 8, 17, 0, 0];
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&group.octets());
    let c = overcast::packet::checksum::checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&[0u8; 16]);
    f
}

fn multicast(c: &mut Criterion) {
    let (mut sw, ids) = switch_with(10);
    let source = |i: u32| Ipv4Addr::from(0x0a00_0000 + i);
    let group = |i: u32| Ipv4Addr::new(239, 1, (i >> 8) as u8, i as u8);
    // 1 000 groups, each joined by one port with INCLUDE {100 sources}.
    for gi in 0..1000u32 {
        let record = GroupRecord {
            record_type: RecordType::IsInclude,
            group: IpAddr::V4(group(gi)),
            sources: (0..100).map(|s| IpAddr::V4(source(s))).collect(),
        };
        let msg = Message::ReportV3 {
            version: Version::IgmpV3,
            records: vec![record],
        };
        let port = ids[1 + (gi as usize % 9)];
        sw.snooper_mut().handle_message(
            0,
            port,
            IpAddr::V4(Ipv4Addr::new(10, 1, 0, 1)),
            &msg,
            Instant::ZERO,
        );
    }
    // Let the querier run past its first response interval, so snooping prunes.
    let t = Instant::from_secs(11);
    while let Some(due) = sw.poll_timeout().filter(|d| *d <= t) {
        sw.handle_timeout(due);
        while sw.poll_transmit().is_some() {}
    }
    let f = mcast_frame(group(500), source(50));
    let mut g = c.benchmark_group("core");
    g.throughput(Throughput::Elements(1));
    g.bench_function("multicast_1000_groups_100_sources", |b| {
        b.iter(|| black_box(sw.handle_frame(ids[0], black_box(&f), t).len()))
    });
    g.finish();
    assert_eq!(
        sw.handle_frame(ids[0], &f, t).len(),
        1,
        "the decision must be a pruned one"
    );
}

/// Heap bytes per learned FDB entry, from 100 000 entries.
fn fdb_bytes_per_entry() {
    let mut fdb = overcast::fdb::Fdb::new(overcast::fdb::FdbConfig {
        max_entries: 1 << 20,
        max_entries_per_port: 1 << 20,
        ..Default::default()
    });
    let before = LIVE.load(Ordering::Relaxed);
    let n = 100_000u32;
    for i in 0..n {
        fdb.learn(
            0,
            MacAddr(mac(i)),
            overcast::port::PortId(i % 64),
            Instant::ZERO,
        );
    }
    let used = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "fdb: {} entries use {} heap bytes: {:.1} bytes per entry",
        fdb.len(),
        used,
        used as f64 / f64::from(n)
    );
}

fn main() {
    fdb_bytes_per_entry();
    let mut c = Criterion::default().configure_from_args();
    unicast(&mut c);
    multicast(&mut c);
    c.final_summary();
}
