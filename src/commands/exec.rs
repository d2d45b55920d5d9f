//! `pier exec SERVICE -- CMD…`: run a command in the service's running container.
//! With a TTY when stdin is a terminal (the local terminal in raw mode meanwhile,
//! restored afterwards), stdin forwarded, output streamed; the command's exit code
//! becomes pier's.

use std::io::{Read, Write};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::cli::{ExecArgs, GlobalArgs};
use crate::engine::{Engine, ExecRequest, OutputKind};
use crate::error::{Error, Result};
use crate::overview::service_rows;
use crate::report::terminal::{self, RawMode};

use super::project::{ProjectContext, check_services};
use super::runtime;

pub fn run(global: &GlobalArgs, args: &ExecArgs, out: &mut dyn Write) -> Result<i32> {
    let ctx = ProjectContext::from_cli(global)?;
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let observed = engine.observe(&ctx.name, &[]).await?;
        check_services(
            std::slice::from_ref(&args.service),
            &ctx.known_services(&observed),
        )?;
        let row = service_rows([args.service.as_str()], &observed, &Default::default())
            .into_iter()
            .next()
            .expect("one row per requested service");
        let container = match (&row.container, row.state.is_running()) {
            (Some(c), true) => c.clone(),
            (Some(c), false) => {
                return Err(Error::NotRunning {
                    service: args.service.clone(),
                    state: format!("its container {c} is {}", row.state.text()),
                });
            }
            (None, _) => {
                return Err(Error::NotRunning {
                    service: args.service.clone(),
                    state: "it has no container".into(),
                });
            }
        };
        let tty = !args.no_tty && terminal::stdin_is_terminal();
        let request = ExecRequest {
            cmd: args.command.clone(),
            tty,
            stdin: true,
            size: if tty { terminal::size() } else { None },
        };
        let session = engine.exec_start(&container, &request).await?;
        let raw = if tty {
            Some(RawMode::enable().map_err(|e| Error::io("<terminal>", e))?)
        } else {
            None
        };
        forward_stdin(session.input);
        if tty {
            follow_terminal_size(engine.clone(), session.id.clone());
        }
        let mut output = session.output;
        let mut stderr = std::io::stderr();
        while let Some(chunk) = output.next().await {
            let chunk = chunk?;
            let written = match chunk.kind {
                OutputKind::Stderr => stderr.write_all(&chunk.bytes).and_then(|()| stderr.flush()),
                OutputKind::Stdout | OutputKind::Console => {
                    out.write_all(&chunk.bytes).and_then(|()| out.flush())
                }
            };
            if let Err(e) = written {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    break;
                }
                return Err(Error::io("<stdout>", e));
            }
        }
        drop(raw);
        exit_code(&engine, &session.id).await
    })
}

/// The exec's exit code once the engine has recorded it. Its output ends when the
/// process exits, but the engine may report it as running for a moment longer.
async fn exit_code(engine: &Engine, exec_id: &str) -> Result<i32> {
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

/// Copy pier's stdin into the command's, then send end-of-file. Read on a plain
/// thread: a blocking read of stdin cannot be cancelled, and a thread that is still
/// waiting when the command has finished must not keep pier from exiting.
fn forward_stdin(mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(16);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if input.write_all(&bytes).await.is_err() || input.flush().await.is_err() {
                return;
            }
        }
        let _ = input.shutdown().await;
    });
}

/// Keep the container's TTY as large as the local terminal.
fn follow_terminal_size(engine: Engine, exec_id: String) {
    tokio::spawn(async move {
        let Ok(mut changes) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while changes.recv().await.is_some() {
            if let Some((cols, rows)) = terminal::size() {
                let _ = engine.exec_resize(&exec_id, cols, rows).await;
            }
        }
    });
}
