//! `pier down`: `ops::down`, then what it removed and kept.

use std::io::Write;

use crate::cli::DownArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::ops;
use crate::ops::down::DownReport;
use crate::ops::identity::Identity;
use crate::plan::DownOptions;

use super::{runtime, write_out};

/// Take `project` down as `args` asks (the local target; the swarm's is
/// `commands::swarm`); what was removed goes to `out`.
pub fn down(project: &str, args: &DownArgs, sink: &EventSink, out: &mut dyn Write) -> Result<()> {
    let cwd = std::env::current_dir().map_err(|e| crate::error::Error::io(".", e))?;
    down_in(project, &cwd, args, (None, false), sink, out)
}

/// `down` with the project's directory, where `down -v` keeps its snapshot, and
/// where the project was loaded from (`identity`; None: `-p NAME` without a
/// stack file); `adopt`: act on resources made from another directory all the same.
pub fn down_in(
    project: &str,
    dir: &std::path::Path,
    args: &DownArgs,
    (identity, adopt): (Option<Identity>, bool),
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<()> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let opts = ops::down::Options {
            plan: DownOptions {
                volumes: args.volumes,
                timeout_secs: args.timeout,
            },
            interrupt: ops::interrupt::on_ctrl_c(sink.clone()),
            identity,
            adopt,
            snapshot: (!args.no_snapshot).then(|| ops::down::AutoSnapshot {
                project_dir: dir.to_path_buf(),
                keep: args.keep_snapshots,
            }),
        };
        let report = ops::down::down(&engine, project, &opts, sink).await?;
        write_out(out, &down_text(&report))
    })
}

pub fn down_text(report: &DownReport) -> String {
    let project = report.project();
    let mut text = String::new();
    if let Some(s) = &report.snapshot {
        text.push_str(&super::snapshot::taken_text(&s.manifest, &s.path, &[]));
    }
    for name in &report.pruned {
        text.push_str(&format!("removed older automatic snapshot {name}\n"));
    }
    if report.plan.is_empty() {
        text.push_str(&format!("nothing to remove for project {project}\n"));
    } else {
        let containers = report.removed_containers();
        let networks = report.removed_networks();
        text.push_str(&format!(
            "removed {containers} container{} and {networks} network{} of project {project}\n",
            plural(containers),
            plural(networks)
        ));
        for name in report.removed_volumes() {
            text.push_str(&format!("removed volume {name}\n"));
        }
    }
    for note in report.notes() {
        text.push_str(&format!("note: {note}\n"));
    }
    text
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
