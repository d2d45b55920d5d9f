//! Loading a stack file (DESIGN §4), in stages, one file each, as compose-go does:
//!
//! 1. `project` — find the files (`-f`, `COMPOSE_FILE`, the default file and
//!    its override), name the project;
//! 2. `documents` — read each file: `parse` (YAML text → value, anchors, merge
//!    keys; `positions` indexes where each node is), `interpolate` (`${VAR}`
//!    from the shell environment over `.env`, `dotenv`), `extends`, `include`;
//!    then `merge` the files by the Compose merge rules (`origins` remembers
//!    which file and line each node came from);
//! 3. `normalize` — short and long Compose syntax → the `model`;
//! 4. `profiles` — only the enabled services stay;
//! 5. `validate` — checks across services (host ports, cycles via `graph`).
//!
//! Every stage collects diagnostics with document paths; they are placed at
//! file, line and column at the end, sorted, and returned all at once.
//! This is the only module that touches serde_yaml.

pub mod develop;
pub mod docpath;
pub mod documents;
pub mod dotenv;
mod extends;
#[cfg(test)]
pub mod fixture;
pub mod graph;
mod include;
pub mod interpolate;
pub mod merge;
pub mod model;
pub mod naming;
mod normalize;
pub mod origins;
pub mod parse;
pub mod paths;
pub mod positions;
pub mod profiles;
pub mod project;
pub mod read;
pub mod userfile;
pub mod validate;
pub mod yaml_emit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use interpolate::Variables;
pub use model::Stack;
pub use normalize::{DEFAULT_HOST_IP, short_port, short_volume};

use crate::diagnostic::{self, Diagnostic};
use crate::error::Error;
use documents::Loader;
use project::NameSource;

/// What `load` needs besides the files: the command line and the environment,
/// passed in so tests do not depend on the process.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f FILE`, repeatable, merged in order. Empty: `COMPOSE_FILE` from
    /// `environment`, else the default file and the override file beside it.
    pub files: Vec<PathBuf>,
    /// `-p NAME`.
    pub project_name: Option<String>,
    /// `--env-file FILE`, instead of `.env` next to the stack file.
    pub env_file: Option<PathBuf>,
    /// `--profile NAME`, repeatable. Empty: `COMPOSE_PROFILES` from `environment`.
    pub profiles: Vec<String>,
    /// Services named on the command line (`pier up web`): in the stack
    /// whatever their profiles, with what they depend on.
    pub services: Vec<String>,
    /// Directory relative command-line paths are resolved against.
    pub cwd: PathBuf,
    /// The shell environment.
    pub environment: BTreeMap<String, String>,
}

/// A loaded, valid stack.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub stack: Stack,
    /// Problems that did not stop loading, sorted; for stderr.
    pub warnings: Vec<Diagnostic>,
    /// The first stack file, absolute: its directory is the project's.
    pub file: PathBuf,
    /// Every stack file, absolute, in merge order.
    pub files: Vec<PathBuf>,
    /// The values read from `.env` (or `--env-file`), for `pier info`.
    pub dotenv: BTreeMap<String, String>,
}

/// Find, read and load the stack files. Invalid input is `Error::Invalid` with
/// every diagnostic — errors and warnings — sorted by position.
pub fn load(opts: &LoadOptions) -> Result<Loaded, Error> {
    let files = project::locate_files(&opts.files, &opts.environment, &opts.cwd)?;
    let file = files[0].clone();
    let project_dir = file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| opts.cwd.clone());

    let (dotenv, unusable, mut diags) = read_dotenv(opts, &project_dir)?;
    let vars = Variables::layered(&dotenv, &opts.environment).with_unusable(unusable);
    let active = profiles::active(
        &opts.profiles,
        opts.environment.get("COMPOSE_PROFILES").map(String::as_str),
    );
    let result = assemble(
        Loader::default(),
        &files,
        &project_dir,
        &vars,
        opts.project_name.as_deref(),
        Some((&active, &opts.services)),
    );
    match result {
        Ok((stack, warnings)) if !diags.iter().any(Diagnostic::is_error) => {
            diags.extend(warnings);
            diagnostic::sort(&mut diags);
            Ok(Loaded {
                stack,
                warnings: diags,
                file,
                files,
                dotenv,
            })
        }
        Ok((_, more)) | Err(more) => {
            diags.extend(more);
            diagnostic::sort(&mut diags);
            Err(Error::Invalid(diags))
        }
    }
}

/// What `read_dotenv` gives: the values, the variables that cannot be used
/// (see `dotenv::Parsed`), and problems.
type Dotenv = (
    BTreeMap<String, String>,
    BTreeMap<String, Diagnostic>,
    Vec<Diagnostic>,
);

