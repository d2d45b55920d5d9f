//! `pier ps`: one row per service — container, state, health, published ports —
//! found by label, so it also shows what a changed stack file no longer names.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use crate::cli::{GlobalArgs, PsArgs, Target};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::overview::rows::awaiting_engine_health;
use crate::overview::{ServiceRow, service_rows};
use crate::plan::observed::Observed;
use crate::report::table::table;

use super::project::ProjectContext;
use super::{runtime, write_out};

pub fn run(global: &GlobalArgs, args: &PsArgs, out: &mut dyn Write) -> Result<i32> {
    let ctx = ProjectContext::from_cli(global)?;
    if args.target == Target::Swarm {
        super::swarm::ps(&ctx.name, args, out)?;
        return Ok(0);
    }
    let rows = runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let observed = engine.observe(&ctx.name, &[]).await?;
        let checked = pier_health_checks(&engine, &observed, &BTreeSet::new()).await;
        Ok::<_, Error>(service_rows(ctx.file_services(), &observed, &checked))
    })?;
    let text = if args.json {
        let json: Vec<_> = rows.iter().map(ServiceRow::to_json).collect();
        let mut text = serde_json::to_string_pretty(&json).expect("rows serialize");
        text.push('\n');
        text
    } else {
        ps_table(&rows)
    };
    write_out(out, &text)?;
    Ok(0)
}

/// Run, once and all at once, the health test of every running service the engine
/// still calls "starting" (see `overview::rows` for why). Service → passed.
/// `known_healthy`: services whose test pier has just seen pass (`execute::Outcome`),
/// taken as passed without running it again.
pub async fn pier_health_checks(
    engine: &Engine,
    observed: &Observed,
    known_healthy: &BTreeSet<String>,
) -> BTreeMap<String, bool> {
    let checks =
        awaiting_engine_health(observed)
            .into_iter()
            .map(|(service, container)| async move {
                let passed = known_healthy.contains(&service)
                    || matches!(
                        engine.probe_configured_health(&container).await,
                        Ok(Some(true))
                    );
                (service, passed)
            });
    futures_util::future::join_all(checks)
        .await
        .into_iter()
        .collect()
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
