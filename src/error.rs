//! The one error type of pier. Variants hold data; they are rendered in one
//! place (`Display` here, printed once by `main`) and map to exit codes (DESIGN §3).

use std::path::PathBuf;

use crate::diagnostic::Diagnostic;

/// Exit codes of DESIGN §3.
pub mod exit {
    pub const OK: i32 = 0;
    pub const RUNTIME: i32 = 1;
    pub const INVALID: i32 = 2;
    pub const INTERRUPTED: i32 = 130;
    /// The reader of our output went away (`pier … | head -1`): 128 + SIGPIPE, the
    /// status a shell shows for a Unix tool that a closed pipe stopped.
    pub const BROKEN_PIPE: i32 = 141;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid input: problems in a stack file, template or parameters. Nothing was created.
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),

    /// Invalid use of the command line that clap could not catch.
    #[error("{message}")]
    Usage { message: String },

    #[error("no stack file in {}: looked for {}\n  hint: run `pier init <stack>` to create one, or pass -f FILE", dir.display(), candidates.join(", "))]
    NoStackFile {
        dir: PathBuf,
        candidates: Vec<&'static str>,
    },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The operating system's random source failed (secrets cannot be generated).
    #[error("cannot read random data from the operating system: {message}")]
    Entropy { message: String },

    /// The engine could not be reached at all.
    #[error(
        "cannot reach the Docker engine at {host}: {reason}\n  hint: start Docker (e.g. `systemctl start docker`), or point DOCKER_HOST at the engine's socket (e.g. unix:///var/run/docker.sock); check that you may use it (`docker info`)"
    )]
    EngineUnreachable { host: String, reason: String },

    /// One engine operation failed: what pier was doing, to which resource, and the
    /// engine's own message (never a bare HTTP status).
    #[error("{op} {resource}: {message}{}", engine_hint(*.op, .message))]
    Engine {
        op: EngineOp,
        resource: String,
        message: String,
    },

    /// Host ports the stack publishes are held by other programs; found before
    /// anything was created.
    #[error("{}", render_busy_ports(.0))]
    PortsInUse(Vec<crate::preflight::BusyPort>),

    /// A service did not become ready: it exited, turned unhealthy, or ran out of time.
    #[error("{}", render_not_ready(.0, "pier down"))]
    NotReady(Box<NotReady>),

    /// A swarm service did not become ready (`up --target swarm`); `container` is
    /// the task's container.
    #[error("{}", render_not_ready(.0, "pier down --target swarm"))]
    SwarmNotReady(Box<NotReady>),

    /// `--target swarm` on an engine that is not a swarm manager. Nothing was created.
    #[error(
        "the Docker engine at {host} is not a swarm manager (swarm state: {state}), so it cannot run the stack as swarm services\n  hint: make it a single-node swarm with `docker swarm init --advertise-addr 127.0.0.1` (`docker swarm leave --force` undoes it), or point DOCKER_HOST at a manager of your swarm"
    )]
    NotSwarmManager { host: String, state: String },

    /// `up --pull never`, and images the containers need are not on the engine:
    /// (service, image). Found before anything was created.
    #[error("{}", render_unavailable(.0))]
    ImagesUnavailable(Vec<(String, String)>),

    /// Images of `build:` services missing on the engine: swarm services cannot build.
    #[error("{}", render_unbuilt(.0))]
    UnbuiltImages(Vec<UnbuiltImage>),

    /// Something on the swarm stands in the way of `up --target swarm`: a secret whose
    /// value changed while services use it, a local network with the stack's name.
    #[error("{resource}: {problem}\n  hint: {hint}")]
    SwarmConflict {
        resource: String,
        problem: String,
        hint: String,
    },
    /// `pier exec` into a service whose container is not running.
    #[error(
        "service `{service}` is not running: {state}\n  hint: `pier up {service}` starts it; `pier ps` shows every service's state"
    )]
    NotRunning { service: String, state: String },

    /// `pier port`: the container does not publish that port.
    #[error(
        "service `{service}` does not publish port {port}{}\n  hint: publish it under the service's `ports:` in the stack file and run `pier up`",
        if published.is_empty() { "; it publishes no port".to_string() } else { format!("; it publishes {}", published.join(", ")) }
    )]
    PortNotPublished {
        service: String,
        port: String,
        published: Vec<String>,
    },
    /// The project name is already used by resources made from another directory
    /// (two directories named alike, or two files with the same `name:`). Nothing
    /// was changed.
    #[error(
        "project `{project}` is already used by resources made from {}, not from {here}\n  hint: give this directory's project its own name (`-p NAME`, or `name:` in the stack file); or, to act on those resources from here anyway, pass --adopt",
        others.join(", ")
    )]
    ProjectElsewhere {
        project: String,
        here: String,
        others: Vec<String>,
    },

    /// A bug in pier: something it should have prepared is missing (e.g. the value
    /// of a secret the plan writes). A runtime failure, not invalid input.
    #[error("internal error: {message}")]
    Internal { message: String },

    /// Ctrl-C, before anything was changed (or inside `execute`, which does not
    /// know what the run left behind; the command turns it into `Stopped`).
    #[error("interrupted")]
    Interrupted,

    /// A snapshot's files do not match its manifest (or cannot be read). Found
    /// before anything was changed.
    #[error(
        "snapshot `{name}` is damaged: {problem}; nothing was changed, the volumes hold what they held\n  hint: restore another snapshot (`pier snapshot list`), or remove this one (`pier snapshot rm {name}`)"
    )]
    SnapshotCorrupt { name: String, problem: String },

    /// Writing a snapshot or a dump failed (a full disk, …). What was half written
    /// was removed.
    #[error("writing {}: {source}{}", path.display(), write_hint(.source))]
    DataWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A command pier ran inside a container (a dump or load tool, a restore
    /// helper) failed: what it was, its exit code and its last output lines.
    #[error("{}", render_tool_failed(.0))]
    ToolFailed(Box<ToolFailed>),

    /// The router (names and HTTPS, `ops::router`) could not do its part.
    #[error("router: {problem}\n  hint: {hint}")]
    Router { problem: String, hint: String },

    /// `pier trust` could not install (or remove) the local CA's root.
    #[error("{problem}\n  hint: {hint}")]
    Trust { problem: String, hint: String },

    /// Ctrl-C stopped `up` or `down` part-way: what of the project exists now.
    #[error("{}", render_stopped(.0))]
    Stopped(Box<Stopped>),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        if self.is_broken_pipe() {
            return exit::BROKEN_PIPE;
        }
        match self {
            Error::Invalid(_)
            | Error::Usage { .. }
            | Error::NoStackFile { .. }
            | Error::ProjectElsewhere { .. } => exit::INVALID,
            Error::Io { .. }
            | Error::Entropy { .. }
            | Error::EngineUnreachable { .. }
            | Error::Engine { .. }
            | Error::PortsInUse(_)
            | Error::NotReady(_)
            | Error::SwarmNotReady(_)
            | Error::NotSwarmManager { .. }
            | Error::UnbuiltImages(_)
            | Error::ImagesUnavailable(_)
            | Error::SwarmConflict { .. }
            | Error::NotRunning { .. }
            | Error::SnapshotCorrupt { .. }
            | Error::DataWrite { .. }
            | Error::ToolFailed(_)
            | Error::PortNotPublished { .. }
            | Error::Router { .. }
            | Error::Trust { .. }
            | Error::Internal { .. } => exit::RUNTIME,
            Error::Interrupted | Error::Stopped(_) => exit::INTERRUPTED,
        }
    }

    /// Writing our output failed because its reader closed the pipe: not a failure
    /// to report, the command just ends (quietly, as other Unix tools do).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// One invalid-input problem.
    pub fn invalid(diagnostic: Diagnostic) -> Self {
        Error::Invalid(vec![diagnostic])
    }
}

