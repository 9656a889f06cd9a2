//! `overcast replay`: captures through the switch on a virtual clock.

use super::args::ReplayArgs;
use anyhow::Result;
use overcast::config::Config;
use overcast::replay::{self, InputKind, InputSpec, ReplayOptions};
use std::time::Duration;

/// Replay, then summarise what happened on stdout.
pub fn run(args: ReplayArgs) -> Result<()> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let mut inputs = args.inputs;
    inputs.extend(args.tunnel_inputs.into_iter().map(|spec| InputSpec {
        kind: InputKind::Tunnel,
        ..spec
    }));
    let opts = ReplayOptions {
        config,
        inputs,
        out_dir: args.out,
        until: args.until,
        state_at: args.state_at,
        skip_bad_records: args.skip_bad_records,
    };
    let report = replay::run(&opts)?;
    let s = &report.stats;
    println!(
        "replayed {} frames ({} forwarded, {} dropped, {} originated by the switch) \
         over {} of virtual time into {}",
        s.frames_fed,
        s.frames_forwarded,
        s.frames_dropped,
        s.frames_originated,
        humantime::format_duration(Duration::from_millis(s.now_ms)),
        opts.out_dir.display()
    );
    for i in &s.inputs {
        if i.bad_records + i.truncated_records + i.out_of_order_records + i.not_for_listener > 0 {
            println!(
                "  {}={}: {} bad records skipped, {} truncated, {} out of order, {} not for the listener",
                i.port,
                i.file,
                i.bad_records,
                i.truncated_records,
                i.out_of_order_records,
                i.not_for_listener
            );
        }
    }
    Ok(())
}
