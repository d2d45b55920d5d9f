//! The local target: a `Plan` of containers, networks and volumes carried out on
//! the Docker engine through the common walk (`crate::execute`), DESIGN §1, §6. It
//! makes no decisions: each action is the engine calls it names, and the walk runs
//! each step once its dependencies are done, reporting what happens as `Event`s.
//!
//! Readiness (DESIGN §6): inspect is polled every `POLL`, and the engine's own
//! `wait` wakes the poll the moment the container stops (a one-shot job's exit is
//! seen at once, not up to `POLL` later); for `service_healthy` the service's own
//! health test is also run through exec (`PROBE_FIRST` growing to `PROBE_MAX`), so
//! a service that is healthy after 300 ms is not kept waiting for a 30 s healthcheck
//! interval. A container that exits while it should run fails the wait at once.

mod backend;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use crate::execute::{Walk, Work, walk};
pub use backend::Backend;

use crate::engine::ContainerStatus;
use crate::error::{Error, NotReady, Result};
use crate::plan::observed::{ContainerState, Health};
use crate::plan::spec::{ContainerSpec, HookSpec, Readiness};
use crate::plan::{Action, Plan};

const POLL: Duration = Duration::from_millis(150);
/// The first probe runs at once; the pause before each next one grows from
/// `PROBE_FIRST` by half up to `PROBE_MAX`: a service that is ready within a few
/// hundred milliseconds is seen so. The cap is 250 ms, not more: with a 1 s cap
/// the benchmark's lamp stack was seen ready up to a second late (BENCHMARKS.md),
/// and four execs a second do not slow a database that is initializing.
const PROBE_FIRST: Duration = Duration::from_millis(50);
const PROBE_MAX: Duration = Duration::from_millis(250);
/// Restarts by its restart policy (counted since it was last started) that make a
/// restarting container "crash-looping": waiting out the timeout would only hide
/// why. A container that fails its wait after even one restart is reported the same
/// way, since the engine marks an exiting container unhealthy and "unhealthy"
/// would name a symptom.
const CRASH_LOOP_RESTARTS: i64 = 2;
/// Log lines shown when a service fails.
const LOG_LINES: usize = 10;

pub use crate::event::{Event, EventSink, PlannedStep, StepKind};

/// What a run learned that the engine may not show yet.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Services whose health test passed when pier ran it while waiting: the
    /// engine says "starting" until its own first check, so `up`'s table takes
    /// pier's word for these instead of running the test once more.
    pub probed_healthy: BTreeSet<String>,
}

/// Values of the secrets that come from a variable, by their key under top-level
/// `secrets`: written into each container that uses one, before it starts.
/// Its Debug form shows the keys, never the values.
#[derive(Clone, Default)]
pub struct SecretValues(pub BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[derive(Debug, Clone)]
pub struct ExecuteOptions {
    /// Bounds all waiting for readiness together, from the first wait on.
    pub wait_timeout: Duration,
    /// How many steps that make the engine work (create, start, stop, remove,
    /// pull, build) may run at once. Waits are not counted: they only look, and a
    /// service waiting a minute for its database must not hold back the creates
    /// of the rest.
    pub concurrency: usize,
    /// Cancelled on Ctrl-C: no new step starts, waits/pulls/builds give up, engine
    /// changes in flight finish, and `execute` returns `Error::Interrupted`.
    pub interrupt: CancellationToken,
    pub secrets: SecretValues,
}

impl Default for ExecuteOptions {
    fn default() -> Self {
        ExecuteOptions {
            wait_timeout: Duration::from_secs(120),
            concurrency: 8,
            interrupt: CancellationToken::new(),
            secrets: SecretValues::default(),
        }
    }
}

impl Work for Action {
    fn bounded(&self) -> bool {
        !matches!(self, Action::WaitFor { .. })
    }
}

struct Context<'a, B> {
    engine: &'a B,
    project: &'a str,
    opts: &'a ExecuteOptions,
    sink: EventSink,
    /// (service, container) started by this run that must keep running.
    watched: Mutex<Vec<(String, String)>>,
    /// Set on the first failure: waits, pulls and builds still running give up.
    cancel: watch::Sender<bool>,
    probed_healthy: Mutex<BTreeSet<String>>,
}

