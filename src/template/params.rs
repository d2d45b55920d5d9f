//! Resolving `--set KEY=VALUE` against a manifest's typed parameters.
//!
//! Every problem is collected (unknown key, bad type, out of range, not a
//! choice) so the user fixes them all at once; nothing is generated or written
//! unless all values are valid.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::{Error, Result};
use crate::template::manifest::{self, Kind, Manifest, Parameter};
use crate::template::secret;

/// One parameter's final value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Int(i64),
    Bool(bool),
}

impl Value {
    /// As written to `.env` or shown to the user.
    pub fn to_text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Int(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }

    fn to_json(&self) -> Json {
        match self {
            Value::Text(s) => Json::String(s.clone()),
            Value::Int(n) => Json::from(*n),
            Value::Bool(b) => Json::Bool(*b),
        }
    }
}

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Default,
    Set,
    Generated,
    /// A secret (or host port) already in the project's `.env` (re-init with
    /// --force), kept so that databases initialized with it keep working.
    Kept,
    /// A host port other than the default, which was taken (`template::ports`).
    Chosen,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub parameter: Parameter,
    pub value: Value,
    pub origin: Origin,
}

impl Resolved {
    pub fn is_secret(&self) -> bool {
        matches!(self.parameter.kind, Kind::Secret { .. })
    }
}

/// All parameters of a stack, resolved, in manifest order.
#[derive(Debug, Clone, PartialEq)]
pub struct Values(pub Vec<Resolved>);

impl Values {
    /// The template context: every non-secret parameter by name. Secrets are left
    /// out on purpose, so a template cannot inline one (strict mode makes
    /// `{{db_password}}` an error); the stack file reads them as `${VAR}`.
    pub fn context(&self) -> Map<String, Json> {
        self.0
            .iter()
            .filter(|r| !r.is_secret())
            .map(|r| (r.parameter.name.clone(), r.value.to_json()))
            .collect()
    }

    /// `(VAR, value, is_secret)` for every parameter written to `.env`.
    pub fn env_vars(&self) -> impl Iterator<Item = (&str, String, bool)> {
        self.0.iter().filter_map(|r| {
            r.parameter
                .env
                .as_deref()
                .map(|env| (env, r.value.to_text(), r.is_secret()))
        })
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|r| r.parameter.name == name)
            .map(|r| &r.value)
    }
}

/// Check a user-typed value against a parameter's type.
///
/// No type takes a NUL byte: no file, environment value or command can
/// carry one. Other control characters and line breaks are escaped in
/// pier.yaml and `.env`, and a skeleton file that would take a line break raw
/// refuses it (`render::render_skeleton`).
pub fn parse_value(kind: &Kind, text: &str) -> Result<Value, (String, Option<String>)> {
    if text.contains('\0') {
        return Err((
            "a value cannot contain a NUL byte".to_string(),
            Some("remove the \\0".into()),
        ));
    }
    match kind {
        Kind::String { .. } => Ok(Value::Text(text.to_string())),
        Kind::Secret { .. } => {
            if text.is_empty() {
                Err((
                    "a secret cannot be empty".into(),
                    Some("leave it out to have one generated".into()),
                ))
            } else {
                Ok(Value::Text(text.to_string()))
            }
        }
        Kind::Int { min, max, .. } => manifest::parse_int(text, *min, *max)
            .map(Value::Int)
            .map_err(|m| {
                // An out-of-range message names the range already.
                let hint = (!m.contains("out of range"))
                    .then(|| "write a whole number in digits, e.g. 16".to_string());
                (m, hint)
            }),
        Kind::Port { .. } => manifest::parse_port(text)
            .map(|p| Value::Int(p.into()))
            .map_err(|m| (m, None)),
        Kind::Bool { .. } => flag_bool(text).map(Value::Bool).ok_or_else(|| {
            (
                format!("\"{text}\" is not a boolean"),
                Some("use true or false".into()),
            )
        }),
        Kind::Enum { choices, .. } => {
            if choices.iter().any(|c| c == text) {
                Ok(Value::Text(text.to_string()))
            } else {
                let hint = match did_you_mean(text, choices.iter().map(String::as_str)) {
                    Some(c) => format!("did you mean \"{c}\"? (choices: {})", choices.join(", ")),
                    None => format!("choices: {}", choices.join(", ")),
                };
                Err((format!("\"{text}\" is not one of the choices"), Some(hint)))
            }
        }
    }
}

/// A boolean typed on the command line (`--set editor=yes`): what a YAML
/// boolean may be (`stack::read::bool_text`, which a manifest's `default`
/// must be), and the words people type in a shell: `yes`/`no`, `on`/`off`,
/// `1`/`0`, in any case.
pub fn flag_bool(text: &str) -> Option<bool> {
    crate::stack::read::bool_text(text).or_else(|| match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Some(true),
        "false" | "no" | "off" | "0" => Some(false),
        _ => None,
    })
}

