//! `include`: other Compose projects loaded whole and added to this one, as
//! compose-go does. Each entry is a path, or `{path, project_directory,
//! env_file}` where `path` may list several files merged in order. The
//! included project is loaded with its own directory (relative paths are made
//! absolute against it) and its own `.env` (or `env_file`), whose variables
//! come after the shell's and the including project's. A resource the
//! including file defines differently is an error; an include cycle is an
//! error naming the chain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::docpath;
use super::documents::{Loader, resolve};
use super::dotenv;
use super::interpolate::Variables;
use super::merge::Doc;
use super::paths;
use super::read::scalar_text;
use super::userfile;
use crate::diagnostic::Diagnostic;

/// What one `include` entry says, its paths resolved.
struct Entry {
    files: Vec<PathBuf>,
    project_dir: PathBuf,
    /// Explicit env files (must exist), or none: `.env` in the project directory if there.
    env_files: Vec<PathBuf>,
}

const SECTIONS: [&str; 5] = ["services", "networks", "volumes", "secrets", "configs"];

impl Loader {
    /// Load and add the projects `doc` (source `index`) includes; relative
    /// paths are against `dir`. `chain`: the files including this one, and it.
    pub fn apply_includes(
        &mut self,
        doc: &mut Doc,
        index: usize,
        dir: &Path,
        vars: &Variables,
        chain: &[PathBuf],
    ) {
        let Some(spec) = doc.value.as_mapping_mut().and_then(|m| m.remove("include")) else {
            return;
        };
        let items = match spec {
            Value::Sequence(items) => items,
            Value::Null => return,
            other => {
                let found = super::read::describe(&other);
                self.report_in(
                    index,
                    vec![Diagnostic::error(
                        "include",
                        format!("expected a list of files to include, found {found}"),
                    )],
                );
                return;
            }
        };
        for (i, item) in items.iter().enumerate() {
            let at = docpath::item("include", i);
            let Some(entry) = self.entry(item, &at, index, dir) else {
                continue;
            };
            if let Some(again) = entry.files.iter().find(|f| chain.contains(f)) {
                let shown: Vec<String> = chain
                    .iter()
                    .chain(std::iter::once(again))
                    .map(|f| f.display().to_string())
                    .collect();
                self.report_in(
                    index,
                    vec![
                        Diagnostic::error(&at, format!("include cycle: {}", shown.join(" -> ")))
                            .with_hint("a file cannot include itself, directly or through others"),
                    ],
                );
                continue;
            }
            let Some(vars) = self.include_vars(&entry, vars, index, &at) else {
                continue;
            };
            let missing = |path: &Path| {
                Diagnostic::error(&at, format!("included file not found: {}", path.display()))
                    .with_hint(format!("the path is relative to {}", dir.display()))
            };
            let mut missing_here = Vec::new();
            let found: Vec<PathBuf> = entry
                .files
                .iter()
                .filter(|f| {
                    let there = f.is_file();
                    if !there {
                        missing_here.push(missing(f));
                    }
                    there
                })
                .cloned()
                .collect();
            if !missing_here.is_empty() {
                self.report_in(index, missing_here);
                continue;
            }
            let Some(mut included) =
                self.project(&found, &entry.project_dir, &vars, chain, &|p| missing(p))
            else {
                continue;
            };
            paths::rebase_document(&mut included.value, &entry.project_dir);
            self.import(doc, included);
        }
    }

