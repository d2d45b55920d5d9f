//! The Stack model: one normalized shape for everything the stack file can say.
//!
//! The loader (`stack::load`) turns short and long Compose syntax into these
//! types; everything downstream (graph, plan, engine, export) reads only these.
//! `Serialize` produces Compose-shaped output, which is what `pier config` prints
//! and what the config hash is computed over.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Serialize, Serializer};

/// A whole, valid stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stack {
    /// The project name: `[a-z0-9][a-z0-9_-]*`.
    pub name: String,
    /// The directory relative paths (bind mounts, build contexts, env files) are resolved against.
    #[serde(skip)]
    pub project_dir: PathBuf,
    pub services: BTreeMap<String, Service>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, Network>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, Volume>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, Secret>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub configs: BTreeMap<String, Config>,
    /// Services of the file that profiles left out (`stack::profiles`): not in
    /// `services`, yet not orphans either — their containers are left alone, as
    /// Compose leaves them.
    #[serde(skip)]
    pub disabled: std::collections::BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Service {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Build>,
    /// Exec form. The string form is split like a shell would (Compose does the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    /// After `env_file`s and `environment` are merged; a bare `KEY` takes its value
    /// from the shell environment and is dropped when that is unset (as Compose does).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    /// Container ports exposed to other services only, e.g. "3306" or "5000/udp".
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<Healthcheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Networks this service joins. Empty in the file means the project's `default` network;
    /// the loader fills that in, so this is never empty for a service with bridge networking.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub networks: BTreeMap<String, ServiceNetwork>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<ServiceSecret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub stop_grace_period: Option<Duration>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tty: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stdin_open: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// `mem_limit`, in bytes (the file may say `512m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_limit: Option<u64>,
    /// `scale` or `deploy.replicas`: N containers `<project>-<service>-1…N`
    /// locally, N tasks on the swarm. Not part of the config hash: scaling adds or
    /// removes containers, it does not recreate the others.
    #[serde(
        rename = "deploy",
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_replicas"
    )]
    pub replicas: Option<u32>,
    /// `profiles`: the service is in the stack only when one of these is active
    /// (or it is named on the command line); none means always.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// `develop`: what `pier watch` does when files change (`stack::develop`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub develop: Option<crate::stack::develop::Develop>,
    /// Written as `scale:` in the file (Compose prints it back under that key).
    #[serde(skip)]
    pub replicas_from_scale: bool,
    // Keys below are one field of the engine's container create each
    // (`plan::spec`, `engine::container`). Each serializes under its Compose
    // name, so a change to it recreates the container naming it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, Ulimit>,
    /// `deploy.resources` (the name a changed-config cause gives it).
    #[serde(
        rename = "deploy.resources",
        skip_serializing_if = "Resources::is_empty"
    )]
    pub resources: Resources,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<ServiceConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<bool>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<Device>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_policy: Option<PullPolicy>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<Hook>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<Hook>,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_reservation: Option<u64>,
    /// Bytes; -1 is unlimited swap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<i64>,
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
    /// As written: `shareable`, `host`, `service:x` (`container:` for the engine).
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_period: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mem_swappiness: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub device_cgroup_rules: Vec<String>,
    /// `volumes_from`: the volumes of another service's (or container's)
    /// container, mounted here too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<VolumesFrom>,
    /// `links`: another service's containers, reachable here under an alias too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

/// One `volumes_from` entry: `NAME[:ro|rw]` (a service of the stack) or
/// `container:NAME[:ro|rw]` (any container), printed back as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumesFrom {
    pub source: VolumesSource,
    /// `ro` or `rw`, when written: the volumes' own modes otherwise.
    pub mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumesSource {
    Service(String),
    Container(String),
}

impl std::fmt::Display for VolumesFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            VolumesSource::Service(name) => f.write_str(name)?,
            VolumesSource::Container(name) => write!(f, "container:{name}")?,
        }
        match &self.mode {
            Some(mode) => write!(f, ":{mode}"),
            None => Ok(()),
        }
    }
}

impl Serialize for VolumesFrom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One `links` entry: `SERVICE[:ALIAS]`, printed back as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub service: String,
    pub alias: Option<String>,
}

impl Link {
    /// The name the service is reached by: the alias, else the service's name.
    pub fn name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.service)
    }
}

impl std::fmt::Display for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.alias {
            Some(alias) => write!(f, "{}:{alias}", self.service),
            None => f.write_str(&self.service),
        }
    }
}

impl Serialize for Link {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One `ulimits` entry: `nofile: 1024` or `nofile: {soft: 1024, hard: 2048}`,
/// printed back in the form it was written, as Compose does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Ulimit {
    Single(i64),
    Range { soft: i64, hard: i64 },
}

impl Ulimit {
    /// (soft, hard).
    pub fn bounds(self) -> (i64, i64) {
        match self {
            Ulimit::Single(n) => (n, n),
            Ulimit::Range { soft, hard } => (soft, hard),
        }
    }
}

