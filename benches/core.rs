//! Core decision cost: ns per frame for known unicast and for an 8-port flood.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use overcast::switch::{PortConfig, PortKind, Switch, SwitchConfig};
use overcast::time::Instant;
use std::hint::black_box;

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

criterion_group!(benches, unicast);
criterion_main!(benches);
