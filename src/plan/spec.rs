//! What the engine needs to create one container, or build one image, as plain data
//! (DESIGN §1 rule 2): built by pure functions from the Stack, carried by the plan's
//! steps, translated into API calls by `engine/` without a look at the Stack.
//!
//! Every name in a spec is resolved here: volume keys are engine volume names,
//! network keys are engine network names, `network_mode: service:x` is
//! `container:<x's container>`. Secrets that come from a variable appear by key
//! and target only: their values reach the executor at run time
//! (`ExecuteOptions::secrets`), never the plan.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::labels;
use crate::plan::hash::ConfigHash;
use crate::stack::model::{
    Condition, ConfigSource, Device, Hook, Logging, MountKind, PortMapping, Protocol,
    RestartPolicy, SecretSource, Service, Stack, VolumesSource,
};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    /// The user's labels and pier's (`labels.rs`): project, service, config hash, …
    pub labels: BTreeMap<String, String>,
    pub environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub tty: bool,
    pub stdin_open: bool,
    /// Close the container's stdin when the one attached client's input ends (so a
    /// command fed through a pipe sees end-of-file): `pier run`'s one-offs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdin_once: bool,
    /// The engine removes the container when it exits (`pier run -d --rm`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auto_remove: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Seconds the engine waits after the stop signal before killing it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout_secs: Option<u64>,
    /// Container ports, `80/tcp`, sorted: published ones and `expose`d ones.
    pub exposed_ports: Vec<String>,
    pub ports: Vec<PortSpec>,
    pub mounts: Vec<MountSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartSpec>,
    pub privileged: bool,
    /// Memory limit in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    pub extra_hosts: Vec<String>,
    /// The engine's network mode when the service sets one (`host`, `none`,
    /// `container:<name>`); None joins `networks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// Engine networks to join, in order; the first is joined at create.
    pub networks: Vec<NetworkSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthSpec>,
    /// Secrets from a variable, written at their target before the container starts.
    pub secrets: Vec<SecretTarget>,
    /// `content:`/`environment:` configs, written at their target before it starts
    /// (file configs are read-only bind mounts among `mounts`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileSpec>,
    /// `post_start` hooks, run by the plan's own steps after the start.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<HookSpec>,
    /// Everything else of the engine's host config, as the stack says it.
    #[serde(flatten)]
    pub host: HostSpec,
}

/// Fields of the engine's create call that are passed through as they are, limits
/// already merged with their `deploy.resources` twins. Empty ones are not sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostSpec {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<UlimitSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// CPUs in billionths (`cpus: 0.5` is 500000000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<u64>,
    /// Bytes; -1 unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swap: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_swappiness: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kill_disable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    /// `service:x` resolved to `container:<x's first container>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uts: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// `volumes_from`, as the engine takes it: `<container>[:ro|rw]`, a service
    /// resolved to its first container (as Compose does).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<String>,
}

/// One resource limit of the container's processes (`ulimit -n`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UlimitSpec {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// A file written into the container before it starts (a config's content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSpec {
    pub target: String,
    pub content: String,
}

/// A command exec'd in a running container (`post_start`, `pre_stop`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct HookSpec {
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
}

/// The `io.pier.pre-stop` label's hooks; none when absent or unreadable.
pub fn parse_hooks_label(label: Option<&String>) -> Vec<HookSpec> {
    label
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default()
}

