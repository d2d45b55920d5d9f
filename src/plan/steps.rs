//! A Plan: the steps that take the engine from what was observed to what the stack
//! says, each with its dependencies and the cause that made the planner add it.
//! The executor carries them out without deciding anything; `Display` is the
//! deterministic text `pier up --dry-run` prints and tests assert whole.

use std::fmt;

use serde::Serialize;

use crate::plan::spec::{BuildSpec, ContainerSpec, HookSpec, Readiness};

/// Index of a step in `Plan::steps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StepId(pub usize);

/// Generic over the action type so another target (swarm) can be walked by the
/// same scheduler; `Action` is the local engine's.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan<A = Action> {
    pub project: String,
    pub steps: Vec<Step<A>>,
    /// Services whose containers already match the stack and run: left alone.
    pub unchanged: Vec<String>,
    /// Things the user should know that are not steps (e.g. orphans kept).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step<A = Action> {
    pub action: A,
    pub cause: Cause,
    /// Steps that must have finished before this one starts.
    pub after: Vec<StepId>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreateNetwork {
        /// Engine-side name, e.g. `shop_default`.
        name: String,
        /// Key in the stack file, e.g. `default`.
        key: String,
        driver: Option<String>,
        internal: bool,
    },
    CreateVolume {
        name: String,
        key: String,
        driver: Option<String>,
    },
    PullImage {
        service: String,
        image: String,
    },
    BuildImage {
        service: String,
        image: String,
        build: BuildSpec,
        /// Other services with the very same build (context, Dockerfile, args,
        /// target): their image names are tagged from this one build instead of
        /// building the same thing again (django's `migrate` and `web`).
        #[serde(skip_serializing_if = "Vec::is_empty")]
        also: Vec<SharedImage>,
    },
    CreateContainer {
        service: String,
        spec: Box<ContainerSpec>,
    },
    /// Stop and remove `old_id`, then create the container anew.
    RecreateContainer {
        service: String,
        old_id: String,
        spec: Box<ContainerSpec>,
        /// The old container's `pre_stop` hooks, run first when it is running.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pre_stop: Vec<HookSpec>,
    },
    StartContainer {
        service: String,
        container: String,
        /// A one-shot (others wait for it to complete): its exit is expected.
        /// Any other started container exiting while `up` waits fails `up` at once.
        one_shot: bool,
        /// `post_start` hooks, exec'd in order once it started; one failing fails
        /// the step, as in Compose.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        post_start: Vec<HookSpec>,
    },
    WaitFor {
        service: String,
        container: String,
        condition: Readiness,
        /// The service's health test as a command to run through exec, so that
        /// readiness is seen without waiting out the healthcheck interval.
        #[serde(skip_serializing_if = "Option::is_none")]
        probe: Option<Vec<String>>,
        /// How long one run of `probe` may take (the healthcheck's `timeout:`, 30 s
        /// when unset, as the engine's): a probe still running then has failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        probe_timeout_ms: Option<u64>,
    },
    StopContainer {
        service: String,
        container: String,
        timeout_secs: Option<u64>,
        /// `pre_stop` hooks exec'd before the stop (from the container's label);
        /// one that fails is reported and the stop goes on, as in Compose.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pre_stop: Vec<HookSpec>,
    },
    RemoveContainer {
        service: String,
        container: String,
    },
    RemoveNetwork {
        name: String,
        /// Removed by id: two networks can share a name (the engine does not
        /// refuse a duplicate), and removing by name then fails as ambiguous.
        id: String,
    },
    RemoveVolume {
        name: String,
    },
}

