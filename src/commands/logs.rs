//! `pier logs [-f] [--tail N] [SERVICE…]`: the services' logs, interleaved as they
//! arrive, each line prefixed with its service. With `-f` it follows every service
//! at once and ends, like `docker compose logs -f`, when all their containers have
//! stopped (exit 0) or at Ctrl-C (exit 130, without an error message: that is how
//! one normally leaves it).

use std::collections::BTreeMap;
use std::io::Write;

use futures_util::stream::{self, StreamExt};

use crate::cli::{GlobalArgs, LogsArgs};
use crate::engine::{Engine, LogRequest, OutputChunk};
use crate::error::{Error, Result, exit};
use crate::report::logs::{LineBuffer, LogPrefixes, stdout_colour};

use super::project::{ProjectContext, check_services};
use super::runtime;

/// One item of the merged streams: a chunk of a service's log, or its end.
enum Item {
    Chunk(String, Result<OutputChunk>),
    End(String),
}

pub fn run(global: &GlobalArgs, args: &LogsArgs, out: &mut dyn Write) -> Result<i32> {
    let ctx = ProjectContext::from_cli(global)?;
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let observed = engine.observe(&ctx.name, &[]).await?;
        let known = ctx.known_services(&observed);
        check_services(&args.services, &known)?;
        let selected: Vec<&str> = if args.services.is_empty() {
            known.clone()
        } else {
            args.services.iter().map(String::as_str).collect()
        };
        let mut sources: Vec<(String, String)> = Vec::new();
        for service in &selected {
            match observed.container_of(service) {
                Some(c) => sources.push((service.to_string(), c.name.clone())),
                // Named explicitly: say why nothing comes; otherwise skip it quietly,
                // as `docker compose logs` does.
                None if !args.services.is_empty() => {
                    eprintln!("note: service `{service}` has no container (`pier up` creates it)")
                }
                None => {}
            }
        }
        if sources.is_empty() && args.services.is_empty() {
            eprintln!(
                "note: project {} has no containers (`pier up` creates them)",
                ctx.name
            );
        }
        sources.sort();
        sources.dedup();
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
