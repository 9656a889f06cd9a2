//! One round of the demonstration, and the verdict over both.

use super::hosts::{Agent, Host};
use super::{LabError, LabOptions, DRAIN, GROUP, PORT};
use std::io::Write;

/// What one round counted at each receiving host: (frames at the port, datagrams to the app).
pub(super) type Counts = Vec<(u64, u64)>;

/// One round: h3 sends, every receiver counts; print who got what against a flood.
pub(super) fn round(
    hosts: &[Host],
    receivers: &mut [(usize, Agent)],
    opts: &LabOptions,
    out: &mut dyn Write,
    left: &[usize],
) -> Result<Counts, LabError> {
    for (_, agent) in receivers.iter_mut() {
        agent.count()?; // start from zero
    }
    hosts[2].send(&opts.exe, GROUP, PORT, opts.count)?;
    std::thread::sleep(DRAIN);
    let mut counts = Vec::new();
    let mut rows = Vec::new();
    for (i, agent) in receivers.iter_mut() {
        let (wire, app) = agent.count()?;
        let role = match *i {
            _ if left.contains(i) => "left",
            0 | 1 => "member",
            _ => "bystander",
        };
        rows.push(vec![
            hosts[*i].label.clone(),
            role.to_string(),
            wire.to_string(),
            app.to_string(),
        ]);
        counts.push((wire, app));
    }
    write!(
        out,
        "{}",
        crate::show::table(
            &["HOST", "ROLE", "FRAMES-AT-PORT", "DATAGRAMS-TO-APP"],
            &rows
        )
    )?;
    let receivers_n = hosts.len() as u64 - 1;
    let flood = receivers_n * u64::from(opts.count);
    let delivered: u64 = counts.iter().map(|c| c.0).sum();
    writeln!(
        out,
        "flood: {receivers_n} receivers × {} = {flood} frames; overcast delivered {delivered}, pruned {}",
        opts.count,
        flood.saturating_sub(delivered)
    )?;
    Ok(counts)
}

/// Fail unless round 1 reached both members only and round 2 the remaining member only.
pub(super) fn verdict(count: u32, first: &Counts, second: &Counts) -> Result<(), LabError> {
    let c = u64::from(count);
    let wire = |r: &Counts| r.iter().map(|x| x.0).collect::<Vec<_>>();
    let (a, b) = (wire(first), wire(second));
    let quiet = |r: &[u64]| r.iter().skip(2).all(|x| *x == 0);
    let ok = a.first() == Some(&c)
        && a.get(1) == Some(&c)
        && b.first() == Some(&c)
        && b.get(1) == Some(&0)
        && quiet(&a)
        && quiet(&b);
    if ok {
        Ok(())
    } else {
        Err(LabError::Unexpected(format!(
            "frames at the receivers' ports: round 1 {a:?}, round 2 {b:?} \
             (expected [{c}, {c}, 0...] then [{c}, 0, 0...])"
        )))
    }
}
