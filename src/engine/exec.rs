//! Interactive exec for `pier exec`: start a command in a running container with
//! its input and output attached, resize its TTY, read its exit code.

use std::pin::Pin;

use bollard::exec::{CreateExecOptions, ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::{AttachContainerOptionsBuilder, ResizeContainerTTYOptionsBuilder};
use futures_util::stream::{BoxStream, StreamExt};
use tokio::io::AsyncWrite;

use super::logs::OutputChunk;
use super::{Engine, ExecAs, fail};
use crate::error::{EngineOp, Error, Result};

/// What to run and how to attach to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRequest {
    /// The command, and as whom, where, with what variables.
    pub command: ExecAs,
    /// Give the command a pseudo-terminal (output then arrives as one `Console` stream).
    pub tty: bool,
    /// Attach the command's stdin (pier forwards its own stdin into it).
    pub stdin: bool,
    /// Initial terminal size (columns, rows), for `tty`.
    pub size: Option<(u16, u16)>,
}

/// A started exec: its output as it arrives, and its input.
pub struct ExecSession {
    /// The exec's id; for an attach (`attach_container`), the container's name.
    pub id: String,
    pub output: BoxStream<'static, Result<OutputChunk>>,
    /// Shut it down to send end-of-file to the command.
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl Engine {
    pub async fn exec_start(&self, container: &str, request: &ExecRequest) -> Result<ExecSession> {
        let created = self
            .docker
            .create_exec(
                container,
                CreateExecOptions {
                    attach_stdin: Some(request.stdin),
                    tty: Some(request.tty),
                    ..request.command.create_options()
                },
            )
            .await
            .map_err(fail(EngineOp::Exec, container))?;
        let started = self
            .docker
            .start_exec(
                &created.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: request.tty,
                    output_capacity: None,
                }),
            )
            .await
            .map_err(fail(EngineOp::Exec, container))?;
        let StartExecResults::Attached { output, input } = started else {
            return Err(Error::Engine {
                op: EngineOp::Exec,
                resource: container.to_string(),
                message: "the engine started the command detached".into(),
            });
        };
        if let (true, Some((cols, rows))) = (request.tty, request.size) {
            // Best effort: a wrong size only makes full-screen programs look odd.
            let _ = self.exec_resize(&created.id, cols, rows).await;
        }
        let name = container.to_string();
        let output = output
            .filter_map(move |item| {
                std::future::ready(match item {
                    Ok(out) => OutputChunk::from_engine(out).map(Ok),
                    Err(e) => Some(Err(fail(EngineOp::Exec, &name)(e))),
                })
            })
            .boxed();
        Ok(ExecSession {
            id: created.id,
            output,
            input,
        })
    }

    pub async fn exec_resize(&self, exec_id: &str, cols: u16, rows: u16) -> Result<()> {
        self.docker
            .resize_exec(
                exec_id,
                ResizeExecOptions {
                    width: cols,
                    height: rows,
                },
            )
            .await
            .map_err(fail(EngineOp::Exec, exec_id))
    }

    /// The exit code of a finished exec (None while it still runs).
    pub async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>> {
        let info = self
            .docker
            .inspect_exec(exec_id)
            .await
            .map_err(fail(EngineOp::Exec, exec_id))?;
        Ok(if info.running == Some(true) {
            None
        } else {
            info.exit_code
        })
    }
}

/// `pier run`'s side: a created container's own input and output.
impl Engine {
    /// Attach to `container` before it starts (so none of its output is missed):
    /// its output as it arrives and, with `stdin`, its input. The session's `id` is
    /// the container's name.
    pub async fn attach_container(&self, container: &str, stdin: bool) -> Result<ExecSession> {
        let options = AttachContainerOptionsBuilder::default()
            .stream(true)
            .logs(false)
            .stdin(stdin)
            .stdout(true)
            .stderr(true)
            .build();
        let attached = self
            .docker
            .attach_container(container, Some(options))
            .await
            .map_err(fail(EngineOp::Attach, container))?;
        let name = container.to_string();
        let output = attached
            .output
            .filter_map(move |item| {
                std::future::ready(match item {
                    Ok(out) => OutputChunk::from_engine(out).map(Ok),
                    Err(e) => Some(Err(fail(EngineOp::Attach, &name)(e))),
                })
            })
            .boxed();
        Ok(ExecSession {
            id: container.to_string(),
            output,
            input: attached.input,
        })
    }

    pub async fn resize_container(&self, container: &str, cols: u16, rows: u16) -> Result<()> {
        let options = ResizeContainerTTYOptionsBuilder::default()
            .w(i32::from(cols))
            .h(i32::from(rows))
            .build();
        self.docker
            .resize_container_tty(container, options)
            .await
            .map_err(fail(EngineOp::Attach, container))
    }

    /// The exit code of `container` once it has stopped (waiting for that).
    pub async fn exit_code_when_stopped(&self, container: &str) -> Result<i64> {
        self.until_not_running(container).await;
        let status = self.inspect_container(container).await?;
        Ok(status.and_then(|s| s.exit_code).unwrap_or(-1))
    }
}
