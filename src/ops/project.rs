//! What the operations act on: a loaded stack (its warnings told as events, its
//! secrets made the run's), or for the runtime verbs (`ps`, `logs`, `exec`,
//! `info`) the project and the services of its stack file. With `-p NAME` those
//! also work where there is no stack file, from what carries the project's label
//! alone (like `down`).

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::event::{Event, EventSink};
use crate::plan::observed::Observed;
use crate::secrets;
use crate::stack::{self, LoadOptions, Loaded};

/// Load the stack file `options` name. Its warnings go to `sink` (the command's
/// own output stays clean for pipes); invalid input is an error. Its secrets
/// become the run's (`secrets::install`): progress events and errors are masked
/// with them.
pub fn load(options: &LoadOptions, sink: &EventSink) -> Result<Loaded> {
    let loaded = stack::load(options)?;
    secrets::install(secrets::Secrets::of_loaded(&loaded));
    for warning in &loaded.warnings {
        sink(Event::Warning {
            text: warning.to_string(),
        });
    }
    Ok(loaded)
}

pub struct ProjectContext {
    pub name: String,
    /// None when `-p` named a project and there is no stack file here.
    pub loaded: Option<Loaded>,
}

impl ProjectContext {
    /// The stack file's project; without a stack file, the project `-p` named
    /// (`options.project_name`).
    pub fn load(options: &LoadOptions, sink: &EventSink) -> Result<ProjectContext> {
        match load(options, sink) {
            Ok(loaded) => Ok(ProjectContext {
                name: loaded.stack.name.clone(),
                loaded: Some(loaded),
            }),
            Err(Error::NoStackFile { .. }) if options.project_name.is_some() => {
                Ok(ProjectContext {
                    name: options.project_name.clone().unwrap_or_default(),
                    loaded: None,
                })
            }
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
