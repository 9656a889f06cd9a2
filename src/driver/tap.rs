//! TAP devices on raw ioctls: open or create by name, bring up, read and write frames.
//!
//! A small module of our own instead of a crate: it needs `IFF_VNET_HDR`
//! and multi-queue next (see README), which tun-tap cannot do, and the
//! virtio-net header handling is ours either way. All `unsafe` for TAPs is here.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// An open TAP queue, non-blocking, without packet information (`IFF_NO_PI`).
#[derive(Debug)]
pub struct Tap {
    fd: OwnedFd,
    name: String,
    vnet: bool,
}

/// `TUNSETOFFLOAD` flags (linux/if_tun.h): what we can take from the kernel.
const TUN_F_CSUM: libc::c_uint = 0x01;
const TUN_F_TSO4: libc::c_uint = 0x02;
const TUN_F_TSO6: libc::c_uint = 0x04;
const TUN_F_TSO_ECN: libc::c_uint = 0x08;
/// `_IOW('T', 208, unsigned int)` and `_IOW('T', 216, int)`.
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0;
const TUNSETVNETHDRSZ: libc::c_ulong = 0x4004_54d8;

/// Linux `IFNAMSIZ`.
const IFNAMSIZ: usize = 16;

/// `struct ifreq` cut to what TUNSETIFF and SIOC[GS]IFFLAGS use.
#[repr(C)]
struct IfReqFlags {
    name: [libc::c_char; IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

impl IfReqFlags {
    fn new(name: &str) -> io::Result<Self> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() >= IFNAMSIZ || bytes.contains(&0) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name:?} is not a valid interface name"),
            ));
        }
        let mut req = IfReqFlags {
            name: [0; IFNAMSIZ],
            flags: 0,
            _pad: [0; 22],
        };
        for (dst, src) in req.name.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        Ok(req)
    }
}

impl Tap {
    /// Attach to TAP device `name`, creating it if it does not exist, and bring it up.
    ///
    /// With `offload`, the queue is opened with `IFF_VNET_HDR` and checksum and
    /// TSO offload on: every frame then carries a virtio-net header
    /// ([`crate::packet::virtio`]), and the stack behind the TAP hands us 64 KB
    /// TCP super-frames. If the kernel refuses, the TAP is opened without.
    pub fn open(name: &str, offload: bool) -> io::Result<Tap> {
        if offload {
            if let Ok(tap) = Tap::attach(name, true) {
                return Ok(tap);
            }
        }
        Tap::attach(name, false)
    }

    fn attach(name: &str, vnet: bool) -> io::Result<Tap> {
        let path = CString::new("/dev/net/tun").map_err(io::Error::other)?;
        // SAFETY: `path` is a valid NUL-terminated string; the result is checked.
        let raw = unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor we own from here on.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let mut req = IfReqFlags::new(name)?;
        let vnet_flag = if vnet { libc::IFF_VNET_HDR } else { 0 };
        req.flags = (libc::IFF_TAP | libc::IFF_NO_PI | vnet_flag) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes a `struct ifreq`, which `req` is laid out as (and larger than needed).
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) } < 0 {
            return Err(io::Error::last_os_error());
        }
        if vnet {
            let size = crate::packet::virtio::LEN as libc::c_int;
            // SAFETY: TUNSETVNETHDRSZ reads one int.
            if unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETVNETHDRSZ as _, &size) } < 0 {
                return Err(io::Error::last_os_error());
            }
            let features = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
            // SAFETY: TUNSETOFFLOAD takes the flags by value.
            if unsafe {
                libc::ioctl(
                    fd.as_raw_fd(),
                    TUNSETOFFLOAD as _,
                    features as libc::c_ulong,
                )
            } < 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        set_link_up(name)?;
        Ok(Tap {
            fd,
            name: name.to_string(),
            vnet,
        })
    }

    /// Whether frames carry a virtio-net header (offload is on).
    pub fn vnet(&self) -> bool {
        self.vnet
    }

    /// The device name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Read one frame. `WouldBlock` when the queue is empty.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    /// Write one frame. `WouldBlock` when the device queue is full.
    pub fn send(&self, frame: &[u8]) -> io::Result<usize> {
        // SAFETY: `frame` is valid for reads of `frame.len()` bytes.
        let n = unsafe { libc::write(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl Tap {
    /// Write one frame gathered from `head` (a virtio-net header) and `frame`.
    pub fn send_parts(&self, head: &[u8], frame: &[u8]) -> io::Result<usize> {
        let iov = [
            libc::iovec {
                iov_base: head.as_ptr() as *mut libc::c_void,
                iov_len: head.len(),
            },
            libc::iovec {
                iov_base: frame.as_ptr() as *mut libc::c_void,
                iov_len: frame.len(),
            },
        ];
        // SAFETY: both iovecs point at live slices for the duration of the call.
        let n = unsafe { libc::writev(self.fd.as_raw_fd(), iov.as_ptr(), 2) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(n as usize)
    }
}

impl AsRawFd for Tap {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Set the MTU of interface `name` in the current network namespace.
pub fn set_mtu(name: &str, mtu: u32) -> io::Result<()> {
    #[repr(C)]
    struct IfReqMtu {
        name: [libc::c_char; IFNAMSIZ],
        mtu: libc::c_int,
        _pad: [u8; 20],
    }
    let flags = IfReqFlags::new(name)?;
    let req = IfReqMtu {
        name: flags.name,
        mtu: libc::c_int::try_from(mtu)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?,
        _pad: [0; 20],
    };
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: SIOCSIFMTU reads `ifr_mtu` of the `struct ifreq` that `req` is laid out as.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFMTU, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Set IFF_UP on interface `name` in the current network namespace.
fn set_link_up(name: &str) -> io::Result<()> {
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor we own.
    let sock = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut req = IfReqFlags::new(name)?;
    // SAFETY: SIOCGIFFLAGS fills `ifr_flags` of the `struct ifreq` that `req` is laid out as.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    req.flags |= libc::IFF_UP as libc::c_short;
    // SAFETY: as above; SIOCSIFFLAGS reads `ifr_flags`.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_are_refused_before_any_syscall() {
        assert!(IfReqFlags::new("").is_err());
        assert!(IfReqFlags::new("sixteen-bytes-xx").is_err());
        assert!(IfReqFlags::new("ok0").is_ok());
        assert_eq!(
            std::mem::size_of::<IfReqFlags>(),
            40,
            "struct ifreq is 40 bytes on Linux"
        );
    }
}
