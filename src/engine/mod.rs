//! The Docker adapter: the only module that imports bollard (DESIGN §1 rule 3).
//!
//! Everything it returns is plain data (`plan::Observed`, `ContainerStatus`,
//! strings); every failure is an `Error::Engine` naming the operation and the
//! resource, with the engine's own message.

mod archive;
mod container;
mod context;
mod deadline;
mod exec;
mod health;
mod image;
mod logs;
mod observe;
mod resources;
mod router;
mod swarm;
mod swarm_service;
mod sync;
mod version;

use bollard::Docker;

use crate::error::{EngineOp, Error, Result};

pub use archive::Helper;
pub use container::ContainerStatus;
pub use context::{DockerIgnore, build_context_tar};
pub use deadline::call_deadline;
pub use exec::{ExecRequest, ExecSession};
pub use health::health_test_from_engine;
pub use image::PullUpdate;
pub use logs::{LogRequest, OutputChunk, OutputKind};
pub use observe::ProjectContainer;
pub use router::{RouterObserved, RouterSpec};
pub use sync::ExecAs;
pub use version::EngineFacts;

/// What the engine's default socket is called when DOCKER_HOST is unset.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// A connection to a Docker engine. Cheap to clone (shares the HTTP client).
#[derive(Clone)]
pub struct Engine {
    docker: Docker,
    /// Labels every container, network and volume this engine creates also gets:
    /// the project's identity (`labels::identity`), set by `for_project`.
    identity: std::sync::Arc<std::collections::BTreeMap<String, String>>,
}

/// The engine endpoint pier talks to: `DOCKER_HOST`, else the default socket.
/// The one reader of `DOCKER_HOST`.
pub fn host() -> String {
    host_setting().unwrap_or_else(|| DEFAULT_HOST.to_string())
}

/// `DOCKER_HOST` as set (None when unset), for deciding whether the engine is local.
pub fn host_setting() -> Option<String> {
    std::env::var("DOCKER_HOST").ok()
}

impl Engine {
    /// Connect via `DOCKER_HOST` or the default socket, and agree on an API version
    /// (the engine here speaks 1.41; without negotiation every call is refused).
    /// Every call has a deadline (`call_deadline`, `PIER_ENGINE_TIMEOUT`): an engine
    /// that accepts the connection but never answers fails the call, naming it.
    pub async fn connect() -> Result<Engine> {
        let host = host();
        let unreachable = |reason: String| Error::EngineUnreachable {
            host: host.clone(),
            reason,
        };
        let deadline = call_deadline();
        let no_answer = || {
            unreachable(format!(
                "no answer within {}s (PIER_ENGINE_TIMEOUT sets this limit)",
                deadline.as_secs()
            ))
        };
        if let Some(path) = host.strip_prefix("unix://") {
            match tokio::time::timeout(deadline, version::connect_unix_by_ping(path)).await {
                Ok(Some(docker)) => return Ok(Engine::with(docker)),
                Ok(None) => {}
                Err(_) => return Err(no_answer()),
            }
        }
        let docker = Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?;
        let docker =
            tokio::time::timeout(deadline, docker.with_timeout(deadline).negotiate_version())
                .await
                .map_err(|_| no_answer())?
                .map_err(|e| unreachable(message(e)))?;
        Ok(Engine::with(docker))
    }

    fn with(docker: Docker) -> Engine {
        Engine {
            docker: docker
                .with_timeout(call_deadline())
                .with_request_modifier(deadline::check_duplicate_networks),
            identity: Default::default(),
        }
    }

    /// This engine, labelling what it creates with `identity` (the project's
    /// directory and stack files: `labels::identity`).
    pub fn for_project(&self, identity: std::collections::BTreeMap<String, String>) -> Engine {
        Engine {
            docker: self.docker.clone(),
            identity: std::sync::Arc::new(identity),
        }
    }

    /// The engine's own ID (`GET /info`): one engine has one, however
    /// `DOCKER_HOST` spells the way to it.
    pub async fn id(&self) -> Result<String> {
        let info = self
            .docker
            .info()
            .await
            .map_err(fail(EngineOp::Info, &host()))?;
        Ok(info.id.filter(|id| !id.is_empty()).unwrap_or_else(host))
    }

    /// The client for one call that may take `longer` beyond the usual deadline
    /// (a stop with its grace period, a pull or build that streams for minutes).
    fn patient(&self, longer: std::time::Duration) -> Docker {
        self.docker.clone().with_timeout(call_deadline() + longer)
    }
}

/// The engine's message without bollard's "Docker responded with status code …" wrapper.
fn message(err: bollard::errors::Error) -> String {
    message_of(&err)
}

/// `message` of a borrowed error, for deciding by what the engine said.
fn message_of(err: &bollard::errors::Error) -> String {
    use bollard::errors::Error as E;
    match err {
        E::DockerResponseServerError { message, .. } => message.trim().to_string(),
        E::RequestTimeoutError => format!(
            "the Docker engine at {} did not answer within {}s\n  hint: check the engine \
             (`docker info`); PIER_ENGINE_TIMEOUT=SECONDS sets this limit",
            host(),
            call_deadline().as_secs()
        ),
        E::DockerStreamError { error } => error.trim().to_string(),
        other => other.to_string(),
    }
}

fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

fn is_conflict(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

/// Wrap a bollard error with what pier was doing and to what.
fn fail(op: EngineOp, resource: &str) -> impl FnOnce(bollard::errors::Error) -> Error + '_ {
    move |err| Error::Engine {
        op,
        resource: resource.to_string(),
        message: message(err),
    }
}

/// A filter map for the engine's list calls: `label=io.pier.project=<project>`.
fn project_filter(project: &str) -> std::collections::HashMap<String, Vec<String>> {
    [(
        "label".to_string(),
        vec![format!("{}={project}", crate::labels::PROJECT)],
    )]
    .into()
}
