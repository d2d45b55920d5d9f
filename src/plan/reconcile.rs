//! The planner: Stack model + Observed → Plan. Pure: no engine, no async, no I/O.
//!
//! Compose's rules, mostly: a container is created when missing, recreated when its
//! config hash differs (naming the changed fields), started when stopped, and left
//! alone otherwise. Containers start after the readiness conditions of their
//! dependencies; networks, volumes and images come before the containers using them.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Diagnostic;
use crate::plan::hash::ConfigHash;
use crate::plan::observed::{ContainerState, Observed, ObservedContainer};
use crate::plan::spec::{
    BuildSpec, ContainerSpec, HookSpec, MountSpec, MountType, build_spec, probe_of,
    probe_timeout_ms_of,
};
use crate::plan::steps::{Action, Cause, Plan, SharedImage, Step, StepId};
use crate::stack::graph::{Dependency, Graph};
use crate::stack::model::{
    Condition, HealthTest, MountKind, PullPolicy as ServicePull, Service, Stack,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    #[default]
    Missing,
    Always,
    Never,
}

#[derive(Debug, Clone, Default)]
pub struct UpOptions {
    /// Only these services and what they depend on; empty means all.
    pub services: Vec<String>,
    pub pull: PullPolicy,
    /// Build images of `build:` services even when present (and recreate their containers).
    pub build: bool,
    pub remove_orphans: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DownOptions {
    /// Remove the project's named volumes too.
    pub volumes: bool,
    pub timeout_secs: Option<u64>,
}

/// The condition `up` waits for before returning, for a service it started.
pub fn final_condition(stack: &Stack, service: &str) -> Condition {
    final_condition_in(stack, service, &needed_completed(stack))
}

/// The services another one depends on with `service_completed_successfully`,
/// found once per plan: asking every service about every other one made
/// planning quadratic in the number of services.
fn needed_completed(stack: &Stack) -> BTreeSet<&str> {
    stack
        .services
        .values()
        .flat_map(|s| s.depends_on.iter())
        .filter(|(_, d)| d.condition == Condition::CompletedSuccessfully)
        .map(|(name, _)| name.as_str())
        .collect()
}

fn final_condition_in(
    stack: &Stack,
    service: &str,
    needed_completed: &BTreeSet<&str>,
) -> Condition {
    if needed_completed.contains(service) {
        Condition::CompletedSuccessfully
    } else if has_healthcheck(&stack.services[service]) {
        Condition::Healthy
    } else {
        Condition::Started
    }
}

fn has_healthcheck(service: &Service) -> bool {
    service
        .healthcheck
        .as_ref()
        .is_some_and(|h| h.test != HealthTest::None)
}

/// The plan for `pier up`. Errors are invalid input (unknown service names).
pub fn plan_up(
    stack: &Stack,
    observed: &Observed,
    opts: &UpOptions,
) -> Result<Plan, Vec<Diagnostic>> {
    let graph = Graph::new(stack)?;
    let scope = graph.select(&opts.services)?;
    // By start level (dependencies first), by name within a level.
    let order: Vec<String> = graph
        .levels()
        .into_iter()
        .flatten()
        .filter(|s| scope.contains(s))
        .collect();
    let edges = graph.dependencies();
    // Indexes built once, so that each service looks up its own in log time.
    let mut edges_of: BTreeMap<&str, Vec<&Dependency>> = BTreeMap::new();
    for e in &edges {
        edges_of.entry(e.service.as_str()).or_default().push(e);
    }
    // By engine name (a service has one container per replica), and by service.
    let mut containers: BTreeMap<&str, &ObservedContainer> = BTreeMap::new();
    let mut by_service: BTreeMap<&str, Vec<&ObservedContainer>> = BTreeMap::new();
    for c in &observed.containers {
        containers.entry(c.name.as_str()).or_insert(c);
        by_service.entry(c.service.as_str()).or_default().push(c);
    }
    let container_named = |name: &str| containers.get(name).copied();
    let needed_completed = needed_completed(stack);
    let mut b = Builder::default();

    // Images first, and networks and volumes only after all of them: a pull or
    // build that fails (offline, a typo in a tag) then leaves nothing behind.
    let images = plan_images(stack, &order, observed, opts, &mut b);
    let image_steps: Vec<StepId> = images.values().copied().collect();

    // Networks and volumes the services in scope use, in name order.
    let mut networks: BTreeMap<String, StepId> = BTreeMap::new();
    let mut net_keys: BTreeSet<&str> = BTreeSet::new();
    let mut vol_keys: BTreeSet<&str> = BTreeSet::new();
    for name in &order {
        let svc = &stack.services[name];
        if svc.network_mode.is_none() {
            net_keys.extend(svc.networks.keys().map(String::as_str));
        }
        for m in &svc.volumes {
            if let (MountKind::Volume, Some(key)) = (m.kind, &m.source) {
                vol_keys.insert(key);
            }
        }
    }
    // Duplicates go before any container is created: with two networks of one
    // name, the engine refuses to attach a container to either.
    let dedupe: Vec<StepId> = crate::plan::networks::duplicates(observed)
        .into_iter()
        .map(|n| {
            let action = Action::RemoveNetwork {
                name: n.name.clone(),
                id: n.id.clone(),
            };
            b.push(action, Cause::DuplicateNetwork, vec![])
        })
        .collect();
    for key in net_keys {
        let def = stack.networks.get(key);
        let name = stack.network_name(key);
        if def.is_some_and(|n| n.external) || observed.has_network(&name) {
            continue;
        }
        let id = b.push(
            Action::CreateNetwork {
                name: name.clone(),
                key: key.to_string(),
                driver: def.and_then(|n| n.driver.clone()),
                internal: def.is_some_and(|n| n.internal),
            },
            Cause::NotFound,
            image_steps.clone(),
        );
        networks.insert(key.to_string(), id);
    }
    let mut volumes: BTreeMap<String, StepId> = BTreeMap::new();
    for key in vol_keys {
        let def = stack.volumes.get(key);
        let name = stack.volume_name(key);
        if def.is_some_and(|v| v.external) || observed.has_volume(&name) {
            continue;
        }
        let id = b.push(
            Action::CreateVolume {
                name,
                key: key.to_string(),
                driver: def.and_then(|v| v.driver.clone()),
            },
            Cause::NotFound,
            image_steps.clone(),
        );
        volumes.insert(key.to_string(), id);
    }

    // Per service, in start order: per container: create, start (images came first).
    // Service → the start steps of its containers in this plan.
    let mut started: BTreeMap<String, Vec<StepId>> = BTreeMap::new();
    // (service, condition) → one wait per container of the service.
    let mut waits: BTreeMap<(String, &'static str), Vec<StepId>> = BTreeMap::new();
    let mut unchanged = Vec::new();
    // Services with a container recreated by this plan (a new id).
    let mut recreated: BTreeSet<String> = BTreeSet::new();
    for name in &order {
        let svc = &stack.services[name];
        let image = stack.image_of(name);
        let image_step = images.get(&image).copied();
        let steps_before = b.steps.len();

        let hash = ConfigHash::of(svc);
        // Why a container of the service must be (re)created: its config, its image,
        // or a network of its removed by hand (`plan::networks`).
        let create_cause_of = |existing: Option<&ObservedContainer>| {
            create_cause(
                svc,
                existing,
                &hash,
                image_step.is_some(),
                observed.images.get(&image),
                opts,
            )
            .or_else(|| {
                let removed = crate::plan::networks::removed(
                    existing?,
                    &own_networks(stack, name),
                    observed,
                )?;
                Some(Cause::NetworkRemoved(removed))
            })
            .or_else(|| shared_host_recreated(stack, name, existing?, &recreated, container_named))
        };
        let ready = final_condition_in(stack, name, &needed_completed);
        let replicas = stack.container_names(name);
        let any_start = replicas.iter().any(|c| {
            let existing = container_named(c);
            start_cause(ready, existing, create_cause_of(existing).is_some()).is_some()
        });

        // What the dependencies must reach first. A `network_mode: service:X` or
        // `volumes_from: [X]` service cannot even be created before X runs.
        let mut dep_waits: Vec<StepId> = Vec::new();
        let mut create_waits: Vec<StepId> = Vec::new();
        if any_start {
            for edge in edges_of.get(name.as_str()).into_iter().flatten() {
                let (dep, condition) = (&edge.dependency, edge.edge.condition);
                if !scope.contains(dep) {
                    continue;
                }
                let key = (dep.clone(), condition.as_str());
                if let Some(ids) = waits.get(&key) {
                    for id in ids {
                        if let Cause::NeededBy(list) = &mut b.steps[id.0].cause {
                            list.push(name.clone());
                        }
                    }
                    dep_waits.extend(ids);
                    if edge.edge.kind.before_create() {
                        create_waits.extend(ids);
                    }
                    continue;
                }
                let dep_started = started.get(dep.as_str());
                let mut ids = Vec::new();
                // Every container of the dependency, each waited for.
                for (i, dep_container) in stack.container_names(dep).iter().enumerate() {
                    let start = dep_started.and_then(|s| s.get(i)).copied();
                    let satisfied = dep_started.is_none_or(|s| s.is_empty())
                        && container_named(dep_container).is_some_and(|c| c.meets(condition));
                    if satisfied {
                        continue;
                    }
                    ids.push(b.push(
                        Action::WaitFor {
                            service: dep.clone(),
                            container: dep_container.clone(),
                            condition: condition.into(),
                            probe: probe_of(stack, dep),
                            probe_timeout_ms: probe_timeout_ms_of(stack, dep),
                        },
                        Cause::NeededBy(vec![name.clone()]),
                        start.into_iter().collect(),
                    ));
                }
                if ids.is_empty() {
                    continue;
                }
                if edge.edge.kind.before_create() {
                    create_waits.extend(&ids);
                }
                dep_waits.extend(&ids);
                waits.insert(key, ids);
            }
        }

        let mut starts = Vec::new();
        let mut recreating = false;
        for container in &replicas {
            let existing = container_named(container);
            let create_cause = create_cause_of(existing);
            let needs_start = start_cause(ready, existing, create_cause.is_some());
            let mut create_step = None;
            if let Some(cause) = create_cause {
                let mut after: Vec<StepId> = image_step.into_iter().collect();
                after.extend(&create_waits);
                after.extend(&dedupe);
                if svc.network_mode.is_none() {
                    after.extend(svc.networks.keys().filter_map(|k| networks.get(k)));
                }
                after.extend(
                    svc.volumes
                        .iter()
                        .filter_map(|m| m.source.as_ref().and_then(|k| volumes.get(k))),
                );
                let mut spec = ContainerSpec::with_hash(stack, name, &hash);
                spec.name = container.clone();
                recreating |= existing.is_some();
                let action = match existing {
                    Some(c) => Action::RecreateContainer {
                        service: name.clone(),
                        old_id: c.id.clone(),
                        spec: {
                            carry_anonymous_volumes(&mut spec, observed, &c.name);
                            Box::new(spec)
                        },
                        pre_stop: hooks_if_running(c),
                    },
                    None => Action::CreateContainer {
                        service: name.clone(),
                        spec: Box::new(spec),
                    },
                };
                create_step = Some(b.push(action, cause, after));
            }
            let Some(start_cause) = needs_start else {
                continue;
            };
            let mut after: Vec<StepId> = create_step.into_iter().collect();
            after.extend(&dep_waits);
            starts.push(b.push(
                Action::StartContainer {
                    service: name.clone(),
                    container: container.clone(),
                    one_shot: ready == Condition::CompletedSuccessfully,
                    post_start: svc.post_start.iter().map(HookSpec::from).collect(),
                },
                start_cause,
                after,
            ));
        }
        if recreating {
            recreated.insert(name.clone());
        }
        // Containers beyond the service's count: scaled down, newest first.
        let mut extra: Vec<&ObservedContainer> = by_service
            .get(name.as_str())
            .into_iter()
            .flatten()
            .copied()
            .filter(|c| !replicas.contains(&c.name))
            .collect();
        extra.sort_by(|a, b| b.name.cmp(&a.name));
        for c in extra {
            let stop = matches!(
                c.state,
                ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
            )
            .then(|| {
                b.push(
                    Action::StopContainer {
                        service: name.clone(),
                        container: c.name.clone(),
                        timeout_secs: svc.stop_grace_period.map(|d| d.as_secs()),
                        pre_stop: c.pre_stop.clone(),
                    },
                    Cause::ScaledDown(replicas.len()),
                    vec![],
                )
            });
            b.push(
                Action::RemoveContainer {
                    service: name.clone(),
                    container: c.name.clone(),
                },
                Cause::ScaledDown(replicas.len()),
                stop.into_iter().collect(),
            );
        }
        if b.steps.len() == steps_before && image_step.is_none() {
            unchanged.push(name.clone());
        }
        if !starts.is_empty() {
            started.insert(name.clone(), starts);
        }
    }

    // `up` returns when everything it started is ready.
    for name in &order {
        let Some(starts) = started.get(name) else {
            continue;
        };
        let condition = final_condition_in(stack, name, &needed_completed);
        if waits.contains_key(&(name.clone(), condition.as_str())) {
            continue;
        }
        for (container, &start) in stack.container_names(name).iter().zip(starts) {
            b.push(
                Action::WaitFor {
                    service: name.clone(),
                    container: container.clone(),
                    condition: condition.into(),
                    probe: probe_of(stack, name),
                    probe_timeout_ms: probe_timeout_ms_of(stack, name),
                },
                Cause::Requested,
                vec![start],
            );
        }
    }

    let mut notes = Vec::new();
    for c in &observed.containers {
        if stack.services.contains_key(&c.service) || stack.disabled.contains(&c.service) {
            continue;
        }
        if opts.remove_orphans {
            b.push(
                Action::RemoveContainer {
                    service: c.service.clone(),
                    container: c.name.clone(),
                },
                Cause::Orphan,
                vec![],
            );
        } else {
            notes.push(format!(
                "container {} belongs to service `{}`, which is not in the stack file; `pier up --remove-orphans` removes it",
                c.name, c.service
            ));
        }
    }

    Ok(Plan {
        project: stack.name.clone(),
        steps: b.steps,
        unchanged,
        notes,
    })
}

/// Anonymous volumes outlive a recreate, as with Compose (DESIGN §7): the new
/// container mounts the old one's anonymous volumes (a bare `- /data` in the
/// file, or a `VOLUME` of the image) at the same targets. A target the new spec
/// gives a named volume, a bind or a tmpfs keeps what the spec says.
fn carry_anonymous_volumes(spec: &mut ContainerSpec, observed: &Observed, old: &str) {
    // Those it mounts from the containers it takes volumes from are theirs:
    // `volumes_from` mounts them again, in the mode it says now (or not at all).
    let theirs: BTreeSet<&str> = observed
        .volumes_from
        .get(old)
        .into_iter()
        .flatten()
        .flat_map(|c| observed.volume_mounts.get(c).into_iter().flatten())
        .map(|m| m.volume.as_str())
        .collect();
    let own = observed
        .volume_mounts
        .get(old)
        .into_iter()
        .flatten()
        .filter(|m| m.is_anonymous() && !theirs.contains(m.volume.as_str()));
    for m in own {
        match spec.mounts.iter_mut().find(|s| s.target == m.target) {
            Some(s) if s.kind == MountType::Volume && s.source.is_none() => {
                s.source = Some(m.volume.clone());
            }
            Some(_) => {}
            None => spec.mounts.push(MountSpec {
                kind: MountType::Volume,
                source: Some(m.volume.clone()),
                target: m.target.clone(),
                read_only: false,
            }),
        }
    }
}

/// With `--pull never`: (service, image) for every container `plan` creates whose
/// image the engine does not have and nothing will build. `up` refuses these before
/// it creates anything, rather than failing at the container halfway through.
pub fn images_unavailable(
    stack: &Stack,
    plan: &Plan,
    observed: &Observed,
    opts: &UpOptions,
) -> Vec<(String, String)> {
    plan.created_services()
        .filter(|service| {
            let svc = &stack.services[*service];
            svc.build.is_none() && pull_policy_of(svc, opts) == PullPolicy::Never
        })
        .map(|service| (service.clone(), stack.image_of(service)))
        .filter(|(_, image)| !observed.images.contains_key(image))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The pull policy for `service`: `--pull always`/`never` win; otherwise (the
/// default, `missing`) the service's own `pull_policy`.
fn pull_policy_of(svc: &Service, opts: &UpOptions) -> PullPolicy {
    match (opts.pull, svc.pull_policy) {
        (PullPolicy::Missing, Some(ServicePull::Always)) => PullPolicy::Always,
        (PullPolicy::Missing, Some(ServicePull::Never)) => PullPolicy::Never,
        (cli, _) => cli,
    }
}

/// `pull_policy: build`: the image is built on every `up`, as with `--build`.
fn builds_always(svc: &Service, opts: &UpOptions) -> bool {
    svc.build.is_some() && (opts.build || svc.pull_policy == Some(ServicePull::Build))
}

/// The pull and build steps of the services in `order`, by image name. One step
/// per image name, and one build per distinct build (context, Dockerfile, args,
/// target): services that build the same thing under different names share it,
/// the others' names tagged from it.
fn plan_images(
    stack: &Stack,
    order: &[String],
    observed: &Observed,
    opts: &UpOptions,
    b: &mut Builder,
) -> BTreeMap<String, StepId> {
    let mut images: BTreeMap<String, StepId> = BTreeMap::new();
    // Each distinct build, and the services and image names that use it.
    let mut builds: Vec<(BuildSpec, Vec<(&str, String)>)> = Vec::new();
    let mut built: BTreeSet<String> = BTreeSet::new();
    for name in order {
        if let Some(build) = build_spec(stack, name) {
            let image = stack.image_of(name);
            built.insert(image.clone());
            match builds.iter_mut().find(|(b, _)| *b == build) {
                Some((_, users)) => users.push((name, image)),
                None => builds.push((build, vec![(name, image)])),
            }
        }
    }
    for name in order {
        let image = stack.image_of(name);
        // A service without `build:` whose image another one builds uses that build.
        if stack.services[name].build.is_some()
            || built.contains(&image)
            || images.contains_key(&image)
        {
            continue;
        }
        let present = observed.images.contains_key(&image);
        if let Some((action, cause)) =
            image_action(&stack.services[name], name, &image, present, opts)
        {
            images.insert(image, b.push(action, cause, vec![]));
        }
    }
    for (build, users) in builds {
        let mut names: Vec<&String> = users.iter().map(|(_, image)| image).collect();
        names.dedup();
        let cause = if opts.build {
            Cause::BuildRequested
        } else if users
            .iter()
            .any(|(service, _)| builds_always(&stack.services[*service], opts))
        {
            Cause::PullPolicy("build")
        } else if names.iter().any(|i| !observed.images.contains_key(*i)) {
            Cause::ImageMissing
        } else {
            continue;
        };
        let (service, image) = &users[0];
        let mut also: Vec<SharedImage> = Vec::new();
        for (other, other_image) in &users[1..] {
            if other_image != image && !also.iter().any(|a| &a.image == other_image) {
                also.push(SharedImage {
                    service: other.to_string(),
                    image: other_image.clone(),
                });
            }
        }
        let action = Action::BuildImage {
            service: service.to_string(),
            image: image.clone(),
            build,
            also,
        };
        let id = b.push(action, cause, vec![]);
        for (_, image) in users {
            images.insert(image, id);
        }
    }
    images
}

/// Pull the image of `service`, and why; None when it is there and not to be refreshed.
fn image_action(
    svc: &Service,
    service: &str,
    image: &str,
    present: bool,
    opts: &UpOptions,
) -> Option<(Action, Cause)> {
    let policy = pull_policy_of(svc, opts);
    let (service, image) = (service.to_string(), image.to_string());
    let cause = match policy {
        PullPolicy::Always if opts.pull == PullPolicy::Always => Cause::PullAlways,
        PullPolicy::Always => Cause::PullPolicy("always"),
        PullPolicy::Missing if !present => Cause::ImageMissing,
        _ => return None,
    };
    Some((Action::PullImage { service, image }, cause))
}

/// Why a container that shares another service's container's namespaces must
/// be recreated: the engine ties `network_mode`, `ipc` and `pid` set to
/// `service:x` to the one container of `x` it found at create, so when that is
/// recreated the sharer is left in namespaces that are gone (no network; it
/// cannot even start again). For the network, the listing says which container
/// it shares (`network_host`), so a recreate by an earlier `up x` is seen too;
/// for `ipc` and `pid`, one by this plan (`recreated`).
fn shared_host_recreated<'o>(
    stack: &Stack,
    service: &str,
    existing: &ObservedContainer,
    recreated: &BTreeSet<String>,
    container_named: impl Fn(&str) -> Option<&'o ObservedContainer>,
) -> Option<Cause> {
    let svc = &stack.services[service];
    let cause = |host: &str, shared: &'static str| Cause::SharedHostRecreated {
        service: host.to_string(),
        shared,
    };
    if let Some(host) = service_of(&svc.network_mode) {
        let current = stack
            .container_names(host)
            .first()
            .and_then(|c| container_named(c))
            .map(|c| c.id.as_str());
        let moved = existing
            .network_host
            .as_deref()
            .is_some_and(|shared| current != Some(shared));
        if recreated.contains(host) || moved {
            return Some(cause(host, "network"));
        }
    }
    [(&svc.ipc, "IPC namespace"), (&svc.pid, "PID namespace")]
        .into_iter()
        .find_map(|(mode, shared)| {
            let host = service_of(mode)?;
            recreated.contains(host).then(|| cause(host, shared))
        })
}

/// `x` of a `service:x` mode.
fn service_of(mode: &Option<String>) -> Option<&str> {
    mode.as_deref()?.strip_prefix("service:")
}

/// The engine-side names of the project's own networks (not external) `service` joins.
fn own_networks(stack: &Stack, service: &str) -> Vec<String> {
    let svc = &stack.services[service];
    if svc.network_mode.is_some() {
        return vec![];
    }
    svc.networks
        .keys()
        .filter(|k| !stack.networks.get(*k).is_some_and(|n| n.external))
        .map(|k| stack.network_name(k))
        .collect()
}

/// Why the container must be (re)created, or None when the existing one will do.
fn create_cause(
    svc: &Service,
    existing: Option<&ObservedContainer>,
    hash: &ConfigHash,
    image_refreshed: bool,
    current_image_id: Option<&String>,
    opts: &UpOptions,
) -> Option<Cause> {
    let c = match existing {
        None => return Some(Cause::NotFound),
        Some(c) => c,
    };
    if c.config_hash.as_deref() != Some(hash.total.as_str()) {
        return Some(Cause::ConfigChanged(hash.changed_fields(&c.field_hashes)));
    }
    if opts.build && svc.build.is_some() {
        return Some(Cause::BuildRequested);
    }
    if builds_always(svc, opts) {
        return Some(Cause::PullPolicy("build"));
    }
    // Rebuilt or pulled outside pier since the container was created (as Compose).
    if !image_refreshed && c.image_id.is_some() && current_image_id != c.image_id.as_ref() {
        return Some(Cause::ImageChanged);
    }
    None
}

/// The `pre_stop` hooks of a container that runs (a stopped one has nothing to run them in).
fn hooks_if_running(c: &ObservedContainer) -> Vec<HookSpec> {
    match c.state {
        ContainerState::Running | ContainerState::Restarting | ContainerState::Paused => {
            c.pre_stop.clone()
        }
        _ => vec![],
    }
}

/// Why the container must be started, or None when it runs (or completed as it should).
/// Why the service must be started, if it must; `ready` is its `final_condition`.
fn start_cause(
    ready: Condition,
    existing: Option<&ObservedContainer>,
    created: bool,
) -> Option<Cause> {
    let c = match existing {
        Some(c) if !created => c,
        _ => return Some(Cause::Created),
    };
    match c.state {
        ContainerState::Running | ContainerState::Restarting => None,
        // A one-shot runs again on every `up`, as in Compose (Django's `migrate`
        // applies the migrations added since the last one).
        ContainerState::Exited | ContainerState::Created
            if ready == Condition::CompletedSuccessfully =>
        {
            Some(Cause::OneShot)
        }
        state => Some(Cause::NotRunning(state.to_string())),
    }
}

/// The plan for `pier down`, from what was observed alone (labels, not the file), so a
/// down after a failed up or an edited file still removes everything up created.
pub fn plan_down(project: &str, observed: &Observed, opts: &DownOptions) -> Plan {
    let mut b = Builder::default();
    let services: BTreeMap<&str, &crate::plan::observed::ObservedContainer> = observed
        .containers
        .iter()
        .map(|c| (c.service.as_str(), c))
        .collect();
    // Stop a container only after every container depending on it has stopped.
    let mut stopped: BTreeMap<&str, StepId> = BTreeMap::new();
    let mut removals = Vec::new();
    let mut remaining: Vec<&str> = services.keys().copied().collect();
    while !remaining.is_empty() {
        let dependents_done = |s: &str| {
            services
                .values()
                .filter(|c| c.depends_on.iter().any(|d| d == s))
                .all(|c| stopped.contains_key(c.service.as_str()))
        };
        let mut level: Vec<&str> = remaining
            .iter()
            .copied()
            .filter(|s| dependents_done(s))
            .collect();
        if level.is_empty() {
            // A cycle in labels (hand-made containers): stop the rest together.
            level = remaining.clone();
        }
        for s in &level {
            let c = services[s];
            let after: Vec<StepId> = services
                .values()
                .filter(|d| d.depends_on.iter().any(|x| x == s))
                .filter_map(|d| stopped.get(d.service.as_str()).copied())
                .collect();
            let running = matches!(
                c.state,
                ContainerState::Running | ContainerState::Restarting | ContainerState::Paused
            );
            let stop = if running {
                Some(b.push(
                    Action::StopContainer {
                        service: c.service.clone(),
                        container: c.name.clone(),
                        timeout_secs: opts.timeout_secs,
                        pre_stop: c.pre_stop.clone(),
                    },
                    Cause::Down,
                    after.clone(),
                ))
            } else {
                None
            };
            let remove = b.push(
                Action::RemoveContainer {
                    service: c.service.clone(),
                    container: c.name.clone(),
                },
                Cause::Down,
                stop.into_iter().collect(),
            );
            stopped.insert(s, stop.unwrap_or(remove));
            removals.push(remove);
        }
        remaining.retain(|s| !level.contains(s));
    }
    // The one-offs of `pier run`: removed too (running or not), or the networks
    // they are attached to could not be.
    for c in &observed.one_offs {
        removals.push(b.push(
            Action::RemoveContainer {
                service: c.service.clone(),
                container: c.name.clone(),
            },
            Cause::Down,
            vec![],
        ));
    }
    let mut networks: Vec<(&str, &str)> = observed
        .networks
        .iter()
        .map(|n| (n.name.as_str(), n.id.as_str()))
        .collect();
    networks.sort();
    for (name, id) in networks {
        b.push(
            Action::RemoveNetwork {
                name: name.into(),
                id: id.into(),
            },
            Cause::Down,
            removals.clone(),
        );
    }
    let mut notes = Vec::new();
    let mut volumes: Vec<&str> = observed.volumes.iter().map(|v| v.name.as_str()).collect();
    volumes.sort();
    if opts.volumes {
        for name in volumes {
            b.push(
                Action::RemoveVolume { name: name.into() },
                Cause::Down,
                removals.clone(),
            );
        }
    } else if !volumes.is_empty() {
        notes.push(format!(
            "volumes kept: {} (`pier down -v` removes them)",
            volumes.join(", ")
        ));
    }
    Plan {
        project: project.to_string(),
        steps: b.steps,
        unchanged: vec![],
        notes,
    }
}

#[derive(Default)]
pub(super) struct Builder {
    pub(super) steps: Vec<Step>,
}

impl Builder {
    pub(super) fn push(&mut self, action: Action, cause: Cause, mut after: Vec<StepId>) -> StepId {
        after.sort();
        after.dedup();
        self.steps.push(Step {
            action,
            cause,
            after,
        });
        StepId(self.steps.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::plan::hash::ConfigHash;
    use crate::plan::observed::{
        ObservedContainer, ObservedMount, ObservedNetwork, ObservedVolume,
    };
    use crate::stack::fixture::StackFixture;

    /// db (healthcheck, volume) ← api ← web, and an independent cache.
    fn shop() -> Stack {
        StackFixture::new("shop")
            .project_dir("/tmp/shop")
            .default_network()
            .volume("db-data")
            .service("db", |s| {
                s.image("mysql:8")
                    .env("MYSQL_DATABASE", "shop")
                    .volume("db-data", "/var/lib/mysql")
                    .healthcheck("mysqladmin ping", None)
                    .network("default")
            })
            .service("api", |s| {
                s.image("shop/api:1")
                    .depends_on("db", Condition::Healthy)
                    .network("default")
            })
            .service("web", |s| {
                s.image("nginx:1")
                    .depends_on("api", Condition::Started)
                    .network("default")
            })
            .service("cache", |s| s.image("redis:7").network("default"))
            .build()
    }

    /// What the engine holds after a successful `up` of `stack`.
    fn running(stack: &Stack) -> Observed {
        let containers = stack
            .services
            .iter()
            .map(|(name, svc)| {
                let hash = ConfigHash::of(svc);
                ObservedContainer {
                    network_host: None,
                    networks: None,
                    name: stack.container_name(name),
                    id: format!("id-{name}"),
                    image_id: Some(format!("sha256:{}", stack.image_of(name))),
                    service: name.clone(),
                    config_hash: Some(hash.total.clone()),
                    field_hashes: hash.fields.clone(),
                    depends_on: svc.depends_on.keys().cloned().collect(),
                    state: ContainerState::Running,
                    health: has_healthcheck(svc).then_some(crate::plan::observed::Health::Healthy),
                    exit_code: Some(0),
                    started_at: None,
                    published: vec![],
                    pre_stop: vec![],
                }
            })
            .collect();
        Observed {
            containers,
            networks: vec![ObservedNetwork {
                name: "shop_default".into(),
                id: "n1".into(),
            }],
            volumes: vec![ObservedVolume {
                name: "shop_db-data".into(),
            }],
            images: images(
                &stack
                    .services
                    .keys()
                    .map(|s| stack.image_of(s))
                    .collect::<Vec<_>>(),
            ),
            working_dirs: Default::default(),
            volume_mounts: BTreeMap::new(),
            volumes_from: BTreeMap::new(),
            one_offs: vec![],
        }
    }

    /// The container of `service` exited with `code`.
    fn exited(observed: &mut Observed, service: &str, code: i64) {
        let c = observed
            .containers
            .iter_mut()
            .find(|c| c.service == service)
            .unwrap();
        c.state = ContainerState::Exited;
        c.exit_code = Some(code);
    }

    /// Present images, each with an id derived from its reference.
    fn images(refs: &[String]) -> BTreeMap<String, String> {
        refs.iter()
            .map(|r| (r.clone(), format!("sha256:{r}")))
            .collect()
    }

    fn up(stack: &Stack, observed: &Observed, opts: UpOptions) -> String {
        plan_up(stack, observed, &opts).unwrap().to_string()
    }

    #[test]
    fn fresh_project() {
        let stack = shop();
        let observed = Observed {
            images: images(&["nginx:1".into(), "redis:7".into()]),
            ..Observed::default()
        };
        assert_eq!(
            up(&stack, &observed, UpOptions::default()),
            "\
project shop: 16 steps
  1. pull image mysql:8 for db (image not present)
  2. pull image shop/api:1 for api (image not present)
  3. create network shop_default (not found) after 1, 2
  4. create volume shop_db-data (not found) after 1, 2
  5. create container shop-cache-1 (not found) after 3
  6. start container shop-cache-1 (created) after 5
  7. create container shop-db-1 (not found) after 1, 3, 4
  8. start container shop-db-1 (created) after 7
  9. wait for db: service_healthy (needed by api) after 8
 10. create container shop-api-1 (not found) after 2, 3
 11. start container shop-api-1 (created) after 9, 10
 12. wait for api: service_started (needed by web) after 11
 13. create container shop-web-1 (not found) after 3
 14. start container shop-web-1 (created) after 12, 13
 15. wait for cache: service_started (ready before up returns) after 6
 16. wait for web: service_started (ready before up returns) after 14
"
        );
    }

    #[test]
    fn nothing_changed_means_no_steps() {
        let stack = shop();
        let plan = plan_up(&stack, &running(&stack), &UpOptions::default()).unwrap();
        assert!(plan.is_empty());
        assert_eq!(
            plan.to_string(),
            "project shop: nothing to do\nunchanged: cache, db, api, web\n"
        );
    }

    #[test]
    fn changed_environment_recreates_only_that_service() {
        let stack = shop();
        let observed = running(&stack);
        let mut edited = stack.clone();
        edited
            .services
            .get_mut("api")
            .unwrap()
            .environment
            .insert("DEBUG".into(), "1".into());
        assert_eq!(
            up(&edited, &observed, UpOptions::default()),
            "\
project shop: 3 steps
  1. recreate container shop-api-1 (config changed: environment)
  2. start container shop-api-1 (created) after 1
  3. wait for api: service_started (ready before up returns) after 2
unchanged: cache, db, web
"
        );
    }

    #[test]
    fn a_recreate_carries_the_old_containers_anonymous_volumes_over() {
        let anon = |c: char| c.to_string().repeat(64);
        let stack = shop();
        let mut observed = running(&stack);
        let mut edited = stack.clone();
        let db = edited.services.get_mut("db").unwrap();
        db.environment.insert("DEBUG".into(), "1".into());
        // A bare `- /scratch` in the file; the image declares `VOLUME /logs`.
        db.volumes.push(crate::stack::model::Mount {
            kind: MountKind::Volume,
            source: None,
            target: "/scratch".into(),
            read_only: false,
        });
        let mount = |volume: String, target: &str| ObservedMount {
            volume,
            target: target.into(),
        };
        observed.volume_mounts.insert(
            "shop-db-1".into(),
            vec![
                mount(anon('a'), "/scratch"),
                mount(anon('b'), "/logs"),
                mount("shop_db-data".into(), "/var/lib/mysql"),
                // An anonymous volume where the file now mounts the named one: not carried.
                mount(anon('c'), "/var/lib/mysql"),
                // cache's own, which db took through `volumes_from`: not db's to carry.
                mount(anon('d'), "/shared"),
            ],
        );
        observed
            .volume_mounts
            .insert("shop-cache-1".into(), vec![mount(anon('d'), "/shared")]);
        observed
            .volumes_from
            .insert("shop-db-1".into(), vec!["shop-cache-1".into()]);
        let plan = plan_up(&edited, &observed, &UpOptions::default()).unwrap();
        let Action::RecreateContainer { spec, .. } = &plan.steps[0].action else {
            panic!("{plan}");
        };
        let mounts: Vec<(Option<&str>, &str)> = spec
            .mounts
            .iter()
            .map(|m| (m.source.as_deref(), m.target.as_str()))
            .collect();
        assert_eq!(
            mounts,
            [
                (Some("shop_db-data"), "/var/lib/mysql"),
                (Some(anon('a').as_str()), "/scratch"),
                (Some(anon('b').as_str()), "/logs"),
            ]
        );
    }

    #[test]
    fn stopped_container_is_started_not_recreated() {
        let stack = shop();
        let mut observed = running(&stack);
        exited(&mut observed, "cache", 137);
        assert_eq!(
            up(&stack, &observed, UpOptions::default()),
            "\
project shop: 2 steps
  1. start container shop-cache-1 (exited, not running)
  2. wait for cache: service_started (ready before up returns) after 1
unchanged: db, api, web
"
        );
    }

    #[test]
    fn an_image_changed_outside_pier_recreates_its_containers() {
        let stack = shop();
        let mut observed = running(&stack);
        observed
            .images
            .insert("redis:7".into(), "sha256:newer".into());
        assert_eq!(
            up(&stack, &observed, UpOptions::default()),
            "\
project shop: 3 steps
  1. recreate container shop-cache-1 (image changed)
  2. start container shop-cache-1 (created) after 1
  3. wait for cache: service_started (ready before up returns) after 2
unchanged: db, api, web
"
        );
    }

    #[test]
    fn orphans_are_noted_or_removed() {
        let stack = shop();
        let mut observed = running(&stack);
        let mut old = observed.containers[0].clone();
        old.service = "worker".into();
        old.name = "shop-worker-1".into();
        observed.containers.push(old);
        assert_eq!(
            up(&stack, &observed, UpOptions::default()),
            "\
project shop: nothing to do
unchanged: cache, db, api, web
note: container shop-worker-1 belongs to service `worker`, which is not in the stack file; `pier up --remove-orphans` removes it
"
        );
        let opts = UpOptions {
            remove_orphans: true,
            ..UpOptions::default()
        };
        assert_eq!(
            up(&stack, &observed, opts),
            "\
project shop: 1 step
  1. remove container shop-worker-1 (orphan: service not in the stack file)
unchanged: cache, db, api, web
"
        );
    }

    #[test]
    fn a_service_profiles_leave_out_is_no_orphan() {
        let mut stack = shop();
        stack.disabled.insert("debug".into());
        let mut observed = running(&stack);
        let mut old = observed.containers[0].clone();
        old.service = "debug".into();
        old.name = "shop-debug-1".into();
        observed.containers.push(old);
        let opts = UpOptions {
            remove_orphans: true,
            ..UpOptions::default()
        };
        assert_eq!(
            up(&stack, &observed, opts),
            "\
project shop: nothing to do
unchanged: cache, db, api, web
"
        );
    }

    #[test]
    fn subset_brings_its_dependencies_only() {
        let stack = shop();
        let observed = Observed {
            images: images(&["nginx:1", "redis:7", "mysql:8", "shop/api:1"].map(String::from)),
            ..Observed::default()
        };
        let opts = UpOptions {
            services: vec!["api".into()],
            ..UpOptions::default()
        };
        assert_eq!(
            up(&stack, &observed, opts),
            "\
project shop: 8 steps
  1. create network shop_default (not found)
  2. create volume shop_db-data (not found)
  3. create container shop-db-1 (not found) after 1, 2
  4. start container shop-db-1 (created) after 3
  5. wait for db: service_healthy (needed by api) after 4
  6. create container shop-api-1 (not found) after 1
  7. start container shop-api-1 (created) after 5, 6
  8. wait for api: service_started (ready before up returns) after 7
"
        );
    }

    #[test]
    fn network_mode_service_is_created_after_its_host_runs() {
        let mut stack = shop();
        let web = stack.services.get_mut("web").unwrap();
        web.depends_on.clear();
        web.networks.clear();
        web.network_mode = Some("service:cache".into());
        let observed = Observed {
            images: images(&["nginx:1", "redis:7", "mysql:8", "shop/api:1"].map(String::from)),
            ..running(&stack)
        };
        let mut observed = observed;
        observed
            .containers
            .retain(|c| c.service != "web" && c.service != "cache");
        assert_eq!(
            up(&stack, &observed, UpOptions::default()),
            "\
project shop: 6 steps
  1. create container shop-cache-1 (not found)
  2. start container shop-cache-1 (created) after 1
  3. wait for cache: service_started (needed by web) after 2
  4. create container shop-web-1 (not found) after 3
  5. start container shop-web-1 (created) after 3, 4
  6. wait for web: service_started (ready before up returns) after 5
unchanged: db, api
"
        );
    }

    #[test]
    fn a_network_mode_service_is_recreated_with_its_host() {
        let mut stack = shop();
        let web = stack.services.get_mut("web").unwrap();
        web.depends_on.clear();
        web.networks.clear();
        web.network_mode = Some("service:cache".into());
        let mut observed = running(&stack);
        for c in &mut observed.containers {
            if c.service == "web" {
                c.network_host = Some("id-cache".into());
            }
        }
        // Both as they were: nothing to do.
        assert!(
            up(&stack, &observed, UpOptions::default()).contains("unchanged: cache, db, api, web")
        );
        // cache recreated by this plan: web shares a network that goes with it.
        let mut changed = stack.clone();
        changed.services.get_mut("cache").unwrap().command = Some(vec!["redis-server".into()]);
        let plan = up(&changed, &observed, UpOptions::default());
        assert!(
            plan.contains("recreate container shop-cache-1 (config changed: command)"),
            "{plan}"
        );
        assert!(
            plan.contains(
                "recreate container shop-web-1 (cache, whose network it shares, recreated) after 3"
            ),
            "{plan}"
        );
        // cache recreated earlier (`pier up cache`): web still holds the old id.
        for c in &mut observed.containers {
            if c.service == "cache" {
                c.id = "id-cache-2".into();
            }
        }
        let plan = up(&stack, &observed, UpOptions::default());
        assert!(
            plan.contains(
                "recreate container shop-web-1 (cache, whose network it shares, recreated)"
            ),
            "{plan}"
        );
        assert!(!plan.contains("container shop-cache-1"), "{plan}");

        // `ipc: service:x` too, when this plan recreates x.
        let mut stack = shop();
        stack.services.get_mut("web").unwrap().ipc = Some("service:cache".into());
        let observed = running(&stack);
        assert!(
            up(&stack, &observed, UpOptions::default()).contains("unchanged: cache, db, api, web")
        );
        stack.services.get_mut("cache").unwrap().command = Some(vec!["redis-server".into()]);
        let plan = up(&stack, &observed, UpOptions::default());
        assert!(
            plan.contains(
                "recreate container shop-web-1 (cache, whose IPC namespace it shares, recreated)"
            ),
            "{plan}"
        );
    }

    #[test]
    fn unknown_service_gets_did_you_mean() {
        let opts = UpOptions {
            services: vec!["webb".into()],
            ..UpOptions::default()
        };
        let err = plan_up(&shop(), &Observed::default(), &opts).unwrap_err();
        assert_eq!(err[0].message, "no service named `webb` in the stack");
        assert_eq!(err[0].hint.as_deref(), Some("did you mean `web`?"));
    }

    #[test]
    fn pull_never_names_the_images_it_cannot_have() {
        let stack = shop();
        let observed = Observed {
            images: images(&["nginx:1", "shop/api:1"].map(String::from)),
            ..Observed::default()
        };
        let never = UpOptions {
            pull: PullPolicy::Never,
            ..UpOptions::default()
        };
        let plan = plan_up(&stack, &observed, &never).unwrap();
        assert_eq!(
            images_unavailable(&stack, &plan, &observed, &never),
            vec![
                ("cache".to_string(), "redis:7".to_string()),
                ("db".to_string(), "mysql:8".to_string())
            ]
        );
        // Only what this run creates counts: `up api` needs db, not cache.
        let api_only = UpOptions {
            services: vec!["api".into()],
            ..never.clone()
        };
        let plan = plan_up(&stack, &observed, &api_only).unwrap();
        assert_eq!(
            images_unavailable(&stack, &plan, &observed, &api_only),
            vec![("db".to_string(), "mysql:8".to_string())]
        );
        // Pulling is allowed: the plan pulls them instead.
        let missing = UpOptions::default();
        let plan = plan_up(&stack, &observed, &missing).unwrap();
        assert!(images_unavailable(&stack, &plan, &observed, &missing).is_empty());
    }

    #[test]
    fn build_service_builds_when_missing_or_asked() {
        let mut stack = shop();
        let api = stack.services.get_mut("api").unwrap();
        api.image = None;
        api.build = Some(crate::stack::model::Build {
            context: PathBuf::from("/tmp/shop/api"),
            ..Default::default()
        });
        let observed = running(&stack);
        let opts = UpOptions {
            build: true,
            ..UpOptions::default()
        };
        assert_eq!(
            up(&stack, &observed, opts),
            "\
project shop: 4 steps
  1. build image shop-api for api (--build)
  2. recreate container shop-api-1 (--build) after 1
  3. start container shop-api-1 (created) after 2
  4. wait for api: service_started (ready before up returns) after 3
unchanged: cache, db, web
"
        );
    }

    #[test]
    fn services_with_the_same_build_share_one_build_step() {
        // django's `migrate` and `web`: one Dockerfile, two services.
        let build = crate::stack::model::Build {
            context: PathBuf::from("/tmp/site"),
            ..Default::default()
        };
        let mut stack = StackFixture::new("site")
            .default_network()
            .service("migrate", |s| s.network("default"))
            .service("web", |s| {
                s.network("default")
                    .depends_on("migrate", Condition::CompletedSuccessfully)
            })
            .service("other", |s| s.network("default"))
            .build();
        for (name, context) in [
            ("migrate", "/tmp/site"),
            ("web", "/tmp/site"),
            ("other", "/tmp/other"),
        ] {
            let svc = stack.services.get_mut(name).unwrap();
            svc.image = None;
            svc.build = Some(crate::stack::model::Build {
                context: PathBuf::from(context),
                ..build.clone()
            });
        }
        let plan = plan_up(&stack, &Observed::default(), &UpOptions::default()).unwrap();
        let text = plan.to_string();
        let builds: Vec<&str> = text.lines().filter(|l| l.contains("build image")).collect();
        assert_eq!(
            builds,
            [
                "  1. build image site-migrate for migrate, tag site-web for web (image not present)",
                "  2. build image site-other for other (image not present)",
            ],
            "{text}"
        );
        // Networks come after every image step; each container after its own image.
        assert!(
            text.contains("3. create network site_default (not found) after 1, 2"),
            "{text}"
        );
        assert!(
            text.contains("create container site-web-1 (not found) after 1, 3"),
            "{text}"
        );
        // Both names present: nothing to build, unless asked.
        let observed = Observed {
            images: images(&[
                "site-migrate".into(),
                "site-web".into(),
                "site-other".into(),
            ]),
            ..Observed::default()
        };
        let text = up(&stack, &observed, UpOptions::default());
        assert!(!text.contains("build image"), "{text}");
        // One name missing: the shared build runs again and tags both.
        let observed = Observed {
            images: images(&["site-migrate".into(), "site-other".into()]),
            ..Observed::default()
        };
        let text = up(&stack, &observed, UpOptions::default());
        assert!(
            text.contains(
                "1. build image site-migrate for migrate, tag site-web for web (image not present)"
            ),
            "{text}"
        );
        assert!(!text.contains("build image site-other"), "{text}");
    }

    #[test]
    fn down_stops_dependents_first_and_keeps_volumes() {
        let stack = shop();
        let observed = running(&stack);
        let plan = plan_down("shop", &observed, &DownOptions::default());
        assert_eq!(
            plan.to_string(),
            "\
project shop: 9 steps
  1. stop container shop-cache-1 (down)
  2. remove container shop-cache-1 (down) after 1
  3. stop container shop-web-1 (down)
  4. remove container shop-web-1 (down) after 3
  5. stop container shop-api-1 (down) after 3
  6. remove container shop-api-1 (down) after 5
  7. stop container shop-db-1 (down) after 5
  8. remove container shop-db-1 (down) after 7
  9. remove network shop_default (down) after 2, 4, 6, 8
note: volumes kept: shop_db-data (`pier down -v` removes them)
"
        );
        let with_volumes = plan_down(
            "shop",
            &observed,
            &DownOptions {
                volumes: true,
                timeout_secs: None,
            },
        );
        assert!(
            with_volumes
                .to_string()
                .contains(" 10. remove volume shop_db-data (down) after 2, 4, 6, 8\n")
        );
    }

    /// Two `pier up` at once can leave two networks of one name; down removes both, by id.
    #[test]
    fn down_removes_networks_that_share_a_name_by_id() {
        let observed = Observed {
            networks: ["n1", "n2"]
                .iter()
                .map(|id| ObservedNetwork {
                    name: "shop_default".into(),
                    id: id.to_string(),
                })
                .collect(),
            ..Observed::default()
        };
        let plan = plan_down("shop", &observed, &DownOptions::default());
        let ids: Vec<&str> = plan
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::RemoveNetwork { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(ids, ["n1", "n2"]);
    }

    /// 10,000 services in a chain: planned at all (the plan used to take time
    /// quadratic in the services; no timing is asserted, only the result), and
    /// a second `up` over the running chain has nothing to do.
    #[test]
    fn a_ten_thousand_service_chain_is_planned() {
        use crate::stack::fixture::StackFixture;
        let n = 10_000;
        let mut f = StackFixture::new("shop").default_network();
        for i in 0..n {
            f = f.service(&format!("s{i:05}"), |s| {
                let s = s.image("busybox");
                if i == 0 {
                    s
                } else {
                    s.depends_on(&format!("s{:05}", i - 1), Condition::Started)
                }
            });
        }
        let stack = f.build();
        let plan = plan_up(&stack, &Observed::default(), &UpOptions::default()).unwrap();
        let text = plan.to_string();
        // Per service: create, start, and one wait; and one pull.
        assert_eq!(text.matches("create container").count(), n);
        assert_eq!(text.matches("start container").count(), n);
        assert_eq!(text.matches("wait for").count(), n);
        assert!(text.contains("wait for s09998: service_started (needed by s09999)"));
        assert!(text.starts_with(&format!("project shop: {} steps\n", 3 * n + 1)));
        assert!(
            plan_up(&stack, &running(&stack), &UpOptions::default())
                .unwrap()
                .is_empty()
        );
    }

    /// shop with a one-shot `migrate` that api waits for.
    fn with_migrate() -> Stack {
        let mut stack = shop();
        let migrate = StackFixture::new("shop")
            .service("migrate", |s| {
                s.image("shop/api:1")
                    .depends_on("db", Condition::Healthy)
                    .network("default")
            })
            .build()
            .services
            .remove("migrate")
            .unwrap();
        stack.services.insert("migrate".into(), migrate);
        stack.services.get_mut("api").unwrap().depends_on.insert(
            "migrate".into(),
            crate::stack::model::Dependency {
                condition: Condition::CompletedSuccessfully,
                required: true,
            },
        );
        stack
    }

    #[test]
    fn a_one_shot_runs_again_on_every_up() {
        let stack = with_migrate();
        let mut observed = running(&stack);
        exited(&mut observed, "migrate", 0);
        assert_eq!(
            up(&stack, &observed, UpOptions::default()),
            "\
project shop: 2 steps
  1. start container shop-migrate-1 (one-shot: runs on every up)
  2. wait for migrate: service_completed_successfully (ready before up returns) after 1
unchanged: cache, db, api, web
"
        );
        // A dependent that starts waits for this run of it, not the last one.
        exited(&mut observed, "api", 137);
        assert_eq!(
            up(&stack, &observed, UpOptions::default()),
            "\
project shop: 4 steps
  1. start container shop-migrate-1 (one-shot: runs on every up)
  2. wait for migrate: service_completed_successfully (needed by api) after 1
  3. start container shop-api-1 (exited, not running) after 2
  4. wait for api: service_started (ready before up returns) after 3
unchanged: cache, db, web
"
        );
    }

    #[test]
    fn scale_creates_a_container_per_replica_and_scaling_down_removes_the_rest() {
        let mut stack = shop();
        stack.services.get_mut("cache").unwrap().replicas = Some(3);
        let mut observed = running(&shop());
        assert_eq!(
            up(&stack, &observed, UpOptions::default()),
            "\
project shop: 6 steps
  1. create container shop-cache-2 (not found)
  2. start container shop-cache-2 (created) after 1
  3. create container shop-cache-3 (not found)
  4. start container shop-cache-3 (created) after 3
  5. wait for cache: service_started (ready before up returns) after 2
  6. wait for cache: service_started (ready before up returns) after 4
unchanged: db, api, web
"
        );
        // Dependents wait for every replica.
        stack.services.get_mut("web").unwrap().depends_on.insert(
            "cache".into(),
            crate::stack::model::Dependency {
                condition: Condition::Started,
                required: true,
            },
        );
        let fresh = up(
            &stack,
            &Observed {
                images: observed.images.clone(),
                ..Observed::default()
            },
            UpOptions::default(),
        );
        assert!(
            fresh.contains("wait for cache: service_started (needed by web) after 4\n"),
            "{fresh}"
        );
        assert!(
            fresh.contains("wait for cache: service_started (needed by web) after 6\n"),
            "{fresh}"
        );
        assert!(
            fresh.contains("wait for cache: service_started (needed by web) after 8\n"),
            "{fresh}"
        );
        assert!(
            fresh.contains("start container shop-web-1 (created) after 14, 15, 16, 17, 18\n"),
            "{fresh}"
        );
        // Three running, one asked for: the two others go, the last first.
        let mut three = running(&stack);
        let mut c1 = three
            .containers
            .iter()
            .find(|c| c.service == "cache")
            .unwrap()
            .clone();
        for i in [2, 3] {
            c1.name = format!("shop-cache-{i}");
            three.containers.push(c1.clone());
        }
        stack.services.get_mut("cache").unwrap().replicas = Some(1);
        observed = three;
        assert_eq!(
            up(&stack, &observed, UpOptions::default()),
            "\
project shop: 4 steps
  1. stop container shop-cache-3 (scaled down to 1)
  2. remove container shop-cache-3 (scaled down to 1) after 1
  3. stop container shop-cache-2 (scaled down to 1)
  4. remove container shop-cache-2 (scaled down to 1) after 3
unchanged: db, api, web
"
        );
    }

    #[test]
    fn pull_policy_of_a_service() {
        let mut stack = shop();
        stack.services.get_mut("cache").unwrap().pull_policy =
            Some(crate::stack::model::PullPolicy::Always);
        stack.services.get_mut("db").unwrap().pull_policy =
            Some(crate::stack::model::PullPolicy::Never);
        let observed = Observed {
            images: images(&["nginx:1", "redis:7", "shop/api:1"].map(String::from)),
            ..running(&stack)
        };
        let text = up(&stack, &observed, UpOptions::default());
        assert!(
            text.contains("pull image redis:7 for cache (pull_policy: always)"),
            "{text}"
        );
        assert!(!text.contains("pull image mysql:8"), "{text}");
        let plan = plan_up(
            &stack,
            &Observed {
                images: observed.images.clone(),
                ..Observed::default()
            },
            &UpOptions::default(),
        )
        .unwrap();
        assert_eq!(
            images_unavailable(&stack, &plan, &observed, &UpOptions::default()),
            vec![("db".to_string(), "mysql:8".to_string())]
        );
    }

    #[test]
    fn down_and_recreate_carry_the_containers_pre_stop_hooks() {
        let stack = shop();
        let mut observed = running(&stack);
        let hook = HookSpec {
            command: vec!["flush".into()],
            ..HookSpec::default()
        };
        for c in &mut observed.containers {
            if c.service == "api" {
                c.pre_stop = vec![hook.clone()];
            }
        }
        let plan = plan_down("shop", &observed, &DownOptions::default());
        let hooks: Vec<(&str, &Vec<HookSpec>)> = plan
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::StopContainer {
                    container,
                    pre_stop,
                    ..
                } => Some((container.as_str(), pre_stop)),
                _ => None,
            })
            .collect();
        assert!(hooks.contains(&("shop-api-1", &vec![hook.clone()])));
        assert!(hooks.contains(&("shop-db-1", &vec![])));
        let mut edited = stack.clone();
        edited
            .services
            .get_mut("api")
            .unwrap()
            .environment
            .insert("DEBUG".into(), "1".into());
        let plan = plan_up(&edited, &observed, &UpOptions::default()).unwrap();
        assert!(matches!(
            &plan.steps[0].action,
            Action::RecreateContainer { pre_stop, .. } if pre_stop == &vec![hook.clone()]
        ));
    }
}
