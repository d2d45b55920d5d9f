//! The catalog of stack templates: built-ins embedded in the binary, and user
//! stacks from directories on `PIER_STACKS_PATH` and `~/.config/pier/stacks/`.
//!
//! Layout of a stack directory `<dir>/<name>/`:
//!     stack.yaml      the manifest
//!     pier.yaml.hbs   the stack file template
//!     files/…         skeleton files (built-ins keep theirs in templates/<name>/)
//!
//! Search order, first match wins: each `PIER_STACKS_PATH` entry in order, then
//! the user's config directory, then the built-ins — so a user stack can shadow
//! a built-in one of the same name.

use std::fmt;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::stack::userfile;
use crate::template::manifest::{Manifest, RelPath};

static BUILTIN_STACKS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/stacks");
static BUILTIN_SKELETONS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

pub const MANIFEST_FILE: &str = "stack.yaml";
pub const STACK_TEMPLATE_FILE: &str = "pier.yaml.hbs";
/// Where a user stack keeps its skeleton files, inside its directory.
pub const USER_SKELETON_DIR: &str = "files";

/// Where a stack template comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    BuiltIn,
    /// The stack's own directory (`<dir>/<name>`).
    Dir(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::BuiltIn => write!(f, "built-in"),
            Source::Dir(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The directories user stacks are looked up in, in order.
#[derive(Debug, Clone, Default)]
pub struct SearchPath {
    pub dirs: Vec<PathBuf>,
}

impl SearchPath {
    /// `PIER_STACKS_PATH` (colon-separated), then `$XDG_CONFIG_HOME/pier/stacks`
    /// or `$HOME/.config/pier/stacks`.
    pub fn from_env() -> SearchPath {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let mut dirs: Vec<PathBuf> = var("PIER_STACKS_PATH")
            .map(|v| {
                std::env::split_paths(&v)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let config = var("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".config")));
        if let Some(config) = config {
            dirs.push(config.join("pier").join("stacks"));
        }
        SearchPath { dirs }
    }
}

/// One stack name and where it resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub source: Source,
    /// Lower-priority stacks of the same name that this one hides.
    pub shadows: Vec<Source>,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    /// Sorted by name.
    entries: Vec<Entry>,
}

impl Catalog {
    pub fn discover(search: &SearchPath) -> Catalog {
        let mut found: Vec<(String, Source)> = Vec::new();
        for dir in &search.dirs {
            // A missing or unreadable directory simply holds no stacks.
            let Ok(read) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut names: Vec<(String, PathBuf)> = read
                .flatten()
                .filter(|e| e.path().join(MANIFEST_FILE).is_file())
                .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
                .collect();
            names.sort();
            found.extend(
                names
                    .into_iter()
                    .map(|(name, path)| (name, Source::Dir(path))),
            );
        }
        for dir in BUILTIN_STACKS.dirs() {
            if dir.get_file(dir.path().join(MANIFEST_FILE)).is_some()
                && let Some(name) = dir.path().file_name().and_then(|n| n.to_str())
            {
                found.push((name.to_string(), Source::BuiltIn));
            }
        }
        let mut entries: Vec<Entry> = Vec::new();
        for (name, source) in found {
            match entries.iter_mut().find(|e| e.name == name) {
                Some(winner) => winner.shadows.push(source),
                None => entries.push(Entry {
                    name,
                    source,
                    shadows: Vec::new(),
                }),
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Catalog { entries }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry for `name`, or an invalid-input error with "did you mean".
    pub fn find(&self, name: &str) -> Result<&Entry> {
        if let Some(entry) = self.entries.iter().find(|e| e.name == name) {
            return Ok(entry);
        }
        let names: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
        let available = format!("available stacks: {} (see `pier list`)", names.join(", "));
        let hint = match did_you_mean(name, names.iter().copied()) {
            Some(close) => format!("did you mean \"{close}\"? {available}"),
            None => available,
        };
        Err(Error::invalid(
            Diagnostic::error("", format!("unknown stack \"{name}\"")).with_hint(hint),
        ))
    }
}

/// A loaded stack template.
#[derive(Debug, Clone)]
pub struct Template {
    pub manifest: Manifest,
    /// The text of `pier.yaml.hbs`.
    pub stack_file: String,
    /// The template's file name for diagnostics.
    pub stack_file_path: PathBuf,
    pub source: Source,
}

impl Entry {
    pub fn load(&self) -> Result<Template> {
        let (manifest_path, stack_file_path) = match &self.source {
            Source::BuiltIn => {
                let base = Path::new("stacks").join(&self.name);
                (base.join(MANIFEST_FILE), base.join(STACK_TEMPLATE_FILE))
            }
            Source::Dir(dir) => (dir.join(MANIFEST_FILE), dir.join(STACK_TEMPLATE_FILE)),
        };
        let manifest_text = self.read_text(&manifest_path, MANIFEST_FILE)?;
        let mut manifest =
            Manifest::parse(&manifest_text, &manifest_path).map_err(Error::Invalid)?;
        if manifest.name != self.name {
            return Err(Error::invalid(
                Diagnostic::error(
                    "name",
                    format!(
                        "the manifest says \"{}\" but the directory is \"{}\"",
                        manifest.name, self.name
                    ),
                )
                .in_file(&manifest_path)
                .with_hint("make them the same"),
            ));
        }
        manifest.name = self.name.clone();
        let stack_file = self.read_text(&stack_file_path, STACK_TEMPLATE_FILE)?;
        Ok(Template {
            manifest,
            stack_file,
            stack_file_path,
            source: self.source.clone(),
        })
    }

    fn read_text(&self, path: &Path, file_name: &str) -> Result<String> {
        let missing = || {
            Error::invalid(
                Diagnostic::error("", format!("stack \"{}\" has no {file_name}", self.name))
                    .in_file(path),
            )
        };
        match &self.source {
            Source::BuiltIn => BUILTIN_STACKS
                .get_file(Path::new(&self.name).join(file_name))
                .and_then(|f| f.contents_utf8())
                .map(str::to_string)
                .ok_or_else(missing),
            Source::Dir(_) => match userfile::read_text(path) {
                Ok(text) => Ok(text),
                Err(userfile::Problem::NotFound) => Err(missing()),
                Err(p) => Err(Error::invalid(p.into_diagnostic(path, file_name))),
            },
        }
    }
}

impl Template {
    /// Where the skeleton file `source` is, for diagnostics.
    pub fn skeleton_path(&self, source: &RelPath) -> PathBuf {
        match &self.source {
            Source::BuiltIn => Path::new("templates")
                .join(&self.manifest.name)
                .join(source.as_path()),
            Source::Dir(dir) => dir.join(USER_SKELETON_DIR).join(source.as_path()),
        }
    }

    /// The bytes of a skeleton file.
    pub fn skeleton(&self, source: &RelPath) -> Result<Vec<u8>, Box<Diagnostic>> {
        let path = self.skeleton_path(source);
        let missing = || {
            Box::new(
                Diagnostic::error("files", format!("skeleton file {source} does not exist"))
                    .in_file(&path)
                    .with_hint("add it, or remove it from `files` in stack.yaml"),
            )
        };
        match &self.source {
            Source::BuiltIn => BUILTIN_SKELETONS
                .get_file(Path::new(&self.manifest.name).join(source.as_path()))
                .map(|f| f.contents().to_vec())
                .ok_or_else(missing),
            Source::Dir(dir) => {
                // The file, symlinks resolved, must still be inside the stack's
                // directory: a link to ~/.ssh/id_rsa must not be copied into a project.
                let real = match std::fs::canonicalize(&path) {
                    Ok(real) => real,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
                    Err(e) => {
                        return Err(Box::new(
                            Diagnostic::error("files", format!("cannot read {source}: {e}"))
                                .in_file(&path),
                        ));
                    }
                };
                let root = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
                if !real.starts_with(&root) {
                    return Err(Box::new(
                        Diagnostic::error(
                            "files",
                            format!(
                                "skeleton file {source} leads outside the stack's directory (to {})",
                                real.display()
                            ),
                        )
                        .in_file(&path)
                        .with_hint("a stack's files must be regular files inside its directory"),
                    ));
                }
                userfile::read_bytes(&real).map_err(|p| match p {
                    userfile::Problem::NotFound => missing(),
                    userfile::Problem::Invalid(d) => Box::new(
                        Diagnostic::error("files", format!("cannot read {source}: {}", d.message))
                            .in_file(&path)
                            .with_hint(
                                "a stack's files must be regular files inside its directory",
                            ),
                    ),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "name: lamp\ndescription: my own lamp\nparameters: []\n";

    fn user_stack(root: &Path, name: &str, manifest: &str) {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(MANIFEST_FILE), manifest).unwrap();
        std::fs::write(dir.join(STACK_TEMPLATE_FILE), "services: {}\n").unwrap();
    }

    #[test]
    fn user_skeleton_files_must_be_regular_files_inside_the_stack() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("id_rsa"), "PRIVATE").unwrap();
        user_stack(root.path(), "mine", MANIFEST);
        let files = root.path().join("mine").join(USER_SKELETON_DIR);
        std::fs::create_dir_all(files.join("dir")).unwrap();
        std::fs::write(files.join("ok.txt"), "fine").unwrap();
        std::os::unix::fs::symlink(outside.path().join("id_rsa"), files.join("key")).unwrap();
        std::os::unix::fs::symlink(files.join("ok.txt"), files.join("inner")).unwrap();
        let t = Template {
            manifest: Manifest::parse(MANIFEST, Path::new("stack.yaml")).unwrap(),
            stack_file: String::new(),
            stack_file_path: PathBuf::new(),
            source: Source::Dir(root.path().join("mine")),
        };
        let rel = |p: &str| RelPath::parse(p).unwrap();
        assert_eq!(t.skeleton(&rel("ok.txt")).unwrap(), b"fine");
        assert_eq!(t.skeleton(&rel("inner")).unwrap(), b"fine");
        let err = t.skeleton(&rel("key")).unwrap_err();
        assert!(err.message.contains("leads outside"), "{err:?}");
        let err = t.skeleton(&rel("dir")).unwrap_err();
        assert!(err.message.contains("a directory"), "{err:?}");
    }

    #[test]
    fn built_ins_are_embedded_and_load() {
        let catalog = Catalog::discover(&SearchPath::default());
        let names: Vec<_> = catalog.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["django", "dotnet", "lamp"]);
        for entry in catalog.entries() {
            let t = entry.load().unwrap();
            assert_eq!(t.source, Source::BuiltIn);
            for file in &t.manifest.files {
                t.skeleton(&file.source).unwrap();
            }
        }
    }

    /// Catches a parameter that is declared but does nothing, and a `${VAR}`
    /// parameter the stack file never reads.
    #[test]
    fn every_built_in_parameter_is_used() {
        let catalog = Catalog::discover(&SearchPath::default());
        for entry in catalog.entries() {
            let t = entry.load().unwrap();
            let mut text = t.stack_file.clone();
            for file in t.manifest.files.iter().filter(|f| f.render) {
                text.push_str(&String::from_utf8(t.skeleton(&file.source).unwrap()).unwrap());
            }
            let mut names = std::collections::BTreeSet::new();
            for chunk in text.split("{{").skip(1) {
                let expr = chunk.split("}}").next().unwrap();
                names.extend(
                    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map(str::to_string),
                );
            }
            for p in &t.manifest.parameters {
                match &p.env {
                    Some(env) => assert!(
                        t.stack_file.contains(&format!("${{{env}}}")),
                        "{}: {} is written to .env but the stack file never reads ${{{env}}}",
                        entry.name,
                        p.name
                    ),
                    None => assert!(
                        names.contains(&p.name),
                        "{}: parameter {} is never used",
                        entry.name,
                        p.name
                    ),
                }
            }
        }
    }

    #[test]
    fn user_stacks_shadow_built_ins_in_search_order() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        user_stack(first.path(), "lamp", MANIFEST);
        user_stack(second.path(), "lamp", MANIFEST);
        user_stack(second.path(), "mine", "name: mine\ndescription: d\n");
        std::fs::create_dir_all(second.path().join("not-a-stack")).unwrap();
        let search = SearchPath {
            dirs: vec![
                first.path().into(),
                second.path().into(),
                "/nonexistent".into(),
            ],
        };
        let catalog = Catalog::discover(&search);
        let lamp = catalog.find("lamp").unwrap();
        assert_eq!(lamp.source, Source::Dir(first.path().join("lamp")));
        assert_eq!(
            lamp.shadows,
            [Source::Dir(second.path().join("lamp")), Source::BuiltIn]
        );
        assert_eq!(lamp.load().unwrap().manifest.description, "my own lamp");
        assert_eq!(
            catalog.find("mine").unwrap().source,
            Source::Dir(second.path().join("mine"))
        );
        assert!(catalog.find("not-a-stack").is_err());
    }

    #[test]
    fn unknown_stack_suggests_and_lists() {
        let catalog = Catalog::discover(&SearchPath::default());
        let Err(Error::Invalid(ds)) = catalog.find("djnago") else {
            panic!()
        };
        assert_eq!(ds[0].message, "unknown stack \"djnago\"");
        assert_eq!(
            ds[0].hint.as_deref(),
            Some(
                "did you mean \"django\"? available stacks: django, dotnet, lamp (see `pier list`)"
            )
        );
    }

    #[test]
    fn manifest_name_must_match_directory() {
        let dir = tempfile::tempdir().unwrap();
        user_stack(dir.path(), "other", MANIFEST);
        let catalog = Catalog::discover(&SearchPath {
            dirs: vec![dir.path().into()],
        });
        let Err(Error::Invalid(ds)) = catalog.find("other").unwrap().load() else {
            panic!()
        };
        assert!(ds[0].message.contains("the manifest says \"lamp\""));
    }
}
