//! UDP tunnel sockets: batched receive (recvmmsg) and batched fan-out send (sendmmsg).
//!
//! A flood to N peers of one listener is one `sendmmsg` with N messages,
//! each a gather of [encapsulation header, frame], so the frame is never copied.
//! Receive asks for UDP GRO: where the kernel coalesces a train of datagrams
//! from one sender (a NIC or veth with GRO on), one buffer carries many
//! datagrams and [`RxBatch::iter`] splits it again at the segment size.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

/// Largest datagram we accept: a jumbo frame plus encapsulation fits easily.
pub const MAX_DATAGRAM: usize = 65_536;
/// Datagrams taken per receive call.
pub const RX_BATCH: usize = 32;
/// Room for the one control message we ask for (UDP_GRO's segment size), 8-byte aligned.
const CONTROL_WORDS: usize = 8;

/// Bind `count` sockets to `addr` (with `SO_REUSEPORT` when more than one,
/// so the kernel spreads senders over them by address, each sender always to
/// the same socket). With port 0 the others share the first one's port.
pub fn bind_group(addr: SocketAddr, count: usize) -> io::Result<Vec<std::net::UdpSocket>> {
    let shared = count > 1;
    let first = bind_one(addr, shared)?;
    let addr = first.local_addr()?;
    let mut socks = vec![first];
    for _ in 1..count {
        socks.push(bind_one(addr, shared)?);
    }
    Ok(socks)
}

/// Bind a non-blocking UDP socket that refuses to fragment: an oversized
/// frame is reported (EMSGSIZE) and counted instead of silently fragmented.
fn bind_one(addr: SocketAddr, shared: bool) -> io::Result<std::net::UdpSocket> {
    let domain = Domain::for_address(addr);
    let sock = Socket::new(
        domain,
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )?;
    if shared {
        sock.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        // "[::]:4789" serves IPv4 peers too, as v4-mapped addresses.
        sock.set_only_v6(false)?;
        set_int(
            &sock,
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU_DISCOVER,
            libc::IPV6_PMTUDISC_DO,
        )?;
    } else {
        set_int(
            &sock,
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            libc::IP_PMTUDISC_DO,
        )?;
    }
    // Best effort: kernels without UDP GRO (before 5.0) deliver one datagram per buffer.
    let _ = set_int(&sock, libc::SOL_UDP, libc::UDP_GRO, 1);
    // Bursts of floods are absorbed by bigger buffers rather than dropped.
    let _ = sock.set_recv_buffer_size(4 << 20);
    let _ = sock.set_send_buffer_size(4 << 20);
    sock.bind(&SockAddr::from(addr))?;
    Ok(sock.into())
}

