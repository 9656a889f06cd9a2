//! Shared scaffolding for the root-only integration tests: namespaces, links
//! and overcast processes that clean up after themselves whatever happens.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A short name unique to this test process: `oc<pid%10000><letter><n>`.
/// Interface names must fit in 15 bytes.
pub fn unique(tag: &str) -> String {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("oc{}{}{}", std::process::id() % 10000, tag, n)
}

/// Whether the real-network tests can run here; prints why not.
pub fn can_run(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tun = Path::new("/dev/net/tun").exists();
    if !root || !tun {
        skip(
            test,
            &format!("needs root and /dev/net/tun (root={root}, tun={tun})"),
        );
        return false;
    }
    // As root the test is meant to run: a missing tool is a failure that
    // names the package to install, never a silent skip.
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(_, package)| *package)
        .collect();
    assert!(
        missing.is_empty(),
        "{test}: missing tools; install: apt-get install {} (or run .ci/test, which does)",
        missing.join(" ")
    );
    true
}

/// The tools the namespace tests run, and the Debian package of each.
const TOOLS: [(&str, &str); 6] = [
    ("ip", "iproute2"),
    ("ping", "iputils-ping"),
    ("tcpdump", "tcpdump"),
    ("ethtool", "ethtool"),
    ("python3", "python3"),
    ("sysctl", "procps"),
];

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Say that `test` is skipped and why, on the real stderr: the test
/// harness captures `eprintln!`, and a skip must be seen.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

/// Start a python helper of tests/tools in `ns` in the background.
pub fn spawn_tool(ns: &Netns, tool_name: &str, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", &ns.name, "python3", &tool(tool_name)])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("helper starts")
}

/// [`spawn_tool`], returning once the helper says it is ready (`--ready FILE`).
pub fn spawn_tool_ready(ns: &Netns, tool_name: &str, args: &[&str]) -> Child {
    let flag = std::env::temp_dir().join(unique("r"));
    let flag_arg = flag.to_string_lossy().into_owned();
    let mut all = args.to_vec();
    all.extend(["--ready", flag_arg.as_str()]);
    let child = spawn_tool(ns, tool_name, &all);
    wait_file(&flag);
    let _ = std::fs::remove_file(&flag);
    child
}

/// `ping -c COUNT -i INTERVAL -W 1 IP` from `ns`, in the background (stdout piped).
pub fn spawn_ping(ns: &Netns, ip: &str, count: u32, interval: &str) -> Child {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "ping",
            "-c",
            &count.to_string(),
            "-i",
            interval,
            "-W",
            "1",
            ip,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ping starts")
}

