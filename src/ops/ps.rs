//! `ps`: one row per service — container, state, health, published ports — found
//! by label, so it also shows what a changed stack file no longer names; with
//! `all`, then one row per one-off container of `pier run`, as Compose's `ps -a`.

use std::collections::BTreeSet;

use crate::engine::Engine;
use crate::error::Result;
use crate::overview::{ServiceRow, one_off_rows, service_rows};

use super::health::pier_health_checks;

/// The rows of `project`: the services of its stack file (`file_services`, may be
/// empty) and of every container carrying its label; with `all`, its one-offs too.
pub async fn ps(
    engine: &Engine,
    project: &str,
    file_services: &[&str],
    all: bool,
) -> Result<Vec<ServiceRow>> {
    let observed = engine.observe(project, &[]).await?;
    let checked = pier_health_checks(engine, &observed, &BTreeSet::new()).await;
    let mut rows = service_rows(file_services.iter().copied(), &observed, &checked);
    if all {
        rows.extend(one_off_rows(file_services.iter().copied(), &observed));
    }
    Ok(rows)
}

/// The networks `project`'s containers are attached to that no longer exist
/// (removed by hand), each with the containers that lost it, by name. `pier up`
/// recreates them and the containers (`plan::networks`).
pub async fn missing_networks(
    engine: &Engine,
    project: &str,
) -> Result<Vec<(String, Vec<String>)>> {
    let (containers, existing) =
        tokio::try_join!(engine.list_containers(project), engine.all_networks())?;
    let mut missing: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for c in &containers {
        for (name, id) in c.networks.iter().flatten() {
            let exists = existing
                .iter()
                .any(|(n, i)| n == name && (id.is_empty() || i == id));
            if !exists {
                missing
                    .entry(name.clone())
                    .or_default()
                    .push(c.name.clone());
            }
        }
    }
    Ok(missing.into_iter().collect())
}
