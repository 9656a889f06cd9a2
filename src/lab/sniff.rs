//! An independent witness of what reached a host's port: an `AF_PACKET`
//! socket that counts the incoming UDP frames of one group and port.
//!
//! Counting at the socket a program joined would prove little, since the
//! kernel itself drops datagrams for groups the host has not joined; what
//! the switch decides is only visible on the wire. All `unsafe` of the lab
//! is here.

use crate::packet::ethernet::EthernetFrame;
use std::ffi::CString;
use std::io;
use std::mem::{size_of, zeroed};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

const ETH_P_ALL: u16 = 0x0003;
const ETHERTYPE_IPV4: u16 = 0x0800;
const IPPROTO_UDP: u8 = 17;

/// A raw socket bound to one interface.
#[derive(Debug)]
pub struct Sniffer {
    fd: OwnedFd,
    group: Ipv4Addr,
    port: u16,
}

impl Sniffer {
    /// Listen on `iface` for UDP frames to `group:port`; reads give up after `tick`.
    pub fn open(iface: &str, group: Ipv4Addr, port: u16, tick: Duration) -> io::Result<Sniffer> {
        let name = CString::new(iface).map_err(io::Error::other)?;
        // SAFETY: `name` is a valid NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        if index == 0 {
            return Err(io::Error::last_os_error());
        }
        let proto = ETH_P_ALL.to_be();
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::c_int::from(proto),
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor we own from here on.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = proto;
        addr.sll_ifindex = i32::try_from(index).map_err(io::Error::other)?;
        // SAFETY: `addr` is a valid sockaddr_ll of the length passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let tv = libc::timeval {
            tv_sec: tick.as_secs() as libc::time_t,
            tv_usec: tick.subsec_micros() as libc::suseconds_t,
        };
        // SAFETY: SO_RCVTIMEO reads a `timeval` of the length passed.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Sniffer { fd, group, port })
    }

    /// Wait up to one tick for a frame; `Ok(true)` if it was an incoming one that matches.
    pub fn next(&self, buf: &mut [u8]) -> io::Result<bool> {
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut from: libc::sockaddr_ll = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `buf` is writable for its length; `from`/`len` describe a valid sockaddr buffer.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut from as *mut libc::sockaddr_ll).cast(),
                &mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(false),
                _ => Err(e),
            };
        }
        if from.sll_pkttype == libc::PACKET_OUTGOING {
            return Ok(false);
        }
        let len = usize::try_from(n).unwrap_or(0).min(buf.len());
        Ok(matches_udp(&buf[..len], self.group, self.port))
    }
}

/// Whether `frame` is an IPv4 UDP datagram to `group:port` (untagged or VLAN-tagged).
pub fn matches_udp(frame: &[u8], group: Ipv4Addr, port: u16) -> bool {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    if eth.ethertype() != ETHERTYPE_IPV4 {
        return false;
    }
    let ip = eth.payload();
    let Some(&ver_ihl) = ip.first() else {
        return false;
    };
    let ihl = usize::from(ver_ihl & 0x0f) * 4;
    if ver_ihl >> 4 != 4 || ihl < 20 || ip.len() < ihl + 4 || ip[9] != IPPROTO_UDP {
        return false;
    }
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let dport = u16::from_be_bytes([ip[ihl + 2], ip[ihl + 3]]);
    dst == group && dport == port
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(dst: [u8; 4], dport: u16, proto: u8) -> Vec<u8> {
        let mut f = vec![0x01, 0x00, 0x5e, 1, 1, 1, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let mut ip = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 1, proto, 0, 0, 10, 0, 0, 1];
        ip.extend_from_slice(&dst);
        ip.extend_from_slice(&[0x13, 0x88]);
        ip.extend_from_slice(&dport.to_be_bytes());
        ip.extend_from_slice(&[0, 8, 0, 0]);
        f.extend_from_slice(&ip);
        f
    }

    #[test]
    fn only_udp_to_the_group_and_port_matches() {
        let g = Ipv4Addr::new(239, 1, 1, 1);
        assert!(matches_udp(&frame([239, 1, 1, 1], 5000, 17), g, 5000));
        assert!(!matches_udp(&frame([239, 1, 1, 2], 5000, 17), g, 5000));
        assert!(!matches_udp(&frame([239, 1, 1, 1], 5001, 17), g, 5000));
        assert!(!matches_udp(&frame([239, 1, 1, 1], 5000, 2), g, 5000));
        let short = frame([239, 1, 1, 1], 5000, 17);
        assert!(!matches_udp(&short[..30], g, 5000));
        assert!(!matches_udp(&[], g, 5000));
    }
}
