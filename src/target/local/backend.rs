//! The engine calls `execute` makes, behind a trait: `Engine` implements it, and
//! the scheduler's unit tests use a recorded fake.

use std::time::Duration;

use crate::engine::{ContainerStatus, Engine, PullUpdate};
use crate::error::Result;
use crate::plan::observed::ObservedContainer;
use crate::plan::spec::{BuildSpec, ContainerSpec};

/// What the local executor asks of an engine. Futures need not be `Send`: the
/// executor runs its steps concurrently within one task.
#[allow(async_fn_in_trait)]
pub trait Backend {
    async fn create_network(
        &self,
        project: &str,
        key: &str,
        name: &str,
        driver: Option<&str>,
        internal: bool,
    ) -> Result<()>;
    async fn create_volume(
        &self,
        project: &str,
        key: &str,
        name: &str,
        driver: Option<&str>,
    ) -> Result<()>;
    async fn pull_image(
        &self,
        image: &str,
        on_progress: &(dyn Fn(PullUpdate) + Sync),
    ) -> Result<()>;
    async fn build_image(
        &self,
        image: &str,
        build: &BuildSpec,
        on_output: &(dyn Fn(String) + Sync),
    ) -> Result<()>;
    /// Returns the new container's id.
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String>;
    async fn write_files(&self, container: &str, files: &[(String, Vec<u8>)]) -> Result<()>;
    async fn start_container(&self, name: &str) -> Result<()>;
    async fn stop_container(&self, name: &str, timeout: Option<Duration>) -> Result<()>;
    async fn remove_container(&self, name: &str) -> Result<()>;
    /// Remove a container but not its anonymous volumes: a recreate hands them to
    /// the new container. (A fake may treat it as `remove_container`.)
    async fn remove_container_keeping_volumes(&self, name: &str) -> Result<()> {
        self.remove_container(name).await
    }
    async fn remove_network(&self, name_or_id: &str) -> Result<()>;
    async fn remove_volume(&self, name: &str) -> Result<()>;
    /// Returns once the container is not running; only a wake-up.
    async fn until_not_running(&self, name: &str);
    async fn inspect_container(&self, name: &str) -> Result<Option<ContainerStatus>>;
    /// Run a health test's command once: whether it passed, and its output.
    async fn probe_health(&self, name: &str, command: &[String]) -> Result<(bool, String)>;
    async fn list_containers(&self, project: &str) -> Result<Vec<ObservedContainer>>;
    async fn logs_tail(&self, name: &str, lines: usize) -> Result<Vec<String>>;
}

impl Backend for Engine {
    async fn create_network(
        &self,
        project: &str,
        key: &str,
        name: &str,
        driver: Option<&str>,
        internal: bool,
    ) -> Result<()> {
        Engine::create_network(self, project, key, name, driver, internal).await
    }
    async fn create_volume(
        &self,
        project: &str,
        key: &str,
        name: &str,
        driver: Option<&str>,
    ) -> Result<()> {
        Engine::create_volume(self, project, key, name, driver).await
    }
    async fn pull_image(
        &self,
        image: &str,
        on_progress: &(dyn Fn(PullUpdate) + Sync),
    ) -> Result<()> {
        Engine::pull_image(self, image, on_progress).await
    }
    async fn build_image(
        &self,
        image: &str,
        build: &BuildSpec,
        on_output: &(dyn Fn(String) + Sync),
    ) -> Result<()> {
        let args = build.args.clone().into_iter().collect();
        Engine::build_image(
            self,
            image,
            &build.context,
            build.dockerfile.as_deref(),
            &args,
            build.target.as_deref(),
            on_output,
        )
        .await
    }
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
        Engine::create_container(self, spec).await
    }
    async fn write_files(&self, container: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
        Engine::write_files(self, container, files).await
    }
    async fn start_container(&self, name: &str) -> Result<()> {
        Engine::start_container(self, name).await
    }
    async fn stop_container(&self, name: &str, timeout: Option<Duration>) -> Result<()> {
        Engine::stop_container(self, name, timeout).await
    }
    async fn remove_container(&self, name: &str) -> Result<()> {
        Engine::remove_container(self, name).await
    }
    async fn remove_container_keeping_volumes(&self, name: &str) -> Result<()> {
        Engine::remove_container_keeping_volumes(self, name).await
    }
    async fn remove_network(&self, name_or_id: &str) -> Result<()> {
        Engine::remove_network(self, name_or_id).await
    }
    async fn remove_volume(&self, name: &str) -> Result<()> {
        Engine::remove_volume(self, name).await
    }
    async fn until_not_running(&self, name: &str) {
        Engine::until_not_running(self, name).await
    }
    async fn inspect_container(&self, name: &str) -> Result<Option<ContainerStatus>> {
        Engine::inspect_container(self, name).await
    }
    async fn probe_health(&self, name: &str, command: &[String]) -> Result<(bool, String)> {
        Engine::probe_health(self, name, command).await
    }
    async fn list_containers(&self, project: &str) -> Result<Vec<ObservedContainer>> {
        Engine::list_containers(self, project).await
    }
    async fn logs_tail(&self, name: &str, lines: usize) -> Result<Vec<String>> {
        Engine::logs_tail(self, name, lines).await
    }
}