/// What pier was doing when the engine said no; rendered as "creating container shop-db-1: …".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineOp {
    Info,
    ListContainers,
    ListNetworks,
    ListVolumes,
    InspectImage,
    PullImage,
    BuildImage,
    TagImage,
    CreateNetwork,
    RemoveNetwork,
    ConnectNetwork,
    CreateVolume,
    InspectVolume,
    RemoveVolume,
    CreateContainer,
    WriteSecrets,
    StartContainer,
    StopContainer,
    RemoveContainer,
    InspectContainer,
    ReadLogs,
    Exec,
    Attach,
    Signal,
    SwarmState,

    ListServices,
    CreateService,
    UpdateService,
    RemoveService,
    ListTasks,
    ListNodes,
    ListSecrets,
    CreateSecret,
    RemoveSecret,
    // `pier watch` (engine/sync.rs)
    RestartContainer,
    DownloadArchive,
    UploadArchive,
}

impl std::fmt::Display for EngineOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EngineOp::ListContainers => "listing containers of project",
            EngineOp::ListNetworks => "listing networks of project",
            EngineOp::ListVolumes => "listing volumes of project",
            EngineOp::InspectImage => "inspecting image",
            EngineOp::PullImage => "pulling image",
            EngineOp::BuildImage => "building image",
            EngineOp::TagImage => "tagging image",
            EngineOp::WriteSecrets => "writing secrets into container",
            EngineOp::CreateNetwork => "creating network",
            EngineOp::RemoveNetwork => "removing network",
            EngineOp::ConnectNetwork => "connecting to network",
            EngineOp::CreateVolume => "creating volume",
            EngineOp::InspectVolume => "inspecting volume",
            EngineOp::RemoveVolume => "removing volume",
            EngineOp::CreateContainer => "creating container",
            EngineOp::StartContainer => "starting container",
            EngineOp::StopContainer => "stopping container",
            EngineOp::RemoveContainer => "removing container",
            EngineOp::InspectContainer => "inspecting container",
            EngineOp::ReadLogs => "reading logs of container",
            EngineOp::Exec => "running a command in container",
            EngineOp::Attach => "attaching to container",
            EngineOp::Signal => "sending a signal to container",
            EngineOp::SwarmState => "reading the swarm state of engine",
            EngineOp::Info => "reading the identity of the Docker engine at",
            EngineOp::ListServices => "listing swarm services of project",
            EngineOp::CreateService => "creating swarm service",
            EngineOp::UpdateService => "updating swarm service",
            EngineOp::RemoveService => "removing swarm service",
            EngineOp::ListTasks => "listing tasks of swarm service",
            EngineOp::ListNodes => "listing swarm nodes for",
            EngineOp::ListSecrets => "listing swarm secrets of project",
            EngineOp::CreateSecret => "creating swarm secret",
            EngineOp::RemoveSecret => "removing swarm secret",
            EngineOp::RestartContainer => "restarting container",
            EngineOp::DownloadArchive => "copying files out of container",
            EngineOp::UploadArchive => "copying files into container",
        })
    }
}