/// `deploy.resources`: limits and reservations.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "ResourceSet::is_empty")]
    pub limits: ResourceSet,
    #[serde(skip_serializing_if = "ResourceSet::is_empty")]
    pub reservations: ResourceSet,
}

impl Resources {
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty() && self.reservations.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ResourceSet {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<i64>,
}

impl ResourceSet {
    pub fn is_empty(&self) -> bool {
        self.cpus.is_none() && self.memory.is_none() && self.pids.is_none()
    }
}

/// A service's use of a top-level config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceConfig {
    /// Name under top-level `configs`.
    pub source: String,
    /// Path in the container; default `/<source>`, as Compose mounts configs.
    pub target: String,
}

/// A top-level config: a file bind-mounted read-only, or a text written into the
/// container before it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConfigSource {
    /// Absolute path of the file.
    File(PathBuf),
    /// `content:` as written (after interpolation).
    Content(String),
    /// The name of the variable whose value is the content.
    Environment(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    #[serde(flatten)]
    pub source: ConfigSource,
    /// The content of an `environment:` config, read at load time (not a secret).
    #[serde(skip)]
    pub value: Option<String>,
}

/// `devices`: `/dev/x[:/dev/y[:rwm]]` or the long form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub source: String,
    pub target: String,
    pub permissions: String,
}

/// `pull_policy` (`if_not_present` is `missing`, as Compose normalizes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PullPolicy {
    Always,
    Never,
    Missing,
    Build,
}

/// A `post_start` or `pre_stop` hook: a command exec'd in the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Hook {
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Logging {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Build {
    /// Absolute path of the build context.
    pub context: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

/// One published port. Ranges in the file are expanded into one mapping per port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    /// Port inside the container.
    pub target: u16,
    /// Port on the host; `None` lets the engine choose one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<u16>,
    /// Address on the host. The loader writes `127.0.0.1` when the file names none:
    /// pier's secure default (DESIGN §4), unlike Compose's every-interface default.
    pub host_ip: String,
    pub protocol: Protocol,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A named or anonymous volume.
    Volume,
    /// A host path.
    Bind,
    Tmpfs,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: MountKind,
    /// Volume: the name as declared under top-level `volumes` (None for anonymous).
    /// Bind: an absolute host path. Tmpfs: None.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    #[serde(rename = "service_started")]
    Started,
    #[serde(rename = "service_healthy")]
    Healthy,
    #[serde(rename = "service_completed_successfully")]
    CompletedSuccessfully,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Started => "service_started",
            Condition::Healthy => "service_healthy",
            Condition::CompletedSuccessfully => "service_completed_successfully",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub condition: Condition,
    /// `required: false` in the file: a missing dependency is not an error.
    pub required: bool,
}

/// Serialized as Compose writes it: `["CMD", arg, …]`, `["CMD-SHELL", "cmd"]`, `["NONE"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthTest {
    /// `["NONE"]` or `disable: true`: the image's healthcheck is switched off.
    None,
    /// `["CMD", arg, …]`: exec form.
    Cmd(Vec<String>),
    /// `["CMD-SHELL", "cmd"]` or a plain string: run with `/bin/sh -c`.
    Shell(String),
}

impl HealthTest {
    /// The command that runs the test once (through exec, or as a Kubernetes
    /// probe): the exec form as it is, the shell form under `/bin/sh -c` as Docker
    /// runs it; None when the test is switched off.
    pub fn exec_command(&self) -> Option<Vec<String>> {
        match self {
            HealthTest::None => None,
            HealthTest::Cmd(args) => Some(args.clone()),
            HealthTest::Shell(cmd) => Some(vec!["/bin/sh".into(), "-c".into(), cmd.clone()]),
        }
    }

    /// The Docker API / Compose list form.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            HealthTest::None => vec!["NONE".to_string()],
            HealthTest::Cmd(args) => std::iter::once("CMD".to_string())
                .chain(args.iter().cloned())
                .collect(),
            HealthTest::Shell(cmd) => vec!["CMD-SHELL".to_string(), cmd.clone()],
        }
    }
}

impl Serialize for HealthTest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_vec().serialize(s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    pub test: HealthTest,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub interval: Option<Duration>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub timeout: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub start_period: Option<Duration>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_opt_duration"
    )]
    pub start_interval: Option<Duration>,
}

/// Serialized as Compose writes it: `no`, `always`, `unless-stopped`, `on-failure[:max]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartPolicy {
    No,
    Always,
    UnlessStopped,
    /// `on-failure[:max]`.
    OnFailure(Option<u32>),
}

impl std::fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
            RestartPolicy::OnFailure(None) => f.write_str("on-failure"),
            RestartPolicy::OnFailure(Some(n)) => write!(f, "on-failure:{n}"),
        }
    }
}

