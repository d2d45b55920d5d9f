//! Which directory a project belongs to. A project is found by its name alone
//! (`labels::PROJECT`), so two directories named `app` — or two stack files with
//! the same `name:` — would be one project: `down -v` in one removed the other's
//! volumes. Resources carry the directory they were made from
//! (`labels::WORKING_DIR`); a command run from another directory refuses to touch
//! them unless told to (`--adopt`). Resources without the label (made by an
//! older pier) are taken as this directory's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::plan::observed::Observed;
use crate::stack::Loaded;

/// Where a project was loaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The project's directory, absolute.
    pub working_dir: PathBuf,
    /// Its stack files, absolute, in merge order.
    pub config_files: Vec<PathBuf>,
}

impl Identity {
    pub fn of(loaded: &Loaded) -> Identity {
        Identity {
            working_dir: loaded.stack.project_dir.clone(),
            config_files: loaded.files.clone(),
        }
    }

    /// The labels what this project creates carries.
    pub fn labels(&self) -> BTreeMap<String, String> {
        crate::labels::identity(&self.working_dir, &self.config_files)
    }
}

/// Whether the command may act on `observed` (project `project`): it may when
/// nothing there names another directory, or when `adopt`. `ours` is None when
/// no stack file was loaded (`-p NAME` where there is none): naming the project
/// is then the only way to reach it, and no directory's project is mistaken for it.
pub fn check(
    project: &str,
    ours: Option<&Identity>,
    observed: &Observed,
    adopt: bool,
) -> Result<()> {
    let Some(ours) = ours else { return Ok(()) };
    let here = ours.working_dir.display().to_string();
    let others: Vec<String> = observed
        .working_dirs
        .iter()
        .filter(|d| **d != here)
        .cloned()
        .collect();
    if others.is_empty() || adopt {
        return Ok(());
    }
    Err(Error::ProjectElsewhere {
        project: project.to_string(),
        here,
        others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(dir: &str) -> Identity {
        Identity {
            working_dir: dir.into(),
            config_files: vec![format!("{dir}/pier.yaml").into()],
        }
    }

    fn observed(dirs: &[&str]) -> Observed {
        Observed {
            working_dirs: dirs.iter().map(|d| d.to_string()).collect(),
            ..Observed::default()
        }
    }

    #[test]
    fn another_directorys_resources_are_refused_naming_it() {
        let err = check(
            "app",
            Some(&identity("/y/app")),
            &observed(&["/x/app"]),
            false,
        )
        .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(
            text.contains(
                "project `app` is already used by resources made from /x/app, not from /y/app"
            ),
            "{text}"
        );
        assert!(text.contains("--adopt"), "{text}");
    }

    #[test]
    fn own_unlabelled_or_adopted_resources_are_fine() {
        let ours = identity("/x/app");
        assert!(check("app", Some(&ours), &observed(&["/x/app"]), false).is_ok());
        // Made by an older pier: no label, taken as ours.
        assert!(check("app", Some(&ours), &observed(&[]), false).is_ok());
        assert!(check("app", Some(&ours), &observed(&["/y/app"]), true).is_ok());
        // `-p app` without a stack file: the name is all there is.
        assert!(check("app", None, &observed(&["/y/app"]), false).is_ok());
    }

    #[test]
    fn labels_name_the_directory_and_the_files() {
        let labels = identity("/x/app").labels();
        assert_eq!(labels[crate::labels::WORKING_DIR], "/x/app");
        assert_eq!(labels[crate::labels::CONFIG_FILES], "/x/app/pier.yaml");
    }
}