    /// Parse one entry; `None` after reporting a malformed one.
    fn entry(&mut self, item: &Value, at: &str, index: usize, dir: &Path) -> Option<Entry> {
        let list = |v: &Value| -> Option<Vec<String>> {
            match v {
                Value::Sequence(items) => items.iter().map(scalar_text).collect(),
                other => scalar_text(other).map(|s| vec![s]),
            }
        };
        let (files, project_dir, env_files) = match item {
            Value::Mapping(map) => {
                let files = map.get("path").and_then(list);
                let project_dir = map.get("project_directory").and_then(scalar_text);
                let env = map.get("env_file").and_then(list).unwrap_or_default();
                (files, project_dir, env)
            }
            other => (list(other).filter(|_| !other.is_sequence()), None, vec![]),
        };
        let Some(files) = files.filter(|f| !f.is_empty()) else {
            self.report_in(
                index,
                vec![
                    Diagnostic::error(at, "an include entry needs a file path")
                        .with_hint("write `- other/compose.yaml` or `- path: other/compose.yaml`"),
                ],
            );
            return None;
        };
        let files: Vec<PathBuf> = files.iter().map(|f| resolve(dir, f)).collect();
        let project_dir = match project_dir {
            Some(d) => resolve(dir, &d),
            None => files[0].parent().unwrap_or(dir).to_path_buf(),
        };
        Some(Entry {
            files,
            project_dir,
            env_files: env_files.iter().map(|f| resolve(dir, f)).collect(),
        })
    }

    /// The variables of an included project: the including project's over
    /// the included one's env files.
    fn include_vars(
        &mut self,
        entry: &Entry,
        vars: &Variables,
        index: usize,
        at: &str,
    ) -> Option<Variables> {
        let (files, required) = if entry.env_files.is_empty() {
            (vec![entry.project_dir.join(".env")], false)
        } else {
            (entry.env_files.clone(), true)
        };
        let mut values = BTreeMap::new();
        for file in files {
            match userfile::read_text(&file) {
                Ok(text) => {
                    let parsed =
                        dotenv::parse_deferred(&text, &|n| vars.get(n).map(str::to_string));
                    let mut diags = parsed.diags;
                    for d in &mut diags {
                        d.file = Some(file.clone());
                    }
                    self.diags.extend(diags);
                    values.extend(parsed.values);
                }
                Err(userfile::Problem::NotFound) if !required => {}
                Err(userfile::Problem::NotFound) => {
                    self.report_in(
                        index,
                        vec![Diagnostic::error(
                            docpath::child(at, "env_file"),
                            format!("env file not found: {}", file.display()),
                        )],
                    );
                    return None;
                }
                Err(problem) => {
                    self.diags.push(problem.into_diagnostic(&file, "env file"));
                    return None;
                }
            }
        }
        Some(vars.under(&values))
    }

