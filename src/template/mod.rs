//! Stack templates (DESIGN §5): the catalog of built-in and user stacks, their
//! manifests and typed parameters, rendering, and writing a project at init.

pub mod catalog;
pub mod check;
pub mod manifest;
pub mod params;
pub mod ports;
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
    /// The host port each `port` parameter got (the default unless it was taken).
    pub ports: Vec<ports::PortChoice>,
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
    let mut values = params::resolve_with_os_secrets(&template.manifest, sets, &kept)?;
    let claimed = crate::known_projects::claimed_ports(target);
    let ports = ports::choose(&mut values, &kept, &|p| ports::busy_here(p, &claimed));
    let files = write::plan_files(template, &values)?;
    check::rendered_stack_loads(
        &files,
        target,
        &template.manifest.name,
        &template.stack_file_path,
    )?;
    let written = write::write_files(target, &files, force)?;
    // Best effort: a registry that cannot be written only means the next init
    // does not see these ports (`known_projects`).
    let vars: Vec<String> = ports.iter().map(|p| p.variable.clone()).collect();
    let _ = crate::known_projects::record(target, &vars);
    Ok(Initialized {
        written,
        values,
        ports,
    })
}
