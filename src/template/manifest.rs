//! The manifest of a stack template (`stacks/<name>/stack.yaml`): what the stack
//! is, its typed parameters and the skeleton files it writes (DESIGN §5).
//!
//! Manifests are read with the stack reader's parts: its YAML stage
//! (`stack::parse`: anchors, merge keys, positioned syntax errors), its typed
//! reads (`stack::read`: the same strings and booleans, the same "expected …,
//! found …" diagnostics), its document paths (`stack::docpath`) and positions
//! (`stack::positions`), so that every problem is collected as a diagnostic with
//! its path (`parameters[2].default`), placed at its line and column.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use serde_yaml::Value as Yaml;

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::stack::positions::Positions;
use crate::stack::{docpath, read};

/// A parsed, valid manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub name: String,
    pub description: String,
    /// Service names, for `pier list` (optional services included).
    pub services: Vec<String>,
    pub parameters: Vec<Parameter>,
    /// Skeleton files written into the project, besides the stack file.
    pub files: Vec<FileSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// `[a-z][a-z0-9_]*`, the name used in `--set` and in templates.
    pub name: String,
    pub description: String,
    pub kind: Kind,
    /// Written to `.env` under this name; always set for secrets, optional otherwise
    /// (for values the stack file reads as `${VAR}` so users can change them later).
    pub env: Option<String>,
}

/// A parameter's type, with its default and constraints.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    String {
        default: String,
    },
    Int {
        default: i64,
        min: Option<i64>,
        max: Option<i64>,
    },
    Bool {
        default: bool,
    },
    Port {
        default: u16,
    },
    Enum {
        default: String,
        choices: Vec<String>,
    },
    /// Generated at init with `length` random alphanumeric characters.
    Secret {
        length: usize,
    },
}

impl Kind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::String { .. } => "string",
            Kind::Int { .. } => "int",
            Kind::Bool { .. } => "bool",
            Kind::Port { .. } => "port",
            Kind::Enum { .. } => "enum",
            Kind::Secret { .. } => "secret",
        }
    }

    /// The default as the user would type it in `--set`; `None` for secrets.
    pub fn default_text(&self) -> Option<String> {
        match self {
            Kind::String { default } | Kind::Enum { default, .. } => Some(default.clone()),
            Kind::Int { default, .. } => Some(default.to_string()),
            Kind::Bool { default } => Some(default.to_string()),
            Kind::Port { default } => Some(default.to_string()),
            Kind::Secret { .. } => None,
        }
    }
}

/// A path relative to a root that cannot leave it: no `..`, not absolute, not empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(PathBuf);

impl RelPath {
    pub fn parse(text: &str) -> Result<RelPath, String> {
        if text.is_empty() {
            return Err("the path is empty".into());
        }
        let path = Path::new(text);
        let mut clean = PathBuf::new();
        for component in path.components() {
            match component {
                Component::Normal(part) => clean.push(part),
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(format!("\"{text}\" leaves the project directory (`..`)"));
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(format!(
                        "\"{text}\" is absolute; paths must be relative to the project directory"
                    ));
                }
            }
        }
        if clean.as_os_str().is_empty() {
            return Err(format!("\"{text}\" names the directory itself, not a file"));
        }
        Ok(RelPath(clean))
    }

    pub fn as_path(&self) -> &Path {
        &self.0
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.display())
    }
}

/// One skeleton file: read from `source` (relative to the template's skeleton
/// root), written to `dest` (relative to the project directory). Sources ending
/// in `.hbs` are rendered and the suffix dropped; others are copied verbatim.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSpec {
    pub source: RelPath,
    pub dest: RelPath,
    pub render: bool,
}

/// Files pier writes itself; a manifest may not claim them.
pub const ENV_FILE: &str = ".env";
pub const STACK_FILE: &str = "pier.yaml";

