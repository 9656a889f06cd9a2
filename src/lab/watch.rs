//! What the lab asks the switch through its control socket: is it pruning, who is a member.

use super::{LabError, GROUP, SETTLE};
use crate::driver::control::{self, Request};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Poll the switch until `ready` says so.
pub(super) fn wait_until(
    control: &Path,
    what: &str,
    ready: impl Fn(&Path) -> Result<bool, LabError>,
) -> Result<(), LabError> {
    let deadline = Instant::now() + SETTLE;
    while !ready(control)? {
        if Instant::now() > deadline {
            return Err(LabError::Timeout(format!("waited {SETTLE:?} for {what}")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn show(control: &Path, what: &str) -> Result<Value, LabError> {
    Ok(control::request(
        control,
        &Request::Show { what: what.into() },
    )?)
}

/// Whether the IPv4 querier is known, so the switch prunes rather than floods.
pub(super) fn pruning(control: &Path) -> Result<bool, LabError> {
    let q = show(control, "querier")?;
    Ok(q.as_array().is_some_and(|a| {
        a.iter()
            .any(|q| q["family"] == "v4" && q["pruning"] == true)
    }))
}

/// The member ports of [`GROUP`], sorted.
pub(super) fn members(control: &Path) -> Result<Vec<String>, LabError> {
    let mdb = show(control, "mdb")?;
    let group = GROUP.to_string();
    let mut ports: Vec<String> = mdb["groups"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .filter(|r| r["group"] == group.as_str() && r["reason"] == "member")
        .filter_map(|r| r["port"].as_str().map(String::from))
        .collect();
    ports.sort();
    Ok(ports)
}

pub(super) fn show_mdb(control: &Path, out: &mut dyn Write) -> Result<(), LabError> {
    writeln!(out, "\n$ overcast show mdb")?;
    write!(out, "{}", crate::show::mdb(&show(control, "mdb")?))?;
    Ok(())
}
