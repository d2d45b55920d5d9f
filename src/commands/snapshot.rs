//! `pier snapshot`: take, list, restore, remove and prune snapshots
//! (`ops::snapshot`), and render what was done.

use std::io::Write;

use crate::cli::{GlobalArgs, SnapshotAction, SnapshotArgs};
use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::ops;
use crate::ops::snapshot::{Manifest, Store, Target, VolumeEntry};

use super::{load_options, project_context, runtime, write_out};

pub fn run(
    global: &GlobalArgs,
    args: SnapshotArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    let ctx = project_context(global, sink)?;
    let stack = ctx.loaded.as_ref().map(|l| &l.stack);
    let target = Target {
        project: ctx.name.clone(),
        dir: stack
            .map(|s| s.project_dir.clone())
            .unwrap_or(load_options(global)?.cwd),
        stack,
    };
    let store = target.store();
    match args.action {
        Some(SnapshotAction::List { json }) => {
            let all = store.list();
            let text = match json {
                true => format!(
                    "{}\n",
                    serde_json::to_string_pretty(&all).expect("manifests serialize")
                ),
                false => list_text(&store, &all),
            };
            write_out(out, &text)?;
        }
        Some(SnapshotAction::Rm { name }) => {
            store.remove(&name)?;
            write_out(out, &format!("removed snapshot {name}\n"))?;
        }
        Some(SnapshotAction::Prune { keep }) => {
            let removed = ops::snapshot::prune(&store, keep, false)?;
            let text: String = removed
                .iter()
                .map(|n| format!("removed snapshot {n}\n"))
                .collect();
            write_out(
                out,
                if text.is_empty() {
                    "nothing to prune\n"
                } else {
                    &text
                },
            )?;
        }
        Some(SnapshotAction::Restore { name }) => runtime()?.block_on(async {
            let engine = Engine::connect().await?;
            let interrupt = ops::interrupt::on_ctrl_c(sink.clone());
            let report = ops::snapshot::restore(&engine, &target, &name, &interrupt, sink).await?;
            write_out(out, &restored_text(&report))
        })?,
        None => runtime()?.block_on(async {
            let engine = Engine::connect().await?;
            let opts = ops::snapshot::TakeOptions {
                name: args.name.clone(),
                services: args.services.clone(),
                automatic: false,
                restart: true,
                interrupt: ops::interrupt::on_ctrl_c(sink.clone()),
            };
            let report = ops::snapshot::take(&engine, &target, &opts, sink).await?;
            write_out(
                out,
                &taken_text(&report.manifest, &report.path, &report.paused),
            )
        })?,
    }
    Ok(0)
}

/// What a new snapshot holds, where it is and how to restore it.
/// What a restore says: each volume as `snapshot list` names it (a named one
/// restored under another name says which), and the services restarted.
fn restored_text(report: &ops::snapshot::RestoreReport) -> String {
    let m = &report.manifest;
    let mut text = format!("restored snapshot {} ({})\n", m.name, m.created);
    for (from, into) in &report.volumes {
        let entry = m.volumes.iter().find(|v| &v.volume == from);
        match entry {
            Some(v) if v.anonymous => text.push_str(&format!("  volume {}\n", volume_label(v))),
            _ if from == into => text.push_str(&format!("  volume {into}\n")),
            _ => text.push_str(&format!("  volume {into} (was {from})\n")),
        }
    }
    if !report.paused.is_empty() {
        text.push_str(&format!("  restarted: {}\n", report.paused.join(", ")));
    }
    text
}

pub fn taken_text(m: &Manifest, path: &std::path::Path, paused: &[String]) -> String {
    let mut text = format!(
        "snapshot {} of project {}: {} volume{}, {} ({} compressed) in {}\n",
        m.name,
        m.project,
        m.volumes.len(),
        if m.volumes.len() == 1 { "" } else { "s" },
        size(m.bytes()),
        size(m.compressed_bytes()),
        path.display()
    );
    if !paused.is_empty() {
        text.push_str(&format!(
            "  stopped for the copy and started again: {}\n",
            paused.join(", ")
        ));
    }
    text.push_str(&format!(
        "  restore it with: pier snapshot restore {}\n",
        m.name
    ));
    text
}

fn list_text(store: &Store, all: &[Manifest]) -> String {
    if all.is_empty() {
        return format!("no snapshots in {}\n", store.dir.display());
    }
    let mut text = format!(
        "{:<28} {:<22} {:>10} {:>10}  {}\n",
        "NAME", "CREATED", "SIZE", "STORED", "VOLUMES"
    );
    for m in all {
        let volumes: Vec<String> = m.volumes.iter().map(volume_label).collect();
        text.push_str(&format!(
            "{:<28} {:<22} {:>10} {:>10}  {}\n",
            m.name,
            m.created,
            size(m.bytes()),
            size(m.compressed_bytes()),
            volumes.join(", ")
        ));
    }
    text
}

/// How a listing names a snapshot's volume: a named one by its name; an
/// anonymous one by where its service mounts it (its engine name is a hash that
/// changes with every new container, and is in `--json`).
fn volume_label(v: &VolumeEntry) -> String {
    match (v.anonymous, &v.service, &v.target) {
        (true, Some(service), Some(target)) => format!("{service}:{target} (anonymous)"),
        _ => v.volume.clone(),
    }
}

/// Bytes in the largest binary unit that keeps a number ≥ 1.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} B"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_names_anonymous_volumes_by_service_and_path() {
        let entry = |volume: &str, anonymous: bool| VolumeEntry {
            file: "v0.tar.zst".into(),
            volume: volume.into(),
            anonymous,
            service: Some("app".into()),
            target: Some("/anon".into()),
            services: vec!["app".into()],
            images: vec![],
            bytes: 2048,
            compressed_bytes: 100,
            sha256: String::new(),
        };
        let hash = "f20ffd25319a9faef965f68309b2b38801748628c0988350d51d8da23f2ffe19";
        assert_eq!(volume_label(&entry("p_data", false)), "p_data");
        assert_eq!(volume_label(&entry(hash, true)), "app:/anon (anonymous)");

        let other = "0a0ffd25319a9faef965f68309b2b38801748628c0988350d51d8da23f2ffe19";
        let report = ops::snapshot::RestoreReport {
            manifest: Manifest {
                format: 1,
                name: "s".into(),
                project: "p".into(),
                created: "2026-12-02T06:24:39Z".into(),
                created_unix: 0,
                pier_version: String::new(),
                automatic: false,
                services: vec!["app".into()],
                volumes: vec![
                    entry(hash, true),
                    entry("p_data", false),
                    entry("old_data", false),
                ],
            },
            // The anonymous volume is another one since a recreate.
            volumes: vec![
                (hash.into(), other.into()),
                ("p_data".into(), "p_data".into()),
                ("old_data".into(), "new_data".into()),
            ],
            paused: vec!["app".into()],
        };
        assert_eq!(
            restored_text(&report),
            "restored snapshot s (2026-12-02T06:24:39Z)\n  volume app:/anon (anonymous)\n  volume p_data\n  volume new_data (was old_data)\n  restarted: app\n"
        );
    }
}
