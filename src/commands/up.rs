//! `pier up`: observe → plan → execute, then a table of services and URLs.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use crate::cli::{Progress, PullPolicy as CliPull, Target, UpArgs};
use crate::engine::Engine;
use crate::error::{Error, NotReady, Result};
use crate::execute::{ExecuteOptions, Outcome, SecretValues};
use crate::overview::{ServiceRow, service_rows, urls};
use crate::plan::observed::{ContainerState, Observed};
use crate::plan::reconcile::images_unavailable;
use crate::plan::{Action, Plan, PullPolicy, UpOptions, plan_up};
use crate::report::table::table;
use crate::stack::model::{SecretSource, Stack};

use super::{guard, interrupt, runtime, write_out};

pub fn options(args: &UpArgs) -> UpOptions {
    UpOptions {
        services: args.services.clone(),
        pull: match args.pull {
            CliPull::Missing => PullPolicy::Missing,
            CliPull::Always => PullPolicy::Always,
            CliPull::Never => PullPolicy::Never,
        },
        build: args.build,
        remove_orphans: args.remove_orphans,
    }
}

/// Bring `stack` up as `args` asks; the plan (dry run) or the service table goes to `out`.
/// `dotenv`: the `.env` values, where secrets declared with `environment:` are
/// looked up after the shell's environment.
pub fn up(
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    args: &UpArgs,
    progress: Progress,
    out: &mut dyn Write,
) -> Result<()> {
    if args.target == Target::Swarm {
        return super::swarm::up(stack, dotenv, args, progress, out);
    }
    let opts = options(args);
    // Unknown service names are invalid input: reject them before touching the engine.
    plan_up(stack, &Observed::default(), &opts).map_err(Error::Invalid)?;

    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let interrupt = interrupt::on_ctrl_c();
        // Observe under the lock: a run that planned before another finished would
        // create what that one just created.
        let _lock = match args.dry_run {
            true => None,
            false => Some(guard::lock(&stack.name, "up", &interrupt).await?),
        };
        let images: Vec<String> = stack.services.keys().map(|s| stack.image_of(s)).collect();
        let observed = engine.observe(&stack.name, &images).await?;
        let plan = plan_up(stack, &observed, &opts).map_err(Error::Invalid)?;
        if args.dry_run && args.json {
            // The specs carry the services' environment: secret values are masked.
            let mut json = serde_json::to_value(plan.json()).expect("a plan always serializes");
            crate::secrets::active().mask_json(&mut json);
            let json = serde_json::to_string_pretty(&json).expect("a plan always serializes");
            return write_out(out, &format!("{json}\n"));
        }
        if args.dry_run {
            return write_out(out, &plan.to_string());
        }
        for note in &plan.notes {
            eprintln!("note: {note}");
        }
        // A missing image or a port another program holds would fail a step halfway.
        let unavailable = images_unavailable(stack, &plan, &observed, &opts);
        if !unavailable.is_empty() {
            return Err(Error::ImagesUnavailable(unavailable));
        }
        crate::preflight::check_ports(stack, &plan, &observed)?;
        // Secrets from variables are written into the containers this run creates:
        // read them now, so that an unset variable is invalid input before anything exists.
        let secrets = SecretValues(crate::secrets::read_values(
            variable_secrets_of_new_containers(stack, &plan),
            dotenv,
        )?);
        let exec_opts = ExecuteOptions {
            wait_timeout: Duration::from_secs(args.wait_timeout),
            interrupt,
            secrets,
            ..ExecuteOptions::default()
        };
        let (after, outcome) = if plan.is_empty() {
            // Nothing changed: what was observed is still the state to report.
            (observed, Outcome::default())
        } else {
            let outcome = guard::run(&engine, &plan, &exec_opts, progress, "up").await?;
            (engine.observe(&stack.name, &[]).await?, outcome)
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
        let checked = super::ps::pier_health_checks(&engine, &after, &outcome.probed_healthy).await;
        let rows = service_rows(stack.services.keys().map(String::as_str), &after, &checked);
        write_out(out, &service_table(&rows, &opts.services))
    })
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
        } => {
            let c = after.container_of(service)?;
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

/// SERVICE, STATE, HEALTH and URLS of the services `up` was about, in name order.
/// Rows come from `overview::rows`, as `pier ps`'s do, so both say the same
/// thing about health (`healthy (checked by pier)` where the engine's own check has
/// not run yet) and about URLs (`overview::urls`).
pub fn service_table(rows: &[ServiceRow], only: &[String]) -> String {
    let mut cells = vec![vec![
        "SERVICE".to_string(),
        "STATE".into(),
        "HEALTH".into(),
        "URLS".into(),
    ]];
    for r in rows {
        // `up web` reports what it started (web and what web needs), not the rest.
        if !r.in_stack_file || (!only.is_empty() && r.container.is_none()) {
            continue;
        }
        let urls = urls(&r.ports);
        cells.push(vec![
            r.service.clone(),
            r.state.text(),
            r.health.text().to_string(),
            if urls.is_empty() {
                "—".into()
            } else {
                urls.join(" ")
            },
        ]);
    }
    table(&cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::observed::ObservedContainer;
    use crate::stack::model::Service;
    use std::collections::BTreeMap;

    #[test]
    fn a_container_that_failed_after_starting_fails_up() {
        let stack = Stack {
            name: "p".into(),
            project_dir: "/p".into(),
            services: [(
                "web".to_string(),
                Service {
                    image: Some("x".into()),
                    ..Service::default()
                },
            )]
            .into(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            secrets: BTreeMap::new(),
        };
        let opts = UpOptions {
            services: vec![],
            pull: PullPolicy::Never,
            build: false,
            remove_orphans: false,
        };
        let plan = plan_up(&stack, &Observed::default(), &opts).unwrap();
        let after = |state, exit_code| Observed {
            containers: vec![ObservedContainer {
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
}
