//! The router's container and network (`crate::router`, `ops::router`): create
//! them from a `RouterSpec` (plain data, decided by the op), inspect them, join
//! a service's container to the router's network under an alias, and list who
//! is on it. The router's configuration goes in through `put_files` (the
//! archive API) and is reloaded through exec: the router needs no Docker socket.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount as EngineMount, MountType,
    NetworkConnectRequest, NetworkCreateRequest, PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, InspectNetworkOptions,
};

use super::{Engine, fail, is_not_found};
use crate::error::{EngineOp, Error, Result};
use crate::labels;
use crate::plan::observed::{ContainerState, PublishedPort};

/// Everything the router's container is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSpec {
    pub name: String,
    pub image: String,
    pub network: String,
    /// `uid:gid`, or None for the image's user.
    pub user: Option<String>,
    /// Host directory bind-mounted at `data_target`.
    pub data_dir: String,
    pub data_target: String,
    /// Host ports on 127.0.0.1 for the container's 80 and 443 (0: the engine picks).
    pub http_port: u16,
    pub https_port: u16,
    /// The value of the `io.pier.router` label (the settings' fingerprint).
    pub fingerprint: String,
}

/// The router's container as inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterObserved {
    pub state: ContainerState,
    pub image: String,
    pub fingerprint: Option<String>,
    /// Bound host ports (after start; the engine's choice for 0).
    pub published: Vec<PublishedPort>,
    /// The host ports it was created with (0: the engine's choice).
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
}

impl Engine {
    /// Create the router's network unless it exists.
    pub async fn ensure_router_network(&self, name: &str) -> Result<()> {
        match self
            .docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(fail(EngineOp::CreateNetwork, name)(e)),
        }
        let created = self
            .docker
            .create_network(NetworkCreateRequest {
                name: name.to_string(),
                driver: Some("bridge".into()),
                labels: Some([(labels::ROUTER.to_string(), "network".to_string())].into()),
                ..Default::default()
            })
            .await;
        match created {
            // Another pier made it meanwhile.
            Err(e) if super::message_of(&e).contains("already exists") => Ok(()),
            other => other.map(drop).map_err(fail(EngineOp::CreateNetwork, name)),
        }
    }

    /// Create (not start) the router's container.
    pub async fn create_router(&self, spec: &RouterSpec) -> Result<()> {
        let binding = |port: u16| {
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(match port {
                    0 => String::new(),
                    p => p.to_string(),
                }),
            }])
        };
        let bindings: HashMap<String, Option<Vec<PortBinding>>> = [
            ("80/tcp".to_string(), binding(spec.http_port)),
            ("443/tcp".to_string(), binding(spec.https_port)),
        ]
        .into();
        let labels: HashMap<String, String> = [
            (labels::ROUTER.to_string(), spec.fingerprint.clone()),
            (
                format!("{}.http-port", labels::ROUTER),
                spec.http_port.to_string(),
            ),
            (
                format!("{}.https-port", labels::ROUTER),
                spec.https_port.to_string(),
            ),
            (
                labels::VERSION.to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
        ]
        .into();
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            user: spec.user.clone(),
            env: Some(vec![
                format!("XDG_DATA_HOME={}", spec.data_target),
                format!("XDG_CONFIG_HOME={}/config", spec.data_target),
            ]),
            labels: Some(labels),
            host_config: Some(HostConfig {
                port_bindings: Some(bindings),
                mounts: Some(vec![EngineMount {
                    target: Some(spec.data_target.clone()),
                    source: Some(spec.data_dir.clone()),
                    typ: Some(MountType::BIND),
                    ..Default::default()
                }]),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                network_mode: Some(spec.network.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        self.docker
            .create_container(Some(opts), body)
            .await
            .map_err(fail(EngineOp::CreateContainer, &spec.name))?;
        Ok(())
    }

    /// The router's container, or None when there is none.
    pub async fn inspect_router(&self, name: &str) -> Result<Option<RouterObserved>> {
        let info = match self.docker.inspect_container(name, None).await {
            Ok(info) => info,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(fail(EngineOp::InspectContainer, name)(e)),
        };
        let config = info.config.unwrap_or_default();
        let labels = config.labels.unwrap_or_default();
        let port_label = |which: &str| {
            labels
                .get(&format!("{}.{which}", labels::ROUTER))
                .and_then(|v| v.parse().ok())
        };
        let state = super::container::state_of(info.state.and_then(|s| s.status));
        let published = super::container::published_of(info.network_settings);
        Ok(Some(RouterObserved {
            state,
            image: config.image.unwrap_or_default(),
            fingerprint: labels.get(labels::ROUTER).cloned(),
            published,
            http_port: port_label("http-port"),
            https_port: port_label("https-port"),
        }))
    }

    /// Names of the containers (any state) joined to `network`, but for `except`.
    pub async fn containers_on_network(&self, network: &str, except: &str) -> Result<Vec<String>> {
        let filters: HashMap<String, Vec<String>> =
            [("network".to_string(), vec![network.to_string()])].into();
        let mut names = self.container_names(&filters, network).await?;
        names.retain(|n| n != except);
        Ok(names)
    }

    /// The content of the file `path` in `container` (created, running or stopped),
    /// or None when the container or the file does not exist.
    pub async fn read_file(&self, container: &str, path: &str) -> Result<Option<Vec<u8>>> {
        use futures_util::TryStreamExt;
        let opts = DownloadFromContainerOptionsBuilder::default()
            .path(path)
            .build();
        let resource = format!("{container}:{path}");
        let chunks: Vec<bytes::Bytes> = match self
            .docker
            .download_from_container(container, Some(opts))
            .try_collect()
            .await
        {
            Ok(chunks) => chunks,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(fail(EngineOp::DownloadArchive, &resource)(e)),
        };
        let tar: Vec<u8> = chunks.concat();
        let unreadable = |e: std::io::Error| Error::Engine {
            op: EngineOp::DownloadArchive,
            resource: resource.clone(),
            message: e.to_string(),
        };
        let mut archive = tar::Archive::new(&tar[..]);
        for entry in archive.entries().map_err(unreadable)? {
            let mut entry = entry.map_err(unreadable)?;
            if entry.header().entry_type().is_file() {
                let mut content = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut content).map_err(unreadable)?;
                return Ok(Some(content));
            }
        }
        Ok(None)
    }

    /// Join `container` to `network` under `aliases`.
    pub async fn connect_network(
        &self,
        network: &str,
        container: &str,
        aliases: &[String],
    ) -> Result<()> {
        self.docker
            .connect_network(
                network,
                NetworkConnectRequest {
                    container: container.to_string(),
                    endpoint_config: Some(EndpointSettings {
                        aliases: Some(aliases.to_vec()),
                        ..Default::default()
                    }),
                },
            )
            .await
            .map_err(|e| Error::Engine {
                op: EngineOp::ConnectNetwork,
                resource: format!("{network} (container {container})"),
                message: super::message(e),
            })
    }
}
