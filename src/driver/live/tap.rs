//! TAP ports: a task per device that opens it, reads frames in batches and
//! hands them to the node, and reopens the device with backoff when it fails.

use super::send::{Packet, Scratch};
use super::Driver;
use crate::driver::lock;
use crate::driver::reactor;
use crate::driver::tap::{self, Tap};
use crate::port::PortId;
use crate::switch::DropReason;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::Notify;
use tracing::{info, warn};

/// Frames taken from one port before the others get a turn.
pub(super) const PORT_BATCH: usize = 64;
/// Largest read from a TAP: a 64 KB GSO super-frame, its Ethernet header and the virtio-net header.
const TAP_BUF: usize = 65_536 + 64;
/// First and longest wait before reopening a failed TAP.
const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// A TAP port's device, which comes and goes as the device fails and is reopened.
pub(super) struct TapPort {
    pub(super) port: PortId,
    pub(super) name: String,
    /// Ask for `IFF_VNET_HDR` offload when opening.
    pub(super) offload: AtomicBool,
    /// The open device carries virtio-net headers.
    pub(super) vnet: AtomicBool,
    /// MTU to set when the device is opened.
    pub(super) mtu: Mutex<Option<u32>>,
    dev: Mutex<Option<Arc<AsyncFd<Tap>>>>,
    pub(super) broken: Notify,
    /// Set when a reload removes the port: its task ends instead of reopening.
    removed: AtomicBool,
}

impl TapPort {
    pub(super) fn new(port: PortId, name: String, offload: bool, mtu: Option<u32>) -> Self {
        TapPort {
            port,
            name,
            offload: AtomicBool::new(offload),
            vnet: AtomicBool::new(false),
            mtu: Mutex::new(mtu),
            dev: Mutex::new(None),
            broken: Notify::new(),
            removed: AtomicBool::new(false),
        }
    }

    /// Close the device and end the port's task.
    pub(super) fn shut(&self) {
        self.removed.store(true, Relaxed);
        lock(&self.dev).take();
        self.broken.notify_one();
    }

    /// Write `head` (and `tail`, gathered after it) as one frame, with no lock held.
    pub(super) fn send(&self, head: &[u8], tail: Option<&[u8]>) -> io::Result<()> {
        let Some(dev) = lock(&self.dev).clone() else {
            return Err(io::Error::from(io::ErrorKind::NotConnected));
        };
        match tail {
            Some(tail) => dev.get_ref().send_parts(head, tail).map(|_| ()),
            None => dev.get_ref().send(head).map(|_| ()),
        }
    }

    /// After a failed write: wake the reader if the device is gone, so it reopens.
    pub(super) fn note_error(&self, e: &io::Error) {
        if is_fatal(e) {
            self.broken.notify_one();
        }
    }
}

/// Errors after which a TAP descriptor is useless: the device is gone.
fn is_fatal(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EBADFD) | Some(libc::ENODEV) | Some(libc::ENXIO) | Some(libc::EBADF)
    )
}

/// Open the device, switch what it sends, reopen it when it fails; until removed.
pub(super) async fn tap_task(driver: Arc<Driver>, tap: Arc<TapPort>) {
    let mut backoff = RETRY_MIN;
    let mut buf = vec![0u8; TAP_BUF];
    let mut scratch = Scratch::default();
    while !tap.removed.load(Relaxed) {
        let dev = match Tap::open(&tap.name, tap.offload.load(Relaxed))
            .and_then(|t| reactor::register(t, Interest::READABLE))
        {
            Ok(dev) => Arc::new(dev),
            Err(e) => {
                if tap.removed.load(Relaxed) {
                    break;
                }
                warn!(tap = %tap.name, error = %e, retry_in = ?backoff, "cannot open TAP; port stays down");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RETRY_MAX);
                continue;
            }
        };
        if tap.removed.load(Relaxed) {
            break;
        }
        tap.vnet.store(dev.get_ref().vnet(), Relaxed);
        let mtu = *lock(&tap.mtu);
        if let Some(mtu) = mtu {
            if let Err(e) = tap::set_mtu(&tap.name, mtu) {
                warn!(tap = %tap.name, mtu, error = %e, "cannot set the MTU");
            }
        }
        *lock(&tap.dev) = Some(dev.clone());
        driver.set_port_up(tap.port, true);
        info!(tap = %tap.name, offload = dev.get_ref().vnet(), "TAP port up");
        let why = read_loop(&driver, &tap, &dev, &mut buf, &mut scratch).await;
        *lock(&tap.dev) = None;
        if tap.removed.load(Relaxed) {
            info!(tap = %tap.name, "TAP port removed");
            break;
        }
        driver.set_port_up(tap.port, false);
        warn!(tap = %tap.name, error = %why, "TAP port down; will reopen");
        backoff = RETRY_MIN;
        tokio::time::sleep(backoff).await;
    }
}

/// Read and switch frames until the device fails; returns why.
async fn read_loop(
    driver: &Arc<Driver>,
    tap: &TapPort,
    dev: &AsyncFd<Tap>,
    buf: &mut [u8],
    scratch: &mut Scratch,
) -> io::Error {
    loop {
        let mut guard = tokio::select! {
            ready = dev.ready(Interest::READABLE | Interest::ERROR) => match ready {
                Ok(g) => g,
                Err(e) => return e,
            },
            _ = tap.broken.notified() => return io::Error::from_raw_os_error(libc::EBADFD),
        };
        let mut taken = 0;
        while taken < PORT_BATCH {
            // A removed port's id may already be another port's.
            if tap.removed.load(Relaxed) {
                return io::Error::from(io::ErrorKind::NotConnected);
            }
            match dev.get_ref().recv(buf) {
                Ok(n) => {
                    let now = driver.clock.now();
                    let data = &buf[..n];
                    let pkt = if dev.get_ref().vnet() {
                        Packet::from_vnet(data)
                    } else {
                        Some(Packet::plain(data))
                    };
                    match pkt {
                        Some(pkt) => driver.forward(scratch, tap.port, pkt, now),
                        None => {
                            lock(&driver.node).record_rx_drop(tap.port, n, DropReason::TooShort)
                        }
                    }
                    taken += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    guard.clear_ready();
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return e,
            }
        }
        driver.after_batch(scratch);
        if taken == PORT_BATCH {
            tokio::task::yield_now().await;
        }
    }
}
