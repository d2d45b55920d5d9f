//! The swarm target's verbs as functions over (engine, stack, options, event sink)
//! that return a report: observe → `plan::swarm` (pure) → `target::swarm` (the
//! common walk). `commands::swarm` calls these and renders their reports.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::engine::Engine;
use crate::error::{Error, Result, UnbuiltImage};
use crate::event::EventSink;
use crate::plan::Plan;
use crate::plan::swarm::{
    SwarmAction, SwarmObserved, SwarmPlan, SwarmService, SwarmUpOptions, TaskInfo, TaskState,
    plan_swarm, plan_swarm_down, plan_swarm_up, secret_hash,
};
use crate::stack::model::{Condition, Stack};
use crate::target::swarm::{SwarmRunOptions, run};

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Services to bring up (with what they depend on); all when empty.
    pub services: Vec<String>,
    pub remove_orphans: bool,
    pub wait_timeout: Duration,
    /// Refused: swarm services cannot build.
    pub build: bool,
}

/// What the swarm target makes of `stack`, before any engine is asked: the
/// desired services, networks and secrets, and the warnings about what a swarm
/// does differently. Invalid input (what a swarm cannot do) is an error here.
pub fn desired(stack: &Stack, opts: &UpOptions) -> Result<SwarmPlan> {
    if opts.build {
        return Err(Error::Usage {
            message: "`--build` does not work with `--target swarm`: swarm services cannot build images\n  hint: build them first (`pier up --build` locally, or `docker build -t <image> <context>`), then run `pier up --target swarm`".into(),
        });
    }
    plan_swarm(stack, &opts.services).map_err(Error::Invalid)
}

/// The secret values the plan's secrets are made from. `dotenv`: the `.env`
/// values, where secrets declared with `environment:` are looked up after the
/// shell's environment.
pub fn read_secrets(
    desired: &SwarmPlan,
    dotenv: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Vec<u8>>> {
    crate::secrets::read_values(
        desired.secrets.iter().map(|s| (s.key.as_str(), &s.source)),
        dotenv,
    )
}

fn up_options(
    stack: &Stack,
    values: &BTreeMap<String, Vec<u8>>,
    remove_orphans: bool,
) -> SwarmUpOptions {
    SwarmUpOptions {
        secret_hashes: values
            .iter()
            .map(|(k, v)| (k.clone(), secret_hash(v)))
            .collect(),
        stack_services: stack.services.keys().cloned().collect::<BTreeSet<_>>(),
        remove_orphans,
    }
}

/// The plan `up --target swarm` would carry out (`--dry-run`). Without an engine,
/// or on an engine that is no swarm manager, nothing can be deployed there yet: the
/// plan is a first deploy, and a note says why.
pub async fn plan(
    engine: Option<&Engine>,
    stack: &Stack,
    desired: &SwarmPlan,
    values: &BTreeMap<String, Vec<u8>>,
    opts: &UpOptions,
) -> Result<Plan<SwarmAction>> {
    let (observed, note) = match engine {
        None => (
            SwarmObserved::default(),
            Some("the Docker engine could not be reached: planned as a first deploy".to_string()),
        ),
        Some(engine) => match engine.require_swarm_manager().await {
            Ok(()) => (engine.observe_swarm(&desired.project).await?, None),
            Err(Error::NotSwarmManager { .. }) => (
                SwarmObserved::default(),
                Some(
                    "this engine is not a swarm manager (`docker swarm init`): planned as a first deploy"
                        .to_string(),
                ),
            ),
            Err(e) => return Err(e),
        },
    };
    let mut plan = plan_swarm_up(
        desired,
        &observed,
        &up_options(stack, values, opts.remove_orphans),
    )?;
    plan.notes.extend(note);
    Ok(plan)
}

/// One service after `up`: its running tasks and where they answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub service: String,
    pub running: usize,
    pub replicas: u32,
    /// `running (completed)` for a one-shot others wait to complete.
    pub state: &'static str,
    pub urls: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct UpReport {
    pub plan: Plan<SwarmAction>,
    /// The plan's notes (orphans kept) and the engine's warnings while deploying.
    pub notes: Vec<String>,
    pub services: Vec<ServiceRow>,
}

/// Deploy: observe, plan, check that `build:` images exist, walk the plan, then
/// look at the tasks of every service in scope.
pub async fn up(
    engine: &Engine,
    stack: &Stack,
    desired: &SwarmPlan,
    values: &BTreeMap<String, Vec<u8>>,
    opts: &UpOptions,
    sink: EventSink,
) -> Result<UpReport> {
    engine.require_swarm_manager().await?;
    let observed = engine.observe_swarm(&desired.project).await?;
    let plan = plan_swarm_up(
        desired,
        &observed,
        &up_options(stack, values, opts.remove_orphans),
    )?;
    check_images(engine, desired).await?;
    let run_opts = SwarmRunOptions {
        wait_timeout: opts.wait_timeout,
        secret_values: values.clone(),
        secret_ids: observed
            .secrets
            .iter()
            .map(|s| (s.name.clone(), s.id.clone()))
            .collect(),
        ..SwarmRunOptions::default()
    };
    let outcome = run(engine, &plan, &run_opts, sink).await?;
    let mut notes = plan.notes.clone();
    notes.extend(outcome.notes);
    let mut services = Vec::new();
    for svc in desired.services() {
        services.push(service_row(svc, &engine.service_tasks(&svc.name).await?));
    }
    Ok(UpReport {
        plan,
        notes,
        services,
    })
}

fn service_row(svc: &SwarmService, tasks: &[TaskInfo]) -> ServiceRow {
    let running: Vec<&TaskInfo> = tasks
        .iter()
        .filter(|t| t.desired == TaskState::Running && t.state == TaskState::Running)
        .collect();
    let mut urls: Vec<String> = running
        .iter()
        .flat_map(|t| t.ports.iter())
        .filter(|p| p.ends_with("/tcp"))
        .filter_map(|p| p.split_once("->"))
        .filter_map(|(host, _)| host.rsplit_once(':'))
        .map(|(_, port)| format!("http://127.0.0.1:{port}"))
        .collect();
    urls.sort();
    urls.dedup();
    ServiceRow {
        service: svc.key.clone(),
        running: running.len(),
        replicas: svc.replicas,
        state: match svc.ready {
            Condition::CompletedSuccessfully => "running (completed)",
            _ => "running",
        },
        urls,
    }
}

/// `build:` images must already be on the engine: swarm services cannot build.
async fn check_images(engine: &Engine, desired: &SwarmPlan) -> Result<()> {
    let mut missing = Vec::new();
    for svc in desired.services() {
        let Some(build) = &svc.build else { continue };
        if engine.image_id(&svc.image).await?.is_none() {
            missing.push(UnbuiltImage {
                service: svc.key.clone(),
                image: svc.image.clone(),
                context: build.context.clone(),
                dockerfile: build.dockerfile.clone(),
            });
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::UnbuiltImages(missing))
    }
}

/// What `down` removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Removed {
    pub services: usize,
    pub networks: usize,
    pub secrets: usize,
    pub volumes: Vec<String>,
}

