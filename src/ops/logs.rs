//! `logs`: which containers to read. The streaming and its interleaving are the
//! command's (`commands::logs`); what to stream and why nothing comes is decided here.

use crate::engine::Engine;
use crate::error::Result;
use crate::event::{Event, EventSink};

use super::project::{ProjectContext, check_services};

/// (service, container) of the `services` asked for (all the project knows of
/// when empty), sorted. An unknown name is invalid input; a service without a
/// container is a note when named explicitly, skipped quietly otherwise (as
/// `docker compose logs` does).
pub async fn sources(
    engine: &Engine,
    ctx: &ProjectContext,
    services: &[String],
    sink: &EventSink,
) -> Result<Vec<(String, String)>> {
    let observed = engine.observe(&ctx.name, &[]).await?;
    let known = ctx.known_services(&observed);
    check_services(services, &known)?;
    let selected: Vec<&str> = if services.is_empty() {
        known.clone()
    } else {
        services.iter().map(String::as_str).collect()
    };
    let mut sources: Vec<(String, String)> = Vec::new();
    for service in &selected {
        match observed.container_of(service) {
            Some(c) => sources.push((service.to_string(), c.name.clone())),
            None if !services.is_empty() => sink(Event::Note {
                text: format!("service `{service}` has no container (`pier up` creates it)"),
            }),
            None => {}
        }
    }
    if sources.is_empty() && services.is_empty() {
        sink(Event::Note {
            text: format!(
                "project {} has no containers (`pier up` creates them)",
                ctx.name
            ),
        });
    }
    sources.sort();
    sources.dedup();
    Ok(sources)
}
