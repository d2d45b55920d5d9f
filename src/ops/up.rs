//! `up`: observe → plan → execute, then the services' rows. Before anything is
//! created it checks what would fail a step halfway: an image that `--pull never`
//! cannot have, a host port another program holds, a secret variable set nowhere.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::{Error, NotReady, Result};
use crate::event::{Event, EventSink};
use crate::overview::{ServiceRow, service_rows};
use crate::plan::observed::{ContainerState, Observed};
use crate::plan::reconcile::images_unavailable;
use crate::plan::{Action, Plan, UpOptions, plan_up};
use crate::stack::model::{SecretSource, Stack};
use crate::target::local::{ExecuteOptions, Outcome, SecretValues};

use super::guard;
use super::health::pier_health_checks;
use super::identity::{self, Identity};

pub struct Options {
    /// What to plan: which services, pull policy, build, orphans.
    pub plan: UpOptions,
    /// Plan only: observe, but take no lock and change nothing.
    pub dry_run: bool,
    /// Bounds all waiting for readiness together.
    pub wait_timeout: Duration,
    /// Cancelled on Ctrl-C (`ops::interrupt::on_ctrl_c`).
    pub interrupt: CancellationToken,
    /// The shared router (names and HTTPS); None: no names (`ops::router`).
    pub router: Option<crate::router::Settings>,
    /// Where the stack was loaded from: what this run creates is labelled with
    /// it, and resources made from another directory are refused (`identity`).
    pub identity: Option<Identity>,
    /// Act on resources made from another directory all the same (`--adopt`).
    pub adopt: bool,
}

/// What `up` did.
#[derive(Debug)]
pub struct UpReport {
    /// The plan against what was observed (on a dry run, all there is).
    pub plan: Plan,
    /// One row per service (of the stack file and of the project's containers)
    /// as observed after the run, health checked by pier where the engine has not
    /// yet; empty on a dry run.
    pub rows: Vec<ServiceRow>,
    /// The services' names through the router (`ops::router`); empty without it.
    pub names: super::router::Names,
}

/// Unknown service names are invalid input: checked from the stack alone, so a
/// command can reject them before it connects to the engine.
pub fn check(stack: &Stack, opts: &UpOptions) -> Result<()> {
    plan_up(stack, &Observed::default(), opts)
        .map(|_| ())
        .map_err(Error::Invalid)
}

/// Bring `stack` up. `dotenv`: the `.env` values, where secrets declared with
/// `environment:` are looked up after the shell's environment. The plan's notes
/// go to `sink` as `Event::Note`, and so does the progress of its steps.
pub async fn up(
    engine: &Engine,
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    opts: &Options,
    sink: &EventSink,
) -> Result<UpReport> {
    // Unknown service names: `check` (before the engine is touched) or `plan_up` below.
    // Observe under the lock: a run that planned before another finished would
    // create what that one just created.
    let _lock = match opts.dry_run {
        true => None,
        false => Some(guard::lock(engine, &stack.name, "up", &opts.interrupt, sink).await?),
    };
    let images: Vec<String> = stack.services.keys().map(|s| stack.image_of(s)).collect();
    let observed = engine.observe(&stack.name, &images).await?;
    identity::check(&stack.name, opts.identity.as_ref(), &observed, opts.adopt)?;
    let engine = &match &opts.identity {
        Some(identity) => engine.for_project(identity.labels()),
        None => engine.clone(),
    };
    let plan = plan_up(stack, &observed, &opts.plan).map_err(Error::Invalid)?;
    if opts.dry_run {
        return Ok(UpReport {
            plan,
            rows: vec![],
            names: Default::default(),
        });
    }
    let outcome = carry_out(engine, stack, dotenv, &plan, &observed, opts, "up", sink).await?;
    let after = if plan.is_empty() {
        // Nothing changed: what was observed is still the state to report.
        observed
    } else {
        let mut after = engine.observe(&stack.name, &[]).await?;
        // Duplicate networks a killed run left (`plan::networks`): removed once
        // the containers are on the one kept.
        let dedupe = crate::plan::networks::dedupe_plan(&stack.name, &after);
        if !dedupe.is_empty() {
            let exec_opts = ExecuteOptions {
                wait_timeout: opts.wait_timeout,
                interrupt: opts.interrupt.clone(),
                ..ExecuteOptions::default()
            };
            guard::run(engine, &dedupe, &exec_opts, sink, "up").await?;
            after = engine.observe(&stack.name, &[]).await?;
        }
        after
    };
    // A container that failed just after its readiness check passed: `up` failed.
    if let Some((service, container, code)) = exited_after_start(&plan, &after) {
        return Err(Error::NotReady(Box::new(NotReady {
            service,
            container: container.clone(),
            condition: "service_started".into(),
            reason: format!("it exited with code {code} right after starting"),
            health_output: None,
            logs: engine.logs_tail(&container, 10).await.unwrap_or_default(),
        })));
    }
    let checked = pier_health_checks(engine, &after, &outcome.probed_healthy).await;
    let rows = service_rows(stack.services.keys().map(String::as_str), &after, &checked);
    // Names and HTTPS: the project's routes on the shared router.
    let names = super::router::on_up(
        engine,
        stack,
        &after,
        opts.router.as_ref(),
        &opts.interrupt,
        sink,
    )
    .await?;
    Ok(UpReport { plan, rows, names })
}