/// The `name` of every element of a JSON array (a `show` view's rows).
pub fn names(rows: &serde_json::Value) -> Vec<String> {
    rows.as_array()
        .map(|a| {
            a.iter()
                .map(|r| r["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Run a command; panic with its output if it fails.
pub fn run(cmd: &str) -> String {
    let out = sh(cmd);
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run a command and return its output, whatever its status.
pub fn sh(cmd: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("sh runs")
}

/// A network namespace, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = unique(tag);
        run(&format!("ip netns add {name}"));
        run(&format!("ip -n {name} link set lo up"));
        Netns { name }
    }

    /// `ip netns exec NAME cmd`.
    pub fn exec(&self, cmd: &str) -> Output {
        sh(&format!("ip netns exec {} {cmd}", self.name))
    }

    /// Like [`Netns::exec`], panicking on failure.
    pub fn run(&self, cmd: &str) -> String {
        run(&format!("ip netns exec {} {cmd}", self.name))
    }

    /// Whether `ping` from here reaches `ip` (a few tries).
    pub fn pings(&self, ip: &str) -> bool {
        self.exec(&format!("ping -c 2 -i 0.2 -W 1 {ip}"))
            .status
            .success()
    }

    /// Wait up to `secs` for a first successful ping.
    pub fn ping_within(&self, ip: &str, secs: u64) -> bool {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if self.exec(&format!("ping -c 1 -W 1 {ip}")).status.success() {
                return true;
            }
        }
        false
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = sh(&format!(
            "ip netns pids {0} | xargs -r kill 2>/dev/null; ip netns del {0}",
            self.name
        ));
    }
}

/// A running `overcast` process, killed (by PID) on drop.
pub struct Overcast {
    child: Child,
    pub control: PathBuf,
    pub log: PathBuf,
    /// The config file it was started with, if any (rewrite it, then reload).
    pub config: Option<PathBuf>,
    _dir: TempDir,
}

impl Overcast {
    /// Start `overcast run ARGS` inside `ns`, with a private control socket.
    pub fn start(ns: &Netns, args: &str) -> Overcast {
        Overcast::start_with(ns, None, args)
    }

    /// Start `overcast run --config FILE ARGS`, FILE holding `config`.
    pub fn start_config(ns: &Netns, config: &str, args: &str) -> Overcast {
        Overcast::start_with(ns, Some(config), args)
    }

    fn start_with(ns: &Netns, config: Option<&str>, args: &str) -> Overcast {
        let dir = TempDir::new();
        let control = dir.path().join("control.sock");
        let log = dir.path().join("overcast.log");
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &ns.name,
            env!("CARGO_BIN_EXE_overcast"),
            "run",
            "--control",
        ])
        .arg(&control);
        let mut config_file = None;
        if let Some(text) = config {
            let file = dir.path().join("overcast.toml");
            std::fs::write(&file, text).expect("config written");
            cmd.arg("--config").arg(&file);
            config_file = Some(file);
        }
        let child = cmd
            .args(args.split_whitespace())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("overcast starts");
        let oc = Overcast {
            child,
            control,
            log,
            config: config_file,
            _dir: dir,
        };
        oc.wait_for_control();
        oc
    }

    fn wait_for_control(&self) {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if self.control.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("overcast did not start; log:\n{}", self.log_text());
    }

    /// The process id (overcast's own: `ip netns exec` execs it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Run `overcast ARGS --control <ours>`; returns (success, stdout + stderr).
    pub fn ctl(&self, args: &str) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_overcast"))
            .args(args.split_whitespace())
            .arg("--control")
            .arg(&self.control)
            .output()
            .expect("overcast runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `overcast show WHAT --json`, parsed.
    pub fn show(&self, what: &str) -> serde_json::Value {
        let out = Command::new(env!("CARGO_BIN_EXE_overcast"))
            .args(["show", what, "--json", "--control"])
            .arg(&self.control)
            .output()
            .expect("overcast show runs");
        assert!(
            out.status.success(),
            "show {what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("show --json prints JSON")
    }

    /// Stop it the way an operator does (SIGTERM), so it shuts down cleanly
    /// (capture files flushed); true if it exited within 10 s.
    pub fn terminate(&mut self) -> bool {
        // SAFETY: kill has no memory preconditions; the PID is our own child's.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// A port's counter, e.g. `tx_frames`.
    pub fn port_counter(&self, port: &str, counter: &str) -> u64 {
        let ports = self.show("ports");
        ports
            .as_array()
            .and_then(|a| a.iter().find(|p| p["name"] == port))
            .and_then(|p| p["counters"][counter].as_u64())
            .unwrap_or_else(|| panic!("no counter {counter} on port {port}: {ports}"))
    }
}

impl Drop for Overcast {
    fn drop(&mut self) {
        // `ip netns exec` execs overcast, so this PID is overcast's own.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- overcast log ---\n{}", self.log_text());
        }
    }
}

/// A temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let p = std::env::temp_dir().join(unique("d"));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Wait until interface `dev` exists in `ns` (a TAP overcast opens or creates).
pub fn wait_link(ns: &Netns, dev: &str) {
    let end = Instant::now() + Duration::from_secs(10);
    while !ns.exec(&format!("ip link show {dev}")).status.success() {
        assert!(Instant::now() < end, "{dev} never appeared in {}", ns.name);
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An overcast edge in `ns` with TAP `tap`, addressed `addr`, on a raw tunnel to `hub_ip`.
pub fn raw_edge(ns: &Netns, tap: &str, hub_ip: &str, addr: &str) -> Overcast {
    let oc = Overcast::start(ns, &format!("--tap {tap} --peer raw://{hub_ip}:4800"));
    wait_link(ns, tap);
    ns.run(&format!("ip addr add {addr} dev {tap}"));
    ns.run(&format!("ip link set {tap} up"));
    oc
}

/// Wait until a TAP exists in `ns`, then move it into `host` and address it.
pub fn move_tap(sw: &Netns, tap: &str, host: &Netns, addr: &str) {
    wait_link(sw, tap);
    run(&format!(
        "ip -n {} link set {tap} netns {}",
        sw.name, host.name
    ));
    run(&format!("ip -n {} addr add {addr} dev {tap}", host.name));
    run(&format!("ip -n {} link set {tap} up", host.name));
}

/// Path of a helper script in tests/tools.
pub fn tool(name: &str) -> String {
    format!("{}/tests/tools/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The MAC of `dev` in `ns`.
pub fn mac_of(ns: &Netns, dev: &str) -> String {
    ns.run(&format!("cat /sys/class/net/{dev}/address"))
        .trim()
        .to_string()
}

/// An underlay LAN: a kernel bridge in `hub` at `<prefix>.254/24`, and a veth into each host.
pub struct Underlay {
    pub prefix: String,
    pub bridge: String,
    hub: String,
}

impl Underlay {
    pub fn new(hub: &Netns, prefix: &str) -> Underlay {
        let bridge = unique("b");
        run(&format!("ip -n {} link add {bridge} type bridge", hub.name));
        run(&format!(
            "ip -n {} addr add {prefix}.254/24 dev {bridge}",
            hub.name
        ));
        run(&format!("ip -n {} link set {bridge} up", hub.name));
        Underlay {
            prefix: prefix.to_string(),
            bridge,
            hub: hub.name.clone(),
        }
    }

    /// The hub's underlay address.
    pub fn hub_ip(&self) -> String {
        format!("{}.254", self.prefix)
    }

    /// `n` hosts with IPv6 off, host i at `<prefix>.<i+1>` on this LAN and at
    /// `<overlay>.<i+1>/24` on a kernel VXLAN device (VNI 42) towards the hub.
    /// Returns the hosts and their underlay addresses.
    pub fn vxlan_hosts(&self, n: usize, overlay: &str) -> (Vec<Netns>, Vec<String>) {
        let hosts: Vec<Netns> = (0..n).map(|_| Netns::new("v")).collect();
        let mut underlay = Vec::new();
        for (i, h) in hosts.iter().enumerate() {
            no_ipv6(h);
            let local = self.attach(h, i as u8 + 1);
            kernel_vxlan(
                h,
                42,
                &local,
                &self.hub_ip(),
                &format!("{overlay}.{}/24", i + 1),
            );
            underlay.push(local);
        }
        (hosts, underlay)
    }

    /// Give `host` the interface `ul0` at `<prefix>.<n>` on this LAN.
    pub fn attach(&self, host: &Netns, n: u8) -> String {
        let outer = unique("u");
        run(&format!(
            "ip -n {} link add {outer} type veth peer name ul0 netns {}",
            self.hub, host.name
        ));
        run(&format!(
            "ip -n {} link set {outer} master {} up",
            self.hub, self.bridge
        ));
        let ip = format!("{}.{n}", self.prefix);
        run(&format!("ip -n {} addr add {ip}/24 dev ul0", host.name));
        run(&format!("ip -n {} link set ul0 up", host.name));
        ip
    }
}

/// Give `host` a kernel VXLAN device `vx0` towards `hub_ip`, addressed `addr`.
pub fn kernel_vxlan(host: &Netns, vni: u32, local: &str, hub_ip: &str, addr: &str) {
    run(&format!(
        "ip -n {} link add vx0 type vxlan id {vni} remote {hub_ip} local {local} dev ul0 dstport 4789",
        host.name
    ));
    run(&format!("ip -n {} addr add {addr} dev vx0", host.name));
    // A gratuitous ARP at link-up registers the host with the hub before anyone talks to it.
    host.run("sysctl -qw net.ipv4.conf.vx0.arp_notify=1");
    run(&format!("ip -n {} link set vx0 up", host.name));
}

/// Make a kernel VXLAN host fill in inner checksums before encapsulating.
/// Between namespaces (veth) the kernel leaves them partial, so a hub that
/// reads the datagram from a socket would forward them unfinished; a real
/// NIC underlay does this itself.
pub fn vxlan_computes_checksums(host: &Netns) {
    host.run("ethtool -K vx0 tx off");
}

/// Transfer `bytes` over TCP along each (from, to, to_ip) at the same time;
/// asserts every transfer arrived whole and intact.
pub fn concurrent_tcp_transfers(transfers: &[(&Netns, &Netns, &str)], bytes: u64) {
    let results: Vec<(String, String)> = std::thread::scope(|s| {
        let running: Vec<_> = transfers
            .iter()
            .map(|(from, to, ip)| s.spawn(move || tcp_transfer(from, to, ip, bytes)))
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    for (sent, got) in results {
        assert_eq!(sent, got, "TCP data differs");
        assert!(sent.starts_with(&format!("{bytes} ")), "{sent}");
    }
}

/// Turn IPv6 off in a namespace, so no ND/MLD chatter keeps peers alive or fills counters.
pub fn no_ipv6(ns: &Netns) {
    ns.run("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
}

/// Count frames on `dev` in `ns` for `secs` while `during` runs.
pub fn sniff_during(
    ns: &Netns,
    dev: &str,
    secs: u32,
    filter: &[&str],
    during: impl FnOnce(),
) -> u64 {
    let ready = TempDir::new();
    let flag = ready.path().join("ready");
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "python3",
            &tool("sniff.py"),
            dev,
            &secs.to_string(),
        ])
        .args(filter)
        .arg("--ready")
        .arg(&flag)
        .stdout(Stdio::piped())
        .spawn()
        .expect("sniffer starts");
    let end = Instant::now() + Duration::from_secs(5);
    while !flag.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    during();
    let out = child.wait_with_output().expect("sniffer ends");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("sniffer prints a count")
}

/// N hosts, each in its own namespace on a TAP port of one overcast.
pub struct TapLab {
    pub sw: Netns,
    pub hosts: Vec<Netns>,
    pub taps: Vec<String>,
    /// IPv4 address of each host (`<v4>.<i+1>`).
    pub ips: Vec<String>,
    /// IPv6 ULA address of each host (`fd<v6>::<i+1>`).
    pub ip6s: Vec<String>,
    pub oc: Overcast,
}

impl TapLab {
    /// Start overcast (with `config`, if any) on `n` TAPs and address the hosts in `v4.0/24`
    /// and `fdXX::/64`. IPv4 multicast is routed out of the TAP.
    pub fn new(n: usize, config: Option<&str>, v4: &str, v6: &str) -> TapLab {
        let sw = Netns::new("s");
        let hosts: Vec<Netns> = (0..n).map(|_| Netns::new("h")).collect();
        let taps: Vec<String> = (0..n).map(|_| unique("t")).collect();
        let args: Vec<String> = taps.iter().map(|t| format!("--tap {t}")).collect();
        let oc = match config {
            Some(c) => Overcast::start_config(&sw, c, &args.join(" ")),
            None => Overcast::start(&sw, &args.join(" ")),
        };
        let mut ips = Vec::new();
        let mut ip6s = Vec::new();
        for (i, (host, tap)) in hosts.iter().zip(&taps).enumerate() {
            let ip = format!("{v4}.{}", i + 1);
            let ip6 = format!("fd{v6}::{}", i + 1);
            move_tap(&sw, tap, host, &format!("{ip}/24"));
            host.run(&format!("ip addr add {ip6}/64 dev {tap} nodad"));
            host.run(&format!("ip route add 224.0.0.0/4 dev {tap}"));
            ips.push(ip);
            ip6s.push(ip6);
        }
        TapLab {
            sw,
            hosts,
            taps,
            ips,
            ip6s,
            oc,
        }
    }

    /// Assert that the FDB holds every host's MAC, each on its own TAP.
    pub fn assert_each_host_learned_on_its_port(&self) {
        let fdb = self.oc.show("fdb");
        for (host, tap) in self.hosts.iter().zip(&self.taps) {
            let mac = mac_of(host, tap);
            let entry = fdb
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["mac"] == mac.as_str())
                .unwrap_or_else(|| panic!("{mac} not learned: {fdb}"));
            assert_eq!(entry["port"], tap.as_str(), "{mac} on the wrong port");
        }
    }

    /// Start a python helper in host `i` with `--ready FLAG` and wait until it
    /// says it is ready (joined, or listening); returns the child.
    pub fn spawn_ready(&self, i: usize, tool_name: &str, args: &[&str]) -> Child {
        spawn_tool_ready(&self.hosts[i], tool_name, args)
    }

    /// Start a python helper in host `i` in the background; returns the child.
    pub fn spawn(&self, i: usize, tool_name: &str, args: &[&str]) -> Child {
        spawn_tool(&self.hosts[i], tool_name, args)
    }
}

/// Wait for a helper and parse the count it prints last.
pub fn count_of(child: Child) -> u64 {
    let out = child.wait_with_output().expect("helper ends");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "helper printed no count: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
}

/// Wait until `file` exists (a helper's --ready flag).
pub fn wait_file(file: &Path) {
    let end = Instant::now() + Duration::from_secs(10);
    while !file.exists() {
        assert!(Instant::now() < end, "{} never appeared", file.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Transfer `bytes` from `from` to `to_ip` over TCP; returns (sent digest, received digest).
pub fn tcp_transfer(from: &Netns, to: &Netns, to_ip: &str, bytes: u64) -> (String, String) {
    let dir = TempDir::new();
    let ready = dir.path().join("ready");
    let server = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &to.name,
            "python3",
            &tool("tcp.py"),
            "serve",
            "5001",
            "--ready",
        ])
        .arg(&ready)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("server starts");
    wait_file(&ready);
    let sent = from.run(&format!(
        "timeout 60 python3 {} send {to_ip} 5001 {bytes}",
        tool("tcp.py")
    ));
    let got = server.wait_with_output().expect("server ends");
    (
        sent.trim().to_string(),
        String::from_utf8_lossy(&got.stdout).trim().to_string(),
    )
}
