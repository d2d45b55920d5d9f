//! One module per verb: parse nothing, decide nothing — call one operation
//! (`crate::ops`) and render its report to `out`. Notes and warnings go to the
//! run's reporter as events. This file also holds where the command line meets
//! the layers below it, which know nothing of clap: the global flags become the
//! loader's `LoadOptions`, and `--progress` becomes the reporter's `Progress`.

mod build;
mod config;
mod db;
mod doctor;
pub mod down;
mod exec;
mod export;
mod graph;
mod info;
mod init;
mod list;
mod logs;
mod ls;
mod port;
pub mod ps;
mod pull;
mod restart;
mod rm;
mod router;
mod run;
pub mod snapshot;
mod start;
mod stop;
pub mod swarm;
mod trust;
pub mod up;
pub mod watch;

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{self, Cli, Command, GlobalArgs, Target};
use crate::error::{Error, Result};
use crate::event::EventSink;
use crate::ops::identity::Identity;
use crate::ops::project::ProjectContext;
use crate::report::{self, Reporter};
use crate::secrets;
use crate::stack::{LoadOptions, Loaded};

/// Run one command; output goes to `out` so that tests can capture it, notes,
/// warnings and progress to a reporter on stderr (`--progress`).
/// Returns the exit code for success paths that are not 0 (e.g. `exec`).
/// An error's quotes (a failing service's log lines, the engine's message) have
/// the secrets of the loaded stack masked.
pub fn run(cli: Cli, out: &mut dyn Write) -> Result<i32> {
    let reporter = Reporter::new(cli.global.progress);
    let result = run_command(cli, &reporter.sink(), out);
    // Close the progress lines before the result or error is printed.
    reporter.finish();
    result.map_err(|e| secrets::active().mask_error(e))
}

fn run_command(cli: Cli, sink: &EventSink, out: &mut dyn Write) -> Result<i32> {
    // The one place the target is chosen: the swarm's verbs are in `swarm`.
    if cli.command.target() == Target::Swarm {
        return swarm::run(&cli.global, cli.command, sink, out);
    }
    match cli.command {
        Command::List(args) => list::run(args, out),
        Command::Init(args) => init::run(args, out),
        Command::Config(args) => config::run(&cli.global, &args, sink, out),
        Command::Graph(args) => graph::run(&cli.global, &args, sink, out),
        Command::Export(args) => export::run(&cli.global, &args, sink, out),
        Command::Completions(args) => {
            // Generated into memory: clap_complete panics on a failed write, and a
            // closed pipe (`pier completions bash | head -1`) is no reason to panic.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "pier", &mut script);
            write_out(out, &String::from_utf8_lossy(&script))?;
            Ok(0)
        }
        Command::Up(args) => {
            let loaded = load_stack_for(&cli.global, &args.services, sink)?;
            // `up --watch`: the rules are checked before anything starts.
            let triggers = match args.watch {
                true => Some(watch::triggers(&loaded.stack, &args.services, sink)?),
                false => None,
            };
            let identity = Some(Identity::of(&loaded));
            let router = crate::router::Settings::from_env()?;
            up::up_as(
                &loaded.stack,
                &loaded.dotenv,
                &args,
                (identity, cli.global.adopt),
                Some(router),
                sink,
                out,
            )?;
            if let Some(triggers) = triggers {
                watch::watch(&loaded, triggers, args.wait_timeout, sink, out)?;
            }
            Ok(0)
        }
        Command::Watch(args) => watch::run(&cli.global, &args, sink, out),
        Command::Down(args) => {
            let (project, dir, identity) = down_target(&cli.global, sink)?;
            let adopt = cli.global.adopt;
            down::down_in(&project, &dir, &args, (identity, adopt), sink, out)?;
            Ok(0)
        }
        Command::Ps(args) => ps::run(&project_context(&cli.global, sink)?, &args, out),
        Command::Logs(args) => logs::run(
            &project_context_for(&cli.global, &args.services, sink)?,
            &args,
            sink,
            out,
        ),
        Command::Exec(args) => exec::run(
            &project_context_for(&cli.global, std::slice::from_ref(&args.service), sink)?,
            &args,
            out,
        ),
        Command::Info(args) => info::run(&project_context(&cli.global, sink)?, &args, out),
        Command::Snapshot(args) => snapshot::run(&cli.global, args, sink, out),
        Command::Db(args) => db::run(&project_context(&cli.global, sink)?, args, sink, out),
        Command::Doctor(args) => doctor::run(&cli.global, &args, out),
        Command::Run(args) => {
            let loaded = load_stack(&cli.global, sink)?;
            check_loaded_identity(&loaded.stack.name, &loaded, cli.global.adopt)?;
            run::run(&loaded.stack, &loaded.dotenv, &args, sink, out)
        }
        Command::Start(args) => start::run(
            &checked_stack(&cli.global, &args.services, sink)?,
            &args,
            sink,
        ),
        Command::Stop(args) => stop::run(&project_context(&cli.global, sink)?, &args, sink),
        Command::Restart(args) => restart::run(
            &checked_stack(&cli.global, &args.services, sink)?,
            &args,
            sink,
        ),
        Command::Pull(args) => pull::run(
            &checked_stack(&cli.global, &args.services, sink)?,
            &args,
            sink,
        ),
        Command::Build(args) => build::run(
            &checked_stack(&cli.global, &args.services, sink)?,
            &args,
            sink,
        ),
        Command::Ls(args) => ls::run(&args, out),
        Command::Rm(args) => rm::run(&project_context(&cli.global, sink)?, &args, sink, out),
        Command::Port(args) => port::run(&project_context(&cli.global, sink)?, &args, out),
        Command::Router(args) => router::run(&args, sink, out),
        Command::Trust(args) => trust::run(&args, out),
        #[allow(unreachable_patterns)]
        other => Err(Error::Usage {
            message: format!("`pier {}` is not available yet in this build", verb(&other)),
        }),
    }
}

