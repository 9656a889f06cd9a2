//! Everything the lab creates is registered here before it exists, and
//! released in one place: on return, on a panic (a drop guard), and on
//! SIGINT or SIGTERM (a signal thread that cleans up and exits).
//!
//! Order matters: the switch stops first, since it would otherwise reopen
//! (and so recreate) a TAP that vanished with its namespace; then the
//! agents, the namespaces (their TAPs go with them), stray TAPs, and the
//! temporary directory.

use super::LabError;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

/// The in-process switch: how to stop it, and its thread.
pub(super) struct SwitchThread {
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub thread: JoinHandle<Result<(), String>>,
}

/// What the lab has made so far.
#[derive(Default)]
pub(super) struct Resources {
    pub switch: Option<SwitchThread>,
    pub agents: Vec<u32>,
    pub namespaces: Vec<String>,
    pub taps: Vec<String>,
    pub dir: Option<PathBuf>,
}

/// What a release removed, for the closing line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    /// Namespaces deleted.
    pub namespaces: usize,
    /// TAPs deleted by name (those still outside a namespace).
    pub taps: usize,
}

impl Resources {
    /// Stop the switch and remove everything; safe to call twice.
    pub fn release(&mut self) -> Released {
        if let Some(sw) = self.switch.take() {
            let _ = sw.stop.send(());
            let _ = sw.thread.join();
        }
        for pid in self.agents.drain(..) {
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // SAFETY: kill(2) on a PID of a child this process started.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        let mut released = Released::default();
        for ns in self.namespaces.drain(..) {
            if quiet(&["netns", "del", &ns]) {
                released.namespaces += 1;
            }
        }
        for tap in self.taps.drain(..) {
            if quiet(&["link", "show", &tap]) && quiet(&["link", "del", &tap]) {
                released.taps += 1;
            }
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        released
    }
}

/// `ip ARGS`, silently; whether it succeeded.
fn quiet(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The shared registry; releasing it when dropped.
pub(super) struct Guard(pub Arc<Mutex<Resources>>);

impl Guard {
    pub fn new() -> Guard {
        Guard(Arc::new(Mutex::new(Resources::default())))
    }

    /// The registry, even if a panicking thread held it.
    pub fn lock(&self) -> MutexGuard<'_, Resources> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Release now and say what went.
    pub fn release(&self) -> Released {
        self.lock().release()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.release();
    }
}

/// On SIGINT or SIGTERM: release everything, then exit 130 or 143.
/// Returns once the handlers are installed.
pub(super) fn on_signal_release(res: Arc<Mutex<Resources>>) -> Result<(), LabError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
    std::thread::Builder::new()
        .name("lab-signals".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                use tokio::signal::unix::{signal, SignalKind};
                let (mut int, mut term) = match (
                    signal(SignalKind::interrupt()),
                    signal(SignalKind::terminate()),
                ) {
                    (Ok(i), Ok(t)) => (i, t),
                    (Err(e), _) | (_, Err(e)) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(()));
                let code = tokio::select! {
                    _ = int.recv() => 130,
                    _ = term.recv() => 143,
                };
                eprintln!("overcast lab: interrupted, cleaning up");
                // The registry stays locked until the exit, so the main thread,
                // whose steps now fail, blocks in its own release instead of
                // reporting those failures.
                let mut held = res.lock().unwrap_or_else(PoisonError::into_inner);
                let released = held.release();
                eprintln!(
                    "overcast lab: removed {} namespaces and {} TAPs",
                    released.namespaces, released.taps
                );
                std::process::exit(code);
            });
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(LabError::Io(e)),
        Err(_) => Err(LabError::Io(std::io::Error::other(
            "the signal thread ended before installing its handlers",
        ))),
    }
}