/// Carry out `plan`. On the first failing step no new step starts; waits, pulls
/// and builds still running give up, the engine changes still running finish (so
/// that what exists is what `down` will find), and the first error is returned.
pub async fn execute<B: Backend>(
    engine: &B,
    plan: &Plan,
    opts: &ExecuteOptions,
    sink: EventSink,
) -> Result<Outcome> {
    let cx = Context {
        engine,
        project: &plan.project,
        opts,
        sink,
        watched: Mutex::new(Vec::new()),
        cancel: watch::Sender::new(false),
        probed_healthy: Mutex::new(BTreeSet::new()),
    };
    (cx.sink)(Event::Planned {
        project: plan.project.clone(),
        steps: plan
            .steps
            .iter()
            .map(|s| PlannedStep::of(&s.action))
            .collect(),
    });
    let w = Walk {
        concurrency: opts.concurrency,
        interrupt: &opts.interrupt,
        cancel: &cx.cancel,
        sink: &cx.sink,
    };
    walk(plan, &w, |action| run_step(&cx, action)).await?;
    // Everything is ready; a last look catches what exited after its own wait ended,
    // or is crash-looping under its restart policy (running again by now, or about to).
    check_watched(&cx, "").await?;
    check_restarted(&cx).await?;
    Ok(Outcome {
        probed_healthy: std::mem::take(
            &mut cx
                .probed_healthy
                .lock()
                .expect("no panics while holding the lock"),
        ),
    })
}

async fn run_step<B: Backend>(cx: &Context<'_, B>, action: &Action) -> Result<()> {
    match action {
        // Nothing half-done is left behind when these stop early.
        Action::WaitFor { .. } | Action::PullImage { .. } | Action::BuildImage { .. } => {
            let mut cancelled = cx.cancel.subscribe();
            tokio::select! {
                result = engine_step(cx, action) => result,
                _ = cancelled.wait_for(|c| *c) => Err(Error::Interrupted),
            }
        }
        _ => engine_step(cx, action).await,
    }
}

async fn engine_step<B: Backend>(cx: &Context<'_, B>, action: &Action) -> Result<()> {
    let e = cx.engine;
    match action {
        Action::CreateNetwork {
            name,
            key,
            driver,
            internal,
        } => {
            e.create_network(cx.project, key, name, driver.as_deref(), *internal)
                .await
        }
        Action::CreateVolume { name, key, driver } => {
            e.create_volume(cx.project, key, name, driver.as_deref())
                .await
        }
        Action::PullImage { image, .. } => {
            let sink = cx.sink.clone();
            let image2 = image.clone();
            e.pull_image(image, &move |u| {
                sink(Event::PullProgress {
                    image: image2.clone(),
                    layer: u.layer,
                    status: u.status,
                    current: u.current,
                    total: u.total,
                })
            })
            .await
        }
        Action::BuildImage {
            service,
            image,
            build,
            also,
        } => {
            let sink = cx.sink.clone();
            let service2 = service.clone();
            e.build_image(image, build, &move |line| {
                sink(Event::BuildOutput {
                    service: service2.clone(),
                    line,
                })
            })
            .await?;
            for other in also {
                e.tag_image(image, &other.image).await?;
            }
            Ok(())
        }
        Action::CreateContainer { spec, .. } => create(cx, spec).await,
        Action::RecreateContainer {
            service,
            old_id,
            spec,
            pre_stop,
        } => {
            run_pre_stop(cx, service, old_id, pre_stop).await;
            let grace = spec.stop_timeout_secs.map(Duration::from_secs);
            e.stop_container(old_id, grace).await?;
            // The spec mounts the old container's anonymous volumes (`plan::reconcile`).
            e.remove_container_keeping_volumes(old_id).await?;
            create(cx, spec).await
        }
        Action::StartContainer {
            service,
            container,
            one_shot,
            post_start,
        } => {
            e.start_container(container).await?;
            if !one_shot {
                cx.watched
                    .lock()
                    .expect("no panics while holding the lock")
                    .push((service.clone(), container.clone()));
            }
            for hook in post_start {
                run_hook(cx, service, container, "post_start", hook).await?;
            }
            Ok(())
        }
        Action::WaitFor {
            service,
            container,
            condition,
            probe,
            probe_timeout_ms,
        } => {
            let probe = probe.as_deref().map(|test| Probe {
                test,
                timeout: Duration::from_millis(probe_timeout_ms.unwrap_or(30_000)),
            });
            // A hard bound, whatever a call inside does: the wait's own deadline
            // plus one engine call's (the last look and the logs it quotes).
            let bound = cx.opts.wait_timeout + crate::engine::call_deadline() * 2;
            match tokio::time::timeout(bound, wait_for(cx, service, container, *condition, probe))
                .await
            {
                Ok(result) => result,
                Err(_) => Err(not_ready(
                    cx,
                    service,
                    container,
                    *condition,
                    format!("not ready after {}s", cx.opts.wait_timeout.as_secs()),
                    None,
                )
                .await),
            }
        }
        Action::StopContainer {
            service,
            container,
            timeout_secs,
            pre_stop,
        } => {
            run_pre_stop(cx, service, container, pre_stop).await;
            e.stop_container(container, timeout_secs.map(Duration::from_secs))
                .await
        }
        Action::RemoveContainer { container, .. } => e.remove_container(container).await,
        Action::RemoveNetwork { name, id } => {
            e.remove_network(if id.is_empty() { name } else { id })
                .await
        }
        Action::RemoveVolume { name } => e.remove_volume(name).await,
    }
}

