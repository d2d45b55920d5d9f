//! The swarm target (`pier up --target swarm`): the Stack model as swarm services.
//! Pure: the model in, a `SwarmPlan` out — networks, secrets and the services in
//! start levels (a level starts after every service it depends on is ready) —
//! plus the warnings and errors that only a swarm has. The engine adapter
//! (`engine::swarm*`) carries it out; `target::swarm` runs the plan `plan_swarm_up` makes of it.

mod observed;
mod reconcile;
mod spec;
mod tasks;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::diagnostic::{self, Diagnostic};
use crate::labels;
use crate::stack::graph::Graph;
use crate::stack::model::{MountKind, SecretSource, Stack};

pub use observed::{ObservedSecret, ObservedService, SwarmNetworkInfo, SwarmObserved, time_key};
pub use reconcile::{SwarmAction, SwarmUpOptions, plan_swarm_down, plan_swarm_up, secret_hash};
pub use spec::{Attachment, RestartCondition, SecretRef, SwarmMount, SwarmPort, SwarmService};
pub use tasks::{
    HealthState, Readiness, Rollout, TaskInfo, TaskState, readiness, rollout_readiness,
};

/// Networks on a swarm must span nodes: pier creates them with this driver.
pub const OVERLAY: &str = "overlay";

#[derive(Debug, Clone, PartialEq)]
pub struct SwarmPlan {
    pub project: String,
    /// Networks the services use that pier creates (external ones are left out).
    pub networks: Vec<SwarmNetwork>,
    /// Secrets the services use, created from their files or variables.
    pub secrets: Vec<SwarmSecret>,
    /// Start levels: every service of a level depends only on earlier levels.
    pub levels: Vec<Vec<SwarmService>>,
    /// Things that work differently on a swarm; for stderr.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmNetwork {
    /// The key in the stack file, e.g. `default`.
    pub key: String,
    /// Engine name, `<project>_<key>` unless the file names it.
    pub name: String,
    pub internal: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmSecret {
    pub key: String,
    /// `<project>_<key>`.
    pub name: String,
    pub source: SecretSource,
}

impl SwarmPlan {
    pub fn services(&self) -> impl Iterator<Item = &SwarmService> {
        self.levels.iter().flatten()
    }

