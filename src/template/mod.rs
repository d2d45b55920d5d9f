//! Stack templates (DESIGN §5): the catalog of built-in and user stacks, their
//! manifests and typed parameters, rendering, and writing a project at init.

pub mod catalog;
pub mod check;
pub mod manifest;
pub mod params;
pub mod render;
pub mod secret;
pub mod write;

use std::path::Path;

use crate::error::Result;

pub use catalog::{Catalog, Entry, SearchPath, Source, Template};
pub use manifest::Manifest;

/// Everything `pier init` did.
#[derive(Debug)]
pub struct Initialized {
    pub written: Vec<write::Written>,
    pub values: params::Values,
}

/// Resolve the parameters, render every file, check the target, and only then
/// write. Any invalid input returns `Error::Invalid` with nothing written.
pub fn init(
    template: &Template,
    sets: &[String],
    target: &Path,
    force: bool,
) -> Result<Initialized> {
    // Re-initializing (--force) keeps the secrets in an existing .env: the
    // database volumes were initialized with them.
    let kept = write::existing_env(&target.join(manifest::ENV_FILE));
    let values = params::resolve_with_os_secrets(&template.manifest, sets, &kept)?;
    let files = write::plan_files(template, &values)?;
    check::rendered_stack_loads(
        &files,
        target,
        &template.manifest.name,
        &template.stack_file_path,
    )?;
    let written = write::write_files(target, &files, force)?;
    Ok(Initialized { written, values })
}
