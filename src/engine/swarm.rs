//! The swarm side of the engine: is it a manager, what the project has there
//! (services, overlay networks, secrets, volumes, tasks), and secrets.
//! Services themselves are in `swarm_service`.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use bollard::models::{LocalNodeState, SecretSpec, TaskState as EngineTaskState};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListNodesOptions,
    ListSecretsOptionsBuilder, ListServicesOptionsBuilder, ListTasksOptionsBuilder,
    ListVolumesOptionsBuilder,
};

use super::{Engine, fail, is_not_found, message, project_filter};
use crate::error::{EngineOp, Error, Result};
use crate::labels;
use crate::plan::swarm::{
    ObservedSecret, ObservedService, SwarmNetworkInfo, SwarmObserved, TaskInfo, TaskState,
};

fn task_state(s: Option<EngineTaskState>) -> TaskState {
    match s {
        Some(EngineTaskState::NEW) => TaskState::New,
        Some(EngineTaskState::ALLOCATED) => TaskState::Allocated,
        Some(EngineTaskState::PENDING) => TaskState::Pending,
        Some(EngineTaskState::ASSIGNED) => TaskState::Assigned,
        Some(EngineTaskState::ACCEPTED) => TaskState::Accepted,
        Some(EngineTaskState::PREPARING) => TaskState::Preparing,
        Some(EngineTaskState::READY) => TaskState::Ready,
        Some(EngineTaskState::STARTING) => TaskState::Starting,
        Some(EngineTaskState::RUNNING) => TaskState::Running,
        Some(EngineTaskState::COMPLETE) => TaskState::Complete,
        Some(EngineTaskState::SHUTDOWN) => TaskState::Shutdown,
        Some(EngineTaskState::FAILED) => TaskState::Failed,
        Some(EngineTaskState::REJECTED) => TaskState::Rejected,
        Some(EngineTaskState::REMOVE) => TaskState::Remove,
        Some(EngineTaskState::ORPHANED) => TaskState::Orphaned,
        _ => TaskState::Unknown,
    }
}

impl Engine {
    /// Ok when this engine manages a swarm; otherwise the error that says how to make it one.
    pub async fn require_swarm_manager(&self) -> Result<()> {
        let host = super::host();
        let info = self
            .docker
            .info()
            .await
            .map_err(fail(EngineOp::SwarmState, &host))?;
        let swarm = info.swarm.unwrap_or_default();
        let state = swarm.local_node_state.unwrap_or(LocalNodeState::EMPTY);
        if state == LocalNodeState::ACTIVE && swarm.control_available == Some(true) {
            return Ok(());
        }
        let state = match state {
            LocalNodeState::ACTIVE => "worker node, not a manager".to_string(),
            LocalNodeState::EMPTY => "unknown".to_string(),
            other => other.to_string(),
        };
        Err(Error::NotSwarmManager { host, state })
    }

