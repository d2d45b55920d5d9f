//! Plans of the everyday verbs besides `up` and `down`: `start`, `stop`, `rm`,
//! `pull` and `build` (and `restart`, a stop plan then a start plan). Pure, like
//! the planner: from the stack and what was observed, each step caused by the verb
//! (`Cause::Asked`). `stop` and `rm` work from labels alone, like `down`, so they
//! also work without the stack file (`-p NAME`).

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Diagnostic;
use crate::plan::observed::{ContainerState, Observed, ObservedContainer};
use crate::plan::reconcile::{Builder, final_condition};
use crate::plan::spec::{HookSpec, build_spec, probe_of, probe_timeout_ms_of};
use crate::plan::steps::{Action, Cause, Plan, StepId};
use crate::stack::graph::Graph;
use crate::stack::model::{Condition, Stack};

/// Whether a container is (still) running, as far as stopping it goes.
fn is_up(state: ContainerState) -> bool {
    matches!(
        state,
        ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
    )
}

/// `pier start [SERVICE...]`: start the existing, stopped containers of the named
/// services and of what they depend on (all services when none is named), each
/// after its dependencies reached their `depends_on` condition, then wait until
/// every started service is ready, as `up` does. A service without a container is
/// a note (`up` creates containers, `start` does not). `with_dependencies: false`
/// (`restart`) starts the named services only.
pub fn plan_start(
    stack: &Stack,
    observed: &Observed,
    services: &[String],
    with_dependencies: bool,
) -> Result<Plan, Vec<Diagnostic>> {
    let graph = Graph::new(stack)?;
    let mut scope = graph.select(services)?;
    if !with_dependencies && !services.is_empty() {
        scope = services.iter().cloned().collect();
    }
    let order: Vec<String> = graph
        .levels()
        .into_iter()
        .flatten()
        .filter(|s| scope.contains(s))
        .collect();
    let edges = graph.dependencies();
    let mut b = Builder::default();
    let mut notes = Vec::new();
    let mut started: BTreeMap<&str, StepId> = BTreeMap::new();
    let mut waits: BTreeMap<(&str, &'static str), StepId> = BTreeMap::new();
    let mut unchanged = Vec::new();
    for name in &order {
        let Some(c) = observed.container_of(name) else {
            notes.push(format!(
                "service `{name}` has no container to start; `pier up {name}` creates it"
            ));
            continue;
        };
        if is_up(c.state) {
            unchanged.push(name.clone());
            continue;
        }
        let mut after = Vec::new();
        for edge in edges.iter().filter(|e| &e.service == name) {
            let (dep, condition) = (edge.dependency.as_str(), edge.edge.condition);
            let Some(dep_container) = observed.container_of(dep) else {
                continue;
            };
            if !scope.contains(dep)
                || (!started.contains_key(dep) && dep_container.meets(condition))
            {
                continue;
            }
            let id = match waits.get(&(dep, condition.as_str())) {
                Some(&id) => {
                    if let Cause::NeededBy(list) = &mut b.steps[id.0].cause {
                        list.push(name.clone());
                    }
                    id
                }
                None => {
                    let id = b.push(
                        Action::WaitFor {
                            service: dep.to_string(),
                            container: dep_container.name.clone(),
                            condition: condition.into(),
                            probe: probe_of(stack, dep),
                            probe_timeout_ms: probe_timeout_ms_of(stack, dep),
                        },
                        Cause::NeededBy(vec![name.clone()]),
                        started.get(dep).copied().into_iter().collect(),
                    );
                    waits.insert((dep, condition.as_str()), id);
                    id
                }
            };
            after.push(id);
        }
        let ready = final_condition(stack, name);
        let id = b.push(
            Action::StartContainer {
                service: name.clone(),
                container: c.name.clone(),
                one_shot: ready == Condition::CompletedSuccessfully,
                post_start: stack.services[name.as_str()]
                    .post_start
                    .iter()
                    .map(HookSpec::from)
                    .collect(),
            },
            Cause::NotRunning(c.state.to_string()),
            after,
        );
        started.insert(name, id);
    }
    // `start` returns when everything it started is ready, as `up` does.
    for name in &order {
        let Some(&start) = started.get(name.as_str()) else {
            continue;
        };
        let condition = final_condition(stack, name);
        if !waits.contains_key(&(name.as_str(), condition.as_str())) {
            b.push(
                Action::WaitFor {
                    service: name.clone(),
                    container: observed
                        .container_of(name)
                        .map(|c| c.name.clone())
                        .unwrap_or_default(),
                    condition: condition.into(),
                    probe: probe_of(stack, name),
                    probe_timeout_ms: probe_timeout_ms_of(stack, name),
                },
                Cause::Asked("start"),
                vec![start],
            );
        }
    }
    Ok(Plan {
        project: stack.name.clone(),
        steps: b.steps,
        unchanged,
        notes,
    })
}

/// `pier stop [SERVICE...]`: stop the running containers of the named services
/// (all when none is named), each only after the selected containers that depend
/// on it (by their `io.pier.depends-on` label) have stopped.
pub fn plan_stop(
    project: &str,
    observed: &Observed,
    services: &[String],
    timeout_secs: Option<u64>,
) -> Plan {
    let mut b = Builder::default();
    // Not `pier run`'s one-offs, as with Compose: they are the user's to end.
    stop_steps(&mut b, &observed.containers, services, timeout_secs, "stop");
    Plan {
        project: project.to_string(),
        steps: b.steps,
        unchanged: vec![],
        notes: vec![],
    }
}

/// The stop steps of `plan_stop`, into `b`; returns each stopped container's step.
fn stop_steps<'o>(
    b: &mut Builder,
    containers: impl IntoIterator<Item = &'o ObservedContainer>,
    services: &[String],
    timeout_secs: Option<u64>,
    verb: &'static str,
) -> BTreeMap<&'o str, StepId> {
    let chosen: Vec<&ObservedContainer> = containers
        .into_iter()
        .filter(|c| services.is_empty() || services.contains(&c.service))
        .filter(|c| is_up(c.state))
        .collect();
    let depends =
        |d: &ObservedContainer, on: &str| d.service != on && d.depends_on.iter().any(|x| x == on);
    let mut stopped: BTreeMap<&str, StepId> = BTreeMap::new();
    let mut remaining = chosen.clone();
    while !remaining.is_empty() {
        // Those no remaining container depends on go now; a cycle in the labels
        // (hand-made containers) stops the rest together.
        let (mut ready, mut rest): (Vec<&ObservedContainer>, Vec<&ObservedContainer>) = remaining
            .iter()
            .partition(|c| !remaining.iter().any(|d| depends(d, &c.service)));
        if ready.is_empty() {
            (ready, rest) = (rest, vec![]);
        }
        for c in ready {
            let after: Vec<StepId> = chosen
                .iter()
                .filter(|d| depends(d, &c.service))
                .filter_map(|d| stopped.get(d.name.as_str()).copied())
                .collect();
            let id = b.push(
                Action::StopContainer {
                    service: c.service.clone(),
                    container: c.name.clone(),
                    timeout_secs,
                    pre_stop: c.pre_stop.clone(),
                },
                Cause::Asked(verb),
                after,
            );
            stopped.insert(c.name.as_str(), id);
        }
        remaining = rest;
    }
    stopped
}

