//! Containers: create from the Stack model, start, stop, remove, inspect, logs, exec.

use std::collections::HashMap;
use std::time::Duration;

use bollard::body_full;
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, DeviceMapping, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, HostConfigCgroupnsModeEnum, HostConfigLogConfig,
    Mount as EngineMount, MountType, NetworkConnectRequest, NetworkSettings, NetworkingConfig,
    PortBinding, ResourcesUlimits, RestartPolicy as EngineRestart, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder, UploadToContainerOptionsBuilder,
    WaitContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{Engine, fail, is_not_found};
use crate::error::{EngineOp, Error, Result};
use crate::plan::observed::{ContainerState, Health, PublishedPort};
use crate::plan::spec::{
    ContainerSpec, HookSpec, HostSpec, MountType as MountSpecType, RestartSpec,
};

/// A container's state as inspected: plain data for the executor and the reporter.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerStatus {
    pub name: String,
    pub state: ContainerState,
    pub health: Option<Health>,
    pub exit_code: Option<i64>,
    pub started_at: Option<String>,
    /// Output of the most recent health check, if the container has one.
    pub last_health_output: Option<String>,
    /// The engine's error starting it (e.g. a missing executable), if any.
    pub error: Option<String>,
    pub published: Vec<PublishedPort>,
    /// How often its restart policy has restarted it since it was last started.
    pub restart_count: i64,
}

/// A container's state as the engine's inspect names it.
pub(super) fn state_of(status: Option<ContainerStateStatusEnum>) -> ContainerState {
    match status {
        Some(ContainerStateStatusEnum::RUNNING) => ContainerState::Running,
        Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
        Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited,
        Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
        _ => ContainerState::Created,
    }
}

/// The host ports an inspected container has bound, sorted.
pub(super) fn published_of(settings: Option<NetworkSettings>) -> Vec<PublishedPort> {
    let mut published: Vec<PublishedPort> = settings
        .and_then(|n| n.ports)
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(target, bindings)| {
            bindings
                .unwrap_or_default()
                .into_iter()
                .filter_map(move |b| {
                    Some(PublishedPort {
                        target: target.clone(),
                        host_ip: b.host_ip.unwrap_or_default(),
                        host_port: b.host_port?.parse().ok()?,
                    })
                })
        })
        .collect();
    published.sort();
    published
}

fn nanos(d: Option<Duration>) -> Option<i64> {
    d.map(|d| d.as_nanos() as i64)
}

/// A tar of `files` at their absolute paths (stored relative to `/`), each with
/// `mode`, with an entry for every directory above them.
fn files_tar(files: &[(String, Vec<u8>)], mode: u32) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in files {
        let rel = path.trim_start_matches('/');
        let mut parent = std::path::Path::new(rel).parent();
        while let Some(dir) = parent.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(dir.to_path_buf());
            parent = dir.parent();
        }
    }
    for dir in dirs {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        builder.append_data(&mut header, &dir, std::io::empty())?;
    }
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(mode);
        header.set_size(content.len() as u64);
        builder.append_data(&mut header, path.trim_start_matches('/'), &content[..])?;
    }
    builder.into_inner()
}

/// `Some(list)` unless empty: the engine takes an absent list as "the default".
fn list(items: &[String]) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.to_vec())
}

fn map(items: &std::collections::BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!items.is_empty()).then(|| items.clone().into_iter().collect())
}

