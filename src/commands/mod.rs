//! One module per verb: glue only (load → plan → execute → report).

mod config;
pub mod down;
mod exec;
mod export;
mod graph;
mod guard;
mod info;
mod init;
mod interrupt;
mod list;
mod logs;
mod project;
pub mod ps;
pub mod swarm;
pub mod up;

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, Command, GlobalArgs, Target};
use crate::error::{Error, Result};
use crate::secrets;
use crate::stack::{self, Loaded};

/// Run one command; output goes to `out` so that tests can capture it.
/// Returns the exit code for success paths that are not 0 (e.g. `exec`).
/// An error's quotes (a failing service's log lines, the engine's message) have
/// the secrets of the loaded stack masked.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<i32> {
    run_command(cli, out).map_err(|e| secrets::active().mask_error(e))
}

fn run_command(cli: Cli, out: &mut dyn Write) -> Result<i32> {
    match cli.command {
        Command::List(args) => list::run(args, out),
        Command::Init(args) => init::run(args, out),
        Command::Config(args) => config::run(&cli.global, &args, out),
        Command::Graph(args) => graph::run(&cli.global, &args, out),
        Command::Export(args) => export::run(&cli.global, &args, out),
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "pier", out);
            Ok(0)
        }
        // The swarm target has its own glue (commands::swarm).
        Command::Up(args) if args.target == Target::Swarm => {
            let loaded = load_stack(&cli.global)?;
            swarm::up(
                &loaded.stack,
                &loaded.dotenv,
                &args,
                cli.global.progress,
                out,
            )?;
            Ok(0)
        }
        Command::Down(args) if args.target == Target::Swarm => {
            swarm::down(&project_name(&cli.global)?, &args, cli.global.progress, out)?;
            Ok(0)
        }
        Command::Up(args) => {
            let stack = load_stack(&cli.global)?;
            up::up(&stack.stack, &stack.dotenv, &args, cli.global.progress, out)?;
            Ok(0)
        }
        Command::Down(args) => {
            let project = match &cli.global.project_name {
                Some(name) => name.clone(),
                None => load_stack(&cli.global)?.stack.name,
            };
            down::down(&project, &args, cli.global.progress, out)?;
            Ok(0)
        }
        Command::Ps(args) => ps::run(&cli.global, &args, out),
        Command::Logs(args) => logs::run(&cli.global, &args, out),
        Command::Exec(args) => exec::run(&cli.global, &args, out),
        Command::Info(args) => info::run(&cli.global, &args, out),
        #[allow(unreachable_patterns)]
        other => Err(Error::Usage {
            message: format!("`pier {}` is not available yet in this build", verb(&other)),
        }),
    }
}

/// Load the stack file named by the global flags; warnings go to stderr (the
/// command's own output stays clean for pipes), invalid input is an error.
/// Its secrets become the run's (`secrets::install`): progress events and errors
/// are masked with them.
pub fn load_stack(global: &GlobalArgs) -> Result<Loaded> {
    let loaded = stack::load(&project::load_options(global)?)?;
    secrets::install(secrets::Secrets::of_loaded(&loaded));
    for warning in &loaded.warnings {
        eprintln!("{warning}");
    }
    Ok(loaded)
}

/// The project a command that works from labels acts on: `-p`, else the stack file's.
fn project_name(global: &GlobalArgs) -> Result<String> {
    match &global.project_name {
        Some(name) => Ok(name.clone()),
        None => Ok(load_stack(global)?.stack.name),
    }
}

/// A runtime for the engine calls of one command.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("<tokio runtime>", e))
}

fn write_out(out: &mut dyn Write, text: &str) -> Result<()> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("<stdout>", e))
}

fn verb(command: &Command) -> &'static str {
    match command {
        Command::List(_) => "list",
        Command::Init(_) => "init",
        Command::Up(_) => "up",
        Command::Down(_) => "down",
        Command::Ps(_) => "ps",
        Command::Logs(_) => "logs",
        Command::Exec(_) => "exec",
        Command::Info(_) => "info",
        Command::Config(_) => "config",
        Command::Graph(_) => "graph",
        Command::Export(_) => "export",
        Command::Completions(_) => "completions",
    }
}
