//! The one error type of pier. Variants hold data; they are rendered in one
//! place (`Display` here, printed once by `main`) and map to exit codes (DESIGN §3).

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;

/// Exit codes of DESIGN §3.
pub mod exit {
    pub const OK: i32 = 0;
    pub const RUNTIME: i32 = 1;
    pub const INVALID: i32 = 2;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid input: problems in a stack file, template or parameters. Nothing was created.
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),

    /// Invalid use of the command line that clap could not catch.
    #[error("{message}")]
    Usage { message: String },

    #[error("no stack file in {}: looked for {}\n  hint: run `pier init <stack>` to create one, or pass -f FILE", dir.display(), candidates.join(", "))]
    NoStackFile {
        dir: PathBuf,
        candidates: Vec<&'static str>,
    },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The operating system's random source failed (secrets cannot be generated).
    #[error("cannot read random data from the operating system: {message}")]
    Entropy { message: String },

    /// Ctrl-C. What was left running is reported before this is returned.
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::Usage { .. } | Error::NoStackFile { .. } => exit::INVALID,
            Error::Io { .. } | Error::Entropy { .. } => exit::RUNTIME,
            Error::Interrupted => exit::INTERRUPTED,
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// One invalid-input problem.
    pub fn invalid(diagnostic: Diagnostic) -> Self {
        Error::Invalid(vec![diagnostic])
    }
}

fn render_diagnostics(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let mut out: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    if errors > 1 {
        out.push(format!("{errors} problems found"));
    }
    out.join("\n")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
