//! `pier stop [-t SECS] [SERVICE...]`: `ops::lifecycle::stop`; progress goes to the
//! reporter.

use std::time::Duration;

use crate::cli::StopArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::ops;
use crate::ops::project::ProjectContext;

use super::runtime;

pub fn run(ctx: &ProjectContext, args: &StopArgs, sink: &EventSink) -> Result<i32> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let opts = ops::lifecycle::Options {
            services: args.services.clone(),
            timeout_secs: args.timeout,
            no_deps: false,
            wait_timeout: Duration::from_secs(60),
            interrupt: ops::interrupt::on_ctrl_c(sink.clone()),
        };
        ops::lifecycle::stop(&engine, ctx, &opts, sink).await?;
        Ok(0)
    })
}
