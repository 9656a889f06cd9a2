//! The send path: a decided frame out to its destinations, with no lock held.
//!
//! Offload TAPs take a frame as it came (a 64 KB super-frame stays one
//! write); tunnel peers and plain TAPs get complete frames, segmented and
//! checksummed once for all of them. A frame for one tunnel peer joins that
//! tunnel's train (one GSO send per run of frames to the same peer); a flood
//! to several peers of a tunnel is one `sendmmsg`. Everything a task needs
//! here is its own [`Scratch`], reused from frame to frame, so the hot path
//! shares nothing and allocates nothing once warm.

use super::listen::ListenerIo;
use super::tap::TapPort;
use super::Driver;
use crate::driver::train::Train;
use crate::driver::udp::{self, FanoutScratch, SendOutcome};
use crate::node::{Dest, Egress, EncapHeader};
use crate::packet::ethernet::retag_into;
use crate::packet::gso::{self, Segments};
use crate::packet::virtio::{self, VnetHdr};
use crate::port::PortId;
use crate::switch::Retag;
use crate::switch::TxFailure;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// A received frame and its offload state.
#[derive(Clone, Copy)]
pub(super) struct Packet<'a> {
    /// The Ethernet frame.
    pub(super) frame: &'a [u8],
    /// Virtio-net header and frame, contiguous, when it came from an offload TAP.
    with_vnet: Option<&'a [u8]>,
    /// The decoded header; all zero for a plain frame.
    hdr: VnetHdr,
}

impl<'a> Packet<'a> {
    /// A complete frame with no offload state (from a tunnel, or our own).
    pub(super) fn plain(frame: &'a [u8]) -> Self {
        Packet {
            frame,
            with_vnet: None,
            hdr: VnetHdr::default(),
        }
    }

    /// A buffer read from a TAP with virtio-net headers; `None` if too short.
    pub(super) fn from_vnet(buf: &'a [u8]) -> Option<Self> {
        Some(Packet {
            frame: buf.get(virtio::LEN..)?,
            with_vnet: Some(buf),
            hdr: VnetHdr::parse(buf)?,
        })
    }
}

/// One tunnel's destinations of the frame being sent.
#[derive(Default)]
struct Fanout {
    addrs: Vec<SocketAddr>,
    ports: Vec<PortId>,
    header: EncapHeader,
}

/// What one task needs to send.
#[derive(Default)]
pub(super) struct Scratch {
    /// The destinations of the frame being sent, filled by the node.
    pub(super) dests: Vec<Dest>,
    /// Tunnel destinations of the frame, per tunnel slot.
    fanout: Vec<Fanout>,
    pub(super) failures: Vec<(PortId, TxFailure)>,
    /// Complete frames made from an offloaded one, for egresses that need them.
    segments: Segments,
    /// TAPs without offload the frame goes to.
    plain_taps: Vec<(PortId, Arc<TapPort>)>,
    /// Frames for one peer per tunnel slot, waiting for the end of the batch.
    trains: Vec<Train>,
    headers: FanoutScratch,
    /// The destinations of one 802.1Q form of the frame.
    group: Vec<Dest>,
    /// The frame re-tagged for them (with its virtio-net header, if it has one).
    retagged: Vec<u8>,
    /// Where an offloaded frame is re-tagged before its header goes in front.
    retag_tmp: Vec<u8>,
}

/// `pkt` in the form `form` asks for: itself, or re-tagged into `buf` (an
/// offload header's checksum start and header length moved with the tag;
/// `tmp` holds the frame meanwhile). Allocates nothing once warm.
fn retagged<'a>(
    pkt: Packet<'a>,
    form: Retag,
    buf: &'a mut Vec<u8>,
    tmp: &mut Vec<u8>,
) -> Option<Packet<'a>> {
    let tag = match form {
        Retag::Keep => return Some(pkt),
        Retag::Untag => None,
        Retag::Tag(vid) => Some(vid),
    };
    if pkt.with_vnet.is_none() {
        retag_into(pkt.frame, tag, buf)?;
        return Some(Packet::plain(buf));
    }
    let delta = retag_into(pkt.frame, tag, tmp)?;
    buf.clear();
    buf.extend_from_slice(&pkt.hdr.shifted(delta).to_bytes());
    buf.extend_from_slice(tmp);
    Packet::from_vnet(buf)
}

