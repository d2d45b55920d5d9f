//! `pier db export|import`: `ops::db`, then what was moved.

use std::io::Write;

use crate::cli::{DbAction, DbArgs};
use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::EventSink;
use crate::ops::db::{self, Source};
use crate::ops::project::ProjectContext;

use super::runtime;

pub fn run(
    ctx: &ProjectContext,
    args: DbArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    let Some(loaded) = &ctx.loaded else {
        return Err(Error::invalid(
            Diagnostic::error(
                "",
                "`pier db` needs the stack file (to find the database service)",
            )
            .with_hint("run it in the project's directory, or pass -f FILE"),
        ));
    };
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        match args.action {
            DbAction::Export { service, output } => {
                let database = db::find(&loaded.stack, service.as_deref())?;
                // Without -o the dump streams to `out` as it comes.
                let report =
                    db::export(&engine, ctx, database, output.as_deref(), out, sink).await?;
                out.flush().map_err(|e| Error::io("<stdout>", e))?;
                if let Some(path) = report.path {
                    super::write_out(
                        out,
                        &format!(
                            "wrote {} ({} of SQL)\n",
                            path.display(),
                            super::snapshot::size(report.bytes)
                        ),
                    )?;
                }
            }
            DbAction::Import {
                file,
                service,
                drop,
                force,
            } => {
                let database = db::find(&loaded.stack, service.as_deref())?;
                let source = match file.as_os_str() == "-" {
                    true => Source::Stdin,
                    false => Source::File(file.clone()),
                };
                let report = db::import(&engine, ctx, database, source, drop, force, sink).await?;
                super::write_out(
                    out,
                    &format!(
                        "loaded {} of SQL into service {}{}\n",
                        super::snapshot::size(report.bytes),
                        report.database.service,
                        if report.dropped {
                            " (emptied first)"
                        } else {
                            ""
                        }
                    ),
                )?;
            }
        }
        Ok(0)
    })
}
