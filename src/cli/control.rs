//! The subcommands that talk to a running switch over its control socket.

use super::args::{FdbAction, MdbAction, Target};
use anyhow::Result;
use overcast::driver::control::{self, Request};

/// `show VIEW [--json] [--stats]`.
pub fn show(what: &str, json: bool, stats: bool, target: &Target) -> Result<()> {
    let data = control::request(&target.socket()?, &Request::Show { what: what.into() })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&data)?);
        return Ok(());
    }
    let text = match what {
        "fdb" => overcast::show::fdb(&data),
        "ports" => overcast::show::ports(&data),
        "peers" => overcast::show::peers(&data),
        "counters" => overcast::show::counters(&data),
        "mdb" if stats => overcast::show::mdb_stats(&data),
        "mdb" => overcast::show::mdb(&data),
        "querier" => overcast::show::querier(&data),
        "vlans" => overcast::show::vlans(&data),
        _ => serde_json::to_string_pretty(&data)? + "\n",
    };
    print!("{text}");
    Ok(())
}

/// `fdb flush|add|del`.
pub fn fdb(action: FdbAction) -> Result<()> {
    let (target, req) = match action {
        FdbAction::Flush { port, target } => (target, Request::FdbFlush { port }),
        FdbAction::Add {
            mac,
            port,
            vlan,
            target,
        } => (target, Request::FdbAdd { mac, port, vlan }),
        FdbAction::Del { mac, vlan, target } => (target, Request::FdbDel { mac, vlan }),
    };
    println!("{}", control::request(&target.socket()?, &req)?);
    Ok(())
}

/// `mdb flush|add|del`.
pub fn mdb(action: MdbAction) -> Result<()> {
    let (target, req) = match action {
        MdbAction::Flush { port, target } => (target, Request::MdbFlush { port }),
        MdbAction::Add {
            group,
            port,
            vlan,
            target,
        } => (target, Request::MdbAdd { group, port, vlan }),
        MdbAction::Del {
            group,
            port,
            vlan,
            target,
        } => (target, Request::MdbDel { group, port, vlan }),
    };
    println!("{}", control::request(&target.socket()?, &req)?);
    Ok(())
}

/// `reload`.
pub fn reload(target: &Target) -> Result<()> {
    let data = control::request(&target.socket()?, &Request::Reload)?;
    println!("reloaded: {data}");
    Ok(())
}
