//! Container logs as a stream of plain chunks, for `pier logs` (`-f` included).

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::stream::{BoxStream, StreamExt};

use super::{Engine, fail, is_not_found};
use crate::error::{EngineOp, Result};

/// Which of the container's outputs a chunk came from. A container with a TTY has
/// one merged output (`Console`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    Stdout,
    Stderr,
    Console,
}

/// Bytes as the engine sent them: not split into lines (a chunk may end mid-line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputChunk {
    pub kind: OutputKind,
    pub bytes: Vec<u8>,
}

impl OutputChunk {
    /// None for what pier never shows (the echo of a container's own stdin).
    pub(super) fn from_engine(out: LogOutput) -> Option<OutputChunk> {
        let (kind, message) = match out {
            LogOutput::StdOut { message } => (OutputKind::Stdout, message),
            LogOutput::StdErr { message } => (OutputKind::Stderr, message),
            LogOutput::Console { message } => (OutputKind::Console, message),
            LogOutput::StdIn { .. } => return None,
        };
        Some(OutputChunk {
            kind,
            bytes: message.to_vec(),
        })
    }
}

/// What part of a log to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogRequest {
    /// Keep the stream open for new output until the container stops.
    pub follow: bool,
    /// Only the last N lines (None: all).
    pub tail: Option<u64>,
    /// Each line starts with its RFC 3339 time and a space (to merge by time).
    pub timestamps: bool,
}

impl Engine {
    /// The log of `container` as chunks arrive. With `follow` the stream ends when
    /// the container stops (as `docker logs -f` does); a container removed
    /// meanwhile just ends it.
    pub fn log_stream(
        &self,
        container: &str,
        request: LogRequest,
    ) -> BoxStream<'static, Result<OutputChunk>> {
        let tail = request
            .tail
            .map(|n| n.to_string())
            .unwrap_or_else(|| "all".into());
        let opts = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(request.follow)
            .timestamps(request.timestamps)
            .tail(&tail)
            .build();
        let name = container.to_string();
        self.docker
            .logs(container, Some(opts))
            .take_while(|item| {
                let gone = matches!(item, Err(e) if is_not_found(e));
                std::future::ready(!gone)
            })
            .filter_map(move |item| {
                std::future::ready(match item {
                    Ok(out) => OutputChunk::from_engine(out).map(Ok),
                    Err(e) => Some(Err(fail(EngineOp::ReadLogs, &name)(e))),
                })
            })
            .boxed()
    }
}
