//! `down`: stop and remove what `up` created, found by label (not by the file), so
//! a down after a failed up or an edited stack file still cleans up everything.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::EventSink;
use crate::plan::{Action, DownOptions, Plan, plan_down};
use crate::target::local::ExecuteOptions;

use super::guard;
use super::identity::{self, Identity};
use super::snapshot::{self, SnapshotReport};

pub struct Options {
    pub plan: DownOptions,
    /// Cancelled on Ctrl-C (`ops::interrupt::on_ctrl_c`).
    pub interrupt: CancellationToken,
    /// The stack file's project here, if one was loaded: resources made from
    /// another directory are refused (`ops::identity`) unless `adopt`.
    pub identity: Option<Identity>,
    pub adopt: bool,
    /// With `plan.volumes`: snapshot the volumes first (DESIGN §7). None: `--no-snapshot`.
    pub snapshot: Option<AutoSnapshot>,
}

/// Where `down -v` keeps its snapshot, and how many of its own it keeps.
pub struct AutoSnapshot {
    pub project_dir: std::path::PathBuf,
    pub keep: usize,
}

/// What `down` did: the plan it carried out (empty: nothing to remove).
#[derive(Debug)]
pub struct DownReport {
    pub plan: Plan,
    /// The snapshot `down -v` took before deleting volumes.
    pub snapshot: Option<SnapshotReport>,
    /// Older automatic snapshots removed to keep the last few.
    pub pruned: Vec<String>,
}

impl DownReport {
    pub fn project(&self) -> &str {
        &self.plan.project
    }

    pub fn removed_containers(&self) -> usize {
        self.count(|a| matches!(a, Action::RemoveContainer { .. }))
    }

    pub fn removed_networks(&self) -> usize {
        self.count(|a| matches!(a, Action::RemoveNetwork { .. }))
    }

    pub fn removed_volumes(&self) -> Vec<&str> {
        self.plan
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::RemoveVolume { name } => Some(name.as_str()),
                _ => None,
            })
            .collect()
    }

    /// What was kept and why (named volumes without `-v`, …).
    pub fn notes(&self) -> &[String] {
        &self.plan.notes
    }

    fn count(&self, f: impl Fn(&Action) -> bool) -> usize {
        self.plan.steps.iter().filter(|s| f(&s.action)).count()
    }
}

/// Remove the containers and networks of `project` (and its volumes with
/// `opts.plan.volumes`), under the project's lock; progress to `sink`.
pub async fn down(
    engine: &Engine,
    project: &str,
    opts: &Options,
    sink: &EventSink,
) -> Result<DownReport> {
    let _lock = guard::lock(engine, project, "down", &opts.interrupt, sink).await?;
    // Whose resources these are, before anything (the snapshot too) touches them.
    let mut observed = engine.observe(project, &[]).await?;
    identity::check(project, opts.identity.as_ref(), &observed, opts.adopt)?;
    let (snapshot, pruned) = match (&opts.snapshot, opts.plan.volumes) {
        (Some(auto), true) => snapshot_first(engine, project, auto, &opts.interrupt, sink).await?,
        _ => (None, vec![]),
    };
    if snapshot.is_some() {
        // The snapshot stopped and started containers: look again.
        observed = engine.observe(project, &[]).await?;
    }
    let plan = plan_down(project, &observed, &opts.plan);
    if !plan.is_empty() {
        let exec = ExecuteOptions {
            wait_timeout: Duration::from_secs(60),
            interrupt: opts.interrupt.clone(),
            ..ExecuteOptions::default()
        };
        guard::run(engine, &plan, &exec, sink, "down").await?;
    }
    if opts.plan.volumes {
        // Anonymous volumes a recreate carried over are mounted by name, and the
        // engine keeps those when their container goes: `-v` removes them too.
        for m in observed
            .volume_mounts
            .values()
            .flatten()
            .filter(|m| m.is_anonymous())
        {
            let _ = engine.remove_volume(&m.volume).await;
        }
    }
    // Names and HTTPS: the project's names now say it is not running.
    super::router::on_down(engine, project, &opts.interrupt, sink).await;
    Ok(DownReport {
        plan,
        snapshot,
        pruned,
    })
}

/// `down -v`'s snapshot of every volume of the project (none when it has none),
/// then the automatic snapshots beyond the last `keep` removed.
async fn snapshot_first(
    engine: &Engine,
    project: &str,
    auto: &AutoSnapshot,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<(Option<SnapshotReport>, Vec<String>)> {
    let target = snapshot::Target {
        project: project.to_string(),
        dir: auto.project_dir.clone(),
        stack: None,
    };
    let opts = snapshot::TakeOptions {
        name: None,
        services: vec![],
        automatic: true,
        restart: false,
        interrupt: interrupt.clone(),
    };
    let report = match snapshot::take_locked(engine, &target, &opts, sink).await {
        Err(Error::Invalid(_)) => return Ok((None, vec![])), // nothing to snapshot
        other => other?,
    };
    let pruned = snapshot::prune(&target.store(), auto.keep.max(1), true)?;
    Ok((Some(report), pruned))
}
