//! `pier restart [-t SECS] [--no-deps] [SERVICE...]`: `ops::lifecycle::restart`;
//! progress goes to the reporter.

use std::time::Duration;

use crate::cli::RestartArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::event::EventSink;
use crate::ops;
use crate::stack::model::Stack;

use super::runtime;

pub fn run(stack: &Stack, args: &RestartArgs, sink: &EventSink) -> Result<i32> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let opts = ops::lifecycle::Options {
            services: args.services.clone(),
            timeout_secs: args.timeout,
            no_deps: args.no_deps,
            wait_timeout: Duration::from_secs(args.wait_timeout),
            interrupt: ops::interrupt::on_ctrl_c(sink.clone()),
        };
        ops::lifecycle::restart(&engine, stack, &opts, sink).await?;
        Ok(0)
    })
}
