//! The `overcast` command: run the switch, check a config, query a running switch.

mod cli;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};
use cli::args::{Cli, Command, LabAgent};
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let debug = cli.debug
        || std::env::var("RUST_LOG").is_ok_and(|v| v.contains("debug") || v.contains("trace"));
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One clear line for users; the whole chain (and a backtrace,
            // if RUST_BACKTRACE asks) only when debugging.
            eprintln!("overcast: {}", one_line(&e));
            if debug {
                eprintln!("{e:?}");
            }
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes in one line, each cause once: a context that
/// already quotes its cause (as our errors do) is not followed by it again.
fn one_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string().replace('\n', " ");
        let text = text.trim();
        if text.is_empty() || out.contains(text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(text);
    }
    out
}

fn run(cli: Cli) -> Result<()> {
    // The lab tells its own story on stdout; the switch inside it only warns.
    let quiet = matches!(cli.command, Command::Lab { .. } | Command::LabAgent { .. });
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(if quiet { "warn" } else { "info" })),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        run @ Command::Run { .. } => cli::run::run(run),
        Command::Replay(args) => cli::replay::run(args),
        Command::CheckConfig { file } => {
            let cfg = overcast::config::Config::load(&file)?;
            print!("{}", cli::check::describe(&cfg));
            Ok(())
        }
        Command::Show {
            what,
            json,
            stats,
            target,
        } => cli::control::show(&what, json, stats, &target),
        Command::Fdb { action } => cli::control::fdb(action),
        Command::Mdb { action } => cli::control::mdb(action),
        Command::Reload { target } => cli::control::reload(&target),
        Command::Lab { hosts, count } => {
            let opts = overcast::lab::LabOptions {
                hosts,
                count,
                exe: std::env::current_exe().context("cannot find the overcast binary")?,
            };
            overcast::lab::run(&opts, &mut std::io::stdout())?;
            Ok(())
        }
        Command::LabAgent { role } => match role {
            LabAgent::Recv(args) => Ok(overcast::lab::agent::recv(&args)?),
            LabAgent::Send(args) => Ok(overcast::lab::agent::send(&args)?),
        },
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "overcast",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
    }
}
