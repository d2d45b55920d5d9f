//! What `pier watch` asks of a running container (files go in through
//! `upload_archive`): files out through `rm`, a restart, a command run as a given user, in a
//! given directory, with given variables.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::query_parameters::RestartContainerOptionsBuilder;
use futures_util::StreamExt;

use super::{Engine, fail};
use crate::error::{EngineOp, Result};

/// How many paths one `rm` gets: far below any argument-length limit.
const RM_CHUNK: usize = 500;

/// A command to run in a container, and as whom, where, with what.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecAs {
    pub cmd: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub environment: BTreeMap<String, String>,
    pub privileged: bool,
}

impl ExecAs {
    /// The engine's options for creating this exec, its output attached (the
    /// one translation for `exec_as` here and the interactive `exec_start`).
    pub(super) fn create_options(&self) -> CreateExecOptions<String> {
        let env: Vec<String> = self
            .environment
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        CreateExecOptions {
            cmd: Some(self.cmd.clone()),
            user: self.user.clone(),
            working_dir: self.working_dir.clone(),
            env: (!env.is_empty()).then_some(env),
            privileged: Some(self.privileged),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        }
    }
}

impl Engine {
    /// Remove `paths` (files or directories) from the container. A path already
    /// gone is no failure (`rm -f`). Returns the exit code and output of the
    /// first `rm` that failed, if one did.
    pub async fn remove_paths(
        &self,
        container: &str,
        paths: &[String],
    ) -> Result<Option<(i64, String)>> {
        for chunk in paths.chunks(RM_CHUNK) {
            let mut cmd = vec!["rm".to_string(), "-rf".into(), "--".into()];
            cmd.extend(chunk.iter().cloned());
            let (code, output) = self
                .exec_as(
                    container,
                    &ExecAs {
                        cmd,
                        user: Some("0".into()),
                        ..ExecAs::default()
                    },
                )
                .await?;
            if code != 0 {
                return Ok(Some((code, output)));
            }
        }
        Ok(None)
    }

    /// Restart the container, giving it `timeout` to stop first.
    pub async fn restart_container(&self, name: &str, timeout: Option<Duration>) -> Result<()> {
        let mut options = RestartContainerOptionsBuilder::default();
        if let Some(t) = timeout {
            options = options.t(t.as_secs().min(i32::MAX as u64) as i32);
        }
        self.docker
            .restart_container(name, Some(options.build()))
            .await
            .map_err(fail(EngineOp::RestartContainer, name))
    }

    /// Run `exec` in the running container; returns its exit code and combined output.
    pub async fn exec_as(&self, container: &str, exec: &ExecAs) -> Result<(i64, String)> {
        let created = self
            .docker
            .create_exec(container, exec.create_options())
            .await
            .map_err(fail(EngineOp::Exec, container))?;
        let mut output = String::new();
        if let StartExecResults::Attached {
            output: mut out, ..
        } = self
            .docker
            .start_exec(&created.id, None)
            .await
            .map_err(fail(EngineOp::Exec, container))?
        {
            while let Some(Ok(chunk)) = out.next().await {
                output.push_str(&chunk.to_string());
            }
        }
        let inspect = self
            .docker
            .inspect_exec(&created.id)
            .await
            .map_err(fail(EngineOp::Exec, container))?;
        Ok((inspect.exit_code.unwrap_or(-1), output))
    }
}