    /// Add the resources of `included` to `doc`; one `doc` defines differently
    /// is an error at its definition.
    fn import(&mut self, doc: &mut Doc, included: Doc) {
        let Value::Mapping(top) = &mut doc.value else {
            return;
        };
        let mut conflicts = Vec::new();
        for section in SECTIONS {
            let Some(Value::Mapping(theirs)) = included.value.get(section) else {
                continue;
            };
            let ours = top
                .entry(Value::String(section.into()))
                .or_insert_with(|| Value::Mapping(Mapping::new()));
            if ours.is_null() {
                *ours = Value::Mapping(Mapping::new());
            }
            let Value::Mapping(ours) = ours else {
                continue;
            };
            for (k, v) in theirs {
                let name = scalar_text(k).unwrap_or_default();
                let at = docpath::child(section, &name);
                match ours.get(k) {
                    Some(mine) if mine != v => conflicts.push(
                        Diagnostic::error(
                            &at,
                            format!("`{name}` is also defined by an included project, differently"),
                        )
                        .with_hint("rename one of them, or remove one definition"),
                    ),
                    Some(_) => {}
                    None => {
                        ours.insert(k.clone(), v.clone());
                        doc.origins.graft(&at, &included.origins, &at);
                    }
                }
            }
        }
        let origins = doc.origins.clone();
        self.report(&origins, conflicts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(dir: &Path, main: &str, vars: &Variables) -> (Option<Doc>, Vec<Diagnostic>) {
        let mut loader = Loader::default();
        let doc = loader.project(&[dir.join(main)], dir, vars, &[], &|p| {
            Diagnostic::error("", format!("missing {}", p.display()))
        });
        (doc, loader.diags)
    }

    #[test]
    fn includes_with_their_own_directory_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("inc/deep")).unwrap();
        std::fs::write(
            d.join("inc/compose.yaml"),
            "services:\n  iw:\n    image: iw:${TAG}\n    build: ./ctx\n    volumes: [./v:/v]\nvolumes: {data: {}}\n",
        )
        .unwrap();
        std::fs::write(d.join("inc/.env"), "TAG=inc\n").unwrap();
        std::fs::write(d.join("inc/deep/.env"), "TAG=deep\n").unwrap();
        std::fs::write(
            d.join("a.yaml"),
            "include: [inc/compose.yaml]\nservices: {main: {image: m}}\n",
        )
        .unwrap();
        std::fs::write(
            d.join("b.yaml"),
            "include:\n  - path: inc/compose.yaml\n    project_directory: inc/deep\nservices: {main: {image: m}}\n",
        )
        .unwrap();
        let (doc, diags) = load(d, "a.yaml", &Variables::default());
        assert!(diags.is_empty(), "{diags:?}");
        let doc = doc.unwrap();
        let iw = &doc.value["services"]["iw"];
        assert_eq!(iw["image"], "iw:inc");
        assert_eq!(iw["build"], d.join("inc/ctx").to_string_lossy().as_ref());
        assert!(doc.value["volumes"].get("data").is_some());
        assert!(doc.value.get("include").is_none());
        let (doc, _) = load(d, "b.yaml", &Variables::default());
        let iw = &doc.unwrap().value["services"]["iw"];
        assert_eq!(iw["image"], "iw:deep");
        assert_eq!(
            iw["volumes"][0],
            format!("{}:/v", d.join("inc/deep/v").display()).as_str()
        );
        // The including project's variables win over the included `.env`.
        let shell = Variables::new([("TAG".to_string(), "shell".to_string())].into());
        let (doc, _) = load(d, "a.yaml", &shell);
        assert_eq!(doc.unwrap().value["services"]["iw"]["image"], "iw:shell");
    }

    #[test]
    fn missing_files_cycles_and_conflicts_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("m.yaml"),
            "services: {a: {image: a}}\ninclude:\n  - nope.yaml\n",
        )
        .unwrap();
        let (_, diags) = load(d, "m.yaml", &Variables::default());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            (diags[0].path.as_str(), diags[0].line),
            ("include[0]", Some(3))
        );
        assert!(
            diags[0].message.contains("nope.yaml"),
            "{}",
            diags[0].message
        );
        assert_eq!(diags[0].file.as_deref(), Some(d.join("m.yaml").as_path()));

        std::fs::write(
            d.join("x.yaml"),
            "include: [y.yaml]\nservices: {x: {image: x}}\n",
        )
        .unwrap();
        std::fs::write(
            d.join("y.yaml"),
            "include: [x.yaml]\nservices: {y: {image: y}}\n",
        )
        .unwrap();
        let (_, diags) = load(d, "x.yaml", &Variables::default());
        assert!(
            diags.iter().any(|d| d.message
                == format!(
                    "include cycle: {} -> {} -> {}",
                    dir.path().join("x.yaml").display(),
                    dir.path().join("y.yaml").display(),
                    dir.path().join("x.yaml").display()
                )),
            "{diags:?}"
        );

        std::fs::write(
            d.join("c.yaml"),
            "include: [i.yaml]\nservices:\n  a: {image: mine}\n",
        )
        .unwrap();
        std::fs::write(d.join("i.yaml"), "services: {a: {image: theirs}}\n").unwrap();
        let (_, diags) = load(d, "c.yaml", &Variables::default());
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            (diags[0].path.as_str(), diags[0].line),
            ("services.a", Some(3))
        );
    }
}
