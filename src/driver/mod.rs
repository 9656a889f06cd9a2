//! Thin I/O drivers: they move bytes between devices and the core, in batches, and decide nothing.
//!
//! The live driver runs every port on one thread (a tokio `LocalSet`), so
//! the core needs no lock at all: each ready port drains its queue in a
//! batch, asks the core where each frame goes, and writes it out.

pub mod apply;
pub mod capture;
pub mod clock;
pub mod control;
pub mod live;
pub mod reactor;
pub mod tap;
mod train;
pub mod udp;
