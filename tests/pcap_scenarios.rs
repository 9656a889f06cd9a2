//! Golden scenarios: every `pcaps/<name>/` with a `scenario.toml` is
//! replayed, and every output (each port's pcap, `state.json`, snapshots)
//! must equal `pcaps/<name>/expected/` byte for byte.
//!
//! Regenerate the goldens after an intended change with
//! `OVERCAST_BLESS=1 cargo test --test pcap_scenarios`, and review the diff.
//! `pcaps/README.md` describes the format and `pcaps/record.sh` records new
//! scenarios from real kernel hosts.

mod support;

use overcast::config::Config;
use overcast::replay::{self, InputSpec, ReplayOptions};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `scenario.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    /// `PORT=FILE`, files relative to the scenario directory.
    inputs: Vec<String>,
    /// Run the clock to this virtual time (e.g. "400s").
    #[serde(default)]
    until: Option<String>,
    /// Also write the state at these virtual times.
    #[serde(default)]
    state_at: Vec<String>,
}

fn scenario_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("scenario.toml").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn duration(s: &str, dir: &Path) -> std::time::Duration {
    humantime::parse_duration(s)
        .unwrap_or_else(|e| panic!("{}: bad duration {s:?}: {e}", dir.display()))
}

/// The replay options a scenario directory describes, writing into `out`.
fn options(dir: &Path, out: &Path) -> ReplayOptions {
    let path = dir.join("scenario.toml");
    let text = std::fs::read_to_string(&path).expect("scenario.toml readable");
    let sc: Scenario = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let config_path = dir.join("config.toml");
    let config = if config_path.exists() {
        Config::load(&config_path).unwrap_or_else(|e| panic!("{e}"))
    } else {
        Config::default()
    };
    let inputs = sc
        .inputs
        .iter()
        .map(|spec| {
            let mut input: InputSpec = spec
                .parse()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            input.file = dir.join(input.file);
            input
        })
        .collect();
    ReplayOptions {
        config,
        inputs,
        out_dir: out.to_path_buf(),
        until: sc.until.as_deref().map(|s| duration(s, dir)),
        state_at: sc.state_at.iter().map(|s| duration(s, dir)).collect(),
        skip_bad_records: false,
    }
}

/// Names of the files in a directory, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Why two pcaps differ, as "record N" or a length difference.
fn pcap_difference(expected: &Path, actual: &Path) -> String {
    let (e, a) = (support::read_pcap(expected), support::read_pcap(actual));
    for (i, (x, y)) in e.iter().zip(&a).enumerate() {
        if x != y {
            return format!(
                "record {} differs (expected {} bytes at {:?}, got {} bytes at {:?})",
                i + 1,
                x.data.len(),
                x.timestamp,
                y.data.len(),
                y.timestamp
            );
        }
    }
    format!("expected {} records, got {}", e.len(), a.len())
}

/// Compare one scenario's fresh outputs with its goldens; the problems found.
fn compare(name: &str, expected: &Path, actual: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let (want, got) = (listing(expected), listing(actual));
    if want != got {
        problems.push(format!(
            "{name}: output files differ: expected {want:?}, got {got:?}"
        ));
    }
    for file in want.iter().filter(|f| got.contains(f)) {
        let (e, a) = (expected.join(file), actual.join(file));
        let (eb, ab) = (
            std::fs::read(&e).unwrap_or_default(),
            std::fs::read(&a).unwrap_or_default(),
        );
        if eb == ab {
            continue;
        }
        if file.ends_with(".json") {
            let diff = similar::TextDiff::from_lines(
                &String::from_utf8_lossy(&eb).into_owned(),
                &String::from_utf8_lossy(&ab).into_owned(),
            )
            .unified_diff()
            .context_radius(3)
            .header(&format!("expected/{file}"), &format!("actual/{file}"))
            .to_string();
            problems.push(format!("{name}: {file} differs:\n{diff}"));
        } else {
            problems.push(format!("{name}: {file}: {}", pcap_difference(&e, &a)));
        }
    }
    problems
}

#[test]
fn every_pcap_scenario_replays_to_its_goldens() {
    let bless = std::env::var_os("OVERCAST_BLESS").is_some_and(|v| v == "1");
    let dirs = scenario_dirs();
    assert!(
        !dirs.is_empty(),
        "no scenarios found under pcaps/ (each needs a scenario.toml)"
    );
    let mut problems = Vec::new();
    for dir in &dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let expected = dir.join("expected");
        let tmp = support::Tmp::new();
        let out = if bless {
            expected.clone()
        } else {
            tmp.join("out")
        };
        if bless {
            let _ = std::fs::remove_dir_all(&expected);
        }
        if let Err(e) = replay::run(&options(dir, &out)) {
            problems.push(format!("{name}: replay failed: {e}"));
            continue;
        }
        if bless {
            eprintln!("blessed {}", expected.display());
        } else if !expected.is_dir() {
            problems.push(format!(
                "{name}: no expected/ directory; create it with OVERCAST_BLESS=1 cargo test --test pcap_scenarios"
            ));
        } else {
            problems.extend(compare(&name, &expected, &out));
        }
    }
    assert!(
        problems.is_empty(),
        "{} scenario problem(s); if the change is intended, regenerate with \
         OVERCAST_BLESS=1 cargo test --test pcap_scenarios and review the diff\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
    eprintln!("{} scenario(s) checked", dirs.len());
}

#[test]
fn a_changed_output_is_reported_with_a_readable_diff() {
    let tmp = support::Tmp::new();
    let (e, a) = (tmp.join("expected"), tmp.join("actual"));
    for d in [&e, &a] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(e.join("state.json"), "{\n  \"now_ms\": 1,\n  \"x\": 2\n}\n").unwrap();
    std::fs::write(a.join("state.json"), "{\n  \"now_ms\": 1,\n  \"x\": 3\n}\n").unwrap();
    support::write_pcap(
        &e.join("p.pcap"),
        &[(std::time::Duration::ZERO, support::arp_request(1, 2))],
    );
    support::write_pcap(
        &a.join("p.pcap"),
        &[(std::time::Duration::ZERO, support::arp_request(1, 3))],
    );
    std::fs::write(a.join("extra.pcap"), b"").unwrap();
    let problems = compare("demo", &e, &a).join("\n");
    assert!(problems.contains("output files differ"), "{problems}");
    assert!(
        problems.contains("-  \"x\": 2") && problems.contains("+  \"x\": 3"),
        "{problems}"
    );
    assert!(problems.contains("p.pcap: record 1 differs"), "{problems}");
}
