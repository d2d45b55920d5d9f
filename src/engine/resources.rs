//! Networks and volumes, labelled so that `observe` finds them again.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{InspectNetworkOptions, RemoveVolumeOptionsBuilder};

use super::{Engine, fail, is_conflict, is_not_found};
use crate::error::{EngineOp, Error, Result};
use crate::labels;

impl Engine {
    fn resource_labels(&self, project: &str, key: &str) -> HashMap<String, String> {
        let mut labels: HashMap<String, String> = self
            .identity
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.extend([
            (labels::PROJECT.to_string(), project.to_string()),
            (labels::RESOURCE.to_string(), key.to_string()),
            (
                labels::VERSION.to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ]);
        labels
    }

    pub async fn create_network(
        &self,
        project: &str,
        key: &str,
        name: &str,
        driver: Option<&str>,
        internal: bool,
    ) -> Result<()> {
        // Sent with the engine's duplicate check (`deadline::check_duplicate_networks`).
        let created = self
            .docker
            .create_network(NetworkCreateRequest {
                name: name.to_string(),
                driver: Some(driver.unwrap_or("bridge").to_string()),
                internal: Some(internal),
                labels: Some(self.resource_labels(project, key)),
                ..Default::default()
            })
            .await;
        match created {
            Ok(_) => Ok(()),
            // A run killed while its create was in flight made it after this run
            // looked: it is the project's own, so it is the one to use.
            Err(e)
                if is_conflict(&e) && self.network_project(name).await == Some(project.into()) =>
            {
                Ok(())
            }
            Err(e) => Err(fail(EngineOp::CreateNetwork, name)(e)),
        }
    }

    /// The project label of the network named `name`, if it exists.
    async fn network_project(&self, name: &str) -> Option<String> {
        let info = self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
            .ok()?;
        info.labels?.get(labels::PROJECT).cloned()
    }

    /// Remove a network; one that is already gone counts as removed.
    ///
    /// "has active endpoints" right after the last container went away can be the
    /// engine still tearing one down, so it is tried again a few times. When it
    /// persists, the message says which containers still use the network, or, when
    /// none does, that this is the engine's own endpoint leak (Docker 20.10,
    /// moby/moby#43286): only a daemon restart removes such a network.
    pub async fn remove_network(&self, name: &str) -> Result<()> {
        // Pauses before the second, third and fourth try.
        for pause_ms in [100, 200, 400] {
            match self.docker.remove_network(name).await {
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) if super::message_of(&e).contains("active endpoints") => {
                    tokio::time::sleep(Duration::from_millis(pause_ms)).await;
                }
                other => return other.map_err(fail(EngineOp::RemoveNetwork, name)),
            }
        }
        match self.docker.remove_network(name).await {
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) if super::message_of(&e).contains("active endpoints") => Err(Error::Engine {
                op: EngineOp::RemoveNetwork,
                resource: name.to_string(),
                message: self.why_network_in_use(name).await,
            }),
            other => other.map_err(fail(EngineOp::RemoveNetwork, name)),
        }
    }

    async fn why_network_in_use(&self, name: &str) -> String {
        let info = self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await;
        let network = info
            .as_ref()
            .ok()
            .and_then(|n| n.name.clone())
            .unwrap_or_else(|| name.to_string());
        let mut users: Vec<String> = info
            .ok()
            .and_then(|n| n.containers)
            .into_iter()
            .flatten()
            .map(|(id, c)| c.name.unwrap_or(id))
            .collect();
        users.sort();
        if users.is_empty() {
            format!(
                "the engine still counts endpoints on network {network} though no container is \
                 attached (a Docker engine bug, moby/moby#43286)\n  hint: it is harmless: \
                 `pier up` uses it again, and it goes away when the Docker daemon restarts \
                 (e.g. `systemctl restart docker`)"
            )
        } else {
            format!(
                "network {network} is still used by {}\n  hint: containers of other projects \
                 were connected to it; disconnect them (`docker network disconnect {network} \
                 NAME`) and run `pier down` again",
                users.join(", ")
            )
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
                labels: Some(self.resource_labels(project, key)),
                ..Default::default()
            })
            .await
            .map_err(fail(EngineOp::CreateVolume, name))?;
        Ok(())
    }

    /// The directory on the engine's machine holding a plain local volume's
    /// content as its `_data` (the mount point the engine reports, less
    /// `/_data`), or None for any other volume: another driver's, or a local
    /// one with options (a bind, tmpfs or NFS is mounted *onto* `_data` while
    /// the volume is in use, so its content is not `_data`'s own).
    pub async fn volume_home(&self, name: &str) -> Result<Option<String>> {
        let v = self
            .docker
            .inspect_volume(name)
            .await
            .map_err(fail(EngineOp::InspectVolume, name))?;
        if v.driver != "local" || !v.options.is_empty() {
            return Ok(None);
        }
        Ok(v.mountpoint
            .strip_suffix("/_data")
            .filter(|home| home.starts_with('/'))
            .map(String::from))
    }

    /// Whether a container whose mounts are in place now (running, paused or
    /// restarting) mounts volume `name`.
    pub async fn volume_in_use(&self, name: &str) -> Result<bool> {
        let filters: HashMap<String, Vec<String>> = [
            ("volume".to_string(), vec![name.to_string()]),
            (
                "status".to_string(),
                ["running", "paused", "restarting"]
                    .map(String::from)
                    .to_vec(),
            ),
        ]
        .into();
        Ok(!self.container_names(&filters, name).await?.is_empty())
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
