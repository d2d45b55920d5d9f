//! Runs a swarm plan (`plan::swarm::plan_swarm_up` / `plan_swarm_down`) through
//! the same walk as the local target. It decides nothing: each action is one engine
//! call (or one wait). What the runner keeps between steps: the ids of the secrets
//! (observed, or created by an earlier step) that services name, the rollout time
//! of each created or updated service (its wait counts only newer tasks), and the
//! engine's own warnings, returned as notes.
//!
//! Readiness is `plan::swarm::readiness` over the service's tasks, polled every
//! `POLL`; a failed or rejected task ends the wait at once, with the swarm's reason,
//! the container's last health check and its last log lines where the container is
//! on this node.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::{EngineOp, Error, NotReady, Result};
use crate::event::EventSink;
use crate::execute::{Walk, Work, walk};
use crate::plan::Plan;
use crate::plan::spec::Readiness as Condition;
use crate::plan::swarm::{
    OVERLAY, Readiness, SwarmAction, TaskState, readiness, resource_labels, rollout_readiness,
    time_key,
};

const POLL: Duration = Duration::from_millis(250);
/// Log lines shown when a service fails.
const LOG_LINES: usize = 10;
/// How long `down` keeps retrying to remove a network, secret or volume that the
/// stopping tasks still use (the swarm removes task containers asynchronously).
const RELEASE_TIMEOUT: Duration = Duration::from_secs(60);

impl Work for SwarmAction {
    fn bounded(&self) -> bool {
        !matches!(
            self,
            SwarmAction::WaitService { .. } | SwarmAction::WaitTasksStopped { .. }
        )
    }
}

#[derive(Debug, Clone)]
pub struct SwarmRunOptions {
    /// Bounds all waiting for readiness together, from the start of the walk.
    pub wait_timeout: Duration,
    pub concurrency: usize,
    pub interrupt: CancellationToken,
    /// Secret key → value, for the secrets the plan creates.
    pub secret_values: BTreeMap<String, Vec<u8>>,
    /// Swarm secret name → id of the secrets that already exist.
    pub secret_ids: BTreeMap<String, String>,
}

impl Default for SwarmRunOptions {
    fn default() -> Self {
        SwarmRunOptions {
            wait_timeout: Duration::from_secs(120),
            concurrency: 8,
            interrupt: CancellationToken::new(),
            secret_values: BTreeMap::new(),
            secret_ids: BTreeMap::new(),
        }
    }
}

/// What a run leaves to be said: the engine's warnings (e.g. that the digest of a
/// local image cannot be resolved from a registry — expected on a single-node swarm).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SwarmOutcome {
    pub notes: Vec<String>,
}

struct Runner<'a> {
    engine: &'a Engine,
    project: &'a str,
    opts: &'a SwarmRunOptions,
    started: Instant,
    secret_ids: Mutex<BTreeMap<String, String>>,
    /// Service name → when its definition was created or last updated (engine clock).
    since: Mutex<BTreeMap<String, String>>,
    notes: Mutex<Vec<String>>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().expect("no panics while holding the lock")
}

/// Carry out a swarm plan. On the first failing step no new step starts, waits
/// still running give up, and the first error is returned.
pub async fn run(
    engine: &Engine,
    plan: &Plan<SwarmAction>,
    opts: &SwarmRunOptions,
    sink: EventSink,
) -> Result<SwarmOutcome> {
    let r = Runner {
        engine,
        project: &plan.project,
        opts,
        started: Instant::now(),
        secret_ids: Mutex::new(opts.secret_ids.clone()),
        since: Mutex::new(BTreeMap::new()),
        notes: Mutex::new(Vec::new()),
    };
    let cancel = watch::Sender::new(false);
    let w = Walk {
        concurrency: opts.concurrency,
        interrupt: &opts.interrupt,
        cancel: &cancel,
        sink: &sink,
    };
    walk(plan, &w, |action| async {
        match action {
            SwarmAction::WaitService { .. } | SwarmAction::WaitTasksStopped { .. } => {
                let mut cancelled = cancel.subscribe();
                tokio::select! {
                    result = r.step(action) => result,
                    _ = cancelled.wait_for(|c| *c) => Err(Error::Interrupted),
                }
            }
            _ => r.step(action).await,
        }
    })
    .await?;
    Ok(SwarmOutcome {
        notes: std::mem::take(&mut locked(&r.notes)),
    })
}

