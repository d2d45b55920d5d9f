//! The projects `pier init` wrote on this machine, and the host-port variables
//! of each: a small registry in pier's data directory
//! (`$XDG_DATA_HOME/pier/projects`, else `~/.local/share/pier/projects`), one
//! project a line: `DIR<TAB>VAR,VAR`.
//!
//! Why a registry and not the engine's containers: a project that was
//! initialised but never started claims its ports only in its `.env`; no
//! container shows them, and `init` must not need a running engine. Ports that
//! running containers hold are found anyway, by trying to bind them. The
//! registry keeps variable names only, and each project's `.env` is read when
//! asked, so a port changed by hand in `.env` counts as it is now.
//!
//! Best effort throughout: an unreadable registry or `.env` claims nothing, and
//! `init` does not fail because the registry cannot be written. Without a home
//! directory (no `XDG_DATA_HOME`, `HOME` unset or absent) there is no registry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::stack::dotenv;

/// The registry file, or None when there is no place for it.
pub fn path() -> Option<PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = PathBuf::from(std::env::var_os("HOME")?);
            // Never create a home directory that is not there.
            if !home.is_dir() {
                return None;
            }
            home.join(".local/share")
        }
    };
    Some(data.join("pier").join("projects"))
}

/// (project directory, its port variables), as the registry holds them.
pub type Entry = (PathBuf, Vec<String>);

fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|line| {
            let (dir, vars) = line.split_once('\t')?;
            let vars = vars
                .split(',')
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect();
            Some((PathBuf::from(dir), vars))
        })
        .collect()
}

fn render(entries: &[Entry]) -> String {
    entries
        .iter()
        .map(|(dir, vars)| format!("{}\t{}\n", dir.display(), vars.join(",")))
        .collect()
}

fn read(registry: &Path) -> Vec<Entry> {
    std::fs::read_to_string(registry)
        .map(|t| parse(&t))
        .unwrap_or_default()
}

/// The host ports other projects' `.env` files claim: port → (project directory,
/// variable). `except`: the project asking (its own ports are not a conflict).
pub fn claimed_ports(except: &Path) -> BTreeMap<u16, (PathBuf, String)> {
    let Some(registry) = path() else {
        return BTreeMap::new();
    };
    claimed_in(&read(&registry), except)
}

fn claimed_in(entries: &[Entry], except: &Path) -> BTreeMap<u16, (PathBuf, String)> {
    let except = canonical(except);
    let mut claimed = BTreeMap::new();
    for (dir, vars) in entries {
        if *dir == except {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(dir.join(".env")) else {
            continue;
        };
        let values = dotenv::parse_deferred(&text, &|_| None).values;
        for var in vars {
            if let Some(port) = values.get(var).and_then(|v| v.trim().parse::<u16>().ok()) {
                claimed.entry(port).or_insert((dir.clone(), var.clone()));
            }
        }
    }
    claimed
}

/// Remember `dir` with its port variables; projects whose directory is gone are
/// dropped on the way.
pub fn record(dir: &Path, vars: &[String]) -> std::io::Result<()> {
    let Some(registry) = path() else {
        return Ok(());
    };
    let dir = canonical(dir);
    let mut entries: Vec<Entry> = read(&registry)
        .into_iter()
        .filter(|(d, _)| *d != dir && d.is_dir())
        .collect();
    entries.push((dir, vars.to_vec()));
    if let Some(parent) = registry.parent() {
        std::fs::create_dir_all(parent)?;
    }
    // Written whole to a file beside it, then renamed: two inits at once never
    // leave half a registry.
    let tmp = registry.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, render(&entries))?;
    std::fs::rename(&tmp, &registry)
}

fn canonical(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let entries = vec![
            (PathBuf::from("/p/a"), vec!["WEB_PORT".to_string()]),
            (PathBuf::from("/p/b"), vec![]),
        ];
        assert_eq!(parse(&render(&entries)), entries);
        assert!(parse("no tab here\n").is_empty());
    }

    #[test]
    fn ports_claimed_by_other_projects_are_read_from_their_env() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::write(
            a.path().join(".env"),
            "WEB_PORT=8080\nEDITOR_PORT=8081\nX=1\n",
        )
        .unwrap();
        std::fs::write(b.path().join(".env"), "WEB_PORT=9000\n").unwrap();
        let entries = vec![
            (
                canonical(a.path()),
                vec!["WEB_PORT".to_string(), "EDITOR_PORT".to_string()],
            ),
            (canonical(b.path()), vec!["WEB_PORT".to_string()]),
            (
                PathBuf::from("/nonexistent/pier"),
                vec!["WEB_PORT".to_string()],
            ),
        ];
        let claimed = claimed_in(&entries, b.path());
        let ports: Vec<u16> = claimed.keys().copied().collect();
        assert_eq!(ports, [8080, 8081]);
        assert_eq!(claimed[&8081].1, "EDITOR_PORT");
    }
}
