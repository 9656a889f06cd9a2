//! Our software segmentation against the kernel's own, byte for byte.
//!
//! A TCP super-frame with a GSO virtio-net header is written into a TAP that
//! is bridged to a veth with TSO and GSO off, so the kernel segments it; the
//! segments captured on the veth's peer must equal what `packet::gso` makes of
//! the same super-frame.

mod common;

use common::*;
use overcast::driver::tap::Tap;
use overcast::packet::checksum::Checksum;
use overcast::packet::gso::{complete, Segments};
use overcast::packet::virtio::{VnetHdr, F_NEEDS_CSUM, GSO_TCPV4, GSO_TCPV6};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// An Ethernet + IP + TCP super-frame whose TCP checksum holds the pseudo-header
/// sum, as a stack with checksum offload leaves it.
fn super_frame(v4: bool, len: usize) -> (Vec<u8>, VnetHdr) {
    let mut f = vec![0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa];
    let tcp_len = 20 + len;
    let l3 = 14;
    if v4 {
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + tcp_len) as u16;
        let mut ip = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0x12,
            0x34,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ];
        ip.extend_from_slice(&[10, 250, 0, 1, 10, 250, 0, 2]);
        let c = Checksum::new().add_bytes(&ip).finish();
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
    } else {
        f.extend_from_slice(&[0x86, 0xdd]);
        f.extend_from_slice(&[0x60, 0, 0, 0, (tcp_len >> 8) as u8, tcp_len as u8, 6, 64]);
        f.extend_from_slice(&"fd25::1".parse::<std::net::Ipv6Addr>().unwrap().octets());
        f.extend_from_slice(&"fd25::2".parse::<std::net::Ipv6Addr>().unwrap().octets());
    }
    let l4 = f.len();
    f.extend_from_slice(&[
        0x9c, 0x40, 0x14, 0x51, 0, 0, 0x10, 0, 0, 0, 0x20, 0, 0x50, 0x98, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    f.extend((0..len).map(|i| (i * 13 + 5) as u8));
    let pseudo = if v4 {
        Checksum::new()
            .add_bytes(&f[l3 + 12..l3 + 20])
            .add_u16(6)
            .add_u16(tcp_len as u16)
    } else {
        Checksum::new()
            .add_bytes(&f[l3 + 8..l3 + 40])
            .add_u32(tcp_len as u32)
            .add_u32(6)
    };
    f[l4 + 16..l4 + 18].copy_from_slice(&pseudo.sum().to_be_bytes());
    let hdr = VnetHdr {
        flags: F_NEEDS_CSUM,
        gso_type: if v4 { GSO_TCPV4 } else { GSO_TCPV6 },
        hdr_len: (l4 + 20) as u16,
        gso_size: 1400,
        csum_start: l4 as u16,
        csum_offset: 16,
    };
    (f, hdr)
}

/// Enter `ns` on this thread (network namespaces are per thread).
fn enter(ns: &str) {
    let file = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("netns file");
    // SAFETY: setns on a valid namespace descriptor; affects only this thread.
    assert_eq!(
        unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
        0,
        "setns"
    );
}

/// An AF_PACKET socket bound to `dev`, receiving every frame.
fn capture(dev: &str) -> OwnedFd {
    let proto = (libc::ETH_P_ALL as u16).to_be() as i32;
    // SAFETY: plain socket(2); checked below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, proto) };
    assert!(fd >= 0, "AF_PACKET socket");
    // SAFETY: `fd` is a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let name = std::ffi::CString::new(dev).unwrap();
    // SAFETY: `name` is a valid C string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    // SAFETY: sockaddr_ll is plain data.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto as u16;
    sll.sll_ifindex = index as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the size given.
    let rc = unsafe {
        libc::bind(
            sock.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    assert_eq!(rc, 0, "bind AF_PACKET");
    sock
}

/// TCP frames read from `sock` within `wait`.
fn tcp_frames(sock: &OwnedFd, want: usize, wait: Duration) -> Vec<Vec<u8>> {
    let end = Instant::now() + wait;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65_536];
    while out.len() < want && Instant::now() < end {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n <= 0 {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        }
        let f = &buf[..n as usize];
        let is_tcp = match f.get(12..14) {
            Some([0x08, 0x00]) => f.get(23) == Some(&6),
            Some([0x86, 0xdd]) => f.get(20) == Some(&6),
            _ => false,
        };
        if is_tcp {
            out.push(f.to_vec());
        }
    }
    out
}

#[test]
fn software_segmentation_matches_the_kernels_byte_for_byte() {
    if !can_run("software_segmentation_matches_the_kernels_byte_for_byte") {
        return;
    }
    let ns = Netns::new("k");
    let tap = unique("t");
    let name = ns.name.clone();
    let tap_name = tap.clone();
    std::thread::spawn(move || {
        enter(&name);
        let dev = Tap::open(&tap_name, true).expect("TAP with offload");
        assert!(dev.vnet(), "the kernel refused IFF_VNET_HDR");
        for cmd in [
            "ip link add br0 type bridge".to_string(),
            format!("ip link set {tap_name} master br0"),
            "ip link add ve0 type veth peer name ve1".to_string(),
            "ip link set ve0 master br0".to_string(),
            "ethtool -K ve0 tso off gso off tx off".to_string(),
            "ip link set ve0 up".to_string(),
            "ip link set ve1 up".to_string(),
            "ip link set br0 up".to_string(),
            "sysctl -qw net.ipv6.conf.all.disable_ipv6=1".to_string(),
        ] {
            run(&cmd);
        }
        let cap = capture("ve1");
        std::thread::sleep(Duration::from_millis(300));
        for v4 in [true, false] {
            let (frame, hdr) = super_frame(v4, 10_000);
            let mut ours = Segments::default();
            complete(&hdr, &frame, &mut ours).expect("we segment it");
            let mut write = hdr.to_bytes().to_vec();
            write.extend_from_slice(&frame);
            dev.send(&write).expect("write the super-frame");
            let kernel = tcp_frames(&cap, ours.len(), Duration::from_secs(3));
            assert_eq!(kernel.len(), ours.len(), "segment count (v4={v4})");
            for (i, (k, o)) in kernel.iter().zip(ours.iter()).enumerate() {
                assert_eq!(
                    k.as_slice(),
                    o,
                    "segment {i} differs from the kernel's (v4={v4})"
                );
            }
        }
    })
    .join()
    .expect("the namespace thread passes");
}