/// The pass-through fields of the host config; the caller sets the rest.
fn host_config(h: &HostSpec) -> HostConfig {
    HostConfig {
        cap_add: list(&h.cap_add),
        cap_drop: list(&h.cap_drop),
        ulimits: (!h.ulimits.is_empty()).then(|| {
            h.ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft),
                    hard: Some(u.hard),
                })
                .collect()
        }),
        init: h.init,
        shm_size: h.shm_size.and_then(|b| i64::try_from(b).ok()),
        sysctls: map(&h.sysctls),
        devices: (!h.devices.is_empty()).then(|| {
            h.devices
                .iter()
                .map(|d| DeviceMapping {
                    path_on_host: Some(d.source.clone()),
                    path_in_container: Some(d.target.clone()),
                    cgroup_permissions: Some(d.permissions.clone()),
                })
                .collect()
        }),
        device_cgroup_rules: list(&h.device_cgroup_rules),
        readonly_rootfs: h.read_only.then_some(true),
        dns: list(&h.dns),
        dns_search: list(&h.dns_search),
        dns_options: list(&h.dns_opt),
        group_add: list(&h.group_add),
        security_opt: list(&h.security_opt),
        pids_limit: h.pids_limit,
        nano_cpus: h.nano_cpus,
        cpu_shares: h.cpu_shares,
        cpuset_cpus: h.cpuset.clone(),
        cpu_period: h.cpu_period,
        cpu_quota: h.cpu_quota,
        memory_reservation: h.memory_reservation.and_then(|b| i64::try_from(b).ok()),
        memory_swap: h.memory_swap,
        memory_swappiness: h.memory_swappiness,
        oom_score_adj: h.oom_score_adj,
        oom_kill_disable: h.oom_kill_disable,
        userns_mode: h.userns_mode.clone(),
        cgroupns_mode: h.cgroup.as_deref().map(|c| match c {
            "host" => HostConfigCgroupnsModeEnum::HOST,
            _ => HostConfigCgroupnsModeEnum::PRIVATE,
        }),
        cgroup_parent: h.cgroup_parent.clone(),
        ipc_mode: h.ipc.clone(),
        pid_mode: h.pid.clone(),
        uts_mode: h.uts.clone(),
        storage_opt: map(&h.storage_opt),
        log_config: h.logging.as_ref().map(|l| HostConfigLogConfig {
            typ: l.driver.clone(),
            config: map(&l.options),
        }),
        runtime: h.runtime.clone(),
        volumes_from: list(&h.volumes_from),
        ..Default::default()
    }
}