const TOP_KEYS: &[&str] = &["name", "description", "services", "parameters", "files"];
const PARAM_KEYS: &[&str] = &[
    "name",
    "type",
    "description",
    "default",
    "min",
    "max",
    "choices",
    "env",
    "length",
];
const FILE_KEYS: &[&str] = &["source", "path"];
const TYPES: &[&str] = &["string", "int", "bool", "port", "enum", "secret"];
const DEFAULT_SECRET_LENGTH: usize = 32;

impl Manifest {
    /// Parse a manifest; `file` is used in diagnostics only.
    pub fn parse(text: &str, file: &Path) -> Result<Manifest, Vec<Diagnostic>> {
        let mut problems = Problems {
            file,
            list: Vec::new(),
        };
        // The loader's YAML stage: anchors, merge keys, positioned syntax errors.
        let doc: Yaml = match crate::stack::parse::parse(text) {
            Ok(doc) => doc,
            Err(d) => return Err(vec![d.in_file(file)]),
        };
        let Some(top) = doc.as_mapping() else {
            return Err(vec![
                Diagnostic::error(
                    "",
                    "a stack manifest must be a mapping with `name`, `description`, `parameters`",
                )
                .in_file(file),
            ]);
        };
        problems.unknown_keys(top, "", TOP_KEYS);

        let name = problems
            .required_string(top, "", "name")
            .unwrap_or_default();
        if !name.is_empty() && !is_identifier(&name, true) {
            problems.error(
                "name",
                format!("\"{name}\" is not a valid stack name"),
                "use lower-case letters, digits, `-` and `_`",
            );
        }
        let description = problems
            .required_string(top, "", "description")
            .unwrap_or_default();
        let services = problems.string_list(top, "", "services");
        let parameters = parse_parameters(top.get("parameters"), &mut problems);
        let files = parse_files(top.get("files"), &mut problems);

        if problems.list.is_empty() {
            Ok(Manifest {
                name,
                description,
                services,
                parameters,
                files,
            })
        } else {
            Positions::index(text).place(&mut problems.list, file);
            crate::diagnostic::sort(&mut problems.list);
            Err(problems.list)
        }
    }

    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

fn parse_parameters(value: Option<&Yaml>, problems: &mut Problems) -> Vec<Parameter> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(items) = value.as_sequence() else {
        problems.error(
            "parameters",
            "must be a list of parameters",
            "write `parameters:` followed by `- name: ...` items",
        );
        return Vec::new();
    };
    let mut out: Vec<Parameter> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = docpath::item("parameters", i);
        let Some(map) = item.as_mapping() else {
            problems.error(&path, "must be a mapping with `name` and `type`", "");
            continue;
        };
        problems.unknown_keys(map, &path, PARAM_KEYS);
        let name = problems.required_string(map, &path, "name");
        let ty = problems.required_string(map, &path, "type");
        let description = problems
            .optional_string(map, &path, "description")
            .unwrap_or_default();
        let env = problems.optional_string(map, &path, "env");
        let (Some(name), Some(ty)) = (name, ty) else {
            continue;
        };

        if !is_identifier(&name, false) {
            problems.error(
                format!("{path}.name"),
                format!("\"{name}\" is not a valid parameter name"),
                "use lower-case letters, digits and `_`, starting with a letter (templates refer to it as {{name}})",
            );
        }
        if out.iter().any(|p| p.name == name) {
            problems.error(
                format!("{path}.name"),
                format!("parameter \"{name}\" is declared twice"),
                "",
            );
        }
        if let Some(env) = &env {
            if !is_env_name(env) {
                problems.error(
                    format!("{path}.env"),
                    format!("\"{env}\" is not a valid variable name"),
                    "use upper-case letters, digits and `_`",
                );
            } else if out.iter().any(|p| p.env.as_deref() == Some(env)) {
                problems.error(
                    format!("{path}.env"),
                    format!("variable {env} is used by two parameters"),
                    "",
                );
            }
        }
        if let Some(kind) = parse_kind(map, &path, &ty, env.is_some(), problems) {
            out.push(Parameter {
                name,
                description,
                kind,
                env,
            });
        }
    }
    out
}

