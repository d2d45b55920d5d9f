//! `pier logs [-f] [--tail N] [SERVICE…]`: the services' logs, interleaved as they
//! arrive, each line prefixed with its service. With `-f` it follows every service
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
use crate::report::logs::{LineBuffer, LogPrefixes, stdout_colour};

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
        };
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
                        .map(|l| prefixes.line(&service, l))
                        .collect::<String>()
                }
                Some(Item::End(service)) => buffers
                    .get_mut(&service)
                    .and_then(LineBuffer::finish)
                    .map(|l| prefixes.line(&service, &l))
                    .unwrap_or_default(),
            };
            if text.is_empty() {
                continue;
            }
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => {}
                // `pier logs | head`: the reader has what it wanted.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(exit::OK),
                Err(e) => return Err(Error::io("<stdout>", e)),
            }
        }
    })
}
