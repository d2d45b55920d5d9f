//! `pull` and `build`: the images of the named services only (`plan::verbs`), each
//! step's progress as events (pull progress, build output).

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::{Event, EventSink};
use crate::plan::Plan;
use crate::plan::verbs::{plan_build, plan_pull};
use crate::stack::model::Stack;
use crate::target::local::ExecuteOptions;

use super::guard;
use super::project::check_services;

fn check(stack: &Stack, services: &[String]) -> Result<()> {
    let names: Vec<&str> = stack.services.keys().map(String::as_str).collect();
    check_services(services, &names)
}

fn execute_options(interrupt: &CancellationToken) -> ExecuteOptions {
    ExecuteOptions {
        interrupt: interrupt.clone(),
        ..ExecuteOptions::default()
    }
}

/// Pull the images of the named services (all when none is named). With
/// `ignore_failures`, an image that cannot be pulled is a warning and the others
/// are pulled still. Returns the plan and the images that failed.
pub async fn pull(
    engine: &Engine,
    stack: &Stack,
    services: &[String],
    ignore_failures: bool,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<(Plan, Vec<String>)> {
    check(stack, services)?;
    let plan = plan_pull(stack, services);
    let exec = execute_options(interrupt);
    if !ignore_failures {
        guard::carry_out(engine, &plan, &exec, sink, "pull").await?;
        return Ok((plan, vec![]));
    }
    for note in &plan.notes {
        sink(Event::Note { text: note.clone() });
    }
    // One plan per image: a failed pull must not stop the others.
    let mut failed = Vec::new();
    for step in &plan.steps {
        let one = Plan {
            project: plan.project.clone(),
            steps: vec![step.clone()],
            unchanged: vec![],
            notes: vec![],
        };
        match guard::run(engine, &one, &exec, sink, "pull").await {
            Ok(_) => {}
            Err(e @ (Error::Interrupted | Error::Stopped(_))) => return Err(e),
            Err(e) => {
                sink(Event::Warning {
                    text: format!("warning: {e} (ignored: --ignore-pull-failures)"),
                });
                if let crate::plan::Action::PullImage { image, .. } = &step.action {
                    failed.push(image.clone());
                }
            }
        }
    }
    Ok((plan, failed))
}

/// Build the images of the named services that have a `build:` section (all of
/// them when none is named).
pub async fn build(
    engine: &Engine,
    stack: &Stack,
    services: &[String],
    no_cache: bool,
    pull: bool,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<Plan> {
    check(stack, services)?;
    let plan = plan_build(stack, services, no_cache, pull);
    guard::carry_out(engine, &plan, &execute_options(interrupt), sink, "build").await?;
    Ok(plan)
}
