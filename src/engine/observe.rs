//! Reading what exists for a project, by the `io.pier.project` label alone.

use std::collections::{BTreeMap, HashMap};

use bollard::models::{ContainerSummary, ContainerSummaryStateEnum, PortSummaryTypeEnum};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};

use super::{Engine, fail, project_filter};
use crate::error::{EngineOp, Result};
use crate::labels;
use crate::plan::hash::parse_fields_label;
use crate::plan::observed::{
    ContainerState, Health, Observed, ObservedContainer, ObservedMount, ObservedNetwork,
    ObservedVolume, PublishedPort,
};
use crate::plan::spec::parse_hooks_label;
use crate::preflight::ContainerPort;

impl Engine {
    /// The project's containers (any state), networks and volumes, plus which of
    /// `images` are present locally: four listing calls at once, no per-container
    /// inspect (a no-op `up` is this and nothing else).
    pub async fn observe(&self, project: &str, images: &[String]) -> Result<Observed> {
        let mut images: Vec<&String> = images.iter().collect();
        images.sort();
        images.dedup();
        let filters = project_filter(project);
        let (summaries, networks, volumes, present) = tokio::try_join!(
            self.list_summaries(&filters, true, project),
            self.list_networks(project),
            self.list_volumes(project),
            futures_util::future::try_join_all(images.into_iter().map(|image| async move {
                let id = self.image_id(image).await?;
                Ok::<_, crate::Error>(id.map(|id| (image.clone(), id)))
            })),
        )?;
        let volume_mounts = summaries.iter().filter_map(volume_mounts_of).collect();
        let volumes_from = summaries.iter().filter_map(volumes_from_of).collect();
        let container_dirs: Vec<Option<String>> = summaries
            .iter()
            .map(|s| working_dir(s.labels.as_ref()))
            .collect();
        let (one_offs, services): (Vec<_>, Vec<_>) = summaries.into_iter().partition(is_one_off);
        let (networks, network_dirs): (Vec<_>, Vec<_>) = networks.into_iter().unzip();
        let (volumes, volume_dirs): (Vec<_>, Vec<_>) = volumes.into_iter().unzip();
        Ok(Observed {
            containers: from_summaries(services),
            one_offs: from_summaries(one_offs),
            networks,
            volumes,
            images: present.into_iter().flatten().collect::<BTreeMap<_, _>>(),
            working_dirs: container_dirs
                .into_iter()
                .chain(network_dirs)
                .chain(volume_dirs)
                .flatten()
                .collect(),
            volume_mounts,
            volumes_from,
        })
    }

    /// Every network on the engine, whoever made it, as (name, id): what the
    /// project's containers may be attached to.
    pub async fn all_networks(&self) -> Result<Vec<(String, String)>> {
        let listed = self
            .docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .map_err(fail(EngineOp::ListNetworks, "(all)"))?;
        Ok(listed
            .into_iter()
            .filter_map(|n| Some((n.name?, n.id.unwrap_or_default())))
            .collect())
    }

    /// Each with the project directory its labels name (`labels::WORKING_DIR`).
    async fn list_networks(&self, project: &str) -> Result<Vec<(ObservedNetwork, Option<String>)>> {
        let filters = project_filter(project);
        let mut networks: Vec<(ObservedNetwork, Option<String>)> = self
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
                let dir = working_dir(n.labels.as_ref());
                Some((
                    ObservedNetwork {
                        name: n.name?,
                        id: n.id.unwrap_or_default(),
                    },
                    dir,
                ))
            })
            .collect();
        networks.sort_by(|a, b| (&a.0.name, &a.0.id).cmp(&(&b.0.name, &b.0.id)));
        Ok(networks)
    }

    async fn list_volumes(&self, project: &str) -> Result<Vec<(ObservedVolume, Option<String>)>> {
        let filters = project_filter(project);
        let mut volumes: Vec<(ObservedVolume, Option<String>)> = self
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
            .map(|v| {
                let dir = working_dir(Some(&v.labels));
                (ObservedVolume { name: v.name }, dir)
            })
            .collect();
        volumes.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(volumes)
    }

    /// The project's containers (any state) from one listing call, without inspecting
    /// them: health and exit code come from the engine's status text (`Up 3 s
    /// (healthy)`, `Exited (1) 2 s ago`), and `started_at` is left unknown.
    pub async fn list_containers(&self, project: &str) -> Result<Vec<ObservedContainer>> {
        let summaries = self
            .list_summaries(&project_filter(project), true, project)
            .await?;
        Ok(from_summaries(summaries))
    }

    /// The containers of every pier project (running ones only unless `all`), for
    /// `pier ls`: which project each belongs to, its state, and where the project lives.
    pub async fn list_project_containers(&self, all: bool) -> Result<Vec<ProjectContainer>> {
        let filters = [("label".to_string(), vec![labels::PROJECT.to_string()])].into();
        let summaries = self.list_summaries(&filters, all, "<all>").await?;
        Ok(summaries
            .into_iter()
            .filter_map(|s| {
                let labels = s.labels.unwrap_or_default();
                Some(ProjectContainer {
                    project: labels.get(labels::PROJECT)?.clone(),
                    state: state_of(s.state),
                    working_dir: labels.get(labels::WORKING_DIR).cloned(),
                    config_files: labels.get(labels::CONFIG_FILES).cloned(),
                })
            })
            .collect())
    }

    async fn list_summaries(
        &self,
        filters: &HashMap<String, Vec<String>>,
        all: bool,
        what: &str,
    ) -> Result<Vec<ContainerSummary>> {
        self.docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(all)
                    .filters(filters)
                    .build(),
            ))
            .await
            .map_err(fail(EngineOp::ListContainers, what))
    }
}

