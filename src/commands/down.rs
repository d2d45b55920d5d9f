//! `pier down`: stop and remove what `up` created, found by label (not by the file),
//! so a down after a failed up or an edited stack file still cleans up everything.

use std::io::Write;
use std::time::Duration;

use crate::cli::{DownArgs, Progress, Target};
use crate::engine::Engine;
use crate::error::Result;
use crate::execute::ExecuteOptions;
use crate::plan::{Action, DownOptions, plan_down};

use super::{guard, interrupt, runtime, write_out};

pub fn down(project: &str, args: &DownArgs, progress: Progress, out: &mut dyn Write) -> Result<()> {
    if args.target == Target::Swarm {
        return super::swarm::down(project, args, progress, out);
    }
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let interrupt = interrupt::on_ctrl_c();
        let _lock = guard::lock(project, "down", &interrupt).await?;
        let observed = engine.observe(project, &[]).await?;
        let plan = plan_down(
            project,
            &observed,
            &DownOptions {
                volumes: args.volumes,
                timeout_secs: args.timeout,
            },
        );
        if plan.is_empty() {
            let mut text = format!("nothing to remove for project {project}\n");
            for note in &plan.notes {
                text.push_str(&format!("note: {note}\n"));
            }
            return write_out(out, &text);
        }
        let opts = ExecuteOptions {
            wait_timeout: Duration::from_secs(60),
            interrupt,
            ..ExecuteOptions::default()
        };
        guard::run(&engine, &plan, &opts, progress, "down").await?;
        let mut text = String::new();
        let containers = plan
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::RemoveContainer { .. }))
            .count();
        let networks = plan
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::RemoveNetwork { .. }))
            .count();
        text.push_str(&format!(
            "removed {containers} container{} and {networks} network{} of project {project}\n",
            plural(containers),
            plural(networks)
        ));
        for s in &plan.steps {
            if let Action::RemoveVolume { name } = &s.action {
                text.push_str(&format!("removed volume {name}\n"));
            }
        }
        for note in &plan.notes {
            text.push_str(&format!("note: {note}\n"));
        }
        write_out(out, &text)
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
