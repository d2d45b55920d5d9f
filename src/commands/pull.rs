//! `pier pull [SERVICE...]`: `ops::images::pull`, its progress through the reporter
//! (only warnings with `--quiet`).

use std::sync::Arc;

use crate::cli::PullArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::event::{Event, EventSink};
use crate::ops;
use crate::stack::model::Stack;

use super::runtime;

pub fn run(stack: &Stack, args: &PullArgs, sink: &EventSink) -> Result<i32> {
    let sink: EventSink = match args.quiet {
        true => {
            let inner = sink.clone();
            Arc::new(move |event| {
                if matches!(event, Event::Warning { .. }) {
                    inner(event)
                }
            })
        }
        false => sink.clone(),
    };
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let interrupt = ops::interrupt::on_ctrl_c(sink.clone());
        ops::images::pull(
            &engine,
            stack,
            &args.services,
            args.ignore_pull_failures,
            &interrupt,
            &sink,
        )
        .await?;
        Ok(0)
    })
}
