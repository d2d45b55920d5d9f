//! Turning execution events into output for people (DESIGN §1 rule 3: the only
//! place that will touch indicatif and colours). For now: plain lines on stderr.

pub mod logs;
mod plain;
pub mod table;
pub mod terminal;

use std::sync::Arc;

use crate::cli::Progress;
use crate::execute::EventSink;

pub use plain::format_event;

/// The event sink for a `--progress` mode, writing to stderr (stdout is for results).
/// `auto` and `tty` print plain lines until the bar renderer exists; `quiet` prints
/// nothing (errors still are printed, once, by `main`).
pub fn sink(progress: Progress) -> EventSink {
    match progress {
        Progress::Quiet => Arc::new(|_| {}),
        Progress::Json => Arc::new(|event| {
            if let Ok(line) = serde_json::to_string(&event) {
                eprintln!("{line}");
            }
        }),
        _ => Arc::new(|event| {
            if let Some(line) = format_event(&event) {
                eprintln!("{line}");
            }
        }),
    }
}
