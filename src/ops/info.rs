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
    let (mut dotenv, secrets) = match &ctx.loaded {
        Some(loaded) => (loaded.dotenv.clone(), Secrets::of_loaded(loaded)),
        None => Default::default(),
    };
    // Only what the stack uses: a template's `.env` holds every parameter (lamp's
    // EDITOR_PORT with the editor off), a stack file only some.
    if let Some(loaded) = &ctx.loaded {
        let texts: Vec<String> = loaded
            .files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect();
        let text = texts.join("\n");
        // A service reading `.env` whole (`env_file: .env`) uses every variable.
        if !text.contains("env_file") {
            dotenv.retain(|name, _| crate::stack::interpolate::mentions(&text, name));
        }
    }
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