/// Carry out `plan`, made for `stack` against `observed`, under the caller's lock:
/// its notes as events; first what would fail a step halfway (an image `--pull
/// never` cannot have, a host port another program holds, a secret variable set
/// nowhere), then the steps. Shared by `up` and `run` (whose plan creates a one-off).
#[allow(clippy::too_many_arguments)]
pub async fn carry_out(
    engine: &Engine,
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    plan: &Plan,
    observed: &Observed,
    opts: &Options,
    command: &'static str,
    sink: &EventSink,
) -> Result<Outcome> {
    for note in &plan.notes {
        sink(Event::Note { text: note.clone() });
    }
    // A missing image or a port another program holds would fail a step halfway.
    let unavailable = images_unavailable(stack, plan, observed, &opts.plan);
    if !unavailable.is_empty() {
        return Err(Error::ImagesUnavailable(unavailable));
    }
    let busy = crate::preflight::check_ports(stack, plan, observed);
    if !busy.is_empty() {
        // Who holds them: a container of another project, else a process.
        let holders = engine.published_ports().await.unwrap_or_default();
        return Err(crate::preflight::explain(busy, stack, &holders, dotenv));
    }
    // Secrets from variables are written into the containers this run creates:
    // read them now, so that an unset variable is invalid input before anything exists.
    let secrets = SecretValues(crate::secrets::read_values(
        variable_secrets_of_new_containers(stack, plan),
        dotenv,
    )?);
    let exec_opts = ExecuteOptions {
        wait_timeout: opts.wait_timeout,
        interrupt: opts.interrupt.clone(),
        secrets,
        ..ExecuteOptions::default()
    };
    if plan.is_empty() {
        return Ok(Outcome::default());
    }
    guard::run(engine, plan, &exec_opts, sink, command).await
}

/// The `environment:` secrets (key, source) used by the containers `plan` creates.
fn variable_secrets_of_new_containers<'a>(
    stack: &'a Stack,
    plan: &Plan,
) -> BTreeMap<&'a str, &'a SecretSource> {
    plan.created_services()
        .flat_map(|service| stack.variable_secrets_of(service))
        .filter_map(|s| stack.secrets.get_key_value(&s.source))
        .map(|(key, d)| (key.as_str(), &d.source))
        .collect()
}

/// The first service this plan started to keep running whose container has since
/// exited with a failure: (service, container, exit code).
fn exited_after_start(plan: &Plan, after: &Observed) -> Option<(String, String, i64)> {
    plan.steps.iter().find_map(|step| match &step.action {
        Action::StartContainer {
            service,
            container,
            one_shot: false,
            ..
        } => {
            let c = after.containers.iter().find(|c| &c.name == container)?;
            let failed = c.state == ContainerState::Exited && c.exit_code.is_some_and(|x| x != 0);
            failed.then(|| {
                (
                    service.clone(),
                    container.clone(),
                    c.exit_code.unwrap_or(-1),
                )
            })
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PullPolicy;
    use crate::plan::observed::ObservedContainer;
    use crate::stack::fixture::StackFixture;

    #[test]
    fn a_container_that_failed_after_starting_fails_up() {
        let stack = StackFixture::new("p")
            .service("web", |s| s.image("x"))
            .build();
        let opts = UpOptions {
            services: vec![],
            pull: PullPolicy::Never,
            build: false,
            remove_orphans: false,
        };
        let plan = plan_up(&stack, &Observed::default(), &opts).unwrap();
        let after = |state, exit_code| Observed {
            containers: vec![ObservedContainer {
                network_host: None,
                name: "p-web-1".into(),
                id: "1".into(),
                image_id: None,
                service: "web".into(),
                config_hash: None,
                field_hashes: BTreeMap::new(),
                depends_on: vec![],
                state,
                health: None,
                exit_code,
                started_at: None,
                published: vec![],
                pre_stop: vec![],
                networks: None,
            }],
            ..Observed::default()
        };
        assert_eq!(
            exited_after_start(&plan, &after(ContainerState::Exited, Some(1))),
            Some(("web".into(), "p-web-1".into(), 1))
        );
        assert_eq!(
            exited_after_start(&plan, &after(ContainerState::Exited, Some(0))),
            None
        );
        assert_eq!(
            exited_after_start(&plan, &after(ContainerState::Running, None)),
            None
        );
    }

    #[test]
    fn unknown_services_are_rejected_before_the_engine() {
        let stack = StackFixture::new("p")
            .service("web", |s| s.image("x"))
            .build();
        let opts = UpOptions {
            services: vec!["wbe".into()],
            pull: PullPolicy::Never,
            build: false,
            remove_orphans: false,
        };
        let err = check(&stack, &opts).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