fn parse_kind(
    map: &serde_yaml::Mapping,
    path: &str,
    ty: &str,
    has_env: bool,
    problems: &mut Problems,
) -> Option<Kind> {
    let default = map.get("default");
    let default_path = format!("{path}.default");
    let for_type = |key: &str, allowed: &[&str]| {
        (map.contains_key(key) && !allowed.contains(&ty)).then(|| key.to_string())
    };
    for key in [
        for_type("min", &["int"]),
        for_type("max", &["int"]),
        for_type("choices", &["enum"]),
        for_type("length", &["secret"]),
    ]
    .into_iter()
    .flatten()
    {
        problems.error(
            format!("{path}.{key}"),
            format!("`{key}` does not apply to a {ty} parameter"),
            "",
        );
    }
    // The default is checked with the same parser as `--set`, so a manifest
    // cannot declare a default the user could not type.
    let default_text = |problems: &mut Problems| -> Option<String> {
        match default {
            None => {
                problems.error(
                    &default_path,
                    "missing: every parameter except a secret needs a default",
                    "",
                );
                None
            }
            Some(Yaml::String(s)) => Some(s.clone()),
            Some(Yaml::Number(n)) if ty != "string" && ty != "enum" => Some(n.to_string()),
            Some(Yaml::Bool(b)) if ty == "bool" => Some(b.to_string()),
            Some(_) => {
                problems.error(
                    &default_path,
                    format!("must be a {ty} value"),
                    "quote text values, e.g. default: \"8.3\"",
                );
                None
            }
        }
    };
    let kind = match ty {
        "string" => Kind::String {
            default: default_text(problems)?,
        },
        // What the stack reader accepts as a boolean, nothing more.
        "bool" => match default {
            None => {
                default_text(problems);
                return None;
            }
            Some(value) => Kind::Bool {
                default: read::boolean(problems, value, &default_path)?,
            },
        },
        "port" => {
            let text = default_text(problems)?;
            match parse_port(&text) {
                Ok(default) => Kind::Port { default },
                Err(msg) => return problems.error_none(&default_path, msg, ""),
            }
        }
        "int" => {
            let min = problems.optional_int(map, path, "min");
            let max = problems.optional_int(map, path, "max");
            let text = default_text(problems)?;
            if let (Some(lo), Some(hi)) = (min, max)
                && lo > hi
            {
                return problems.error_none(
                    format!("{path}.min"),
                    format!("min {lo} is greater than max {hi}"),
                    "",
                );
            }
            match parse_int(&text, min, max) {
                Ok(default) => Kind::Int { default, min, max },
                Err(msg) => return problems.error_none(&default_path, msg, ""),
            }
        }
        "enum" => {
            let choices = problems.string_list(map, path, "choices");
            if choices.is_empty() {
                return problems.error_none(
                    format!("{path}.choices"),
                    "an enum needs a non-empty list of choices",
                    "",
                );
            }
            let default = default_text(problems)?;
            if !choices.contains(&default) {
                return problems.error_none(
                    &default_path,
                    format!(
                        "\"{default}\" is not one of the choices: {}",
                        choices.join(", ")
                    ),
                    "",
                );
            }
            Kind::Enum { default, choices }
        }
        "secret" => {
            if default.is_some() {
                problems.error(
                    &default_path,
                    "a secret has no default: it is generated at init",
                    "remove `default`; users can still pass --set",
                );
            }
            if !has_env {
                problems.error(
                    format!("{path}.env"),
                    "a secret needs `env`: the variable it is written to in .env",
                    "e.g. env: DB_PASSWORD",
                );
            }
            let length = match problems.optional_int(map, path, "length") {
                None => DEFAULT_SECRET_LENGTH,
                Some(n) if (16..=256).contains(&n) => n as usize,
                Some(n) => {
                    return problems.error_none(
                        format!("{path}.length"),
                        format!("{n} is out of range"),
                        "use 16 to 256 characters",
                    );
                }
            };
            Kind::Secret { length }
        }
        other => {
            let hint = did_you_mean(other, TYPES.iter().copied())
                .map(|s| format!("did you mean \"{s}\"?"));
            return problems.error_none(
                format!("{path}.type"),
                format!(
                    "unknown type \"{other}\"; expected one of {}",
                    TYPES.join(", ")
                ),
                hint.as_deref().unwrap_or(""),
            );
        }
    };
    Some(kind)
}

