//! `pier trust [--uninstall]`: `ops::trust` with the router's CA root.

use std::io::Write;

use crate::cli::TrustArgs;
use crate::error::Result;
use crate::ops::trust;
use crate::router::Settings;

use super::write_out;

pub fn run(args: &TrustArgs, out: &mut dyn Write) -> Result<i32> {
    let root = Settings::from_env()?.root_cert();
    let report = trust::trust(&root, args.uninstall)?;
    let mut text = match report.uninstall {
        false => format!(
            "this machine now trusts pier's local CA ({})\n",
            report.root.display()
        ),
        true => format!(
            "removed pier's local CA ({}) from the system's store\n",
            report.root.display()
        ),
    };
    for step in &report.steps {
        text.push_str(&format!("  ran: {}\n", step.shell()));
    }
    if !report.uninstall {
        text.push_str(&format!("\n{}\n", trust::firefox_note(&report.root)));
    }
    write_out(out, &text)?;
    Ok(0)
}