/// Create the container, then put its variable-backed secrets at their targets
/// (file-backed ones are bind mounts in the spec).
async fn create<B: Backend>(cx: &Context<'_, B>, spec: &ContainerSpec) -> Result<()> {
    let id = cx.engine.create_container(spec).await?;
    let mut files = Vec::new();
    for s in &spec.secrets {
        let value = cx
            .opts
            .secrets
            .0
            .get(&s.key)
            .ok_or_else(|| Error::Internal {
                message: format!("no value was read for secret `{}`", s.key),
            })?;
        files.push((s.target.clone(), value.clone()));
    }
    files.extend(
        spec.files
            .iter()
            .map(|f| (f.target.clone(), f.content.clone().into_bytes())),
    );
    if files.is_empty() {
        return Ok(());
    }
    cx.engine.write_files(&id, &files).await
}

/// `pre_stop` hooks before a stop: one that fails (or cannot run) is a warning
/// and the stop goes on, as in Compose — a hook must not keep a container up.
async fn run_pre_stop<B: Backend>(
    cx: &Context<'_, B>,
    service: &str,
    container: &str,
    hooks: &[HookSpec],
) {
    for hook in hooks {
        if let Err(e) = run_hook(cx, service, container, "pre_stop", hook).await {
            (cx.sink)(Event::Warning {
                text: format!("warning: {e}"),
            });
        }
    }
}

/// Run one hook in `container`; a non-zero exit fails the step (as in Compose),
/// with the hook's output and the container's last log lines.
async fn run_hook<B: Backend>(
    cx: &Context<'_, B>,
    service: &str,
    container: &str,
    stage: &str,
    hook: &HookSpec,
) -> Result<()> {
    let (code, output) = cx.engine.run_hook(container, hook).await?;
    if code == 0 {
        return Ok(());
    }
    let reason = format!(
        "its {stage} hook `{}` exited with code {code}",
        hook.command.join(" ")
    );
    let logs = cx
        .engine
        .logs_tail(container, LOG_LINES)
        .await
        .unwrap_or_default();
    Err(Error::NotReady(Box::new(NotReady {
        service: service.to_string(),
        container: container.to_string(),
        condition: stage.to_string(),
        reason,
        health_output: Some(output).filter(|o| !o.trim().is_empty()),
        logs,
    })))
}

/// What a wait concluded from one look at the container.
enum Verdict {
    Ready,
    Pending,
    Failed(String),
}

fn judge(status: &ContainerStatus, condition: Readiness, has_test: bool) -> Verdict {
    let verdict = judge_state(status, condition, has_test);
    let looping = match verdict {
        Verdict::Ready => false,
        Verdict::Failed(_) => status.restart_count >= 1,
        Verdict::Pending => {
            status.state == ContainerState::Restarting
                && status.restart_count >= CRASH_LOOP_RESTARTS
        }
    };
    match verdict {
        _ if looping => Verdict::Failed(format!(
            "it keeps exiting and being restarted by its restart policy ({} restart{}{})",
            status.restart_count,
            if status.restart_count == 1 { "" } else { "s" },
            status
                .exit_code
                .filter(|c| *c != 0)
                .map(|c| format!("; last exit code {c}"))
                .unwrap_or_default()
        )),
        verdict => verdict,
    }
}