impl Engine {
    /// Create the container `spec` describes and join it to its networks. Returns its id.
    pub async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        let name = &spec.name;
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for p in &spec.ports {
            bindings
                .entry(format!("{}/{}", p.target, p.protocol.as_str()))
                .or_insert_with(|| Some(vec![]))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(p.host_port.map(|n| n.to_string()).unwrap_or_default()),
                });
        }
        let mounts: Vec<EngineMount> = spec
            .mounts
            .iter()
            .map(|m| EngineMount {
                target: Some(m.target.clone()),
                source: m.source.clone(),
                typ: Some(match m.kind {
                    MountSpecType::Volume => MountType::VOLUME,
                    MountSpecType::Bind => MountType::BIND,
                    MountSpecType::Tmpfs => MountType::TMPFS,
                }),
                read_only: Some(m.read_only),
                ..Default::default()
            })
            .collect();
        let restart = spec.restart.map(|r| {
            let (name, max) = match r {
                RestartSpec::No => (RestartPolicyNameEnum::NO, None),
                RestartSpec::Always => (RestartPolicyNameEnum::ALWAYS, None),
                RestartSpec::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
                RestartSpec::OnFailure { max_retries } => (
                    RestartPolicyNameEnum::ON_FAILURE,
                    max_retries.map(i64::from),
                ),
            };
            EngineRestart {
                name: Some(name),
                maximum_retry_count: max,
            }
        });

        // API 1.41 accepts one network at create time; the others are connected after.
        // Joined by id (also in the endpoint, which the engine resolves again at
        // every start): a network created twice under one name (by a run killed
        // while its create was in flight, racing the next run's) would otherwise
        // make the engine refuse to start the container as "ambiguous". The next
        // `up` removes the spare one (`plan::networks::duplicates`).
        let ids = self.network_ids(&spec.networks).await?;
        let network_ref = |name: &String| ids.get(name).cloned().unwrap_or_else(|| name.clone());
        let endpoint = |n: &crate::plan::spec::NetworkSpec| EndpointSettings {
            aliases: Some(n.aliases.clone()),
            links: list(&n.links),
            network_id: ids.get(&n.name).cloned(),
            ..Default::default()
        };
        let first = spec.networks.first();
        let networking_config = first.map(|n| NetworkingConfig {
            endpoints_config: Some([(network_ref(&n.name), endpoint(n))].into()),
        });
        // `start_interval` is API 1.44's; older engines refuse the create with it.
        let version = self.docker.client_version();
        let knows_start_interval = (version.major_version, version.minor_version) >= (1, 44);
        let exposed = spec.exposed_ports.clone();

        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: spec.command.clone(),
            entrypoint: spec.entrypoint.clone(),
            env: Some(
                spec.environment
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
            user: spec.user.clone(),
            working_dir: spec.working_dir.clone(),
            hostname: spec.hostname.clone(),
            tty: Some(spec.tty),
            open_stdin: Some(spec.stdin_open),
            stdin_once: Some(spec.stdin_once),
            stop_signal: spec.stop_signal.clone(),
            stop_timeout: spec.stop_timeout_secs.map(|s| s as i64),
            labels: Some(
                spec.labels
                    .iter()
                    .chain(self.identity.iter())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck: spec.healthcheck.as_ref().map(|h| HealthConfig {
                test: Some(h.test.clone()),
                interval: nanos(h.interval),
                timeout: nanos(h.timeout),
                retries: h.retries.map(i64::from),
                start_period: nanos(h.start_period),
                start_interval: nanos(h.start_interval).filter(|_| knows_start_interval),
            }),
            host_config: Some(HostConfig {
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                mounts: (!mounts.is_empty()).then_some(mounts),
                restart_policy: restart,
                privileged: Some(spec.privileged),
                auto_remove: Some(spec.auto_remove),
                memory: spec.memory.and_then(|b| i64::try_from(b).ok()),
                extra_hosts: (!spec.extra_hosts.is_empty()).then(|| spec.extra_hosts.clone()),
                network_mode: spec
                    .network_mode
                    .clone()
                    .or_else(|| first.map(|n| network_ref(&n.name))),
                ..host_config(&spec.host)
            }),
            networking_config,
            domainname: spec.host.domainname.clone(),
            ..Default::default()
        };
        let mut opts = CreateContainerOptionsBuilder::default().name(name);
        if let Some(platform) = &spec.host.platform {
            opts = opts.platform(platform);
        }
        let opts = opts.build();
        let created = match self.docker.create_container(Some(opts), body).await {
            Ok(created) => created,
            // A run killed while its create was in flight made it after this run
            // looked: the same container (same project and config hash) will do.
            Err(e) if super::is_conflict(&e) => match self.same_container(spec).await {
                Some(id) => return Ok(id),
                None => return Err(fail(EngineOp::CreateContainer, name)(e)),
            },
            Err(e) => return Err(fail(EngineOp::CreateContainer, name)(e)),
        };
        for n in spec.networks.iter().skip(1) {
            self.docker
                .connect_network(
                    &network_ref(&n.name),
                    NetworkConnectRequest {
                        container: created.id.clone(),
                        endpoint_config: Some(endpoint(n)),
                    },
                )
                .await
                .map_err(fail(EngineOp::ConnectNetwork, &n.name))?;
        }
        Ok(created.id)
    }

    /// The id of each of `networks` by name (the lowest, when there are several
    /// of one name), in one listing call; a name not found is left out.
    async fn network_ids(
        &self,
        networks: &[crate::plan::spec::NetworkSpec],
    ) -> Result<std::collections::BTreeMap<String, String>> {
        if networks.is_empty() {
            return Ok(Default::default());
        }
        let filters: HashMap<String, Vec<String>> = [(
            "name".to_string(),
            networks.iter().map(|n| n.name.clone()).collect(),
        )]
        .into();
        let listed = self
            .docker
            .list_networks(Some(
                bollard::query_parameters::ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(fail(EngineOp::ListNetworks, &spec_names(networks)))?;
        let mut ids: std::collections::BTreeMap<String, String> = Default::default();
        for n in listed {
            let (Some(name), Some(id)) = (n.name, n.id) else {
                continue;
            };
            // The name filter matches parts of names too.
            if !networks.iter().any(|w| w.name == name) {
                continue;
            }
            let slot = ids.entry(name).or_insert_with(|| id.clone());
            if id < *slot {
                *slot = id;
            }
        }
        Ok(ids)
    }

    /// The id of the existing container named as `spec`'s when it carries the
    /// same project and config hash labels (it is the one `spec` describes).
    async fn same_container(&self, spec: &ContainerSpec) -> Option<String> {
        let info = self.docker.inspect_container(&spec.name, None).await.ok()?;
        let labels = info.config?.labels?;
        let same = |key: &str| labels.get(key) == spec.labels.get(key);
        (same(crate::labels::PROJECT) && same(crate::labels::CONFIG_HASH)).then_some(info.id?)
    }

    pub async fn start_container(&self, name: &str) -> Result<()> {
        self.docker
            .start_container(name, None)
            .await
            .map_err(fail(EngineOp::StartContainer, name))
    }

    pub async fn stop_container(&self, name: &str, timeout: Option<Duration>) -> Result<()> {
        let mut opts = StopContainerOptionsBuilder::default();
        if let Some(t) = timeout {
            opts = opts.t(t.as_secs().min(i32::MAX as u64) as i32);
        }
        // The engine answers when the container has stopped: after up to its grace
        // period (10 s when neither the stack nor the command says).
        let grace = timeout.unwrap_or(Duration::from_secs(10));
        let client = self.patient(grace);
        match client.stop_container(name, Some(opts.build())).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map_err(fail(EngineOp::StopContainer, name)),
        }
    }

    /// Send `signal` (e.g. `SIGINT`) to the container's main process: how `pier run`
    /// passes on a Ctrl-C to its one-off when there is no TTY to carry it.
    pub async fn kill_container(&self, name: &str, signal: &str) -> Result<()> {
        let opts = KillContainerOptionsBuilder::default()
            .signal(signal)
            .build();
        match self.docker.kill_container(name, Some(opts)).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map_err(fail(EngineOp::Signal, name)),
        }
    }

    /// Remove a container (killing it if it still runs) and its anonymous volumes.
    pub async fn remove_container(&self, name: &str) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(name, Some(opts)).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map_err(fail(EngineOp::RemoveContainer, name)),
        }
    }

    /// Remove a container (killing it if it still runs), keeping its anonymous
    /// volumes: a recreated container mounts them again.
    pub async fn remove_container_keeping_volumes(&self, name: &str) -> Result<()> {
        let opts = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(name, Some(opts)).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map_err(fail(EngineOp::RemoveContainer, name)),
        }
    }

    /// Write files into a container that is created but not started: each `(path,
    /// content)` read-only for everyone (0444, as Compose mounts secrets), with the
    /// directories above it made as needed. Used for secrets that come from a
    /// variable, which have no file on the host to bind-mount.
    pub async fn write_files(&self, container: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
        self.upload_files(container, files, 0o444, EngineOp::WriteSecrets)
            .await
    }

    /// Write configuration files into a container (created or running), each 0644
    /// (the router's Caddyfile: `ops::router`).
    pub async fn put_files(&self, container: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
        self.upload_files(container, files, 0o644, EngineOp::UploadArchive)
            .await
    }

    async fn upload_files(
        &self,
        container: &str,
        files: &[(String, Vec<u8>)],
        mode: u32,
        op: EngineOp,
    ) -> Result<()> {
        let tar = files_tar(files, mode).map_err(|e| Error::Engine {
            op,
            resource: container.to_string(),
            message: e.to_string(),
        })?;
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(container, Some(options), body_full(tar.into()))
            .await
            .map_err(fail(op, container))
    }

    /// Returns once the container is not running (it exited, or is gone), as the
    /// engine's own `wait` reports it. Only a wake-up: whatever went wrong, the
    /// caller looks at the container itself (`inspect_container`) to judge it.
    pub async fn until_not_running(&self, name: &str) {
        let options = WaitContainerOptionsBuilder::default()
            .condition("not-running")
            .build();
        let mut waiting = self.docker.wait_container(name, Some(options));
        let _ = waiting.next().await;
    }

    /// The container's state, or None when it does not exist.
    pub async fn inspect_container(&self, name: &str) -> Result<Option<ContainerStatus>> {
        let info = match self.docker.inspect_container(name, None).await {
            Ok(info) => info,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(fail(EngineOp::InspectContainer, name)(e)),
        };
        let state = info.state.unwrap_or_default();
        let published = published_of(info.network_settings);
        let health = state.health.as_ref().and_then(|h| match h.status {
            Some(HealthStatusEnum::STARTING) => Some(Health::Starting),
            Some(HealthStatusEnum::HEALTHY) => Some(Health::Healthy),
            Some(HealthStatusEnum::UNHEALTHY) => Some(Health::Unhealthy),
            _ => None,
        });
        let last_health_output = state
            .health
            .as_ref()
            .and_then(|h| h.log.as_ref())
            .and_then(|log| log.last())
            .and_then(|r| r.output.clone());
        Ok(Some(ContainerStatus {
            name: info
                .name
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string(),
            state: state_of(state.status),
            health,
            exit_code: state.exit_code,
            started_at: state.started_at.filter(|s| !s.starts_with("0001-")),
            last_health_output,
            error: state.error.filter(|e| !e.is_empty()),
            published,
            restart_count: info.restart_count.unwrap_or(0),
        }))
    }

    /// The last `lines` lines of the container's stdout and stderr.
    pub async fn logs_tail(&self, name: &str, lines: usize) -> Result<Vec<String>> {
        let opts = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&lines.to_string())
            .build();
        let mut stream = self.docker.logs(name, Some(opts));
        let mut text = String::new();
        while let Some(item) = stream.next().await {
            match item {
                Ok(out) => text.push_str(&out.to_string()),
                Err(e) if is_not_found(&e) => break,
                Err(e) => return Err(fail(EngineOp::ReadLogs, name)(e)),
            }
        }
        let all: Vec<String> = text.lines().map(String::from).collect();
        Ok(all[all.len().saturating_sub(lines)..].to_vec())
    }

    /// Run `cmd` in the running container; returns its exit code and combined output.
    pub async fn exec(&self, name: &str, cmd: Vec<String>) -> Result<(i64, String)> {
        let exec = super::ExecAs {
            cmd,
            ..super::ExecAs::default()
        };
        self.exec_as(name, &exec).await
    }

    /// Run a `post_start`/`pre_stop` hook in the running container, as its user,
    /// working directory, environment and privileges say: its exit code and output.
    pub async fn run_hook(&self, name: &str, hook: &HookSpec) -> Result<(i64, String)> {
        let exec = super::ExecAs {
            cmd: hook.command.clone(),
            user: hook.user.clone(),
            working_dir: hook.working_dir.clone(),
            environment: hook.environment.clone(),
            privileged: hook.privileged,
        };
        self.exec_as(name, &exec).await
    }

    /// Run a health test once through exec (`command`: `HealthTest::exec_command` of the stack model, carried by the plan),
    /// so readiness is seen without waiting out the healthcheck interval: whether it
    /// passed, and its output.
    pub async fn probe_health(&self, name: &str, command: &[String]) -> Result<(bool, String)> {
        let (code, output) = self.exec(name, command.to_vec()).await?;
        // The engine could not run it at all (the container stopped under it):
        // that is pier's failure, not the check's output. A test program missing
        // from the image is the check's own problem, and said so by the caller.
        if exec_failed(&output) && !output.contains("executable file not found") {
            return Err(Error::Engine {
                op: EngineOp::Exec,
                resource: name.to_string(),
                message: output.trim().to_string(),
            });
        }
        Ok((code == 0, output))
    }
}

/// Whether exec output is the runtime's own error rather than the command's.
fn exec_failed(output: &str) -> bool {
    output.contains("OCI runtime exec failed")
}

fn spec_names(networks: &[crate::plan::spec::NetworkSpec]) -> String {
    let names: Vec<&str> = networks.iter().map(|n| n.name.as_str()).collect();
    names.join(", ")
}