/// `.env` next to the stack file (absent is fine), or `--env-file` (must exist).
fn read_dotenv(opts: &LoadOptions, project_dir: &Path) -> Result<Dotenv, Error> {
    let (path, required) = match &opts.env_file {
        Some(f) => (opts.cwd.join(f), true),
        None => (project_dir.join(".env"), false),
    };
    let text = match userfile::read_text(&path) {
        Ok(text) => text,
        Err(userfile::Problem::NotFound) if !required => {
            return Ok(Default::default());
        }
        Err(userfile::Problem::NotFound) => {
            return Err(Error::invalid(
                Diagnostic::error("", "env file not found")
                    .in_file(&path)
                    .with_hint("check the --env-file path"),
            ));
        }
        Err(problem) => return Err(Error::invalid(problem.into_diagnostic(&path, "env file"))),
    };
    let env = &opts.environment;
    let parsed = dotenv::parse_deferred(&text, &|n| env.get(n).cloned());
    let place = |d: Diagnostic| d.in_file(&path);
    Ok((
        parsed.values,
        parsed
            .unusable
            .into_iter()
            .map(|(k, d)| (k, place(d)))
            .collect(),
        parsed.diags.into_iter().map(place).collect(),
    ))
}

/// Load a stack from text: the whole pipeline after finding the file, every
/// service kept whatever its profiles. Pure but for what the file refers to
/// (`env_file`s, `extends: {file:}`, `include`), read from disk relative to
/// `project_dir`. Ok holds the stack and its warnings; Err every diagnostic, sorted.
pub fn load_str(
    text: &str,
    file: &Path,
    project_dir: &Path,
    vars: &Variables,
    project_name: Option<&str>,
) -> Result<(Stack, Vec<Diagnostic>), Vec<Diagnostic>> {
    assemble(
        Loader::with_text(file, text),
        &[file.to_path_buf()],
        project_dir,
        vars,
        project_name,
        None,
    )
}

/// The stages after finding the files. `selection`: the active profiles and
/// the services named on the command line, when profiles apply.
fn assemble(
    mut loader: Loader,
    files: &[PathBuf],
    project_dir: &Path,
    vars: &Variables,
    project_name: Option<&str>,
    selection: Option<(&[String], &[String])>,
) -> Result<(Stack, Vec<Diagnostic>), Vec<Diagnostic>> {
    let missing = |path: &Path| {
        Diagnostic::error("", "stack file not found")
            .in_file(path)
            .with_hint(
                "check the -f path (or COMPOSE_FILE), or run `pier init <stack>` to create one",
            )
    };
    let Some(doc) = loader.project(files, project_dir, vars, &[], &missing) else {
        let mut diags = loader.diags;
        diagnostic::sort(&mut diags);
        return Err(diags);
    };
    let mut diags = Vec::new();
    let (name, cli_problem) = project_name_for(&doc.value, project_dir, project_name, &mut diags);
    let (mut stack, more) = normalize::normalize(&doc.value, &name, project_dir, vars);
    diags.extend(more);
    if let Some((active, named)) = selection {
        diags.extend(profiles::apply(&mut stack, active, named));
    }
    // Services or references that failed to normalize are left out of `stack`,
    // which can hide a conflict but never invent one: validating anyway shows
    // every problem in one run.
    diags.extend(validate::validate(&stack));
    loader.report(&doc.origins, diags);
    let mut diags = loader.diags;
    diagnostic::sort(&mut diags);
    // A bad `-p` is not in the file: no file or position.
    diags.extend(cli_problem);
    if diags.iter().any(Diagnostic::is_error) {
        Err(diags)
    } else {
        Ok((stack, diags))
    }
}