fn set_int(
    sock: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `value` outlives the call and the length matches its type.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether the kernel takes `UDP_SEGMENT` (UDP GSO, Linux 4.18) on this socket.
pub fn supports_gso(sock: &std::net::UdpSocket) -> bool {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` outlive the call and describe a c_int.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_UDP,
            libc::UDP_SEGMENT,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    rc == 0
}

/// Reusable receive buffers for one socket.
pub struct RxBatch {
    bufs: Vec<Box<[u8]>>,
    addrs: Vec<libc::sockaddr_storage>,
    control: Vec<[u64; CONTROL_WORDS]>,
    lens: Vec<usize>,
    /// GRO segment size of each buffer; 0 when it holds one datagram.
    segment: Vec<usize>,
    /// Buffers the kernel cut short (bigger than [`MAX_DATAGRAM`]): never forwarded.
    truncated: Vec<bool>,
    count: usize,
}

impl Default for RxBatch {
    fn default() -> Self {
        RxBatch {
            bufs: (0..RX_BATCH)
                .map(|_| vec![0u8; MAX_DATAGRAM].into_boxed_slice())
                .collect(),
            // SAFETY: sockaddr_storage is plain data; all-zero is a valid (AF_UNSPEC) value.
            addrs: (0..RX_BATCH)
                .map(|_| unsafe { MaybeUninit::zeroed().assume_init() })
                .collect(),
            control: vec![[0; CONTROL_WORDS]; RX_BATCH],
            lens: vec![0; RX_BATCH],
            segment: vec![0; RX_BATCH],
            truncated: vec![false; RX_BATCH],
            count: 0,
        }
    }
}

impl RxBatch {
    /// Receive up to [`RX_BATCH`] datagrams. `WouldBlock` when none is waiting.
    pub fn recv(&mut self, sock: &std::net::UdpSocket) -> io::Result<usize> {
        let mut iovs: [libc::iovec; RX_BATCH] = std::array::from_fn(|i| libc::iovec {
            iov_base: self.bufs[i].as_mut_ptr().cast(),
            iov_len: self.bufs[i].len(),
        });
        // SAFETY: mmsghdr is plain data; every pointer is filled in below.
        let mut msgs: [libc::mmsghdr; RX_BATCH] = unsafe { MaybeUninit::zeroed().assume_init() };
        for (i, m) in msgs.iter_mut().enumerate() {
            m.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            m.msg_hdr.msg_namelen =
                std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_control = self.control[i].as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = std::mem::size_of::<[u64; CONTROL_WORDS]>();
        }
        // SAFETY: `msgs` points at RX_BATCH valid headers whose buffers and
        // address slots live in `self` and `iovs` for the whole call.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                msgs.as_mut_ptr(),
                RX_BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            self.count = 0;
            return Err(io::Error::last_os_error());
        }
        self.count = n as usize;
        for (i, m) in msgs.iter().take(self.count).enumerate() {
            self.lens[i] = m.msg_len as usize;
            self.truncated[i] = m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            self.segment[i] = gro_segment(&m.msg_hdr);
        }
        Ok(self.count)
    }

    /// Buffers of the last receive that were cut short and are not in [`RxBatch::iter`].
    pub fn truncated(&self) -> usize {
        self.truncated[..self.count].iter().filter(|t| **t).count()
    }

    /// The received datagrams, with their sources: a GRO buffer is split
    /// back into its datagrams. Datagrams from an unparseable address family
    /// are skipped.
    pub fn iter(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        (0..self.count)
            .filter(|&i| !self.truncated[i])
            .filter_map(move |i| {
                let addr = sockaddr_to_std(&self.addrs[i])?;
                let data = &self.bufs[i][..self.lens[i].min(self.bufs[i].len())];
                let step = match self.segment[i] {
                    0 => data.len(),
                    n => n,
                }
                .max(1);
                // An empty datagram is still one: the listener counts it as short.
                Some(
                    (0..data.len().max(1))
                        .step_by(step)
                        .map(move |at| (addr, &data[at..(at + step).min(data.len())])),
                )
            })
            .flatten()
    }
}

/// The segment size the kernel reports for a GRO-coalesced buffer, or 0.
fn gro_segment(hdr: &libc::msghdr) -> usize {
    // SAFETY: `hdr` is a header the kernel just filled in; its control
    // pointer and length describe our control buffer, and the CMSG macros
    // stay inside msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(hdr);
        while !cmsg.is_null() {
            let c = &*cmsg;
            if c.cmsg_level == libc::SOL_UDP && c.cmsg_type == libc::UDP_GRO {
                let data = libc::CMSG_DATA(cmsg).cast::<libc::c_int>();
                return usize::try_from(data.read_unaligned()).unwrap_or(0);
            }
            cmsg = libc::CMSG_NXTHDR(hdr, cmsg);
        }
    }
    0
}

fn sockaddr_to_std(storage: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large enough for.
            let a =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::new(ip.into(), u16::from_be(a.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6, which it is large enough for.
            let a = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// The outcome of one message of a fan-out send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// Handed to the kernel.
    Sent,
    /// Refused: too big for the path (EMSGSIZE).
    TooBig,
    /// Refused for another reason (unreachable, EPERM, buffer full).
    Failed,
}

impl SendOutcome {
    /// What a failed send means for the frame.
    pub fn of_error(e: &io::Error) -> SendOutcome {
        if e.raw_os_error() == Some(libc::EMSGSIZE) {
            SendOutcome::TooBig
        } else {
            SendOutcome::Failed
        }
    }
}

/// Reusable message headers for [`send_fanout`], so a flood allocates nothing once warm.
#[derive(Default)]
pub struct FanoutScratch {
    names: Vec<SockAddr>,
    iovs: Vec<[libc::iovec; 2]>,
    msgs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers in `iovs` and `msgs` are written and used only
// within one `send_fanout` call, which fills them afresh; between calls they
// are dead values, so moving the scratch to another thread shares nothing.
unsafe impl Send for FanoutScratch {}

/// Send `frame` (after `header`) to every address in `dests`, batching with
/// sendmmsg. `outcome(i, ..)` is called for each destination.
pub fn send_fanout(
    sock: &std::net::UdpSocket,
    scratch: &mut FanoutScratch,
    header: &[u8],
    frame: &[u8],
    dests: &[SocketAddr],
    mut outcome: impl FnMut(usize, SendOutcome),
) {
    let FanoutScratch { names, iovs, msgs } = scratch;
    names.clear();
    names.extend(dests.iter().map(|d| SockAddr::from(*d)));
    iovs.clear();
    iovs.extend(dests.iter().map(|_| {
        [
            libc::iovec {
                iov_base: header.as_ptr() as *mut libc::c_void,
                iov_len: header.len(),
            },
            libc::iovec {
                iov_base: frame.as_ptr() as *mut libc::c_void,
                iov_len: frame.len(),
            },
        ]
    }));
    msgs.clear();
    for (name, iov) in names.iter().zip(iovs.iter_mut()) {
        // SAFETY: mmsghdr is plain data; the fields that matter are set next.
        let mut m: libc::mmsghdr = unsafe { MaybeUninit::zeroed().assume_init() };
        m.msg_hdr.msg_name = name.as_ptr() as *mut libc::c_void;
        m.msg_hdr.msg_namelen = name.len();
        m.msg_hdr.msg_iov = iov.as_mut_ptr();
        m.msg_hdr.msg_iovlen = 2;
        msgs.push(m);
    }
    let mut sent = 0;
    while sent < msgs.len() {
        let burst = (msgs.len() - sent).min(1024);
        // SAFETY: the headers point at `names`, `iovs`, `header` and `frame`,
        // all alive and unmoved for the call; the kernel only reads them.
        let n = unsafe {
            libc::sendmmsg(
                sock.as_raw_fd(),
                msgs[sent..].as_mut_ptr(),
                burst as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if n > 0 {
            for i in sent..sent + n as usize {
                outcome(i, SendOutcome::Sent);
            }
            sent += n as usize;
            continue;
        }
        // The first unsent message failed: report it and go on with the rest,
        // so one unreachable peer never stops the others.
        outcome(sent, SendOutcome::of_error(&io::Error::last_os_error()));
        sent += 1;
    }
}
