//! `ps`: one row per service — container, state, health, published ports — found
//! by label, so it also shows what a changed stack file no longer names.

use std::collections::BTreeSet;

use crate::engine::Engine;
use crate::error::Result;
use crate::overview::{ServiceRow, service_rows};

use super::health::pier_health_checks;

/// The rows of `project`: the services of its stack file (`file_services`, may be
/// empty) and of every container carrying its label.
pub async fn ps(engine: &Engine, project: &str, file_services: &[&str]) -> Result<Vec<ServiceRow>> {
    let observed = engine.observe(project, &[]).await?;
    let checked = pier_health_checks(engine, &observed, &BTreeSet::new()).await;
    Ok(service_rows(
        file_services.iter().copied(),
        &observed,
        &checked,
    ))
}
