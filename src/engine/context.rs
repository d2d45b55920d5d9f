//! The build context: a tar of the context directory, minus what `.dockerignore` excludes.
//!
//! `.dockerignore` follows Docker's rules: one pattern per line, `#` comments,
//! `*` and `?` within one path segment, `**` across segments, a leading `!`
//! re-includes, the last matching line wins, and a pattern that matches a
//! directory excludes everything below it. The Dockerfile and `.dockerignore`
//! are always sent (the engine needs them), as Docker does.

use std::fs;
use std::io;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    /// (pattern, is_exception), in file order.
    rules: Vec<(String, bool)>,
}

impl DockerIgnore {
    pub fn parse(text: &str) -> DockerIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (pattern, exception) = match l.strip_prefix('!') {
                    Some(rest) => (rest.trim(), true),
                    None => (l, false),
                };
                let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
                let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
                (pattern.to_string(), exception)
            })
            .filter(|(p, _)| !p.is_empty())
            .collect();
        DockerIgnore { rules }
    }

    /// Whether `path` (relative, `/`-separated) is left out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let mut excluded = false;
        for (pattern, exception) in &self.rules {
            if matches_path_or_parent(pattern, path) {
                excluded = !exception;
            }
        }
        excluded
    }
}

fn matches_path_or_parent(pattern: &str, path: &str) -> bool {
    if glob(pattern.as_bytes(), path.as_bytes()) {
        return true;
    }
    path.char_indices()
        .filter(|(_, c)| *c == '/')
        .any(|(i, _)| glob(pattern.as_bytes(), &path.as_bytes()[..i]))
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => {
            // `**/` may also match nothing at all.
            let rest_after_slash = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=s.len()).any(|i| glob(rest, &s[i..]))
                || (rest.first() == Some(&b'/') && glob(rest_after_slash, s))
        }
        [b'*', rest @ ..] => {
            for i in 0..=s.len() {
                if glob(rest, &s[i..]) {
                    return true;
                }
                if i < s.len() && s[i] == b'/' {
                    break;
                }
            }
            false
        }
        [b'?', rest @ ..] => !s.is_empty() && s[0] != b'/' && glob(rest, &s[1..]),
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// Tar `dir` for the build API. `dockerfile` (relative to `dir`) is always included.
pub fn build_context_tar(dir: &Path, dockerfile: Option<&str>) -> io::Result<Vec<u8>> {
    let ignore = match fs::read_to_string(dir.join(".dockerignore")) {
        Ok(text) => DockerIgnore::parse(&text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => DockerIgnore::default(),
        Err(e) => return Err(e),
    };
    let always = [dockerfile.unwrap_or("Dockerfile"), ".dockerignore"];
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    add_dir(&mut builder, dir, "", &ignore, &always)?;
    builder.into_inner()
}

fn add_dir(
    builder: &mut tar::Builder<Vec<u8>>,
    root: &Path,
    rel: &str,
    ignore: &DockerIgnore,
    always: &[&str],
) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(root.join(rel))?.collect::<io::Result<_>>()?;
    // Sorted, so the same context gives the same tar (and build cache hits).
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let kind = entry.file_type()?;
        let excluded = ignore.excludes(&path) && !always.contains(&path.as_str());
        if kind.is_dir() {
            if !excluded {
                builder.append_dir(&path, entry.path())?;
            }
            // Walk on even when excluded: a later `!pattern` may re-include a file below.
            add_dir(builder, root, &path, ignore, always)?;
        } else if !excluded {
            builder.append_path_with_name(entry.path(), &path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_rules() {
        let ig = DockerIgnore::parse(
            "# comment\nnode_modules\n*.log\n!keep.log\n/target/\n**/*.tmp\ndocs/*.md\n",
        );
        assert!(ig.excludes("node_modules"));
        assert!(ig.excludes("node_modules/a/b.js"));
        assert!(ig.excludes("debug.log"));
        assert!(!ig.excludes("keep.log"));
        assert!(!ig.excludes("sub/debug.log"), "`*` does not cross `/`");
        assert!(ig.excludes("target/release/app"));
        assert!(ig.excludes("a.tmp"));
        assert!(ig.excludes("x/y/a.tmp"));
        assert!(ig.excludes("docs/readme.md"));
        assert!(!ig.excludes("docs/sub/readme.md"));
        assert!(!ig.excludes("src/main.rs"));
    }

    #[test]
    fn context_tar_leaves_out_ignored_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        fs::write(
            dir.path().join(".dockerignore"),
            "secret.txt\nDockerfile\ncache\n",
        )
        .unwrap();
        fs::write(dir.path().join("app.txt"), "hi").unwrap();
        fs::write(dir.path().join("secret.txt"), "pw").unwrap();
        fs::create_dir(dir.path().join("cache")).unwrap();
        fs::write(dir.path().join("cache/big"), "x").unwrap();
        let tar = build_context_tar(dir.path(), None).unwrap();
        let mut archive = tar::Archive::new(&tar[..]);
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![".dockerignore", "Dockerfile", "app.txt"]);
    }
}
