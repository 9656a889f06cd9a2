//! `overcast run`: the configuration from the file and the flags, then the live switch.

use super::args::Command;
use anyhow::{bail, Context, Result};
use overcast::config::{CaptureConfig, Config, TapConfig};
use overcast::driver::control;
use overcast::driver::live::{self, RunOptions};
use overcast::tunnel::{PeerConfig, PeerUrl};
use std::path::PathBuf;

/// Run the switch until a signal stops it.
pub fn run(cmd: Command) -> Result<()> {
    let Command::Run {
        config,
        taps,
        peers,
        control,
        no_control,
        capture,
        capture_max_bytes,
        capture_max_files,
        metrics_listen,
        workers,
    } = cmd
    else {
        bail!("not a run command");
    };
    let mut cfg = build_config(config.clone(), taps.clone(), peers.clone())?;
    if metrics_listen.is_some() {
        cfg.metrics_listen = metrics_listen; // bound once, at start
    }
    if workers.is_some() {
        cfg.workers = workers;
    }
    if let Some(dir) = capture {
        let mut c = cfg
            .capture
            .take()
            .unwrap_or_else(|| CaptureConfig::new(&dir));
        c.dir = dir;
        c.max_bytes = capture_max_bytes.unwrap_or(c.max_bytes);
        c.max_files = capture_max_files.unwrap_or(c.max_files);
        cfg.capture = Some(c);
    }
    if let Err((field, reason)) = cfg.validate() {
        bail!("command line: {field}: {reason}");
    }
    // A reload re-reads the file and re-applies the command-line ports.
    let reload: live::ReloadSource = Box::new(move || {
        build_config(config.clone(), taps.clone(), peers.clone()).map_err(|e| format!("{e:#}"))
    });
    let control = if no_control {
        None
    } else {
        Some(
            control
                .or_else(|| cfg.control.clone())
                .unwrap_or_else(|| control::DEFAULT_PATH.into()),
        )
    };
    let rt = match cfg.workers() {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n).thread_name("overcast-worker");
            b
        }
    }
    .enable_all()
    .build()
    .context("cannot start the runtime")?;
    rt.block_on(live::run(RunOptions {
        config: cfg,
        control,
        reload: Some(reload),
    }))?;
    Ok(())
}

/// Merge the config file (or the built-in hub) with command-line ports.
pub fn build_config(
    file: Option<PathBuf>,
    taps: Vec<String>,
    peers: Vec<PeerUrl>,
) -> Result<Config> {
    let mut cfg = match &file {
        Some(path) => Config::load(path)?,
        None if peers.is_empty() => {
            tracing::info!(
                "no --config: running as an overlay hub on the built-in defaults \
                 (VXLAN 0.0.0.0:4789 VNI 42, raw frames 0.0.0.0:4800; \
                 only private, loopback and ULA sources are admitted)"
            );
            Config::default_hub()
        }
        None => Config::default(),
    };
    cfg.taps.extend(taps.into_iter().map(TapConfig::new));
    // Edge mode from the command line: size the TAPs to fit the tunnel over a
    // 1500-byte underlay, as n2n's edge does, so nothing is dropped as too big.
    let edge_mtu = match peers.first() {
        Some(p) if file.is_none() => Some(overcast::tunnel::config::inner_mtu(p.encap, 1500)),
        _ => None,
    };
    for tap in cfg.taps.iter_mut().filter(|t| t.mtu.is_none()) {
        tap.mtu = edge_mtu;
    }
    cfg.peers.extend(peers.into_iter().map(PeerConfig::from));
    if let Err((field, reason)) = cfg.validate() {
        let origin = file
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "command line".into());
        bail!("{origin}: {field}: {reason}");
    }
    Ok(cfg)
}
