//! The README's commands, run as written: the docs cannot drift from the program.

mod common;

use common::*;
use std::process::Command;

/// The first ```sh block after the line `heading`.
fn sh_block(heading: &str) -> String {
    sh_block_after(heading, heading)
}

/// The first ```sh block after the line `marker`, which comes after the line `heading`.
fn sh_block_after(heading: &str, marker: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let after = readme
        .split_once(&format!("\n{heading}\n"))
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    let after = if marker == heading {
        after
    } else {
        after
            .split_once(&format!("\n{marker}\n"))
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("README has no {marker:?} after {heading:?}"))
    };
    let start = after.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let len = after[start..].find("```").expect("the block ends");
    after[start..start + len].to_string()
}

/// `text` with every whole word `from` replaced by `to`.
fn replace_word(text: &str, from: &str, to: &str) -> String {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + from.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(word) || after.is_some_and(word) {
            out.push_str(from);
        } else {
            out.push_str(to);
        }
        rest = &rest[i + from.len()..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_quick_start_runs_as_written() {
    if !can_run("the_quick_start_runs_as_written") {
        return;
    }
    let mut script = sh_block("## Quick start: two namespaces on TAP ports")
        .replace("cargo build --release\n", "")
        .replace("target/release/overcast", env!("CARGO_BIN_EXE_overcast"));
    // Our own names for everything the block creates, so nothing clashes.
    let names: Vec<(&str, String)> = ["sw", "h1", "h2", "tap1", "tap2", "lab"]
        .into_iter()
        .map(|n| (n, unique(n)))
        .collect();
    for (from, to) in &names {
        script = replace_word(&script, from, to);
    }
    let netns: Vec<&str> = names[..3].iter().map(|(_, n)| n.as_str()).collect();
    let cleanup = format!(
        "trap 'kill %1 2>/dev/null || true; for n in {}; do ip netns del $n 2>/dev/null || true; done' EXIT\n",
        netns.join(" ")
    );
    let dir = TempDir::new();
    let out = Command::new("bash")
        .args(["-e", "-c", &(cleanup + &script)])
        .env("RUNTIME_DIRECTORY", dir.path())
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the quick start failed:\n{script}\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("3 received"),
        "ping did not get its replies:\n{stdout}"
    );
    let (tap1, tap2) = (&names[3].1, &names[4].1);
    assert!(
        stdout.lines().any(|l| l.contains(tap1.as_str()))
            && stdout.lines().any(|l| l.contains(tap2.as_str())),
        "show fdb lists a station on each TAP:\n{stdout}"
    );
    for n in netns {
        assert!(!run("ip netns list").contains(n), "{n} left behind");
    }
}

#[test]
fn the_hub_recipe_runs_as_written_on_kernel_vxlan_vms() {
    if !can_run("the_hub_recipe_runs_as_written_on_kernel_vxlan_vms") {
        return;
    }
    const RECIPE: &str = "## Hub recipe: replace an n2n supernode";
    let hub_cmd = sh_block(RECIPE);
    assert!(
        hub_cmd.trim_start().starts_with("overcast run "),
        "{hub_cmd}"
    );
    let vm = sh_block_after(RECIPE, "On each VM, with no daemon at all (kernel VXLAN):");
    let hub = Netns::new("hub");
    let underlay = Underlay::new(&hub, "10.254.0");
    // The hub's command as written: `overcast run`, nothing else.
    let oc = Overcast::start(&hub, "");
    let vms: Vec<Netns> = (0..2).map(|_| Netns::new("vm")).collect();
    for (i, ns) in vms.iter().enumerate() {
        no_ipv6(ns);
        underlay.attach(ns, i as u8 + 1);
        // The VM's underlay interface is ul0 here, eth0 in the recipe.
        let script = vm
            .replace("HUB_IP", &underlay.hub_ip())
            .replace("dev eth0", "dev ul0")
            .replace("10.42.0.11/24", &format!("10.42.0.{}/24", 11 + i));
        let out = ns.exec(&format!("bash -e -c {}", shell_quote(&script)));
        assert!(
            out.status.success(),
            "the VM commands failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        vms[0].ping_within("10.42.0.12", 10),
        "VM 1 cannot reach VM 2 through the hub"
    );
    assert_eq!(
        names(&oc.show("peers")).len(),
        2,
        "each VM is a peer of the hub"
    );
}

/// `text` as one single-quoted shell word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
