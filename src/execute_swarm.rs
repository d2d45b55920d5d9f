//! Walks a `SwarmPlan` against a swarm manager (the swarm counterpart of `execute`):
//! networks and secrets first, then the services level by level — each level is
//! created (or updated, when its config hash changed) and waited for before the next,
//! so a service starts only once what it depends on is ready. And the reverse for `down`.
//!
//! Readiness is `plan::swarm::readiness` over the service's tasks, polled every
//! `POLL`; a failed or rejected task ends the wait at once, with the swarm's reason,
//! the container's last health check and its last log lines where the container is
//! on this node.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::engine::Engine;
use crate::error::{Error, NotReady, Result, UnbuiltImage};
use crate::event::{Event, EventSink};
use crate::plan::swarm::{
    OVERLAY, ObservedService, Readiness, SwarmObserved, SwarmPlan, SwarmService, TaskState,
    readiness, rollout_readiness, time_key,
};

const POLL: Duration = Duration::from_millis(250);
/// Log lines shown when a service fails.
const LOG_LINES: usize = 10;
/// How long `down` keeps retrying to remove a network or volume that the stopping
/// tasks still use (the swarm removes task containers asynchronously).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(60);

/// Step numbering and events, as `execute` reports them.
struct Reporter {
    sink: EventSink,
    next: usize,
}

impl Reporter {
    fn start(&mut self, text: String) -> (usize, String) {
        let step = self.next;
        self.next += 1;
        (self.sink)(Event::StepStarted {
            step,
            text: text.clone(),
        });
        (step, text)
    }

    fn finish(&self, (step, text): (usize, String)) {
        (self.sink)(Event::StepFinished { step, text });
    }

    fn fail(&self, (step, text): &(usize, String), err: &Error) {
        (self.sink)(Event::StepFailed {
            step: *step,
            text: text.clone(),
            error: err.to_string(),
        });
    }

    async fn run<T>(
        &mut self,
        text: String,
        fut: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let step = self.start(text);
        match fut.await {
            Ok(v) => {
                self.finish(step);
                Ok(v)
            }
            Err(e) => {
                self.fail(&step, &e);
                Err(e)
            }
        }
    }
}

/// sha256 of a secret's value: kept as a label, so a changed value is noticed
/// without the value ever being read back or shown.
pub fn secret_hash(value: &[u8]) -> String {
    hex::encode(Sha256::digest(value))
}

