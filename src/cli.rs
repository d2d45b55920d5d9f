//! The command line (DESIGN §3): clap derive types only, no I/O.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "pier",
    version,
    about = "Compose local development environments out of containers",
    long_about = "pier renders a stack template (LAMP, Django, .NET, ...) into a stack file — a \
                  subset of the Compose specification — and starts its services on a Docker \
                  engine in dependency order, with the networks and volumes that link them.",
    after_help = "Start with:  pier list,  pier init lamp shop,  cd shop && pier up"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Stack file; repeat to merge several, in order [default: $COMPOSE_FILE, else pier.yaml,
    /// compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml, with the override
    /// file beside it (pier.override.yaml, compose.override.yaml, …)].
    /// Goes before the command, as with docker compose: `pier -f a.yaml -f b.yaml up`
    /// (`logs -f` is `--follow`).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,

    /// Activate a profile (repeatable; `*` for all) [default: $COMPOSE_PROFILES, comma-separated]
    #[arg(long = "profile", global = true, value_name = "PROFILE")]
    pub profiles: Vec<String>,

    /// Project name [default: `name:` in the file, else the directory name]
    #[arg(short = 'p', long = "project-name", global = true, value_name = "NAME")]
    pub project_name: Option<String>,

    /// Read variables from this file instead of `.env` next to the stack file
    #[arg(long = "env-file", global = true, value_name = "FILE")]
    pub env_file: Option<PathBuf>,

    /// How to show progress
    #[arg(long, global = true, value_enum, default_value_t = Progress::Auto)]
    pub progress: Progress,

    /// Act on the project's resources even when they were made from another
    /// directory (by default pier refuses: two directories named alike are two projects)
    #[arg(long, global = true)]
    pub adopt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Progress {
    /// Bars on a terminal, plain lines otherwise
    #[default]
    Auto,
    /// Bars and spinners
    Tty,
    /// One line per event
    Plain,
    /// One JSON object per event
    Json,
    /// Errors only
    Quiet,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the stack templates you can start, or one stack's parameters
    List(ListArgs),
    /// Render a stack template into a directory
    Init(InitArgs),
    /// Create and start the stack's services, in dependency order, and wait until ready
    Up(UpArgs),
    /// Stop and remove the stack's containers and networks (volumes are kept)
    Down(DownArgs),
    /// Show the stack's services, their state, health and ports
    Ps(PsArgs),
    /// Show the services' logs
    Logs(LogsArgs),
    /// Run a command in a running service
    Exec(ExecArgs),
    /// Show the URLs and credentials of the running environment
    Info(InfoArgs),
    /// Show the stack after interpolation and normalization
    Config(ConfigArgs),
    /// Show the dependency graph and start levels
    Graph(GraphArgs),
    /// Write the stack for docker compose, or as Kubernetes manifests
    Export(ExportArgs),
    /// Save the project's volumes (or restore, list, remove, prune saved ones)
    Snapshot(SnapshotArgs),
    /// Dump or load the stack's database (MariaDB, MySQL, PostgreSQL) with its own tools
    Db(DbArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
}

/// The longest timeout a command accepts (a week): beyond any real wait, and far
/// below what a `Duration` or the engine's integers can hold.
pub const MAX_TIMEOUT_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Show this stack's parameters
    pub stack: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The stack template, e.g. lamp, django, dotnet (see `pier list`)
    pub stack: String,
    /// Directory to render into [default: .]
    pub dir: Option<PathBuf>,
    /// Set a template parameter (repeatable), e.g. --set php_version=8.3
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Overwrite files that already exist
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PullPolicy {
    /// Pull images that are not present
    #[default]
    Missing,
    /// Always pull
    Always,
    /// Never pull; fail when an image is missing
    Never,
}

impl Command {
    /// Where the verb runs: `--target` of `up`, `down` and `ps`; every other verb
    /// works on the local engine or on files.
    pub fn target(&self) -> Target {
        match self {
            Command::Up(args) => args.target,
            Command::Down(args) => args.target,
            Command::Ps(args) => args.target,
            _ => Target::Local,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Target {
    /// Containers on this Docker engine
    #[default]
    Local,
    /// Services on a Docker Swarm
    Swarm,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Start only these services (and what they depend on)
    pub services: Vec<String>,
    /// When to pull images
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pub pull: PullPolicy,
    /// Build images before starting, even when they exist
    #[arg(long)]
    pub build: bool,
    /// Give up when a service has not become ready this many seconds after it could start
    #[arg(long, value_name = "SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub wait_timeout: u64,
    /// Print the plan and change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print the plan as JSON (every step with all its fields)
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// Remove containers of services no longer in the stack file
    #[arg(long)]
    pub remove_orphans: bool,
    /// Where to run the stack
    #[arg(long, value_enum, default_value_t = Target::Local)]
    pub target: Target,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Also remove the named volumes (deletes their data)
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Seconds to wait for each container to stop before killing it
    #[arg(short = 't', long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub timeout: Option<u64>,
    /// Remove containers of services no longer in the stack file too
    #[arg(long)]
    pub remove_orphans: bool,
    /// Where the stack runs
    #[arg(long, value_enum, default_value_t = Target::Local)]
    pub target: Target,
    /// With -v: do not take a snapshot of the volumes before deleting them
    #[arg(long, requires = "volumes")]
    pub no_snapshot: bool,
    /// With -v: how many of `down -v`'s automatic snapshots to keep
    #[arg(
        long,
        value_name = "N",
        env = "PIER_SNAPSHOT_KEEP",
        default_value_t = 3
    )]
    pub keep_snapshots: usize,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SnapshotArgs {
    #[command(subcommand)]
    pub action: Option<SnapshotAction>,
    /// The snapshot's name [default: the time, YYYYMMDD-HHMMSS]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Only the volumes these services mount [default: all the project's volumes]
    pub services: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotAction {
    /// List the project's snapshots, oldest first
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Put a snapshot's content back into the volumes (stops and starts their services)
    Restore {
        /// The snapshot (see `pier snapshot list`)
        name: String,
    },
    /// Remove a snapshot
    Rm {
        /// The snapshot
        name: String,
    },
    /// Remove all but the newest snapshots
    Prune {
        /// How many to keep
        #[arg(long, value_name = "N")]
        keep: usize,
    },
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(subcommand)]
    pub action: DbAction,
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Dump the database as SQL (to stdout, or -o FILE: .sql, .sql.gz, .sql.zst)
    Export {
        /// The database service [default: the stack's only one]
        service: Option<String>,
        /// Write here (compressed by the name) instead of standard output
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Load SQL from FILE (.sql, .sql.gz, .sql.zst) or - (standard input)
    Import {
        /// The dump, or - for standard input
        file: PathBuf,
        /// The database service [default: the stack's only one]
        service: Option<String>,
        /// Empty the database first when it has tables
        #[arg(long)]
        drop: bool,
        /// Load on top of the tables that are there
        #[arg(long, conflicts_with = "drop")]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
    /// Where the stack runs
    #[arg(long, value_enum, default_value_t = Target::Local)]
    pub target: Target,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Only these services
    pub services: Vec<String>,
    /// Keep following new output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Number of lines to show from the end of each log
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The service to run the command in
    pub service: String,
    /// The command and its arguments
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
    /// Do not allocate a TTY even when stdin is a terminal
    #[arg(short = 'T', long = "no-tty")]
    pub no_tty: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Show secret values instead of masking them
    #[arg(long)]
    pub show_secrets: bool,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print JSON instead of YAML
    #[arg(long)]
    pub json: bool,
    /// Print secret values (passwords, tokens, keys) instead of masking them
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum GraphFormat {
    #[default]
    Text,
    Dot,
    Mermaid,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// A compose file that docker compose runs with the same meaning
    Compose,
    /// Kubernetes manifests (Deployments, StatefulSets, Services, Secrets, ConfigMaps)
    Kubernetes,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export to
    #[arg(value_enum)]
    pub format: ExportFormat,
    /// Write here instead of standard output (a file for compose, a directory for kubernetes)
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
