//! `pier logs [-f] [-t] [--tail N] [SERVICE…]`: the services' logs, each line
//! prefixed with its service, several services' lines in time order (the engine
//! gives each line its time; `-t` shows it). With `-f` the lines that follow are
//! interleaved as they arrive. With `-f` it follows every service
//! at once and ends, like `docker compose logs -f`, when all their containers have
//! stopped (exit 0) or at Ctrl-C (exit 130, without an error message: that is how
//! one normally leaves it).

use std::collections::BTreeMap;
use std::io::Write;

use futures_util::stream::{self, StreamExt};

use crate::cli::LogsArgs;
use crate::engine::{Engine, LogRequest, OutputChunk};
use crate::error::{Error, Result, exit};
use crate::event::EventSink;
use crate::ops;
use crate::ops::project::ProjectContext;
use crate::report::logs::{LineBuffer, LogPrefixes, in_time_order, split_timestamp, stdout_colour};

use super::runtime;

/// One item of the merged streams: a chunk of a service's log, or its end.
enum Item {
    Chunk(String, Result<OutputChunk>),
    End(String),
}

pub fn run(
    ctx: &ProjectContext,
    args: &LogsArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let sources = ops::logs::sources(&engine, ctx, &args.services, sink).await?;
        let prefixes = LogPrefixes::new(sources.iter().map(|(s, _)| s.as_str()), stdout_colour());
        let request = LogRequest {
            follow: args.follow,
            tail: args.tail,
            timestamps: true,
        };
        let shown = |line: &str| -> String {
            match args.timestamps {
                true => line.to_string(),
                false => split_timestamp(line).1.to_string(),
            }
        };
        if !args.follow {
            return all_in_time_order(&engine, &sources, request, &prefixes, &shown, out).await;
        }
        let streams = sources.iter().map(|(service, container)| {
            let s = service.clone();
            let end = service.clone();
            engine
                .log_stream(container, request)
                .map(move |item| Item::Chunk(s.clone(), item))
                .chain(stream::once(std::future::ready(Item::End(end))))
                .boxed()
        });
        let mut merged = stream::select_all(streams);
        let mut buffers: BTreeMap<String, LineBuffer> = BTreeMap::new();
        let interrupt = tokio::signal::ctrl_c();
        tokio::pin!(interrupt);
        loop {
            let item = tokio::select! {
                item = merged.next() => item,
                _ = &mut interrupt => return Ok(exit::INTERRUPTED),
            };
            let text = match item {
                None => return Ok(exit::OK),
                Some(Item::Chunk(service, chunk)) => {
                    let chunk = chunk?;
                    let lines = buffers
                        .entry(service.clone())
                        .or_default()
                        .push(&chunk.bytes);
                    lines
                        .iter()
                        .map(|l| prefixes.line(&service, &shown(l)))
                        .collect::<String>()
                }
                Some(Item::End(service)) => buffers
                    .get_mut(&service)
                    .and_then(LineBuffer::finish)
                    .map(|l| prefixes.line(&service, &shown(&l)))
                    .unwrap_or_default(),
            };
            if text.is_empty() {
                continue;
            }
            if let Some(code) = write(out, &text)? {
                return Ok(code);
            }
        }
    })
}

/// Write `text`; Some(exit code) when the reader went away (`pier logs | head`:
/// it has what it wanted).
fn write(out: &mut dyn Write, text: &str) -> Result<Option<i32>> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Some(exit::OK)),
        Err(e) => Err(Error::io("<stdout>", e)),
    }
}

/// Without `-f`: read every log whole, then print all lines merged by time.
async fn all_in_time_order(
    engine: &Engine,
    sources: &[(String, String)],
    request: LogRequest,
    prefixes: &LogPrefixes,
    shown: &dyn Fn(&str) -> String,
    out: &mut dyn Write,
) -> Result<i32> {
    let reads = sources.iter().map(|(service, container)| async move {
        let mut stream = engine.log_stream(container, request);
        let mut buffer = LineBuffer::default();
        let mut lines = Vec::new();
        while let Some(chunk) = stream.next().await {
            lines.extend(buffer.push(&chunk?.bytes));
        }
        lines.extend(buffer.finish());
        Ok::<_, Error>(
            lines
                .into_iter()
                .map(|l| (service.clone(), l))
                .collect::<Vec<_>>(),
        )
    });
    let mut all = Vec::new();
    for lines in futures_util::future::join_all(reads).await {
        all.extend(lines?);
    }
    let text: String = in_time_order(all)
        .iter()
        .map(|(service, line)| prefixes.line(service, &shown(line)))
        .collect();
    Ok(write(out, &text)?.unwrap_or(exit::OK))
}
