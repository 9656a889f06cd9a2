//! Trains: consecutive datagrams for one tunnel peer, sent as one UDP GSO send.
//!
//! A TCP stream through the hub is a run of equal-sized frames from one peer
//! to another, and a TSO super-frame from an offload TAP becomes one after
//! software segmentation. Sending each as its own datagram costs a syscall,
//! a route lookup and an skb per 1500 bytes; with `UDP_SEGMENT` the kernel
//! takes the whole run in one call and carries it as one GSO packet as far
//! as the receiver (or the NIC) can. A train holds datagrams back only until
//! the end of the batch being switched, so it adds no latency beyond the
//! batch itself.

use super::udp::SendOutcome;
use crate::port::PortId;
use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Segments per send: the kernel's `UDP_MAX_SEGMENTS` (64 before Linux 6.11).
const MAX_SEGMENTS: usize = 64;
/// Bytes per send: one UDP datagram's limit, less IPv6 and UDP headers.
const MAX_BYTES: usize = 65_535 - 40 - 8;

/// Datagrams waiting to go to one peer of one listener.
pub struct Train {
    buf: Vec<u8>,
    dest: Option<(SocketAddr, PortId)>,
    /// Size of every segment but the last.
    segment: usize,
    count: usize,
    /// A shorter datagram ended the train: the kernel allows only the last to be short.
    closed: bool,
}

impl Default for Train {
    fn default() -> Self {
        Train {
            buf: Vec::with_capacity(MAX_BYTES),
            dest: None,
            segment: 0,
            count: 0,
            closed: false,
        }
    }
}

impl Train {
    /// Add `header` + `frame` for `dest`. `false` when it cannot join the
    /// datagrams already waiting: flush, then push again (an empty train takes anything).
    pub fn push(&mut self, dest: SocketAddr, port: PortId, header: &[u8], frame: &[u8]) -> bool {
        let len = header.len() + frame.len();
        if self.count > 0 {
            let joins = self.dest == Some((dest, port))
                && !self.closed
                && len <= self.segment
                && self.count < MAX_SEGMENTS
                && self.buf.len() + len <= MAX_BYTES;
            if !joins {
                return false;
            }
            self.closed = len < self.segment;
        } else {
            self.dest = Some((dest, port));
            self.segment = len;
        }
        self.buf.extend_from_slice(header);
        self.buf.extend_from_slice(frame);
        self.count += 1;
        true
    }

    /// Nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Forget what is waiting (its listener is gone).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.dest = None;
        self.count = 0;
        self.closed = false;
    }

    /// Send what is waiting. `outcome(port, what, datagrams)` reports the result.
    pub fn flush(
        &mut self,
        sock: &std::net::UdpSocket,
        mut outcome: impl FnMut(PortId, SendOutcome, usize),
    ) {
        let Some((dest, port)) = self.dest.take() else {
            return;
        };
        let segment = if self.count > 1 { self.segment } else { 0 };
        match send_segmented(sock, dest, &self.buf, segment) {
            Ok(()) => outcome(port, SendOutcome::Sent, self.count),
            Err(_) if self.count > 1 => {
                // One datagram too big for the path fails the whole train
                // (EINVAL or EMSGSIZE): resend one by one so each is counted
                // for what it is and the others still go.
                for datagram in self.buf.chunks(self.segment) {
                    let what = match send_segmented(sock, dest, datagram, 0) {
                        Ok(()) => SendOutcome::Sent,
                        Err(e) => SendOutcome::of_error(&e),
                    };
                    outcome(port, what, 1);
                }
            }
            Err(e) => outcome(port, SendOutcome::of_error(&e), 1),
        }
        self.clear();
    }
}

