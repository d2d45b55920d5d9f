//! Swarm tasks as plain data, and when a service counts as ready (DESIGN §6 on a swarm).
//!
//! A service is ready when as many of its tasks as it has replicas run (for
//! `service_completed_successfully`: have completed). Where the service has a
//! healthcheck the swarm itself reports a task `running` only once its container is
//! healthy; the container's own health, when it is on this node, is checked too.
//! A task that failed or was rejected fails the wait at once, with the swarm's reason.

use std::fmt;

use serde::Serialize;

use crate::plan::observed::Health;
use crate::stack::model::Condition;

/// The swarm's task states (API `TaskState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    New,
    Allocated,
    Pending,
    Assigned,
    Accepted,
    Preparing,
    Ready,
    Starting,
    Running,
    Complete,
    Shutdown,
    Failed,
    Rejected,
    Remove,
    Orphaned,
    Unknown,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::New => "new",
            TaskState::Allocated => "allocated",
            TaskState::Pending => "pending",
            TaskState::Assigned => "assigned",
            TaskState::Accepted => "accepted",
            TaskState::Preparing => "preparing",
            TaskState::Ready => "ready",
            TaskState::Starting => "starting",
            TaskState::Running => "running",
            TaskState::Complete => "complete",
            TaskState::Shutdown => "shutdown",
            TaskState::Failed => "failed",
            TaskState::Rejected => "rejected",
            TaskState::Remove => "remove",
            TaskState::Orphaned => "orphaned",
            TaskState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One task of a swarm service, as `ps` shows it and readiness reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskInfo {
    /// The swarm service name, `<project>_<key>`.
    pub service: String,
    pub id: String,
    pub slot: Option<i64>,
    /// Hostname of the node, or its id when unknown.
    pub node: String,
    pub desired: TaskState,
    pub state: TaskState,
    /// The swarm's status message, e.g. "started", "preparing".
    pub message: String,
    /// Why the task failed or cannot be scheduled, e.g. "No such image: …".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// The container's health, when the container is on this node and has a healthcheck.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthState>,
    /// Published ports as bound, `0.0.0.0:8080->80/tcp`.
    pub ports: Vec<String>,
    /// RFC 3339 time of the last state change.
    pub updated: String,
}

/// `plan::observed::Health`, serializable for `ps --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    Starting,
    Healthy,
    Unhealthy,
}

impl From<Health> for HealthState {
    fn from(h: Health) -> Self {
        match h {
            Health::Starting => HealthState::Starting,
            Health::Healthy => HealthState::Healthy,
            Health::Unhealthy => HealthState::Unhealthy,
        }
    }
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Starting => "starting",
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
        }
    }
}

impl TaskInfo {
    /// The container's name on its node: `<service>.<slot>.<task id>`.
    pub fn container_name(&self) -> String {
        match self.slot {
            Some(slot) => format!("{}.{slot}.{}", self.service, self.id),
            None => format!("{}.{}", self.service, self.id),
        }
    }

    /// `web.1` — the task as people name it.
    pub fn short_name(&self) -> String {
        match self.slot {
            Some(slot) => format!("{}.{slot}", self.service),
            None => self.service.clone(),
        }
    }
}

/// Where a service's rolling update stands (API `UpdateStatus.State`); None when the
/// service was never updated or the update changed no task (e.g. only replicas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    Updating,
    Paused,
    Completed,
    RollbackStarted,
    RollbackPaused,
    RollbackCompleted,
}

