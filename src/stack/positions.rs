//! Where each node of the document is: document path → line and column.
//!
//! serde_yaml's `Value` forgets positions, so a second, cheap pass over the
//! text with yaml-rust2's event parser (which reports a marker per event)
//! records the position of every mapping key and sequence item. Diagnostics
//! are made with paths only and placed here at the end of loading.

use std::collections::HashMap;
use std::path::Path;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::docpath;
use crate::diagnostic::Diagnostic;

#[derive(Debug, Default)]
pub struct Positions {
    by_path: HashMap<String, (usize, usize)>,
}

impl Positions {
    /// Index `text`. Best effort: a document the scanner rejects yields what was
    /// indexed up to the error (the YAML error itself comes from serde_yaml).
    pub fn index(text: &str) -> Positions {
        let mut recorder = Recorder::default();
        // Events are pulled one by one rather than with `Parser::load`, which
        // recurses once per nesting level: a deeply nested document (found by
        // tests/properties.rs) overflowed the stack there. The recorder keeps
        // its own stack on the heap. The first document is all serde_yaml reads.
        let mut parser = Parser::new_from_str(text);
        while let Ok((event, mark)) = parser.next_token() {
            if matches!(event, Event::DocumentEnd | Event::StreamEnd) {
                break;
            }
            recorder.on_event(event, mark);
        }
        Positions {
            by_path: recorder.by_path,
        }
    }

    /// Line and column (1-based) of `path`, or of its nearest enclosing node that
    /// has one (values merged in with `<<` live at their anchor, not under `path`).
    pub fn locate(&self, path: &str) -> Option<(usize, usize)> {
        let mut current = Some(path);
        while let Some(p) = current {
            if let Some(pos) = self.by_path.get(p) {
                return Some(*pos);
            }
            current = docpath::parent(p);
        }
        None
    }

    /// Place the diagnostics of the file `file` (this text): those without a
    /// line and without a file, or of `file`, get `file` and their position.
    /// Those of another file (an `env_file`) are left alone.
    pub fn place(&self, diags: &mut [Diagnostic], file: &Path) {
        for d in diags {
            if d.line.is_some() || d.file.as_deref().is_some_and(|f| f != file) {
                continue;
            }
            d.file = Some(file.to_path_buf());
            if let Some((line, column)) = self.locate(&d.path) {
                d.line = Some(line);
                d.column = Some(column);
            }
        }
    }
}

enum Frame {
    Map {
        path: String,
        /// The key whose value comes next; `None` while a key is expected.
        key: Option<String>,
    },
    Seq {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Recorder {
    stack: Vec<Frame>,
    by_path: HashMap<String, (usize, usize)>,
}

impl Recorder {
    fn record(&mut self, path: String, mark: Marker) {
        // yaml-rust2 columns are 0-based; diagnostics are 1-based.
        self.by_path
            .entry(path)
            .or_insert((mark.line(), mark.col() + 1));
    }

    /// The path of the node that starts now; `None` when it is a mapping key.
    fn node_path(&mut self, scalar: Option<&str>, mark: Marker) -> Option<String> {
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Seq { path, next }) => {
                let p = docpath::item(path, *next);
                *next += 1;
                self.record(p.clone(), mark);
                Some(p)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some(k) => Some(docpath::child(path, &k)),
                None => {
                    // A key: remember where it is; its value is the next node.
                    let k = scalar.unwrap_or("?").to_string();
                    let p = docpath::child(path, &k);
                    *key = Some(k);
                    self.record(p, mark);
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(value, ..) => {
                self.node_path(Some(&value), mark);
            }
            Event::Alias(_) => {
                self.node_path(None, mark);
            }
            Event::MappingStart(..) => {
                let path = self.node_path(None, mark).unwrap_or_default();
                self.stack.push(Frame::Map { path, key: None });
            }
            Event::SequenceStart(..) => {
                let path = self.node_path(None, mark).unwrap_or_default();
                self.stack.push(Frame::Seq { path, next: 0 });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
services:
  web:
    image: nginx
    ports:
      - \"8080:80\"
      - target: 443
        published: 8443
";

    #[test]
    fn finds_keys_and_items() {
        let p = Positions::index(DOC);
        assert_eq!(p.locate("services"), Some((1, 1)));
        assert_eq!(p.locate("services.web.image"), Some((3, 5)));
        assert_eq!(p.locate("services.web.ports[0]"), Some((5, 9)));
        assert_eq!(p.locate("services.web.ports[1].published"), Some((7, 9)));
    }

    #[test]
    fn falls_back_to_the_enclosing_node() {
        let p = Positions::index(DOC);
        assert_eq!(p.locate("services.web.ports[0].host_ip"), Some((5, 9)));
        assert_eq!(p.locate("volumes"), None);
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        let doc: String = (0..2_000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let p = Positions::index(&doc);
        assert_eq!(p.locate("k0.k1.k2"), Some((3, 3)));
    }

    #[test]
    fn flow_style_is_indexed_too() {
        let p = Positions::index("services: {web: {ports: [80, 81]}}\n");
        assert_eq!(p.locate("services.web.ports[1]"), Some((1, 30)));
    }
}
