//! One JSON object per event and line, for programs that drive pier.

use std::io::Write;
use std::sync::Mutex;

use super::Render;
use crate::event::Event;

pub struct Json {
    out: Mutex<Box<dyn Write + Send>>,
}

impl Json {
    pub fn new(out: Box<dyn Write + Send>) -> Json {
        Json {
            out: Mutex::new(out),
        }
    }
}

impl Render for Json {
    fn event(&self, event: &Event) {
        if let Ok(line) = serde_json::to_string(event) {
            let mut out = self.out.lock().expect("no panics while holding the lock");
            let _ = writeln!(out, "{line}");
        }
    }
}
