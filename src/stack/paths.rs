//! Host paths in a document: folding `.` and `..`, and making the relative
//! paths of a document read from another directory absolute before it joins
//! the project's document (an `extends: {file:}` service is relative to its
//! own file; an included project to its `project_directory`), as compose-go's
//! `paths` package does. Paths of the project's own files stay relative: the
//! normalizer resolves them against the project directory.

use std::path::{Component, Path, PathBuf};

use serde_yaml::{Mapping, Value};

/// `path` with `.` and `..` folded lexically (the path need not exist yet).
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A local path relative to the directory of its file: not absolute, not in
/// the home directory, not a URL.
fn is_relative(text: &str) -> bool {
    !(text.starts_with('/')
        || text.starts_with('~')
        || text.contains("://")
        || text.starts_with("git@")
        || text.starts_with('$'))
}

fn absolute(dir: &Path, text: &str) -> Value {
    Value::String(lexical(&dir.join(text)).to_string_lossy().into_owned())
}

/// The relative paths of a whole document (services, secrets and configs
/// files) made absolute against `dir`.
pub fn rebase_document(doc: &mut Value, dir: &Path) {
    if let Some(Value::Mapping(services)) = doc.get_mut("services") {
        for (_, service) in services.iter_mut() {
            rebase_service(service, dir);
        }
    }
    for section in ["secrets", "configs"] {
        if let Some(Value::Mapping(decls)) = doc.get_mut(section) {
            for (_, decl) in decls.iter_mut() {
                if let Some(file) = decl.get_mut("file") {
                    rebase_text(file, dir);
                }
            }
        }
    }
}

fn rebase_text(v: &mut Value, dir: &Path) {
    if let Value::String(text) = v
        && is_relative(text)
    {
        *v = absolute(dir, text);
    }
}

/// The relative paths of one service: its build context, env files and bind mounts.
pub fn rebase_service(service: &mut Value, dir: &Path) {
    let Value::Mapping(map) = service else {
        return;
    };
    match map.get_mut("build") {
        Some(Value::Mapping(build)) => match build.get_mut("context") {
            Some(context) => rebase_text(context, dir),
            // The default context is the file's directory, not the project's.
            None => {
                build.insert("context".into(), absolute(dir, "."));
            }
        },
        Some(context) => rebase_text(context, dir),
        None => {}
    }
    match map.get_mut("env_file") {
        Some(Value::Sequence(items)) => items.iter_mut().for_each(|i| env_file(i, dir)),
        Some(one) => env_file(one, dir),
        None => {}
    }
    if let Some(Value::Sequence(volumes)) = map.get_mut("volumes") {
        for volume in volumes {
            match volume {
                Value::String(text) => {
                    // Short syntax: a source starting with `.` is a host path.
                    if let Some((source, rest)) = text.split_once(':')
                        && source.starts_with('.')
                    {
                        let abs = lexical(&dir.join(source));
                        *text = format!("{}:{rest}", abs.display());
                    }
                }
                Value::Mapping(long) => rebase_bind(long, dir),
                _ => {}
            }
        }
    }
}

fn env_file(entry: &mut Value, dir: &Path) {
    match entry {
        Value::Mapping(m) => {
            if let Some(path) = m.get_mut("path") {
                rebase_text(path, dir);
            }
        }
        other => rebase_text(other, dir),
    }
}

fn rebase_bind(long: &mut Mapping, dir: &Path) {
    if long.get("type").and_then(Value::as_str) != Some("bind") {
        return;
    }
    if let Some(source) = long.get_mut("source") {
        rebase_text(source, dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_dots() {
        assert_eq!(lexical(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }

    #[test]
    fn rebases_a_service() {
        let mut s: Value = serde_yaml::from_str(
            "{build: {dockerfile: D}, env_file: [a.env, {path: ../b.env}, /abs.env], volumes: ['./d:/d', 'named:/n', '~/h:/h', {type: bind, source: x, target: /x}, {type: volume, source: v, target: /v}]}",
        )
        .unwrap();
        rebase_service(&mut s, Path::new("/p/base"));
        let want: Value = serde_yaml::from_str(
            "{build: {dockerfile: D, context: /p/base}, env_file: [/p/base/a.env, {path: /p/b.env}, /abs.env], volumes: ['/p/base/d:/d', 'named:/n', '~/h:/h', {type: bind, source: /p/base/x, target: /x}, {type: volume, source: v, target: /v}]}",
        )
        .unwrap();
        assert_eq!(s, want);
        let mut s: Value = serde_yaml::from_str("{build: ./ctx}").unwrap();
        rebase_service(&mut s, Path::new("/p/base"));
        assert_eq!(s["build"], "/p/base/ctx");
        let mut s: Value = serde_yaml::from_str("{build: 'https://x/y.git'}").unwrap();
        rebase_service(&mut s, Path::new("/p/base"));
        assert_eq!(s["build"], "https://x/y.git");
    }

    #[test]
    fn rebases_secret_files() {
        let mut d: Value =
            serde_yaml::from_str("{secrets: {pw: {file: ./pw.txt}, env: {environment: X}}}")
                .unwrap();
        rebase_document(&mut d, Path::new("/inc"));
        assert_eq!(d["secrets"]["pw"]["file"], "/inc/pw.txt");
    }
}
