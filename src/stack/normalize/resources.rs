//! Top-level `networks`, `volumes` and `secrets`. Networks and volumes get engine
//! names `<project>_<key>` unless `name:` is given or they are `external`.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::Ctx;
use super::environment::labels;
use super::read;
use crate::diagnostic::Diagnostic;
use crate::stack::docpath;
use crate::stack::model::{Config, ConfigSource, Network, Secret, SecretSource, Volume};

const NETWORK_KEYS: &[&str] = &["driver", "external", "name", "internal", "labels"];
const NETWORK_UNSUPPORTED: &[&str] = &[
    "driver_opts",
    "ipam",
    "attachable",
    "enable_ipv4",
    "enable_ipv6",
];
const VOLUME_KEYS: &[&str] = &["driver", "external", "name", "labels"];
const VOLUME_UNSUPPORTED: &[&str] = &["driver_opts"];
const SECRET_KEYS: &[&str] = &["file", "environment"];
const SECRET_UNSUPPORTED: &[&str] = &[
    "external",
    "name",
    "labels",
    "driver",
    "driver_opts",
    "template_driver",
    "content",
];

/// Shared by networks and volumes: everything but `internal`.
struct Common {
    driver: Option<String>,
    external: bool,
    name: Option<String>,
    internal: bool,
    labels: BTreeMap<String, String>,
}

fn common(ctx: &mut Ctx, v: &Value, path: &str, known: &[&str], unsupported: &[&str]) -> Common {
    let mut c = Common {
        driver: None,
        external: false,
        name: None,
        internal: false,
        labels: BTreeMap::new(),
    };
    // `data:` with nothing after it declares a resource with all defaults.
    let Some(map) = (if v.is_null() {
        None
    } else {
        read::mapping(ctx, v, path)
    }) else {
        return c;
    };
    for (key, value) in read::entries(ctx, map, path, known, unsupported) {
        let at = docpath::child(path, &key);
        match key.as_str() {
            "driver" => c.driver = read::string(ctx, value, &at),
            "external" => c.external = external(ctx, value, &at, &mut c.name),
            "name" => c.name = read::string(ctx, value, &at),
            "internal" => c.internal = read::boolean(ctx, value, &at).unwrap_or(false),
            "labels" => c.labels = labels(ctx, value, &at),
            _ => unreachable!("only known keys are returned"),
        }
    }
    c
}

/// `external: true`, or the legacy `external: {name: x}`.
fn external(ctx: &mut Ctx, v: &Value, path: &str, name: &mut Option<String>) -> bool {
    if let Value::Mapping(m) = v {
        ctx.push(
            Diagnostic::warning(path, "`external: {name: ...}` is deprecated")
                .with_hint("write `external: true` and `name: ...` next to it"),
        );
        if let Some(n) = m.get("name").and_then(read::scalar_text) {
            *name = Some(n);
        }
        return true;
    }
    read::boolean(ctx, v, path).unwrap_or(false)
}

fn engine_name(ctx: &Ctx, key: &str, c: &Common) -> String {
    match (&c.name, c.external) {
        (Some(n), _) => n.clone(),
        (None, true) => key.to_string(),
        (None, false) => crate::stack::naming::scoped(ctx.project, key),
    }
}