impl Serialize for RestartPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ServiceNetwork {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSecret {
    /// Name under top-level `secrets`.
    pub source: String,
    /// Path in the container; default `/run/secrets/<source>`.
    pub target: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Network {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The engine-side name: `<project>_<key>` unless given or external.
    pub name: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub internal: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Volume {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub external: bool,
    /// The engine-side name: `<project>_<key>` unless given or external.
    pub name: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretSource {
    /// Absolute path of the file holding the secret.
    File(PathBuf),
    /// Name of an environment variable holding the secret.
    Environment(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Secret {
    #[serde(flatten)]
    pub source: SecretSource,
}

impl Service {
    /// The keys set on this service that only the local engine's create call
    /// carries out (the swarm target and the Kubernetes export warn about each).
    pub fn engine_only_keys(&self) -> Vec<&'static str> {
        let set = [
            ("cap_add", !self.cap_add.is_empty()),
            ("cap_drop", !self.cap_drop.is_empty()),
            ("ulimits", !self.ulimits.is_empty()),
            ("deploy.resources", !self.resources.is_empty()),
            ("configs", !self.configs.is_empty()),
            ("init", self.init.is_some()),
            ("shm_size", self.shm_size.is_some()),
            ("sysctls", !self.sysctls.is_empty()),
            ("devices", !self.devices.is_empty()),
            ("platform", self.platform.is_some()),
            ("pull_policy", self.pull_policy.is_some()),
            ("post_start", !self.post_start.is_empty()),
            ("pre_stop", !self.pre_stop.is_empty()),
            ("read_only", self.read_only),
            ("dns", !self.dns.is_empty()),
            ("dns_search", !self.dns_search.is_empty()),
            ("dns_opt", !self.dns_opt.is_empty()),
            ("domainname", self.domainname.is_some()),
            ("group_add", !self.group_add.is_empty()),
            ("security_opt", !self.security_opt.is_empty()),
            ("pids_limit", self.pids_limit.is_some()),
            ("cpus", self.cpus.is_some()),
            ("cpu_shares", self.cpu_shares.is_some()),
            ("cpuset", self.cpuset.is_some()),
            ("cpu_period", self.cpu_period.is_some()),
            ("cpu_quota", self.cpu_quota.is_some()),
            ("mem_reservation", self.mem_reservation.is_some()),
            ("memswap_limit", self.memswap_limit.is_some()),
            ("mem_swappiness", self.mem_swappiness.is_some()),
            ("oom_score_adj", self.oom_score_adj.is_some()),
            ("oom_kill_disable", self.oom_kill_disable.is_some()),
            ("userns_mode", self.userns_mode.is_some()),
            ("cgroup", self.cgroup.is_some()),
            ("cgroup_parent", self.cgroup_parent.is_some()),
            ("ipc", self.ipc.is_some()),
            ("pid", self.pid.is_some()),
            ("uts", self.uts.is_some()),
            ("storage_opt", !self.storage_opt.is_empty()),
            ("logging", self.logging.is_some()),
            ("runtime", self.runtime.is_some()),
            ("device_cgroup_rules", !self.device_cgroup_rules.is_empty()),
            ("volumes_from", !self.volumes_from.is_empty()),
            ("links", !self.links.is_empty()),
        ];
        set.into_iter()
            .filter(|(_, on)| *on)
            .map(|(key, _)| key)
            .collect()
    }
}

impl Stack {
    /// The secrets of `service` whose value comes from a variable (`environment:`),
    /// which have no file on the host to bind-mount.
    pub fn variable_secrets_of<'a>(
        &'a self,
        service: &str,
    ) -> impl Iterator<Item = &'a ServiceSecret> + 'a {
        self.services[service].secrets.iter().filter(|s| {
            matches!(
                self.secrets.get(&s.source).map(|d| &d.source),
                Some(SecretSource::Environment(_))
            )
        })
    }
}

/// Compose's duration notation: `1m30s`, `500ms`, `0s`.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [("h", 3_600_000u128), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{}", ms / size, unit));
            ms %= size;
        }
    }
    out
}

fn serialize_replicas<S: Serializer>(replicas: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Deploy {
        replicas: u32,
    }
    match replicas {
        Some(n) => Deploy { replicas: *n }.serialize(s),
        None => s.serialize_none(),
    }
}

fn serialize_opt_duration<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&format_duration(*d)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_compose() {
        assert_eq!(format_duration(Duration::from_millis(90_500)), "1m30s500ms");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn health_tests_and_restart_policies_serialize_like_compose() {
        let json = |v: &dyn erased::Json| v.json();
        assert_eq!(
            json(&HealthTest::Cmd(vec!["pg_isready".into()])),
            r#"["CMD","pg_isready"]"#
        );
        assert_eq!(
            json(&HealthTest::Shell("exit 0".into())),
            r#"["CMD-SHELL","exit 0"]"#
        );
        assert_eq!(json(&HealthTest::None), r#"["NONE"]"#);
        assert_eq!(
            json(&RestartPolicy::OnFailure(Some(3))),
            r#""on-failure:3""#
        );
        assert_eq!(json(&RestartPolicy::UnlessStopped), r#""unless-stopped""#);
    }

    mod erased {
        pub trait Json {
            fn json(&self) -> String;
        }
        impl<T: serde::Serialize> Json for T {
            fn json(&self) -> String {
                serde_json::to_string(self).unwrap()
            }
        }
    }
}
