//! Containers: create from the Stack model, start, stop, remove, inspect, logs, exec.

use std::collections::HashMap;
use std::time::Duration;

use bollard::body_full;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, EndpointSettings, HealthConfig,
    HealthStatusEnum, HostConfig, Mount as EngineMount, MountType, NetworkConnectRequest,
    NetworkingConfig, PortBinding, RestartPolicy as EngineRestart, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder, UploadToContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use futures_util::StreamExt;

use super::{Engine, fail, is_not_found};
use crate::error::{EngineOp, Error, Result};
use crate::labels;
use crate::plan::hash::ConfigHash;
use crate::plan::observed::{ContainerState, Health, PublishedPort};
use crate::plan::reconcile::{image_of, network_name, volume_name};
use crate::stack::model::{HealthTest, MountKind, Protocol, RestartPolicy, SecretSource, Stack};

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

fn nanos(d: Option<Duration>) -> Option<i64> {
    d.map(|d| d.as_nanos() as i64)
}

/// A tar of `files` at their absolute paths (stored relative to `/`), with an entry
/// for every directory above them.
fn secret_files_tar(files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
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
        header.set_mode(0o444);
        header.set_size(content.len() as u64);
        builder.append_data(&mut header, path.trim_start_matches('/'), &content[..])?;
    }
    builder.into_inner()
}

/// The command a health test runs, for running it ourselves through exec.
pub(super) fn health_command(test: &HealthTest) -> Option<Vec<String>> {
    match test {
        HealthTest::None => None,
        HealthTest::Cmd(args) => Some(args.clone()),
        HealthTest::Shell(cmd) => Some(vec!["/bin/sh".into(), "-c".into(), cmd.clone()]),
    }
}

fn with_protocol(port: &str) -> String {
    if port.contains('/') {
        port.to_string()
    } else {
        format!("{port}/tcp")
    }
}

impl Engine {
    /// Create the container of `service` as the stack describes it, labelled for
    /// `observe`, joined to its networks with the service name as alias. Returns its id.
    pub async fn create_container(&self, stack: &Stack, service: &str) -> Result<String> {
        let svc = &stack.services[service];
        let name = stack.container_name(service);
        let hash = ConfigHash::of(svc);

        let mut labels: HashMap<String, String> = svc.labels.clone().into_iter().collect();
        labels.insert(labels::PROJECT.into(), stack.name.clone());
        labels.insert(labels::SERVICE.into(), service.into());
        labels.insert(labels::CONFIG_HASH.into(), hash.total.clone());
        labels.insert(labels::CONFIG_FIELDS.into(), hash.fields_label());
        labels.insert(labels::VERSION.into(), env!("CARGO_PKG_VERSION").into());
        let deps: Vec<&str> = svc.depends_on.keys().map(String::as_str).collect();
        labels.insert(labels::DEPENDS_ON.into(), deps.join(","));

        let mut exposed: Vec<String> = svc.expose.iter().map(|p| with_protocol(p)).collect();
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for p in &svc.ports {
            let protocol = match p.protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
            };
            let key = format!("{}/{protocol}", p.target);
            exposed.push(key.clone());
            bindings
                .entry(key)
                .or_insert_with(|| Some(vec![]))
                .get_or_insert_with(Vec::new)
                .push(PortBinding {
                    host_ip: Some(p.host_ip.clone()),
                    host_port: Some(p.published.map(|n| n.to_string()).unwrap_or_default()),
                });
        }
        exposed.sort();
        exposed.dedup();

        let mut mounts: Vec<EngineMount> = svc
            .volumes
            .iter()
            .map(|m| EngineMount {
                target: Some(m.target.clone()),
                source: match (m.kind, &m.source) {
                    (MountKind::Volume, Some(key)) => Some(volume_name(stack, key)),
                    (_, src) => src.clone(),
                },
                typ: Some(match m.kind {
                    MountKind::Volume => MountType::VOLUME,
                    MountKind::Bind => MountType::BIND,
                    MountKind::Tmpfs => MountType::TMPFS,
                }),
                read_only: Some(m.read_only),
                ..Default::default()
            })
            .collect();
        // File-backed secrets are bind-mounted read-only, as Compose does locally.
        for s in &svc.secrets {
            if let Some(SecretSource::File(path)) = stack.secrets.get(&s.source).map(|d| &d.source)
            {
                mounts.push(EngineMount {
                    target: Some(s.target.clone()),
                    source: Some(path.to_string_lossy().into_owned()),
                    typ: Some(MountType::BIND),
                    read_only: Some(true),
                    ..Default::default()
                });
            }
        }

        let restart = svc.restart.map(|r| {
            let (name, max) = match r {
                RestartPolicy::No => (RestartPolicyNameEnum::NO, None),
                RestartPolicy::Always => (RestartPolicyNameEnum::ALWAYS, None),
                RestartPolicy::UnlessStopped => (RestartPolicyNameEnum::UNLESS_STOPPED, None),
                RestartPolicy::OnFailure(max) => {
                    (RestartPolicyNameEnum::ON_FAILURE, max.map(i64::from))
                }
            };
            EngineRestart {
                name: Some(name),
                maximum_retry_count: max,
            }
        });

