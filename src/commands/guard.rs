//! What `up` and `down` share around executing a plan: one run per project at a
//! time (the project lock), Ctrl-C handling, the reporter, and on Ctrl-C the
//! account of what the run left behind.

use tokio_util::sync::CancellationToken;

use crate::cli::Progress;
use crate::engine::Engine;
use crate::error::{Error, Result, Stopped};
use crate::execute::{ExecuteOptions, Outcome, execute};
use crate::lock::ProjectLock;
use crate::plan::Plan;
use crate::report::Reporter;

/// Take the project's lock, saying whom we wait for when another run holds it.
pub async fn lock(
    project: &str,
    command: &'static str,
    interrupt: &CancellationToken,
) -> Result<ProjectLock> {
    ProjectLock::acquire(project, command, interrupt, |holder| match holder {
        Some(h) => eprintln!(
            "waiting for another pier {} of project {project} (pid {})",
            h.command, h.pid
        ),
        None => eprintln!("waiting for another pier run of project {project}"),
    })
    .await
}

/// Execute `plan` with the reporter `progress` asks for. A Ctrl-C (`opts.interrupt`)
/// becomes `Error::Stopped`, naming what of the project exists now.
pub async fn run(
    engine: &Engine,
    plan: &Plan,
    opts: &ExecuteOptions,
    progress: Progress,
    command: &'static str,
) -> Result<Outcome> {
    let reporter = Reporter::new(progress);
    let result = execute(engine, plan, opts, reporter.sink()).await;
    reporter.finish();
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
