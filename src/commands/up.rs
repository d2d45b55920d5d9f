//! `pier up`: `ops::up`, then the plan (dry run) or the table of services and URLs.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use crate::cli::{PullPolicy as CliPull, UpArgs};
use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::ops;
use crate::ops::identity::Identity;
use crate::ops::router::Names;
use crate::overview::{ServiceRow, urls};
use crate::plan::{PullPolicy, UpOptions};
use crate::report::table::table;
use crate::stack::model::Stack;

use super::{runtime, write_out};

pub fn options(args: &UpArgs) -> UpOptions {
    UpOptions {
        services: args.services.clone(),
        pull: match args.pull {
            CliPull::Missing => PullPolicy::Missing,
            CliPull::Always => PullPolicy::Always,
            CliPull::Never => PullPolicy::Never,
        },
        build: args.build,
        remove_orphans: args.remove_orphans,
    }
}

/// Bring `stack` up as `args` asks (the local target; the swarm's is
/// `commands::swarm`); the plan (dry run) or the service table goes to `out`.
/// `dotenv`: the `.env` values, where secrets declared with `environment:` are
/// looked up after the shell's environment.
pub fn up(
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    args: &UpArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<()> {
    let router = crate::router::Settings::from_env()?;
    up_with_router(stack, dotenv, args, Some(router), sink, out)
}

/// `up` with the router's settings given (None: no router), not read from the
/// environment: the library's callers (tests) decide.
pub fn up_with_router(
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    args: &UpArgs,
    router: Option<crate::router::Settings>,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<()> {
    let identity = Identity {
        working_dir: stack.project_dir.clone(),
        config_files: vec![],
    };
    up_as(
        stack,
        dotenv,
        args,
        (Some(identity), false),
        router,
        sink,
        out,
    )
}

/// `up`, for the project `identity` names (where it was loaded from, and
/// whether `--adopt` lets it act on resources made from another directory),
/// with the router's settings (None: no router).
pub fn up_as(
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    args: &UpArgs,
    (identity, adopt): (Option<Identity>, bool),
    router: Option<crate::router::Settings>,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<()> {
    let plan_opts = options(args);
    // Unknown service names are invalid input, also without an engine.
    ops::up::check(stack, &plan_opts)?;
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let opts = ops::up::Options {
            plan: plan_opts,
            dry_run: args.dry_run,
            wait_timeout: Duration::from_secs(args.wait_timeout),
            interrupt: ops::interrupt::on_ctrl_c(sink.clone()),
            router,
            identity,
            adopt,
        };
        let report = ops::up::up(&engine, stack, dotenv, &opts, sink).await?;
        let text = match (args.dry_run, args.json) {
            (true, true) => super::masked_json(report.plan.json()),
            (true, false) => report.plan.to_string(),
            (false, _) => {
                service_table(&report.rows, &report.names, &opts.plan.services)
                    + &names_footer(&report.names)
            }
        };
        write_out(out, &text)
    })
}

/// SERVICE, STATE, HEALTH and URLS of the services `up` was about, in name order.
/// Rows come from `overview::rows`, as `pier ps`'s do, so both say the same
/// thing about health (`healthy (checked by pier)` where the engine's own check has
/// not run yet) and about URLs (`overview::urls`), after the service's names
/// through the router (`names`), which come first.
pub fn service_table(rows: &[ServiceRow], names: &Names, only: &[String]) -> String {
    let mut cells = vec![vec![
        "SERVICE".to_string(),
        "STATE".into(),
        "HEALTH".into(),
        "URLS".into(),
    ]];
    for r in rows {
        // `up web` reports what it started (web and what web needs), not the rest.
        if !r.in_stack_file || (!only.is_empty() && r.container.is_none()) {
            continue;
        }
        let urls = service_urls(r, names);
        cells.push(vec![
            r.service.clone(),
            r.state.text(),
            r.health.text().to_string(),
            if urls.is_empty() {
                "—".into()
            } else {
                urls.join(" ")
            },
        ]);
    }
    table(&cells)
}

/// A service's URLs: its names through the router, then its published ports.
pub fn service_urls(row: &ServiceRow, names: &Names) -> Vec<String> {
    let mut all = names.of(&row.service).to_vec();
    all.extend(urls(&row.ports));
    all
}

/// Where the certificates come from, and a fallback port, when `up` gave names.
pub fn names_footer(names: &Names) -> String {
    let mut text = String::new();
    if names.urls.is_empty() {
        return text;
    }
    if let Some(root) = &names.root_cert {
        text.push_str(&format!(
            "\nHTTPS names use pier's local CA, root {} (`pier trust` makes this machine trust it)\n",
            root.display()
        ));
    }
    if let Some(note) = names.port_note() {
        text.push_str(&format!("note: {note}\n"));
    }
    text
}
