//! What `up` and `down` share around executing a plan: one run per project at a
//! time (the project lock), and on Ctrl-C the account of what the run left behind.

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::{Error, Result, Stopped};
use crate::event::{Event, EventSink};
use crate::lock::ProjectLock;
use crate::plan::Plan;
use crate::target::local::{ExecuteOptions, Outcome, execute};

/// Take the project's lock on `engine` (named by the engine's ID); when another
/// run holds it, `Event::LockWaiting` says whom this one waits for.
pub async fn lock(
    engine: &Engine,
    project: &str,
    command: &'static str,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<ProjectLock> {
    let engine_id = engine.id().await?;
    ProjectLock::acquire(&engine_id, project, command, interrupt, |holder| {
        sink(Event::LockWaiting {
            project: project.to_string(),
            command: holder.as_ref().map(|h| h.command.clone()),
            pid: holder.as_ref().map(|h| h.pid),
        })
    })
    .await
}

/// Execute `plan`, its events to `sink`. A Ctrl-C (`opts.interrupt`) becomes
/// `Error::Stopped`, naming what of the project exists now.
pub async fn run(
    engine: &Engine,
    plan: &Plan,
    opts: &ExecuteOptions,
    sink: &EventSink,
    command: &'static str,
) -> Result<Outcome> {
    let result = execute(engine, plan, opts, sink.clone()).await;
    match result {
        Err(Error::Interrupted) => Err(stopped(engine, command, &plan.project).await),
        other => other,
    }
}

async fn stopped(engine: &Engine, command: &'static str, project: &str) -> Error {
    let observed = match engine.observe(project, &[]).await {
        Ok(o) => o,
        Err(_) => return Error::Interrupted,
    };
    let mut containers: Vec<(String, String)> = observed
        .containers
        .iter()
        .map(|c| (c.name.clone(), c.state.to_string()))
        .collect();
    containers.sort();
    let mut networks: Vec<String> = observed.networks.iter().map(|n| n.name.clone()).collect();
    networks.sort();
    Error::Stopped(Box::new(Stopped {
        command,
        project: project.to_string(),
        containers,
        networks,
    }))
}

/// Carry out a verb's `plan` under the project's lock (taken by the caller): its
/// notes as events, then its steps; an empty plan is a note that there was
/// nothing to do.
pub async fn carry_out(
    engine: &Engine,
    plan: &Plan,
    opts: &ExecuteOptions,
    sink: &EventSink,
    command: &'static str,
) -> Result<Outcome> {
    for note in &plan.notes {
        sink(Event::Note { text: note.clone() });
    }
    if plan.is_empty() {
        sink(Event::Note {
            text: format!("project {}: nothing to {command}", plan.project),
        });
        return Ok(Outcome::default());
    }
    run(engine, plan, opts, sink, command).await
}