fn judge_state(status: &ContainerStatus, condition: Readiness, has_test: bool) -> Verdict {
    let exited = matches!(status.state, ContainerState::Exited | ContainerState::Dead);
    let exit_reason = || match (&status.error, status.exit_code) {
        (Some(err), _) => format!("it failed to run: {err}"),
        (None, Some(code)) => format!("it exited with code {code}"),
        (None, None) => "it exited".to_string(),
    };
    match condition {
        Readiness::Started => match status.state {
            ContainerState::Running => Verdict::Ready,
            // It did start, and finished cleanly: a one-shot nobody declared as such
            // (e.g. a setup job). Failing `up` for it would only get in the way.
            ContainerState::Exited if status.exit_code == Some(0) && status.error.is_none() => {
                Verdict::Ready
            }
            _ if exited => Verdict::Failed(exit_reason()),
            _ => Verdict::Pending,
        },
        Readiness::Healthy => match (status.state, status.health) {
            (_, Some(Health::Healthy)) => Verdict::Ready,
            // The engine marks a container that exits unhealthy: the exit is the cause.
            _ if exited => Verdict::Failed(exit_reason()),
            // Exited and about to be started again: `judge` decides when that is a loop.
            (ContainerState::Restarting, _) => Verdict::Pending,
            (_, Some(Health::Unhealthy)) => {
                Verdict::Failed("its health check reports unhealthy".into())
            }
            (ContainerState::Running, None) if !has_test => {
                Verdict::Failed("it has no healthcheck, so it can never become healthy".into())
            }
            _ => Verdict::Pending,
        },
        Readiness::CompletedSuccessfully => match (status.state, status.exit_code) {
            (ContainerState::Exited, Some(0)) => Verdict::Ready,
            _ if exited => Verdict::Failed(exit_reason()),
            _ => Verdict::Pending,
        },
    }
}

/// A health test pier runs itself while it waits, and how long one run may take.
#[derive(Clone, Copy)]
struct Probe<'a> {
    test: &'a [String],
    timeout: Duration,
}

async fn wait_for<B: Backend>(
    cx: &Context<'_, B>,
    service: &str,
    container: &str,
    condition: Readiness,
    probe: Option<Probe<'_>>,
) -> Result<()> {
    let test = probe.map(|p| p.test);
    (cx.sink)(Event::Waiting {
        service: service.to_string(),
        condition: condition.into(),
    });
    // Each wait has its own deadline, counted from when that service could first
    // be waited for: a slow image build of a later service must not use up the
    // time an earlier one had to become ready (a first `pier up` builds for minutes).
    let deadline = Instant::now() + cx.opts.wait_timeout;
    // Armed once: a container that stops and is started again by its restart
    // policy must not turn the poll into a busy loop.
    let mut stopped = Box::pin(cx.engine.until_not_running(container));
    let mut stopped_seen = false;
    let mut last_probe: Option<Instant> = None;
    let mut probe_pause = PROBE_FIRST;
    let mut probe_output: Option<String> = None;
    loop {
        let status = cx.engine.inspect_container(container).await?;
        let Some(status) = status else {
            return Err(not_ready(
                cx,
                service,
                container,
                condition,
                "its container does not exist".into(),
                None,
            )
            .await);
        };
        match judge(&status, condition, test.is_some()) {
            Verdict::Ready => return Ok(()),
            Verdict::Failed(reason) => {
                let output = status.last_health_output.clone().or(probe_output);
                return Err(not_ready(cx, service, container, condition, reason, output).await);
            }
            Verdict::Pending => {}
        }
        check_watched(cx, container).await?;
        // Probe the health test ourselves while the engine's interval has not come round.
        if condition == Readiness::Healthy
            && status.state == ContainerState::Running
            && let Some(test) = test
            && last_probe.is_none_or(|t| t.elapsed() >= probe_pause)
        {
            if last_probe.is_some() {
                probe_pause = (probe_pause * 3 / 2).min(PROBE_MAX);
            }
            last_probe = Some(Instant::now());
            // A test that hangs has failed once its timeout is up (as the engine
            // counts it), and never holds the wait past its deadline. Its exec is
            // abandoned: the image may have no `kill` to end it with.
            let limit = probe
                .map(|p| p.timeout)
                .unwrap_or(PROBE_MAX)
                .min(deadline.saturating_duration_since(Instant::now()))
                .max(POLL);
            let run = tokio::time::timeout(limit, cx.engine.probe_health(container, test)).await;
            let run = run.unwrap_or_else(|_| {
                Ok((
                    false,
                    format!("the health check did not finish within {}", secs(limit)),
                ))
            });
            if let Ok((healthy, output)) = run {
                if healthy {
                    cx.probed_healthy
                        .lock()
                        .expect("no panics while holding the lock")
                        .insert(service.to_string());
                    return Ok(());
                }
                // The test's program is not in the image: it can never pass, so say so
                // now instead of after every retry has run out.
                if output.contains("executable file not found") {
                    let reason = "its health check cannot run in the container".to_string();
                    return Err(
                        not_ready(cx, service, container, condition, reason, Some(output)).await,
                    );
                }
                probe_output = Some(output);
            }
        }
        if Instant::now() >= deadline {
            let reason = format!(
                "not ready after {}s (state {}{})",
                cx.opts.wait_timeout.as_secs(),
                status.state,
                status
                    .health
                    .map(|h| format!(", {}", h.as_str()))
                    .unwrap_or_default()
            );
            let output = status.last_health_output.clone().or(probe_output);
            return Err(not_ready(cx, service, container, condition, reason, output).await);
        }
        // A healthy-wait still probing quickly polls at the probe's pace.
        let pause = if condition == Readiness::Healthy && test.is_some() {
            POLL.min(probe_pause)
        } else {
            POLL
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = &mut stopped, if !stopped_seen => stopped_seen = true,
        }
    }
}

