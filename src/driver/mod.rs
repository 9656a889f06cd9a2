//! Thin I/O drivers: they move bytes between devices and the core, in batches, and decide nothing.
//!
//! The live driver runs each port as a task on a small pool of worker
//! threads (`workers`, one by default): each ready port drains its queue in a
//! batch, asks the core where each frame goes (holding the core's lock only
//! for that decision), and writes it out with no lock held.

pub mod apply;
pub mod capture;
pub mod clock;
pub mod control;
pub mod live;
pub mod reactor;
pub mod tap;
mod train;
pub mod udp;

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Lock `m`. A panic on another worker while holding it leaves plain data
/// (tables and counters) that is still consistent enough to keep switching,
/// so poisoning is not propagated.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
