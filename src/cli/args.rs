//! The command line: every subcommand and its flags (clap derive). Help
//! text here is the user's manual; keep it in step with the README.

use clap::{Args, Parser, Subcommand};
use overcast::packet::ethernet::MacAddr;
use overcast::replay::InputSpec;
use overcast::tunnel::PeerUrl;
use std::path::PathBuf;
use std::time::Duration;

/// A userspace Ethernet switch that gets multicast right.
#[derive(Parser, Debug)]
#[command(name = "overcast", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// On error, print the whole cause chain (and a backtrace if
    /// RUST_BACKTRACE is set), not just the one-line message. RUST_LOG=debug does the same.
    #[arg(long, global = true)]
    pub debug: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the switch.
    ///
    /// What it opens: with a config, what the config says. With no config:
    /// no ports at all (no --tap, --peer or --listen) makes the overlay hub,
    /// VXLAN on 0.0.0.0:4789 (VNI 42) and raw frames on 0.0.0.0:4800,
    /// admitting private, loopback and ULA sources; --tap alone makes a lab
    /// switch with only those TAPs and no listener; --peer alone is edge mode;
    /// --hub or --listen add listeners to any of these. Every listener opened
    /// is logged at start.
    ///
    /// The control socket is /run/overcast/NAME.sock ($RUNTIME_DIRECTORY if
    /// set), NAME being --name, else the config file's stem, else "control".
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
        /// Open the built-in hub's listeners (VXLAN 0.0.0.0:4789, raw 0.0.0.0:4800) too.
        #[arg(long)]
        hub: bool,
        /// Open a listener: vxlan://ADDR[:PORT] or raw://ADDR[:PORT]. Repeatable.
        #[arg(long = "listen", value_name = "URL")]
        listens: Vec<overcast::tunnel::ListenUrl>,
        /// Instance name: the control socket is /run/overcast/NAME.sock.
        #[arg(long)]
        name: Option<String>,
        /// Control socket path (overrides --name).
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
    Replay(ReplayArgs),
    /// Validate a config file and print what it would build.
    CheckConfig {
        /// The file.
        file: PathBuf,
    },
    /// Show state of a running switch.
    Show {
        /// What to show.
        #[arg(value_parser = ["ports", "fdb", "mdb", "querier", "peers", "counters", "state", "vlans"])]
        what: String,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// With `mdb`: per group, its member ports and the copies pruning spared.
        #[arg(long)]
        stats: bool,
        #[command(flatten)]
        target: Target,
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
        #[command(flatten)]
        target: Target,
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
pub enum LabAgent {
    /// Join (or just watch) a group and count; commands on stdin.
    Recv(overcast::lab::agent::RecvArgs),
    /// Send datagrams to a group.
    Send(overcast::lab::agent::SendArgs),
}

#[derive(Subcommand, Debug)]
pub enum FdbAction {
    /// Remove learned entries (static entries stay).
    Flush {
        /// Only this port's entries.
        #[arg(long)]
        port: Option<String>,
        #[command(flatten)]
        target: Target,
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
        #[command(flatten)]
        target: Target,
    },
    /// Remove an entry, static or learned.
    Del {
        /// Station MAC.
        mac: MacAddr,
        /// VLAN id (0 = untagged).
        #[arg(long, default_value_t = 0)]
        vlan: u16,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
pub enum MdbAction {
    /// Forget learned groups and router ports (static entries stay).
    Flush {
        /// Only this port's.
        #[arg(long)]
        port: Option<String>,
        #[command(flatten)]
        target: Target,
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
        #[command(flatten)]
        target: Target,
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
        #[command(flatten)]
        target: Target,
    },
}

/// Which running instance a client command talks to.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Control socket path.
    #[arg(long)]
    pub control: Option<PathBuf>,
    /// Instance name (its socket is /run/overcast/NAME.sock). Default: the
    /// only instance running, else "control".
    #[arg(long, conflicts_with = "control")]
    pub name: Option<String>,
}

impl Target {
    /// The control socket to use.
    pub fn socket(&self) -> anyhow::Result<PathBuf> {
        overcast::driver::control::resolve(self.control.as_deref(), self.name.as_deref())
            .map_err(anyhow::Error::msg)
    }
}

/// What `overcast replay` takes.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// TOML configuration file (switch settings; its TAP ports exist as silent ports).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Feed FILE (pcap or pcapng, Ethernet) into port PORT. Repeatable;
    /// inputs are merged by timestamp, ties in --in order.
    #[arg(
        long = "in",
        value_name = "PORT=FILE",
        required_unless_present = "tunnel_inputs"
    )]
    pub inputs: Vec<InputSpec>,
    /// Feed the UDP datagrams of FILE (an underlay capture, pcap or pcapng,
    /// Ethernet) to listener LISTENER of the config: peers are admitted,
    /// expire and are refused as live. Repeatable; ties after every --in.
    #[arg(long = "in-tunnel", value_name = "LISTENER=FILE")]
    pub tunnel_inputs: Vec<InputSpec>,
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Keep the clock running up to this virtual time (e.g. 400s), firing
    /// timers; frames stamped later are not fed.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub until: Option<Duration>,
    /// Also write DIR/state-<ms>.json at this virtual time. Repeatable.
    #[arg(long = "state-at", value_name = "T", value_parser = humantime::parse_duration)]
    pub state_at: Vec<Duration>,
    /// Count and skip bad records (a truncated file's tail, a corrupt
    /// block) instead of failing.
    #[arg(long)]
    pub skip_bad_records: bool,
}