impl Removed {
    /// What a down plan removes once it has run.
    pub fn of(plan: &Plan<SwarmAction>) -> Removed {
        let mut removed = Removed::default();
        for step in &plan.steps {
            match &step.action {
                SwarmAction::RemoveService { .. } => removed.services += 1,
                SwarmAction::RemoveNetwork { .. } => removed.networks += 1,
                SwarmAction::RemoveSecret { .. } => removed.secrets += 1,
                SwarmAction::RemoveVolume { name } => removed.volumes.push(name.clone()),
                _ => {}
            }
        }
        removed
    }
}

/// Remove the project's services (dependents first), then its networks and
/// secrets, and its volumes when `volumes` is set. Found by label, not from the
/// stack file.
pub async fn down(
    engine: &Engine,
    project: &str,
    volumes: bool,
    sink: EventSink,
) -> Result<Removed> {
    engine.require_swarm_manager().await?;
    let observed = engine.observe_swarm(project).await?;
    let plan = plan_swarm_down(project, &observed, volumes);
    run(engine, &plan, &SwarmRunOptions::default(), sink).await?;
    Ok(Removed::of(&plan))
}

/// One service and its tasks, for `ps --json`.
#[derive(Debug, Serialize)]
pub struct ServiceTasks {
    pub service: String,
    pub name: String,
    pub replicas: Option<u64>,
    pub tasks: Vec<TaskInfo>,
}

/// The project's services on the swarm, each with its tasks.
pub async fn ps(engine: &Engine, project: &str) -> Result<Vec<ServiceTasks>> {
    engine.require_swarm_manager().await?;
    let observed = engine.observe_swarm(project).await?;
    let mut services = Vec::new();
    for s in &observed.services {
        services.push(ServiceTasks {
            service: s.key.clone(),
            name: s.name.clone(),
            replicas: s.replicas,
            tasks: engine.service_tasks(&s.name).await?,
        });
    }
    Ok(services)
}