    /// The project's services, networks, secrets and (this node's) volumes.
    pub async fn observe_swarm(&self, project: &str) -> Result<SwarmObserved> {
        let filters = project_filter(project);
        let mut services: Vec<ObservedService> = self
            .docker
            .list_services(Some(
                ListServicesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(fail(EngineOp::ListServices, project))?
            .into_iter()
            .filter_map(|s| {
                let spec = s.spec?;
                let labels = spec.labels.unwrap_or_default();
                Some(ObservedService {
                    name: spec.name?,
                    id: s.id?,
                    key: labels.get(labels::SERVICE).cloned().unwrap_or_default(),
                    version: s.version.and_then(|v| v.index).unwrap_or(0),
                    config_hash: labels.get(labels::CONFIG_HASH).cloned(),
                    config_fields: labels
                        .get(labels::CONFIG_FIELDS)
                        .map(|l| crate::plan::hash::parse_fields_label(l)),
                    depends_on: labels
                        .get(labels::DEPENDS_ON)
                        .map(|l| {
                            l.split(',')
                                .filter(|d| !d.is_empty())
                                .map(String::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                    replicas: spec
                        .mode
                        .and_then(|m| m.replicated)
                        .and_then(|r| r.replicas)
                        .map(|n| n.max(0) as u64),
                    updated_at: s.updated_at.or(s.created_at).unwrap_or_default(),
                })
            })
            .collect();
        services.sort_by(|a, b| a.name.cmp(&b.name));

        let mut networks: Vec<SwarmNetworkInfo> = self
            .docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(fail(EngineOp::ListNetworks, project))?
            .into_iter()
            .filter_map(|n| {
                Some(SwarmNetworkInfo {
                    name: n.name?,
                    id: n.id.unwrap_or_default(),
                    scope: n.scope.unwrap_or_default(),
                })
            })
            .collect();
        networks.sort_by(|a, b| a.name.cmp(&b.name));

        let mut secrets: Vec<ObservedSecret> = self
            .docker
            .list_secrets(Some(
                ListSecretsOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(fail(EngineOp::ListSecrets, project))?
            .into_iter()
            .filter_map(|s| {
                let spec = s.spec?;
                Some(ObservedSecret {
                    name: spec.name?,
                    id: s.id?,
                    hash: spec
                        .labels
                        .and_then(|l| l.get(labels::CONFIG_HASH).cloned()),
                })
            })
            .collect();
        secrets.sort_by(|a, b| a.name.cmp(&b.name));

        let mut volumes: Vec<String> = self
            .docker
            .list_volumes(Some(
                ListVolumesOptionsBuilder::default()
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(fail(EngineOp::ListVolumes, project))?
            .volumes
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect();
        volumes.sort();
        Ok(SwarmObserved {
            services,
            networks,
            secrets,
            volumes,
        })
    }

    /// Create a secret labelled with the project and the sha256 of its value (so a
    /// later `up` can tell whether the value changed without reading it back). Returns its id.
    pub async fn create_secret(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        value: &[u8],
    ) -> Result<String> {
        let created = self
            .docker
            .create_secret(SecretSpec {
                name: Some(name.to_string()),
                labels: Some(labels.into_iter().collect()),
                data: Some(base64::engine::general_purpose::STANDARD.encode(value)),
                ..Default::default()
            })
            .await
            .map_err(fail(EngineOp::CreateSecret, name))?;
        Ok(created.id)
    }

    /// Remove a secret; one already gone counts as removed.
    pub async fn remove_secret(&self, name: &str) -> Result<()> {
        match self.docker.delete_secret(name).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map_err(fail(EngineOp::RemoveSecret, name)),
        }
    }

    /// The tasks of a service (all of them, history included), newest first within a
    /// slot, with the health of those whose container is on this node.
    pub async fn service_tasks(&self, service: &str) -> Result<Vec<TaskInfo>> {
        let filters: HashMap<String, Vec<String>> =
            [("service".to_string(), vec![service.to_string()])].into();
        let tasks = match self
            .docker
            .list_tasks(Some(
                ListTasksOptionsBuilder::default().filters(&filters).build(),
            ))
            .await
        {
            Ok(t) => t,
            Err(e) if is_not_found(&e) => return Ok(vec![]),
            Err(e) => return Err(fail(EngineOp::ListTasks, service)(e)),
        };
        let nodes = self.node_names().await?;
        let mut out = Vec::new();
        for t in tasks {
            let status = t.status.unwrap_or_default();
            let container_id = status
                .container_status
                .as_ref()
                .and_then(|c| c.container_id.clone())
                .filter(|id| !id.is_empty());
            let health = match &container_id {
                Some(id) => self
                    .inspect_container(id)
                    .await?
                    .and_then(|c| c.health)
                    .map(Into::into),
                None => None,
            };
            let node_id = t.node_id.unwrap_or_default();
            let ports = status
                .port_status
                .and_then(|p| p.ports)
                .unwrap_or_default()
                .into_iter()
                .map(|p| {
                    let proto = p
                        .protocol
                        .map(|x| x.to_string())
                        .filter(|x| !x.is_empty())
                        .unwrap_or_else(|| "tcp".into());
                    format!(
                        "0.0.0.0:{}->{}/{proto}",
                        p.published_port.unwrap_or(0),
                        p.target_port.unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>();
            // The engine lists a host-mode port once per address family.
            let mut ports = ports;
            ports.sort();
            ports.dedup();
            out.push(TaskInfo {
                service: service.to_string(),
                id: t.id.unwrap_or_default(),
                slot: t.slot,
                node: nodes.get(&node_id).cloned().unwrap_or(node_id),
                desired: task_state(t.desired_state),
                state: task_state(status.state),
                message: status.message.unwrap_or_default(),
                error: status.err.filter(|e| !e.is_empty()),
                exit_code: status.container_status.and_then(|c| c.exit_code),
                health,
                ports,
                updated: status.timestamp.or(t.created_at).unwrap_or_default(),
            });
        }
        out.sort_by(|a, b| {
            (a.slot, crate::plan::swarm::time_key(&b.updated))
                .cmp(&(b.slot, crate::plan::swarm::time_key(&a.updated)))
        });
        Ok(out)
    }

    /// How many containers of the service's tasks are still on this node (any state).
    pub async fn task_containers(&self, service_id: &str) -> Result<usize> {
        let filters: HashMap<String, Vec<String>> = [(
            "label".to_string(),
            vec![format!("com.docker.swarm.service.id={service_id}")],
        )]
        .into();
        let list = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(fail(EngineOp::ListContainers, service_id))?;
        Ok(list.len())
    }

    /// Whether this node still has the network (a removed overlay network lingers on
    /// a node until its last task there has gone).
    pub async fn network_exists(&self, name: &str) -> Result<bool> {
        match self.docker.inspect_network(name, None).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(fail(EngineOp::ListNetworks, name)(e)),
        }
    }

    /// Node id → hostname, for showing where tasks run.
    async fn node_names(&self) -> Result<BTreeMap<String, String>> {
        let nodes = self
            .docker
            .list_nodes(None::<ListNodesOptions>)
            .await
            .map_err(|e| Error::Engine {
                op: EngineOp::ListNodes,
                resource: "tasks".into(),
                message: message(e),
            })?;
        Ok(nodes
            .into_iter()
            .filter_map(|n| Some((n.id?, n.description?.hostname?)))
            .collect())
    }
}
