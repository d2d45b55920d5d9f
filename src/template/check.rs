//! Before anything is written, the rendered stack file must load: a template
//! that renders into an invalid stack is a bug in the template, and the user
//! should hear so at `pier init`, not at `pier up`.
//!
//! The files are staged in a temporary directory first, because loading reads
//! files relative to the project (`env_file`, `.env`) that exist only once the
//! template has been written.

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::stack::{self, Variables};
use crate::template::manifest::{ENV_FILE, STACK_FILE};
use crate::template::secret;
use crate::template::write::{self, PlannedFile};

/// Load the planned stack file as `pier up` would, with the planned `.env`.
/// Errors come back as `Error::Invalid`, blaming the template; warnings are left
/// for `pier config`/`up` to show.
pub fn rendered_stack_loads(
    files: &[PlannedFile],
    target: &Path,
    project: &str,
    template: &Path,
) -> Result<()> {
    let Some(stack_file) = files.iter().find(|f| f.path.to_string() == STACK_FILE) else {
        return Ok(());
    };
    let staging = Staging::create()?;
    write::write_files(&staging.0, files, false)?;
    let vars = Variables::new(write::existing_env(&staging.0.join(ENV_FILE)));
    let text = String::from_utf8_lossy(&stack_file.contents);
    match stack::load_str(
        &text,
        &target.join(STACK_FILE),
        &staging.0,
        &vars,
        Some(project),
    ) {
        Ok(_) => Ok(()),
        Err(diagnostics) => {
            // First the culprit, then what the loader found in its output.
            let blame = Diagnostic::error(
                "",
                format!("the stack template renders an invalid {STACK_FILE}; nothing was written"),
            )
            .in_file(template)
            .with_hint("this is a bug in the stack template: fix the template, or choose other --set values");
            Err(Error::Invalid(
                std::iter::once(blame).chain(diagnostics).collect(),
            ))
        }
    }
}

/// A private temporary directory, removed when dropped (also on error).
struct Staging(PathBuf);

impl Staging {
    fn create() -> Result<Staging> {
        let path = std::env::temp_dir().join(format!("pier-init-{}", secret::generate(16)?));
        std::fs::create_dir(&path).map_err(|e| Error::io(&path, e))?;
        Ok(Staging(path))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::manifest::RelPath;
    use crate::template::write::FileKind;

    fn file(path: &str, text: &str, kind: FileKind) -> PlannedFile {
        PlannedFile {
            path: RelPath::parse(path).unwrap(),
            contents: text.as_bytes().to_vec(),
            kind,
        }
    }

    #[test]
    fn a_valid_stack_with_env_and_env_file_loads() {
        let files = [
            file(
                "pier.yaml",
                "services:\n  web:\n    image: nginx\n    env_file: app.env\n    ports:\n      - \"${WEB_PORT}:80\"\n",
                FileKind::Plain,
            ),
            file("app.env", "A=1\n", FileKind::Plain),
            file(".env", "WEB_PORT=8080\n", FileKind::Secret),
        ];
        rendered_stack_loads(
            &files,
            Path::new("/nowhere"),
            "demo",
            Path::new("stacks/demo/pier.yaml.hbs"),
        )
        .unwrap();
    }

    #[test]
    fn an_invalid_stack_blames_the_template() {
        let files = [file(
            "pier.yaml",
            "services:\n  web:\n    image: nginx\n    depends_on: [db]\n",
            FileKind::Plain,
        )];
        let Err(Error::Invalid(ds)) = rendered_stack_loads(
            &files,
            Path::new("/p"),
            "demo",
            Path::new("stacks/demo/pier.yaml.hbs"),
        ) else {
            panic!("expected invalid")
        };
        assert_eq!(
            ds[0].file.as_deref(),
            Some(Path::new("stacks/demo/pier.yaml.hbs"))
        );
        assert!(
            ds[0]
                .hint
                .as_deref()
                .unwrap()
                .contains("bug in the stack template")
        );
        let error = &ds[1];
        assert_eq!(error.file.as_deref(), Some(Path::new("/p/pier.yaml")));
        assert_eq!(
            (error.line, error.path.as_str()),
            (Some(4), "services.web.depends_on[0]")
        );
    }
}