pub fn networks(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, Network> {
    declarations(
        ctx,
        v,
        path,
        NETWORK_KEYS,
        NETWORK_UNSUPPORTED,
        |c, name| Network {
            driver: c.driver,
            external: c.external,
            name,
            internal: c.internal,
            labels: c.labels,
        },
    )
}

pub fn volumes(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, Volume> {
    declarations(ctx, v, path, VOLUME_KEYS, VOLUME_UNSUPPORTED, |c, name| {
        Volume {
            driver: c.driver,
            external: c.external,
            name,
            labels: c.labels,
        }
    })
}

/// Top-level `networks` or `volumes`: each key's settings read by `common`, then
/// made into the model's type together with its engine name.
fn declarations<T>(
    ctx: &mut Ctx,
    v: &Value,
    path: &str,
    keys: &[&str],
    unsupported: &[&str],
    make: impl Fn(Common, String) -> T,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    let Some(map) = nullable_mapping(ctx, v, path) else {
        return out;
    };
    for (key, value) in map {
        let Some(key) = read::scalar_text(key) else {
            read::expected(ctx, path, "names", key);
            continue;
        };
        let c = common(ctx, value, &docpath::child(path, &key), keys, unsupported);
        let name = engine_name(ctx, &key, &c);
        out.insert(key, make(c, name));
    }
    out
}

/// File-backed secrets (made absolute) or ones read from an environment variable.
pub fn secrets(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, Secret> {
    let source = |ctx: &mut Ctx, key: &str, text: &str, at: &str| {
        Some(Secret {
            source: match key {
                "file" => SecretSource::File(existing_file(ctx, text, at, "secret")),
                _ => SecretSource::Environment(text.to_string()),
            },
        })
    };
    let missing = |at: &str, key: &str| {
        Diagnostic::error(at, format!("secret `{key}` needs `file` or `environment`"))
            .with_hint("e.g. `file: ./secrets/db_password.txt`; external secrets are not supported")
    };
    let kinds = (SECRET_KEYS, SECRET_UNSUPPORTED);
    definitions(ctx, v, path, kinds, source, missing)
}

const CONFIG_KEYS: &[&str] = &["file", "content", "environment", "name"];
const CONFIG_UNSUPPORTED: &[&str] = &["external", "labels", "template_driver"];

/// Top-level `configs`: a file (made absolute, bind-mounted read-only), a
/// `content:` text, or an `environment:` variable's value (read now: configs are
/// not secrets), the last two written into the container before it starts.
pub fn configs(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, Config> {
    let source = |ctx: &mut Ctx, key: &str, text: &str, at: &str| {
        Some(match key {
            // The engine-side name of a swarm config; nothing to do locally.
            "name" => return None,
            "file" => Config {
                source: ConfigSource::File(existing_file(ctx, text, at, "config")),
                value: None,
            },
            "content" => Config {
                value: Some(text.to_string()),
                source: ConfigSource::Content(text.to_string()),
            },
            _ => Config {
                value: Some(ctx.vars.get(text).unwrap_or_default().to_string()),
                source: ConfigSource::Environment(text.to_string()),
            },
        })
    };
    let missing = |at: &str, key: &str| {
        Diagnostic::error(
            at,
            format!("config `{key}` needs `file`, `content` or `environment`"),
        )
        .with_hint("e.g. `file: ./nginx.conf`; external configs are not supported")
    };
    let kinds = (CONFIG_KEYS, CONFIG_UNSUPPORTED);
    definitions(ctx, v, path, kinds, source, missing)
}

/// A host file a secret or config names, made absolute; an error when it is not
/// a file (Docker would bind-mount a missing one as a new empty directory).
fn existing_file(ctx: &mut Ctx, text: &str, at: &str, what: &str) -> std::path::PathBuf {
    let file = ctx.resolve(text);
    if !file.is_file() {
        ctx.push(
            Diagnostic::error(at, format!("{what} file {} does not exist", file.display()))
                .with_hint(format!(
                    "create the file (with the {what} in it) or fix the path"
                )),
        );
    }
    file
}

/// The named definitions of top-level `secrets` or `configs` (`keys`: the known
/// and the unsupported keys): each string field goes to `source` (its key, text
/// and path), the last one it makes something of wins; a definition with none is
/// reported with `missing` (its path and name).
fn definitions<T>(
    ctx: &mut Ctx,
    v: &Value,
    path: &str,
    (known, unsupported): (&[&str], &[&str]),
    mut source: impl FnMut(&mut Ctx, &str, &str, &str) -> Option<T>,
    missing: impl Fn(&str, &str) -> Diagnostic,
) -> BTreeMap<String, T> {
    let mut out = BTreeMap::new();
    let Some(map) = nullable_mapping(ctx, v, path) else {
        return out;
    };
    for (key, value) in map {
        let Some(key) = read::scalar_text(key) else {
            read::expected(ctx, path, "names", key);
            continue;
        };
        let at = docpath::child(path, &key);
        let Some(def) = read::mapping(ctx, value, &at) else {
            continue;
        };
        let mut found = None;
        for (k, val) in read::entries(ctx, def, &at, known, unsupported) {
            let k_at = docpath::child(&at, &k);
            let Some(text) = read::string(ctx, val, &k_at) else {
                continue;
            };
            if let Some(made) = source(ctx, &k, &text, &k_at) {
                found = Some(made);
            }
        }
        match found {
            Some(made) => {
                out.insert(key, made);
            }
            None => ctx.push(missing(&at, &key)),
        }
    }
    out
}

fn nullable_mapping<'v>(
    ctx: &mut Ctx,
    v: &'v Value,
    path: &str,
) -> Option<&'v serde_yaml::Mapping> {
    if v.is_null() {
        return None;
    }
    read::mapping(ctx, v, path)
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx_for;
    use super::*;

    #[test]
    fn engine_names() {
        let mut ctx = ctx_for();
        let v: Value = serde_yaml::from_str(
            "{front: , back: {internal: true}, named: {name: shared}, ext: {external: true}}",
        )
        .unwrap();
        let n = networks(&mut ctx, &v, "networks");
        assert_eq!(n["front"].name, "proj_front");
        assert!(n["back"].internal);
        assert_eq!(n["named"].name, "shared");
        assert_eq!(n["ext"].name, "ext");
        assert!(n["ext"].external);
        assert!(ctx.diags.is_empty());
    }

    #[test]
    fn unsupported_keys_warn() {
        let mut ctx = ctx_for();
        let v: Value = serde_yaml::from_str("{data: {driver_opts: {type: nfs}}}").unwrap();
        let vols = volumes(&mut ctx, &v, "volumes");
        assert_eq!(vols["data"].name, "proj_data");
        assert_eq!(ctx.diags[0].path, "volumes.data.driver_opts");
        assert!(!ctx.diags[0].is_error());
    }

    #[test]
    fn secrets_sources() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw.txt"), "s3cret").unwrap();
        let mut ctx = ctx_for();
        ctx.project_dir = dir.path();
        let v: Value = serde_yaml::from_str(
            "{pw: {file: ./pw.txt}, token: {environment: TOKEN}, ext: {external: true}}",
        )
        .unwrap();
        let s = secrets(&mut ctx, &v, "secrets");
        assert_eq!(
            s["pw"].source,
            SecretSource::File(dir.path().join("pw.txt"))
        );
        assert_eq!(s["token"].source, SecretSource::Environment("TOKEN".into()));
        let errors: Vec<&str> = ctx
            .diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.path.as_str())
            .collect();
        assert_eq!(errors, ["secrets.ext"]);
    }

    #[test]
    fn a_missing_secret_file_is_an_error() {
        let mut ctx = ctx_for();
        let v: Value = serde_yaml::from_str("{pw: {file: ./nope.txt}}").unwrap();
        secrets(&mut ctx, &v, "secrets");
        assert_eq!(ctx.diags[0].path, "secrets.pw.file");
        assert!(ctx.diags[0].message.contains("/project/nope.txt"));
    }

    #[test]
    fn configs_sources() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.conf"), "x").unwrap();
        let mut ctx = ctx_for();
        ctx.project_dir = dir.path();
        let v: Value = serde_yaml::from_str(
            "{f: {file: ./app.conf}, c: {content: 'a=1'}, e: {environment: HOME}, gone: {file: ./nope}, none: {name: x}}",
        )
        .unwrap();
        let c = configs(&mut ctx, &v, "configs");
        assert_eq!(
            c["f"].source,
            ConfigSource::File(dir.path().join("app.conf"))
        );
        assert_eq!(c["c"].value.as_deref(), Some("a=1"));
        assert_eq!(c["e"].value.as_deref(), Some("/home/me"));
        let errors: Vec<&str> = ctx.diags.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(errors, ["configs.gone.file", "configs.none"]);
    }
}
