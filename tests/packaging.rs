//! What ships beside the binary: example configs that validate, shell
//! completions and a man page generated from the CLI, and a systemd unit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

fn overcast(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_overcast"))
        .args(args)
        .output()
        .expect("overcast runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn contrib(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib")
        .join(path)
}

#[test]
fn every_example_config_passes_check_config() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(contrib("examples"))
        .expect("contrib/examples exists")
        .map(|e| e.expect("readable entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 3, "expected hub, vm-lab and edge: {files:?}");
    for file in &files {
        let (ok, out, err) = overcast(&["check-config", file.to_str().expect("utf-8 path")]);
        assert!(ok, "{}: {err}", file.display());
        assert!(out.starts_with("config OK"), "{}: {out}", file.display());
    }
    for name in ["hub.toml", "vm-lab.toml", "edge.toml"] {
        assert!(
            files.contains(&contrib("examples").join(name)),
            "{name} missing"
        );
    }
}

#[test]
fn completions_for_each_shell_and_the_man_page_mention_run() {
    for shell in ["bash", "zsh", "fish"] {
        let (ok, out, err) = overcast(&["completions", shell]);
        assert!(ok, "completions {shell}: {err}");
        assert!(!out.trim().is_empty(), "empty {shell} completions");
        assert!(out.contains("run"), "{shell} completions lack `run`");
        assert!(
            out.contains("check-config"),
            "{shell} completions lack `check-config`"
        );
    }
    let (ok, man, err) = overcast(&["man"]);
    assert!(ok, "man: {err}");
    assert!(
        man.starts_with(".ie") || man.contains(".TH overcast"),
        "not roff:\n{man}"
    );
    assert!(man.contains("run"), "the man page lacks `run`");
    let (ok, _, _) = overcast(&["completions", "tcsh"]);
    assert!(!ok, "an unknown shell must be refused");
}

#[test]
fn systemd_unit_grants_only_cap_net_admin_to_a_dedicated_user() {
    let unit = std::fs::read_to_string(contrib("overcast.service")).expect("the unit exists");
    let settings: Vec<&str> = unit
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .collect();
    for want in [
        "User=overcast",
        "CapabilityBoundingSet=CAP_NET_ADMIN",
        "AmbientCapabilities=CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "RuntimeDirectory=overcast",
        "DeviceAllow=/dev/net/tun rw",
    ] {
        assert!(settings.contains(&want), "the unit lacks {want}");
    }
    let exec = settings
        .iter()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart");
    assert!(
        exec.contains(" run ") && exec.contains("/run/overcast/control.sock"),
        "{exec}"
    );
}

#[test]
fn systemd_analyze_accepts_the_unit() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED systemd_analyze_accepts_the_unit: systemd-analyze is not installed"
        );
        return;
    }
    // Point ExecStart at the binary under test; verify checks that it exists.
    let unit = std::fs::read_to_string(contrib("overcast.service"))
        .expect("the unit exists")
        .replace("/usr/local/bin/overcast", env!("CARGO_BIN_EXE_overcast"));
    let dir = std::env::temp_dir().join(format!("oc-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("overcast.service");
    std::fs::write(&file, unit).expect("unit written");
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&file)
        .output()
        .expect("systemd-analyze runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_summarises_every_section_it_builds() {
    let dir = std::env::temp_dir().join(format!("oc-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("lab.toml");
    std::fs::write(
        &file,
        "workers = 2\n[multicast]\nquerier = \"on\"\nigmp_version = 2\n\
         [[tap]]\nname = \"vm1\"\n[[static_mdb]]\ngroup = \"239.1.1.1\"\nport = \"vm1\"\n\
         [[tap]]\nname = \"vm2\"\nvlan_mode = \"access\"\nvlan = 10\n\
         [[tap]]\nname = \"up\"\nvlan_mode = \"native-untagged\"\nvlans = [10, 20]\nnative_vlan = 1\n",
    )
    .expect("write config");
    let (ok, out, err) = overcast(&["check-config", file.to_str().expect("utf-8 path")]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "{err}");
    assert!(out.contains("workers: 2"), "{out}");
    assert!(out.contains("querier on (never yields), IGMPv2"), "{out}");
    assert!(out.contains("static mdb 239.1.1.1 vlan 0 -> vm1"), "{out}");
    assert!(out.contains("tap port vm2 (access, VLAN 10)"), "{out}");
    assert!(
        out.contains("tap port up (native-untagged, VLANs [1, 10, 20], native 1)"),
        "{out}"
    );
}

#[test]
fn errors_are_one_line_even_with_a_backtrace_asked_for() {
    let out = Command::new(env!("CARGO_BIN_EXE_overcast"))
        .args(["check-config", "/nonexistent/overcast.toml"])
        .env("RUST_BACKTRACE", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("overcast runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("overcast: config /nonexistent/overcast.toml: cannot read"),
        "{err}"
    );
    assert_eq!(
        err.matches("No such file").count(),
        1,
        "the OS error once: {err}"
    );
    let debug = Command::new(env!("CARGO_BIN_EXE_overcast"))
        .args(["--debug", "check-config", "/nonexistent/overcast.toml"])
        .output()
        .expect("overcast runs");
    assert!(String::from_utf8_lossy(&debug.stderr).lines().count() > 1);
}