    /// Labels of a network or secret pier creates for this project.
    pub fn resource_labels(&self, key: &str) -> BTreeMap<String, String> {
        resource_labels(&self.project, key)
    }
}

pub fn resource_labels(project: &str, key: &str) -> BTreeMap<String, String> {
    [
        (labels::PROJECT, project.to_string()),
        (labels::RESOURCE, key.to_string()),
        (labels::VERSION, env!("CARGO_PKG_VERSION").to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The swarm plan for `stack`, limited to `only` and what they depend on (all when
/// empty). Errors are invalid input: unknown services, and what a swarm cannot do.
pub fn plan_swarm(stack: &Stack, only: &[String]) -> Result<SwarmPlan, Vec<Diagnostic>> {
    let graph = Graph::new(stack)?;
    let scope = graph.select(only)?;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let levels: Vec<Vec<SwarmService>> = graph
        .levels()
        .into_iter()
        .map(|level| {
            level
                .into_iter()
                .filter(|s| scope.contains(s))
                .map(|s| {
                    check_service(stack, &s, &mut problems, &mut warnings);
                    SwarmService::from_stack(stack, &s)
                })
                .collect::<Vec<_>>()
        })
        .filter(|level| !level.is_empty())
        .collect();

    let mut net_keys = BTreeSet::new();
    let mut secret_keys = BTreeSet::new();
    for s in levels.iter().flatten() {
        let svc = &stack.services[&s.key];
        net_keys.extend(svc.networks.keys().cloned());
        secret_keys.extend(svc.secrets.iter().map(|r| r.source.clone()));
    }
    let mut networks = Vec::new();
    for key in net_keys {
        let def = stack.networks.get(&key);
        if def.is_some_and(|n| n.external) {
            continue;
        }
        if let Some(driver) = def.and_then(|n| n.driver.as_deref())
            && driver != OVERLAY
        {
            warnings.push(
                Diagnostic::warning(
                    format!("networks.{key}.driver"),
                    format!(
                        "driver `{driver}` cannot connect services across a swarm; on the swarm target the network is created with driver `overlay`"
                    ),
                )
                .with_hint("leave out `driver` (or write `driver: overlay`) to silence this"),
            );
        }
        networks.push(SwarmNetwork {
            name: stack.network_name(&key),
            internal: def.is_some_and(|n| n.internal),
            key,
        });
    }
    let secrets = secret_keys
        .into_iter()
        .filter_map(|key| {
            let def = stack.secrets.get(&key)?;
            Some(SwarmSecret {
                name: stack.scoped_name(&key),
                source: def.source.clone(),
                key,
            })
        })
        .collect();

    if problems.is_empty() {
        diagnostic::sort(&mut warnings);
        Ok(SwarmPlan {
            project: stack.name.clone(),
            networks,
            secrets,
            levels,
            warnings,
        })
    } else {
        problems.extend(warnings);
        diagnostic::sort(&mut problems);
        Err(problems)
    }
}

/// What a swarm does differently for this service: errors for what it cannot do,
/// warnings for what it does in its own way.
fn check_service(
    stack: &Stack,
    key: &str,
    problems: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) {
    let svc = &stack.services[key];
    let at = |field: &str| format!("services.{key}.{field}");
    if let Some(mode) = &svc.network_mode {
        problems.push(
            Diagnostic::error(
                at("network_mode"),
                format!("`network_mode: {mode}` is not available for swarm services"),
            )
            .with_hint("remove `network_mode` and let the service join the stack's networks, or run this stack locally (`pier up`)"),
        );
    }
    if svc.privileged {
        warnings.push(
            Diagnostic::warning(
                at("privileged"),
                "swarm services cannot run privileged; the service runs unprivileged",
            )
            .with_hint("run this stack locally (`pier up`) if the service needs privileges"),
        );
    }
    if let Some(name) = &svc.container_name {
        warnings.push(Diagnostic::warning(
            at("container_name"),
            format!(
                "ignored on the swarm target: tasks are named `{}.<slot>.<id>`, not `{name}`",
                stack.scoped_name(key)
            ),
        ));
    }
    for field in svc.engine_only_keys() {
        warnings.push(
            Diagnostic::warning(
                at(field),
                format!("`{field}` is not carried out on the swarm target"),
            )
            .with_hint("run this stack locally (`pier up`) where the service needs it"),
        );
    }
    let replicas = svc.replicas.unwrap_or(1);
    for (i, p) in svc.ports.iter().enumerate() {
        let Some(published) = p.published else {
            continue;
        };
        let shown = format!("{published}:{}", p.target);
        if !matches!(p.host_ip.as_str(), "0.0.0.0" | "::" | "") {
            warnings.push(
                Diagnostic::warning(
                    at(&format!("ports[{i}]")),
                    format!(
                        "on the swarm target port {published} is reachable on every interface of the node, not only {}: swarm services cannot publish on one address",
                        p.host_ip
                    ),
                )
                .with_hint(format!(
                    "write `0.0.0.0:{shown}` to say so and silence this, or firewall the port; `pier up` (local) keeps binding {}",
                    p.host_ip
                )),
            );
        }
        if replicas > 1 {
            warnings.push(
                Diagnostic::warning(
                    at(&format!("ports[{i}]")),
                    format!(
                        "with {replicas} replicas, host port {published} can be bound by one task per node; the other tasks stay pending on a single-node swarm"
                    ),
                )
                .with_hint(format!("publish only the container port (`\"{}\"`) to let each task get its own host port", p.target)),
            );
        }
    }
    for (i, m) in svc.volumes.iter().enumerate() {
        if m.kind == MountKind::Bind {
            warnings.push(
                Diagnostic::warning(
                    at(&format!("volumes[{i}]")),
                    format!(
                        "bind mount of {}: on a swarm of several nodes that path must exist on every node that runs the service",
                        m.source.as_deref().unwrap_or("?")
                    ),
                ),
            );
        }
    }
}

impl fmt::Display for SwarmPlan {
    /// The desired state as text (what the stack asks of a swarm, by start level);
    /// the dry run prints the `Plan` made of it against the swarm instead.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "project {} on swarm:", self.project)?;
        for n in &self.networks {
            let internal = if n.internal { ", internal" } else { "" };
            writeln!(f, "  network {} ({OVERLAY}{internal})", n.name)?;
        }
        for s in &self.secrets {
            let from = match &s.source {
                SecretSource::File(path) => format!("file {}", path.display()),
                SecretSource::Environment(var) => format!("variable {var}"),
            };
            writeln!(f, "  secret {} (from {from})", s.name)?;
        }
        for (i, level) in self.levels.iter().enumerate() {
            for s in level {
                let replicas = match s.replicas {
                    1 => "1 replica".to_string(),
                    n => format!("{n} replicas"),
                };
                write!(
                    f,
                    "  level {i}: service {} ({}, {replicas}, until {})",
                    s.name,
                    s.image,
                    s.ready.as_str()
                )?;
                if !s.depends_on.is_empty() {
                    write!(f, " after {}", s.depends_on.join(", "))?;
                }
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
