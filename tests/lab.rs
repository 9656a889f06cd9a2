//! `overcast lab` end to end: it shows pruning, and leaves nothing behind,
//! whether it finishes or is interrupted.

mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The lab must finish well within this.
const LIMIT: Duration = Duration::from_secs(40);

fn start_lab() -> Child {
    Command::new(env!("CARGO_BIN_EXE_overcast"))
        .arg("lab")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("overcast lab starts")
}

/// The lab's stdout, line by line, as it comes.
fn lines_of(child: &mut Child) -> mpsc::Receiver<String> {
    let out = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Wait for the lab to exit (killing it past the limit); its exit code.
fn wait_exit(child: &mut Child) -> Option<i32> {
    let end = Instant::now() + LIMIT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("overcast lab ran past {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `oclabNNNN` prefix from the lab's first line.
fn prefix_of(first_line: &str) -> String {
    first_line
        .split("(prefix ")
        .nth(1)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no prefix in {first_line:?}"))
        .to_string()
}

/// Nothing named with `prefix` is left: namespace, link, temporary directory.
fn assert_nothing_left(prefix: &str) {
    let ns = run("ip netns list");
    assert!(!ns.contains(prefix), "namespaces left behind:\n{ns}");
    let links = run("ip -o link show");
    assert!(!links.contains(prefix), "TAPs left behind:\n{links}");
    assert!(
        !std::env::temp_dir().join(prefix).exists(),
        "temporary directory left behind"
    );
}

/// The rows of the table that follows `header` (until a blank or `flood:` line).
fn rows_after<'a>(out: &'a [String], header: &str) -> Vec<Vec<&'a str>> {
    let start = out
        .iter()
        .position(|l| l.starts_with(header))
        .unwrap_or_else(|| panic!("no {header:?} in:\n{}", out.join("\n")));
    out[start + 2..]
        .iter()
        .take_while(|l| !l.is_empty() && !l.starts_with("flood:"))
        .map(|l| l.split_whitespace().collect())
        .collect()
}

#[test]
fn lab_shows_members_receiving_a_bystander_pruned_and_cleans_up() {
    if !can_run("lab_shows_members_receiving_a_bystander_pruned_and_cleans_up") {
        return;
    }
    let started = Instant::now();
    let mut child = start_lab();
    let lines = lines_of(&mut child);
    let code = wait_exit(&mut child);
    let out: Vec<String> = lines.try_iter().collect();
    let text = out.join("\n");
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert_eq!(code, Some(0), "overcast lab failed:\n{text}\n{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    let prefix = prefix_of(&out[0]);

    // Round 1: both members got all 100 at their port; the bystander none.
    let first = rows_after(&out, "round 1:");
    let row = |rows: &[Vec<&str>], host: &str| -> (String, String) {
        let r = rows
            .iter()
            .find(|r| r[0] == host)
            .unwrap_or_else(|| panic!("no row for {host}:\n{text}"));
        (r[1].to_string(), r[2].to_string())
    };
    assert_eq!(row(&first, "h1"), ("member".into(), "100".into()), "{text}");
    assert_eq!(row(&first, "h2"), ("member".into(), "100".into()), "{text}");
    assert_eq!(
        row(&first, "h4"),
        ("bystander".into(), "0".into()),
        "{text}"
    );
    assert!(
        text.contains("flood: 3 receivers × 100 = 300 frames; overcast delivered 200, pruned 100"),
        "{text}"
    );
    // Round 2, after h2 left: only h1.
    let second = rows_after(&out, "round 2:");
    assert_eq!(
        row(&second, "h1"),
        ("member".into(), "100".into()),
        "{text}"
    );
    assert_eq!(row(&second, "h2"), ("left".into(), "0".into()), "{text}");
    assert_eq!(
        row(&second, "h4"),
        ("bystander".into(), "0".into()),
        "{text}"
    );
    assert!(
        text.contains("overcast delivered 100, pruned 200"),
        "{text}"
    );
    assert_eq!(text.matches("$ overcast show mdb").count(), 2, "{text}");
    assert!(text.contains("239.1.1.1"), "{text}");
    assert_nothing_left(&prefix);
}

#[test]
fn lab_interrupted_by_sigint_cleans_up() {
    if !can_run("lab_interrupted_by_sigint_cleans_up") {
        return;
    }
    let mut child = start_lab();
    let lines = lines_of(&mut child);
    let first = lines
        .recv_timeout(Duration::from_secs(10))
        .expect("the lab prints its prefix");
    let prefix = prefix_of(&first);
    // Interrupt while the hosts exist and the members are joining.
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        match lines.recv_timeout(Duration::from_secs(15)) {
            Ok(l) if l.starts_with("h1 and h2 join") => break,
            Ok(_) => {}
            Err(e) => panic!("the lab never got to the join: {e}"),
        }
        assert!(Instant::now() < end, "the lab never got to the join");
    }
    assert!(
        run("ip netns list").contains(&prefix),
        "the namespaces should exist mid-run"
    );
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) on the PID of the child this test started.
    unsafe { libc::kill(pid, libc::SIGINT) };
    assert_eq!(wait_exit(&mut child), Some(130), "exit code after SIGINT");
    assert_nothing_left(&prefix);
}

#[test]
fn lab_refuses_too_few_hosts_and_says_why() {
    let out = Command::new(env!("CARGO_BIN_EXE_overcast"))
        .args(["lab", "--hosts", "2"])
        .output()
        .expect("overcast runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--hosts must be 3 to 20"), "{err}");
}