/// One container of some pier project, as `pier ls` counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectContainer {
    pub project: String,
    pub state: ContainerState,
    /// The `io.pier.project.working_dir` label (None on containers of older pier versions).
    pub working_dir: Option<String>,
    /// The `io.pier.project.config_files` label: the stack files, comma-separated.
    pub config_files: Option<String>,
}

fn is_one_off(s: &ContainerSummary) -> bool {
    s.labels
        .as_ref()
        .and_then(|l| l.get(labels::ONE_OFF))
        .is_some_and(|v| v == "true")
}

fn from_summaries(summaries: Vec<ContainerSummary>) -> Vec<ObservedContainer> {
    let mut containers: Vec<ObservedContainer> =
        summaries.into_iter().filter_map(from_summary).collect();
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    containers
}

fn state_of(state: Option<ContainerSummaryStateEnum>) -> ContainerState {
    match state {
        Some(ContainerSummaryStateEnum::RUNNING) => ContainerState::Running,
        Some(ContainerSummaryStateEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerSummaryStateEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerSummaryStateEnum::REMOVING) => ContainerState::Removing,
        Some(ContainerSummaryStateEnum::EXITED) => ContainerState::Exited,
        Some(ContainerSummaryStateEnum::DEAD) => ContainerState::Dead,
        _ => ContainerState::Created,
    }
}

/// (container name, its volume mounts sorted by target).
fn volume_mounts_of(s: &ContainerSummary) -> Option<(String, Vec<ObservedMount>)> {
    let name = s
        .names
        .as_ref()?
        .first()?
        .trim_start_matches('/')
        .to_string();
    let mut mounts: Vec<ObservedMount> = s
        .mounts
        .iter()
        .flatten()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| {
            Some(ObservedMount {
                volume: m.name.clone()?,
                target: m.destination.clone()?,
            })
        })
        .collect();
    mounts.sort_by(|a, b| a.target.cmp(&b.target));
    Some((name, mounts))
}

/// (container name, the containers it takes volumes from), when it takes some.
fn volumes_from_of(s: &ContainerSummary) -> Option<(String, Vec<String>)> {
    let name = s
        .names
        .as_ref()?
        .first()?
        .trim_start_matches('/')
        .to_string();
    let label = s.labels.as_ref()?.get(labels::VOLUMES_FROM)?;
    let from = label
        .split(',')
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    Some((name, from))
}

