//! Volumes' content in and out through the engine's archive API (`docker cp`'s):
//! helper containers that mount a project's volumes, created from an image the
//! project already has (nothing is pulled), their archives read and written.
//! Used by snapshots (`ops::snapshot`).

use std::collections::HashMap;

use bollard::body_try_stream;
use bollard::models::{ContainerCreateBody, HostConfig, Mount as EngineMount, MountType};
use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, CreateContainerOptionsBuilder,
    DownloadFromContainerOptionsBuilder, ListContainersOptionsBuilder,
    UploadToContainerOptionsBuilder,
};
use futures_util::stream::{BoxStream, Stream, StreamExt};

use super::{Engine, fail};
use crate::error::{EngineOp, Error, Result};
use crate::labels;

/// A container that only exists to reach volumes: no network, run as root (to
/// read and write every file whatever its owner), labelled as the project's
/// helper and not as one of its services (observe never sees it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    pub name: String,
    pub project: String,
    /// An image id or reference the engine already has.
    pub image: String,
    /// (volume name, target path).
    pub mounts: Vec<(String, String)>,
    /// (directory, target path): bind mounts of a directory on the engine's
    /// machine — pier's shared pipe (an engine that does not share pier's file
    /// system refuses it at create), or a volume's home (`volume_home`).
    pub binds: Vec<(std::path::PathBuf, String)>,
    /// Its entrypoint: what runs when it is started (a created-only helper never runs it).
    pub command: Vec<String>,
    /// A cleaner: it works on after pier has returned (deleting what a restore
    /// replaced), so the engine removes it when it exits and it is not one of
    /// the `helpers` pier removes before and after its own work.
    pub cleaner: bool,
}

impl Engine {
    /// Create `helper`; it is not started.
    pub async fn create_helper(&self, helper: &Helper) -> Result<()> {
        let mounts = helper
            .mounts
            .iter()
            .map(|(volume, target)| EngineMount {
                target: Some(target.clone()),
                source: Some(volume.clone()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            })
            .chain(helper.binds.iter().map(|(dir, target)| EngineMount {
                target: Some(target.clone()),
                source: Some(dir.to_string_lossy().into_owned()),
                typ: Some(MountType::BIND),
                ..Default::default()
            }))
            .collect();
        let label = if helper.cleaner {
            labels::CLEANER
        } else {
            labels::HELPER
        };
        let labels: HashMap<String, String> = [(label.to_string(), helper.project.clone())].into();
        let body = ContainerCreateBody {
            image: Some(helper.image.clone()),
            entrypoint: Some(helper.command.clone()),
            cmd: Some(vec![]),
            user: Some("0:0".into()),
            working_dir: Some("/".into()),
            labels: Some(labels),
            host_config: Some(HostConfig {
                mounts: Some(mounts),
                network_mode: Some("none".into()),
                auto_remove: Some(helper.cleaner),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default()
            .name(&helper.name)
            .build();
        self.docker
            .create_container(Some(opts), body)
            .await
            .map_err(fail(EngineOp::CreateContainer, &helper.name))?;
        Ok(())
    }

    /// The engine's kernel release (`uname -r` on the engine's machine).
    pub async fn kernel_version(&self) -> Result<String> {
        let info = self
            .docker
            .info()
            .await
            .map_err(fail(EngineOp::Info, &super::host()))?;
        Ok(info.kernel_version.unwrap_or_default())
    }

    /// Names of the project's helpers (left over by a run that was killed).
    pub async fn helpers(&self, project: &str) -> Result<Vec<String>> {
        let filters: HashMap<String, Vec<String>> = [(
            "label".to_string(),
            vec![format!("{}={project}", labels::HELPER)],
        )]
        .into();
        self.container_names(&filters, project).await
    }

    /// Names of the containers (any state) the list `filters` select, sorted;
    /// `resource` names what was listed in an error.
    pub(super) async fn container_names(
        &self,
        filters: &HashMap<String, Vec<String>>,
        resource: &str,
    ) -> Result<Vec<String>> {
        let list = self
            .docker
            .list_containers(Some(
                ListContainersOptionsBuilder::default()
                    .all(true)
                    .filters(filters)
                    .build(),
            ))
            .await
            .map_err(fail(EngineOp::ListContainers, resource))?;
        let mut names: Vec<String> = list
            .into_iter()
            .filter_map(|c| Some(c.names?.first()?.trim_start_matches('/').to_string()))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Remove a helper (killing it if it still runs) with the anonymous volumes
    /// its image's `VOLUME`s made for it (a database image declares its data
    /// directory). The volumes it mounts by name — the project's, its anonymous
    /// ones too — stay: the engine removes only mounts made without a source.
    pub async fn remove_helper(&self, name: &str) -> Result<()> {
        self.remove_container(name).await
    }

    /// Start a helper and wait until it exits: its exit code and last log lines.
    pub async fn run_helper(&self, name: &str) -> Result<(i64, Vec<String>)> {
        self.start_container(name).await?;
        self.until_not_running(name).await;
        let status = self.inspect_container(name).await?;
        let code = status.and_then(|s| s.exit_code).unwrap_or(-1);
        let logs = self.logs_tail(name, 20).await.unwrap_or_default();
        Ok((code, logs))
    }

    /// Whether `path` exists in the container (a created one too: the engine
    /// mounts its volumes to look), without starting it.
    pub async fn path_exists(&self, container: &str, path: &str) -> Result<bool> {
        let opts = ContainerArchiveInfoOptionsBuilder::default()
            .path(path)
            .build();
        match self
            .docker
            .get_container_archive_info(container, Some(opts))
            .await
        {
            Ok(_) => Ok(true),
            // A HEAD request: the 404 comes without the body bollard would read.
            Err(e) if super::is_not_found(&e) => Ok(false),
            Err(e) => Err(fail(EngineOp::InspectContainer, container)(e)),
        }
    }

    /// A tar of `path` in the container (a created or stopped one too: the engine
    /// mounts its volumes for the copy), as it streams.
    pub fn download_archive(
        &self,
        container: &str,
        path: &str,
    ) -> BoxStream<'static, Result<bytes::Bytes>> {
        let opts = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let name = container.to_string();
        self.docker
            .download_from_container(container, Some(opts))
            .map(move |chunk| chunk.map_err(fail(EngineOp::DownloadArchive, &name)))
            .boxed()
    }

    /// Extract the tar `body` streams into `path` in the container (which must
    /// exist). Owners and modes come from the tar.
    pub async fn upload_archive(
        &self,
        container: &str,
        path: &str,
        body: impl Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static,
    ) -> Result<()> {
        let opts = UploadToContainerOptionsBuilder::default()
            .path(path)
            .build();
        let body = body.map(|r| r.map(bytes::Bytes::from));
        self.docker
            .upload_to_container(container, Some(opts), body_try_stream(body))
            .await
            .map_err(|e| Error::Engine {
                op: EngineOp::UploadArchive,
                resource: format!("{container}:{path}"),
                message: super::message(e),
            })
    }
}