/// The project name: `-p`, else `name:` in the file, else the directory's name.
fn project_name_for(
    value: &serde_yaml::Value,
    project_dir: &Path,
    explicit: Option<&str>,
    diags: &mut Vec<Diagnostic>,
) -> (String, Option<Diagnostic>) {
    if let Some(name) = explicit {
        let problem = (!project::is_valid_name(name))
            .then(|| project::invalid_name(name, NameSource::CommandLine));
        return (name.to_string(), problem);
    }
    if let Some(name) = value.get("name").filter(|v| !v.is_null()) {
        match name.as_str() {
            Some(n) if project::is_valid_name(n) => return (n.to_string(), None),
            Some(n) => diags.push(project::invalid_name(n, NameSource::File)),
            None => diags.push(Diagnostic::error("name", "expected a project name string")),
        }
        return ("invalid".to_string(), None);
    }
    match project::name_from_dir(project_dir) {
        Some(n) => (n, None),
        None => {
            diags.push(
                Diagnostic::error(
                    "",
                    format!(
                        "cannot make a project name from directory {}",
                        project_dir.display()
                    ),
                )
                .with_hint("add `name: <project>` to the file or pass -p NAME"),
            );
            ("invalid".to_string(), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        Variables::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn load_text(text: &str, v: &Variables) -> Result<(Stack, Vec<Diagnostic>), Vec<Diagnostic>> {
        load_str(
            text,
            Path::new("/p/shop/pier.yaml"),
            Path::new("/p/shop"),
            v,
            None,
        )
    }

    #[test]
    fn project_name_sources() {
        let v = vars(&[]);
        let (s, _) = load_text("services: {web: {image: x}}\n", &v).unwrap();
        assert_eq!(s.name, "shop");
        let (s, _) = load_text("name: other\nservices: {web: {image: x}}\n", &v).unwrap();
        assert_eq!(s.name, "other");
        let (s, _) = load_str(
            "name: other\nservices: {web: {image: x}}\n",
            Path::new("/p/f.yaml"),
            Path::new("/p"),
            &v,
            Some("cli"),
        )
        .unwrap();
        assert_eq!(s.name, "cli");
        let e = load_text("name: Bad Name\nservices: {web: {image: x}}\n", &v).unwrap_err();
        assert_eq!((e[0].path.as_str(), e[0].line), ("name", Some(1)));
        let e = load_str(
            "services: {web: {image: x}}\n",
            Path::new("/p/f.yaml"),
            Path::new("/p"),
            &v,
            Some("UP"),
        )
        .unwrap_err();
        assert!(e[0].file.is_none());
    }

    #[test]
    fn interpolation_feeds_normalization() {
        let v = vars(&[("PORT", "9090")]);
        let (s, w) = load_text(
            "services:\n  web:\n    image: nginx:${TAG:-1.27}\n    ports: [\"${PORT}:80\"]\n",
            &v,
        )
        .unwrap();
        assert!(w.is_empty());
        assert_eq!(s.services["web"].image.as_deref(), Some("nginx:1.27"));
        assert_eq!(s.services["web"].ports[0].published, Some(9090));
    }

    #[test]
    fn diagnostics_are_placed_and_sorted() {
        let text = "services:\n  web:\n    image: x\n    depends_on: [dbb]\n    ports: [\"8080:80\", \"99999:80\"]\n  db:\n    image: ${IMAGE:?set IMAGE}\n    gpus: all\n";
        let e = load_text(text, &vars(&[])).unwrap_err();
        let got: Vec<(Option<usize>, &str)> = e.iter().map(|d| (d.line, d.path.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some(4), "services.web.depends_on[0]"),
                (Some(5), "services.web.ports[1]"),
                (Some(7), "services.db.image"),
                (Some(8), "services.db.gpus"),
            ]
        );
        assert!(
            e.iter()
                .all(|d| d.file.as_deref() == Some(Path::new("/p/shop/pier.yaml")))
        );
        assert!(e[2].message.contains("IMAGE") && e[2].message.contains("set IMAGE"));
    }

    #[test]
    fn unset_variables_warn() {
        let (s, w) = load_text(
            "services:\n  web:\n    image: x\n    environment: {A: \"${NOPE}\"}\n",
            &vars(&[]),
        )
        .unwrap();
        assert_eq!(s.services["web"].environment["A"], "");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].line, Some(4));
    }

    #[test]
    fn malformed_yaml_has_its_line() {
        let e = load_text(
            "services:\n  web:\n    image: x\n   ports: []\n",
            &vars(&[]),
        )
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, Some(4));
    }

    #[test]
    fn cycles_are_reported() {
        let e = load_text(
            "services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n  c: {image: x, depends_on: [a]}\n",
            &vars(&[]),
        )
        .unwrap_err();
        assert_eq!(e[0].message, "dependency cycle: a -> b -> c -> a");
        assert_eq!(e[0].line, Some(2));
    }

    /// `pier config` prints a stack file pier loads back into the same stack.
    #[test]
    fn config_output_loads_back_unchanged() {
        let text = r#"
name: shop
x-base: &base {restart: "on-failure:2", labels: [tier=app]}
services:
  web:
    <<: *base
    build: {context: ./app, args: {V: "1"}, target: dev}
    command: php -S 0.0.0.0:80
    ports: ["8080:80", "0.0.0.0:53:53/udp", 9000]
    volumes: ["./src:/app:ro", "data:/data", "/anon"]
    tmpfs: /run
    depends_on: {db: {condition: service_healthy}, init: {condition: service_completed_successfully}}
    networks: {front: {aliases: [www]}, back: }
    secrets: [pw, {source: pw, target: other}]
    healthcheck: {test: curl -f localhost, interval: 1m30s, start_period: 500ms}
    stop_grace_period: 20s
    mem_limit: 256m
  db:
    image: mariadb
    networks: [back]
    healthcheck: {disable: true}
    entrypoint: ["/bin/sh", "-c"]
  init: {image: busybox, network_mode: "service:db", deploy: {replicas: 2}}
networks:
  front: {driver: bridge}
  back: {internal: true}
  ext: {external: true}
volumes:
  data: {name: shared-data}
secrets:
  pw: {file: ./pw.txt}
"#;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw.txt"), "s3cret").unwrap();
        let load = |text: &str| {
            load_str(
                text,
                &dir.path().join("pier.yaml"),
                dir.path(),
                &vars(&[]),
                None,
            )
        };
        // The one warning: port 53 is published on every interface, on purpose here.
        let only_exposure = |w: &[Diagnostic]| {
            w.len() == 1 && w[0].path == "services.web.ports" && w[0].message.contains("0.0.0.0:53")
        };
        let (first, warnings) = load(text).unwrap();
        assert!(only_exposure(&warnings), "{warnings:?}");
        // What `pier config` prints (the one Compose writer), secrets shown.
        let (printed, _) =
            crate::export::compose::config(&first, &crate::secrets::Secrets::new(), false);
        let (second, warnings) = load(&printed).unwrap();
        assert!(only_exposure(&warnings), "{warnings:?}");
        assert_eq!(first, second, "{printed}");
    }

    #[test]
    fn load_reads_dotenv_and_shell_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "TAG=from-dotenv\nPORT=1234\n").unwrap();
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  web:\n    image: nginx:${TAG}\n    ports: [\"${PORT}:80\"]\n",
        )
        .unwrap();
        let opts = LoadOptions {
            cwd: dir.path().to_path_buf(),
            environment: [("TAG".to_string(), "from-shell".to_string())].into(),
            ..LoadOptions::default()
        };
        let loaded = load(&opts).unwrap();
        assert_eq!(
            loaded.stack.services["web"].image.as_deref(),
            Some("nginx:from-shell")
        );
        assert_eq!(loaded.stack.services["web"].ports[0].published, Some(1234));
        assert_eq!(loaded.dotenv["TAG"], "from-dotenv");
        assert_eq!(loaded.file, dir.path().join("compose.yaml"));
    }
}