fn default_value(kind: &Kind) -> Option<Value> {
    match kind {
        Kind::String { default } | Kind::Enum { default, .. } => Some(Value::Text(default.clone())),
        Kind::Int { default, .. } => Some(Value::Int(*default)),
        Kind::Port { default } => Some(Value::Int((*default).into())),
        Kind::Bool { default } => Some(Value::Bool(*default)),
        Kind::Secret { .. } => None,
    }
}

/// Resolve the `--set` arguments. A secret not set is taken from `kept`
/// (variables of an existing `.env`, by variable name) or else generated with
/// `generate` (injected so tests are deterministic). `Error::Invalid` lists
/// every problem.
pub fn resolve(
    manifest: &Manifest,
    sets: &[String],
    kept: &BTreeMap<String, String>,
    mut generate: impl FnMut(usize) -> Result<String>,
) -> Result<Values> {
    let mut problems = Vec::new();
    // Later `--set`s win, as with `docker run -e`.
    let mut given: Vec<(&str, Value)> = Vec::new();
    for arg in sets {
        let Some((key, text)) = arg.split_once('=') else {
            problems.push(
                Diagnostic::error(format!("--set {arg}"), "expected KEY=VALUE").with_hint(format!(
                    "e.g. --set {arg}=VALUE; see `pier list {}`",
                    manifest.name
                )),
            );
            continue;
        };
        let key = key.trim();
        let Some(param) = manifest.parameter(key) else {
            let names = manifest.parameters.iter().map(|p| p.name.as_str());
            let hint = match did_you_mean(key, names) {
                Some(name) => format!("did you mean \"{name}\"?"),
                None => format!("see `pier list {}` for its parameters", manifest.name),
            };
            problems.push(
                Diagnostic::error(
                    format!("--set {key}"),
                    format!("stack \"{}\" has no parameter \"{key}\"", manifest.name),
                )
                .with_hint(hint),
            );
            continue;
        };
        match parse_value(&param.kind, text) {
            Ok(value) => {
                given.retain(|(k, _)| *k != key);
                given.push((key, value));
            }
            Err((message, hint)) => {
                let mut d = Diagnostic::error(
                    format!("--set {key}"),
                    format!("{message} ({} parameter)", param.kind.type_name()),
                );
                if let Some(hint) = hint {
                    d = d.with_hint(hint);
                }
                problems.push(d);
            }
        }
    }
    if !problems.is_empty() {
        crate::diagnostic::sort(&mut problems);
        return Err(Error::Invalid(problems));
    }

    let mut out = Vec::new();
    for param in &manifest.parameters {
        let (value, origin) = match given.iter().find(|(k, _)| *k == param.name) {
            Some((_, v)) => (v.clone(), Origin::Set),
            None => match (default_value(&param.kind), &param.kind) {
                (Some(v), _) => (v, Origin::Default),
                (None, Kind::Secret { length }) => {
                    match param.env.as_ref().and_then(|var| kept.get(var)) {
                        Some(value) if !value.is_empty() => {
                            (Value::Text(value.clone()), Origin::Kept)
                        }
                        _ => (Value::Text(generate(*length)?), Origin::Generated),
                    }
                }
                (None, _) => unreachable!("only secrets have no default"),
            },
        };
        out.push(Resolved {
            parameter: param.clone(),
            value,
            origin,
        });
    }
    Ok(Values(out))
}