/// The rollout's say in readiness: still rolling out is not ready whatever the tasks
/// show (old tasks still run); a paused or rolled-back update is a failure.
pub fn rollout_readiness(rollout: Option<Rollout>, message: &str) -> Option<Readiness> {
    let failed = |what: &str| {
        Some(Readiness::Failed {
            task: String::new(),
            reason: format!("the update was {what}: {message}"),
        })
    };
    match rollout? {
        Rollout::Updating | Rollout::RollbackStarted => {
            Some(Readiness::Waiting("the update is rolling out".into()))
        }
        Rollout::Paused => failed("paused"),
        Rollout::RollbackPaused | Rollout::RollbackCompleted => failed("rolled back"),
        Rollout::Completed => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Not yet; what is being waited for (shown when time runs out).
    Waiting(String),
    /// It will not get there: the task that failed and why.
    Failed {
        task: String,
        reason: String,
    },
}

/// Whether a service with `replicas` tasks has reached `condition`.
///
/// `tasks` are those of the service's current definition (the caller leaves out
/// older ones). Enough tasks where they should be is ready even when an earlier
/// attempt failed and the swarm restarted it; otherwise a failed task ends the wait.
pub fn readiness(tasks: &[TaskInfo], replicas: u32, condition: impl Into<Condition>) -> Readiness {
    let condition = condition.into();
    let failed = || {
        tasks
            .iter()
            .find(|t| matches!(t.state, TaskState::Failed | TaskState::Rejected))
            .map(|t| {
                let mut reason = format!("task {} {}", t.short_name(), t.state);
                if let Some(e) = t.error.as_deref().filter(|e| !e.is_empty()) {
                    reason.push_str(&format!(": {e}"));
                }
                Readiness::Failed {
                    task: t.container_name(),
                    reason,
                }
            })
    };
    let want = replicas as usize;
    if condition == Condition::CompletedSuccessfully {
        let done = tasks
            .iter()
            .filter(|t| t.state == TaskState::Complete && t.exit_code.unwrap_or(0) == 0)
            .count();
        if done >= want.max(1) {
            return Readiness::Ready;
        }
        return failed().unwrap_or_else(|| {
            Readiness::Waiting(format!("{done} of {} tasks completed", want.max(1)))
        });
    }
    let running = tasks
        .iter()
        .filter(|t| t.desired == TaskState::Running && t.state == TaskState::Running)
        .filter(|t| {
            condition != Condition::Healthy
                || !matches!(
                    t.health,
                    Some(HealthState::Starting | HealthState::Unhealthy)
                )
        })
        .count();
    if running >= want {
        return Readiness::Ready;
    }
    if let Some(f) = failed() {
        return f;
    }
    // A task that should run but completed: its process exited 0 (a non-zero exit is `failed`).
    if let Some(t) = tasks.iter().find(|t| t.state == TaskState::Complete) {
        return Readiness::Failed {
            task: t.container_name(),
            reason: format!(
                "task {} exited with code {} but should keep running",
                t.short_name(),
                t.exit_code.unwrap_or(0)
            ),
        };
    }
    let what = if condition == Condition::Healthy {
        "running and healthy"
    } else {
        "running"
    };
    let mut text = format!("{running} of {want} tasks {what}");
    // The swarm says why a task is not placed ("no suitable node (…)") in its error.
    let pending = tasks
        .iter()
        .filter(|t| t.desired == TaskState::Running && t.state != TaskState::Running)
        .map(|t| match t.error.as_deref().filter(|e| !e.is_empty()) {
            Some(e) => format!("{} {}: {e}", t.short_name(), t.state),
            None => format!("{} {}", t.short_name(), t.state),
        })
        .collect::<Vec<_>>();
    if !pending.is_empty() {
        text.push_str(&format!(" ({})", pending.join("; ")));
    }
    Readiness::Waiting(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(slot: i64, desired: TaskState, state: TaskState) -> TaskInfo {
        TaskInfo {
            service: "shop_db".into(),
            id: format!("t{slot}"),
            slot: Some(slot),
            node: "n1".into(),
            desired,
            state,
            message: String::new(),
            error: None,
            exit_code: None,
            health: None,
            ports: vec![],
            updated: String::new(),
        }
    }

    use TaskState::*;

    #[test]
    fn ready_when_every_replica_runs() {
        let tasks = vec![task(1, Running, Running), task(2, Running, Preparing)];
        assert_eq!(
            readiness(&tasks, 2, Condition::Started),
            Readiness::Waiting("1 of 2 tasks running (shop_db.2 preparing)".into())
        );
        let tasks = vec![task(1, Running, Running), task(2, Running, Running)];
        assert_eq!(readiness(&tasks, 2, Condition::Started), Readiness::Ready);
    }

    #[test]
    fn healthy_needs_a_healthy_container_where_it_can_be_seen() {
        let mut t = task(1, Running, Running);
        t.health = Some(HealthState::Starting);
        assert_eq!(
            readiness(std::slice::from_ref(&t), 1, Condition::Healthy),
            Readiness::Waiting("0 of 1 tasks running and healthy".into())
        );
        assert_eq!(
            readiness(std::slice::from_ref(&t), 1, Condition::Started),
            Readiness::Ready
        );
        t.health = Some(HealthState::Healthy);
        assert_eq!(readiness(&[t], 1, Condition::Healthy), Readiness::Ready);
    }

    #[test]
    fn a_failed_or_rejected_task_fails_at_once_with_the_swarm_s_reason() {
        let mut t = task(1, Shutdown, Rejected);
        t.error = Some("No such image: shop-web:latest".into());
        assert_eq!(
            readiness(&[task(2, Running, Running), t], 2, Condition::Started),
            Readiness::Failed {
                task: "shop_db.1.t1".into(),
                reason: "task shop_db.1 rejected: No such image: shop-web:latest".into()
            }
        );
    }

    #[test]
    fn a_service_that_should_run_but_exited_fails() {
        let mut t = task(1, Running, Complete);
        t.exit_code = Some(0);
        assert!(matches!(
            readiness(&[t], 1, Condition::Started),
            Readiness::Failed { reason, .. } if reason == "task shop_db.1 exited with code 0 but should keep running"
        ));
    }

    #[test]
    fn completed_successfully_waits_for_complete_tasks() {
        assert_eq!(
            readiness(
                &[task(1, Running, Running)],
                1,
                Condition::CompletedSuccessfully
            ),
            Readiness::Waiting("0 of 1 tasks completed".into())
        );
        let mut t = task(1, Shutdown, Complete);
        t.exit_code = Some(0);
        assert_eq!(
            readiness(&[t], 1, Condition::CompletedSuccessfully),
            Readiness::Ready
        );
    }

    #[test]
    fn a_rolling_update_must_finish_and_must_not_be_rolled_back() {
        assert_eq!(rollout_readiness(None, ""), None);
        assert_eq!(rollout_readiness(Some(Rollout::Completed), "done"), None);
        assert_eq!(
            rollout_readiness(Some(Rollout::Updating), "updating"),
            Some(Readiness::Waiting("the update is rolling out".into()))
        );
        assert_eq!(
            rollout_readiness(Some(Rollout::Paused), "update paused due to failure"),
            Some(Readiness::Failed {
                task: String::new(),
                reason: "the update was paused: update paused due to failure".into()
            })
        );
    }

    #[test]
    fn unplaceable_tasks_say_why() {
        let mut t = task(2, Running, Pending);
        t.error = Some("no suitable node (host-mode port already in use on 1 node)".into());
        assert_eq!(
            readiness(&[task(1, Running, Running), t], 2, Condition::Started),
            Readiness::Waiting(
                "1 of 2 tasks running (shop_db.2 pending: no suitable node (host-mode port already in use on 1 node))"
                    .into()
            )
        );
    }
}