/// `pier rm [-s] [SERVICE...]`: remove the stopped containers of the named
/// services (all when none is named), the one-offs of `pier run` among them; with
/// `stop`, running ones are stopped first (as `plan_stop` orders it), otherwise
/// they are kept and named in a note.
pub fn plan_rm(
    project: &str,
    observed: &Observed,
    services: &[String],
    stop: bool,
    timeout_secs: Option<u64>,
) -> Plan {
    let mut b = Builder::default();
    let stopped = if stop {
        let all = observed.containers.iter().chain(&observed.one_offs);
        stop_steps(&mut b, all, services, timeout_secs, "rm")
    } else {
        BTreeMap::new()
    };
    let mut running = Vec::new();
    for c in observed.containers.iter().chain(&observed.one_offs) {
        if !services.is_empty() && !services.contains(&c.service) {
            continue;
        }
        let after: Vec<StepId> = stopped.get(c.name.as_str()).copied().into_iter().collect();
        if is_up(c.state) && after.is_empty() {
            running.push(c.name.clone());
            continue;
        }
        b.push(
            Action::RemoveContainer {
                service: c.service.clone(),
                container: c.name.clone(),
            },
            Cause::Asked("rm"),
            after,
        );
    }
    let notes = match running.is_empty() {
        true => vec![],
        false => vec![format!(
            "kept running: {} (`pier rm -s` stops and removes them)",
            running.join(", ")
        )],
    };
    Plan {
        project: project.to_string(),
        steps: b.steps,
        unchanged: vec![],
        notes,
    }
}

/// The services a verb acts on: those named, or every service of the stack.
fn chosen<'s>(stack: &'s Stack, services: &'s [String]) -> Vec<&'s str> {
    match services.is_empty() {
        true => stack.services.keys().map(String::as_str).collect(),
        false => {
            let set: BTreeSet<&str> = services.iter().map(String::as_str).collect();
            set.into_iter().collect()
        }
    }
}