/// What to try next, for the operations where there is something general to say:
/// each names the command, or the file and key, that fixes it.
fn engine_hint(op: EngineOp, message: &str) -> &'static str {
    if message.contains("port is already allocated") || message.contains("address already in use") {
        return "\n  hint: another program or container took that host port; `pier doctor` names who holds it and a free port to set (the `ports:` of the service in the stack file, or the variable in .env it comes from)";
    }
    match op {
        EngineOp::PullImage => {
            "\n  hint: check the image name (`image:` of the service in the stack file; for a stack from `pier init`, `pier list STACK` names its image parameters, e.g. `pier init lamp . --force --set php_image=…`) and that the engine reaches the registry (`docker pull IMAGE`); images already on the engine work offline with `pier up --pull never`; nothing was created"
        }
        EngineOp::BuildImage => {
            "\n  hint: the build output above shows the failing step: fix the Dockerfile (the `build:` of the service in the stack file names it), then `pier up --build`; nothing was created"
        }
        _ => "",
    }
}

/// Why a service is not ready, with what the user needs to see to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    pub service: String,
    pub container: String,
    /// `service_started`, `service_healthy`, `service_completed_successfully`.
    pub condition: String,
    /// e.g. "exited with code 3", "unhealthy", "not ready after 120s".
    pub reason: String,
    pub health_output: Option<String>,
    /// The last lines of the container's log.
    pub logs: Vec<String>,
}

/// `down`: the command that removes what was created.
fn render_not_ready(n: &NotReady, down: &str) -> String {
    let mut out = format!(
        "service `{}` (container {}) did not reach {}: {}",
        n.service, n.container, n.condition, n.reason
    );
    if let Some(h) = &n.health_output {
        let h = h.trim_end();
        if !h.is_empty() {
            out.push_str(&format!("\n  last health check: {h}"));
        }
    }
    if n.logs.is_empty() {
        out.push_str("\n  (no log output)");
    } else {
        match n.logs.len() {
            1 => out.push_str("\n  last log line:"),
            len => out.push_str(&format!("\n  last {len} log lines:")),
        }
        for line in &n.logs {
            out.push_str(&format!("\n    | {line}"));
        }
    }
    out.push_str(&format!(
        "\n  hint: `docker logs {}` shows the whole log; `{down}` removes what was created",
        n.container
    ));
    out
}

