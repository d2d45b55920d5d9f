//! `start`, `stop` and `restart`: the project's existing containers started in
//! dependency order and waited for like `up` does, or stopped dependents first
//! (`plan::verbs`), under the project's lock.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::EventSink;
use crate::plan::Plan;
use crate::plan::verbs::{plan_start, plan_stop, with_dependents};
use crate::stack::model::Stack;
use crate::target::local::ExecuteOptions;

use super::guard;
use super::project::{ProjectContext, check_services};

pub struct Options {
    /// The services named on the command line; none means all.
    pub services: Vec<String>,
    /// `-t`: seconds each container has to stop before it is killed.
    pub timeout_secs: Option<u64>,
    /// `restart --no-deps`: not the services that depend on the named ones.
    pub no_deps: bool,
    /// Bounds waiting for each started service to become ready.
    pub wait_timeout: Duration,
    /// Cancelled on Ctrl-C (`ops::interrupt::on_ctrl_c`).
    pub interrupt: CancellationToken,
}

impl Options {
    fn execute(&self) -> ExecuteOptions {
        ExecuteOptions {
            wait_timeout: self.wait_timeout,
            interrupt: self.interrupt.clone(),
            ..ExecuteOptions::default()
        }
    }
}

/// Start the stopped containers of the named services and of what they depend on.
/// Returns the plan it carried out.
pub async fn start(
    engine: &Engine,
    stack: &Stack,
    opts: &Options,
    sink: &EventSink,
) -> Result<Plan> {
    plan_start(stack, &Default::default(), &opts.services, true).map_err(Error::Invalid)?;
    let _lock = guard::lock(engine, &stack.name, "start", &opts.interrupt, sink).await?;
    let observed = engine.observe(&stack.name, &[]).await?;
    let plan = plan_start(stack, &observed, &opts.services, true).map_err(Error::Invalid)?;
    guard::carry_out(engine, &plan, &opts.execute(), sink, "start").await?;
    Ok(plan)
}

/// Stop the running containers of the named services, dependents first, from the
/// project's labels (so also without the stack file, with `-p`).
pub async fn stop(
    engine: &Engine,
    ctx: &ProjectContext,
    opts: &Options,
    sink: &EventSink,
) -> Result<Plan> {
    let _lock = guard::lock(engine, &ctx.name, "stop", &opts.interrupt, sink).await?;
    let observed = engine.observe(&ctx.name, &[]).await?;
    check_services(&opts.services, &ctx.known_services(&observed))?;
    let plan = plan_stop(&ctx.name, &observed, &opts.services, opts.timeout_secs);
    guard::carry_out(engine, &plan, &opts.execute(), sink, "stop").await?;
    Ok(plan)
}

/// Stop the named services and those that depend on them (not with `no_deps`),
/// then start them again in dependency order and wait until they are ready.
/// Returns the two plans, stop then start.
pub async fn restart(
    engine: &Engine,
    stack: &Stack,
    opts: &Options,
    sink: &EventSink,
) -> Result<(Plan, Plan)> {
    let names: Vec<&str> = stack.services.keys().map(String::as_str).collect();
    check_services(&opts.services, &names)?;
    let scope = match opts.no_deps {
        true => opts.services.clone(),
        false => with_dependents(stack, &opts.services).map_err(Error::Invalid)?,
    };
    let _lock = guard::lock(engine, &stack.name, "restart", &opts.interrupt, sink).await?;
    let observed = engine.observe(&stack.name, &[]).await?;
    let stop = plan_stop(&stack.name, &observed, &scope, opts.timeout_secs);
    let exec = opts.execute();
    guard::carry_out(engine, &stop, &exec, sink, "stop").await?;
    let observed = engine.observe(&stack.name, &[]).await?;
    let start = plan_start(stack, &observed, &scope, false).map_err(Error::Invalid)?;
    guard::carry_out(engine, &start, &exec, sink, "start").await?;
    Ok((stop, start))
}