/// `pier pull [SERVICE...]`: pull the image of each named service (all when none
/// is named), each image once. Services built from `build:` are a note: `pier
/// build` makes their image.
pub fn plan_pull(stack: &Stack, services: &[String]) -> Plan {
    let mut b = Builder::default();
    let mut notes = Vec::new();
    let mut images = BTreeSet::new();
    for service in chosen(stack, services) {
        if stack.services[service].build.is_some() {
            notes.push(format!(
                "service `{service}` is built from its `build:` section; `pier build {service}` builds it"
            ));
            continue;
        }
        let image = stack.image_of(service);
        if images.insert(image.clone()) {
            b.push(
                Action::PullImage {
                    service: service.to_string(),
                    image,
                },
                Cause::Asked("pull"),
                vec![],
            );
        }
    }
    Plan {
        project: stack.name.clone(),
        steps: b.steps,
        unchanged: vec![],
        notes,
    }
}

/// `pier build [SERVICE...]`: build the image of each named service that has a
/// `build:` section (all such services when none is named), each image once;
/// `no_cache` and `pull` as `docker compose build --no-cache --pull`.
pub fn plan_build(stack: &Stack, services: &[String], no_cache: bool, pull: bool) -> Plan {
    let mut b = Builder::default();
    let mut notes = Vec::new();
    let mut images = BTreeSet::new();
    for service in chosen(stack, services) {
        let Some(build) = build_spec(stack, service) else {
            if !services.is_empty() {
                notes.push(format!(
                    "service `{service}` uses image {} and has nothing to build",
                    stack.image_of(service)
                ));
            }
            continue;
        };
        let image = stack.image_of(service);
        if images.insert(image.clone()) {
            b.push(
                Action::BuildImage {
                    service: service.to_string(),
                    image,
                    build: crate::plan::BuildSpec {
                        no_cache,
                        pull,
                        ..build
                    },
                    also: vec![],
                },
                Cause::Asked("build"),
                vec![],
            );
        }
    }
    Plan {
        project: stack.name.clone(),
        steps: b.steps,
        unchanged: vec![],
        notes,
    }
}

