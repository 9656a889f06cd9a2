//! Who may use the control socket, what a malformed request gets, and what
//! the switch needs to run without root (the systemd unit's claim).

mod common;

use common::*;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const NOBODY: u32 = 65534;

/// `setpriv` (util-linux) switches users without a PAM session; say why not if absent.
fn have_setpriv(test: &str) -> bool {
    let ok = Command::new("setpriv").arg("--version").output().is_ok();
    if !ok {
        skip(test, "needs setpriv (util-linux)");
    }
    ok
}

/// The overcast binary at a path user nobody can execute (a copy if the build directory is closed to it).
fn binary_for_nobody(dir: &TempDir) -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_overcast"));
    let reachable = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "test",
            "-x",
        ])
        .arg(&bin)
        .status()
        .is_ok_and(|s| s.success());
    if reachable {
        return bin;
    }
    let copy = dir.path().join("overcast");
    std::fs::copy(&bin, &copy).expect("binary copied");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    copy
}

/// Run `bin ARGS` as nobody, with no capabilities.
fn as_nobody(bin: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin)
        .args(args)
        .output()
        .expect("setpriv runs")
}

fn world_traversable(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
}

#[test]
fn control_socket_refuses_an_unprivileged_user_and_serves_root() {
    let name = "control_socket_refuses_an_unprivileged_user_and_serves_root";
    if !can_run(name) || !have_setpriv(name) {
        return;
    }
    let ns = Netns::new("p");
    let tap = unique("t");
    let oc = Overcast::start(&ns, &format!("--tap {tap}"));
    let sock = oc.control.to_str().expect("utf-8 path").to_string();
    world_traversable(oc.control.parent().expect("a directory"));
    let bins = TempDir::new();
    world_traversable(bins.path());
    let bin = binary_for_nobody(&bins);
    let mode = std::fs::metadata(&oc.control).expect("socket").mode() & 0o777;
    assert_eq!(mode, 0o600, "control socket mode {mode:o}");

    let (ok, text) = oc.ctl("show ports");
    assert!(ok && text.contains(&tap), "root was refused: {text}");

    let out = as_nobody(&bin, &["show", "ports", "--control", &sock]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "nobody read the switch: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("Permission denied"), "{err}");

    // Even with the file opened up by mistake, the switch checks who connects.
    std::fs::set_permissions(&oc.control, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = as_nobody(&bin, &["show", "ports", "--control", &sock]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "nobody read the switch through a 0666 socket"
    );
    assert!(err.contains("permission denied"), "{err}");
    let out = as_nobody(&bin, &["fdb", "flush", "--control", &sock]);
    assert!(!out.status.success(), "nobody flushed the FDB");

    let (ok, text) = oc.ctl("show ports");
    assert!(ok, "root lost access after the refusals: {text}");
}

/// One request line, one reply line, parsed.
fn exchange(conn: &mut BufReader<UnixStream>, line: &str) -> serde_json::Value {
    conn.get_mut()
        .write_all(format!("{line}\n").as_bytes())
        .expect("request sent");
    let mut reply = String::new();
    conn.read_line(&mut reply).expect("a reply");
    serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?} is not JSON: {e}"))
}

#[test]
fn malformed_request_gets_an_error_and_the_switch_keeps_forwarding() {
    if !can_run("malformed_request_gets_an_error_and_the_switch_keeps_forwarding") {
        return;
    }
    let lab = TapLab::new(2, None, "10.232.0", "32");
    assert!(
        lab.hosts[0].ping_within(&lab.ips[1], 10),
        "no forwarding to begin with"
    );
    let stream = UnixStream::connect(&lab.oc.control).expect("root connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut conn = BufReader::new(stream);

    let bad = exchange(&mut conn, "{this is not json");
    assert_eq!(bad["ok"], false, "{bad}");
    let why = bad["error"].as_str().unwrap_or("");
    assert!(why.starts_with("bad request"), "{bad}");
    let unknown = exchange(&mut conn, r#"{"cmd":"reboot"}"#);
    assert_eq!(unknown["ok"], false, "{unknown}");
    let wrong_type = exchange(&mut conn, r#"{"cmd":"show","what":42}"#);
    assert_eq!(wrong_type["ok"], false, "{wrong_type}");
    // The same connection still answers a good request.
    let good = exchange(&mut conn, r#"{"cmd":"show","what":"ports"}"#);
    assert_eq!(good["ok"], true, "{good}");

    let before = lab.oc.port_counter(&lab.taps[1], "tx_frames");
    assert!(
        lab.hosts[0].pings(&lab.ips[1]),
        "forwarding stopped after a malformed request"
    );
    assert!(lab.oc.port_counter(&lab.taps[1], "tx_frames") > before);
}

/// An overcast started by the test outside `common::Overcast`, killed by PID on drop.
struct Spawned(Child);

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_user_with_only_cap_net_admin_runs_the_switch_on_a_tap() {
    let name = "a_user_with_only_cap_net_admin_runs_the_switch_on_a_tap";
    if !can_run(name) || !have_setpriv(name) {
        return;
    }
    let ns = Netns::new("u");
    let tap = unique("t");
    let dir = TempDir::new();
    world_traversable(dir.path());
    let bin = binary_for_nobody(&dir);
    // The service's RuntimeDirectory: owned by the switch's user.
    let run_dir = dir.path().join("run");
    std::fs::create_dir(&run_dir).expect("run dir");
    run(&format!("chown {NOBODY}:{NOBODY} {}", run_dir.display()));
    let control = run_dir.join("control.sock");
    let log = dir.path().join("log");
    // Distributions ship /dev/net/tun mode 0666 (creating a device takes
    // CAP_NET_ADMIN, not file access); where it is 0600, as in some
    // containers, give the switch a 0666 node in `ip netns exec`'s private
    // mount namespace, leaving the machine's own alone.
    let tun_mode = std::fs::metadata("/dev/net/tun").expect("tun").mode() & 0o777;
    let private_tun = if tun_mode & 0o006 == 0o006 {
        String::new()
    } else {
        let node = dir.path().join("tun");
        format!(
            "mknod {0} c 10 200 && chmod 666 {0} && mount --bind {0} /dev/net/tun && ",
            node.display()
        )
    };
    // As in contrib/overcast.service: user nobody, CAP_NET_ADMIN only, no new privileges.
    let script = format!(
        "{private_tun}exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups \
         --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
         --bounding-set=-all,+net_admin --no-new-privs {} run --tap {tap} --control {}",
        bin.display(),
        control.display()
    );
    let child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "sh", "-c", &script])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("setpriv starts");
    let _sw = Spawned(child);
    let end = Instant::now() + Duration::from_secs(10);
    while !control.exists() {
        assert!(
            Instant::now() < end,
            "the switch did not start as nobody: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let meta = std::fs::metadata(&control).expect("socket");
    assert_eq!((meta.uid(), meta.mode() & 0o777), (NOBODY, 0o600));

    // It created the TAP and brought it up; both need CAP_NET_ADMIN and nothing more.
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let link = ns.exec(&format!("ip link show {tap}"));
        if String::from_utf8_lossy(&link.stdout).contains(",UP") {
            break;
        }
        assert!(
            Instant::now() < end,
            "TAP {tap} not up: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let sock = control.to_str().expect("utf-8 path");
    let out = as_nobody(&bin, &["show", "ports", "--json", "--control", sock]);
    assert!(
        out.status.success(),
        "its own user was refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ports: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let port = ports
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == tap.as_str()))
        .unwrap_or_else(|| panic!("no port {tap}: {ports}"));
    assert_eq!(port["up"], true, "{port}");
    let root = Command::new(env!("CARGO_BIN_EXE_overcast"))
        .args(["show", "ports", "--control", sock])
        .output()
        .expect("overcast runs");
    assert!(
        root.status.success(),
        "root was refused: {}",
        String::from_utf8_lossy(&root.stderr)
    );
}
