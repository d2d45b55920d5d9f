//! One line per event, no colours, no cursor movement: for logs and CI.

use crate::execute::Event;

/// The line for an event, or None for events this renderer leaves out.
pub fn format_event(event: &Event) -> Option<String> {
    match event {
        Event::StepStarted { text, .. } => Some(format!(" => {text}")),
        Event::StepFinished { text, .. } => Some(format!(" ok {text}")),
        Event::StepFailed { text, .. } => Some(format!(" !! {text}: failed")),
        // Byte-level progress ("Downloading 42%") would flood a log; states are enough.
        Event::PullProgress { line, .. } if line.ends_with('%') => None,
        Event::PullProgress { image, line } => Some(format!("    {image}: {line}")),
        Event::BuildOutput { service, line } => {
            Some(format!("    {service} | {}", strip_escapes(line)))
        }
        // The step line already says what is waited for.
        Event::Waiting { .. } => None,
    }
}

/// Remove terminal escape sequences (the engine colours build stderr) so a plain
/// log holds only text.
fn strip_escapes(text: &str) -> String {
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
