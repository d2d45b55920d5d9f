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
    /// Run a one-off command in a new container of a service (what it depends on started first)
    Run(RunArgs),
    /// Start the services' existing containers, dependencies first, and wait until ready
    Start(StartArgs),
    /// Stop the services' running containers, dependents first
    Stop(StopArgs),
    /// Restart services (and the services that depend on them) and wait until ready
    Restart(RestartArgs),
    /// Pull the images of services
    Pull(PullArgs),
    /// Build the images of services that have a `build:` section
    Build(BuildArgs),
    /// List the pier projects on the engine, from any directory
    Ls(LsArgs),
    /// Remove the services' stopped containers (and `pier run`'s one-offs)
    Rm(RmArgs),
    /// Print the host address a service's container port is published on
    Port(PortArgs),
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
    /// The shared router that gives web services https://<service>.<project>.localhost names
    Router(RouterArgs),
    /// Make this machine trust the router's local CA (HTTPS without warnings), or --uninstall
    Trust(TrustArgs),
    /// Print a shell completion script
    Completions(CompletionsArgs),
    /// Check that this machine can run the stack: engine, disk, ports, clock, files
    Doctor(DoctorArgs),
    /// Sync files into services, restart or rebuild them as files change (`develop.watch`)
    Watch(WatchArgs),
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
    /// Then watch files and act on changes as `develop.watch` says (see `pier watch`)
    #[arg(long, conflicts_with = "dry_run")]
    pub watch: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Watch only these services' rules (and bring up only them and what they need)
    pub services: Vec<String>,
    /// Do not bring the stack up first
    #[arg(long)]
    pub no_up: bool,
    /// After a rebuild, give up when the service has not become ready this many seconds later
    #[arg(long, value_name = "SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub wait_timeout: u64,
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
    /// Also list `pier run`'s one-off containers, as Compose's `ps -a`
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Print only the containers' ids
    #[arg(short = 'q', long, conflicts_with_all = ["json", "services"])]
    pub quiet: bool,
    /// Print only the names of the services that have a container
    #[arg(long, conflicts_with = "json")]
    pub services: bool,
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
    /// Show each line's time (lines of several services are in time order either way)
    #[arg(short = 't', long)]
    pub timestamps: bool,
}

/// How a command runs in a container, as Compose's `run` and `exec` take it.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// Set an environment variable (repeatable); `-e KEY` passes your shell's value
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Run as this user (name or uid[:gid])
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "As with Compose: `pier exec db psql -U app` (pier's flags before the service; `--` before the command is accepted too). The command's exit code is pier's."
)]
pub struct ExecArgs {
    /// The service to run the command in
    pub service: String,
    /// The command and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
    /// Do not allocate a TTY even when stdin is a terminal
    #[arg(short = 'T', long = "no-tty", visible_alias = "no-TTY")]
    pub no_tty: bool,
    #[command(flatten)]
    pub process: ProcessArgs,
}

