//! The `overcast` command: run the switch, check a config, query a running switch.

mod cli;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};
use cli::args::{Cli, Command, LabAgent};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

fn main() -> Result<()> {
    let cli = Cli::parse();
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
        Command::Replay {
            config,
            inputs,
            tunnel_inputs,
            out,
            until,
            state_at,
            skip_bad_records,
        } => cli::replay::run(cli::replay::ReplayArgs {
            config,
            inputs,
            tunnel_inputs,
            out,
            until,
            state_at,
            skip_bad_records,
        }),
        Command::CheckConfig { file } => {
            let cfg = overcast::config::Config::load(&file)?;
            print!("{}", cli::check::describe(&cfg));
            Ok(())
        }
        Command::Show {
            what,
            json,
            control,
        } => cli::control::show(&what, json, &control),
        Command::Fdb { action } => cli::control::fdb(action),
        Command::Mdb { action } => cli::control::mdb(action),
        Command::Reload { control } => cli::control::reload(&control),
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