fn parse_files(value: Option<&Yaml>, problems: &mut Problems) -> Vec<FileSpec> {
    let Some(value) = value else {
        return Vec::new();
    };
    let Some(items) = value.as_sequence() else {
        problems.error("files", "must be a list of skeleton file paths", "");
        return Vec::new();
    };
    let mut out: Vec<FileSpec> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = docpath::item("files", i);
        // `- public/index.php.hbs` or `- {source: x.hbs, path: y}`.
        let (source, dest) = match item {
            Yaml::String(s) => (Some(s.clone()), None),
            Yaml::Mapping(map) => {
                problems.unknown_keys(map, &path, FILE_KEYS);
                (
                    problems.required_string(map, &path, "source"),
                    problems.optional_string(map, &path, "path"),
                )
            }
            _ => {
                problems.error(
                    &path,
                    "must be a path or a mapping with `source` and `path`",
                    "",
                );
                continue;
            }
        };
        let Some(source) = source else { continue };
        let render = source.ends_with(".hbs");
        let dest_text =
            dest.unwrap_or_else(|| source.strip_suffix(".hbs").unwrap_or(&source).to_string());
        let source = match RelPath::parse(&source) {
            Ok(p) => p,
            Err(msg) => {
                problems.error(
                    &path,
                    msg,
                    "skeleton paths are relative to the template's directory",
                );
                continue;
            }
        };
        let dest = match RelPath::parse(&dest_text) {
            Ok(p) => p,
            Err(msg) => {
                problems.error(&path, msg, "files are written inside the project directory");
                continue;
            }
        };
        let dest_str = dest.to_string();
        if dest_str == ENV_FILE || dest_str == STACK_FILE {
            problems.error(
                &path,
                format!("{dest_str} is written by pier itself"),
                "remove it from `files`",
            );
            continue;
        }
        if out.iter().any(|f| f.dest == dest) {
            problems.error(&path, format!("{dest} is written twice"), "");
            continue;
        }
        out.push(FileSpec {
            source,
            dest,
            render,
        });
    }
    out
}

pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
        Ok(n) => Err(format!("{n} is not a port: use 1 to 65535")),
        Err(_) => Err(format!("\"{text}\" is not a port number: use 1 to 65535")),
    }
}

pub fn parse_int(text: &str, min: Option<i64>, max: Option<i64>) -> Result<i64, String> {
    let n: i64 = text
        .parse()
        .map_err(|_| format!("\"{text}\" is not a whole number"))?;
    match (min, max) {
        (Some(lo), Some(hi)) if n < lo || n > hi => {
            Err(format!("{n} is out of range: use {lo} to {hi}"))
        }
        (Some(lo), None) if n < lo => Err(format!("{n} is too small: the minimum is {lo}")),
        (None, Some(hi)) if n > hi => Err(format!("{n} is too large: the maximum is {hi}")),
        _ => Ok(n),
    }
}

/// Stack names allow `-`; parameter names do not (they are handlebars identifiers).
fn is_identifier(s: &str, allow_dash: bool) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || (allow_dash && c == '-')
        })
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Collects diagnostics for one manifest file.
struct Problems<'a> {
    file: &'a Path,
    list: Vec<Diagnostic>,
}

/// The stack reader's typed reads report here, placed in this file.
impl read::Collect for Problems<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.list.push(d.in_file(self.file));
    }
}

