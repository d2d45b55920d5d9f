//! What one stack service becomes on a swarm: plain data the engine adapter turns
//! into the service API's spec (`engine::swarm_service`). Pure: built from the model.
//!
//! The translation follows `docker stack deploy`: the service is `<project>_<service>`,
//! Compose's `entrypoint` is the spec's command and Compose's `command` its args,
//! `restart` becomes the restart condition, and each network attachment carries the
//! service key as alias so that neighbours reach it by its stack name. Two things
//! differ on purpose, both because they work where the swarm's IPVS load balancer is
//! missing (many development VMs) and match what a local stack does:
//! - endpoint mode `dnsrr`: the service name resolves to the tasks' own addresses
//!   instead of a virtual IP that needs IPVS;
//! - published ports use `host` mode: bound on the node that runs the task, like
//!   `docker run -p`, instead of the ingress routing mesh (which needs IPVS too).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::labels;
use crate::plan::reconcile::final_condition;
use crate::plan::spec::{MountType, PortProtocol};
use crate::stack::model::{
    Build, Condition, Healthcheck, MountKind, RestartPolicy, Service, Stack,
};

/// One service of the stack as a swarm service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwarmService {
    /// The service key in the stack file, e.g. `db`.
    pub key: String,
    /// The swarm service name: `<project>_<key>`.
    pub name: String,
    pub image: String,
    /// Where the image is built from, for a `build:` service: swarm cannot build, so
    /// the image must exist already. Not part of the config hash (the image name is).
    #[serde(skip)]
    pub build: Option<Build>,
    /// Compose's `entrypoint` (the spec's `Command`).
    pub entrypoint: Option<Vec<String>>,
    /// Compose's `command` (the spec's `Args`).
    pub command: Option<Vec<String>>,
    /// `KEY=value`, sorted by key.
    pub env: Vec<String>,
    /// The service's own `labels:`, set on its task containers (as Compose sets them on containers).
    pub container_labels: BTreeMap<String, String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub tty: bool,
    pub stdin_open: bool,
    pub stop_signal: Option<String>,
    pub stop_grace_period: Option<Duration>,
    /// `/etc/hosts` lines, `IP name` (the spec's format; Compose writes `name:IP`).
    pub hosts: Vec<String>,
    pub networks: Vec<Attachment>,
    pub mounts: Vec<SwarmMount>,
    pub ports: Vec<SwarmPort>,
    pub secrets: Vec<SecretRef>,
    pub healthcheck: Option<Healthcheck>,
    pub restart: Restart,
    pub replicas: u32,
    /// What `up` waits for before starting the services that depend on this one.
    pub ready: Condition,
    /// Keys of the services this one depends on (the `io.pier.depends-on` label).
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    /// Engine name of the network.
    pub network: String,
    /// The service key first, then the aliases from the file.
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwarmMount {
    pub kind: MountType,
    /// Volume: engine name (None for anonymous). Bind: absolute host path.
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
    /// For a named volume pier manages: its key, so the volume the node creates is
    /// labelled like the ones local `up` creates. None for external volumes.
    pub volume_key: Option<String>,
    pub volume_driver: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SwarmPort {
    pub target: u16,
    /// None: the engine picks one.
    pub published: Option<u16>,
    pub protocol: PortProtocol,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    /// The swarm secret's name, `<project>_<key>`.
    pub secret: String,
    /// Path in the container.
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartCondition {
    Any,
    OnFailure,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Restart {
    pub condition: RestartCondition,
    pub max_attempts: Option<u32>,
}

/// The restart policy: the file's `restart`, else the swarm's own default (`any`) —
/// except for a one-shot service others wait to see completed, which must not be
/// started again once it has exited 0.
fn restart(svc: &Service, ready: Condition) -> Restart {
    let (condition, max_attempts) = match svc.restart {
        Some(RestartPolicy::No) => (RestartCondition::None, None),
        Some(RestartPolicy::Always | RestartPolicy::UnlessStopped) => (RestartCondition::Any, None),
        Some(RestartPolicy::OnFailure(max)) => (RestartCondition::OnFailure, max),
        None if ready == Condition::CompletedSuccessfully => (RestartCondition::None, None),
        None => (RestartCondition::Any, None),
    };
    Restart {
        condition,
        max_attempts,
    }
}

/// `name:IP` (Compose) → `IP name` (the service API); `name=IP` is accepted too.
fn host_line(entry: &str) -> String {
    match entry.split_once('=').or_else(|| entry.split_once(':')) {
        Some((name, ip)) => format!("{ip} {name}"),
        None => entry.to_string(),
    }
}

impl SwarmService {
    /// The swarm form of `stack.services[key]`.
    pub fn from_stack(stack: &Stack, key: &str) -> SwarmService {
        let svc = &stack.services[key];
        let ready = final_condition(stack, key);
        let networks = svc
            .networks
            .iter()
            .map(|(net, n)| {
                let mut aliases = vec![key.to_string()];
                aliases.extend(n.aliases.iter().filter(|a| *a != key).cloned());
                Attachment {
                    network: stack.network_name(net),
                    aliases,
                }
            })
            .collect();
        let mounts = svc
            .volumes
            .iter()
            .map(|m| {
                let named = match (m.kind, &m.source) {
                    (MountKind::Volume, Some(k)) => Some(k),
                    _ => None,
                };
                let def = named.and_then(|k| stack.volumes.get(k));
                SwarmMount {
                    kind: m.kind.into(),
                    source: match named {
                        Some(k) => Some(stack.volume_name(k)),
                        None => m.source.clone(),
                    },
                    target: m.target.clone(),
                    read_only: m.read_only,
                    volume_key: named.filter(|_| !def.is_some_and(|v| v.external)).cloned(),
                    volume_driver: def.and_then(|v| v.driver.clone()),
                }
            })
            .collect();
        SwarmService {
            key: key.to_string(),
            name: stack.scoped_name(key),
            image: stack.image_of(key),
            build: svc.build.clone(),
            entrypoint: svc.entrypoint.clone(),
            command: svc.command.clone(),
            env: svc
                .environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
            container_labels: svc.labels.clone(),
            working_dir: svc.working_dir.clone(),
            user: svc.user.clone(),
            hostname: svc.hostname.clone(),
            tty: svc.tty,
            stdin_open: svc.stdin_open,
            stop_signal: svc.stop_signal.clone(),
            stop_grace_period: svc.stop_grace_period,
            hosts: svc.extra_hosts.iter().map(|h| host_line(h)).collect(),
            networks,
            mounts,
            ports: svc
                .ports
                .iter()
                .map(|p| SwarmPort {
                    target: p.target,
                    published: p.published,
                    protocol: p.protocol.into(),
                })
                .collect(),
            secrets: svc
                .secrets
                .iter()
                .map(|s| SecretRef {
                    secret: stack.scoped_name(&s.source),
                    target: s.target.clone(),
                })
                .collect(),
            healthcheck: svc.healthcheck.clone(),
            restart: restart(svc, ready),
            replicas: svc.replicas.unwrap_or(1),
            ready,
            depends_on: svc.depends_on.keys().cloned().collect(),
        }
    }

    /// sha256 of the whole swarm form: a service whose hash label differs is updated.
    pub fn config_hash(&self) -> String {
        let json = serde_json::to_string(self).expect("a swarm service always serializes");
        hex::encode(Sha256::digest(json.as_bytes()))
    }

    /// Short hash of each field, named as in the stack file where the swarm form
    /// names it otherwise (`env` is `environment`): what an update names as changed.
    pub fn field_hashes(&self) -> BTreeMap<String, String> {
        let value = serde_json::to_value(self).expect("a swarm service always serializes");
        crate::plan::hash::object_field_hashes(&value, |field| match field {
            "env" => "environment",
            "container_labels" => "labels",
            "hosts" => "extra_hosts",
            other => other,
        })
    }

    /// The `io.pier.config-fields` label value: `command=…,environment=…`.
    pub fn fields_label(&self) -> String {
        crate::plan::hash::fields_label(&self.field_hashes())
    }

    /// The labels on the swarm service itself (not on its task containers: local
    /// `pier up`/`down` find containers by `io.pier.project` and must not take a
    /// swarm task for one of theirs).
    pub fn labels(&self, project: &str) -> BTreeMap<String, String> {
        [
            (labels::PROJECT, project.to_string()),
            (labels::SERVICE, self.key.clone()),
            (labels::CONFIG_HASH, self.config_hash()),
            (labels::CONFIG_FIELDS, self.fields_label()),
            (labels::VERSION, env!("CARGO_PKG_VERSION").to_string()),
            (labels::DEPENDS_ON, self.depends_on.join(",")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extra_hosts_are_written_the_way_the_service_api_reads_them() {
        assert_eq!(host_line("db.local:10.0.0.5"), "10.0.0.5 db.local");
        assert_eq!(host_line("db.local=10.0.0.5"), "10.0.0.5 db.local");
        // An IPv6 address keeps its colons: only the first one separates the name.
        assert_eq!(host_line("ip6:::1"), "::1 ip6");
    }
}