/// Bring the plan up. `secret_values`: secret key → value, read by the caller.
pub async fn deploy(
    engine: &Engine,
    plan: &SwarmPlan,
    secret_values: &BTreeMap<String, Vec<u8>>,
    wait_timeout: Duration,
    sink: EventSink,
) -> Result<()> {
    let observed = engine.observe_swarm(&plan.project).await?;
    check_images(engine, plan).await?;
    check_networks(plan, &observed)?;
    let mut r = Reporter { sink, next: 0 };

    for n in &plan.networks {
        if observed.network(&n.name).is_some() {
            continue;
        }
        r.run(
            format!("create network {} ({OVERLAY})", n.name),
            engine.create_network(&plan.project, &n.key, &n.name, Some(OVERLAY), n.internal),
        )
        .await?;
    }

    let mut secret_ids = BTreeMap::new();
    for s in &plan.secrets {
        let value = &secret_values[&s.key];
        let hash = secret_hash(value);
        if let Some(existing) = observed.secret(&s.name) {
            if existing.hash.as_deref() != Some(hash.as_str()) {
                return Err(Error::SwarmConflict {
                    resource: format!("secret {}", s.name),
                    problem: "its value changed, and a swarm secret cannot be changed while services use it".into(),
                    hint: "run `pier down --target swarm` (volumes are kept), then `pier up --target swarm` again".into(),
                });
            }
            secret_ids.insert(s.name.clone(), existing.id.clone());
            continue;
        }
        let mut labels = plan.resource_labels(&s.key);
        labels.insert(crate::labels::CONFIG_HASH.into(), hash);
        let id = r
            .run(
                format!("create secret {}", s.name),
                engine.create_secret(&s.name, labels, value),
            )
            .await?;
        secret_ids.insert(s.name.clone(), id);
    }

    let started = Instant::now();
    for level in &plan.levels {
        let mut waits = Vec::new();
        for svc in level {
            let since = match observed.service(&svc.name) {
                Some(existing) if existing.config_hash.as_deref() == Some(&svc.config_hash()) => {
                    // Unchanged: every task counts (a restarted one included).
                    String::new()
                }
                Some(existing) => {
                    update(&mut r, engine, plan, svc, existing, &secret_ids).await?;
                    engine.service_rollout(&svc.name).await?.0
                }
                None => {
                    let warnings = r
                        .run(
                            format!("create service {} ({})", svc.name, svc.image),
                            engine.create_service(&plan.project, svc, &secret_ids),
                        )
                        .await?;
                    show_engine_warnings(&svc.name, &warnings);
                    engine.service_rollout(&svc.name).await?.0
                }
            };
            waits.push((svc, since));
        }
        let step_texts: Vec<(usize, String)> = waits
            .iter()
            .map(|(svc, _)| {
                r.start(format!(
                    "wait for service {} ({})",
                    svc.name,
                    svc.ready.as_str()
                ))
            })
            .collect();
        let results = futures_util::future::join_all(
            waits
                .iter()
                .map(|(svc, since)| wait_ready(engine, svc, since, started, wait_timeout)),
        )
        .await;
        let mut first_err = None;
        for (step, result) in step_texts.into_iter().zip(results) {
            match result {
                Ok(()) => r.finish(step),
                Err(e) => {
                    r.fail(&step, &e);
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_err {
            return Err(e);
        }
    }
    Ok(())
}

async fn update(
    r: &mut Reporter,
    engine: &Engine,
    plan: &SwarmPlan,
    svc: &SwarmService,
    existing: &ObservedService,
    secret_ids: &BTreeMap<String, String>,
) -> Result<()> {
    let warnings = r
        .run(
            format!("update service {} (config changed)", svc.name),
            engine.update_service(&plan.project, svc, existing, secret_ids),
        )
        .await?;
    show_engine_warnings(&svc.name, &warnings);
    Ok(())
}

/// The engine's own warnings, e.g. that the digest of a local image cannot be
/// resolved from a registry — expected for local images on a single-node swarm.
fn show_engine_warnings(service: &str, warnings: &[String]) {
    for w in warnings {
        let w = w.split_whitespace().collect::<Vec<_>>().join(" ");
        eprintln!("note: service {service}: {w}");
    }
}

/// `build:` images must already be on the engine: swarm services cannot build.
async fn check_images(engine: &Engine, plan: &SwarmPlan) -> Result<()> {
    let mut missing = Vec::new();
    for svc in plan.services() {
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

/// A project network that exists but is not swarm-scoped (left by a local `pier up`
/// of the same project) cannot carry services, and would stop the create.
fn check_networks(plan: &SwarmPlan, observed: &SwarmObserved) -> Result<()> {
    for n in &plan.networks {
        if let Some(found) = observed.network(&n.name)
            && found.scope != "swarm"
        {
            return Err(Error::SwarmConflict {
                resource: format!("network {}", n.name),
                problem: format!(
                    "it exists as a {} network (from a local `pier up`?), and swarm services need an overlay network of that name",
                    if found.scope.is_empty() { "non-swarm" } else { &found.scope }
                ),
                hint: "run `pier down` to remove the local stack first, or use another project name (-p)".into(),
            });
        }
    }
    Ok(())
}

/// Poll the service's tasks until it is ready, fails, or `timeout` (counted from
/// `started`, shared by all waits of one `up`) runs out.
async fn wait_ready(
    engine: &Engine,
    svc: &SwarmService,
    since: &str,
    started: Instant,
    timeout: Duration,
) -> Result<()> {
    let since = time_key(since);
    loop {
        // The current tasks, and those that changed state since the service's last
        // change (a task that failed just now is no longer desired to run).
        let tasks: Vec<_> = engine
            .service_tasks(&svc.name)
            .await?
            .into_iter()
            .filter(|t| t.desired == TaskState::Running || time_key(&t.updated) >= since)
            .collect();
        let (_, rollout, message) = engine.service_rollout(&svc.name).await?;
        let state = rollout_readiness(rollout, &message)
            .unwrap_or_else(|| readiness(&tasks, svc.replicas, svc.ready));
        let (task, reason) = match state {
            Readiness::Ready => return Ok(()),
            Readiness::Failed { task, reason } if task.is_empty() => (svc.name.clone(), reason),
            Readiness::Failed { task, reason } => (task, reason),
            Readiness::Waiting(what) => {
                if started.elapsed() < timeout {
                    tokio::time::sleep(POLL).await;
                    continue;
                }
                let task = tasks
                    .iter()
                    .find(|t| t.desired == TaskState::Running)
                    .map(|t| t.container_name())
                    .unwrap_or_else(|| svc.name.clone());
                (
                    task,
                    format!("not ready after {}s: {what}", timeout.as_secs()),
                )
            }
        };
        let status = engine.inspect_container(&task).await?;
        let logs = match &status {
            Some(_) => engine.logs_tail(&task, LOG_LINES).await?,
            None => vec![],
        };
        return Err(Error::SwarmNotReady(Box::new(NotReady {
            service: svc.key.clone(),
            container: task,
            condition: svc.ready.as_str().to_string(),
            reason,
            health_output: status.and_then(|s| s.last_health_output),
            logs,
        })));
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

/// Remove the project's services (dependents first), then its networks and secrets,
/// and its volumes when `volumes` is set. Found by label, not from the stack file.
pub async fn teardown(
    engine: &Engine,
    project: &str,
    volumes: bool,
    sink: EventSink,
) -> Result<Removed> {
    let observed = engine.observe_swarm(project).await?;
    let mut r = Reporter { sink, next: 0 };
    let mut removed = Removed::default();
    for s in observed.teardown_order() {
        r.run(
            format!("remove service {}", s.name),
            engine.remove_service(&s.id),
        )
        .await?;
        removed.services += 1;
    }
    let deadline = Instant::now() + RELEASE_TIMEOUT;
    if !observed.services.is_empty() {
        // The swarm stops and removes task containers after the removal returns;
        // their networks and volumes are released only then.
        r.run("wait for the tasks to stop".to_string(), async {
            for s in &observed.services {
                until_released(deadline, || async {
                    match engine.task_containers(&s.id).await? {
                        0 => Ok(()),
                        n => Err(Error::Engine {
                            op: crate::error::EngineOp::RemoveService,
                            resource: s.name.clone(),
                            message: format!("{n} task containers still on this node"),
                        }),
                    }
                })
                .await?;
            }
            Ok(())
        })
        .await?;
    }
    for n in observed.networks.iter().filter(|n| n.scope == "swarm") {
        r.run(
            format!("remove network {}", n.name),
            until_released(deadline, || async {
                engine.remove_network(&n.name).await?;
                // Removed from the swarm; gone from this node once the node has let go.
                match engine.network_exists(&n.name).await? {
                    false => Ok(()),
                    true => Err(Error::Engine {
                        op: crate::error::EngineOp::RemoveNetwork,
                        resource: n.name.clone(),
                        message: "the network is still on this node".into(),
                    }),
                }
            }),
        )
        .await?;
        removed.networks += 1;
    }
    for s in &observed.secrets {
        r.run(
            format!("remove secret {}", s.name),
            until_released(deadline, || engine.remove_secret(&s.id)),
        )
        .await?;
        removed.secrets += 1;
    }
    if volumes {
        for v in &observed.volumes {
            r.run(
                format!("remove volume {v}"),
                until_released(deadline, || engine.remove_volume(v)),
            )
            .await?;
            removed.volumes.push(v.clone());
        }
    }
    Ok(removed)
}

/// Retry `op` until it succeeds or `deadline`: the tasks of removed services release
/// their networks, secrets and volumes a moment after the removal returns.
async fn until_released<F, Fut>(deadline: Instant, mut op: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    loop {
        match op().await {
            Ok(()) => return Ok(()),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
            Err(e) => return Err(e),
        }
    }
}
