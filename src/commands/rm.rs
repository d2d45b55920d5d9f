//! `pier rm [-f] [-s] [-v] [SERVICE...]`: `ops::rm`, after asking (unless `-f`) as
//! Compose does: the containers are named and one line of stdin answers.

use std::io::{BufRead, Write};

use crate::cli::RmArgs;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::{Event, EventSink};
use crate::ops;
use crate::ops::project::ProjectContext;

use super::{runtime, write_out};

pub fn run(
    ctx: &ProjectContext,
    args: &RmArgs,
    sink: &EventSink,
    out: &mut dyn Write,
) -> Result<i32> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let opts = ops::rm::Options {
            services: args.services.clone(),
            stop: args.stop,
            timeout_secs: None,
        };
        let plan = ops::rm::plan(&engine, ctx, &opts).await?;
        let removed = ops::rm::removed(&plan);
        if removed.is_empty() {
            for note in &plan.notes {
                sink(Event::Note { text: note.clone() });
            }
            write_out(out, "no stopped containers\n")?;
            return Ok(0);
        }
        if !args.force && !confirm(&removed)? {
            write_out(out, "nothing removed\n")?;
            return Ok(0);
        }
        let interrupt = ops::interrupt::on_ctrl_c(sink.clone());
        ops::rm::rm(&engine, &plan, &interrupt, sink).await?;
        let text: String = removed.iter().map(|c| format!("removed {c}\n")).collect();
        write_out(out, &text)?;
        Ok(0)
    })
}

/// Name the containers on stderr and read one answer from stdin: yes removes.
fn confirm(containers: &[&str]) -> Result<bool> {
    let mut stderr = std::io::stderr();
    let question = format!(
        "Going to remove {}\n? Are you sure? [y/N] ",
        containers.join(", ")
    );
    stderr
        .write_all(question.as_bytes())
        .and_then(|()| stderr.flush())
        .map_err(|e| Error::io("<stderr>", e))?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("<stdin>", e))?;
    Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
}
