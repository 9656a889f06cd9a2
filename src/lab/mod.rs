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
pub mod sniff;

pub use cleanup::Released;

use crate::config::Config;
use crate::driver::control::{self, Request};
use crate::driver::live::{self, RunOptions};
use cleanup::{Guard, SwitchThread};
use hosts::{Agent, Host};
use serde_json::Value;
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// What one round counted at each receiving host: (frames at the port, datagrams to the app).
type Counts = Vec<(u64, u64)>;

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
    start_switch(&guard, &taps, &control)?;
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
        wait_for_tap(&guard, &host.tap)?;
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

/// Fail unless round 1 reached both members only and round 2 the remaining member only.
fn verdict(count: u32, first: &Counts, second: &Counts) -> Result<(), LabError> {
    let c = u64::from(count);
    let wire = |r: &Counts| r.iter().map(|x| x.0).collect::<Vec<_>>();
    let (a, b) = (wire(first), wire(second));
    let quiet = |r: &[u64]| r.iter().skip(2).all(|x| *x == 0);
    let ok = a.first() == Some(&c)
        && a.get(1) == Some(&c)
        && b.first() == Some(&c)
        && b.get(1) == Some(&0)
        && quiet(&a)
        && quiet(&b);
    if ok {
        Ok(())
    } else {
        Err(LabError::Unexpected(format!(
            "frames at the receivers' ports: round 1 {a:?}, round 2 {b:?} \
             (expected [{c}, {c}, 0...] then [{c}, 0, 0...])"
        )))
    }
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

/// Start the live switch on `taps` in a thread of its own.
fn start_switch(guard: &Guard, taps: &[String], control: &Path) -> Result<(), LabError> {
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
fn wait_for_tap(guard: &Guard, tap: &str) -> Result<(), LabError> {
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

/// Poll the switch until `ready` says so.
fn wait_until(
    control: &Path,
    what: &str,
    ready: impl Fn(&Path) -> Result<bool, LabError>,
) -> Result<(), LabError> {
    let deadline = Instant::now() + SETTLE;
    while !ready(control)? {
        if Instant::now() > deadline {
            return Err(LabError::Timeout(format!("waited {SETTLE:?} for {what}")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn show(control: &Path, what: &str) -> Result<Value, LabError> {
    Ok(control::request(
        control,
        &Request::Show { what: what.into() },
    )?)
}

/// Whether the IPv4 querier is known, so the switch prunes rather than floods.
fn pruning(control: &Path) -> Result<bool, LabError> {
    let q = show(control, "querier")?;
    Ok(q.as_array().is_some_and(|a| {
        a.iter()
            .any(|q| q["family"] == "v4" && q["pruning"] == true)
    }))
}

/// The member ports of [`GROUP`], sorted.
fn members(control: &Path) -> Result<Vec<String>, LabError> {
    let mdb = show(control, "mdb")?;
    let group = GROUP.to_string();
    let mut ports: Vec<String> = mdb["groups"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .filter(|r| r["group"] == group.as_str() && r["reason"] == "member")
        .filter_map(|r| r["port"].as_str().map(String::from))
        .collect();
    ports.sort();
    Ok(ports)
}

fn show_mdb(control: &Path, out: &mut dyn Write) -> Result<(), LabError> {
    writeln!(out, "\n$ overcast show mdb")?;
    write!(out, "{}", crate::show::mdb(&show(control, "mdb")?))?;
    Ok(())
}

/// One round: h3 sends, every receiver counts; print who got what against a flood.
fn round(
    hosts: &[Host],
    receivers: &mut [(usize, Agent)],
    opts: &LabOptions,
    out: &mut dyn Write,
    left: &[usize],
) -> Result<Counts, LabError> {
    for (_, agent) in receivers.iter_mut() {
        agent.count()?; // start from zero
    }
    hosts[2].send(&opts.exe, GROUP, PORT, opts.count)?;
    std::thread::sleep(DRAIN);
    let mut counts = Vec::new();
    let mut rows = Vec::new();
    for (i, agent) in receivers.iter_mut() {
        let (wire, app) = agent.count()?;
        let role = match *i {
            _ if left.contains(i) => "left",
            0 | 1 => "member",
            _ => "bystander",
        };
        rows.push(vec![
            hosts[*i].label.clone(),
            role.to_string(),
            wire.to_string(),
            app.to_string(),
        ]);
        counts.push((wire, app));
    }
    write!(
        out,
        "{}",
        crate::show::table(
            &["HOST", "ROLE", "FRAMES-AT-PORT", "DATAGRAMS-TO-APP"],
            &rows
        )
    )?;
    let receivers_n = hosts.len() as u64 - 1;
    let flood = receivers_n * u64::from(opts.count);
    let delivered: u64 = counts.iter().map(|c| c.0).sum();
    writeln!(
        out,
        "flood: {receivers_n} receivers × {} = {flood} frames; overcast delivered {delivered}, pruned {}",
        opts.count,
        flood.saturating_sub(delivered)
    )?;
    Ok(counts)
}
