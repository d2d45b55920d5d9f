//! Where each part of a document assembled from several files came from.
//!
//! Several `-f` files, `extends` and `include` build one document out of many
//! files. Diagnostics are made with paths in that merged document
//! (`services.web.ports[2]`); `Origins` maps such a path back to a file and the
//! path the node had there (`compose.override.yaml`, `services.web.ports[0]`),
//! where that file's `Positions` give the line and column.
//!
//! A subtree copied whole from one place is one entry: a path is looked up by
//! walking up to the nearest recorded ancestor and keeping the rest of the path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::docpath;
use super::positions::Positions;
use crate::diagnostic::Diagnostic;

/// One file read while loading: where it is and where its nodes are.
#[derive(Debug)]
pub struct Source {
    pub path: PathBuf,
    pub positions: Positions,
}

/// Every file read while loading, by index.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<Source>,
}

impl Sources {
    /// Register `path` with its text; its index. A file read twice (an
    /// `extends: {file:}` used by two services) is indexed once.
    pub fn add(&mut self, path: &Path, text: &str) -> usize {
        if let Some(i) = self.index_of(path) {
            return i;
        }
        self.files.push(Source {
            path: path.to_path_buf(),
            positions: Positions::index(text),
        });
        self.files.len() - 1
    }

    pub fn index_of(&self, path: &Path) -> Option<usize> {
        self.files.iter().position(|s| s.path == path)
    }

    pub fn path(&self, index: usize) -> &Path {
        &self.files[index].path
    }

    /// Give the diagnostics made in file `index`'s own coordinates (parsing,
    /// interpolation) that file and their position.
    pub fn place_in(&self, index: usize, diags: &mut [Diagnostic]) {
        let source = &self.files[index];
        source.positions.place(diags, &source.path);
    }

    /// Give the diagnostics made in the merged document's coordinates their file
    /// and position, through `origins`. Those that have a file already (an
    /// `env_file`, or placed earlier) are left alone.
    pub fn place(&self, origins: &Origins, diags: &mut [Diagnostic]) {
        for d in diags {
            if d.line.is_some() || d.file.is_some() {
                continue;
            }
            let Some((index, path)) = origins.resolve(&d.path) else {
                continue;
            };
            let source = &self.files[index];
            d.file = Some(source.path.clone());
            if let Some((line, column)) = source.positions.locate(&path) {
                d.line = Some(line);
                d.column = Some(column);
            }
        }
    }
}

/// Merged-document path → (source index, path in that source).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origins {
    map: BTreeMap<String, (usize, String)>,
}

impl Origins {
    /// A document read whole from source `index`, starting at `path` there
    /// (`""` for a whole file, `services.web` for one service).
    pub fn of(index: usize, path: &str) -> Origins {
        Origins {
            map: [(String::new(), (index, path.to_string()))].into(),
        }
    }

    /// Where `path` came from: the nearest recorded ancestor, with the rest of
    /// the path appended.
    pub fn resolve(&self, path: &str) -> Option<(usize, String)> {
        let mut current = Some(path);
        while let Some(p) = current {
            if let Some((index, at)) = self.map.get(p) {
                return Some((*index, join(at, &path[p.len()..])));
            }
            current = docpath::parent(p);
        }
        None
    }

    /// The node at `at` is now `from`'s node at `from_path`, with everything under it.
    pub fn graft(&mut self, at: &str, from: &Origins, from_path: &str) {
        self.forget(at);
        if let Some(origin) = from.resolve(from_path) {
            self.map.insert(at.to_string(), origin);
        }
        for (k, v) in &from.map {
            if let Some(rest) = strictly_under(k, from_path) {
                self.map.insert(join(at, rest), v.clone());
            }
        }
    }

    /// Drop what is recorded at and under `at` (a node that was removed).
    pub fn forget(&mut self, at: &str) {
        self.map
            .retain(|k, _| k != at && strictly_under(k, at).is_none());
    }
}

/// The rest of `path` after `parent` when `path` is below it: `.x`, `[1]`, or
/// `x` below the document's top (`""`).
fn strictly_under<'a>(path: &'a str, parent: &str) -> Option<&'a str> {
    if parent.is_empty() {
        return (!path.is_empty()).then_some(path);
    }
    let rest = path.strip_prefix(parent)?;
    (rest.starts_with('.') || rest.starts_with('[')).then_some(rest)
}

/// `base` followed by `rest` (as `strictly_under` gives it).
fn join(base: &str, rest: &str) -> String {
    match rest.strip_prefix('.') {
        _ if rest.is_empty() => base.to_string(),
        Some(key) => docpath::child(base, key),
        None if rest.starts_with('[') => format!("{base}{rest}"),
        None => docpath::child(base, rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_through_the_nearest_ancestor() {
        let mut o = Origins::of(0, "");
        assert_eq!(o.resolve("services.web"), Some((0, "services.web".into())));
        let other = Origins::of(1, "services.base");
        o.graft("services.web", &other, "");
        assert_eq!(
            o.resolve("services.web.ports[0]"),
            Some((1, "services.base.ports[0]".into()))
        );
        assert_eq!(o.resolve("services.db"), Some((0, "services.db".into())));
        let over = Origins::of(2, "");
        o.graft("services.web.ports[1]", &over, "services.web.ports[0]");
        assert_eq!(
            o.resolve("services.web.ports[1].target"),
            Some((2, "services.web.ports[0].target".into()))
        );
        o.forget("services.web");
        assert_eq!(o.resolve("services.web"), Some((0, "services.web".into())));
    }

    #[test]
    fn grafts_carry_nested_origins() {
        let mut inner = Origins::of(3, "services.x");
        inner.graft("image", &Origins::of(4, ""), "services.y.image");
        let mut o = Origins::of(0, "");
        o.graft("services.a", &inner, "");
        assert_eq!(
            o.resolve("services.a.image"),
            Some((4, "services.y.image".into()))
        );
        assert_eq!(
            o.resolve("services.a.user"),
            Some((3, "services.x.user".into()))
        );
    }
}
