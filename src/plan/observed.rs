//! What exists on the engine for one project: a plain snapshot the planner compares
//! with the Stack model. Filled by `engine::Engine::observe`; built by hand in tests.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub containers: Vec<ObservedContainer>,
    /// The one-off containers of `pier run` (label `io.pier.one-off`): apart, so
    /// that no service's plan mistakes one for the service's own container.
    pub one_offs: Vec<ObservedContainer>,
    pub networks: Vec<ObservedNetwork>,
    pub volumes: Vec<ObservedVolume>,
    /// Image references (as written in the stack) present on the engine → their image ids.
    pub images: BTreeMap<String, String>,
    /// The project directories its containers, networks and volumes say they were
    /// made from (`labels::WORKING_DIR`); resources of an older pier have none.
    pub working_dirs: BTreeSet<String>,
    /// Container name → the volumes mounted in it (named and anonymous): what a
    /// recreate carries over and what a snapshot copies.
    pub volume_mounts: BTreeMap<String, Vec<ObservedMount>>,
    /// Container name → the containers it takes volumes from (`volumes_from`, its
    /// `io.pier.volumes-from` label), for those that take some.
    pub volumes_from: BTreeMap<String, Vec<String>>,
}

/// A volume mounted in a container.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObservedMount {
    /// The engine's volume name (64 hex digits for an anonymous volume).
    pub volume: String,
    /// Where it is mounted in the container.
    pub target: String,
}

impl ObservedMount {
    /// An anonymous volume: named by the engine (64 hex digits), not by a stack file.
    pub fn is_anonymous(&self) -> bool {
        self.volume.len() == 64 && self.volume.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedContainer {
    /// Engine name without the leading `/`.
    pub name: String,
    pub id: String,
    /// The id of the image it was created from (`sha256:…`).
    pub image_id: Option<String>,
    /// The `io.pier.service` label.
    pub service: String,
    /// The `io.pier.config-hash` label (None on containers from foreign tools).
    pub config_hash: Option<String>,
    /// The `io.pier.config-fields` label, parsed: top-level field → hash.
    pub field_hashes: BTreeMap<String, String>,
    /// The `io.pier.depends-on` label, parsed.
    pub depends_on: Vec<String>,
    pub state: ContainerState,
    pub health: Option<Health>,
    pub exit_code: Option<i64>,
    /// RFC 3339, as the engine reports it; None when unknown (`observe` lists the
    /// containers, it does not inspect each).
    pub started_at: Option<String>,
    /// Ports published on the host, as bound (an engine-chosen port included).
    pub published: Vec<PublishedPort>,
    /// The `io.pier.pre-stop` label, parsed: hooks to run before it stops.
    pub pre_stop: Vec<crate::plan::spec::HookSpec>,
    /// The networks it is attached to: name → network id (empty when the engine
    /// has not resolved it yet, as for a container never started). None: unknown.
    pub networks: Option<BTreeMap<String, String>>,
    /// The id of the container whose network it shares (`network_mode:
    /// service:x`, which the engine resolves to `container:<id>` at create): it
    /// keeps that id, so a recreated `x` leaves it without a network.
    pub network_host: Option<String>,
}

impl ObservedContainer {
    /// Whether it already is where a `depends_on` condition asks a dependency to be.
    pub fn meets(&self, condition: crate::stack::model::Condition) -> bool {
        use crate::stack::model::Condition;
        match condition {
            Condition::Started => self.state == ContainerState::Running,
            Condition::Healthy => self.health == Some(Health::Healthy),
            Condition::CompletedSuccessfully => {
                self.state == ContainerState::Exited && self.exit_code == Some(0)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PublishedPort {
    /// e.g. `80/tcp`.
    pub target: String,
    pub host_ip: String,
    pub host_port: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerState {
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Exited,
    Dead,
}

impl ContainerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
        }
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Starting,
    Healthy,
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Unhealthy => "unhealthy",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedNetwork {
    pub name: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObservedVolume {
    pub name: String,
}

impl Observed {
    pub fn container_of(&self, service: &str) -> Option<&ObservedContainer> {
        self.containers.iter().find(|c| c.service == service)
    }

    pub fn has_network(&self, name: &str) -> bool {
        self.networks.iter().any(|n| n.name == name)
    }

    pub fn has_volume(&self, name: &str) -> bool {
        self.volumes.iter().any(|v| v.name == name)
    }
}