/// Resolve with new secrets from the operating system's random source.
pub fn resolve_with_os_secrets(
    manifest: &Manifest,
    sets: &[String],
    kept: &BTreeMap<String, String>,
) -> Result<Values> {
    resolve(manifest, sets, kept, secret::generate)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
name: demo
description: d
parameters:
  - {name: version, type: string, default: "8.3"}
  - {name: workers, type: int, default: 2, min: 1, max: 8}
  - {name: editor, type: bool, default: false}
  - {name: web_port, type: port, default: 8080, env: WEB_PORT}
  - {name: database, type: enum, choices: [mariadb, mysql], default: mariadb}
  - {name: db_password, type: secret, env: DB_PASSWORD, length: 20}
"#,
            Path::new("stack.yaml"),
        )
        .unwrap()
    }

    fn fixed(len: usize) -> Result<String> {
        Ok("s".repeat(len))
    }

    fn sets(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    fn problems(args: &[&str]) -> Vec<String> {
        match resolve(&manifest(), &sets(args), &BTreeMap::new(), fixed) {
            Err(Error::Invalid(ds)) => ds.iter().map(|d| d.to_string()).collect(),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_generated_secrets() {
        let v = resolve(&manifest(), &[], &BTreeMap::new(), fixed).unwrap();
        assert_eq!(v.get("version"), Some(&Value::Text("8.3".into())));
        assert_eq!(v.get("workers"), Some(&Value::Int(2)));
        assert_eq!(v.get("editor"), Some(&Value::Bool(false)));
        assert_eq!(v.get("web_port"), Some(&Value::Int(8080)));
        assert_eq!(v.get("db_password"), Some(&Value::Text("s".repeat(20))));
        assert_eq!(v.0[5].origin, Origin::Generated);
    }

    #[test]
    fn overrides_of_every_kind() {
        let v = resolve(
            &manifest(),
            &sets(&[
                "version=8.4",
                "workers=8",
                "editor=yes",
                "web_port=65535",
                "database=mysql",
                "db_password=mine",
                "workers=3",
            ]),
            &BTreeMap::new(),
            fixed,
        )
        .unwrap();
        assert_eq!(v.get("version"), Some(&Value::Text("8.4".into())));
        assert_eq!(
            v.get("workers"),
            Some(&Value::Int(3)),
            "the last --set wins"
        );
        assert_eq!(v.get("editor"), Some(&Value::Bool(true)));
        assert_eq!(v.get("web_port"), Some(&Value::Int(65535)));
        assert_eq!(v.get("database"), Some(&Value::Text("mysql".into())));
        assert_eq!(v.get("db_password"), Some(&Value::Text("mine".into())));
        assert_eq!(v.0[5].origin, Origin::Set);
    }

    #[test]
    fn collects_every_problem() {
        let got = problems(&[
            "web_prot=1",
            "workers=many",
            "workers=9",
            "database=maria",
            "web_port=0",
            "editor=maybe",
            "oops",
        ]);
        assert_eq!(
            got,
            [
                "error: --set database: \"maria\" is not one of the choices (enum parameter)\n  hint: did you mean \"mariadb\"? (choices: mariadb, mysql)",
                "error: --set editor: \"maybe\" is not a boolean (bool parameter)\n  hint: use true or false",
                "error: --set oops: expected KEY=VALUE\n  hint: e.g. --set oops=VALUE; see `pier list demo`",
                "error: --set web_port: 0 is not a port: use 1 to 65535 (port parameter)",
                "error: --set web_prot: stack \"demo\" has no parameter \"web_prot\"\n  hint: did you mean \"web_port\"?",
                "error: --set workers: \"many\" is not a whole number (int parameter)\n  hint: write a whole number in digits, e.g. 16",
                "error: --set workers: 9 is out of range: use 1 to 8 (int parameter)",
            ]
        );
    }

    #[test]
    fn secrets_stay_out_of_the_template_context() {
        let v = resolve(&manifest(), &[], &BTreeMap::new(), fixed).unwrap();
        let ctx = v.context();
        assert!(!ctx.contains_key("db_password"));
        assert_eq!(ctx["web_port"], Json::from(8080));
        assert_eq!(ctx["editor"], Json::Bool(false));
        let env: Vec<_> = v.env_vars().collect();
        assert_eq!(
            env,
            [
                ("WEB_PORT", "8080".to_string(), false),
                ("DB_PASSWORD", "s".repeat(20), true)
            ]
        );
    }

    #[test]
    fn secrets_of_an_existing_env_are_kept() {
        let kept = BTreeMap::from([("DB_PASSWORD".to_string(), "old".to_string())]);
        let v = resolve(&manifest(), &[], &kept, fixed).unwrap();
        assert_eq!(v.get("db_password"), Some(&Value::Text("old".into())));
        assert_eq!(v.0[5].origin, Origin::Kept);
        let v = resolve(&manifest(), &sets(&["db_password=new"]), &kept, fixed).unwrap();
        assert_eq!(
            v.get("db_password"),
            Some(&Value::Text("new".into())),
            "--set wins"
        );
    }

    #[test]
    fn values_cannot_hold_nul_bytes() {
        for bad in ["a\0b", "\0"] {
            let err = problems(&[&format!("version={bad}")]);
            assert_eq!(err.len(), 1, "{bad:?}: {err:?}");
            assert!(err[0].contains("a value cannot contain"), "{err:?}");
            let err = problems(&[&format!("db_password={bad}")]);
            assert!(err[0].contains("a value cannot contain"), "{err:?}");
        }
        assert!(
            resolve(
                &manifest(),
                &sets(&["version=a\tb\nc\u{7}"]),
                &BTreeMap::new(),
                fixed
            )
            .is_ok()
        );
    }

    #[test]
    fn a_value_may_contain_equals_signs() {
        let v = resolve(
            &manifest(),
            &sets(&["version=a=b"]),
            &BTreeMap::new(),
            fixed,
        )
        .unwrap();
        assert_eq!(v.get("version"), Some(&Value::Text("a=b".into())));
    }
}
