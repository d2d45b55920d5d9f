//! `pier up|down|ps --target swarm`: calls `ops::swarm` and renders its reports.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use crate::cli::{Command, DownArgs, GlobalArgs, PsArgs, UpArgs};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::{Event, EventSink};
use crate::ops::swarm::{self as ops, Removed, ServiceRow, ServiceTasks, UpOptions};
use crate::plan::swarm::TaskState;
use crate::report::table::table;
use crate::stack::model::Stack;

use super::{load_stack_for, project_context, project_name, runtime, write_out};

/// The verbs that run on a swarm (`--target swarm`); `commands::run` sends them
/// here, the one place the target is chosen.
pub fn run(
    global: &GlobalArgs,
    command: Command,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    match command {
        Command::Up(args) => {
            let loaded = load_stack_for(global, &args.services, sink)?;
            up(&loaded.stack, &loaded.dotenv, &args, sink, out)?;
        }
        Command::Down(args) => down(&project_name(global, sink)?, &args, sink, out)?,
        Command::Ps(args) => ps(&project_context(global, sink)?.name, &args, out)?,
        other => {
            return Err(Error::Internal {
                message: format!("`{other:?}` has no swarm target"),
            });
        }
    }
    Ok(0)
}

/// Deploy `stack` as swarm services. `dotenv`: the `.env` values, where secrets
/// declared with `environment:` are looked up after the shell's environment.
pub fn up(
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    args: &UpArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<()> {
    let opts = UpOptions {
        services: args.services.clone(),
        remove_orphans: args.remove_orphans,
        wait_timeout: Duration::from_secs(args.wait_timeout),
        build: args.build,
    };
    let desired = ops::desired(stack, &opts)?;
    for w in &desired.warnings {
        sink(Event::Warning {
            text: w.to_string(),
        });
    }
    let values = ops::read_secrets(&desired, dotenv)?;
    runtime()?.block_on(async {
        if args.dry_run {
            // Without an engine the plan is a first deploy (the plan's note says so).
            let engine = match Engine::connect().await {
                Ok(engine) => Some(engine),
                Err(Error::EngineUnreachable { .. }) => None,
                Err(e) => return Err(e),
            };
            let plan = ops::plan(engine.as_ref(), stack, &desired, &values, &opts).await?;
            if args.json {
                return write_out(out, &super::masked_json(plan.json()));
            }
            return write_out(out, &plan.to_string());
        }
        let engine = Engine::connect().await?;
        let report = ops::up(&engine, stack, &desired, &values, &opts, sink.clone()).await?;
        for note in &report.notes {
            sink(Event::Note { text: note.clone() });
        }
        write_out(out, &up_table(&report.services))
    })
}

fn up_table(services: &[ServiceRow]) -> String {
    let mut rows = vec![row(["SERVICE", "TASKS", "URLS"])];
    for s in services {
        rows.push(vec![
            s.service.clone(),
            format!("{}/{} {}", s.running, s.replicas, s.state),
            if s.urls.is_empty() {
                "-".into()
            } else {
                s.urls.join(" ")
            },
        ]);
    }
    table(&rows)
}

pub fn down(project: &str, args: &DownArgs, sink: &EventSink, out: &mut dyn Write) -> Result<()> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let removed = ops::down(&engine, project, args.volumes, sink.clone()).await?;
        write_out(out, &down_text(project, &removed))
    })
}

fn down_text(project: &str, removed: &Removed) -> String {
    if *removed == Removed::default() {
        return format!("nothing to remove for project {project} on the swarm\n");
    }
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut text = format!(
        "removed {}, {} and {} of project {project}\n",
        count(removed.services, "service"),
        count(removed.networks, "network"),
        count(removed.secrets, "secret"),
    );
    for v in &removed.volumes {
        text.push_str(&format!("removed volume {v}\n"));
    }
    text
}

pub fn ps(project: &str, args: &PsArgs, out: &mut dyn Write) -> Result<()> {
    if args.quiet || args.services {
        let flag = if args.quiet { "-q" } else { "--services" };
        return Err(crate::error::Error::invalid(
            crate::diagnostic::Diagnostic::error(
                "",
                format!("`ps {flag}` is for local containers, not the swarm target"),
            )
            .with_hint("`pier ps --target swarm` lists the services and their tasks"),
        ));
    }
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let services = ops::ps(&engine, project).await?;
        if args.json {
            let json = serde_json::to_string_pretty(&services).expect("tasks serialize");
            return write_out(out, &format!("{json}\n"));
        }
        if services.is_empty() {
            return write_out(out, &format!("no swarm services for project {project}\n"));
        }
        write_out(out, &ps_table(&services))
    })
}

fn ps_table(services: &[ServiceTasks]) -> String {
    let mut rows = vec![row([
        "SERVICE", "TASK", "NODE", "DESIRED", "STATE", "PORTS", "ERROR",
    ])];
    for s in services {
        for t in &s.tasks {
            let mut state = t.state.to_string();
            if let Some(h) = t.health {
                state.push_str(&format!(" ({})", h.as_str()));
            } else if let Some(code) = t
                .exit_code
                .filter(|_| matches!(t.state, TaskState::Complete | TaskState::Failed))
            {
                state.push_str(&format!(" ({code})"));
            }
            rows.push(vec![
                s.service.clone(),
                t.short_name(),
                t.node.clone(),
                t.desired.to_string(),
                state,
                if t.ports.is_empty() {
                    "-".into()
                } else {
                    t.ports.join(",")
                },
                t.error.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
    }
    table(&rows)
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::swarm::TaskInfo;

    fn task(slot: i64, state: TaskState, error: Option<&str>) -> TaskInfo {
        TaskInfo {
            service: "shop_db".into(),
            id: format!("abc{slot}"),
            slot: Some(slot),
            node: "vm".into(),
            desired: TaskState::Running,
            state,
            message: String::new(),
            error: error.map(String::from),
            exit_code: None,
            health: None,
            ports: vec![],
            updated: String::new(),
        }
    }

    #[test]
    fn ps_shows_each_task_with_its_state_and_error() {
        let mut healthy = task(1, TaskState::Running, None);
        healthy.health = Some(crate::plan::swarm::HealthState::Healthy);
        healthy.ports = vec!["0.0.0.0:5432->5432/tcp".into()];
        let services = vec![ServiceTasks {
            service: "db".into(),
            name: "shop_db".into(),
            replicas: Some(2),
            tasks: vec![
                healthy,
                task(2, TaskState::Pending, Some("no suitable node")),
            ],
        }];
        assert_eq!(
            ps_table(&services),
            "SERVICE  TASK       NODE  DESIRED  STATE              PORTS                   ERROR\n\
             db       shop_db.1  vm    running  running (healthy)  0.0.0.0:5432->5432/tcp  -\n\
             db       shop_db.2  vm    running  pending            -                       no suitable node\n"
        );
    }

    #[test]
    fn down_says_what_it_removed() {
        let removed = Removed {
            services: 3,
            networks: 1,
            secrets: 0,
            volumes: vec!["shop_db-data".into()],
        };
        assert_eq!(
            down_text("shop", &removed),
            "removed 3 services, 1 network and 0 secrets of project shop\nremoved volume shop_db-data\n"
        );
        assert_eq!(
            down_text("shop", &Removed::default()),
            "nothing to remove for project shop on the swarm\n"
        );
    }
}
