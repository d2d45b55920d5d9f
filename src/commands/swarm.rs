//! `pier up|down|ps --target swarm`: glue only (plan::swarm → execute_swarm → text).

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde::Serialize;

use crate::cli::{DownArgs, Progress, PsArgs, UpArgs};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::execute_swarm::{self, Removed};
use crate::plan::swarm::{TaskInfo, TaskState, plan_swarm};
use crate::report::table::table;
use crate::stack::model::Stack;

use super::{runtime, write_out};

/// Deploy `stack` as swarm services. `dotenv`: the `.env` values, where secrets
/// declared with `environment:` are looked up after the shell's environment.
pub fn up(
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    args: &UpArgs,
    progress: Progress,
    out: &mut dyn Write,
) -> Result<()> {
    if args.build {
        return Err(Error::Usage {
            message: "`--build` does not work with `--target swarm`: swarm services cannot build images\n  hint: build them first (`pier up --build` locally, or `docker build -t <image> <context>`), then run `pier up --target swarm`".into(),
        });
    }
    let plan = plan_swarm(stack, &args.services).map_err(Error::Invalid)?;
    for w in &plan.warnings {
        eprintln!("{w}");
    }
    if args.dry_run {
        return write_out(out, &plan.to_string());
    }
    let values = crate::secrets::read_values(
        plan.secrets.iter().map(|s| (s.key.as_str(), &s.source)),
        dotenv,
    )?;
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        engine.require_swarm_manager().await?;
        execute_swarm::deploy(
            &engine,
            &plan,
            &values,
            Duration::from_secs(args.wait_timeout),
            crate::report::sink(progress),
        )
        .await?;
        let observed = engine.observe_swarm(&plan.project).await?;
        for orphan in observed
            .services
            .iter()
            .filter(|s| !stack.services.contains_key(&s.key))
        {
            if args.remove_orphans {
                engine.remove_service(&orphan.id).await?;
                eprintln!("removed orphan service {}", orphan.name);
            } else {
                eprintln!(
                    "note: service {} is not in the stack file; `pier up --target swarm --remove-orphans` or `pier down --target swarm` removes it",
                    orphan.name
                );
            }
        }
        let mut rows = vec![row(["SERVICE", "TASKS", "URLS"])];
        for svc in plan.services() {
            let tasks = engine.service_tasks(&svc.name).await?;
            let running: Vec<&TaskInfo> = tasks
                .iter()
                .filter(|t| t.desired == TaskState::Running && t.state == TaskState::Running)
                .collect();
            let mut urls: Vec<String> = running
                .iter()
                .flat_map(|t| t.ports.iter())
                .filter(|p| p.ends_with("/tcp"))
                .filter_map(|p| p.split_once("->"))
                .filter_map(|(host, _)| host.rsplit_once(':'))
                .map(|(_, port)| format!("http://127.0.0.1:{port}"))
                .collect();
            urls.sort();
            urls.dedup();
            rows.push(vec![
                svc.key.clone(),
                format!("{}/{} {}", running.len(), svc.replicas, done_word(svc)),
                if urls.is_empty() {
                    "-".into()
                } else {
                    urls.join(" ")
                },
            ]);
        }
        write_out(out, &table(&rows))
    })
}

fn done_word(svc: &crate::plan::swarm::SwarmService) -> &'static str {
    match svc.ready {
        crate::stack::model::Condition::CompletedSuccessfully => "running (completed)",
        _ => "running",
    }
}

pub fn down(project: &str, args: &DownArgs, progress: Progress, out: &mut dyn Write) -> Result<()> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        engine.require_swarm_manager().await?;
        let removed = execute_swarm::teardown(
            &engine,
            project,
            args.volumes,
            crate::report::sink(progress),
        )
        .await?;
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

/// One service and its tasks, for `ps --json`.
#[derive(Debug, Serialize)]
struct ServiceTasks {
    service: String,
    name: String,
    replicas: Option<u64>,
    tasks: Vec<TaskInfo>,
}

pub fn ps(project: &str, args: &PsArgs, out: &mut dyn Write) -> Result<()> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        engine.require_swarm_manager().await?;
        let observed = engine.observe_swarm(project).await?;
        let mut services = Vec::new();
        for s in &observed.services {
            services.push(ServiceTasks {
                service: s.key.clone(),
                name: s.name.clone(),
                replicas: s.replicas,
                tasks: engine.service_tasks(&s.name).await?,
            });
        }
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
