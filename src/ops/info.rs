//! `info`: where to reach each service (from the ports the engine actually bound,
//! see `overview::urls` for the rule) and the stack's settings from `.env`, secrets
//! masked unless asked (see `crate::secrets`). A stack rendered from a template
//! keeps no manifest at runtime, so `.env` and the ports are all there is to go
//! on — which is also true of a hand-written compose file.

use crate::engine::Engine;
use crate::error::Result;
use crate::overview::{ServiceRow, Setting, service_rows, settings};
use crate::secrets::Secrets;

use super::project::ProjectContext;

#[derive(Debug)]
pub struct InfoReport {
    pub project: String,
    pub rows: Vec<ServiceRow>,
    /// The `.env` settings, secret values masked unless `show_secrets`.
    pub settings: Vec<Setting>,
    /// The services' names through the router (`ops::router`), when it serves them.
    pub names: super::router::Names,
}

/// `router`: the router's settings (None: its names are not looked up).
pub async fn info(
    engine: &Engine,
    ctx: &ProjectContext,
    show_secrets: bool,
    router: Option<&crate::router::Settings>,
) -> Result<InfoReport> {
    let observed = engine.observe(&ctx.name, &[]).await?;
    let rows = service_rows(ctx.file_services(), &observed, &Default::default());
    let (dotenv, secrets) = match &ctx.loaded {
        Some(loaded) => (loaded.dotenv.clone(), Secrets::of_loaded(loaded)),
        None => Default::default(),
    };
    let names = match router {
        Some(router) => super::router::names_of(engine, &ctx.name, router).await?,
        None => Default::default(),
    };
    Ok(InfoReport {
        project: ctx.name.clone(),
        rows,
        settings: settings(&dotenv, &secrets, show_secrets),
        names,
    })
}
