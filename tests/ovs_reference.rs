//! The reference for 802.1Q port modes: the VLAN lab's cases run against
//! Open vSwitch 3.1's userspace datapath (`datapath_type=netdev`, TAP ports
//! with `tag`, `trunks` and `vlan_mode`), asserting what `tests/vlans.rs`
//! asserts of Overcast. If OVS is not installed the test says so and skips.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// ovsdb-server and ovs-vswitchd in a namespace, from a private directory.
struct Ovs {
    dir: TempDir,
}

impl Ovs {
    fn env(&self, cmd: &mut Command) {
        for var in ["OVS_RUNDIR", "OVS_DBDIR", "OVS_LOGDIR", "OVS_SYSCONFDIR"] {
            cmd.env(var, self.dir.path());
        }
    }

    fn start(ns: &Netns) -> Ovs {
        let ovs = Ovs {
            dir: TempDir::new(),
        };
        let d = ovs.dir.path();
        run(&format!(
            "ovsdb-tool create {}/conf.db /usr/share/openvswitch/vswitch.ovsschema",
            d.display()
        ));
        ovs.daemon(
            ns,
            &format!(
                "ovsdb-server {0}/conf.db --remote=punix:{0}/db.sock",
                d.display()
            ),
        );
        ovs.vsctl("--no-wait init");
        ovs.daemon(
            ns,
            &format!("ovs-vswitchd unix:{}/db.sock --disable-system", d.display()),
        );
        ovs
    }

    fn daemon(&self, ns: &Netns, cmdline: &str) {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns.name])
            .args(cmdline.split_whitespace())
            .args(["--pidfile", "--log-file", "--detach", "--no-chdir"]);
        self.env(&mut cmd);
        let out = cmd.output().expect("an OVS daemon runs");
        assert!(
            out.status.success(),
            "{cmdline}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn vsctl(&self, args: &str) {
        let mut cmd = Command::new("ovs-vsctl");
        cmd.arg(format!("--db=unix:{}/db.sock", self.dir.path().display()))
            .arg("--timeout=10")
            .args(args.split_whitespace());
        self.env(&mut cmd);
        let out = cmd.output().expect("ovs-vsctl runs");
        assert!(
            out.status.success(),
            "ovs-vsctl {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pidfiles(&self) -> Vec<PathBuf> {
        ["ovs-vswitchd.pid", "ovsdb-server.pid"]
            .iter()
            .map(|f| self.dir.path().join(f))
            .collect()
    }
}

impl Drop for Ovs {
    fn drop(&mut self) {
        // Only the daemons this test started, by the pids they wrote.
        for pidfile in self.pidfiles() {
            let pid = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok());
            if let Some(pid) = pid {
                // SAFETY: kill has no memory preconditions; the pid is our daemon's.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
    }
}

fn installed(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn open_vswitch_userspace_agrees_on_the_vlan_lab_cases() {
    if !can_run("open_vswitch_userspace_agrees_on_the_vlan_lab_cases") {
        return;
    }
    if !["ovs-vswitchd", "ovsdb-server", "ovsdb-tool"]
        .iter()
        .all(|t| installed(t))
        || !Path::new("/usr/share/openvswitch/vswitch.ovsschema").exists()
    {
        skip(
            "open_vswitch_userspace_agrees_on_the_vlan_lab_cases",
            "Open vSwitch is not installed (openvswitch-switch)",
        );
        return;
    }
    let sw = Netns::new("s");
    let ovs = Ovs::start(&sw);
    ovs.vsctl("add-br br0 -- set Bridge br0 datapath_type=netdev");
    let taps: Vec<String> = (0..4).map(|i| unique(&format!("o{i}"))).collect();
    let ports = [
        format!("tag=10 -- set Interface {} type=tap", taps[0]),
        format!("tag=10 -- set Interface {} type=tap", taps[1]),
        format!("tag=20 -- set Interface {} type=tap", taps[2]),
        format!(
            "trunks=10,20 tag=1 vlan_mode=native-untagged -- set Interface {} type=tap",
            taps[3]
        ),
    ];
    for (tap, settings) in taps.iter().zip(&ports) {
        ovs.vsctl(&format!("add-port br0 {tap} {settings}"));
    }
    let hosts: Vec<Netns> = (0..4).map(|_| Netns::new("h")).collect();
    for (i, tap) in taps.iter().enumerate() {
        no_ipv6(&hosts[i]);
        move_tap(&sw, tap, &hosts[i], &format!("10.248.0.{}/24", i + 1));
    }
    // The cases of tests/vlans.rs, against the reference.
    assert!(
        hosts[0].ping_within("10.248.0.2", 20),
        "OVS: a10 cannot reach b10"
    );
    assert!(
        !hosts[0].pings("10.248.0.3"),
        "OVS: a10 reached c20 across VLANs"
    );
    hosts[0].run("ip neigh flush all");
    let arp = |vlan: &str| {
        sniff_during(
            &hosts[3],
            &taps[3],
            3,
            &["--proto", "arp", "--vlan", vlan],
            || {
                hosts[0].exec("ping -c 2 -W 1 10.248.0.9");
            },
        )
    };
    assert!(arp("10") >= 1, "OVS: the trunk saw no ARP tagged 10");
    hosts[0].run("ip neigh flush all");
    assert_eq!(arp("0"), 0, "OVS: a10's ARP reached the trunk untagged");
}
