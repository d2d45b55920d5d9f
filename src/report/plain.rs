//! One line per event, no colours, no cursor movement: for logs and CI.

use std::io::Write;
use std::sync::Mutex;

use super::Render;
use crate::event::Event;

/// Writes `format_event` lines as they come.
pub struct Plain {
    out: Mutex<Box<dyn Write + Send>>,
}

impl Plain {
    pub fn new(out: Box<dyn Write + Send>) -> Plain {
        Plain {
            out: Mutex::new(out),
        }
    }
}

impl Render for Plain {
    fn event(&self, event: &Event) {
        if let Some(line) = format_event(event) {
            let mut out = self.out.lock().expect("no panics while holding the lock");
            // Progress output is best effort: a closed stderr must not fail `up`.
            let _ = writeln!(out, "{line}");
        }
    }
}

/// The line for an event, or None for events this renderer leaves out.
pub fn format_event(event: &Event) -> Option<String> {
    match event {
        Event::StepStarted { text, .. } => Some(format!(" => {text}")),
        Event::StepFinished { text, .. } => Some(format!(" ok {text}")),
        Event::StepFailed { text, error, .. } if error == INTERRUPTED => {
            Some(format!(" -- {text}: interrupted"))
        }
        Event::StepFailed { text, .. } => Some(format!(" !! {text}: failed")),
        Event::Cancelled { steps } if steps.is_empty() => None,
        Event::Cancelled { steps } => Some(
            steps
                .iter()
                .map(|text| format!(" -- {text}: cancelled"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        // Byte-level progress ("Downloading 42%") would flood a log; states are enough.
        Event::PullProgress {
            current: Some(_), ..
        } => None,
        Event::PullProgress {
            image,
            layer,
            status,
            ..
        } => Some(match layer {
            Some(layer) => format!("    {image}: {layer}: {status}"),
            None => format!("    {image}: {status}"),
        }),
        Event::BuildOutput { service, line } => {
            Some(format!("    {service} | {}", strip_escapes(line)))
        }
        // The step line already says what is waited for.
        Event::Waiting { .. } => None,
        // The steps are printed as they start.
        Event::Planned { .. } => None,
        Event::Interrupted => Some(INTERRUPT_NOTICE.to_string()),
        Event::InterruptedAgain => Some("interrupted again: quitting at once".to_string()),
        Event::Note { text } => Some(format!("note: {text}")),
        Event::Warning { text } => Some(text.clone()),
        // Byte counts as they stream would flood a log: only the total, at the end.
        Event::Transfer {
            task,
            bytes,
            done: true,
            ..
        } => Some(format!(" ok {task}: {}", indicatif::HumanBytes(*bytes))),
        Event::Transfer { .. } => None,
        Event::LockWaiting {
            project,
            command: Some(command),
            pid: Some(pid),
        } => Some(format!(
            "waiting for another pier {command} of project {project} (pid {pid})"
        )),
        Event::LockWaiting { project, .. } => {
            Some(format!("waiting for another pier run of project {project}"))
        }
        Event::Watching { services, rules } => Some(format!(
            "watching {} ({rules} rule{}); Ctrl-C stops watching and leaves the stack running",
            services.join(", "),
            if *rules == 1 { "" } else { "s" }
        )),
        Event::WatchAction {
            service,
            action,
            trigger,
            files,
            deleted,
            millis,
        } => {
            let mut what = action.clone();
            if *files > 0 {
                what.push_str(&format!(
                    " {files} file{}",
                    if *files == 1 { "" } else { "s" }
                ));
            }
            if *deleted > 0 {
                what.push_str(&format!(", {deleted} deleted"));
            }
            Some(format!(
                "watch: {service}: {what} ({trigger}) in {millis} ms"
            ))
        }
    }
}

/// What a step cancelled by Ctrl-C reports as its error (`Error::Interrupted`).
pub const INTERRUPTED: &str = "interrupted";

/// Shown once on the first Ctrl-C.
pub const INTERRUPT_NOTICE: &str =
    "interrupted: finishing the steps in flight (Ctrl-C again quits now)";

/// Remove terminal escape sequences (the engine colours build stderr) so a plain
/// log holds only text.
pub fn strip_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte in @..~
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let e = Event::StepFinished {
            step: 0,
            text: "create network shop_default".into(),
        };
        assert_eq!(format_event(&e).unwrap(), " ok create network shop_default");
        let b = Event::BuildOutput {
            service: "web".into(),
            line: "Step 1/2 : FROM scratch".into(),
        };
        assert_eq!(
            format_event(&b).unwrap(),
            "    web | Step 1/2 : FROM scratch"
        );
    }
}
