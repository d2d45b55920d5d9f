//! Turning execution events into output for people (DESIGN §1 rule 3: the only
//! place that touches indicatif and colours). `--progress` picks the renderer:
//! bars and spinners on a terminal, plain lines, JSON lines, or nothing. All of
//! them write to stderr: stdout is for results (the service table, the plan).

mod json;
pub mod logs;
mod plain;
mod pull;
pub mod table;
pub mod terminal;
mod tty;

use std::io::IsTerminal;
use std::sync::Arc;

use crate::event::Event;
use crate::event::EventSink;

pub use plain::format_event;

/// How to show progress (the command line's `--progress`, mapped by the
/// command layer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// Bars on a terminal, plain lines otherwise.
    #[default]
    Auto,
    /// Bars and spinners.
    Tty,
    /// One line per event.
    Plain,
    /// One JSON object per event.
    Json,
    /// Warnings and errors only.
    Quiet,
}

/// One way of showing events.
trait Render: Send + Sync {
    fn event(&self, event: &Event);
    /// The run is over (whatever the outcome): close what is still open.
    fn finish(&self) {}
}

/// Nothing of the progress; warnings only (a problem the user must see even so).
struct Quiet(plain::Plain);

impl Render for Quiet {
    fn event(&self, event: &Event) {
        if matches!(event, Event::Warning { .. }) {
            self.0.event(event);
        }
    }
}

/// The renderer of one command run. Hand `sink()` to `execute`, call `finish()`
/// when it returned (before the result or error is printed).
#[derive(Clone)]
pub struct Reporter {
    render: Arc<dyn Render>,
}

impl Reporter {
    /// The renderer `progress` asks for, on stderr.
    pub fn new(progress: impl Into<Progress>) -> Reporter {
        let progress = progress.into();
        let color = color_wanted(std::env::var_os("NO_COLOR").as_deref());
        if !color {
            console::set_colors_enabled_stderr(false);
        }
        let render: Arc<dyn Render> = match resolve(progress, std::io::stderr().is_terminal()) {
            Progress::Tty => Arc::new(tty::Tty::stderr(color)),
            Progress::Json => Arc::new(json::Json::new(Box::new(std::io::stderr()))),
            Progress::Quiet => Arc::new(Quiet(plain::Plain::new(Box::new(std::io::stderr())))),
            Progress::Auto | Progress::Plain => {
                Arc::new(plain::Plain::new(Box::new(std::io::stderr())))
            }
        };
        Reporter { render }
    }

    /// Every event is masked with the run's secrets first (`crate::secrets`, those
    /// of the stack loaded so far), so no renderer — `--progress json` included —
    /// prints a secret value.
    pub fn sink(&self) -> EventSink {
        let render = self.render.clone();
        Arc::new(move |event| render.event(&crate::secrets::active().mask_event(event)))
    }

    pub fn finish(&self) {
        self.render.finish();
    }
}

/// A sink for callers that only stream events and never `finish` (bars of the
/// tty renderer then stay as they were last drawn).
pub fn sink(progress: impl Into<Progress>) -> EventSink {
    Reporter::new(progress).sink()
}

/// `auto` is bars on a terminal and plain lines otherwise (a log, a pipe, CI).
pub fn resolve(progress: Progress, stderr_is_terminal: bool) -> Progress {
    match progress {
        Progress::Auto if stderr_is_terminal => Progress::Tty,
        Progress::Auto => Progress::Plain,
        other => other,
    }
}

/// https://no-color.org: a NO_COLOR that is set and not empty turns colours off.
fn color_wanted(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests;
