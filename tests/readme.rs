//! The README's commands, run as written: the docs cannot drift from the program.

mod common;

use common::*;
use std::process::Command;

/// The first ```sh block after the line `heading`.
fn sh_block(heading: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let after = readme
        .split_once(&format!("\n{heading}\n"))
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
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
