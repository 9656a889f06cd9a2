//! IGMP and MLD: wire code, snooping state, router ports and the querier.
//!
//! `repr` is the contract between the wire code and the state machines:
//! the wire code turns frames into [`repr::Message`] and
//! [`repr::QueryToSend`] into frames; the state machines see only `repr`.

pub mod repr;
pub mod wire;