/// One `sendmsg`; with `segment > 0` the kernel cuts `data` into datagrams of that size.
fn send_segmented(
    sock: &std::net::UdpSocket,
    dest: SocketAddr,
    data: &[u8],
    segment: usize,
) -> io::Result<()> {
    let name = socket2::SockAddr::from(dest);
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut control = [0u64; 4];
    // SAFETY: msghdr is plain data; the fields that matter are set next.
    let mut msg: libc::msghdr = unsafe { MaybeUninit::zeroed().assume_init() };
    msg.msg_name = name.as_ptr() as *mut libc::c_void;
    msg.msg_namelen = name.len();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if segment > 0 {
        let size =
            u16::try_from(segment).map_err(|_| io::Error::from_raw_os_error(libc::EMSGSIZE))?;
        msg.msg_control = control.as_mut_ptr().cast();
        // SAFETY: CMSG_SPACE is a pure size computation.
        msg.msg_controllen =
            unsafe { libc::CMSG_SPACE(std::mem::size_of::<u16>() as u32) } as usize;
        // SAFETY: the control buffer (32 bytes) holds one cmsg with a u16
        // (CMSG_SPACE(2) = 24); the macros stay inside msg_controllen.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_UDP;
            (*cmsg).cmsg_type = libc::UDP_SEGMENT;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<u16>() as u32) as usize;
            libc::CMSG_DATA(cmsg).cast::<u16>().write_unaligned(size);
        }
    }
    // SAFETY: `msg` points at `name`, `iov`, `data` and `control`, all alive
    // for the call; the kernel only reads them.
    let rc = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_DONTWAIT) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::udp::{self, RxBatch};

    fn dest() -> SocketAddr {
        "192.0.2.1:4789".parse().unwrap()
    }

    #[test]
    fn equal_datagrams_to_one_peer_ride_one_train_until_a_short_one_ends_it() {
        let mut t = Train::default();
        let p = PortId(3);
        assert!(t.push(dest(), p, &[0; 8], &[1; 100]));
        assert!(t.push(dest(), p, &[0; 8], &[2; 100]));
        assert!(
            t.push(dest(), p, &[0; 8], &[3; 50]),
            "a shorter one may end it"
        );
        assert!(
            !t.push(dest(), p, &[0; 8], &[4; 50]),
            "nothing after the short one"
        );
        assert_eq!((t.count, t.segment, t.buf.len()), (3, 108, 108 * 2 + 58));
    }

    #[test]
    fn another_peer_or_a_longer_datagram_needs_a_new_train() {
        let mut t = Train::default();
        let p = PortId(3);
        assert!(t.push(dest(), p, &[], &[1; 100]));
        assert!(!t.push(dest(), PortId(4), &[], &[1; 100]));
        assert!(!t.push("192.0.2.2:4789".parse().unwrap(), p, &[], &[1; 100]));
        assert!(!t.push(dest(), p, &[], &[1; 101]));
    }

    #[test]
    fn a_train_stops_at_the_kernel_limits() {
        let mut t = Train::default();
        let p = PortId(0);
        let mut n = 0;
        while t.push(dest(), p, &[], &[0; 100]) {
            n += 1;
        }
        assert_eq!(n, MAX_SEGMENTS);
        let mut t = Train::default();
        let mut n = 0;
        while t.push(dest(), p, &[], &[0; 1500]) {
            n += 1;
        }
        assert_eq!(n, MAX_BYTES / 1500);
    }

    /// Over loopback the kernel hands a GSO send to a GRO socket whole, so
    /// this also checks that [`RxBatch`] splits it back at the segment size.
    #[test]
    fn a_train_arrives_as_separate_datagrams() {
        let rx = udp::bind_group("127.0.0.1:0".parse().unwrap(), 1)
            .unwrap()
            .remove(0);
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        if !udp::supports_gso(&tx) {
            eprintln!("skipped: this kernel has no UDP_SEGMENT");
            return;
        }
        let to = rx.local_addr().unwrap();
        let mut t = Train::default();
        let p = PortId(1);
        for i in 0..5u8 {
            assert!(t.push(to, p, &[0xAA, i], &[i; 300]));
        }
        assert!(t.push(to, p, &[0xAA, 9], &[9; 10]));
        let mut sent = 0;
        t.flush(&tx, |port, what, n| {
            assert_eq!((port, what), (p, SendOutcome::Sent));
            sent += n;
        });
        assert_eq!(sent, 6);
        assert_eq!(t.count, 0);
        let mut batch = RxBatch::default();
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while got.len() < 6 && std::time::Instant::now() < deadline {
            if batch.recv(&rx).is_ok() {
                got.extend(batch.iter().map(|(from, d)| (from, d.to_vec())));
            }
        }
        assert_eq!(got.len(), 6);
        for (i, (from, d)) in got.iter().enumerate().take(5) {
            assert_eq!(*from, tx.local_addr().unwrap());
            assert_eq!((d.len(), &d[..3]), (302, &[0xAA, i as u8, i as u8][..]));
        }
        assert_eq!(got[5].1.len(), 12);
    }
}
