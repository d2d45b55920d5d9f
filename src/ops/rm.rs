//! `rm`: remove the project's stopped containers (and `pier run`'s one-offs), from
//! labels like `down`. Planned first, so that the command can ask before it removes.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::plan::Plan;
use crate::plan::verbs::plan_rm;
use crate::target::local::ExecuteOptions;

use super::guard;
use super::project::{ProjectContext, check_services};

pub struct Options {
    /// The services named on the command line; none means all.
    pub services: Vec<String>,
    /// `-s`: stop running containers first.
    pub stop: bool,
    /// `-t` for the stops.
    pub timeout_secs: Option<u64>,
}

/// What `rm` would remove (and stop), as a plan: unknown services are invalid input.
pub async fn plan(engine: &Engine, ctx: &ProjectContext, opts: &Options) -> Result<Plan> {
    let observed = engine.observe(&ctx.name, &[]).await?;
    check_services(&opts.services, &ctx.known_services(&observed))?;
    Ok(plan_rm(
        &ctx.name,
        &observed,
        &opts.services,
        opts.stop,
        opts.timeout_secs,
    ))
}

/// Carry out `plan` (from `plan`) under the project's lock. A container already
/// gone meanwhile is no failure.
pub async fn rm(
    engine: &Engine,
    plan: &Plan,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<()> {
    let _lock = guard::lock(engine, &plan.project, "rm", interrupt, sink).await?;
    let exec = ExecuteOptions {
        wait_timeout: Duration::from_secs(60),
        interrupt: interrupt.clone(),
        ..ExecuteOptions::default()
    };
    guard::carry_out(engine, plan, &exec, sink, "rm").await?;
    Ok(())
}

/// The containers `plan` removes, in step order (what `rm` asks about).
pub fn removed(plan: &Plan) -> Vec<&str> {
    plan.steps
        .iter()
        .filter_map(|s| match &s.action {
            crate::plan::Action::RemoveContainer { container, .. } => Some(container.as_str()),
            _ => None,
        })
        .collect()
}