impl From<&Hook> for HookSpec {
    fn from(h: &Hook) -> HookSpec {
        HookSpec {
            command: h.command.clone(),
            user: h.user.clone(),
            privileged: h.privileged,
            working_dir: h.working_dir.clone(),
            environment: h.environment.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortSpec {
    pub host_ip: String,
    /// None lets the engine choose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    pub target: u16,
    pub protocol: PortProtocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PortProtocol {
    Tcp,
    Udp,
}

impl PortProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            PortProtocol::Tcp => "tcp",
            PortProtocol::Udp => "udp",
        }
    }
}

impl From<&PortMapping> for PortSpec {
    fn from(p: &PortMapping) -> PortSpec {
        PortSpec {
            host_ip: p.host_ip.clone(),
            host_port: p.published,
            target: p.target,
            protocol: p.protocol.into(),
        }
    }
}

impl From<Protocol> for PortProtocol {
    fn from(p: Protocol) -> PortProtocol {
        match p {
            Protocol::Tcp => PortProtocol::Tcp,
            Protocol::Udp => PortProtocol::Udp,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    Volume,
    Bind,
    Tmpfs,
}

impl From<MountKind> for MountType {
    fn from(k: MountKind) -> MountType {
        match k {
            MountKind::Volume => MountType::Volume,
            MountKind::Bind => MountType::Bind,
            MountKind::Tmpfs => MountType::Tmpfs,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountSpec {
    #[serde(rename = "type")]
    pub kind: MountType,
    /// Volume: its engine name (None: anonymous). Bind: the host path. Tmpfs: None.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartSpec {
    No,
    Always,
    UnlessStopped,
    OnFailure { max_retries: Option<u32> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkSpec {
    /// The engine's network name.
    pub name: String,
    /// The service name first, then the file's aliases.
    pub aliases: Vec<String>,
    /// `links`, as the engine takes them: `<container>:<alias>`, one per
    /// container of the linked service (as Compose v2 sets them, on every network).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthSpec {
    /// The engine's list form: `["CMD", …]`, `["CMD-SHELL", "…"]`, `["NONE"]`.
    pub test: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "secs")]
    pub interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "secs")]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "secs")]
    pub start_period: Option<Duration>,
    /// Sent to engines that know it (API 1.44+); pier's own probe, which runs
    /// the test far more often while it waits, covers older ones.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "secs")]
    pub start_interval: Option<Duration>,
}

/// Durations in a spec serialize as seconds (e.g. `1.5`).
fn secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// A secret whose value comes from a variable: its key under top-level `secrets`
/// and where it goes in the container. Never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretTarget {
    pub key: String,
    pub target: String,
}

/// What building one image needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildSpec {
    pub context: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    pub args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// `pier build --no-cache`: build every step anew.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
    /// `pier build --pull`: pull a newer base image first.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pull: bool,
}

/// The readiness a wait step waits for (plan-owned, so that the executor does not
/// read the Stack model); the same words as Compose's `depends_on` conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Readiness {
    #[serde(rename = "service_started")]
    Started,
    #[serde(rename = "service_healthy")]
    Healthy,
    #[serde(rename = "service_completed_successfully")]
    CompletedSuccessfully,
}

impl Readiness {
    pub fn as_str(self) -> &'static str {
        Condition::from(self).as_str()
    }
}

impl From<Condition> for Readiness {
    fn from(c: Condition) -> Readiness {
        match c {
            Condition::Started => Readiness::Started,
            Condition::Healthy => Readiness::Healthy,
            Condition::CompletedSuccessfully => Readiness::CompletedSuccessfully,
        }
    }
}

impl From<Readiness> for Condition {
    fn from(r: Readiness) -> Condition {
        match r {
            Readiness::Started => Condition::Started,
            Readiness::Healthy => Condition::Healthy,
            Readiness::CompletedSuccessfully => Condition::CompletedSuccessfully,
        }
    }
}

/// The probe command of `service`'s own healthcheck, if it has a test.
pub fn probe_of(stack: &Stack, service: &str) -> Option<Vec<String>> {
    stack.services[service]
        .healthcheck
        .as_ref()
        .and_then(|h| h.test.exec_command())
}

/// How long one run of `service`'s health test may take, in milliseconds: its
/// `timeout:`, else the engine's default (30 s). None without a test.
pub fn probe_timeout_ms_of(stack: &Stack, service: &str) -> Option<u64> {
    let check = stack.services[service].healthcheck.as_ref()?;
    check.test.exec_command()?;
    let timeout = check.timeout.unwrap_or(std::time::Duration::from_secs(30));
    Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX))
}

