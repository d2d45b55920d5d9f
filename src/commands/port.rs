//! `pier port SERVICE PRIVATE_PORT`: `ops::port`, printed as `HOST_IP:PORT`.

use std::io::Write;

use crate::cli::{self, PortArgs};
use crate::engine::Engine;
use crate::error::Result;
use crate::ops;
use crate::ops::project::ProjectContext;
use crate::plan::spec::PortProtocol;

use super::{runtime, write_out};

pub fn run(ctx: &ProjectContext, args: &PortArgs, out: &mut dyn Write) -> Result<i32> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let opts = ops::port::Options {
            service: args.service.clone(),
            private_port: args.private_port,
            protocol: match args.protocol {
                cli::PortProtocol::Tcp => PortProtocol::Tcp,
                cli::PortProtocol::Udp => PortProtocol::Udp,
            },
            index: args.index,
        };
        let p = ops::port::port(&engine, ctx, &opts).await?;
        write_out(out, &format!("{}:{}\n", p.host_ip, p.host_port))?;
        Ok(0)
    })
}
