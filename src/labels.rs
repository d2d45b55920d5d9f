//! Every label key pier writes on the resources it creates.
//!
//! Observation (`engine::observe`) finds a project's containers, networks and
//! volumes by these labels alone, so they are the contract between one run of
//! pier and the next. Changing a key orphans what earlier versions created.

/// The project (stack) a resource belongs to. Set on containers, networks and volumes.
pub const PROJECT: &str = "io.pier.project";
/// The service a container runs. Set on containers only.
pub const SERVICE: &str = "io.pier.service";
/// Hash of the normalized service definition a container was created from
/// (`plan::hash`); a different hash means the container must be recreated.
pub const CONFIG_HASH: &str = "io.pier.config-hash";
/// The pier version that created the resource.
pub const VERSION: &str = "io.pier.version";
/// The network or volume key as written in the stack file (e.g. `default`, `db-data`).
pub const RESOURCE: &str = "io.pier.resource";
