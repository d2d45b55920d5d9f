//! `extends`: a service built on another service of the same file or of
//! another file (`file:`), nested to any depth. As in compose-go it is
//! resolved per file, before the files are merged: the extended service is
//! looked up in the file that names it. The extended service comes first and
//! the extending one is merged over it by the merge rules (`merge::service`);
//! a service from another file has its relative paths made absolute against
//! that file's directory (`paths::rebase_service`). A cycle is an error naming
//! the chain.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::docpath;
use super::documents::{Loader, Unread, resolve};
use super::interpolate::Variables;
use super::merge::{self, Doc};
use super::origins::Origins;
use super::paths;
use super::read::scalar_text;
use crate::diagnostic::Diagnostic;

/// One link of an `extends` chain: a service in a file.
type Link = (PathBuf, String);

impl Loader {
    /// Resolve the `extends` of every service of `doc`, the document of source
    /// `index`; relative `extends.file` paths are against `dir`.
    pub fn apply_extends(&mut self, doc: &mut Doc, index: usize, dir: &Path, vars: &Variables) {
        let Some(Value::Mapping(services)) = doc.value.get("services") else {
            return;
        };
        let extending: Vec<String> = services
            .iter()
            .filter(|(_, s)| s.get("extends").is_some())
            .filter_map(|(k, _)| scalar_text(k))
            .collect();
        if extending.is_empty() {
            return;
        }
        let file = self.sources.path(index).to_path_buf();
        let original = doc.clone();
        for name in extending {
            let mut chain = Vec::new();
            let at = docpath::child("services", &name);
            let resolved = self.service(&original, index, &file, dir, &name, vars, &mut chain);
            if let (Some(resolved), Some(Value::Mapping(services))) =
                (resolved, doc.value.get_mut("services"))
            {
                services.insert(Value::String(name.clone()), resolved.value);
                doc.origins.graft(&at, &resolved.origins, "");
            }
        }
    }

    /// Service `name` of `file` (document `doc`, source `index`), its `extends`
    /// resolved; in the service's own coordinates (`""` is the service).
    #[allow(clippy::too_many_arguments)]
    fn service(
        &mut self,
        doc: &Doc,
        index: usize,
        file: &Path,
        dir: &Path,
        name: &str,
        vars: &Variables,
        chain: &mut Vec<Link>,
    ) -> Option<Doc> {
        let at = docpath::child("services", name);
        let value = doc.value.get("services")?.get(name)?.clone();
        let mut origins = Origins::default();
        origins.graft("", &doc.origins, &at);
        let mut own = Doc { value, origins };
        let Some(spec) = own.value.as_mapping_mut().and_then(|m| m.remove("extends")) else {
            return Some(own);
        };
        let ext_at = docpath::child(&at, "extends");
        let (other_file, base) = match target(&spec) {
            Some(t) => t,
            None => {
                self.report_in(
                    index,
                    vec![
                        Diagnostic::error(
                            &ext_at,
                            "expected a service name or a mapping with `service` (and `file`)",
                        )
                        .with_hint("write `extends: base` or `extends: {file: common.yaml, service: base}`"),
                    ],
                );
                return None;
            }
        };
        chain.push((file.to_path_buf(), name.to_string()));
        let base_file = match &other_file {
            Some(f) => resolve(dir, f),
            None => file.to_path_buf(),
        };
        if chain.contains(&(base_file.clone(), base.clone())) {
            // Reported once, at the service the cycle starts from; a service
            // that only leads into a cycle fails with it.
            if chain[0] == (base_file.clone(), base.clone()) {
                chain.push((base_file, base));
                let shown: Vec<String> = chain
                    .iter()
                    .map(|(f, s)| format!("{s} ({})", f.display()))
                    .collect();
                let top_at = docpath::child(&docpath::child("services", &chain[0].1), "extends");
                let top_index = self.sources.index_of(&chain[0].0).unwrap_or(index);
                self.report_in(
                    top_index,
                    vec![
                        Diagnostic::error(top_at, format!("extends cycle: {}", shown.join(" -> ")))
                            .with_hint(
                                "a service cannot extend itself, directly or through others",
                            ),
                    ],
                );
            }
            return None;
        }
        let mut resolved = match &other_file {
            None => {
                if doc
                    .value
                    .get("services")
                    .and_then(|s| s.get(&base))
                    .is_none()
                {
                    self.report_in(index, vec![no_service(&ext_at, &base, file)]);
                    return None;
                }
                self.service(doc, index, file, dir, &base, vars, chain)?
            }
            Some(f) => {
                let (other_index, value) = match self.read(&base_file, vars) {
                    Ok(read) => read,
                    Err(Unread::NotFound) => {
                        self.report_in(
                            index,
                            vec![
                                Diagnostic::error(
                                    docpath::child(&ext_at, "file"),
                                    format!("extended file not found: {}", base_file.display()),
                                )
                                .with_hint(format!("`file: {f}` is relative to {}", dir.display())),
                            ],
                        );
                        return None;
                    }
                    Err(Unread::Reported) => return None,
                };
                let other_doc = Doc {
                    value,
                    origins: Origins::of(other_index, ""),
                };
                if other_doc
                    .value
                    .get("services")
                    .and_then(|s| s.get(&base))
                    .is_none()
                {
                    self.report_in(index, vec![no_service(&ext_at, &base, &base_file)]);
                    return None;
                }
                let other_dir = base_file.parent().unwrap_or(dir).to_path_buf();
                let mut service = self.service(
                    &other_doc,
                    other_index,
                    &base_file,
                    &other_dir,
                    &base,
                    vars,
                    chain,
                )?;
                paths::rebase_service(&mut service.value, &other_dir);
                service
            }
        };
        chain.pop();
        merge::service(&mut resolved, own);
        Some(resolved)
    }
}

