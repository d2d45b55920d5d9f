//! Finding the stack file and naming the project (DESIGN §3).

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::error::Error;

/// Looked for, in this order, when no `-f` is given.
pub const CANDIDATES: [&str; 5] = [
    "pier.yaml",
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

/// The override file loaded after `pier.yaml`, when there is one beside it.
pub const PIER_OVERRIDE: &str = "pier.override.yaml";

/// Compose's override files, loaded after a Compose-named file: the first of
/// these beside it.
pub const COMPOSE_OVERRIDES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// The stack file: `file` (relative to `cwd`) or the first candidate in `cwd`.
pub fn locate(file: Option<&Path>, cwd: &Path) -> Result<PathBuf, Error> {
    if let Some(f) = file {
        return Ok(cwd.join(f));
    }
    CANDIDATES
        .iter()
        .map(|c| cwd.join(c))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::NoStackFile {
            dir: cwd.to_path_buf(),
            candidates: CANDIDATES.to_vec(),
        })
}

/// The project's files, in merge order (relative to `cwd`): the `-f` files;
/// else `COMPOSE_FILE` (split by `COMPOSE_PATH_SEPARATOR`, default `:`); else
/// the first candidate in `cwd` and the override file beside it, if any.
pub fn locate_files(
    files: &[PathBuf],
    environment: &std::collections::BTreeMap<String, String>,
    cwd: &Path,
) -> Result<Vec<PathBuf>, Error> {
    if !files.is_empty() {
        return Ok(files.iter().map(|f| cwd.join(f)).collect());
    }
    if let Some(list) = environment.get("COMPOSE_FILE").filter(|l| !l.is_empty()) {
        let separator = environment
            .get("COMPOSE_PATH_SEPARATOR")
            .filter(|s| !s.is_empty())
            .map_or(":", String::as_str);
        return Ok(list
            .split(separator)
            .filter(|f| !f.is_empty())
            .map(|f| cwd.join(f))
            .collect());
    }
    let main = locate(None, cwd)?;
    let overrides: &[&str] = if main.ends_with(CANDIDATES[0]) {
        &[PIER_OVERRIDE]
    } else {
        &COMPOSE_OVERRIDES
    };
    let over = overrides.iter().map(|o| cwd.join(o)).find(|p| p.is_file());
    Ok(std::iter::once(main).chain(over).collect())
}

/// Compose's rule: `[a-z0-9][a-z0-9_-]*`.
pub fn is_valid_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A project name from a directory name: lower-cased, other characters dropped,
/// and leading `_`/`-` trimmed so it starts with a letter or digit.
pub fn name_from_dir(dir: &Path) -> Option<String> {
    let raw = dir.file_name()?.to_string_lossy().to_lowercase();
    let kept: String = raw
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    let name = kept.trim_start_matches(['_', '-']).to_string();
    (!name.is_empty()).then_some(name)
}

/// Where a project name came from, for the message when it is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSource {
    CommandLine,
    File,
}

pub fn invalid_name(name: &str, source: NameSource) -> Diagnostic {
    let (path, hint) = match source {
        NameSource::CommandLine => (
            "",
            "pass -p with lower-case letters, digits, `_` and `-`, starting with a letter or digit",
        ),
        NameSource::File => (
            "name",
            "use lower-case letters, digits, `_` and `-`, starting with a letter or digit",
        ),
    };
    Diagnostic::error(path, format!("invalid project name {name:?}")).with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_valid_name("shop"));
        assert!(is_valid_name("my_shop-2"));
        assert!(!is_valid_name("Shop"));
        assert!(!is_valid_name("-shop"));
        assert!(!is_valid_name(""));
        assert_eq!(
            name_from_dir(Path::new("/x/My Shop.v2")).as_deref(),
            Some("myshopv2")
        );
        assert_eq!(name_from_dir(Path::new("/x/__Tmp")).as_deref(), Some("tmp"));
        assert_eq!(name_from_dir(Path::new("/x/...")), None);
    }

    #[test]
    fn files_from_flags_environment_or_with_the_override() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let none = std::collections::BTreeMap::new();
        std::fs::write(d.join("compose.yaml"), "").unwrap();
        assert_eq!(
            locate_files(&[], &none, d).unwrap(),
            [d.join("compose.yaml")]
        );
        std::fs::write(d.join("docker-compose.override.yaml"), "").unwrap();
        assert_eq!(
            locate_files(&[], &none, d).unwrap(),
            [
                d.join("compose.yaml"),
                d.join("docker-compose.override.yaml")
            ]
        );
        std::fs::write(d.join("pier.yaml"), "").unwrap();
        assert_eq!(locate_files(&[], &none, d).unwrap(), [d.join("pier.yaml")]);
        std::fs::write(d.join("pier.override.yaml"), "").unwrap();
        assert_eq!(
            locate_files(&[], &none, d).unwrap(),
            [d.join("pier.yaml"), d.join("pier.override.yaml")]
        );
        let env: std::collections::BTreeMap<String, String> =
            [("COMPOSE_FILE".to_string(), "a.yaml:b/c.yaml".to_string())].into();
        assert_eq!(
            locate_files(&[], &env, d).unwrap(),
            [d.join("a.yaml"), d.join("b/c.yaml")]
        );
        let mut env = env;
        env.insert("COMPOSE_FILE".into(), "a.yaml,b.yaml".into());
        env.insert("COMPOSE_PATH_SEPARATOR".into(), ",".into());
        assert_eq!(
            locate_files(&[], &env, d).unwrap(),
            [d.join("a.yaml"), d.join("b.yaml")]
        );
        // -f wins over COMPOSE_FILE, and takes no override.
        assert_eq!(
            locate_files(&[PathBuf::from("x.yaml")], &env, d).unwrap(),
            [d.join("x.yaml")]
        );
    }

    #[test]
    fn locate_prefers_pier_yaml() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            locate(None, dir.path()),
            Err(Error::NoStackFile { .. })
        ));
        std::fs::write(dir.path().join("compose.yml"), "").unwrap();
        assert_eq!(
            locate(None, dir.path()).unwrap(),
            dir.path().join("compose.yml")
        );
        std::fs::write(dir.path().join("pier.yaml"), "").unwrap();
        assert_eq!(
            locate(None, dir.path()).unwrap(),
            dir.path().join("pier.yaml")
        );
        assert_eq!(
            locate(Some(Path::new("x.yml")), dir.path()).unwrap(),
            dir.path().join("x.yml")
        );
    }
}
