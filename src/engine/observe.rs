//! Reading what exists for a project, by the `io.pier.project` label alone.

use std::collections::BTreeMap;

use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};

use super::{Engine, fail, project_filter};
use crate::error::{EngineOp, Result};
use crate::labels;
use crate::plan::hash::parse_fields_label;
use crate::plan::observed::{Observed, ObservedContainer, ObservedNetwork, ObservedVolume};

impl Engine {
    /// The project's containers (any state), networks and volumes, plus which of
    /// `images` are present locally.
    pub async fn observe(&self, project: &str, images: &[String]) -> Result<Observed> {
        let filters = project_filter(project);
        let summaries = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(&filters)
                    .build(),
            ))
            .await
            .map_err(fail(EngineOp::ListContainers, project))?;
        // Inspect each for health, exit code, start time and bound ports (the list
        // call's API 1.41 form only has them as free text), all at once.
        let inspected = futures_util::future::try_join_all(summaries.into_iter().filter_map(|s| {
            let id = s.id?;
            let labels = s.labels.unwrap_or_default();
            let image_id = s.image_id;
            Some(async move {
                let status = self.inspect_container(&id).await?;
                Ok::<_, crate::Error>(status.map(|st| (id, image_id, labels, st)))
            })
        }))
        .await?;
        let mut containers: Vec<ObservedContainer> = inspected
            .into_iter()
            .flatten() // None: removed meanwhile
            .map(|(id, image_id, labels, status)| ObservedContainer {
                name: status.name.clone(),
                id,
                image_id,
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
                state: status.state,
                health: status.health,
                exit_code: status.exit_code,
                started_at: status.started_at,
                published: status.published,
            })
            .collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name));

        let mut networks: Vec<ObservedNetwork> = self
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
                Some(ObservedNetwork {
                    name: n.name?,
                    id: n.id.unwrap_or_default(),
                })
            })
            .collect();
        networks.sort_by(|a, b| a.name.cmp(&b.name));

        let mut volumes: Vec<ObservedVolume> = self
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
            .map(|v| ObservedVolume { name: v.name })
            .collect();
        volumes.sort_by(|a, b| a.name.cmp(&b.name));

        let checks = futures_util::future::try_join_all(images.iter().map(|image| async move {
            let id = self.image_id(image).await?;
            Ok::<_, crate::Error>(id.map(|id| (image.clone(), id)))
        }))
        .await?;
        let present: BTreeMap<String, String> = checks.into_iter().flatten().collect();
        Ok(Observed {
            containers,
            networks,
            volumes,
            images: present,
        })
    }
}
