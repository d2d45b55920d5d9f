//! The planner: Stack model + Observed → Plan. Pure: no engine, no async, no I/O.
//!
//! Compose's rules, mostly: a container is created when missing, recreated when its
//! config hash differs (naming the changed fields), started when stopped, and left
//! alone otherwise. Containers start after the readiness conditions of their
//! dependencies; networks, volumes and images come before the containers using them.

use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::Diagnostic;
use crate::plan::hash::ConfigHash;
use crate::plan::observed::{ContainerState, Health, Observed, ObservedContainer, ObservedMount};
use crate::plan::spec::{
    ContainerSpec, MountSpec, MountType, build_spec, probe_of, probe_timeout_ms_of,
};
use crate::plan::steps::{Action, Cause, Plan, Step, StepId};
use crate::stack::graph::{Dependency, EdgeKind, Graph};
use crate::stack::model::{Condition, HealthTest, MountKind, Service, Stack};

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
    let mut containers: BTreeMap<&str, &ObservedContainer> = BTreeMap::new();
    for c in &observed.containers {
        containers.entry(c.service.as_str()).or_insert(c);
    }
    let container_of = |service: &str| containers.get(service).copied();
    let needed_completed = needed_completed(stack);
    let mut b = Builder::default();

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
            vec![],
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
            vec![],
        );
        volumes.insert(key.to_string(), id);
    }

    // Per service, in start order: image, container, start.
    let mut images: BTreeMap<String, StepId> = BTreeMap::new();
    let mut started: BTreeMap<String, StepId> = BTreeMap::new();
    let mut waits: BTreeMap<(String, &'static str), StepId> = BTreeMap::new();
    let mut unchanged = Vec::new();
    for name in &order {
        let svc = &stack.services[name];
        let container = stack.container_name(name);
        let image = stack.image_of(name);
        let present = observed.images.contains_key(&image);
        let image_step = if let Some(&id) = images.get(&image) {
            Some(id)
        } else {
            let step = image_action(stack, name, &image, present, opts);
            step.map(|(action, cause)| {
                let id = b.push(action, cause, vec![]);
                images.insert(image.clone(), id);
                id
            })
        };

        let hash = ConfigHash::of(svc);
        let existing = container_of(name);
        let create_cause = create_cause(
            svc,
            existing,
            &hash,
            image_step.is_some(),
            observed.images.get(&image),
            opts,
        )
        .or_else(|| {
            let removed =
                crate::plan::networks::removed(existing?, &own_networks(stack, name), observed)?;
            Some(Cause::NetworkRemoved(removed))
        });
        let ready = final_condition_in(stack, name, &needed_completed);
        let needs_start = start_cause(ready, existing, create_cause.is_some());

        // What the dependencies must reach first. A `network_mode: service:X` service
        // cannot even be created before X runs.
        let mut dep_waits: Vec<StepId> = Vec::new();
        let mut create_waits: Vec<StepId> = Vec::new();
        if needs_start.is_some() {
            for edge in edges_of.get(name.as_str()).into_iter().flatten() {
                let (dep, condition) = (&edge.dependency, edge.edge.condition);
                if !scope.contains(dep) {
                    continue;
                }
                let dep_container = container_of(dep);
                let satisfied = !started.contains_key(dep)
                    && dep_container.is_some_and(|c| match condition {
                        Condition::Started => c.state == ContainerState::Running,
                        Condition::Healthy => c.health == Some(Health::Healthy),
                        Condition::CompletedSuccessfully => {
                            c.state == ContainerState::Exited && c.exit_code == Some(0)
                        }
                    });
                if satisfied {
                    continue;
                }
                let key = (dep.clone(), condition.as_str());
                let id = match waits.get(&key) {
                    Some(&id) => {
                        if let Cause::NeededBy(list) = &mut b.steps[id.0].cause {
                            list.push(name.clone());
                        }
                        id
                    }
                    None => {
                        let id = b.push(
                            Action::WaitFor {
                                service: dep.clone(),
                                container: stack.container_name(dep),
                                condition: condition.into(),
                                probe: probe_of(stack, dep),
                                probe_timeout_ms: probe_timeout_ms_of(stack, dep),
                            },
                            Cause::NeededBy(vec![name.clone()]),
                            started.get(dep).copied().into_iter().collect(),
                        );
                        waits.insert(key, id);
                        id
                    }
                };
                if edge.edge.kind == EdgeKind::NetworkMode {
                    create_waits.push(id);
                }
                dep_waits.push(id);
            }
        }

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
            let mut spec = Box::new(ContainerSpec::with_hash(stack, name, &hash));
            let action = match existing {
                Some(c) => Action::RecreateContainer {
                    service: name.clone(),
                    old_id: c.id.clone(),
                    spec: {
                        carry_anonymous_volumes(&mut spec, observed.volume_mounts.get(&c.name));
                        spec
                    },
                },
                None => Action::CreateContainer {
                    service: name.clone(),
                    spec,
                },
            };
            create_step = Some(b.push(action, cause, after));
        }

        let Some(start_cause) = needs_start else {
            if image_step.is_none() {
                unchanged.push(name.clone());
            }
            continue;
        };
        let mut after: Vec<StepId> = create_step.into_iter().collect();
        after.extend(dep_waits);
        let id = b.push(
            Action::StartContainer {
                service: name.clone(),
                container: container.clone(),
                one_shot: ready == Condition::CompletedSuccessfully,
            },
            start_cause,
            after,
        );
        started.insert(name.clone(), id);
    }

    // `up` returns when everything it started is ready.
    for name in &order {
        let Some(&start) = started.get(name) else {
            continue;
        };
        let condition = final_condition_in(stack, name, &needed_completed);
        if !waits.contains_key(&(name.clone(), condition.as_str())) {
            b.push(
                Action::WaitFor {
                    service: name.clone(),
                    container: stack.container_name(name),
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
        if stack.services.contains_key(&c.service) {
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
fn carry_anonymous_volumes(spec: &mut ContainerSpec, old: Option<&Vec<ObservedMount>>) {
    for m in old.into_iter().flatten().filter(|m| m.is_anonymous()) {
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
    if opts.pull != PullPolicy::Never {
        return vec![];
    }
    plan.created_services()
        .filter(|service| stack.services[*service].build.is_none())
        .map(|service| (service.clone(), stack.image_of(service)))
        .filter(|(_, image)| !observed.images.contains_key(image))
        .collect()
}

/// Pull or build the image of `service`, and why; None when it is there and not to be refreshed.
fn image_action(
    stack: &Stack,
    service: &str,
    image: &str,
    present: bool,
    opts: &UpOptions,
) -> Option<(Action, Cause)> {
    if let Some(build) = build_spec(stack, service) {
        let (service, image) = (service.to_string(), image.to_string());
        let cause = if opts.build {
            Cause::BuildRequested
        } else if !present {
            Cause::ImageMissing
        } else {
            return None;
        };
        return Some((
            Action::BuildImage {
                service,
                image,
                build,
            },
            cause,
        ));
    }
    let (service, image) = (service.to_string(), image.to_string());
    let cause = match opts.pull {
        PullPolicy::Always => Cause::PullAlways,
        PullPolicy::Missing if !present => Cause::ImageMissing,
        _ => return None,
    };
    Some((Action::PullImage { service, image }, cause))
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
    // Rebuilt or pulled outside pier since the container was created (as Compose).
    if !image_refreshed && c.image_id.is_some() && current_image_id != c.image_id.as_ref() {
        return Some(Cause::ImageChanged);
    }
    None
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
        // A one-shot that already completed stays completed, as in Compose.
        ContainerState::Exited
            if c.exit_code == Some(0) && ready == Condition::CompletedSuccessfully =>
        {
            None
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
struct Builder {
    steps: Vec<Step>,
}

impl Builder {
    fn push(&mut self, action: Action, cause: Cause, mut after: Vec<StepId>) -> StepId {
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
    use crate::plan::observed::{ObservedContainer, ObservedNetwork, ObservedVolume};
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
                    name: stack.container_name(name),
                    id: format!("id-{name}"),
                    image_id: Some(format!("sha256:{}", stack.image_of(name))),
                    service: name.clone(),
                    config_hash: Some(hash.total.clone()),
                    field_hashes: hash.fields.clone(),
                    depends_on: svc.depends_on.keys().cloned().collect(),
                    state: ContainerState::Running,
                    health: has_healthcheck(svc).then_some(Health::Healthy),
                    exit_code: Some(0),
                    started_at: None,
                    published: vec![],
                    networks: None,
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
        }
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
  1. create network shop_default (not found)
  2. create volume shop_db-data (not found)
  3. create container shop-cache-1 (not found) after 1
  4. start container shop-cache-1 (created) after 3
  5. pull image mysql:8 for db (image not present)
  6. create container shop-db-1 (not found) after 1, 2, 5
  7. start container shop-db-1 (created) after 6
  8. pull image shop/api:1 for api (image not present)
  9. wait for db: service_healthy (needed by api) after 7
 10. create container shop-api-1 (not found) after 1, 8
 11. start container shop-api-1 (created) after 9, 10
 12. wait for api: service_started (needed by web) after 11
 13. create container shop-web-1 (not found) after 1
 14. start container shop-web-1 (created) after 12, 13
 15. wait for cache: service_started (ready before up returns) after 4
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
            ],
        );
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
        let cache = observed
            .containers
            .iter_mut()
            .find(|c| c.service == "cache")
            .unwrap();
        cache.state = ContainerState::Exited;
        cache.exit_code = Some(137);
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
}
