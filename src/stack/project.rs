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
