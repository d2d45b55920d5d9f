//! pier: compose local development environments out of containers.
//!
//! The data flow (DESIGN §1): `template` renders a stack file, `stack` loads it
//! into the model, `plan` compares it with what `engine` observed, a `target`
//! (the local engine, or a swarm) carries out the plan through the one walk in
//! `execute`, `report` shows the events. `ops` are the operations
//! (`up`, `down`, `ps`, …) as functions that return reports; `commands` calls
//! one per verb and renders it; `cli` is the argument grammar.

pub mod cli;
pub mod clock;
pub mod commands;
pub mod diagnostic;
pub mod engine;
pub mod error;
pub mod event;
pub mod execute;
pub mod export;
pub mod known_projects;
pub mod labels;
pub mod lock;
pub mod ops;
pub mod overview;
pub mod plan;
pub mod preflight;
pub mod report;
pub mod router;
pub mod secrets;
pub mod stack;
pub mod target;
pub mod template;
pub mod watch;

pub use error::{Error, Result};

/// The error as the last line of a `--progress json` run: one JSON object, like
/// the events before it.
pub fn render_error_json(err: &Error) -> String {
    serde_json::json!({
        "event": "error",
        "message": render_error(err),
        "exit_code": err.exit_code(),
    })
    .to_string()
}

/// The one place an error becomes text for the user.
pub fn render_error(err: &Error) -> String {
    match err {
        // Diagnostics carry their own "error:"/"warning:" prefixes.
        Error::Invalid(_) => err.to_string(),
        // Already says "interrupted: …" and what to do next.
        Error::Stopped(_) => err.to_string(),
        _ => format!("error: {err}"),
    }
}