impl Problems<'_> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>, hint: &str) {
        let mut d = Diagnostic::error(path, message).in_file(self.file);
        if !hint.is_empty() {
            d = d.with_hint(hint);
        }
        self.list.push(d);
    }

    fn error_none<T>(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: &str,
    ) -> Option<T> {
        self.error(path, message, hint);
        None
    }

    fn unknown_keys(&mut self, map: &serde_yaml::Mapping, path: &str, known: &[&str]) {
        for key in map.keys() {
            let key = key
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("{key:?}"));
            if !known.contains(&key.as_str()) {
                let hint = did_you_mean(&key, known.iter().copied())
                    .map(|s| format!("did you mean \"{s}\"?"))
                    .unwrap_or_else(|| format!("known keys: {}", known.join(", ")));
                self.error(
                    docpath::child(path, &key),
                    format!("unknown key \"{key}\""),
                    &hint,
                );
            }
        }
    }

    fn optional_string(
        &mut self,
        map: &serde_yaml::Mapping,
        path: &str,
        key: &str,
    ) -> Option<String> {
        let value = map.get(key)?;
        read::string(self, value, &docpath::child(path, key))
    }

    fn required_string(
        &mut self,
        map: &serde_yaml::Mapping,
        path: &str,
        key: &str,
    ) -> Option<String> {
        if !map.contains_key(key) {
            return self.error_none(docpath::child(path, key), "missing", "");
        }
        self.optional_string(map, path, key)
    }

    fn optional_int(&mut self, map: &serde_yaml::Mapping, path: &str, key: &str) -> Option<i64> {
        let value = map.get(key)?;
        let n = value.as_i64();
        if n.is_none() {
            read::expected(self, &docpath::child(path, key), "a whole number", value);
        }
        n
    }

    fn string_list(&mut self, map: &serde_yaml::Mapping, path: &str, key: &str) -> Vec<String> {
        let Some(value) = map.get(key) else {
            return Vec::new();
        };
        let at = docpath::child(path, key);
        let Some(items) = read::sequence(self, value, &at, "a list of strings") else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| read::string(self, item, &docpath::item(&at, i)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, Vec<Diagnostic>> {
        Manifest::parse(text, Path::new("stack.yaml"))
    }

    fn messages(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect()
    }

    fn positioned(text: &str) -> Vec<String> {
        parse(text)
            .unwrap_err()
            .iter()
            .map(|d| match (d.line, d.column) {
                (Some(l), Some(c)) => format!("{l}:{c} {}: {}", d.path, d.message),
                _ => format!("- {}: {}", d.path, d.message),
            })
            .collect()
    }

    const GOOD: &str = r#"
name: demo
description: A demo stack
services: [web, db]
parameters:
  - name: version
    type: string
    default: "8.3"
    description: PHP version
  - name: workers
    type: int
    default: 2
    min: 1
    max: 8
  - name: debug
    type: bool
    default: false
  - name: web_port
    type: port
    default: 8080
    env: WEB_PORT
  - name: database
    type: enum
    choices: [mariadb, mysql]
    default: mariadb
  - name: db_password
    type: secret
    env: DB_PASSWORD
files:
  - public/index.php.hbs
  - source: gitignore
    path: .gitignore
"#;

    #[test]
    fn parses_every_parameter_type_and_file_form() {
        let m = parse(GOOD).unwrap();
        assert_eq!(m.name, "demo");
        assert_eq!(m.services, ["web", "db"]);
        let kinds: Vec<_> = m.parameters.iter().map(|p| p.kind.type_name()).collect();
        assert_eq!(kinds, ["string", "int", "bool", "port", "enum", "secret"]);
        assert_eq!(
            m.parameter("workers").unwrap().kind,
            Kind::Int {
                default: 2,
                min: Some(1),
                max: Some(8)
            }
        );
        assert_eq!(
            m.parameter("db_password").unwrap().kind,
            Kind::Secret { length: 32 }
        );
        assert_eq!(
            m.parameter("web_port").unwrap().env.as_deref(),
            Some("WEB_PORT")
        );
        assert_eq!(m.files[0].dest.to_string(), "public/index.php");
        assert!(m.files[0].render);
        assert_eq!(m.files[1].source.to_string(), "gitignore");
        assert_eq!(m.files[1].dest.to_string(), ".gitignore");
        assert!(!m.files[1].render);
    }

    #[test]
    fn collects_all_problems_with_paths() {
        let msgs = positioned(
            r#"
name: demo
descripton: typo
parameters:
  - name: port
    type: port
    default: 70000
  - name: db
    type: enum
    choices: [a, b]
    default: c
  - name: pw
    type: secret
    default: hunter2
  - name: n
    type: int
    default: 10
    max: 5
  - name: x
    type: strng
    default: y
"#,
        );
        // In document order; a missing key has no line and comes last.
        assert_eq!(
            msgs,
            [
                "3:1 descripton: unknown key \"descripton\"",
                "7:5 parameters[0].default: 70000 is not a port: use 1 to 65535",
                "11:5 parameters[1].default: \"c\" is not one of the choices: a, b",
                "12:9 parameters[2].env: a secret needs `env`: the variable it is written to in .env",
                "14:5 parameters[2].default: a secret has no default: it is generated at init",
                "17:5 parameters[3].default: 10 is too large: the maximum is 5",
                "20:5 parameters[4].type: unknown type \"strng\"; expected one of string, int, bool, port, enum, secret",
                "- description: missing",
            ]
        );
    }

    #[test]
    fn file_paths_cannot_leave_the_project() {
        let msgs = messages(
            "name: d\ndescription: d\nfiles:\n  - ../evil\n  - source: ok\n    path: /etc/passwd\n  - source: a/../../b\n  - .env\n",
        );
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(msgs[0].contains("leaves the project directory"));
        assert!(msgs[1].contains("is absolute"));
        assert!(msgs[2].contains("leaves the project directory"));
        assert!(msgs[3].contains(".env is written by pier itself"));
    }

    #[test]
    fn yaml_syntax_errors_have_a_position() {
        let errs = parse("name: [unclosed\n").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].line.is_some());
        assert_eq!(errs[0].file.as_deref(), Some(Path::new("stack.yaml")));
    }

    #[test]
    fn text_defaults_must_be_quoted() {
        let msgs = messages(
            "name: d\ndescription: d\nparameters:\n  - name: v\n    type: string\n    default: 8.10\n",
        );
        assert_eq!(msgs, ["parameters[0].default: must be a string value"]);
    }

    /// A bool default is read like a boolean of the stack file (`tty:`), with
    /// its diagnostic: YAML 1.1's `yes`/`on`/`1` are refused by both.
    #[test]
    fn bool_defaults_accept_exactly_what_the_stack_reader_accepts() {
        let manifest = |value: &str| {
            parse(&format!(
                "name: d\ndescription: d\nparameters:\n  - name: b\n    type: bool\n    default: {value}\n"
            ))
            .map(|m| m.parameters[0].kind.clone())
            .map_err(|e| e[0].message.clone())
        };
        let stack = |value: &str| {
            crate::stack::load_str(
                &format!("services:\n  web:\n    image: x\n    tty: {value}\n"),
                Path::new("pier.yaml"),
                Path::new("/p"),
                &Default::default(),
                Some("p"),
            )
            .map(|(s, _)| Kind::Bool {
                default: s.services["web"].tty,
            })
            .map_err(|e| e[0].message.clone())
        };
        for value in [
            "true", "True", "TRUE", "false", "False", "FALSE", "\"true\"", "yes", "no", "on",
            "off", "1", "0", "tRue", "\"yes\"", "y",
        ] {
            assert_eq!(manifest(value), stack(value), "default: {value}");
        }
        assert_eq!(manifest("True"), Ok(Kind::Bool { default: true }));
        assert_eq!(manifest("FALSE"), Ok(Kind::Bool { default: false }));
        for refused in ["yes", "on", "1", "no", "off", "0"] {
            assert!(manifest(refused).is_err(), "default: {refused}");
        }
        assert_eq!(
            manifest("yes"),
            Err("expected true or false, found the string \"yes\"".into())
        );
    }

    #[test]
    fn rel_paths_are_normalized() {
        assert_eq!(RelPath::parse("./a/./b").unwrap().to_string(), "a/b");
        assert!(RelPath::parse(".").is_err());
        assert!(RelPath::parse("").is_err());
    }
}
