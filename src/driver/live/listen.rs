//! Tunnel sockets: each listener has one socket per worker, bound to one
//! address, and a receive task per socket that hands datagrams to the node
//! in batches. The peer table lives in the node, not here.

use super::send::Scratch;
use super::tap::PORT_BATCH;
use super::Driver;
use crate::driver::{reactor, udp};
use crate::node::TunnelId;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tracing::{debug, warn};

/// A tunnel's sockets.
pub(super) struct ListenerIo {
    /// The node's id for this tunnel.
    pub(super) tunnel: TunnelId,
    /// One socket per worker, all bound to the listener's address: the
    /// kernel spreads peers over them, and each has its own task. Sends go
    /// out of the first.
    socks: Vec<AsyncFd<std::net::UdpSocket>>,
    /// The kernel takes `UDP_SEGMENT` on this socket, so trains are used.
    pub(super) gso: bool,
    /// Set once when the listener is removed; every task of it ends.
    stop: tokio::sync::watch::Sender<bool>,
}

impl ListenerIo {
    /// `socks`: at least one, all bound to the same address (see [`udp::bind_group`]).
    pub(super) fn new(tunnel: TunnelId, socks: Vec<std::net::UdpSocket>) -> io::Result<Self> {
        let gso = socks.first().is_some_and(udp::supports_gso);
        let socks = socks
            .into_iter()
            .map(|s| reactor::register(s, Interest::READABLE))
            .collect::<io::Result<Vec<_>>>()?;
        if socks.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "no socket"));
        }
        Ok(ListenerIo {
            tunnel,
            gso,
            socks,
            stop: tokio::sync::watch::Sender::new(false),
        })
    }

    /// The socket frames are sent from.
    pub(super) fn sock(&self) -> &std::net::UdpSocket {
        self.socks[0].get_ref()
    }

    /// How many sockets (and receive tasks) the listener has.
    pub(super) fn sockets(&self) -> usize {
        self.socks.len()
    }

    /// End the listener's tasks (the sockets close when the last reference goes).
    pub(super) fn shut(&self) {
        self.stop.send_replace(true);
    }

    pub(super) fn local_addr(&self) -> Option<SocketAddr> {
        self.sock().local_addr().ok()
    }
}

/// Receive and switch the datagrams of socket `index` of `lio`.
pub(super) async fn listener_task(driver: Arc<Driver>, lio: Arc<ListenerIo>, index: usize) {
    let mut batch = udp::RxBatch::default();
    let mut scratch = Scratch::default();
    let mut stop = lio.stop.subscribe();
    let Some(sock) = lio.socks.get(index) else {
        return;
    };
    loop {
        let ready = tokio::select! {
            ready = sock.readable() => ready,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        let mut guard = match ready {
            Ok(g) => g,
            Err(e) => {
                warn!(error = %e, "listener socket failed");
                return;
            }
        };
        let mut rounds = 0;
        loop {
            match batch.recv(sock.get_ref()) {
                Ok(_) => {
                    let now = driver.clock.now();
                    if batch.truncated() > 0 {
                        crate::driver::lock(&driver.node)
                            .count_truncated(lio.tunnel, batch.truncated());
                    }
                    for (src, datagram) in batch.iter() {
                        driver.on_datagram(&mut scratch, lio.tunnel, src, datagram, now);
                    }
                    rounds += 1;
                    if rounds * udp::RX_BATCH >= PORT_BATCH {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    guard.clear_ready();
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // ICMP errors for earlier sends surface here (ECONNREFUSED);
                    // they concern one peer, never the listener.
                    debug!(error = %e, "listener receive error");
                    break;
                }
            }
        }
        driver.after_batch(&mut scratch);
        tokio::task::yield_now().await;
    }
}