/// The loader's options from the global flags, the current directory and the
/// process environment.
pub fn load_options(global: &GlobalArgs) -> Result<LoadOptions> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    Ok(LoadOptions {
        files: global.file.clone(),
        project_name: global.project_name.clone(),
        env_file: global.env_file.clone(),
        profiles: global.profiles.clone(),
        services: Vec::new(),
        cwd,
        environment: std::env::vars().collect(),
    })
}

impl From<cli::Progress> for report::Progress {
    fn from(progress: cli::Progress) -> report::Progress {
        match progress {
            cli::Progress::Auto => report::Progress::Auto,
            cli::Progress::Tty => report::Progress::Tty,
            cli::Progress::Plain => report::Progress::Plain,
            cli::Progress::Json => report::Progress::Json,
            cli::Progress::Quiet => report::Progress::Quiet,
        }
    }
}

/// Load the stack file named by the global flags (`ops::project::load`: warnings
/// are events, its secrets the run's).
pub fn load_stack(global: &GlobalArgs, sink: &EventSink) -> Result<Loaded> {
    load_stack_for(global, &[], sink)
}

/// `load_stack` for a command that names services (`pier up web`): those are
/// in the stack whatever their profiles, with what they depend on.
pub fn load_stack_for(
    global: &GlobalArgs,
    services: &[String],
    sink: &EventSink,
) -> Result<Loaded> {
    let options = LoadOptions {
        services: services.to_vec(),
        ..load_options(global)?
    };
    crate::ops::project::load(&options, sink)
}

/// The stack file's stack, with the service names given on the command line checked
/// against it: unknown ones are invalid input, found before the engine is touched.
fn checked_stack(
    global: &GlobalArgs,
    services: &[String],
    sink: &EventSink,
) -> Result<crate::stack::model::Stack> {
    let loaded = load_stack(global, sink)?;
    let names: Vec<&str> = loaded.stack.services.keys().map(String::as_str).collect();
    crate::ops::project::check_services(services, &names)?;
    check_loaded_identity(&loaded.stack.name, &loaded, global.adopt)?;
    Ok(loaded.stack)
}