/// `1.5s`, `30s`: a duration as a healthcheck's `timeout:` is written.
fn secs(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", ms as f64 / 1000.0)
    }
}

/// Fail at once when a container that should run has exited while we wait for another.
/// One listing of the project covers them all; only one that exited is inspected.
async fn check_watched<B: Backend>(cx: &Context<'_, B>, waiting_for: &str) -> Result<()> {
    let watched: Vec<(String, String)> = cx
        .watched
        .lock()
        .expect("no panics while holding the lock")
        .iter()
        .filter(|(_, c)| c != waiting_for)
        .cloned()
        .collect();
    if watched.is_empty() {
        return Ok(());
    }
    let listed = cx.engine.list_containers(cx.project).await?;
    let stopped = |container: &str| {
        listed.iter().any(|c| {
            c.name == container && matches!(c.state, ContainerState::Exited | ContainerState::Dead)
        })
    };
    for (service, container) in watched.iter().filter(|(_, c)| stopped(c)) {
        if let Some(status) = cx.engine.inspect_container(container).await?
            && let Verdict::Failed(reason) = judge(&status, Readiness::Started, false)
        {
            let output = status.last_health_output.clone();
            return Err(
                not_ready(cx, service, container, Readiness::Started, reason, output).await,
            );
        }
    }
    Ok(())
}

/// Fail when a container this run started has been restarted by its restart
/// policy since: it exited (a `service_started` dependency in a crash loop looked
/// "started" each time it came back up, and `up` used to exit 0 over it).
async fn check_restarted<B: Backend>(cx: &Context<'_, B>) -> Result<()> {
    let watched: Vec<(String, String)> = cx
        .watched
        .lock()
        .expect("no panics while holding the lock")
        .clone();
    let looks = watched.iter().map(|(_, c)| cx.engine.inspect_container(c));
    let statuses = futures_util::future::try_join_all(looks).await?;
    for ((service, container), status) in watched.iter().zip(statuses) {
        let Some(status) = status else { continue };
        if status.restart_count >= 1 || status.state == ContainerState::Restarting {
            let reason = format!(
                "it keeps exiting and being restarted by its restart policy ({} restart{}{})",
                status.restart_count,
                if status.restart_count == 1 { "" } else { "s" },
                status
                    .exit_code
                    .filter(|c| *c != 0)
                    .map(|c| format!("; last exit code {c}"))
                    .unwrap_or_default()
            );
            let output = status.last_health_output.clone();
            return Err(
                not_ready(cx, service, container, Readiness::Started, reason, output).await,
            );
        }
    }
    Ok(())
}

async fn not_ready<B: Backend>(
    cx: &Context<'_, B>,
    service: &str,
    container: &str,
    condition: Readiness,
    reason: String,
    health_output: Option<String>,
) -> Error {
    let logs = cx
        .engine
        .logs_tail(container, LOG_LINES)
        .await
        .unwrap_or_default();
    Error::NotReady(Box::new(NotReady {
        service: service.to_string(),
        container: container.to_string(),
        condition: condition.as_str().to_string(),
        reason,
        health_output,
        logs,
    }))
}
