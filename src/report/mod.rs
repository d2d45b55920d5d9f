//! Turning execution events into output for people (DESIGN §1 rule 3: the only
//! place that will touch indicatif and colours). For now: plain lines on stderr.

mod plain;

use std::sync::Arc;

use crate::cli::Progress;
use crate::execute::EventSink;

pub use plain::format_event;

/// The event sink for a `--progress` mode. `auto`, `tty` and `json` print plain
/// lines until their own renderers exist; `quiet` prints nothing (errors still are).
pub fn sink(progress: Progress) -> EventSink {
    match progress {
        Progress::Quiet => Arc::new(|_| {}),
        _ => Arc::new(|event| {
            if let Some(line) = format_event(&event) {
                eprintln!("{line}");
            }
        }),
    }
}
