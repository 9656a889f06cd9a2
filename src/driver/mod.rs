//! Thin I/O drivers: they move bytes between devices and the core, in batches, and decide nothing.
//!
//! The live driver runs each port as a task on a small pool of worker
//! threads (`workers`, one by default): each ready port drains its queue in a
//! batch, asks the core where each frame goes (holding the core's lock only
//! for that decision), and writes it out with no lock held.

pub mod capture;
pub mod clock;
pub mod control;
pub mod live;
pub mod reactor;
pub mod tap;
mod train;
pub mod udp;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

/// Lock `m`. A panic on another worker while holding it leaves plain data
/// (tables and counters) that is still consistent enough to keep switching,
/// so poisoning is not propagated.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A table read on every frame and changed rarely: readers take the current
/// version (an `Arc`) and use it with no lock held; a change copies the
/// table if anyone still reads the old one, and swaps the new one in.
#[derive(Default)]
pub(crate) struct Snapshot<T>(RwLock<Arc<T>>);

impl<T: Clone> Snapshot<T> {
    /// The table as it is now.
    pub(crate) fn load(&self) -> Arc<T> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Change the table; readers holding the old version keep it.
    pub(crate) fn edit<R>(&self, edit: impl FnOnce(&mut T) -> R) -> R {
        let mut table = self.0.write().unwrap_or_else(PoisonError::into_inner);
        edit(Arc::make_mut(&mut table))
    }
}
