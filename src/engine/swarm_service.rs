//! Swarm services: `plan::swarm::SwarmService` → the service API's spec; create,
//! update, remove. Why the spec looks like it does is in `plan::swarm::spec`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bollard::models::{
    EndpointPortConfig, EndpointPortConfigProtocolEnum, EndpointPortConfigPublishModeEnum,
    EndpointSpec, EndpointSpecModeEnum, HealthConfig, Mount as EngineMount, MountType,
    MountVolumeOptions, MountVolumeOptionsDriverConfig, NetworkAttachmentConfig, ServiceSpec,
    ServiceSpecMode, ServiceSpecModeReplicated, ServiceUpdateStatusStateEnum, TaskSpec,
    TaskSpecContainerSpec, TaskSpecContainerSpecFile, TaskSpecContainerSpecSecrets,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum,
};
use bollard::query_parameters::UpdateServiceOptionsBuilder;

use super::{Engine, fail, is_not_found};
use crate::error::{EngineOp, Error, Result};
use crate::plan::spec::{MountType as SpecMount, PortProtocol};
use crate::plan::swarm::{RestartCondition, Rollout, SwarmService, resource_labels};

fn nanos(d: Option<Duration>) -> Option<i64> {
    d.map(|d| d.as_nanos() as i64)
}

fn map(m: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!m.is_empty()).then(|| m.clone().into_iter().collect())
}

