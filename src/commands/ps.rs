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
            ops::ps::ps(&engine, &ctx.name, &services),
            ops::ps::missing_networks(&engine, &ctx.name)
        )
    })?;
    let text = if args.json {
        let json: Vec<_> = rows.iter().map(ServiceRow::to_json).collect();
        let mut text = serde_json::to_string_pretty(&json).expect("rows serialize");
        text.push('\n');
        text
    } else {
        let mut text = ps_table(&rows);
        for (network, containers) in &missing {
            text.push_str(&format!(
                "missing: network {network} (used by {}); `pier up` recreates it and the containers\n",
                containers.join(", ")
            ));
        }
        text
    };
    write_out(out, &text)?;
    Ok(0)
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
        if !r.in_stack_file {
            service.push_str(" (not in stack file)");
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

    #[test]
    fn table_text() {
        let rows = vec![
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
            },
            ServiceRow {
                service: "worker".into(),
                container: None,
                state: StateView::NotCreated,
                health: HealthView::None,
                ports: vec![],
                in_stack_file: true,
            },
        ];
        assert_eq!(
            ps_table(&rows),
            "\
SERVICE                  CONTAINER   STATE         HEALTH                     PORTS
db                       shop-db-1   running       healthy                    —
web                      shop-web-1  running       healthy (checked by pier)  127.0.0.1:8080->80/tcp
old (not in stack file)  shop-old-1  exited (137)  —                          —
worker                   —           not created   —                          —
"
        );
    }
}