/// Tunnels by slot.
pub(super) type Tunnels = Vec<Option<Arc<ListenerIo>>>;

impl Driver {
    /// Write `pkt` to each of `dests`, each in the 802.1Q form its port's
    /// VLAN mode wants; failures are left in `scratch.failures`. A frame has
    /// one VLAN, so there are at most two forms besides the one it came in.
    pub(super) fn send(&self, scratch: &mut Scratch, dests: &[Dest], pkt: Packet<'_>) {
        if dests.iter().all(|d| d.retag == Retag::Keep) {
            return self.send_form(scratch, dests, pkt);
        }
        // A frame has one VLAN: at most three forms (as it came, untagged,
        // tagged with its VLAN), collected without allocating.
        let mut forms = [Retag::Keep; 3];
        let mut count = 0;
        for d in dests {
            if !forms[..count].contains(&d.retag) && count < forms.len() {
                forms[count] = d.retag;
                count += 1;
            }
        }
        let mut group = std::mem::take(&mut scratch.group);
        let mut buf = std::mem::take(&mut scratch.retagged);
        let mut tmp = std::mem::take(&mut scratch.retag_tmp);
        for &form in &forms[..count] {
            group.clear();
            group.extend(dests.iter().filter(|d| d.retag == form).copied());
            match retagged(pkt, form, &mut buf, &mut tmp) {
                Some(variant) => self.send_form(scratch, &group, variant),
                None => scratch
                    .failures
                    .extend(group.iter().map(|d| (d.port, TxFailure::Error))),
            }
        }
        scratch.group = group;
        scratch.retagged = buf;
        scratch.retag_tmp = tmp;
    }

    /// Write `pkt`, as it is, to each of `dests`.
    fn send_form(&self, scratch: &mut Scratch, dests: &[Dest], pkt: Packet<'_>) {
        let taps = self.taps.load();
        let tunnels = self.tunnels.load();
        if scratch.fanout.len() < tunnels.len() {
            scratch.fanout.resize_with(tunnels.len(), Fanout::default);
        }
        scratch.plain_taps.clear();
        for dest in dests {
            match dest.to {
                Egress::Tap(id) => match taps.get(id.index()).and_then(Option::as_ref) {
                    Some(tap) if tap.vnet.load(Relaxed) => {
                        let sent = match pkt.with_vnet {
                            Some(raw) => tap.send(raw, None),
                            None => tap.send(&VnetHdr::PLAIN, Some(pkt.frame)),
                        };
                        if let Err(e) = sent {
                            scratch.failures.push((dest.port, TxFailure::Error));
                            tap.note_error(&e);
                        }
                    }
                    Some(tap) => scratch.plain_taps.push((dest.port, tap.clone())),
                    None => scratch.failures.push((dest.port, TxFailure::Error)),
                },
                Egress::Peer {
                    tunnel,
                    remote,
                    header,
                } => match scratch.fanout.get_mut(tunnel.index()) {
                    Some(out) => {
                        out.addrs.push(remote);
                        out.ports.push(dest.port);
                        out.header = header;
                    }
                    None => scratch.failures.push((dest.port, TxFailure::Error)),
                },
                // Live ports all have devices; a local port has nowhere to go.
                Egress::Local => scratch.failures.push((dest.port, TxFailure::Error)),
            }
        }
        let needs_complete =
            !scratch.plain_taps.is_empty() || scratch.fanout.iter().any(|o| !o.addrs.is_empty());
        if needs_complete {
            if pkt.hdr.is_plain() {
                send_complete(scratch, &tunnels, pkt.frame);
            } else {
                let mut segments = std::mem::take(&mut scratch.segments);
                match gso::complete(&pkt.hdr, pkt.frame, &mut segments) {
                    Ok(()) => {
                        for seg in segments.iter() {
                            send_complete(scratch, &tunnels, seg);
                        }
                    }
                    Err(_) => {
                        let Scratch {
                            plain_taps,
                            fanout,
                            failures,
                            ..
                        } = scratch;
                        failures.extend(plain_taps.iter().map(|(p, _)| (*p, TxFailure::Offload)));
                        failures.extend(
                            fanout
                                .iter()
                                .flat_map(|o| o.ports.iter().map(|p| (*p, TxFailure::Offload))),
                        );
                    }
                }
                scratch.segments = segments;
            }
        }
        for out in scratch.fanout.iter_mut() {
            out.addrs.clear();
            out.ports.clear();
        }
    }

