//! The subcommands that talk to a running switch over its control socket.

use super::args::{FdbAction, MdbAction};
use anyhow::Result;
use overcast::driver::control::{self, Request};
use std::path::Path;

/// `show VIEW [--json]`.
pub fn show(what: &str, json: bool, path: &Path) -> Result<()> {
    let data = control::request(path, &Request::Show { what: what.into() })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&data)?);
        return Ok(());
    }
    let text = match what {
        "fdb" => overcast::show::fdb(&data),
        "ports" => overcast::show::ports(&data),
        "peers" => overcast::show::peers(&data),
        "counters" => overcast::show::counters(&data),
        "mdb" => overcast::show::mdb(&data),
        "querier" => overcast::show::querier(&data),
        _ => serde_json::to_string_pretty(&data)? + "\n",
    };
    print!("{text}");
    Ok(())
}

/// `fdb flush|add|del`.
pub fn fdb(action: FdbAction) -> Result<()> {
    let (path, req) = match action {
        FdbAction::Flush { port, control } => (control, Request::FdbFlush { port }),
        FdbAction::Add {
            mac,
            port,
            vlan,
            control,
        } => (control, Request::FdbAdd { mac, port, vlan }),
        FdbAction::Del { mac, vlan, control } => (control, Request::FdbDel { mac, vlan }),
    };
    println!("{}", control::request(&path, &req)?);
    Ok(())
}

/// `mdb flush|add|del`.
pub fn mdb(action: MdbAction) -> Result<()> {
    let (path, req) = match action {
        MdbAction::Flush { port, control } => (control, Request::MdbFlush { port }),
        MdbAction::Add {
            group,
            port,
            vlan,
            control,
        } => (control, Request::MdbAdd { group, port, vlan }),
        MdbAction::Del {
            group,
            port,
            vlan,
            control,
        } => (control, Request::MdbDel { group, port, vlan }),
    };
    println!("{}", control::request(&path, &req)?);
    Ok(())
}

/// `reload`.
pub fn reload(path: &Path) -> Result<()> {
    let data = control::request(path, &Request::Reload)?;
    println!("reloaded: {data}");
    Ok(())
}
