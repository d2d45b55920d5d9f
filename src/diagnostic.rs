//! Diagnostics: one problem (or warning) in user input, with where it is and how to fix it.
//!
//! Every stage that checks input collects these instead of stopping at the first;
//! they are sorted and shown all at once (DESIGN §4).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file the problem is in, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// 1-based line and column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// Where in the document, Compose-style: `services.web.ports[1]`. Empty for the whole file.
    pub path: String,
    pub message: String,
    /// How to fix it, e.g. "did you mean `db`?".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: None,
            line: None,
            column: None,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(path, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn in_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    pub fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The order diagnostics are shown in: by file, then position, then path, then text.
    fn sort_key(&self) -> impl Ord + '_ {
        (
            self.file.clone(),
            self.line.unwrap_or(usize::MAX),
            self.column.unwrap_or(usize::MAX),
            &self.path,
            &self.message,
        )
    }
}

/// Sort and de-duplicate, so the same input always gives the same report.
pub fn sort(diagnostics: &mut Vec<Diagnostic>) {
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diagnostics.dedup();
}

/// The closest candidate to `word`, for "did you mean".
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

impl fmt::Display for Diagnostic {
    /// `pier.yaml:12:7: error: services.web.depends_on: unknown service "dbb"` + hint line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
                if let Some(col) = self.column {
                    write!(f, ":{col}")?;
                }
            }
            write!(f, ": ")?;
        }
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_path_and_hint() {
        let d = Diagnostic::error("services.web.depends_on", "unknown service \"dbb\"")
            .in_file("pier.yaml")
            .at(12, 7)
            .with_hint("did you mean \"db\"?");
        assert_eq!(
            d.to_string(),
            "pier.yaml:12:7: error: services.web.depends_on: unknown service \"dbb\"\n  hint: did you mean \"db\"?"
        );
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("dbb", ["db", "web"]), Some("db"));
        assert_eq!(did_you_mean("zzz", ["db", "web"]), None);
    }

    #[test]
    fn sorts_by_position() {
        let mut v = vec![
            Diagnostic::error("b", "x").in_file("f").at(9, 1),
            Diagnostic::error("a", "x").in_file("f").at(2, 1),
            Diagnostic::error("a", "x").in_file("f").at(2, 1),
        ];
        sort(&mut v);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].line, Some(2));
    }
}