/// What the runtime verbs act on: the stack file's project, or `-p`'s without one.
pub(crate) fn project_context(global: &GlobalArgs, sink: &EventSink) -> Result<ProjectContext> {
    project_context_for(global, &[], sink)
}

/// `project_context` for a command that names services (see `load_stack_for`).
pub(crate) fn project_context_for(
    global: &GlobalArgs,
    services: &[String],
    sink: &EventSink,
) -> Result<ProjectContext> {
    let options = LoadOptions {
        services: services.to_vec(),
        ..load_options(global)?
    };
    let ctx = ProjectContext::load(&options, sink)?;
    check_identity(&ctx, global.adopt)?;
    Ok(ctx)
}

/// Refuse (exit 2) to act on a project whose resources were made from another
/// directory than the stack file here, unless `--adopt` (`ops::identity`).
fn check_identity(ctx: &ProjectContext, adopt: bool) -> Result<()> {
    match &ctx.loaded {
        Some(loaded) => check_loaded_identity(&ctx.name, loaded, adopt),
        None => Ok(()),
    }
}

/// `check_identity` for the project `name` loaded from `loaded`'s files.
fn check_loaded_identity(name: &str, loaded: &Loaded, adopt: bool) -> Result<()> {
    if adopt {
        return Ok(());
    }
    let ours = Identity::of(loaded);
    // An engine that cannot be asked is the verb's own error to report, in its turn.
    runtime()?.block_on(async {
        let Ok(engine) = crate::engine::Engine::connect().await else {
            return Ok(());
        };
        let Ok(observed) = engine.observe(name, &[]).await else {
            return Ok(());
        };
        crate::ops::identity::check(name, Some(&ours), &observed, adopt)
    })
}

/// The project a command that works from labels acts on: `-p`, else the stack file's.
pub(crate) fn project_name(global: &GlobalArgs, sink: &EventSink) -> Result<String> {
    match &global.project_name {
        Some(name) => Ok(name.clone()),
        None => Ok(load_stack(global, sink)?.stack.name),
    }
}

/// `down`'s project (as `project_name`), the directory its snapshots go to (the
/// stack file's, else the current one), and where the project was loaded from
/// (None: `-p NAME` where there is no stack file).
fn down_target(
    global: &GlobalArgs,
    sink: &EventSink,
) -> Result<(String, std::path::PathBuf, Option<Identity>)> {
    let cwd = load_options(global)?.cwd;
    match (&global.project_name, load_stack(global, sink)) {
        (_, Ok(loaded)) => Ok((
            global
                .project_name
                .clone()
                .unwrap_or(loaded.stack.name.clone()),
            loaded.stack.project_dir.clone(),
            Some(Identity::of(&loaded)),
        )),
        (Some(name), Err(Error::NoStackFile { .. })) => Ok((name.clone(), cwd, None)),
        (_, Err(e)) => Err(e),
    }
}

/// A runtime for the engine calls of one command.
fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("<tokio runtime>", e))
}

/// `value` as pretty JSON with the run's secret values masked: a plan's specs
/// carry the services' environment.
fn masked_json(value: impl serde::Serialize) -> String {
    let mut json = serde_json::to_value(value).expect("plans and reports serialize");
    secrets::active().mask_json(&mut json);
    format!(
        "{}\n",
        serde_json::to_string_pretty(&json).expect("a JSON value serializes")
    )
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
        Command::Run(_) => "run",
        Command::Start(_) => "start",
        Command::Stop(_) => "stop",
        Command::Restart(_) => "restart",
        Command::Pull(_) => "pull",
        Command::Build(_) => "build",
        Command::Ls(_) => "ls",
        Command::Rm(_) => "rm",
        Command::Port(_) => "port",
        Command::Info(_) => "info",
        Command::Config(_) => "config",
        Command::Graph(_) => "graph",
        Command::Export(_) => "export",
        Command::Completions(_) => "completions",
        Command::Watch(_) => "watch",
        Command::Snapshot(_) => "snapshot",
        Command::Db(_) => "db",
        Command::Doctor(_) => "doctor",
        Command::Router(_) => "router",
        Command::Trust(_) => "trust",
    }
}
