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
/// The project's directory, absolute (Compose's `com.docker.compose.project.working_dir`).
/// Set on containers, networks and volumes: two directories whose projects share a
/// name are told apart by it, so that `down -v` in one never removes the other's data.
pub const WORKING_DIR: &str = "io.pier.project.working_dir";
/// The stack files the project was loaded from, comma-separated (Compose's
/// `com.docker.compose.project.config_files`). Set where `WORKING_DIR` is.
pub const CONFIG_FILES: &str = "io.pier.project.config_files";

/// The identity labels of a project loaded from `files` (absolute; the first
/// one's directory is the project's): `WORKING_DIR` and `CONFIG_FILES`.
pub fn identity(
    working_dir: &std::path::Path,
    files: &[std::path::PathBuf],
) -> std::collections::BTreeMap<String, String> {
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    [
        (WORKING_DIR.to_string(), working_dir.display().to_string()),
        (CONFIG_FILES.to_string(), files.join(",")),
    ]
    .into()
}
/// On pier's helper containers (snapshots, restores), with the project as value:
/// not a service's container, so `observe` never lists it; a run that was killed
/// leaves it behind, and the next one removes it by this label.
pub const HELPER: &str = "io.pier.helper";
/// On a cleaner (a helper deleting a volume's replaced content after a restore
/// has returned), with the project as value: unlike `HELPER`, never removed by
/// pier while it works; the engine removes it when it exits.
pub const CLEANER: &str = "io.pier.cleaner";
/// On a service: the database it runs (`mariadb`, `mysql` or `postgres`), for
/// `pier db export` and `pier db import`. Official images are recognised without it.
pub const DB: &str = "io.pier.db";
/// On a database service: the environment variables (in its container) holding
/// the database's name, the user and the password that `pier db` uses; each
/// defaults to the official image's own (e.g. `MARIADB_DATABASE`).
pub const DB_NAME_ENV: &str = "io.pier.db.name-env";
pub const DB_USER_ENV: &str = "io.pier.db.user-env";
pub const DB_PASSWORD_ENV: &str = "io.pier.db.password-env";
/// `true` on the one-off containers of `pier run`, as Compose's
/// `com.docker.compose.oneoff`: not a service's container, so `up` neither starts
/// nor recreates it, while `down` and `rm` remove it with the project's others.
pub const ONE_OFF: &str = "io.pier.one-off";
/// The container's `pre_stop` hooks as JSON (`plan::spec::HookSpec`), set only when
/// it has some: `down`, scaling down and a recreate run them from the container
/// alone, so an edited or missing stack file stops it the way it was started.
pub const PRE_STOP: &str = "io.pier.pre-stop";
/// The containers a container takes volumes from (`volumes_from`), comma-separated,
/// set only when there are some: a recreate carries over the container's own
/// anonymous volumes, never those it mounts from them (`plan::reconcile`).
pub const VOLUMES_FROM: &str = "io.pier.volumes-from";
/// On a service: the container port that serves HTTP (e.g. `"80"`), so that the
/// router gives it a name (`https://<service>.<project>.localhost`). Without it,
/// the first published port `overview::scheme_for` calls HTTP.
pub const HTTP: &str = "io.pier.http";
/// On a service: `"true"` makes it the project's main web service, which also
/// answers at `https://<project>.localhost` (else `web`, else the first by name).
pub const MAIN: &str = "io.pier.main";
/// On the router's container and network (`crate::router`), with the settings'
/// fingerprint as value on the container: a router made otherwise is made again.
/// The container also carries `io.pier.router.http-port` and
/// `io.pier.router.https-port`: the host ports it was made with (0: the engine's
/// choice), so that a stopped router starts again on the same ones.
pub const ROUTER: &str = "io.pier.router";
