//! `down`: stop and remove what `up` created, found by label (not by the file), so
//! a down after a failed up or an edited stack file still cleans up everything.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::plan::{Action, DownOptions, Plan, plan_down};
use crate::target::local::ExecuteOptions;

use super::guard;
use super::identity::{self, Identity};

pub struct Options {
    pub plan: DownOptions,
    /// Cancelled on Ctrl-C (`ops::interrupt::on_ctrl_c`).
    pub interrupt: CancellationToken,
    /// The stack file's project here, if one was loaded: resources made from
    /// another directory are refused (`ops::identity`) unless `adopt`.
    pub identity: Option<Identity>,
    pub adopt: bool,
}

/// What `down` did: the plan it carried out (empty: nothing to remove).
#[derive(Debug)]
pub struct DownReport {
    pub plan: Plan,
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
    let observed = engine.observe(project, &[]).await?;
    identity::check(project, opts.identity.as_ref(), &observed, opts.adopt)?;
    let plan = plan_down(project, &observed, &opts.plan);
    if !plan.is_empty() {
        let exec = ExecuteOptions {
            wait_timeout: Duration::from_secs(60),
            interrupt: opts.interrupt.clone(),
            ..ExecuteOptions::default()
        };
        guard::run(engine, &plan, &exec, sink, "down").await?;
    }
    Ok(DownReport { plan })
}
