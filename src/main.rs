//! The `overcast` command: run the switch, check a config, query a running switch.

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use overcast::config::CaptureConfig;
use overcast::config::{Config, TapConfig};
use overcast::driver::control::{self, Request};
use overcast::driver::live::{self, RunOptions};
use overcast::packet::ethernet::MacAddr;
use overcast::replay::{self, InputSpec, ReplayOptions};
use overcast::tunnel::{PeerConfig, PeerUrl};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

/// A userspace Ethernet switch that gets multicast right.
#[derive(Parser, Debug)]
#[command(name = "overcast", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the switch. With no config and no --peer it is an overlay hub:
    /// VXLAN on 0.0.0.0:4789 (VNI 42) and raw frames on 0.0.0.0:4800,
    /// admitting private, loopback and ULA sources.
    Run {
        /// TOML configuration file.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Add a TAP port (opened, or created if missing). Repeatable.
        #[arg(long = "tap", value_name = "NAME")]
        taps: Vec<String>,
        /// Add a static peer: vxlan://HOST[:PORT] or raw://HOST:PORT. Repeatable.
        /// Without --config this is edge mode: no hub listeners are opened.
        #[arg(long = "peer", value_name = "URL")]
        peers: Vec<PeerUrl>,
        /// Control socket path.
        #[arg(long)]
        control: Option<PathBuf>,
        /// Do not open a control socket.
        #[arg(long, conflicts_with = "control")]
        no_control: bool,
        /// Capture every port to DIR: <port>.in.pcap (what it received;
        /// replay input) and <port>.out.pcap (what the switch sent out of it).
        #[arg(long, value_name = "DIR")]
        capture: Option<PathBuf>,
        /// Rotate a capture file before it passes this many bytes (default 64 MiB).
        #[arg(long, value_name = "BYTES", requires = "capture")]
        capture_max_bytes: Option<u64>,
        /// Capture files kept per port and direction (default 4).
        #[arg(long, value_name = "N", requires = "capture")]
        capture_max_files: Option<usize>,
        /// Serve Prometheus metrics at http://ADDR/metrics (IP:PORT; a bare PORT is loopback).
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<overcast::metrics::MetricsAddr>,
        /// Switching threads (overrides `workers` in the config; default 1).
        #[arg(long, value_name = "N")]
        workers: Option<usize>,
    },
    /// Replay pcap/pcapng files through the switch on a virtual clock and
    /// write what it sends out of each port (DIR/<port>.pcap) and its state
    /// (DIR/state.json). Virtual time 0 is the earliest record's timestamp.
    Replay {
        /// TOML configuration file (switch settings; its TAP ports exist as silent ports).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Feed FILE (pcap or pcapng, Ethernet) into port PORT. Repeatable;
        /// inputs are merged by timestamp, ties in --in order.
        #[arg(
            long = "in",
            value_name = "PORT=FILE",
            required_unless_present = "tunnel_inputs"
        )]
        inputs: Vec<InputSpec>,
        /// Feed the UDP datagrams of FILE (an underlay capture, pcap or pcapng,
        /// Ethernet) to listener LISTENER of the config: peers are admitted,
        /// expire and are refused as live. Repeatable; ties after every --in.
        #[arg(long = "in-tunnel", value_name = "LISTENER=FILE")]
        tunnel_inputs: Vec<InputSpec>,
        /// Output directory (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Keep the clock running up to this virtual time (e.g. 400s), firing
        /// timers; frames stamped later are not fed.
        #[arg(long, value_parser = humantime::parse_duration)]
        until: Option<Duration>,
        /// Also write DIR/state-<ms>.json at this virtual time. Repeatable.
        #[arg(long = "state-at", value_name = "T", value_parser = humantime::parse_duration)]
        state_at: Vec<Duration>,
        /// Count and skip bad records (a truncated file's tail, a corrupt
        /// block) instead of failing.
        #[arg(long)]
        skip_bad_records: bool,
    },
    /// Validate a config file and print what it would build.
    CheckConfig {
        /// The file.
        file: PathBuf,
    },
    /// Show state of a running switch.
    Show {
        /// What to show.
        #[arg(value_parser = ["ports", "fdb", "mdb", "querier", "peers", "counters", "state"])]
        what: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Control socket path.
        #[arg(long, default_value = control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Manage the forwarding database of a running switch.
    Fdb {
        #[command(subcommand)]
        action: FdbAction,
    },
    /// Re-read the running switch's configuration and apply it without a
    /// restart (the same as SIGHUP). A bad configuration is refused, with the
    /// reason, and the running one stays.
    Reload {
        /// Control socket path.
        #[arg(long, default_value = control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Manage the multicast database of a running switch.
    Mdb {
        #[command(subcommand)]
        action: MdbAction,
    },
    /// Demonstrate pruning (root): hosts in namespaces on an in-process switch,
    /// two join a group, one sends, one leaves; everything is removed at exit.
    Lab {
        /// Hosts: two members, one sender, the rest bystanders.
        #[arg(long, default_value_t = 4)]
        hosts: usize,
        /// Datagrams sent per round.
        #[arg(long, default_value_t = 100)]
        count: u32,
    },
    /// The lab's helper inside a namespace.
    #[command(hide = true)]
    LabAgent {
        #[command(subcommand)]
        role: LabAgent,
    },
    /// Print shell completions to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout.
    Man,
}

#[derive(Subcommand, Debug)]
enum LabAgent {
    /// Join (or just watch) a group and count; commands on stdin.
    Recv(overcast::lab::agent::RecvArgs),
    /// Send datagrams to a group.
    Send(overcast::lab::agent::SendArgs),
}

#[derive(Subcommand, Debug)]
enum FdbAction {
    /// Remove learned entries (static entries stay).
    Flush {
        /// Only this port's entries.
        #[arg(long)]
        port: Option<String>,
        /// Control socket path.
        #[arg(long, default_value = control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Pin a MAC to a port (a static entry: never ages, never moves).
    Add {
        /// Station MAC.
        mac: MacAddr,
        /// Port name.
        #[arg(long)]
        port: String,
        /// VLAN id (0 = untagged).
        #[arg(long, default_value_t = 0)]
        vlan: u16,
        /// Control socket path.
        #[arg(long, default_value = control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Remove an entry, static or learned.
    Del {
        /// Station MAC.
        mac: MacAddr,
        /// VLAN id (0 = untagged).
        #[arg(long, default_value_t = 0)]
        vlan: u16,
        /// Control socket path.
        #[arg(long, default_value = control::DEFAULT_PATH)]
        control: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum MdbAction {
    /// Forget learned groups and router ports (static entries stay).
    Flush {
        /// Only this port's.
        #[arg(long)]
        port: Option<String>,
        /// Control socket path.
        #[arg(long, default_value = control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Pin a port as a member of a group, whatever IGMP/MLD says.
    Add {
        /// The group.
        group: std::net::IpAddr,
        /// Port name.
        #[arg(long)]
        port: String,
        /// VLAN id (0 = untagged).
        #[arg(long, default_value_t = 0)]
        vlan: u16,
        /// Control socket path.
        #[arg(long, default_value = control::DEFAULT_PATH)]
        control: PathBuf,
    },
    /// Remove a static membership.
    Del {
        /// The group.
        group: std::net::IpAddr,
        /// Port name.
        #[arg(long)]
        port: String,
        /// VLAN id (0 = untagged).
        #[arg(long, default_value_t = 0)]
        vlan: u16,
        /// Control socket path.
        #[arg(long, default_value = control::DEFAULT_PATH)]
        control: PathBuf,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // The lab tells its own story on stdout; the switch inside it only warns.
    let quiet = matches!(cli.command, Command::Lab { .. } | Command::LabAgent { .. });
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(if quiet { "warn" } else { "info" })),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Command::Run {
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
        } => {
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
                build_config(config.clone(), taps.clone(), peers.clone())
                    .map_err(|e| format!("{e:#}"))
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
        Command::Replay {
            config,
            mut inputs,
            tunnel_inputs,
            out,
            until,
            state_at,
            skip_bad_records,
        } => {
            let config = match &config {
                Some(path) => Config::load(path)?,
                None => Config::default(),
            };
            inputs.extend(tunnel_inputs.into_iter().map(|spec| InputSpec {
                kind: replay::InputKind::Tunnel,
                ..spec
            }));
            let opts = ReplayOptions {
                config,
                inputs,
                out_dir: out,
                until,
                state_at,
                skip_bad_records,
            };
            let report = replay::run(&opts)?;
            let s = &report.stats;
            println!(
                "replayed {} frames ({} forwarded, {} dropped, {} originated by the switch) \
                 over {} of virtual time into {}",
                s.frames_fed,
                s.frames_forwarded,
                s.frames_dropped,
                s.frames_originated,
                humantime::format_duration(Duration::from_millis(s.now_ms)),
                opts.out_dir.display()
            );
            for i in &s.inputs {
                if i.bad_records + i.truncated_records + i.out_of_order_records > 0 {
                    println!(
                        "  {}={}: {} bad records skipped, {} truncated, {} out of order",
                        i.port, i.file, i.bad_records, i.truncated_records, i.out_of_order_records
                    );
                }
            }
            Ok(())
        }
        Command::CheckConfig { file } => {
            let cfg = Config::load(&file)?;
            print!("{}", describe(&cfg));
            Ok(())
        }
        Command::Show {
            what,
            json,
            control,
        } => {
            let data = control::request(&control, &Request::Show { what: what.clone() })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&data)?);
            } else {
                let text = match what.as_str() {
                    "fdb" => overcast::show::fdb(&data),
                    "ports" => overcast::show::ports(&data),
                    "peers" => overcast::show::peers(&data),
                    "counters" => overcast::show::counters(&data),
                    "mdb" => overcast::show::mdb(&data),
                    "querier" => overcast::show::querier(&data),
                    _ => serde_json::to_string_pretty(&data)? + "\n",
                };
                print!("{text}");
            }
            Ok(())
        }
        Command::Fdb { action } => {
            let (control, req) = match action {
                FdbAction::Flush { port, control } => (control, Request::FdbFlush { port }),
                FdbAction::Add {
                    mac,
                    port,
                    vlan,
                    control,
                } => (control, Request::FdbAdd { mac, port, vlan }),
                FdbAction::Del { mac, vlan, control } => (control, Request::FdbDel { mac, vlan }),
            };
            println!("{}", control::request(&control, &req)?);
            Ok(())
        }
        Command::Reload { control } => {
            let data = control::request(&control, &Request::Reload)?;
            println!("reloaded: {data}");
            Ok(())
        }
        Command::Mdb { action } => {
            let (control, req) = match action {
                MdbAction::Flush { port, control } => (control, Request::MdbFlush { port }),
                MdbAction::Add {
                    group,
                    port,
                    vlan,
                    control,
                } => (control, Request::MdbAdd { group, port, vlan }),
                MdbAction::Del {
                    group,
                    port,
                    vlan,
                    control,
                } => (control, Request::MdbDel { group, port, vlan }),
            };
            println!("{}", control::request(&control, &req)?);
            Ok(())
        }
        Command::Lab { hosts, count } => {
            let opts = overcast::lab::LabOptions {
                hosts,
                count,
                exe: std::env::current_exe().context("cannot find the overcast binary")?,
            };
            overcast::lab::run(&opts, &mut std::io::stdout())?;
            Ok(())
        }
        Command::LabAgent { role } => match role {
            LabAgent::Recv(args) => Ok(overcast::lab::agent::recv(&args)?),
            LabAgent::Send(args) => Ok(overcast::lab::agent::send(&args)?),
        },
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "overcast",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
    }
}

/// Merge the config file (or the built-in hub) with command-line ports.
fn build_config(file: Option<PathBuf>, taps: Vec<String>, peers: Vec<PeerUrl>) -> Result<Config> {
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

/// What a config would build, for `check-config`.
fn describe(cfg: &Config) -> String {
    let mut out = String::from("config OK\n");
    out.push_str(&format!(
        "fdb: ageing {}, max {} entries, {} per port\n",
        humantime::format_duration(cfg.fdb.ageing_time),
        cfg.fdb.max_entries,
        cfg.fdb.max_entries_per_port
    ));
    for t in &cfg.taps {
        out.push_str(&format!("tap port {}\n", t.name));
    }
    for l in &cfg.listeners {
        out.push_str(&format!(
            "listener {} on {} ({}{}), allow [{}], max {} peers, idle timeout {}\n",
            l.display_name(),
            l.bind,
            l.encap,
            if l.encap == overcast::tunnel::Encap::Vxlan {
                format!(" vni {}", l.vni)
            } else {
                String::new()
            },
            l.allow
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            l.max_peers,
            humantime::format_duration(l.idle_timeout)
        ));
    }
    for p in &cfg.peers {
        out.push_str(&format!("static peer {}://{}\n", p.encap, p.remote));
    }
    if let Some(c) = &cfg.capture {
        out.push_str(&format!(
            "capture to {} ({} bytes x {} files per port and direction)\n",
            c.dir.display(),
            c.max_bytes,
            c.max_files
        ));
    }
    if let Some(addr) = cfg.metrics_listen {
        out.push_str(&format!("metrics at http://{addr}/metrics\n"));
    }
    for s in &cfg.static_fdb {
        out.push_str(&format!(
            "static fdb {} vlan {} -> {}\n",
            s.mac, s.vlan, s.port
        ));
    }
    if cfg.taps.is_empty() && cfg.listeners.is_empty() && cfg.peers.is_empty() {
        out.push_str("warning: no ports and no listeners: the switch would do nothing\n");
    }
    out
}
