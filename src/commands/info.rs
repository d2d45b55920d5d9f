//! `pier info`: `ops::info`'s URLs and `.env` settings, as text or JSON.

use std::io::Write;

use serde::Serialize;

use crate::cli::InfoArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::ops;
use crate::ops::project::ProjectContext;
use crate::ops::router::Names;
use crate::overview::{ServiceRow, Setting};
use crate::report::table::table;
use crate::secrets::MASK;

use super::up::{names_footer, service_urls};
use super::{runtime, write_out};

#[derive(Debug, Serialize)]
struct InfoJson<'a> {
    project: &'a str,
    services: Vec<ServiceJson<'a>>,
    settings: &'a [Setting],
    /// The router's port and CA root, when it gives the project names.
    #[serde(skip_serializing_if = "Option::is_none")]
    router: Option<&'a Names>,
}

#[derive(Debug, Serialize)]
struct ServiceJson<'a> {
    service: &'a str,
    state: String,
    urls: Vec<String>,
}

pub fn run(ctx: &ProjectContext, args: &InfoArgs, out: &mut dyn Write) -> Result<i32> {
    let router = crate::router::Settings::from_env()?;
    let report = runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        ops::info::info(&engine, ctx, args.show_secrets, Some(&router)).await
    })?;
    let text = if args.json {
        let json = InfoJson {
            project: &report.project,
            services: report
                .rows
                .iter()
                .map(|r| ServiceJson {
                    service: &r.service,
                    state: r.state.text(),
                    urls: service_urls(r, &report.names),
                })
                .collect(),
            settings: &report.settings,
            router: (!report.names.urls.is_empty()).then_some(&report.names),
        };
        let mut text = serde_json::to_string_pretty(&json).expect("info serializes");
        text.push('\n');
        text
    } else {
        info_text(
            &report.project,
            &report.rows,
            &report.names,
            &report.settings,
        )
    };
    write_out(out, &text)?;
    Ok(0)
}

/// The project's services with their URLs (names through the router first), what
/// the router's certificates come from, and the `.env` settings.
pub fn info_text(
    project: &str,
    rows: &[ServiceRow],
    names: &Names,
    settings: &[Setting],
) -> String {
    let mut text = format!("project {project}\n\n");
    let mut cells = vec![vec!["SERVICE".to_string(), "STATE".into(), "URLS".into()]];
    for r in rows {
        let urls = service_urls(r, names);
        cells.push(vec![
            r.service.clone(),
            r.state.text(),
            if urls.is_empty() {
                "—".into()
            } else {
                urls.join(" ")
            },
        ]);
    }
    text.push_str(&table(&cells));
    text.push_str(&names_footer(names));
    if settings.is_empty() {
        text.push_str("\nno .env settings\n");
        return text;
    }
    text.push_str("\nSETTINGS (.env)\n");
    let cells: Vec<Vec<String>> = settings
        .iter()
        .map(|s| vec![s.name.clone(), s.value.clone()])
        .collect();
    text.push_str(&table(&cells));
    if settings.iter().any(|s| s.masked) {
        text.push_str(&format!(
            "\n{MASK} masks secrets; `pier info --show-secrets` shows them\n"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overview::{HealthView, StateView, settings};
    use crate::plan::observed::{ContainerState, PublishedPort};
    use crate::secrets::Secrets;

    #[test]
    fn text_lists_urls_and_masked_settings() {
        let rows = vec![
            ServiceRow {
                service: "db".into(),
                container: Some("shop-db-1".into()),
                state: StateView::Container {
                    state: ContainerState::Running,
                    exit_code: Some(0),
                },
                health: HealthView::None,
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
                health: HealthView::None,
                ports: vec![PublishedPort {
                    target: "80/tcp".into(),
                    host_ip: "127.0.0.1".into(),
                    host_port: 8080,
                }],
                in_stack_file: true,
                id: None,
                one_off: false,
            },
        ];
        let env: std::collections::BTreeMap<String, String> =
            [("DB_PASSWORD", "hunter2"), ("DB_USER", "app")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let secrets = Secrets::from_variables(&env);
        assert_eq!(
            info_text(
                "shop",
                &rows,
                &Names::default(),
                &settings(&env, &secrets, false)
            ),
            "\
project shop

SERVICE  STATE    URLS
db       running  —
web      running  http://127.0.0.1:8080

SETTINGS (.env)
DB_PASSWORD  ********
DB_USER      app

******** masks secrets; `pier info --show-secrets` shows them
"
        );
        assert!(
            info_text(
                "shop",
                &rows,
                &Names::default(),
                &settings(&env, &secrets, true)
            )
            .contains("DB_PASSWORD  hunter2\n")
        );
    }
}