    /// Send every waiting train of this task; failures are left in `scratch.failures`.
    pub(super) fn flush_trains(&self, scratch: &mut Scratch) {
        if scratch.trains.iter().all(Train::is_empty) {
            return;
        }
        let tunnels = self.tunnels.load();
        for (slot, train) in scratch.trains.iter_mut().enumerate() {
            match tunnels.get(slot).and_then(Option::as_ref) {
                Some(lio) => flush_train(lio, train, &mut scratch.failures),
                // The tunnel went away in a reload: its peers' ports are gone too.
                None => train.clear(),
            }
        }
    }
}

/// Send one complete frame to the plain TAPs and the tunnel peers gathered by [`Driver::send`].
fn send_complete(scratch: &mut Scratch, tunnels: &Tunnels, frame: &[u8]) {
    let Scratch {
        plain_taps,
        fanout,
        failures,
        trains,
        headers,
        ..
    } = scratch;
    for (port, tap) in plain_taps.iter() {
        if let Err(e) = tap.send(frame, None) {
            failures.push((*port, TxFailure::Error));
            tap.note_error(&e);
        }
    }
    if trains.len() < tunnels.len() {
        trains.resize_with(tunnels.len(), Train::default);
    }
    for (slot, out) in fanout.iter().enumerate() {
        if out.addrs.is_empty() {
            continue;
        }
        let Some(lio) = tunnels.get(slot).and_then(Option::as_ref) else {
            failures.extend(out.ports.iter().map(|p| (*p, TxFailure::Error)));
            continue;
        };
        let header = out.header.as_slice();
        let train = &mut trains[slot];
        if let ([dest], [port], true) = (&out.addrs[..], &out.ports[..], lio.gso) {
            if !train.push(*dest, *port, header, frame) {
                flush_train(lio, train, failures);
                train.push(*dest, *port, header, frame);
            }
            continue;
        }
        // A peer's earlier frames leave before this flood, in order.
        flush_train(lio, train, failures);
        udp::send_fanout(
            lio.sock(),
            headers,
            header,
            frame,
            &out.addrs,
            |i, outcome| failures.extend(tx_failure(outcome).map(|f| (out.ports[i], f))),
        );
    }
}

/// Send a tunnel's waiting train, collecting what failed.
fn flush_train(lio: &ListenerIo, train: &mut Train, failures: &mut Vec<(PortId, TxFailure)>) {
    train.flush(lio.sock(), |port, outcome, datagrams| {
        if let Some(f) = tx_failure(outcome) {
            failures.extend(std::iter::repeat_n((port, f), datagrams));
        }
    });
}

/// How a send outcome is counted on the port.
fn tx_failure(outcome: SendOutcome) -> Option<TxFailure> {
    match outcome {
        SendOutcome::Sent => None,
        SendOutcome::TooBig => Some(TxFailure::TooBig),
        SendOutcome::Failed => Some(TxFailure::Error),
    }
}
