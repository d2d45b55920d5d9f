//! `pier build [SERVICE...]`: `ops::images::build`, its output through the reporter.

use crate::cli::BuildArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::ops;
use crate::stack::model::Stack;

use super::runtime;

pub fn run(stack: &Stack, args: &BuildArgs, sink: &EventSink) -> Result<i32> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let interrupt = ops::interrupt::on_ctrl_c(sink.clone());
        ops::images::build(
            &engine,
            stack,
            &args.services,
            args.no_cache,
            args.pull,
            &interrupt,
            sink,
        )
        .await?;
        Ok(0)
    })
}