/// The build of `service`, or None when it has no `build:` section.
pub fn build_spec(stack: &Stack, service: &str) -> Option<BuildSpec> {
    stack.services[service].build.as_ref().map(|b| BuildSpec {
        context: b.context.clone(),
        dockerfile: b.dockerfile.clone(),
        args: b.args.clone(),
        target: b.target.clone(),
        no_cache: false,
        pull: false,
    })
}

impl ContainerSpec {
    /// The container of `service` as the stack describes it, labelled for
    /// `observe`, joined to its networks with the service name as alias.
    pub fn of(stack: &Stack, service: &str) -> ContainerSpec {
        ContainerSpec::with_hash(stack, service, &ConfigHash::of(&stack.services[service]))
    }

    /// `of`, with the service's config hash the planner has already computed.
    pub fn with_hash(stack: &Stack, service: &str, hash: &ConfigHash) -> ContainerSpec {
        let svc = &stack.services[service];

        let mut labels = svc.labels.clone();
        labels.insert(labels::PROJECT.into(), stack.name.clone());
        labels.insert(labels::SERVICE.into(), service.into());
        labels.insert(labels::CONFIG_HASH.into(), hash.total.clone());
        labels.insert(labels::CONFIG_FIELDS.into(), hash.fields_label());
        labels.insert(labels::VERSION.into(), env!("CARGO_PKG_VERSION").into());
        labels.insert(
            labels::WORKING_DIR.into(),
            stack.project_dir.to_string_lossy().into_owned(),
        );
        let deps: Vec<&str> = svc.depends_on.keys().map(String::as_str).collect();
        labels.insert(labels::DEPENDS_ON.into(), deps.join(","));
        let host = host_spec(stack, svc);
        if !host.volumes_from.is_empty() {
            let names: Vec<&str> = host
                .volumes_from
                .iter()
                .map(|v| v.split(':').next().unwrap_or(v))
                .collect();
            labels.insert(labels::VOLUMES_FROM.into(), names.join(","));
        }
        if !svc.pre_stop.is_empty() {
            let hooks: Vec<HookSpec> = svc.pre_stop.iter().map(HookSpec::from).collect();
            let json = serde_json::to_string(&hooks).expect("hooks always serialize");
            labels.insert(labels::PRE_STOP.into(), json);
        }

        let ports: Vec<PortSpec> = svc.ports.iter().map(PortSpec::from).collect();
        let mut exposed: Vec<String> = svc
            .expose
            .iter()
            .map(|p| {
                if p.contains('/') {
                    p.clone()
                } else {
                    format!("{p}/tcp")
                }
            })
            .chain(
                ports
                    .iter()
                    .map(|p| format!("{}/{}", p.target, p.protocol.as_str())),
            )
            .collect();
        exposed.sort();
        exposed.dedup();

        let mut mounts: Vec<MountSpec> = svc
            .volumes
            .iter()
            .map(|m| MountSpec {
                kind: m.kind.into(),
                source: match (m.kind, &m.source) {
                    (MountKind::Volume, Some(key)) => Some(stack.volume_name(key)),
                    (_, src) => src.clone(),
                },
                target: m.target.clone(),
                read_only: m.read_only,
            })
            .collect();
        // File-backed secrets are bind-mounted read-only, as Compose does locally.
        let mut secrets = Vec::new();
        for s in &svc.secrets {
            match stack.secrets.get(&s.source).map(|d| &d.source) {
                Some(SecretSource::File(path)) => mounts.push(MountSpec {
                    kind: MountType::Bind,
                    source: Some(path.to_string_lossy().into_owned()),
                    target: s.target.clone(),
                    read_only: true,
                }),
                Some(SecretSource::Environment(_)) => secrets.push(SecretTarget {
                    key: s.source.clone(),
                    target: s.target.clone(),
                }),
                None => {}
            }
        }
        // Configs as Compose runs them locally: a file is bind-mounted read-only, a
        // text is written at its target before the container starts.
        let mut files = Vec::new();
        for c in &svc.configs {
            let Some(def) = stack.configs.get(&c.source) else {
                continue;
            };
            match (&def.source, &def.value) {
                (ConfigSource::File(path), _) => mounts.push(MountSpec {
                    kind: MountType::Bind,
                    source: Some(path.to_string_lossy().into_owned()),
                    target: c.target.clone(),
                    read_only: true,
                }),
                (_, value) => files.push(FileSpec {
                    target: c.target.clone(),
                    content: value.clone().unwrap_or_default(),
                }),
            }
        }

        let links: Vec<String> = svc
            .links
            .iter()
            .flat_map(|link| {
                stack
                    .container_names(&link.service)
                    .into_iter()
                    .map(move |container| format!("{container}:{}", link.name()))
            })
            .collect();
        let networks = if svc.network_mode.is_some() {
            vec![]
        } else {
            svc.networks
                .iter()
                .map(|(key, n)| NetworkSpec {
                    name: stack.network_name(key),
                    aliases: std::iter::once(service.to_string())
                        .chain(n.aliases.iter().cloned())
                        .collect(),
                    links: links.clone(),
                })
                .collect()
        };

        ContainerSpec {
            name: stack.container_name(service),
            image: stack.image_of(service),
            labels,
            environment: svc.environment.clone(),
            command: svc.command.clone(),
            entrypoint: svc.entrypoint.clone(),
            user: svc.user.clone(),
            working_dir: svc.working_dir.clone(),
            hostname: svc.hostname.clone(),
            tty: svc.tty,
            stdin_open: svc.stdin_open,
            stdin_once: false,
            auto_remove: false,
            stop_signal: svc.stop_signal.clone(),
            stop_timeout_secs: svc.stop_grace_period.map(|d| d.as_secs()),
            exposed_ports: exposed,
            ports,
            mounts,
            restart: svc.restart.map(|r| match r {
                RestartPolicy::No => RestartSpec::No,
                RestartPolicy::Always => RestartSpec::Always,
                RestartPolicy::UnlessStopped => RestartSpec::UnlessStopped,
                RestartPolicy::OnFailure(max) => RestartSpec::OnFailure { max_retries: max },
            }),
            privileged: svc.privileged,
            memory: svc.mem_limit.or(svc.resources.limits.memory),
            extra_hosts: svc.extra_hosts.clone(),
            // Compose's `service:NAME` is the engine's `container:<its container>`.
            network_mode: svc.network_mode.as_deref().map(|m| service_mode(stack, m)),
            networks,
            healthcheck: svc.healthcheck.as_ref().map(|h| HealthSpec {
                test: h.test.to_vec(),
                interval: h.interval,
                timeout: h.timeout,
                retries: h.retries,
                start_period: h.start_period,
                start_interval: h.start_interval,
            }),
            secrets,
            files,
            post_start: svc.post_start.iter().map(HookSpec::from).collect(),
            host,
        }
    }
}

