//! `pier logs` output: each line prefixed with its service's name, padded to the
//! widest name, one colour per service (only on a terminal, never with NO_COLOR).

use std::collections::BTreeMap;

use console::{Color, Style};

/// Colours handed out to services in name order, as `docker compose logs` does.
const PALETTE: &[Color] = &[
    Color::Cyan,
    Color::Yellow,
    Color::Green,
    Color::Magenta,
    Color::Blue,
    Color::Red,
];

/// Whether to colour output: only on a terminal, and not when NO_COLOR is set to
/// a non-empty value (https://no-color.org).
pub fn use_colour(is_terminal: bool, no_color: Option<&str>) -> bool {
    is_terminal && no_color.is_none_or(str::is_empty)
}

/// `use_colour` for this process's stdout.
pub fn stdout_colour() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var("NO_COLOR").ok();
    use_colour(std::io::stdout().is_terminal(), no_color.as_deref())
}

/// The prefixes of a set of services, computed once.
#[derive(Debug, Clone)]
pub struct LogPrefixes {
    prefixes: BTreeMap<String, String>,
}

impl LogPrefixes {
    pub fn new<'a>(services: impl IntoIterator<Item = &'a str>, colour: bool) -> LogPrefixes {
        let mut names: Vec<&str> = services.into_iter().collect();
        names.sort();
        names.dedup();
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let prefixes = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let plain = format!("{name:width$} | ");
                let text = if colour {
                    Style::new()
                        .fg(PALETTE[i % PALETTE.len()])
                        .force_styling(true)
                        .apply_to(plain)
                        .to_string()
                } else {
                    plain
                };
                (name.to_string(), text)
            })
            .collect();
        LogPrefixes { prefixes }
    }

    /// One output line: prefix, the log line, newline.
    pub fn line(&self, service: &str, text: &str) -> String {
        let prefix = self.prefixes.get(service).map(String::as_str).unwrap_or("");
        format!("{prefix}{text}\n")
    }
}

/// A line of `docker logs --timestamps`: (its time, the line without it). Lines
/// without one (an engine that did not add it) are (None, line).
pub fn split_timestamp(line: &str) -> (Option<&str>, &str) {
    match line.split_once(' ') {
        Some((ts, rest)) if crate::clock::unix_seconds(ts).is_some() => (Some(ts), rest),
        _ => (None, line),
    }
}

/// Several services' lines (service, line with its timestamp) in time order;
/// lines of equal time (or none) keep the order they came in.
pub fn in_time_order(mut lines: Vec<(String, String)>) -> Vec<(String, String)> {
    let key = |line: &str| {
        split_timestamp(line)
            .0
            .and_then(crate::clock::unix_seconds)
            .unwrap_or(f64::NEG_INFINITY)
    };
    lines.sort_by(|a, b| key(&a.1).total_cmp(&key(&b.1)));
    lines
}

/// Splits a service's output chunks (which may end mid-line) into whole lines.
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
}

impl LineBuffer {
    /// The lines completed by `bytes`, without their `\n` / `\r\n`.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
            let rest = self.pending.split_off(end + 1);
            let mut line = std::mem::replace(&mut self.pending, rest);
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            // Decoded per whole line, so a character split across chunks stays whole.
            lines.push(String::from_utf8_lossy(&line).into_owned());
        }
        lines
    }

    /// What is left after the stream ended: a last line without newline.
    pub fn finish(&mut self) -> Option<String> {
        if self.pending.is_empty() {
            return None;
        }
        let line = std::mem::take(&mut self.pending);
        Some(String::from_utf8_lossy(&line).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_several_services_are_merged_by_time() {
        let lines = vec![
            (
                "db".to_string(),
                "2026-01-01T00:00:01.5Z db second".to_string(),
            ),
            (
                "db".to_string(),
                "2026-01-01T00:00:03Z db fourth".to_string(),
            ),
            (
                "web".to_string(),
                "2026-01-01T00:00:01.25Z web first".to_string(),
            ),
            (
                "web".to_string(),
                "2026-01-01T00:00:02.000000001Z web third".to_string(),
            ),
        ];
        let merged = in_time_order(lines);
        let merged: Vec<&str> = merged
            .iter()
            .map(|(_, l)| split_timestamp(l).1)
            .map(|l| l.rsplit(' ').next().unwrap())
            .collect();
        assert_eq!(merged, ["first", "second", "third", "fourth"]);
        assert_eq!(split_timestamp("no time here"), (None, "no time here"));
    }

    #[test]
    fn prefixes_are_padded_to_the_widest_name() {
        let p = LogPrefixes::new(["web", "db", "worker"], false);
        assert_eq!(p.line("db", "ready"), "db     | ready\n");
        assert_eq!(p.line("worker", "job 1"), "worker | job 1\n");
        assert_eq!(p.line("web", ""), "web    | \n");
    }

    #[test]
    fn colours_differ_per_service_and_keep_the_text() {
        let p = LogPrefixes::new(["db", "web"], true);
        let db = p.line("db", "x");
        let web = p.line("web", "x");
        assert!(db.contains("\u{1b}[") && web.contains("\u{1b}["), "{db:?}");
        assert_ne!(db, web);
        assert_eq!(console::strip_ansi_codes(&db), "db  | x\n");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("")));
        assert!(!use_colour(true, Some("1")));
        assert!(!use_colour(false, None));
    }

    #[test]
    fn lines_across_chunks() {
        let mut b = LineBuffer::default();
        assert_eq!(b.push(b"one\ntw"), vec!["one"]);
        assert_eq!(b.push(b"o\r\nthree\n\xc3"), vec!["two", "three"]);
        assert_eq!(b.push(b"\xa9t\n"), vec!["ét"]);
        assert_eq!(b.push(b"tail"), Vec::<String>::new());
        assert_eq!(b.finish(), Some("tail".to_string()));
        assert_eq!(b.finish(), None);
    }
}
