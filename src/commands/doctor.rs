//! `pier doctor [--json]`: `ops::doctor`'s checks, one line each with the fix
//! under it; exit 0 when none failed, 1 otherwise.

use std::io::Write;

use crate::cli::{DoctorArgs, GlobalArgs};
use crate::error::{Result, exit};
use crate::ops;
use crate::ops::doctor::{DoctorReport, Status};

use super::{load_options, runtime, write_out};

pub fn run(global: &GlobalArgs, args: &DoctorArgs, out: &mut dyn Write) -> Result<i32> {
    let load = load_options(global)?;
    let report = runtime()?.block_on(ops::doctor::doctor(&load));
    let text = if args.json {
        super::masked_json(&report)
    } else {
        doctor_text(&report)
    };
    write_out(out, &text)?;
    Ok(if report.ok { exit::OK } else { exit::RUNTIME })
}

fn doctor_text(report: &DoctorReport) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in &report.checks {
        let mut lines = c.detail.lines();
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            c.status.as_str(),
            c.name,
            lines.next().unwrap_or("")
        ));
        for more in lines {
            out.push_str(&format!("{:<4}  {:<width$}  {more}\n", "", ""));
        }
        if let Some(fix) = &c.fix
            && matches!(c.status, Status::Fail | Status::Warn)
        {
            for line in fix.lines() {
                out.push_str(&format!("{:<4}  {:<width$}  fix: {line}\n", "", ""));
            }
        }
    }
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    out.push_str(&match failed {
        0 => "\nready: no check failed\n".to_string(),
        n => format!(
            "\n{n} check{} failed: see `fix:` above\n",
            if n == 1 { "" } else { "s" }
        ),
    });
    out
}
