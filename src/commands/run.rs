//! `pier run SERVICE [COMMAND...]`: `ops::run` brings up what the service needs and
//! creates the one-off; here it is attached (a TTY when stdin is a terminal and
//! not `-T`; stdin forwarded, end-of-file included), started, its output streamed
//! as `exec` streams it, and its exit code made pier's. `-d` starts it and prints
//! its name instead.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use crate::cli::RunArgs;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::EventSink;
use crate::ops;
use crate::plan::one_off::RunOverrides;
use crate::report::terminal::{self, RawMode};
use crate::stack::model::Stack;

use super::exec::{follow_terminal_size, forward_stdin, stream_output};
use super::{runtime, write_out};

pub fn run(
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    args: &RunArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    let shell: BTreeMap<String, String> = std::env::vars().collect();
    // Where a relative `-v` host path starts (the project's directory when the
    // current one is gone).
    let cwd = std::env::current_dir().unwrap_or_else(|_| stack.project_dir.clone());
    // Every bad value of -v, -l, --cap-add and --cap-drop, at once.
    let mut problems = Vec::new();
    let tty = !args.detach && !args.no_tty && terminal::stdin_is_terminal();
    let overrides = RunOverrides {
        name: args.name.clone().unwrap_or_default(),
        command: (!args.command.is_empty()).then(|| args.command.clone()),
        entrypoint: args
            .entrypoint
            .as_deref()
            .map(ops::run::entrypoint)
            .transpose()?,
        environment: ops::run::environment(&args.process.env, &shell)?,
        user: args.process.user.clone(),
        working_dir: args.process.workdir.clone(),
        service_ports: args.service_ports,
        publish: ops::run::publish(&args.publish, args.service_ports)?,
        use_aliases: args.use_aliases,
        tty,
        interactive: !args.detach,
        auto_remove: args.detach && args.rm,
        volumes: ops::run::volumes(&args.volumes, stack, &cwd, &shell, &mut problems),
        labels: ops::run::labels(&args.labels, &mut problems),
        cap_add: ops::run::capabilities("--cap-add", &args.cap_add, &mut problems),
        cap_drop: ops::run::capabilities("--cap-drop", &args.cap_drop, &mut problems),
    };
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    // Unknown services are invalid input, also without an engine.
    ops::run::check(stack, &args.service)?;
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let opts = ops::run::Options {
            service: args.service.clone(),
            overrides,
            no_deps: args.no_deps,
            build: args.build,
            wait_timeout: Duration::from_secs(args.wait_timeout),
            interrupt: ops::interrupt::on_ctrl_c(sink.clone()),
        };
        let report = ops::run::create(&engine, stack, dotenv, &opts, sink).await?;
        let container = report.container;
        if args.detach {
            engine.start_container(&container).await?;
            write_out(out, &format!("{container}\n"))?;
            return Ok(0);
        }
        // Without a TTY, Ctrl-C reaches pier, not the command: pass it on, as
        // Compose does; the command decides how to end, and its code is pier's.
        let (interrupt, one_off) = (opts.interrupt.clone(), engine.clone());
        let name = container.clone();
        tokio::spawn(async move {
            interrupt.cancelled().await;
            let _ = one_off.kill_container(&name, "SIGINT").await;
        });
        let session = attached(&engine, &container, tty, out).await;
        if session.is_err() && args.rm {
            let _ = engine.remove_container(&container).await;
        }
        session?;
        ops::run::finish(&engine, &container, args.rm).await
    })
}

/// Attach to the created one-off, start it, and stream its output until it ends.
async fn attached(engine: &Engine, container: &str, tty: bool, out: &mut dyn Write) -> Result<()> {
    let session = engine.attach_container(container, true).await?;
    let raw = if tty {
        Some(RawMode::enable().map_err(|e| Error::io("<terminal>", e))?)
    } else {
        None
    };
    engine.start_container(container).await?;
    if tty {
        if let Some((cols, rows)) = terminal::size() {
            // Best effort: a wrong size only makes full-screen programs look odd.
            let _ = engine.resize_container(container, cols, rows).await;
        }
        let (engine, name) = (engine.clone(), container.to_string());
        follow_terminal_size(move |cols, rows| {
            let (engine, name) = (engine.clone(), name.clone());
            async move {
                let _ = engine.resize_container(&name, cols, rows).await;
            }
        });
    }
    forward_stdin(session.input);
    stream_output(session.output, out).await?;
    drop(raw);
    Ok(())
}
