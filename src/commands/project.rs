//! What the runtime verbs (`ps`, `logs`, `exec`, `info`) are about: the project
//! and the services of its stack file. With `-p NAME` they also work where there
//! is no stack file, from what carries the project's label alone (like `down`).

//!
//! Also where the command line meets the layers below it, which know nothing
//! of clap: the global flags become the loader's `LoadOptions`, and `--progress`
//! becomes the reporter's `Progress`.

use crate::cli::{self, GlobalArgs};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::plan::observed::Observed;
use crate::report;
use crate::stack::{LoadOptions, Loaded};

/// The loader's options from the global flags, the current directory and the
/// process environment.
pub fn load_options(global: &GlobalArgs) -> Result<LoadOptions> {
    let cwd = std::env::current_dir().map_err(|e| Error::io(".", e))?;
    Ok(LoadOptions {
        file: global.file.clone(),
        project_name: global.project_name.clone(),
        env_file: global.env_file.clone(),
        cwd,
        environment: std::env::vars().collect(),
    })
}

impl From<cli::Progress> for report::Progress {
    fn from(progress: cli::Progress) -> report::Progress {
        match progress {
            cli::Progress::Auto => report::Progress::Auto,
            cli::Progress::Tty => report::Progress::Tty,
            cli::Progress::Plain => report::Progress::Plain,
            cli::Progress::Json => report::Progress::Json,
            cli::Progress::Quiet => report::Progress::Quiet,
        }
    }
}

pub struct ProjectContext {
    pub name: String,
    /// None when `-p` named a project and there is no stack file here.
    pub loaded: Option<Loaded>,
}

impl ProjectContext {
    pub fn from_cli(global: &GlobalArgs) -> Result<ProjectContext> {
        match super::load_stack(global) {
            Ok(loaded) => Ok(ProjectContext {
                name: loaded.stack.name.clone(),
                loaded: Some(loaded),
            }),
            Err(Error::NoStackFile { .. }) if global.project_name.is_some() => Ok(ProjectContext {
                name: global.project_name.clone().unwrap_or_default(),
                loaded: None,
            }),
            Err(e) => Err(e),
        }
    }

    /// The stack file's services, in name order (none without a file).
    pub fn file_services(&self) -> Vec<&str> {
        self.loaded
            .as_ref()
            .map(|l| l.stack.services.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Every service the project knows of: the file's, and those of containers
    /// carrying the project's label. Sorted, unique.
    pub fn known_services<'a>(&'a self, observed: &'a Observed) -> Vec<&'a str> {
        let mut all = self.file_services();
        all.extend(observed.containers.iter().map(|c| c.service.as_str()));
        all.sort();
        all.dedup();
        all
    }
}

/// Every requested name that is not a known service, as one invalid-input error
/// with "did you mean".
pub fn check_services(requested: &[String], known: &[&str]) -> Result<()> {
    let problems: Vec<Diagnostic> = requested
        .iter()
        .filter(|s| !known.contains(&s.as_str()))
        .map(|s| {
            let d = Diagnostic::error("", format!("no service named `{s}` in the stack"));
            match did_you_mean(s, known.iter().copied()) {
                Some(close) => d.with_hint(format!("did you mean `{close}`?")),
                None if known.is_empty() => {
                    d.with_hint("the project has no services (is this the right directory or -p?)")
                }
                None => d.with_hint(format!("services are: {}", known.join(", "))),
            }
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_services_get_did_you_mean() {
        assert!(check_services(&["web".into()], &["db", "web"]).is_ok());
        let err = check_services(&["webb".into(), "zzz".into()], &["db", "web"]).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.exit_code(), 2);
        assert!(text.contains("no service named `webb`"), "{text}");
        assert!(text.contains("did you mean `web`?"), "{text}");
        assert!(text.contains("services are: db, web"), "{text}");
    }
}
