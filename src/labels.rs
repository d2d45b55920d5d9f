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
/// Per-field hashes of the service definition, `field=hash,…` (`plan::hash`), so that
/// a recreate can name what changed ("config changed: environment").
pub const CONFIG_FIELDS: &str = "io.pier.config-fields";
/// The services a container's service depends on, comma-separated. `pier down` orders
/// teardown from these labels alone, so it works even when the stack file changed or is gone.
pub const DEPENDS_ON: &str = "io.pier.depends-on";
/// The container's `pre_stop` hooks as JSON (`plan::spec::HookSpec`), set only when
/// it has some: `down`, scaling down and a recreate run them from the container
/// alone, so an edited or missing stack file stops it the way it was started.
pub const PRE_STOP: &str = "io.pier.pre-stop";