/// A service that uses the image another service's build step makes, under its own name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedImage {
    pub service: String,
    pub image: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cause {
    NotFound,
    /// Top-level service fields whose hash differs from the container's labels.
    ConfigChanged(Vec<String>),
    /// The container exists but is not running (its state).
    NotRunning(String),
    ImageMissing,
    /// The image reference now points to another image than the container runs.
    ImageChanged,
    PullAlways,
    BuildRequested,
    /// Just created or recreated by an earlier step of this plan.
    Created,
    /// A readiness condition other services wait for.
    NeededBy(Vec<String>),
    /// `up` waits until every started service is ready.
    Requested,
    Orphan,
    Down,
    /// The container is not on this network of its service any more (removed or
    /// disconnected by hand): recreated, joined to it.
    NetworkRemoved(String),
    /// A container sharing `service`'s container's `shared` (its network, IPC or
    /// PID namespace: `network_mode`, `ipc`, `pid` set to `service:x`) after that
    /// container was recreated: what it shares is gone.
    SharedHostRecreated {
        service: String,
        shared: &'static str,
    },
    /// A second network of the same name (`plan::networks::duplicates`).
    DuplicateNetwork,
    /// Stopped (and started again) around a snapshot or restore of its volumes.
    DataCopy,
    /// A verb asked for it by name (`start`, `stop`, `rm`, `pull`, `build`, `run`).
    Asked(&'static str),
    /// A one-shot service (others wait for it to complete) runs on every `up`.
    OneShot,
    /// More containers than the service's `scale`/`deploy.replicas` (the count).
    ScaledDown(usize),
    /// The service's `pull_policy` (`always`, `build`).
    PullPolicy(&'static str),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::NotFound => f.write_str("not found"),
            Cause::ConfigChanged(fields) if fields.is_empty() => f.write_str("config changed"),
            Cause::ConfigChanged(fields) => write!(f, "config changed: {}", fields.join(", ")),
            Cause::NotRunning(state) => write!(f, "{state}, not running"),
            Cause::ImageMissing => f.write_str("image not present"),
            Cause::ImageChanged => f.write_str("image changed"),
            Cause::PullAlways => f.write_str("--pull always"),
            Cause::BuildRequested => f.write_str("--build"),
            Cause::Created => f.write_str("created"),
            Cause::NeededBy(services) => write!(f, "needed by {}", services.join(", ")),
            Cause::Requested => f.write_str("ready before up returns"),
            Cause::Orphan => f.write_str("orphan: service not in the stack file"),
            Cause::Down => f.write_str("down"),
            Cause::NetworkRemoved(name) => write!(f, "network {name} removed"),
            Cause::SharedHostRecreated { service, shared } => {
                write!(f, "{service}, whose {shared} it shares, recreated")
            }
            Cause::DuplicateNetwork => f.write_str("duplicate: another network has its name"),
            Cause::DataCopy => f.write_str("stopped for a consistent copy of its volumes"),
            Cause::Asked(verb) => write!(f, "pier {verb}"),
            Cause::OneShot => f.write_str("one-shot: runs on every up"),
            Cause::ScaledDown(n) => write!(f, "scaled down to {n}"),
            Cause::PullPolicy(policy) => write!(f, "pull_policy: {policy}"),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::CreateNetwork { name, .. } => write!(f, "create network {name}"),
            Action::CreateVolume { name, .. } => write!(f, "create volume {name}"),
            Action::PullImage { service, image } => write!(f, "pull image {image} for {service}"),
            Action::BuildImage {
                service,
                image,
                also,
                ..
            } => {
                write!(f, "build image {image} for {service}")?;
                for other in also {
                    write!(f, ", tag {} for {}", other.image, other.service)?;
                }
                Ok(())
            }
            Action::CreateContainer { spec, .. } => write!(f, "create container {}", spec.name),
            Action::RecreateContainer { spec, .. } => {
                write!(f, "recreate container {}", spec.name)
            }
            Action::StartContainer { container, .. } => write!(f, "start container {container}"),
            Action::WaitFor {
                service, condition, ..
            } => write!(f, "wait for {service}: {}", condition.as_str()),
            Action::StopContainer { container, .. } => write!(f, "stop container {container}"),
            Action::RemoveContainer { container, .. } => write!(f, "remove container {container}"),
            Action::RemoveNetwork { name, .. } => write!(f, "remove network {name}"),
            Action::RemoveVolume { name } => write!(f, "remove volume {name}"),
        }
    }
}

impl Action {
    /// The service a step is about, if any.
    pub fn service(&self) -> Option<&str> {
        match self {
            Action::PullImage { service, .. }
            | Action::BuildImage { service, .. }
            | Action::CreateContainer { service, .. }
            | Action::RecreateContainer { service, .. }
            | Action::StartContainer { service, .. }
            | Action::WaitFor { service, .. }
            | Action::StopContainer { service, .. }
            | Action::RemoveContainer { service, .. } => Some(service),
            Action::CreateNetwork { .. }
            | Action::CreateVolume { .. }
            | Action::RemoveNetwork { .. }
            | Action::RemoveVolume { .. } => None,
        }
    }
}

impl<A> Plan<A> {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

impl Plan {
    /// The services whose container this plan creates (or recreates), in step order.
    pub fn created_services(&self) -> impl Iterator<Item = &String> {
        self.steps.iter().filter_map(|step| match &step.action {
            Action::CreateContainer { service, .. } | Action::RecreateContainer { service, .. } => {
                Some(service)
            }
            _ => None,
        })
    }
}

/// One line per step, numbered from 1: `3. create container shop-db-1 (not found) after 1, 2`.
impl<A: fmt::Display> fmt::Display for Plan<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.steps.is_empty() {
            writeln!(f, "project {}: nothing to do", self.project)?;
        } else {
            let n = self.steps.len();
            let s = if n == 1 { "" } else { "s" };
            writeln!(f, "project {}: {n} step{s}", self.project)?;
        }
        for (i, step) in self.steps.iter().enumerate() {
            write!(f, "{:>3}. {} ({})", i + 1, step.action, step.cause)?;
            if !step.after.is_empty() {
                let after: Vec<String> = step.after.iter().map(|d| (d.0 + 1).to_string()).collect();
                write!(f, " after {}", after.join(", "))?;
            }
            writeln!(f)?;
        }
        if !self.unchanged.is_empty() {
            writeln!(f, "unchanged: {}", self.unchanged.join(", "))?;
        }
        for note in &self.notes {
            writeln!(f, "note: {note}")?;
        }
        Ok(())
    }
}

/// The plan as `pier up --dry-run --json` prints it: every step with its number
/// (from 1, as in the text), its action with all its fields, its text, its cause
/// and the numbers of the steps it comes after.
#[derive(Debug, Serialize)]
pub struct PlanJson<'a, A> {
    pub project: &'a str,
    pub steps: Vec<StepJson<'a, A>>,
    pub unchanged: &'a [String],
    pub notes: &'a [String],
}

#[derive(Debug, Serialize)]
pub struct StepJson<'a, A> {
    pub number: usize,
    pub action: &'a A,
    pub text: String,
    pub cause: String,
    pub after: Vec<usize>,
}

impl<A: fmt::Display + Serialize> Plan<A> {
    pub fn json(&self) -> PlanJson<'_, A> {
        PlanJson {
            project: &self.project,
            steps: self
                .steps
                .iter()
                .enumerate()
                .map(|(i, step)| StepJson {
                    number: i + 1,
                    action: &step.action,
                    text: step.action.to_string(),
                    cause: step.cause.to_string(),
                    after: step.after.iter().map(|d| d.0 + 1).collect(),
                })
                .collect(),
            unchanged: &self.unchanged,
            notes: &self.notes,
        }
    }
}
