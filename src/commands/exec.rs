//! `pier exec [-e K=V] [-u USER] [-w DIR] SERVICE CMD…`: run a command in the service's running container.
//! With a TTY when stdin is a terminal (the local terminal in raw mode meanwhile,
//! restored afterwards), stdin forwarded, output streamed; the command's exit code
//! becomes pier's.

use std::io::{Read, Write};

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::io::AsyncWriteExt;

use crate::cli::ExecArgs;
use crate::engine::{Engine, ExecAs, ExecRequest, OutputChunk, OutputKind};
use crate::error::{Error, Result};
use crate::ops;
use crate::ops::project::ProjectContext;
use crate::report::terminal::{self, RawMode};

use super::runtime;

pub fn run(ctx: &ProjectContext, args: &ExecArgs, out: &mut dyn Write) -> Result<i32> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let container = ops::exec::container(&engine, ctx, &args.service).await?;
        let tty = !args.no_tty && terminal::stdin_is_terminal();
        let request = ExecRequest {
            command: ExecAs {
                cmd: args.command.clone(),
                user: args.process.user.clone(),
                working_dir: args.process.workdir.clone(),
                environment: ops::run::environment(&args.process.env, &std::env::vars().collect())?,
                privileged: false,
            },
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
            let (engine, id) = (engine.clone(), session.id.clone());
            follow_terminal_size(move |cols, rows| {
                let (engine, id) = (engine.clone(), id.clone());
                async move {
                    let _ = engine.exec_resize(&id, cols, rows).await;
                }
            });
        }
        stream_output(session.output, out).await?;
        drop(raw);
        ops::exec::exit_code(&engine, &session.id).await
    })
}

/// Copy pier's stdin into the command's, then send end-of-file. Read on a plain
/// thread: a blocking read of stdin cannot be cancelled, and a thread that is still
/// waiting when the command has finished must not keep pier from exiting.
pub(super) fn forward_stdin(mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>) {
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

/// Keep the command's TTY as large as the local terminal: `resize` with the new
/// size (columns, rows) on every change.
pub(super) fn follow_terminal_size<F, Fut>(resize: F)
where
    F: Fn(u16, u16) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let Ok(mut changes) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while changes.recv().await.is_some() {
            if let Some((cols, rows)) = terminal::size() {
                resize(cols, rows).await;
            }
        }
    });
}

/// Write the command's output as it arrives: stdout (or the TTY's console) to
/// `out`, stderr to pier's stderr. A reader that went away ends it quietly.
pub(super) async fn stream_output(
    mut output: BoxStream<'static, Result<OutputChunk>>,
    out: &mut dyn Write,
) -> Result<()> {
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
    Ok(())
}