/// `service:x` (in `ipc`, `pid`) is the engine's `container:<x's container>`.
fn service_mode(stack: &Stack, mode: &str) -> String {
    match mode.strip_prefix("service:") {
        Some(other) => format!("container:{}", stack.container_name(other)),
        None => mode.to_string(),
    }
}

fn host_spec(stack: &Stack, svc: &Service) -> HostSpec {
    let (limits, reservations) = (&svc.resources.limits, &svc.resources.reservations);
    HostSpec {
        cap_add: svc.cap_add.clone(),
        cap_drop: svc.cap_drop.clone(),
        ulimits: svc
            .ulimits
            .iter()
            .map(|(name, u)| {
                let (soft, hard) = u.bounds();
                UlimitSpec {
                    name: name.clone(),
                    soft,
                    hard,
                }
            })
            .collect(),
        init: svc.init,
        shm_size: svc.shm_size,
        sysctls: svc.sysctls.clone(),
        devices: svc.devices.clone(),
        device_cgroup_rules: svc.device_cgroup_rules.clone(),
        platform: svc.platform.clone(),
        read_only: svc.read_only,
        dns: svc.dns.clone(),
        dns_search: svc.dns_search.clone(),
        dns_opt: svc.dns_opt.clone(),
        domainname: svc.domainname.clone(),
        group_add: svc.group_add.clone(),
        security_opt: svc.security_opt.clone(),
        pids_limit: svc.pids_limit.or(limits.pids),
        nano_cpus: svc.cpus.or(limits.cpus).map(|c| (c * 1e9).round() as i64),
        cpu_shares: svc.cpu_shares,
        cpuset: svc.cpuset.clone(),
        cpu_period: svc.cpu_period,
        cpu_quota: svc.cpu_quota,
        memory_reservation: svc.mem_reservation.or(reservations.memory),
        memory_swap: svc.memswap_limit,
        memory_swappiness: svc.mem_swappiness,
        oom_score_adj: svc.oom_score_adj,
        oom_kill_disable: svc.oom_kill_disable,
        userns_mode: svc.userns_mode.clone(),
        cgroup: svc.cgroup.clone(),
        cgroup_parent: svc.cgroup_parent.clone(),
        ipc: svc.ipc.as_deref().map(|m| service_mode(stack, m)),
        pid: svc.pid.as_deref().map(|m| service_mode(stack, m)),
        uts: svc.uts.clone(),
        storage_opt: svc.storage_opt.clone(),
        logging: svc.logging.clone(),
        runtime: svc.runtime.clone(),
        volumes_from: svc
            .volumes_from
            .iter()
            .map(|v| {
                let container = match &v.source {
                    VolumesSource::Service(name) => stack.container_name(name),
                    VolumesSource::Container(name) => name.clone(),
                };
                match &v.mode {
                    Some(mode) => format!("{container}:{mode}"),
                    None => container,
                }
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::stack::model::HealthTest;
    use crate::stack::{Variables, load_str};

    /// The stack in a project directory that holds the secret file it names.
    fn load(text: &str) -> (Stack, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db_password.txt"), "s3cret").unwrap();
        let (stack, _) = load_str(
            text,
            &dir.path().join("pier.yaml"),
            dir.path(),
            &Variables::new(BTreeMap::new()),
            None,
        )
        .unwrap_or_else(|d| panic!("{d:?}"));
        (stack, dir)
    }

    const SHOP: &str = r#"
name: shop
services:
  db:
    image: postgres:16
    environment: {POSTGRES_DB: shop}
    volumes: [db-data:/var/lib/postgresql/data]
    secrets:
      - db_password
      - source: api_key
        target: /etc/api-key
    healthcheck:
      test: pg_isready
      interval: 1s
      retries: 5
    restart: on-failure:3
  web:
    image: nginx:1
    labels: {team: shop}
    ports: ["8080:80", "0.0.0.0:8443:443/tcp", "53/udp"]
    expose: ["9000"]
    volumes: ["./html:/usr/share/nginx/html:ro", "/cache"]
    depends_on: [db]
    networks:
      front: {aliases: [www]}
      default: {}
    stop_grace_period: 20s
    mem_limit: 64m
    extra_hosts: ["gw:10.0.0.1"]
  sidecar:
    image: busybox
    network_mode: service:web
    command: sleep 1000
networks:
  front: {}
volumes:
  db-data: {}
secrets:
  db_password: {file: ./db_password.txt}
  api_key: {environment: API_KEY}
"#;

    fn pier_labels(stack: &Stack, service: &str) -> BTreeMap<String, String> {
        let svc = &stack.services[service];
        let hash = ConfigHash::of(svc);
        let deps: Vec<&str> = svc.depends_on.keys().map(String::as_str).collect();
        [
            (labels::PROJECT, "shop".to_string()),
            (labels::SERVICE, service.to_string()),
            (labels::CONFIG_HASH, hash.total.clone()),
            (labels::CONFIG_FIELDS, hash.fields_label()),
            (labels::VERSION, env!("CARGO_PKG_VERSION").to_string()),
            (
                labels::WORKING_DIR,
                stack.project_dir.to_string_lossy().into_owned(),
            ),
            (labels::DEPENDS_ON, deps.join(",")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    #[test]
    fn web_spec_whole() {
        let (stack, dir) = load(SHOP);
        let mut labels = pier_labels(&stack, "web");
        labels.insert("team".into(), "shop".into());
        assert!(labels[labels::CONFIG_HASH].len() == 64, "{labels:?}");
        assert_eq!(labels[labels::DEPENDS_ON], "db");
        let port = |host_ip: &str, host_port, target, protocol| PortSpec {
            host_ip: host_ip.into(),
            host_port,
            target,
            protocol,
        };
        assert_eq!(
            ContainerSpec::of(&stack, "web"),
            ContainerSpec {
                name: "shop-web-1".into(),
                image: "nginx:1".into(),
                labels,
                environment: BTreeMap::new(),
                stop_timeout_secs: Some(20),
                exposed_ports: vec![
                    "443/tcp".into(),
                    "53/udp".into(),
                    "80/tcp".into(),
                    "9000/tcp".into()
                ],
                // No host address in the file: 127.0.0.1 (DESIGN §4).
                ports: vec![
                    port("127.0.0.1", Some(8080), 80, PortProtocol::Tcp),
                    port("0.0.0.0", Some(8443), 443, PortProtocol::Tcp),
                    port("127.0.0.1", None, 53, PortProtocol::Udp),
                ],
                mounts: vec![
                    MountSpec {
                        kind: MountType::Bind,
                        source: Some(dir.path().join("html").to_string_lossy().into_owned()),
                        target: "/usr/share/nginx/html".into(),
                        read_only: true,
                    },
                    MountSpec {
                        kind: MountType::Volume,
                        source: None,
                        target: "/cache".into(),
                        read_only: false,
                    },
                ],
                memory: Some(64 * 1024 * 1024),
                extra_hosts: vec!["gw:10.0.0.1".into()],
                networks: vec![
                    NetworkSpec {
                        name: "shop_default".into(),
                        aliases: vec!["web".into()],
                        links: vec![],
                    },
                    NetworkSpec {
                        name: "shop_front".into(),
                        aliases: vec!["web".into(), "www".into()],
                        links: vec![],
                    },
                ],
                ..ContainerSpec::default()
            }
        );
    }

    #[test]
    fn db_spec_whole_with_volume_secrets_and_healthcheck() {
        let (stack, dir) = load(SHOP);
        let spec = ContainerSpec::of(&stack, "db");
        assert_eq!(
            spec,
            ContainerSpec {
                name: "shop-db-1".into(),
                image: "postgres:16".into(),
                labels: pier_labels(&stack, "db"),
                environment: [("POSTGRES_DB".to_string(), "shop".to_string())].into(),
                mounts: vec![
                    // The volume key resolved to the engine's volume name.
                    MountSpec {
                        kind: MountType::Volume,
                        source: Some("shop_db-data".into()),
                        target: "/var/lib/postgresql/data".into(),
                        read_only: false,
                    },
                    // A file-backed secret: a read-only bind mount.
                    MountSpec {
                        kind: MountType::Bind,
                        source: Some(
                            dir.path()
                                .join("db_password.txt")
                                .to_string_lossy()
                                .into_owned(),
                        ),
                        target: "/run/secrets/db_password".into(),
                        read_only: true,
                    },
                ],
                restart: Some(RestartSpec::OnFailure {
                    max_retries: Some(3)
                }),
                networks: vec![NetworkSpec {
                    name: "shop_default".into(),
                    aliases: vec!["db".into()],
                    links: vec![],
                }],
                healthcheck: Some(HealthSpec {
                    test: vec!["CMD-SHELL".into(), "pg_isready".into()],
                    interval: Some(Duration::from_secs(1)),
                    timeout: None,
                    retries: Some(5),
                    start_period: None,
                    start_interval: None,
                }),
                // A variable-backed secret: its key and target, never a value.
                secrets: vec![SecretTarget {
                    key: "api_key".into(),
                    target: "/etc/api-key".into(),
                }],
                ..ContainerSpec::default()
            }
        );
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["healthcheck"]["interval"], 1.0);
        assert_eq!(json["mounts"][0]["type"], "volume");
        assert_eq!(
            json["secrets"],
            serde_json::json!([{"key": "api_key", "target": "/etc/api-key"}])
        );
    }

    #[test]
    fn network_mode_service_is_the_container_of_that_service() {
        let (stack, _dir) = load(SHOP);
        let spec = ContainerSpec::of(&stack, "sidecar");
        assert_eq!(spec.network_mode.as_deref(), Some("container:shop-web-1"));
        assert_eq!(spec.networks, vec![]);
        assert_eq!(
            spec.command,
            Some(vec!["sleep".to_string(), "1000".to_string()])
        );
    }

    #[test]
    fn volumes_from_and_links_name_the_containers() {
        let (stack, _dir) = load(
            r#"
name: shop
services:
  data:
    image: busybox
    scale: 2
  files:
    image: busybox
    container_name: shop-files
  app:
    image: busybox
    volumes_from: [data, "files:ro", "container:elsewhere", "container:other:rw"]
    links: [data, "files:store"]
    networks: [default, back]
networks:
  back: {}
"#,
        );
        let spec = ContainerSpec::of(&stack, "app");
        // A service is its first container, as Compose resolves it.
        assert_eq!(
            spec.host.volumes_from,
            ["shop-data-1", "shop-files:ro", "elsewhere", "other:rw"]
        );
        // Every container of a linked service, under the alias, on every network.
        let links = ["shop-data-1:data", "shop-data-2:data", "shop-files:store"];
        assert_eq!(spec.networks.len(), 2);
        for network in &spec.networks {
            assert_eq!(network.links, links, "{}", network.name);
        }
        // Which containers' volumes are not its own (a recreate leaves them).
        assert_eq!(
            spec.labels[labels::VOLUMES_FROM],
            "shop-data-1,shop-files,elsewhere,other"
        );
        assert!(
            !ContainerSpec::of(&stack, "data")
                .labels
                .contains_key(labels::VOLUMES_FROM)
        );
        // What `up --dry-run --json` shows.
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(json["volumes_from"][1], "shop-files:ro");
        assert_eq!(json["networks"][0]["links"][2], "shop-files:store");
        // Changing either recreates the container, naming it.
        let before = ConfigHash::of(&stack.services["app"]);
        let mut edited = stack.services["app"].clone();
        edited.volumes_from[1].mode = None;
        edited.links.pop();
        assert_eq!(
            ConfigHash::of(&edited).changed_fields(&before.fields),
            ["links", "volumes_from"]
        );
    }

    #[test]
    fn probe_commands() {
        let (stack, _dir) = load(SHOP);
        assert_eq!(
            probe_of(&stack, "db"),
            Some(vec!["/bin/sh".into(), "-c".into(), "pg_isready".into()])
        );
        assert_eq!(probe_of(&stack, "web"), None);
        assert_eq!(
            HealthTest::Cmd(vec!["true".into()]).exec_command(),
            Some(vec!["true".into()])
        );
        assert_eq!(HealthTest::None.exec_command(), None);
    }

    const KEYS: &str = r#"
name: keys
services:
  app:
    image: busybox
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    deploy:
      resources:
        limits: {cpus: "0.5", memory: 128M, pids: 100}
        reservations: {memory: 64M}
    configs: [app_conf, {source: inline, target: etc/inline.conf}]
    init: true
    shm_size: 64m
    sysctls: [net.core.somaxconn=1024]
    devices: ["/dev/null:/dev/xnull:rw"]
    platform: linux/amd64
    read_only: true
    dns: 1.1.1.1
    domainname: example.com
    group_add: [audio, 1000]
    security_opt: [no-new-privileges:true]
    oom_score_adj: 100
    ipc: service:db
    pid: host
    logging: {driver: json-file, options: {max-size: 10m}}
    healthcheck: {test: [CMD, "true"], start_interval: 1s}
    post_start:
      - command: touch /tmp/started
        user: root
  db:
    image: busybox
    ipc: shareable
configs:
  app_conf: {file: ./db_password.txt}
  inline: {content: "x=1"}
"#;

    #[test]
    fn engine_keys_reach_the_spec() {
        let (stack, dir) = load(KEYS);
        let spec = ContainerSpec::of(&stack, "app");
        assert_eq!(
            spec.host,
            HostSpec {
                cap_add: vec!["NET_ADMIN".into()],
                cap_drop: vec!["MKNOD".into()],
                ulimits: vec![
                    UlimitSpec {
                        name: "nofile".into(),
                        soft: 1024,
                        hard: 2048
                    },
                    UlimitSpec {
                        name: "nproc".into(),
                        soft: 512,
                        hard: 512
                    },
                ],
                init: Some(true),
                shm_size: Some(64 << 20),
                sysctls: [("net.core.somaxconn".to_string(), "1024".to_string())].into(),
                devices: vec![Device {
                    source: "/dev/null".into(),
                    target: "/dev/xnull".into(),
                    permissions: "rw".into(),
                }],
                platform: Some("linux/amd64".into()),
                read_only: true,
                dns: vec!["1.1.1.1".into()],
                domainname: Some("example.com".into()),
                group_add: vec!["audio".into(), "1000".into()],
                security_opt: vec!["no-new-privileges:true".into()],
                pids_limit: Some(100),
                nano_cpus: Some(500_000_000),
                memory_reservation: Some(64 << 20),
                oom_score_adj: Some(100),
                // `service:db` is db's container.
                ipc: Some("container:keys-db-1".into()),
                pid: Some("host".into()),
                logging: Some(Logging {
                    driver: Some("json-file".into()),
                    options: [("max-size".to_string(), "10m".to_string())].into(),
                }),
                ..HostSpec::default()
            }
        );
        assert_eq!(spec.memory, Some(128 << 20));
        // A file config is a read-only bind at `/<name>`; a text one is written.
        assert_eq!(
            spec.mounts,
            vec![MountSpec {
                kind: MountType::Bind,
                source: Some(
                    dir.path()
                        .join("db_password.txt")
                        .to_string_lossy()
                        .into_owned()
                ),
                target: "/app_conf".into(),
                read_only: true,
            }]
        );
        assert_eq!(
            spec.files,
            vec![FileSpec {
                target: "/etc/inline.conf".into(),
                content: "x=1".into(),
            }]
        );
        assert_eq!(
            spec.post_start,
            vec![HookSpec {
                command: vec!["touch".into(), "/tmp/started".into()],
                user: Some("root".into()),
                ..HookSpec::default()
            }]
        );
        assert_eq!(
            spec.healthcheck.unwrap().start_interval,
            Some(Duration::from_secs(1))
        );
        // The JSON of the spec (`up --dry-run --json`) names them as the engine does.
        let json = serde_json::to_value(ContainerSpec::of(&stack, "app")).unwrap();
        assert_eq!(json["cap_add"], serde_json::json!(["NET_ADMIN"]));
        assert_eq!(json["nano_cpus"], 500_000_000);
        assert_eq!(json["init"], true);
    }

    #[test]
    fn each_key_changes_the_hash_under_its_own_name() {
        let (stack, _dir) = load(KEYS);
        let before = ConfigHash::of(&stack.services["app"]);
        let mut edited = stack.services["app"].clone();
        edited.cap_add.push("SYS_TIME".into());
        edited.shm_size = Some(1 << 30);
        edited.resources.limits.cpus = Some(1.0);
        let after = ConfigHash::of(&edited);
        assert_eq!(
            after.changed_fields(&before.fields),
            ["cap_add", "deploy.resources", "shm_size"]
        );
    }
}
