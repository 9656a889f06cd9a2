//! `overcast run`: the configuration from the file and the flags, then the live switch.

use super::args::Command;
use anyhow::{bail, Context, Result};
use overcast::config::{CaptureConfig, Config, TapConfig};
use overcast::driver::control;
use overcast::driver::live::{self, RunOptions};
use overcast::tunnel::{ListenerConfig, PeerConfig, PeerUrl};
use std::path::Path;

/// Run the switch until a signal stops it.
pub fn run(cmd: Command) -> Result<()> {
    let Command::Run {
        config,
        taps,
        peers,
        hub,
        listens,
        name,
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
    let ports = CliPorts {
        taps,
        peers,
        listens: listens.into_iter().map(|l| l.0).collect(),
        hub,
    };
    let mut cfg = build_config(config.as_deref(), &ports)?;
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
    let control = match (no_control, control.or_else(|| cfg.control.clone())) {
        (true, _) => None,
        (false, Some(path)) => Some(path),
        // Only a socket named after the instance needs a usable name.
        (false, None) => Some(control::path_for(&instance_name(
            name.as_deref(),
            config.as_deref(),
        )?)),
    };
    // A reload re-reads the file and re-applies the command-line ports.
    let reload: live::ReloadSource =
        Box::new(move || build_config(config.as_deref(), &ports).map_err(|e| format!("{e:#}")));
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

/// What the command line adds to the configuration.
pub struct CliPorts {
    /// `--tap`.
    pub taps: Vec<String>,
    /// `--peer`.
    pub peers: Vec<PeerUrl>,
    /// `--listen`.
    pub listens: Vec<ListenerConfig>,
    /// `--hub`.
    pub hub: bool,
}

impl CliPorts {
    fn is_empty(&self) -> bool {
        self.taps.is_empty() && self.peers.is_empty() && self.listens.is_empty()
    }
}

/// The instance's name: `--name`, else the config file's stem, else the default.
fn instance_name(name: Option<&str>, config: Option<&Path>) -> Result<String> {
    let name = match (name, config.and_then(Path::file_stem)) {
        (Some(n), _) => n.to_string(),
        (None, Some(stem)) => stem.to_string_lossy().into_owned(),
        (None, None) => control::DEFAULT_NAME.to_string(),
    };
    control::check_name(&name).map_err(anyhow::Error::msg)?;
    Ok(name)
}

/// Merge the config file with the command line. With no file: no ports at
/// all is the built-in hub; otherwise exactly the ports given (a lab switch
/// for --tap, edge mode for --peer), plus the hub's listeners with --hub.
pub fn build_config(file: Option<&Path>, cli: &CliPorts) -> Result<Config> {
    let hub_listeners = Config::default_hub().listeners;
    let mut cfg = match file {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if file.is_none() && (cli.is_empty() || cli.hub) {
        tracing::info!(
            "{}: the overlay hub's listeners (VXLAN 0.0.0.0:4789 VNI 42, raw frames 0.0.0.0:4800; \
             only private, loopback and ULA sources are admitted)",
            if cli.hub {
                "--hub"
            } else {
                "no --config and no ports"
            }
        );
    }
    if cli.hub || (file.is_none() && cli.is_empty()) {
        for l in hub_listeners {
            if !cfg.listeners.iter().any(|c| c.bind == l.bind) {
                cfg.listeners.push(l);
            }
        }
    }
    for l in &cli.listens {
        let mut l = l.clone();
        if cfg
            .listeners
            .iter()
            .any(|c| c.display_name() == l.display_name())
        {
            l.name = Some(format!("{}-{}", l.encap, l.bind.port()));
        }
        cfg.listeners.push(l);
    }
    cfg.taps
        .extend(cli.taps.iter().cloned().map(TapConfig::new));
    // Edge mode from the command line: size the TAPs to fit the tunnel over a
    // 1500-byte underlay, as n2n's edge does, so nothing is dropped as too big.
    let edge_mtu = match cli.peers.first() {
        Some(p) if file.is_none() => Some(overcast::tunnel::config::inner_mtu(p.encap, 1500)),
        _ => None,
    };
    for tap in cfg.taps.iter_mut().filter(|t| t.mtu.is_none()) {
        tap.mtu = edge_mtu;
    }
    cfg.peers
        .extend(cli.peers.iter().cloned().map(PeerConfig::from));
    if let Err((field, reason)) = cfg.validate() {
        let origin = file
            .map(|f| f.display().to_string())
            .unwrap_or_else(|| "command line".into());
        bail!("{origin}: {field}: {reason}");
    }
    Ok(cfg)
}