impl Engine {
    /// Every running container's published host ports, of any project or none:
    /// who holds a port `up` needs (`preflight`), and which ports are taken.
    pub async fn published_ports(&self) -> Result<Vec<ContainerPort>> {
        let summaries = self
            .docker
            .list_containers(Some(ListContainersOptionsBuilder::default().build()))
            .await
            .map_err(fail(EngineOp::ListContainers, "(all)"))?;
        let mut out = Vec::new();
        for s in summaries {
            let labels = s.labels.unwrap_or_default();
            let Some(name) = s.names.as_ref().and_then(|n| n.first()) else {
                continue;
            };
            let name = name.trim_start_matches('/').to_string();
            // A pier project's label, else Compose's (the same engine serves both).
            let project = labels
                .get(labels::PROJECT)
                .or_else(|| labels.get(COMPOSE_PROJECT))
                .cloned();
            let working_dir = labels
                .get(labels::WORKING_DIR)
                .or_else(|| labels.get(COMPOSE_WORKING_DIR))
                .cloned();
            for p in s.ports.unwrap_or_default() {
                let Some(host_port) = p.public_port else {
                    continue;
                };
                out.push(ContainerPort {
                    container: name.clone(),
                    project: project.clone(),
                    pier: labels.contains_key(labels::PROJECT),
                    working_dir: working_dir.clone(),
                    host_port,
                    udp: matches!(p.typ, Some(PortSummaryTypeEnum::UDP)),
                });
            }
        }
        Ok(out)
    }
}

const COMPOSE_PROJECT: &str = "com.docker.compose.project";
const COMPOSE_WORKING_DIR: &str = "com.docker.compose.project.working_dir";

/// The `labels::WORKING_DIR` label of a resource, when it has one.
fn working_dir(labels: Option<&std::collections::HashMap<String, String>>) -> Option<String> {
    labels?
        .get(labels::WORKING_DIR)
        .filter(|d| !d.is_empty())
        .cloned()
}

fn from_summary(s: ContainerSummary) -> Option<ObservedContainer> {
    let labels = s.labels.unwrap_or_default();
    let networks = s.network_settings.and_then(|n| n.networks).map(|n| {
        n.into_iter()
            .map(|(name, e)| (name, e.network_id.unwrap_or_default()))
            .collect()
    });
    let network_host = s
        .host_config
        .and_then(|h| h.network_mode)
        .and_then(|m| m.strip_prefix("container:").map(String::from));
    let status = s.status.unwrap_or_default();
    let mut published: Vec<PublishedPort> = s
        .ports
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| {
            let protocol = match p.typ {
                Some(PortSummaryTypeEnum::UDP) => "udp",
                Some(PortSummaryTypeEnum::SCTP) => "sctp",
                _ => "tcp",
            };
            Some(PublishedPort {
                target: format!("{}/{protocol}", p.private_port),
                host_ip: p.ip.unwrap_or_default(),
                host_port: p.public_port?,
            })
        })
        .collect();
    published.sort();
    published.dedup();
    Some(ObservedContainer {
        name: s.names?.first()?.trim_start_matches('/').to_string(),
        id: s.id?,
        image_id: s.image_id,
        service: labels.get(labels::SERVICE).cloned().unwrap_or_default(),
        config_hash: labels.get(labels::CONFIG_HASH).cloned(),
        field_hashes: labels
            .get(labels::CONFIG_FIELDS)
            .map(|l| parse_fields_label(l))
            .unwrap_or_default(),
        depends_on: labels
            .get(labels::DEPENDS_ON)
            .map(|l| {
                l.split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        state: state_of(s.state),
        health: health_of_status(&status),
        exit_code: exit_code_of_status(&status),
        started_at: None,
        published,
        pre_stop: parse_hooks_label(labels.get(labels::PRE_STOP)),
        networks,
        network_host,
    })
}

/// The health suffix of the engine's status text (`Up 5 seconds (health: starting)`).
fn health_of_status(status: &str) -> Option<Health> {
    if status.ends_with("(healthy)") {
        Some(Health::Healthy)
    } else if status.ends_with("(unhealthy)") {
        Some(Health::Unhealthy)
    } else if status.ends_with("(health: starting)") {
        Some(Health::Starting)
    } else {
        None
    }
}

/// The exit code in `Exited (137) 3 minutes ago`.
fn exit_code_of_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest[..rest.find(')')?].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text() {
        assert_eq!(
            health_of_status("Up 3 seconds (healthy)"),
            Some(Health::Healthy)
        );
        assert_eq!(
            health_of_status("Up 1 second (unhealthy)"),
            Some(Health::Unhealthy)
        );
        assert_eq!(
            health_of_status("Up Less than a second (health: starting)"),
            Some(Health::Starting)
        );
        assert_eq!(health_of_status("Up 2 hours"), None);
        assert_eq!(exit_code_of_status("Exited (137) 3 minutes ago"), Some(137));
        assert_eq!(
            exit_code_of_status("Exited (0) Less than a second ago"),
            Some(0)
        );
        assert_eq!(exit_code_of_status("Up 2 hours"), None);
        assert_eq!(exit_code_of_status("Created"), None);
    }
}