/// The named services and, transitively, every service that depends on them:
/// what `pier restart NAME` restarts unless `--no-deps` (as Compose does).
pub fn with_dependents(stack: &Stack, services: &[String]) -> Result<Vec<String>, Vec<Diagnostic>> {
    let graph = Graph::new(stack)?;
    graph.select(services)?;
    if services.is_empty() {
        return Ok(vec![]);
    }
    let edges = graph.dependencies();
    let mut out: BTreeSet<String> = services.iter().cloned().collect();
    loop {
        let more: Vec<String> = edges
            .iter()
            .filter(|e| out.contains(&e.dependency) && !out.contains(&e.service))
            .map(|e| e.service.clone())
            .collect();
        if more.is_empty() {
            return Ok(out.into_iter().collect());
        }
        out.extend(more);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::observed::ObservedContainer;
    use crate::stack::fixture::StackFixture;

    /// db (healthcheck) ← api ← web, and a built `worker`.
    fn shop() -> Stack {
        StackFixture::new("shop")
            .default_network()
            .service("db", |s| {
                s.image("db:1").healthcheck("true", None).network("default")
            })
            .service("api", |s| {
                s.image("api:1")
                    .depends_on("db", Condition::Healthy)
                    .network("default")
            })
            .service("web", |s| {
                s.image("web:1")
                    .depends_on("api", Condition::Started)
                    .network("default")
            })
            .service("worker", |s| {
                s.with(|svc| {
                    svc.build = Some(crate::stack::model::Build {
                        context: "/tmp/shop".into(),
                        ..Default::default()
                    })
                })
                .network("default")
            })
            .build()
    }

    fn container(service: &str, state: ContainerState, depends_on: &[&str]) -> ObservedContainer {
        ObservedContainer {
            network_host: None,
            networks: None,
            pre_stop: vec![],
            name: format!("shop-{service}-1"),
            id: format!("id-{service}"),
            image_id: None,
            service: service.into(),
            config_hash: None,
            field_hashes: BTreeMap::new(),
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
            state,
            health: None,
            exit_code: (state == ContainerState::Exited).then_some(0),
            started_at: None,
            published: vec![],
        }
    }

    fn observed(state: ContainerState) -> Observed {
        Observed {
            containers: vec![
                container("db", state, &[]),
                container("api", state, &["db"]),
                container("web", state, &["api"]),
            ],
            ..Observed::default()
        }
    }

    #[test]
    fn start_starts_dependencies_first_and_waits_like_up() {
        let plan = plan_start(
            &shop(),
            &observed(ContainerState::Exited),
            &["web".into()],
            true,
        )
        .unwrap();
        assert_eq!(
            plan.to_string(),
            "project shop: 6 steps
  1. start container shop-db-1 (exited, not running)
  2. wait for db: service_healthy (needed by api) after 1
  3. start container shop-api-1 (exited, not running) after 2
  4. wait for api: service_started (needed by web) after 3
  5. start container shop-web-1 (exited, not running) after 4
  6. wait for web: service_started (pier start) after 5
"
        );
        // Running already: nothing to do.
        let plan = plan_start(&shop(), &observed(ContainerState::Running), &[], true).unwrap();
        assert!(plan.is_empty(), "{plan}");
        assert_eq!(plan.unchanged, ["db", "api", "web"]);
        assert_eq!(
            plan.notes,
            ["service `worker` has no container to start; `pier up worker` creates it"]
        );
    }

    #[test]
    fn start_without_dependencies_starts_the_named_only() {
        let plan = plan_start(
            &shop(),
            &observed(ContainerState::Exited),
            &["web".into()],
            false,
        )
        .unwrap();
        assert_eq!(
            plan.to_string(),
            "project shop: 2 steps
  1. start container shop-web-1 (exited, not running)
  2. wait for web: service_started (pier start) after 1
"
        );
    }

    #[test]
    fn unknown_services_are_invalid_for_start() {
        let err = plan_start(&shop(), &Observed::default(), &["webb".into()], true).unwrap_err();
        assert!(
            err[0].to_string().contains("did you mean `web`?"),
            "{err:?}"
        );
    }

    #[test]
    fn stop_stops_dependents_first_with_the_timeout() {
        let plan = plan_stop("shop", &observed(ContainerState::Running), &[], Some(3));
        assert_eq!(
            plan.to_string(),
            "project shop: 3 steps
  1. stop container shop-web-1 (pier stop)
  2. stop container shop-api-1 (pier stop) after 1
  3. stop container shop-db-1 (pier stop) after 2
"
        );
        assert!(plan.steps.iter().all(|s| matches!(
            s.action,
            Action::StopContainer {
                timeout_secs: Some(3),
                ..
            }
        )));
        // Only the named, and nothing that is not running.
        let plan = plan_stop(
            "shop",
            &observed(ContainerState::Running),
            &["db".into()],
            None,
        );
        assert_eq!(
            plan.to_string(),
            "project shop: 1 step\n  1. stop container shop-db-1 (pier stop)\n"
        );
        assert!(plan_stop("shop", &observed(ContainerState::Exited), &[], None).is_empty());
    }

    #[test]
    fn rm_removes_stopped_ones_and_stops_first_with_s() {
        let mut o = observed(ContainerState::Exited);
        o.containers[0].state = ContainerState::Running;
        let mut one_off = container("web", ContainerState::Exited, &["api"]);
        one_off.name = "shop-web-run-0123456789ab".into();
        o.one_offs.push(one_off);
        assert_eq!(
            plan_rm("shop", &o, &[], false, None).to_string(),
            "project shop: 3 steps
  1. remove container shop-api-1 (pier rm)
  2. remove container shop-web-1 (pier rm)
  3. remove container shop-web-run-0123456789ab (pier rm)
note: kept running: shop-db-1 (`pier rm -s` stops and removes them)
"
        );
        assert_eq!(
            plan_rm("shop", &o, &["db".into()], true, Some(1)).to_string(),
            "project shop: 2 steps
  1. stop container shop-db-1 (pier rm)
  2. remove container shop-db-1 (pier rm) after 1
"
        );
    }

    #[test]
    fn pull_and_build_only_the_named_services() {
        let stack = shop();
        assert_eq!(
            plan_pull(&stack, &["web".into(), "worker".into()]).to_string(),
            "project shop: 1 step
  1. pull image web:1 for web (pier pull)
note: service `worker` is built from its `build:` section; `pier build worker` builds it
"
        );
        let plan = plan_build(&stack, &["worker".into()], true, true);
        assert_eq!(
            plan.to_string(),
            "project shop: 1 step\n  1. build image shop-worker for worker (pier build)\n"
        );
        let Action::BuildImage { build, .. } = &plan.steps[0].action else {
            panic!("{plan}")
        };
        assert!(build.no_cache && build.pull);
        assert_eq!(
            plan_build(&stack, &["web".into()], false, false).notes,
            ["service `web` uses image web:1 and has nothing to build"]
        );
    }

    #[test]
    fn restart_takes_the_dependents_along() {
        let stack = shop();
        assert_eq!(
            with_dependents(&stack, &["db".into()]).unwrap(),
            ["api", "db", "web"]
        );
        assert_eq!(with_dependents(&stack, &["web".into()]).unwrap(), ["web"]);
        assert!(with_dependents(&stack, &["nope".into()]).is_err());
    }
}
