//! `pier ps`: `ops::ps`'s rows as a table, or as JSON.

use std::io::Write;

use crate::cli::PsArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::ops;
use crate::ops::project::ProjectContext;
use crate::overview::ServiceRow;
use crate::report::table::table;

use super::{runtime, write_out};

pub fn run(ctx: &ProjectContext, args: &PsArgs, out: &mut dyn Write) -> Result<i32> {
    let (rows, missing) = runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let services = ctx.file_services();
        tokio::try_join!(
            ops::ps::ps(&engine, &ctx.name, &services, args.all),
            ops::ps::missing_networks(&engine, &ctx.name)
        )
    })?;
    let text = render(&rows, &missing, args);
    write_out(out, &text)?;
    Ok(0)
}

/// What `ps` prints: ids (`-q`), service names (`--services`), JSON or the table
/// (with the networks that went missing under it).
fn render(rows: &[ServiceRow], missing: &[(String, Vec<String>)], args: &PsArgs) -> String {
    if args.quiet {
        lines(rows.iter().filter_map(|r| r.id.as_deref()))
    } else if args.services {
        let mut names: Vec<&str> = Vec::new();
        for r in rows.iter().filter(|r| r.container.is_some()) {
            if !names.contains(&r.service.as_str()) {
                names.push(&r.service);
            }
        }
        lines(names.into_iter())
    } else if args.json {
        let json: Vec<_> = rows.iter().map(ServiceRow::to_json).collect();
        let mut text = serde_json::to_string_pretty(&json).expect("rows serialize");
        text.push('\n');
        text
    } else {
        let mut text = ps_table(rows);
        for (network, containers) in missing {
            text.push_str(&format!(
                "missing: network {network} (used by {}); `pier up` recreates it and the containers\n",
                containers.join(", ")
            ));
        }
        text
    }
}

fn lines<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.map(|i| format!("{i}\n")).collect()
}

pub fn ps_table(rows: &[ServiceRow]) -> String {
    let mut cells = vec![vec![
        "SERVICE".to_string(),
        "CONTAINER".into(),
        "STATE".into(),
        "HEALTH".into(),
        "PORTS".into(),
    ]];
    for r in rows {
        let mut service = r.service.clone();
        match (r.in_stack_file, r.one_off) {
            (true, false) => {}
            (false, false) => service.push_str(" (not in stack file)"),
            (true, true) => service.push_str(" (one-off)"),
            (false, true) => service.push_str(" (one-off, not in stack file)"),
        }
        cells.push(vec![
            service,
            r.container.clone().unwrap_or_else(|| "—".into()),
            r.state.text(),
            r.health.text().to_string(),
            r.ports_text(),
        ]);
    }
    table(&cells)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overview::{HealthView, StateView};
    use crate::plan::observed::{ContainerState, Health, PublishedPort};

    fn rows() -> Vec<ServiceRow> {
        vec![
            ServiceRow {
                service: "db".into(),
                container: Some("shop-db-1".into()),
                state: StateView::Container {
                    state: ContainerState::Running,
                    exit_code: Some(0),
                },
                health: HealthView::Engine(Health::Healthy),
                ports: vec![],
                in_stack_file: true,
                id: None,
                one_off: false,
            },
            ServiceRow {
                service: "web".into(),
                container: Some("shop-web-1".into()),
                state: StateView::Container {
                    state: ContainerState::Running,
                    exit_code: Some(0),
                },
                health: HealthView::CheckedByPier,
                ports: vec![PublishedPort {
                    target: "80/tcp".into(),
                    host_ip: "127.0.0.1".into(),
                    host_port: 8080,
                }],
                in_stack_file: true,
                id: None,
                one_off: false,
            },
            ServiceRow {
                service: "old".into(),
                container: Some("shop-old-1".into()),
                state: StateView::Container {
                    state: ContainerState::Exited,
                    exit_code: Some(137),
                },
                health: HealthView::None,
                ports: vec![],
                in_stack_file: false,
                id: None,
                one_off: false,
            },
            ServiceRow {
                service: "worker".into(),
                container: None,
                state: StateView::NotCreated,
                health: HealthView::None,
                ports: vec![],
                in_stack_file: true,
                id: None,
                one_off: false,
            },
            ServiceRow {
                service: "web".into(),
                container: Some("shop-web-run-0123456789ab".into()),
                state: StateView::Container {
                    state: ContainerState::Exited,
                    exit_code: Some(0),
                },
                health: HealthView::None,
                ports: vec![],
                in_stack_file: true,
                id: Some("abc".into()),
                one_off: true,
            },
        ]
    }

    #[test]
    fn table_text() {
        let rows = rows();
        assert_eq!(
            ps_table(&rows),
            "\
SERVICE                  CONTAINER                  STATE         HEALTH                     PORTS
db                       shop-db-1                  running       healthy                    —
web                      shop-web-1                 running       healthy (checked by pier)  127.0.0.1:8080->80/tcp
old (not in stack file)  shop-old-1                 exited (137)  —                          —
worker                   —                          not created   —                          —
web (one-off)            shop-web-run-0123456789ab  exited (0)    —                          —
"
        );
    }

    #[test]
    fn quiet_prints_ids_and_services_the_names_with_a_container() {
        let mut rows = rows();
        for (i, r) in rows.iter_mut().enumerate() {
            if r.container.is_some() && r.id.is_none() {
                r.id = Some(format!("id{i}"));
            }
        }
        let args = |quiet, services| PsArgs {
            json: false,
            all: true,
            quiet,
            services,
            target: crate::cli::Target::Local,
        };
        assert_eq!(
            render(&rows, &[], &args(true, false)),
            "id0\nid1\nid2\nabc\n"
        );
        // web once (its container and its one-off), worker not (no container).
        assert_eq!(render(&rows, &[], &args(false, true)), "db\nweb\nold\n");
    }
}