#[cfg(test)]
mod robustness {
    use super::*;

    /// Odd but well-formed YAML must give diagnostics, never a panic.
    #[test]
    fn odd_documents_never_panic() {
        let docs = [
            "",
            "---\n",
            "[]",
            "42",
            "services:",
            "services: {web: }",
            "services: {\"\": {image: x}}",
            "services: {web: {image: [x]}}",
            "services: {web: {image: x, ports: [{target: 80, published: [1]}, {target: []}, {}]}}",
            "services: {web: {image: x, healthcheck: {test: []}}}",
            "services: {web: {image: x, healthcheck: {test: [CMD]}}}",
            "services: {web: {image: x, healthcheck: [1]}}",
            "services: {web: {image: x, depends_on: {db: 3}}, db: {image: y}}",
            "services: {web: {image: x, depends_on: [[db]]}}",
            "services: {web: {image: x, volumes: [{type: bind}, {type: tmpfs, source: a, target: /t}, {target: rel}]}}",
            "services: {web: {image: x, volumes: [\"::\", \":/a\", \"a:b:c:d\"]}}",
            "services: {web: {image: x, networks: {x: [1]}}}",
            "services: {web: {image: x, secrets: [{}, 3, {source: [a]}]}}",
            "services: {web: {image: x, environment: [[a]], labels: {a: [1]}, env_file: {}}}",
            "services: {web: {image: x, command: \"unterminated 'quote\", entrypoint: {a: 1}}}",
            "services: {web: {image: x, deploy: {replicas: -1}}}",
            "services: {web: {image: x, ports: [\"${NOPE\"]}}}",
            "services: {web: {image: !!str x, build: !custom {context: .}}}",
            "services: {web: {image: x, ports: [\"[::1\", \"[zz]:1:1\", \"1-\", \"-1\", \"65535-1:1-65535\"]}}",
            "secrets: {a: 3, b: {}}\nvolumes: [x]\nnetworks: 3\nservices: {w: {image: x}}",
            "services: {w: {image: x, network_mode: \"service:w\"}}",
            "services: {w: {image: x, <<: [1]}}",
            "services: {w: {image: \"€${A:-ü}€\", environment: {\"ü\": \"$ü\"}}}",
            "name: 3\nservices: {w: {image: x}}",
        ];
        let vars = Variables::default();
        for doc in docs {
            let result = load_str(
                doc,
                Path::new("/p/x/pier.yaml"),
                Path::new("/p/x"),
                &vars,
                None,
            );
            if let Err(diags) = result {
                assert!(
                    diags.iter().any(Diagnostic::is_error),
                    "{doc}: an Err without an error"
                );
            }
        }
    }
}