#[derive(Debug, Args)]
#[command(
    after_help = "The command's exit code is pier's. Compose's flags; `-p` after `run` is `--publish`."
)]
pub struct RunArgs {
    /// The service whose container is the model
    pub service: String,
    /// The command and its arguments [default: the service's command]
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
    /// Start the container in the background and print its name
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Do not allocate a TTY even when stdin is a terminal (stdin is still passed on)
    #[arg(short = 'T', long = "no-tty", visible_alias = "no-TTY")]
    pub no_tty: bool,
    /// Keep stdin attached (always on unless -d; accepted as Compose's)
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Do not start the services it depends on
    #[arg(long)]
    pub no_deps: bool,
    /// Publish the service's ports (otherwise none, so it never collides with the service)
    #[arg(short = 'P', long)]
    pub service_ports: bool,
    /// Publish a container port instead, e.g. 8080:80 (repeatable; `-p` after `run`,
    /// as with Compose), bound to 127.0.0.1 unless it names an address
    #[arg(long, value_name = "[IP:][HOST:]CONTAINER[/PROTO]")]
    pub publish: Vec<String>,
    /// Build the images of `build:` services first, as `up --build` does
    #[arg(long)]
    pub build: bool,
    /// Join the service's networks under the service's name and aliases too
    #[arg(long)]
    pub use_aliases: bool,
    /// Override the image's entrypoint (drops the service's command too), e.g. "sh -c"
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<String>,
    #[command(flatten)]
    pub process: ProcessArgs,
    /// Mount a volume as in the stack file (repeatable; replaces the service's at that path): a named volume of the stack, or a host path (relative to this directory), e.g. ./src:/app:ro
    #[arg(short = 'v', long = "volume", value_name = "[SOURCE:]TARGET[:ro]")]
    pub volumes: Vec<String>,
    /// Add or override a label (repeatable)
    #[arg(short = 'l', long = "label", value_name = "KEY[=VALUE]")]
    pub labels: Vec<String>,
    /// Add a Linux capability, e.g. NET_ADMIN (repeatable)
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a Linux capability, e.g. NET_RAW (repeatable)
    #[arg(long, value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Name the container [default: <project>-<service>-run-<hex>]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Give up when a dependency has not become ready this many seconds after it could start
    #[arg(long, value_name = "SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub wait_timeout: u64,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Only these services (and what they depend on) [default: all]
    pub services: Vec<String>,
    /// Give up when a service has not become ready this many seconds after it could start
    #[arg(long, value_name = "SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub wait_timeout: u64,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Only these services [default: all]
    pub services: Vec<String>,
    /// Seconds to wait for each container to stop before killing it
    #[arg(short = 't', long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub timeout: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Only these services (and those that depend on them) [default: all]
    pub services: Vec<String>,
    /// Seconds to wait for each container to stop before killing it
    #[arg(short = 't', long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub timeout: Option<u64>,
    /// Do not restart the services that depend on the named ones
    #[arg(long)]
    pub no_deps: bool,
    /// Give up when a service has not become ready this many seconds after it could start
    #[arg(long, value_name = "SECONDS", default_value_t = 120,
          value_parser = clap::value_parser!(u64).range(0..=MAX_TIMEOUT_SECS))]
    pub wait_timeout: u64,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Only these services [default: all]
    pub services: Vec<String>,
    /// Show no progress
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Pull what can be pulled; a failed pull is a warning
    #[arg(long)]
    pub ignore_pull_failures: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Only these services [default: every service with `build:`]
    pub services: Vec<String>,
    /// Build every step anew, without the build cache
    #[arg(long)]
    pub no_cache: bool,
    /// Pull a newer version of the base image first
    #[arg(long)]
    pub pull: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Also projects whose containers are all stopped
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Print JSON (Compose's keys: Name, Status, plus WorkingDir)
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,
    /// Print the project names only
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Only these services [default: all]
    pub services: Vec<String>,
    /// Do not ask for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Stop running containers first
    #[arg(short = 's', long)]
    pub stop: bool,
    /// Remove the containers' anonymous volumes (pier always does, as `down` does)
    #[arg(short = 'v', long)]
    pub volumes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PortProtocol {
    #[default]
    Tcp,
    Udp,
}

#[derive(Debug, Args)]
pub struct PortArgs {
    /// The service
    pub service: String,
    /// The container's port
    pub private_port: u16,
    /// The port's protocol
    #[arg(long, value_enum, default_value_t = PortProtocol::Tcp)]
    pub protocol: PortProtocol,
    /// Which container of the service, from 1
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub index: u32,
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
pub struct DoctorArgs {
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RouterArgs {
    #[command(subcommand)]
    pub action: RouterAction,
}

#[derive(Debug, Subcommand)]
pub enum RouterAction {
    /// Show the router: its state, ports, CA root and every project's names
    Status {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Stop the router (projects keep their names; the next `pier up` starts it)
    Stop,
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Remove the local CA's root from the system's store instead
    #[arg(long)]
    pub uninstall: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Compose's `run -p 8080:80` publishes a port, while `-p` is also the global
/// `--project-name`: in the arguments of `run` before its SERVICE, `-p VALUE` and
/// `-pVALUE` are `--publish`, as with Compose; elsewhere `-p` names the project.
/// Which options take a value is read from the parser itself.
pub fn publish_after_run(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    use clap::CommandFactory;
    let root = Cli::command();
    let Some(run) = root.find_subcommand("run") else {
        return args;
    };
    // Whether `token` (`-x` or `--long`, nothing attached) is an option of one
    // of `commands` that takes its value from the next argument.
    let takes_value = |commands: &[&clap::Command], token: &str| {
        commands.iter().flat_map(|c| c.get_arguments()).any(|a| {
            let named = match token.strip_prefix("--") {
                Some(long) => a.get_long() == Some(long),
                None => {
                    let mut chars = token.chars().skip(1);
                    let short = chars.next();
                    chars.next().is_none() && short.is_some() && a.get_short() == short
                }
            };
            named && !a.is_positional() && a.get_action().takes_values()
        })
    };
    let text = |arg: &std::ffi::OsString| arg.to_str().map(str::to_string);
    // The command: the first argument that is neither an option nor its value.
    let mut i = 1;
    loop {
        let Some(token) = args.get(i).and_then(text) else {
            return args;
        };
        if token == "--" {
            return args;
        }
        if !token.starts_with('-') || token == "-" {
            if token != "run" {
                return args;
            }
            break;
        }
        i += if takes_value(&[&root], &token) { 2 } else { 1 };
    }
    // The options of `run`, up to its SERVICE.
    let mut j = i + 1;
    while let Some(token) = args.get(j).and_then(text) {
        if token == "--" || !token.starts_with('-') || token == "-" {
            break;
        }
        if token == "-p" {
            args[j] = "--publish".into();
            j += 2;
        } else if let Some(value) = token
            .strip_prefix("-p")
            .filter(|_| !token.starts_with("--"))
        {
            args[j] = format!("--publish={value}").into();
            j += 1;
        } else {
            j += if takes_value(&[run, &root], &token) {
                2
            } else {
                1
            };
        }
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    fn rewritten(line: &str) -> Vec<String> {
        let args = line.split_whitespace().map(Into::into).collect();
        publish_after_run(args)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn p_after_run_publishes_and_names_the_project_elsewhere() {
        assert_eq!(
            rewritten("pier -p shop -f a.yaml run -e A=1 -p 8080:80 -p9000:90 -d web sh -p x"),
            [
                "pier",
                "-p",
                "shop",
                "-f",
                "a.yaml",
                "run",
                "-e",
                "A=1",
                "--publish",
                "8080:80",
                "--publish=9000:90",
                "-d",
                "web",
                "sh",
                "-p",
                "x"
            ]
        );
        // An option's value that looks like `-p` is a value; so is the command's.
        assert_eq!(
            rewritten("pier run --name -p web -p 1"),
            ["pier", "run", "--name", "-p", "web", "-p", "1"]
        );
        for unchanged in [
            "pier up -p shop",
            "pier -p run up",
            "pier --progress plain ps -p x",
            "pier run web -p 80",
            "pier run -- -p 80",
        ] {
            assert_eq!(
                rewritten(unchanged),
                unchanged.split_whitespace().collect::<Vec<_>>()
            );
        }
        // What clap makes of it.
        let cli = Cli::parse_from(rewritten("pier -p shop run -p 8080:80 --use-aliases web"));
        assert_eq!(cli.global.project_name.as_deref(), Some("shop"));
        let Command::Run(run) = cli.command else {
            panic!("not run");
        };
        assert_eq!(run.publish, ["8080:80"]);
        assert!(run.use_aliases);
        assert_eq!(run.service, "web");
    }
}
