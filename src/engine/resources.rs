//! Networks and volumes, labelled so that `observe` finds them again.

use std::collections::HashMap;

use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::RemoveVolumeOptionsBuilder;

use super::{Engine, fail, is_not_found};
use crate::error::{EngineOp, Result};
use crate::labels;

fn resource_labels(project: &str, key: &str) -> HashMap<String, String> {
    [
        (labels::PROJECT.to_string(), project.to_string()),
        (labels::RESOURCE.to_string(), key.to_string()),
        (
            labels::VERSION.to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ]
    .into()
}

impl Engine {
    pub async fn create_network(
        &self,
        project: &str,
        key: &str,
        name: &str,
        driver: Option<&str>,
        internal: bool,
    ) -> Result<()> {
        self.docker
            .create_network(NetworkCreateRequest {
                name: name.to_string(),
                driver: Some(driver.unwrap_or("bridge").to_string()),
                internal: Some(internal),
                labels: Some(resource_labels(project, key)),
                ..Default::default()
            })
            .await
            .map_err(fail(EngineOp::CreateNetwork, name))?;
        Ok(())
    }

    /// Remove a network; one that is already gone counts as removed.
    pub async fn remove_network(&self, name: &str) -> Result<()> {
        match self.docker.remove_network(name).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map_err(fail(EngineOp::RemoveNetwork, name)),
        }
    }

    pub async fn create_volume(
        &self,
        project: &str,
        key: &str,
        name: &str,
        driver: Option<&str>,
    ) -> Result<()> {
        self.docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.to_string()),
                driver: driver.map(String::from),
                labels: Some(resource_labels(project, key)),
                ..Default::default()
            })
            .await
            .map_err(fail(EngineOp::CreateVolume, name))?;
        Ok(())
    }

    /// Remove a volume; one that is already gone counts as removed.
    pub async fn remove_volume(&self, name: &str) -> Result<()> {
        let opts = RemoveVolumeOptionsBuilder::default().build();
        match self.docker.remove_volume(name, Some(opts)).await {
            Err(e) if is_not_found(&e) => Ok(()),
            other => other.map_err(fail(EngineOp::RemoveVolume, name)),
        }
    }
}
