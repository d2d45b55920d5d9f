//! `pier watch` and `pier up --watch`: bring the stack up (unless `--no-up`),
//! then `ops::watch` until Ctrl-C; what it did goes to `out` when it stops.

use std::io::Write;
use std::time::Duration;

use crate::cli::{GlobalArgs, WatchArgs};
use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::ops;
use crate::plan::UpOptions;
use crate::stack::Loaded;
use crate::stack::model::Stack;
use crate::watch::rules::Trigger;

use super::{load_stack_for, runtime, write_out};

pub fn run(
    global: &GlobalArgs,
    args: &WatchArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    let loaded = load_stack_for(global, &args.services, sink)?;
    let triggers = triggers(&loaded.stack, &args.services, sink)?;
    if !args.no_up {
        let plan = UpOptions {
            services: args.services.clone(),
            ..UpOptions::default()
        };
        ops::up::check(&loaded.stack, &plan)?;
        let router = crate::router::Settings::from_env()?;
        runtime()?.block_on(async {
            let engine = Engine::connect().await?;
            let opts = ops::up::Options {
                plan,
                dry_run: false,
                wait_timeout: Duration::from_secs(args.wait_timeout),
                interrupt: ops::interrupt::on_ctrl_c(sink.clone()),
                router: Some(router),
                identity: Some(ops::identity::Identity::of(&loaded)),
                adopt: global.adopt,
            };
            ops::up::up(&engine, &loaded.stack, &loaded.dotenv, &opts, sink).await
        })?;
    }
    watch(&loaded, triggers, args.wait_timeout, sink, out)?;
    Ok(0)
}

/// The rules to watch (warnings for those that cannot act); an error when none can.
pub fn triggers(stack: &Stack, services: &[String], sink: &EventSink) -> Result<Vec<Trigger>> {
    ops::watch::usable_triggers(stack, services, sink)
}

/// Watch until Ctrl-C, then say what was done.
pub fn watch(
    loaded: &Loaded,
    triggers: Vec<Trigger>,
    wait_timeout: u64,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<()> {
    let router = crate::router::Settings::from_env()?;
    let report = runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let opts = ops::watch::Options {
            wait_timeout: Duration::from_secs(wait_timeout),
            interrupt: ops::interrupt::on_ctrl_c(sink.clone()),
            router: Some(router),
        };
        ops::watch::watch(
            &engine,
            &loaded.stack,
            &loaded.dotenv,
            triggers,
            &opts,
            sink,
        )
        .await
    })?;
    write_out(
        out,
        &format!(
            "stopped watching; the stack is still running ({} action{}, {} failed)\n",
            report.actions,
            if report.actions == 1 { "" } else { "s" },
            report.failures
        ),
    )
}