        // API 1.41 accepts one network at create time; the others are connected after.
        let networks: Vec<(String, Vec<String>)> = if svc.network_mode.is_some() {
            vec![]
        } else {
            svc.networks
                .iter()
                .map(|(key, n)| {
                    let mut aliases = vec![service.to_string()];
                    aliases.extend(n.aliases.iter().cloned());
                    (network_name(stack, key), aliases)
                })
                .collect()
        };
        let endpoint = |aliases: &Vec<String>| EndpointSettings {
            aliases: Some(aliases.clone()),
            ..Default::default()
        };
        let networking_config = networks.first().map(|(net, aliases)| NetworkingConfig {
            endpoints_config: Some([(net.clone(), endpoint(aliases))].into()),
        });

        let body = ContainerCreateBody {
            image: Some(image_of(stack, service)),
            cmd: svc.command.clone(),
            entrypoint: svc.entrypoint.clone(),
            env: Some(
                svc.environment
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
            ),
            user: svc.user.clone(),
            working_dir: svc.working_dir.clone(),
            hostname: svc.hostname.clone(),
            tty: Some(svc.tty),
            open_stdin: Some(svc.stdin_open),
            stop_signal: svc.stop_signal.clone(),
            stop_timeout: svc.stop_grace_period.map(|d| d.as_secs() as i64),
            labels: Some(labels),
            exposed_ports: (!exposed.is_empty()).then_some(exposed),
            healthcheck: svc.healthcheck.as_ref().map(|h| HealthConfig {
                test: Some(h.test.to_vec()),
                interval: nanos(h.interval),
                timeout: nanos(h.timeout),
                retries: h.retries.map(i64::from),
                start_period: nanos(h.start_period),
                // Not sent: API 1.41 engines reject it; pier probes quickly itself instead.
                start_interval: None,
            }),
            host_config: Some(HostConfig {
                port_bindings: (!bindings.is_empty()).then_some(bindings),
                mounts: (!mounts.is_empty()).then_some(mounts),
                restart_policy: restart,
                privileged: Some(svc.privileged),
                memory: svc.mem_limit.and_then(|b| i64::try_from(b).ok()),
                extra_hosts: (!svc.extra_hosts.is_empty()).then(|| svc.extra_hosts.clone()),
                network_mode: match svc.network_mode.as_deref() {
                    // Compose's `service:NAME` is the engine's `container:<its container>`.
                    Some(mode) => Some(match mode.strip_prefix("service:") {
                        Some(other) => format!("container:{}", stack.container_name(other)),
                        None => mode.to_string(),
                    }),
                    None => networks.first().map(|(n, _)| n.clone()),
                },
                ..Default::default()
            }),
            networking_config,
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(opts), body)
            .await
            .map_err(fail(EngineOp::CreateContainer, &name))?;
        for (net, aliases) in networks.iter().skip(1) {
            self.docker
                .connect_network(
                    net,
                    NetworkConnectRequest {
                        container: created.id.clone(),
                        endpoint_config: Some(endpoint(aliases)),
                    },
                )
                .await
                .map_err(fail(EngineOp::ConnectNetwork, net))?;
        }
        Ok(created.id)
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
        match self.docker.stop_container(name, Some(opts.build())).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map_err(fail(EngineOp::StopContainer, name)),
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

    /// Write files into a container that is created but not started: each `(path,
    /// content)` read-only for everyone (0444, as Compose mounts secrets), with the
    /// directories above it made as needed. Used for secrets that come from a
    /// variable, which have no file on the host to bind-mount.
    pub async fn write_files(&self, container: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
        let tar = secret_files_tar(files).map_err(|e| Error::Engine {
            op: EngineOp::WriteSecrets,
            resource: container.to_string(),
            message: e.to_string(),
        })?;
        let options = UploadToContainerOptionsBuilder::default().path("/").build();
        self.docker
            .upload_to_container(container, Some(options), body_full(tar.into()))
            .await
            .map_err(fail(EngineOp::WriteSecrets, container))
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
        let mut published: Vec<PublishedPort> = info
            .network_settings
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
            state: match state.status {
                Some(ContainerStateStatusEnum::RUNNING) => ContainerState::Running,
                Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
                Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
                Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
                Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited,
                Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
                _ => ContainerState::Created,
            },
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
        let created = self
            .docker
            .create_exec(
                name,
                CreateExecOptions {
                    cmd: Some(cmd),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    ..Default::default()
                },
            )
            .await
            .map_err(fail(EngineOp::Exec, name))?;
        let mut output = String::new();
        if let StartExecResults::Attached {
            output: mut out, ..
        } = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(fail(EngineOp::Exec, name))?
        {
            while let Some(Ok(chunk)) = out.next().await {
                output.push_str(&chunk.to_string());
            }
        }
        let inspect = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(fail(EngineOp::Exec, name))?;
        Ok((inspect.exit_code.unwrap_or(-1), output))
    }

    /// Run the service's health test once through exec, so readiness is seen without
    /// waiting out the healthcheck interval. None when the service has no test.
    pub async fn probe_health(
        &self,
        name: &str,
        test: &HealthTest,
    ) -> Result<Option<(bool, String)>> {
        let Some(cmd) = health_command(test) else {
            return Ok(None);
        };
        let (code, output) = self.exec(name, cmd).await?;
        Ok(Some((code == 0, output)))
    }
}
