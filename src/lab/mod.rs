//! `overcast lab`: a one-command demonstration of multicast pruning.
//!
//! It runs the live switch in-process (its own thread and runtime, a private
//! control socket in a temporary directory, short multicast timers), gives
//! each of N hosts a network namespace on one of its TAP ports, and plays
//! two rounds: two members and a bystander while a third host sends, then
//! again after one member leaves. Each host's port is watched by a raw
//! socket, so the counts are what the switch delivered, not what a kernel
//! let through; they are set against what flooding would have cost.
//!
//! Every namespace, TAP and agent is registered with [`cleanup`] before it
//! exists, and released on return, on a panic and on SIGINT/SIGTERM.

pub mod agent;
mod cleanup;
mod hosts;
mod rounds;
pub mod sniff;
mod switch;
mod watch;

pub use cleanup::Released;

use crate::driver::control::{self, Request};
use cleanup::Guard;
use hosts::{Agent, Host};
use rounds::{round, verdict};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use watch::{members, pruning, show_mdb, wait_until};

/// The group the members join.
pub const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 1, 1);
/// The UDP port the sender sends to.
pub const PORT: u16 = 5000;
/// Fewest and most hosts.
pub const MIN_HOSTS: usize = 3;
/// Most hosts (interface names must fit in 15 bytes).
pub const MAX_HOSTS: usize = 20;
/// Longest wait for the switch or the snooping state to get somewhere.
const SETTLE: Duration = Duration::from_secs(10);
/// Frames still in flight after the sender is done.
const DRAIN: Duration = Duration::from_millis(300);

/// Short RFC timers: a leave is pruned within about a second.
const LAB_MULTICAST: &str = r#"
[multicast]
query_interval = "2s"
query_response_interval = "1s"
last_member_query_interval = "500ms"
"#;

/// What to build.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Hosts (namespaces): two members, one sender, the rest bystanders.
    pub hosts: usize,
    /// Datagrams sent per round.
    pub count: u32,
    /// This program, re-executed in each namespace as `lab-agent`.
    pub exe: PathBuf,
}

/// Why the lab could not run (or did not show what it should).
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Not root, no TUN device, no iproute2, or a bad option.
    #[error("overcast lab: {0}")]
    Unavailable(String),
    /// An `ip` command failed.
    #[error("`{cmd}` failed: {stderr}")]
    Command {
        /// The command line.
        cmd: String,
        /// What it said.
        stderr: String,
    },
    /// A lab agent failed.
    #[error("lab agent in {host}: {reason}")]
    Agent {
        /// The host it ran in.
        host: String,
        /// Why.
        reason: String,
    },
    /// The in-process switch failed or stopped.
    #[error("the in-process switch: {0}")]
    Switch(String),
    /// Snooping did not reach the expected state in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The control socket failed.
    #[error("{0}")]
    Control(#[from] control::ClientError),
    /// Local I/O.
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The counts are not what snooping promises.
    #[error("unexpected result: {0}")]
    Unexpected(String),
}

/// Run the whole demonstration, writing the story to `out`.
pub fn run(opts: &LabOptions, out: &mut dyn Write) -> Result<Released, LabError> {
    check_requirements(opts)?;
    let guard = Guard::new();
    cleanup::on_signal_release(guard.0.clone())?;
    let prefix = format!("oclab{}", std::process::id() % 100_000);
    let dir = std::env::temp_dir().join(&prefix);
    guard.lock().dir = Some(dir.clone());
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
    let control = dir.join("control.sock");

    let n = opts.hosts;
    writeln!(
        out,
        "overcast lab: {n} hosts on TAP ports of an in-process switch (prefix {prefix})\n"
    )?;
    let taps: Vec<String> = (1..=n).map(|i| format!("{prefix}t{i}")).collect();
    guard.lock().taps = taps.clone();
    switch::start(&guard, &taps, &control)?;
    let mut hosts = Vec::new();
    for (i, tap) in taps.iter().enumerate() {
        let addr = Ipv4Addr::new(10, 77, 0, u8::try_from(i + 1).unwrap_or(u8::MAX));
        let label = format!("h{}", i + 1);
        hosts.push(Host::create(
            &guard,
            label,
            format!("{prefix}h{}", i + 1),
            tap.clone(),
            addr,
        )?);
    }
    for host in &hosts {
        switch::wait_for_tap(&guard, &host.tap)?;
        host.plug()?;
    }
    // The switch brought each TAP up here, before it moved, and this
    // namespace's IPv6 announced itself through it: forget those groups.
    control::request(&control, &Request::MdbFlush { port: None })?;
    let role = |i: usize| match i {
        0 | 1 => "member",
        2 => "sender",
        _ => "bystander",
    };
    let rows: Vec<Vec<String>> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            vec![
                h.label.clone(),
                h.ns.clone(),
                h.tap.clone(),
                h.addr.to_string(),
                role(i).into(),
            ]
        })
        .collect();
    write!(
        out,
        "{}",
        crate::show::table(&["HOST", "NAMESPACE", "PORT", "ADDRESS", "ROLE"], &rows)
    )?;

    // Receivers: the two members join; bystanders only watch their port.
    let mut receivers: Vec<(usize, Agent)> = Vec::new();
    for (i, host) in hosts.iter().enumerate().filter(|(i, _)| *i != 2) {
        receivers.push((i, host.receiver(&guard, &opts.exe, GROUP, PORT, i < 2)?));
    }
    writeln!(
        out,
        "\nh1 and h2 join {GROUP}; waiting for the switch to prune..."
    )?;
    wait_until(
        &control,
        "both members in the MDB and a querier known",
        |c| Ok(pruning(c)? && members(c)? == [hosts[0].tap.clone(), hosts[1].tap.clone()]),
    )?;
    show_mdb(&control, out)?;

    writeln!(
        out,
        "\nround 1: h3 sends {} datagrams to {GROUP}:{PORT}",
        opts.count
    )?;
    let first = round(&hosts, &mut receivers, opts, out, &[])?;

    writeln!(out, "\nh2 leaves {GROUP}")?;
    if let Some((_, agent)) = receivers.iter_mut().find(|(i, _)| *i == 1) {
        agent.leave()?;
    }
    wait_until(&control, "h2's membership to be pruned", |c| {
        Ok(members(c)? == [hosts[0].tap.clone()])
    })?;
    show_mdb(&control, out)?;
    writeln!(out, "\nround 2: h3 sends {} more", opts.count)?;
    let second = round(&hosts, &mut receivers, opts, out, &[1])?;

    drop(receivers);
    let released = guard.release();
    writeln!(
        out,
        "\ncleaned up: switch stopped, {} namespaces deleted (their TAPs with them)",
        released.namespaces
    )?;
    verdict(opts.count, &first, &second)?;
    Ok(released)
}

fn check_requirements(opts: &LabOptions) -> Result<(), LabError> {
    if !(MIN_HOSTS..=MAX_HOSTS).contains(&opts.hosts) {
        return Err(LabError::Unavailable(format!(
            "--hosts must be {MIN_HOSTS} to {MAX_HOSTS} (two members, a sender, bystanders)"
        )));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(LabError::Unavailable(
            "needs root: it creates network namespaces and TAP devices (try sudo)".into(),
        ));
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err(LabError::Unavailable(
            "needs /dev/net/tun (modprobe tun)".into(),
        ));
    }
    hosts::ip(&["-V"]).map_err(|_| LabError::Unavailable("needs iproute2 (`ip`)".into()))?;
    Ok(())
}
