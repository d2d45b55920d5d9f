//! `pier ls`: `ops::ls`, as a table (NAME, STATUS, URL, DIRECTORY), JSON, or names.

use std::io::Write;

use crate::cli::LsArgs;
use crate::engine::Engine;
use crate::error::Result;
use crate::ops;
use crate::report::table::table;

use super::{runtime, write_out};

pub fn run(args: &LsArgs, out: &mut dyn Write) -> Result<i32> {
    runtime()?.block_on(async {
        let engine = Engine::connect().await?;
        let rows = ops::ls::ls(&engine, args.all).await?;
        let text = if args.json {
            format!(
                "{}\n",
                serde_json::to_string_pretty(&rows).expect("rows serialize")
            )
        } else if args.quiet {
            rows.iter().map(|r| format!("{}\n", r.name)).collect()
        } else {
            let mut cells = vec![vec![
                "NAME".to_string(),
                "STATUS".into(),
                "URL".into(),
                "DIRECTORY".into(),
            ]];
            for r in &rows {
                cells.push(vec![
                    r.name.clone(),
                    r.status.clone(),
                    // The project's own https name (the others: `pier info`).
                    r.urls.first().cloned().unwrap_or_else(|| "—".into()),
                    r.working_dir.clone().unwrap_or_else(|| "—".into()),
                ]);
            }
            table(&cells)
        };
        write_out(out, &text)?;
        Ok(0)
    })
}
