//! The lab's switch: the live driver on a thread of its own, and waiting for its TAPs.

use super::cleanup::{Guard, SwitchThread};
use super::{hosts, LabError, LAB_MULTICAST, SETTLE};
use crate::config::Config;
use crate::driver::live::{self, RunOptions};
use std::path::Path;
use std::time::{Duration, Instant};

/// Start the live switch on `taps` in a thread of its own.
pub(super) fn start(guard: &Guard, taps: &[String], control: &Path) -> Result<(), LabError> {
    let mut text = String::from(LAB_MULTICAST);
    for tap in taps {
        text.push_str(&format!("\n[[tap]]\nname = \"{tap}\"\n"));
    }
    let config =
        Config::parse(&text, Path::new("<lab>")).map_err(|e| LabError::Switch(e.to_string()))?;
    let control = control.to_path_buf();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("lab-switch".into())
        .spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            // Built here: RunOptions is not Send (its reload hook is not).
            let opts = RunOptions {
                config,
                control: Some(control),
                reload: None,
            };
            rt.block_on(live::run_until(opts, async {
                let _ = stopped.await;
            }))
            .map_err(|e| e.to_string())
        })?;
    guard.lock().switch = Some(SwitchThread { stop, thread });
    Ok(())
}

/// Wait until the switch has created `tap`; fail at once if the switch died.
pub(super) fn wait_for_tap(guard: &Guard, tap: &str) -> Result<(), LabError> {
    let deadline = Instant::now() + SETTLE;
    loop {
        if hosts::ip(&["link", "show", tap]).is_ok() {
            return Ok(());
        }
        let dead = guard
            .lock()
            .switch
            .as_ref()
            .is_none_or(|s| s.thread.is_finished());
        if dead {
            let why = match guard.lock().switch.take().map(|s| s.thread.join()) {
                Some(Ok(Err(e))) => e,
                Some(Err(_)) => "it panicked".into(),
                _ => "it stopped".into(),
            };
            return Err(LabError::Switch(why));
        }
        if Instant::now() > deadline {
            return Err(LabError::Timeout(format!("TAP {tap} never appeared")));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
