//! What happens while a plan runs, as data: the single interface between the
//! executor (which emits events) and the reporters (which render them).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::plan::Action;
use crate::stack::model::Condition;

/// Where events go; the reporter implements it.
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Sent once, before any step starts: what is about to happen, so that a
    /// reporter can lay out one line per image and service from the start.
    Planned {
        project: String,
        steps: Vec<PlannedStep>,
    },
    StepStarted {
        step: usize,
        text: String,
    },
    StepFinished {
        step: usize,
        text: String,
    },
    StepFailed {
        step: usize,
        text: String,
        error: String,
    },
    /// One progress message of a pull: a layer's state and, while its bytes
    /// move, how many of how many.
    PullProgress {
        image: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        layer: Option<String>,
        status: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        current: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
    },
    BuildOutput {
        service: String,
        line: String,
    },
    Waiting {
        service: String,
        condition: Condition,
    },
    /// A step failed: these steps of the plan did not run (never started, or
    /// gave up part-way: a pull, build or wait in flight), in plan order.
    Cancelled {
        steps: Vec<String>,
    },
    /// Ctrl-C: no new step starts; steps in flight finish or are cancelled.
    Interrupted,
    /// A second Ctrl-C: pier quits at once.
    InterruptedAgain,
    /// Something worth knowing that is no step: a plan's note, a service a command
    /// found nothing for. Plain text: `note: {text}`.
    Note {
        text: String,
    },
    /// A problem that does not stop the command (a key pier does not carry out, what
    /// an export leaves behind): the whole diagnostic as text, its "warning:" included.
    Warning {
        text: String,
    },
    /// Bytes streaming through pier (a database's dump or load): sent as they
    /// move, a few times a second at most, then once more with `done`.
    Transfer {
        /// What moves, as a line's label: `dump of db`, `load into db`.
        task: String,
        /// How many have moved so far.
        bytes: u64,
        /// How many there are, when known (a file being loaded: its size).
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<u64>,
        done: bool,
    },
    /// Another pier run holds the project's lock: this one waits until it is free.
    LockWaiting {
        project: String,
        /// The other run's verb and process, when its lock file says.
        #[serde(skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    // `pier watch` (ops::watch):
    /// Watching starts: these services' rules, until Ctrl-C.
    Watching {
        services: Vec<String>,
        rules: usize,
    },
    /// A change was acted on: what the service got (`sync`, `sync+restart`,
    /// `sync+exec`, `restart`, `rebuild`), for which changed paths, how long it took.
    WatchAction {
        service: String,
        action: String,
        trigger: String,
        files: usize,
        deleted: usize,
        millis: u64,
    },
}

/// A step of the plan as reporters see it (`step` in the other events indexes these).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedStep {
    pub text: String,
    pub kind: StepKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The image a pull or build step produces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// What kind of thing a step does, without its details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    CreateNetwork,
    CreateVolume,
    Pull,
    Build,
    Create,
    Recreate,
    Start,
    Wait,
    Stop,
    Remove,
    RemoveNetwork,
    RemoveVolume,
}

impl StepKind {
    /// The step as ongoing work, for a line that shows what a service is doing now.
    pub fn doing(self) -> &'static str {
        match self {
            StepKind::CreateNetwork => "creating network",
            StepKind::CreateVolume => "creating volume",
            StepKind::Pull => "pulling",
            StepKind::Build => "building",
            StepKind::Create => "creating",
            StepKind::Recreate => "recreating",
            StepKind::Start => "starting",
            StepKind::Wait => "waiting",
            StepKind::Stop => "stopping",
            StepKind::Remove => "removing",
            StepKind::RemoveNetwork => "removing network",
            StepKind::RemoveVolume => "removing volume",
        }
    }
}

impl PlannedStep {
    pub fn of(action: &Action) -> PlannedStep {
        let (kind, image) = match action {
            Action::CreateNetwork { .. } => (StepKind::CreateNetwork, None),
            Action::CreateVolume { .. } => (StepKind::CreateVolume, None),
            Action::PullImage { image, .. } => (StepKind::Pull, Some(image.clone())),
            Action::BuildImage { image, .. } => (StepKind::Build, Some(image.clone())),
            Action::CreateContainer { .. } => (StepKind::Create, None),
            Action::RecreateContainer { .. } => (StepKind::Recreate, None),
            Action::StartContainer { .. } => (StepKind::Start, None),
            Action::WaitFor { .. } => (StepKind::Wait, None),
            Action::StopContainer { .. } => (StepKind::Stop, None),
            Action::RemoveContainer { .. } => (StepKind::Remove, None),
            Action::RemoveNetwork { .. } => (StepKind::RemoveNetwork, None),
            Action::RemoveVolume { .. } => (StepKind::RemoveVolume, None),
        };
        PlannedStep {
            text: action.to_string(),
            kind,
            service: action.service().map(String::from),
            image,
        }
    }
}

/// How often a transfer's progress is sent at most: often enough for a bar,
/// rarely enough to cost nothing next to the bytes.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The `Event::Transfer`s of one stream, throttled: `update` as bytes move,
/// `done` at the end.
pub struct Meter {
    task: String,
    total: Option<u64>,
    sink: EventSink,
    last: Option<Instant>,
}

impl Meter {
    pub fn new(task: String, total: Option<u64>, sink: &EventSink) -> Meter {
        Meter {
            task,
            total,
            sink: sink.clone(),
            last: None,
        }
    }

    pub fn update(&mut self, bytes: u64) {
        let now = Instant::now();
        if self.last.is_some_and(|last| now - last < PROGRESS_EVERY) {
            return;
        }
        self.last = Some(now);
        self.send(bytes, false);
    }

    pub fn done(&self, bytes: u64) {
        self.send(bytes, true);
    }

    fn send(&self, bytes: u64, done: bool) {
        (self.sink)(Event::Transfer {
            task: self.task.clone(),
            bytes,
            total: self.total,
            done,
        });
    }
}