/// The API spec of `svc`. `secret_ids`: swarm secret name → id (the API wants both).
fn spec(
    project: &str,
    svc: &SwarmService,
    secret_ids: &BTreeMap<String, String>,
) -> Result<ServiceSpec> {
    let mounts: Vec<EngineMount> =
        svc.mounts
            .iter()
            .map(|m| EngineMount {
                target: Some(m.target.clone()),
                source: m.source.clone(),
                typ: Some(match m.kind {
                    SpecMount::Volume => MountType::VOLUME,
                    SpecMount::Bind => MountType::BIND,
                    SpecMount::Tmpfs => MountType::TMPFS,
                }),
                read_only: Some(m.read_only),
                // Whichever node creates the volume labels it like local `up` does, so
                // `down -v` finds it.
                volume_options: m.volume_key.as_ref().map(|key| MountVolumeOptions {
                    labels: map(&resource_labels(project, key)),
                    driver_config: m.volume_driver.as_ref().map(|d| {
                        MountVolumeOptionsDriverConfig {
                            name: Some(d.clone()),
                            options: None,
                        }
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
    let secrets = svc
        .secrets
        .iter()
        .map(|s| {
            let id = secret_ids.get(&s.secret).ok_or_else(|| Error::Engine {
                op: EngineOp::CreateService,
                resource: svc.name.clone(),
                message: format!("secret {} was not created", s.secret),
            })?;
            Ok(TaskSpecContainerSpecSecrets {
                file: Some(TaskSpecContainerSpecFile {
                    name: Some(s.target.clone()),
                    uid: Some("0".into()),
                    gid: Some("0".into()),
                    mode: Some(0o444),
                }),
                secret_id: Some(id.clone()),
                secret_name: Some(s.secret.clone()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let container = TaskSpecContainerSpec {
        image: Some(svc.image.clone()),
        labels: map(&svc.container_labels),
        command: svc.entrypoint.clone(),
        args: svc.command.clone(),
        hostname: svc.hostname.clone(),
        env: Some(svc.env.clone()),
        dir: svc.working_dir.clone(),
        user: svc.user.clone(),
        tty: Some(svc.tty),
        open_stdin: Some(svc.stdin_open),
        mounts: (!mounts.is_empty()).then_some(mounts),
        stop_signal: svc.stop_signal.clone(),
        stop_grace_period: nanos(svc.stop_grace_period),
        health_check: svc.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.to_vec()),
            interval: nanos(h.interval),
            timeout: nanos(h.timeout),
            retries: h.retries.map(i64::from),
            start_period: nanos(h.start_period),
            // API 1.41 engines reject it.
            start_interval: None,
        }),
        hosts: (!svc.hosts.is_empty()).then(|| svc.hosts.clone()),
        secrets: (!secrets.is_empty()).then_some(secrets),
        ..Default::default()
    };
    let ports: Vec<EndpointPortConfig> = svc
        .ports
        .iter()
        .map(|p| EndpointPortConfig {
            protocol: Some(match p.protocol {
                PortProtocol::Tcp => EndpointPortConfigProtocolEnum::TCP,
                PortProtocol::Udp => EndpointPortConfigProtocolEnum::UDP,
            }),
            target_port: Some(i64::from(p.target)),
            published_port: p.published.map(i64::from),
            publish_mode: Some(EndpointPortConfigPublishModeEnum::HOST),
            ..Default::default()
        })
        .collect();
    Ok(ServiceSpec {
        name: Some(svc.name.clone()),
        labels: map(&svc.labels(project)),
        task_template: Some(TaskSpec {
            container_spec: Some(container),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(match svc.restart.condition {
                    RestartCondition::Any => TaskSpecRestartPolicyConditionEnum::ANY,
                    RestartCondition::OnFailure => TaskSpecRestartPolicyConditionEnum::ON_FAILURE,
                    RestartCondition::None => TaskSpecRestartPolicyConditionEnum::NONE,
                }),
                max_attempts: svc.restart.max_attempts.map(i64::from),
                ..Default::default()
            }),
            networks: Some(
                svc.networks
                    .iter()
                    .map(|a| NetworkAttachmentConfig {
                        target: Some(a.network.clone()),
                        aliases: Some(a.aliases.clone()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        mode: Some(ServiceSpecMode {
            replicated: Some(ServiceSpecModeReplicated {
                replicas: Some(i64::from(svc.replicas)),
            }),
            ..Default::default()
        }),
        endpoint_spec: Some(EndpointSpec {
            mode: Some(EndpointSpecModeEnum::DNSRR),
            ports: (!ports.is_empty()).then_some(ports),
        }),
        ..Default::default()
    })
}

impl Engine {
    /// Create the service; the engine's warnings (e.g. that a local image's digest
    /// cannot be resolved from a registry) are returned for the caller to show.
    pub async fn create_service(
        &self,
        project: &str,
        svc: &SwarmService,
        secret_ids: &BTreeMap<String, String>,
    ) -> Result<Vec<String>> {
        let created = self
            .docker
            .create_service(spec(project, svc, secret_ids)?, None)
            .await
            .map_err(fail(EngineOp::CreateService, &svc.name))?;
        Ok(created.warnings.unwrap_or_default())
    }

    /// Replace the definition of an existing service (a rolling update of its tasks).
    pub async fn update_service(
        &self,
        project: &str,
        svc: &SwarmService,
        id: &str,
        version: u64,
        secret_ids: &BTreeMap<String, String>,
    ) -> Result<Vec<String>> {
        let opts = UpdateServiceOptionsBuilder::default()
            .version(version.min(i32::MAX as u64) as i32)
            .build();
        let updated = self
            .docker
            .update_service(id, spec(project, svc, secret_ids)?, opts, None)
            .await
            .map_err(fail(EngineOp::UpdateService, &svc.name))?;
        Ok(updated.warnings.unwrap_or_default())
    }

    /// Remove a service (its tasks stop on their own); one already gone counts as removed.
    pub async fn remove_service(&self, name: &str) -> Result<()> {
        match self.docker.delete_service(name).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map_err(fail(EngineOp::RemoveService, name)),
        }
    }

    /// When the service was created or last updated, and how its rolling update
    /// stands (with the swarm's message about it).
    pub async fn service_rollout(&self, name: &str) -> Result<(String, Option<Rollout>, String)> {
        let s = self
            .docker
            .inspect_service(name, None)
            .await
            .map_err(fail(EngineOp::ListServices, name))?;
        let status = s.update_status.unwrap_or_default();
        let rollout = status.state.and_then(|st| match st {
            ServiceUpdateStatusStateEnum::UPDATING => Some(Rollout::Updating),
            ServiceUpdateStatusStateEnum::PAUSED => Some(Rollout::Paused),
            ServiceUpdateStatusStateEnum::COMPLETED => Some(Rollout::Completed),
            ServiceUpdateStatusStateEnum::ROLLBACK_STARTED => Some(Rollout::RollbackStarted),
            ServiceUpdateStatusStateEnum::ROLLBACK_PAUSED => Some(Rollout::RollbackPaused),
            ServiceUpdateStatusStateEnum::ROLLBACK_COMPLETED => Some(Rollout::RollbackCompleted),
            ServiceUpdateStatusStateEnum::EMPTY => None,
        });
        Ok((
            s.updated_at.or(s.created_at).unwrap_or_default(),
            rollout,
            status.message.unwrap_or_default(),
        ))
    }
}
