//! `pier init STACK [DIR] [--set K=V]… [--force]`: render a stack template into a directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::InitArgs;
use crate::error::{Error, Result};
use crate::template::params::{Origin, Values};
use crate::template::write::{Action, FileKind};
use crate::template::{self, Catalog, SearchPath};

pub fn run(args: InitArgs, out: &mut dyn Write) -> Result<i32> {
    let catalog = Catalog::discover(&SearchPath::from_env());
    let entry = catalog.find(&args.stack)?;
    let template = entry.load()?;
    let target = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let done = template::init(&template, &args.set, &target, args.force)?;

    let io = |e: std::io::Error| Error::io("<stdout>", e);
    writeln!(
        out,
        "Rendered stack \"{}\" into {}",
        template.manifest.name,
        target.display()
    )
    .map_err(io)?;
    let secrets = secrets_note(&done.values);
    let width = done
        .written
        .iter()
        .map(|w| w.path.to_string().len())
        .max()
        .unwrap_or(0);
    for w in &done.written {
        let mut notes = Vec::new();
        match w.action {
            Action::Created => {}
            Action::Overwrote => notes.push("overwritten".to_string()),
            Action::Updated => notes.push("updated".to_string()),
            Action::Unchanged => notes.push("unchanged".to_string()),
        }
        if w.kind == FileKind::Secret {
            notes.push(format!("{secrets}mode 0600, keep it private"));
        }
        let path = w.path.to_string();
        if notes.is_empty() {
            writeln!(out, "  {path}").map_err(io)?;
        } else {
            writeln!(out, "  {path:<width$}  ({})", notes.join("; ")).map_err(io)?;
        }
    }
    if !done.ports.is_empty() {
        writeln!(out, "\nHost ports (in .env):").map_err(io)?;
        for p in &done.ports {
            let note = match (&p.skipped, p.origin) {
                (Some(why), _) => format!("  ({} is {why})", p.default),
                (None, Origin::Set) => "  (set)".to_string(),
                (None, Origin::Kept) => "  (kept from the existing .env)".to_string(),
                _ => String::new(),
            };
            writeln!(out, "  {}={}{note}", p.variable, p.port).map_err(io)?;
        }
    }
    writeln!(out, "\nNext: {}pier up", cd_prefix(&target)).map_err(io)?;
    Ok(0)
}

/// How the secrets in `.env` came about, e.g. "2 secrets generated, 1 kept; ".
fn secrets_note(values: &Values) -> String {
    let count = |origin: Origin| {
        values
            .0
            .iter()
            .filter(|r| r.is_secret() && r.origin == origin)
            .count()
    };
    let parts: Vec<String> = [
        (count(Origin::Generated), "generated"),
        (count(Origin::Kept), "kept from the existing .env"),
        (count(Origin::Set), "set"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, how)| format!("{n} {} {how}", if *n == 1 { "secret" } else { "secrets" }))
    .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{}; ", parts.join(", "))
    }
}

/// `cd DIR && ` unless DIR is the current directory; quoted for the shell when needed.
fn cd_prefix(target: &Path) -> String {
    if target == Path::new(".") || target.as_os_str().is_empty() {
        return String::new();
    }
    let text = target.display().to_string();
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./~".contains(c));
    if plain {
        format!("cd {text} && ")
    } else {
        format!("cd '{}' && ", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_step_is_shell_safe() {
        assert_eq!(cd_prefix(Path::new(".")), "");
        assert_eq!(cd_prefix(Path::new("shop")), "cd shop && ");
        assert_eq!(cd_prefix(Path::new("my shop's")), r"cd 'my shop'\''s' && ");
    }
}