impl Runner<'_> {
    async fn step(&self, action: &SwarmAction) -> Result<()> {
        let e = self.engine;
        match action {
            SwarmAction::CreateNetwork {
                name,
                key,
                internal,
            } => {
                e.create_network(self.project, key, name, Some(OVERLAY), *internal)
                    .await
            }
            SwarmAction::CreateSecret { name, key, hash } => {
                let value = self
                    .opts
                    .secret_values
                    .get(key)
                    .ok_or_else(|| Error::Internal {
                        message: format!("no value was read for secret `{key}`"),
                    })?;
                let mut labels = resource_labels(self.project, key);
                labels.insert(crate::labels::CONFIG_HASH.into(), hash.clone());
                let id = e.create_secret(name, labels, value).await?;
                locked(&self.secret_ids).insert(name.clone(), id);
                Ok(())
            }
            SwarmAction::CreateService { spec } => {
                let ids = locked(&self.secret_ids).clone();
                let warnings = e.create_service(self.project, spec, &ids).await?;
                self.rolled_out(&spec.name, &warnings).await
            }
            SwarmAction::UpdateService { spec, id, version } => {
                let ids = locked(&self.secret_ids).clone();
                let warnings = e
                    .update_service(self.project, spec, id, *version, &ids)
                    .await?;
                self.rolled_out(&spec.name, &warnings).await
            }
            SwarmAction::WaitService {
                service,
                name,
                condition,
                replicas,
            } => {
                let since = locked(&self.since).get(name).cloned().unwrap_or_default();
                self.wait_ready(service, name, *condition, *replicas, &since)
                    .await
            }
            SwarmAction::RemoveService { id, .. } => e.remove_service(id).await,
            SwarmAction::WaitTasksStopped { services } => {
                for (name, id) in services {
                    until_released(|| async {
                        match e.task_containers(id).await? {
                            0 => Ok(()),
                            n => Err(Error::Engine {
                                op: EngineOp::RemoveService,
                                resource: name.clone(),
                                message: format!("{n} task containers still on this node"),
                            }),
                        }
                    })
                    .await?;
                }
                Ok(())
            }
            SwarmAction::RemoveNetwork { name } => {
                until_released(|| async {
                    e.remove_network(name).await?;
                    // Removed from the swarm; gone from this node once the node has let go.
                    match e.network_exists(name).await? {
                        false => Ok(()),
                        true => Err(Error::Engine {
                            op: EngineOp::RemoveNetwork,
                            resource: name.clone(),
                            message: "the network is still on this node".into(),
                        }),
                    }
                })
                .await
            }
            SwarmAction::RemoveSecret { id, .. } => until_released(|| e.remove_secret(id)).await,
            SwarmAction::RemoveVolume { name } => until_released(|| e.remove_volume(name)).await,
        }
    }

    /// After a create or update: keep the engine's warnings, and when the service's
    /// definition changed (its wait counts only tasks since then).
    async fn rolled_out(&self, name: &str, warnings: &[String]) -> Result<()> {
        for w in warnings {
            let w = w.split_whitespace().collect::<Vec<_>>().join(" ");
            locked(&self.notes).push(format!("service {name}: {w}"));
        }
        let since = self.engine.service_rollout(name).await?.0;
        locked(&self.since).insert(name.to_string(), since);
        Ok(())
    }

    /// Poll the service's tasks until it is ready, fails, or the wait timeout
    /// (counted from the start of the run, shared by all waits) runs out.
    async fn wait_ready(
        &self,
        key: &str,
        name: &str,
        condition: Condition,
        replicas: u32,
        since: &str,
    ) -> Result<()> {
        let e = self.engine;
        let timeout = self.opts.wait_timeout;
        let since = time_key(since);
        loop {
            // The current tasks, and those that changed state since the service's last
            // change (a task that failed just now is no longer desired to run).
            let tasks: Vec<_> = e
                .service_tasks(name)
                .await?
                .into_iter()
                .filter(|t| t.desired == TaskState::Running || time_key(&t.updated) >= since)
                .collect();
            let (_, rollout, message) = e.service_rollout(name).await?;
            let state = rollout_readiness(rollout, &message)
                .unwrap_or_else(|| readiness(&tasks, replicas, condition));
            let (task, reason) = match state {
                Readiness::Ready => return Ok(()),
                Readiness::Failed { task, reason } if task.is_empty() => (name.to_string(), reason),
                Readiness::Failed { task, reason } => (task, reason),
                Readiness::Waiting(what) => {
                    if self.started.elapsed() < timeout {
                        tokio::time::sleep(POLL).await;
                        continue;
                    }
                    let task = tasks
                        .iter()
                        .find(|t| t.desired == TaskState::Running)
                        .map(|t| t.container_name())
                        .unwrap_or_else(|| name.to_string());
                    (
                        task,
                        format!("not ready after {}s: {what}", timeout.as_secs()),
                    )
                }
            };
            let status = e.inspect_container(&task).await?;
            let logs = match &status {
                Some(_) => e.logs_tail(&task, LOG_LINES).await?,
                None => vec![],
            };
            return Err(Error::SwarmNotReady(Box::new(NotReady {
                service: key.to_string(),
                container: task,
                condition: condition.as_str().to_string(),
                reason,
                health_output: status.and_then(|s| s.last_health_output),
                logs,
            })));
        }
    }
}

/// Retry `op` until it succeeds or `RELEASE_TIMEOUT` has passed: the tasks of removed
/// services release their networks, secrets and volumes a moment after the removal returns.
async fn until_released<F, Fut>(mut op: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let deadline = Instant::now() + RELEASE_TIMEOUT;
    loop {
        match op().await {
            Ok(()) => return Ok(()),
            Err(_) if Instant::now() < deadline => tokio::time::sleep(POLL).await,
            Err(e) => return Err(e),
        }
    }
}
