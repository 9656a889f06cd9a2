//! IGMP and MLD: wire code, snooping state, router ports and the querier.
//!
//! `repr` is the contract between the wire code and the state machines:
//! the wire code turns frames into [`repr::Message`] and
//! [`repr::Query`] into frames; the state machines see only `repr`.
//! [`snooper::Snooper`] is the one facade the switch core uses; the other
//! modules are its parts.

pub mod config;
pub mod counters;
mod lookup;
pub mod membership;
pub mod querier;
pub mod repr;
pub mod router_ports;
pub mod scope;
pub mod snooper;
pub mod why;
pub mod wire;

#[cfg(test)]
mod tests;
