//! UDP tunnels: every remote peer is its own switch port.
//!
//! A listener is a UDP socket with one encapsulation (VXLAN or raw frames).
//! This module holds the sans-I/O part: configuration, the VXLAN header, and
//! each listener's peer table (admission, identity, expiry bookkeeping).
//! The socket work lives in `driver::udp`.

pub mod config;
pub mod listener;
pub mod vxlan;

pub use config::{Encap, ListenUrl, ListenerConfig, PeerConfig, PeerUrl};
pub use listener::{Ingress, Listener, ListenerCounters, ListenerDrop, PeerKey, PeerView};