fn render_unavailable(missing: &[(String, String)]) -> String {
    let mut out: Vec<String> = missing
        .iter()
        .map(|(service, image)| {
            format!("service `{service}`: image {image} is not on the engine, and `--pull never` does not pull it")
        })
        .collect();
    out.push(format!(
        "  hint: pull or build it first (e.g. `docker pull {}`), or run `pier up` without `--pull never`; nothing was created",
        missing.first().map_or("IMAGE", |(_, image)| image.as_str())
    ));
    out.join("\n")
}

fn render_busy_ports(busy: &[crate::preflight::BusyPort]) -> String {
    let mut out: Vec<String> = busy.iter().map(|b| b.to_string()).collect();
    for b in busy {
        out.push(format!("  hint: {}", b.fix()));
    }
    out.push("  nothing was created; `pier doctor` checks every port the stack needs".into());
    out.join("\n")
}

/// A `build:` service whose image is not on the engine (for `up --target swarm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbuiltImage {
    pub service: String,
    pub image: String,
    pub context: PathBuf,
    pub dockerfile: Option<String>,
}

fn render_unbuilt(images: &[UnbuiltImage]) -> String {
    let mut out =
        String::from("swarm services cannot build images, and these are not on the engine yet:");
    for i in images {
        out.push_str(&format!(
            "\n  service `{}` needs image {} (from `build:`)",
            i.service, i.image
        ));
    }
    out.push_str("\n  hint: build them first, e.g.");
    for i in images {
        let file = match &i.dockerfile {
            Some(f) => format!(" -f {}", i.context.join(f).display()),
            None => String::new(),
        };
        out.push_str(&format!(
            "\n    docker build -t {}{file} {}",
            i.image,
            i.context.display()
        ));
    }
    out.push_str(
        "\n  (or run `pier up --build` locally once); on a swarm of several nodes, push them to a registry every node can reach",
    );
    out
}

fn write_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "\n  hint: the disk is full: free some space (`pier snapshot prune --keep 1` removes older snapshots); what was half written was removed"
        }
        _ => "\n  hint: what was half written was removed",
    }
}

/// A command run inside a container that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFailed {
    /// What it was doing, e.g. "mariadb-dump of database app".
    pub what: String,
    pub container: String,
    pub code: i64,
    /// Its last lines of output (stderr).
    pub output: Vec<String>,
    pub hint: String,
}

fn render_tool_failed(t: &ToolFailed) -> String {
    let mut out = format!(
        "{} in container {} failed with exit code {}",
        t.what, t.container, t.code
    );
    for line in &t.output {
        out.push_str(&format!("\n    | {line}"));
    }
    if !t.hint.is_empty() {
        out.push_str(&format!("\n  hint: {}", t.hint));
    }
    out
}

/// What an interrupted `up`/`down` left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// `up` or `down`.
    pub command: &'static str,
    pub project: String,
    /// (container name, state) of every container of the project.
    pub containers: Vec<(String, String)>,
    pub networks: Vec<String>,
}

fn render_stopped(s: &Stopped) -> String {
    let mut out = format!(
        "interrupted: `pier {}` of project {} stopped part-way",
        s.command, s.project
    );
    if s.containers.is_empty() && s.networks.is_empty() {
        out.push_str("; no container or network of it is left");
        return out;
    }
    out.push_str("\n  left behind:");
    for (name, state) in &s.containers {
        out.push_str(&format!("\n    container {name} ({state})"));
    }
    for name in &s.networks {
        out.push_str(&format!("\n    network {name}"));
    }
    out.push_str(&format!(
        "\n  hint: `pier down` (or `pier down -p {}`) removes them{}",
        s.project,
        if s.command == "up" {
            "; `pier up` finishes starting them"
        } else {
            ""
        }
    ));
    out
}

fn render_diagnostics(diagnostics: &[Diagnostic]) -> String {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let mut out: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    if errors > 1 {
        out.push(format!("{errors} problems found"));
    }
    out.join("\n")
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
