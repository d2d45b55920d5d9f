//! Stages 1–3 for every file of a project: read, parse, interpolate each file,
//! resolve its `extends` (`extends`) and `include`s (`include`), then merge the
//! files in order (`merge`), as compose-go does. The result is one YAML document
//! whose nodes know which file and line they came from (`origins`).

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::interpolate::{self, Variables};
use super::merge::{self, Doc};
use super::origins::{Origins, Sources};
use super::{parse, userfile};
use crate::diagnostic::Diagnostic;

/// Reads and assembles the files of one load; collects every diagnostic,
/// already placed at its file and line.
#[derive(Debug, Default)]
pub struct Loader {
    pub sources: Sources,
    pub diags: Vec<Diagnostic>,
    /// Text given in memory for a path (`load_str`), instead of reading the disk.
    given: Option<(PathBuf, String)>,
}

/// Why a file could not be read as a document.
pub enum Unread {
    /// Not there: the caller says who wanted it.
    NotFound,
    /// Reported already (unreadable, not YAML, …).
    Reported,
}

impl Loader {
    /// A loader that reads `path` from `text` rather than from the disk.
    pub fn with_text(path: &Path, text: &str) -> Loader {
        Loader {
            given: Some((path.to_path_buf(), text.to_string())),
            ..Loader::default()
        }
    }

    /// Push diagnostics made in the coordinates of `origins`' document.
    pub fn report(&mut self, origins: &Origins, mut diags: Vec<Diagnostic>) {
        self.sources.place(origins, &mut diags);
        self.diags.extend(diags);
    }

    /// Push diagnostics made in the coordinates of source `index` itself.
    pub fn report_in(&mut self, index: usize, mut diags: Vec<Diagnostic>) {
        self.sources.place_in(index, &mut diags);
        self.diags.extend(diags);
    }

    /// One file, parsed and interpolated: its source index and value.
    pub fn read(&mut self, path: &Path, vars: &Variables) -> Result<(usize, Value), Unread> {
        let text = match &self.given {
            Some((p, text)) if p == path => text.clone(),
            _ => match userfile::read_text(path) {
                Ok(text) => text,
                Err(userfile::Problem::NotFound) => return Err(Unread::NotFound),
                Err(problem) => {
                    self.diags.push(problem.into_diagnostic(path, "stack file"));
                    return Err(Unread::Reported);
                }
            },
        };
        let index = self.sources.add(path, &text);
        let mut value = match parse::parse(&text) {
            Ok(v) => v,
            // Merge-key errors have a document path; syntax errors a line already.
            Err(d) if d.line.is_some() => {
                self.diags.push(d.in_file(path));
                return Err(Unread::Reported);
            }
            Err(d) => {
                self.report_in(index, vec![*d]);
                return Err(Unread::Reported);
            }
        };
        let mut diags = Vec::new();
        interpolate::interpolate(&mut value, vars, &mut diags);
        interpolate::nul_bytes(&value, "", &mut diags);
        self.report_in(index, diags);
        Ok((index, value))
    }

    /// One file of a project with its `extends` and `include`s resolved.
    /// `dir` is the directory its relative `extends.file` and `include` paths
    /// are resolved against (the project directory); `including`, the chain of
    /// files including this one (for cycles).
    pub fn file(
        &mut self,
        path: &Path,
        dir: &Path,
        vars: &Variables,
        including: &[PathBuf],
    ) -> Result<Doc, Unread> {
        let (index, value) = self.read(path, vars)?;
        let mut doc = Doc {
            value,
            origins: Origins::of(index, ""),
        };
        self.apply_extends(&mut doc, index, dir, vars);
        let mut chain = including.to_vec();
        chain.push(path.to_path_buf());
        self.apply_includes(&mut doc, index, dir, vars, &chain);
        Ok(doc)
    }

    /// The files of a project, each complete (`file`), merged in order. A file
    /// that cannot be read is reported with `missing` when it is not there.
    pub fn project(
        &mut self,
        files: &[PathBuf],
        dir: &Path,
        vars: &Variables,
        including: &[PathBuf],
        missing: &dyn Fn(&Path) -> Diagnostic,
    ) -> Option<Doc> {
        let mut merged: Option<Doc> = None;
        let mut complete = true;
        for path in files {
            match self.file(path, dir, vars, including) {
                Ok(doc) => match &mut merged {
                    None => {
                        let mut doc = doc;
                        merge::strip_tags(&mut doc.value);
                        merged = Some(doc);
                    }
                    Some(base) => merge::documents(base, doc),
                },
                Err(Unread::NotFound) => {
                    self.diags.push(missing(path));
                    complete = false;
                }
                Err(Unread::Reported) => complete = false,
            }
        }
        merged.filter(|_| complete)
    }
}

/// `path` against `dir`, with `.` and `..` folded.
pub fn resolve(dir: &Path, path: &str) -> PathBuf {
    super::paths::lexical(&dir.join(path))
}
