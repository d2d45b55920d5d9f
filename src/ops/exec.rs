//! `exec`: which container runs the command, and its exit code once the engine
//! has it. The session (TTY, stdin, output) is the command's (`commands::exec`).

use std::time::Duration;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::overview::service_rows;

use super::project::{ProjectContext, check_services};

/// The running container of `service`; an unknown service is invalid input, one
/// without a running container `Error::NotRunning`.
pub async fn container(engine: &Engine, ctx: &ProjectContext, service: &str) -> Result<String> {
    let observed = engine.observe(&ctx.name, &[]).await?;
    check_services(&[service.to_string()], &ctx.known_services(&observed))?;
    let row = service_rows([service], &observed, &Default::default())
        .into_iter()
        .next()
        .expect("one row per requested service");
    match (&row.container, row.state.is_running()) {
        (Some(c), true) => Ok(c.clone()),
        (Some(c), false) => Err(Error::NotRunning {
            service: service.to_string(),
            state: format!("its container {c} is {}", row.state.text()),
        }),
        (None, _) => Err(Error::NotRunning {
            service: service.to_string(),
            state: "it has no container".into(),
        }),
    }
}

/// The exec's exit code once the engine has recorded it. Its output ends when the
/// process exits, but the engine may report it as running for a moment longer.
pub async fn exit_code(engine: &Engine, exec_id: &str) -> Result<i32> {
    for _ in 0..100 {
        if let Some(code) = engine.exec_exit_code(exec_id).await? {
            // Exit codes are 0..=255 in the container; anything else is a failure.
            return Ok(u8::try_from(code).map(i32::from).unwrap_or(1));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Err(Error::Engine {
        op: crate::error::EngineOp::Exec,
        resource: exec_id.to_string(),
        message: "the command's output ended but the engine still reports it running".into(),
    })
}