/// (file, service) of an `extends` value.
fn target(spec: &Value) -> Option<(Option<String>, String)> {
    if let Some(name) = spec.as_str() {
        return Some((None, name.to_string()));
    }
    let map = spec.as_mapping()?;
    let service = map.get("service").and_then(scalar_text)?;
    let file = map.get("file").and_then(scalar_text);
    Some((file, service))
}

fn no_service(at: &str, name: &str, file: &Path) -> Diagnostic {
    Diagnostic::error(
        at,
        format!(
            "cannot extend `{name}`: no such service in {}",
            file.display()
        ),
    )
    .with_hint("`extends` names a service of the same file, or of `file:`")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(dir: &Path, main: &str) -> (Option<Doc>, Vec<Diagnostic>) {
        let mut loader = Loader::default();
        let doc = loader.project(&[dir.join(main)], dir, &Variables::default(), &[], &|p| {
            Diagnostic::error("", format!("missing {}", p.display()))
        });
        (doc, loader.diags)
    }

    #[test]
    fn same_file_and_other_file_nested() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("base")).unwrap();
        std::fs::write(
            d.join("base/common.yaml"),
            "services:\n  root:\n    image: r\n    build: ./ctx\n    environment: {R: '1'}\n  mid:\n    extends: root\n    command: mid\n",
        )
        .unwrap();
        std::fs::write(
            d.join("compose.yaml"),
            "services:\n  web:\n    extends: {file: base/common.yaml, service: mid}\n    environment: [W=2]\n  local:\n    extends: web\n    command: [local]\n",
        )
        .unwrap();
        let (doc, diags) = load(d, "compose.yaml");
        assert!(diags.is_empty(), "{diags:?}");
        let doc = doc.unwrap();
        let web = &doc.value["services"]["web"];
        assert_eq!(web["image"], "r");
        assert_eq!(web["command"], "mid");
        assert_eq!(web["build"], d.join("base/ctx").to_string_lossy().as_ref());
        assert!(web.get("extends").is_none());
        let local = &doc.value["services"]["local"];
        assert_eq!(
            local["command"],
            serde_yaml::from_str::<Value>("[local]").unwrap()
        );
        assert_eq!(
            local["environment"],
            serde_yaml::from_str::<Value>("[R=1, W=2]").unwrap()
        );
        // The image of `web` is written in base/common.yaml, under `root`.
        let (file, path) = doc.origins.resolve("services.web.image").unwrap();
        assert_eq!(path, "services.root.image");
        assert_eq!(file, 1);
    }

    #[test]
    fn cycles_name_the_chain() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("c.yaml"),
            "services:\n  a: {extends: b}\n  b: {extends: c}\n  c: {image: x, extends: a}\n",
        )
        .unwrap();
        let (_, diags) = load(dir.path(), "c.yaml");
        let first = diags
            .iter()
            .find(|d| d.path == "services.a.extends")
            .unwrap();
        let f = dir.path().join("c.yaml");
        let f = f.display();
        assert_eq!(
            first.message,
            format!("extends cycle: a ({f}) -> b ({f}) -> c ({f}) -> a ({f})")
        );
        assert_eq!(first.line, Some(2));
    }

    #[test]
    fn missing_base_service_and_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("c.yaml"),
            "services:\n  a: {extends: nope}\n  b:\n    extends: {file: gone.yaml, service: x}\n",
        )
        .unwrap();
        let (_, diags) = load(dir.path(), "c.yaml");
        let got: Vec<(&str, Option<usize>)> =
            diags.iter().map(|d| (d.path.as_str(), d.line)).collect();
        assert_eq!(
            got,
            [
                ("services.a.extends", Some(2)),
                ("services.b.extends.file", Some(4))
            ]
        );
    }
}
