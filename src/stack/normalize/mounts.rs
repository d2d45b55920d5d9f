//! Service `volumes` (short and long syntax) and `tmpfs`.
//!
//! Short: `data:/var/lib/mysql` (named volume, must be declared at the top level),
//! `./src:/app[:ro]` (bind; `.`, `/` or `~` marks a host path, made absolute against
//! the project directory), `/data` (anonymous volume).

use serde_yaml::Value;

use super::Ctx;
use super::read::{self, scalar_text};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::stack::docpath;
use crate::stack::model::{Mount, MountKind};

const LONG_KEYS: &[&str] = &["type", "source", "target", "read_only"];
const LONG_UNSUPPORTED: &[&str] = &["bind", "volume", "tmpfs", "consistency", "image"];

pub fn volumes(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<Mount> {
    let Some(items) = read::sequence(ctx, v, path, "a list of volumes") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = docpath::item(path, i);
        let mount = match item {
            Value::Mapping(_) => long(ctx, item, &at),
            other => match scalar_text(other) {
                Some(text) => short(ctx, &text, &at),
                None => {
                    read::expected(
                        ctx,
                        &at,
                        "a volume like \"data:/path\" or a mapping with `target`",
                        other,
                    );
                    None
                }
            },
        };
        out.extend(mount);
    }
    out
}

/// One volume in the short syntax given on the command line (`pier run -v`),
/// read as in a stack file — a named volume must be one of `declared` — except
/// that a relative host path is against `base` (the current directory, as the
/// shell that typed it means). The diagnostics carry no path: the caller names
/// the flag.
pub fn short_volume(
    text: &str,
    base: &std::path::Path,
    home: &str,
    declared: &std::collections::BTreeSet<String>,
) -> Result<Mount, Vec<Diagnostic>> {
    let vars = crate::stack::Variables::new([("HOME".to_string(), home.to_string())].into());
    let mut ctx = Ctx {
        project: "",
        project_dir: base,
        vars: &vars,
        declared: super::Declared {
            volumes: declared.clone(),
            ..Default::default()
        },
        diags: Vec::new(),
    };
    let mount = short(&mut ctx, text, "");
    match mount {
        Some(m) if !ctx.diags.iter().any(Diagnostic::is_error) => Ok(m),
        _ => Err(ctx.diags),
    }
}

fn is_host_path(source: &str) -> bool {
    source.starts_with(['.', '/', '~'])
}

fn short(ctx: &mut Ctx, text: &str, path: &str) -> Option<Mount> {
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, None),
        [source, target] => (Some(*source), *target, None),
        [source, target, mode] => (Some(*source), *target, Some(*mode)),
        _ => {
            ctx.push(
                Diagnostic::error(path, format!("invalid volume {text:?}")).with_hint(
                    "write SOURCE:TARGET[:ro], e.g. \"data:/var/lib/mysql\" or \"./src:/app:ro\"",
                ),
            );
            return None;
        }
    };
    let read_only = mode.map(|m| read_only_mode(ctx, m, path)).unwrap_or(false);
    let (kind, source) = match source.filter(|s| !s.is_empty()) {
        None => (MountKind::Volume, None),
        Some(s) if is_host_path(s) => (
            MountKind::Bind,
            Some(ctx.resolve(s).to_string_lossy().into_owned()),
        ),
        Some(name) => {
            check_declared(ctx, name, path);
            (MountKind::Volume, Some(name.to_string()))
        }
    };
    target_ok(ctx, target, path).then(|| Mount {
        kind,
        source,
        target: target.to_string(),
        read_only,
    })
}

/// `ro`, `rw`, and options that only mean something elsewhere, e.g. `ro,z`.
fn read_only_mode(ctx: &mut Ctx, mode: &str, path: &str) -> bool {
    let mut read_only = false;
    for option in mode.split(',') {
        match option {
            "ro" => read_only = true,
            "rw" => read_only = false,
            // Docker Desktop file-sharing hints; no effect on Linux, as in Compose.
            "cached" | "delegated" | "consistent" => {}
            "z" | "Z" | "nocopy" => ctx.push(Diagnostic::warning(
                path,
                format!("volume option `{option}` is not supported by pier and is ignored"),
            )),
            other => ctx.push(
                Diagnostic::error(path, format!("unknown volume mode {other:?}"))
                    .with_hint("use `ro` or `rw`"),
            ),
        }
    }
    read_only
}

fn target_ok(ctx: &mut Ctx, target: &str, path: &str) -> bool {
    if target.starts_with('/') {
        return true;
    }
    ctx.push(
        Diagnostic::error(path, format!("container path {target:?} must be absolute"))
            .with_hint("start the path inside the container with `/`"),
    );
    false
}

fn check_declared(ctx: &mut Ctx, name: &str, path: &str) {
    if ctx.declared.volumes.contains(name) {
        return;
    }
    let mut d = Diagnostic::error(
        path,
        format!("volume `{name}` is not declared under top-level `volumes`"),
    );
    d = match did_you_mean(name, ctx.declared.volumes.iter().map(String::as_str)) {
        Some(close) => d.with_hint(format!("did you mean `{close}`?")),
        None => d.with_hint(format!(
            "add `{name}:` under a top-level `volumes:` key, or write `./{name}` for a directory of the project"
        )),
    };
    ctx.push(d);
}

fn long(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Mount> {
    let map = v.as_mapping().expect("called with a mapping");
    let (mut kind, mut source, mut target, mut read_only) = (None, None, None, false);
    for (key, value) in read::entries(ctx, map, path, LONG_KEYS, LONG_UNSUPPORTED) {
        let at = docpath::child(path, &key);
        match key.as_str() {
            "type" => {
                kind = match read::string(ctx, value, &at).as_deref() {
                    Some("volume") => Some(MountKind::Volume),
                    Some("bind") => Some(MountKind::Bind),
                    Some("tmpfs") => Some(MountKind::Tmpfs),
                    Some(other) => {
                        ctx.push(
                            Diagnostic::error(at, format!("unsupported volume type {other:?}"))
                                .with_hint("use volume, bind or tmpfs"),
                        );
                        return None;
                    }
                    None => return None,
                }
            }
            "source" => source = read::string(ctx, value, &at).filter(|s| !s.is_empty()),
            "target" => target = read::string(ctx, value, &at),
            "read_only" => read_only = read::boolean(ctx, value, &at).unwrap_or(false),
            _ => unreachable!("only known keys are returned"),
        }
    }
    let Some(target) = target else {
        ctx.push(
            Diagnostic::error(path, "a volume in long syntax needs `target`")
                .with_hint("add `target: /path/in/container`"),
        );
        return None;
    };
    let kind = kind.unwrap_or(MountKind::Volume);
    let source = match (kind, source) {
        (MountKind::Bind, Some(s)) => Some(ctx.resolve(&s).to_string_lossy().into_owned()),
        (MountKind::Bind, None) => {
            ctx.push(
                Diagnostic::error(path, "a bind mount needs `source`")
                    .with_hint("add `source: ./dir`"),
            );
            return None;
        }
        (MountKind::Volume, Some(name)) => {
            check_declared(ctx, &name, path);
            Some(name)
        }
        (MountKind::Tmpfs, Some(_)) => {
            ctx.push(Diagnostic::error(path, "a tmpfs mount takes no `source`"));
            return None;
        }
        (_, None) => None,
    };
    target_ok(ctx, &target, path).then_some(Mount {
        kind,
        source,
        target,
        read_only,
    })
}

/// `tmpfs: /run` or a list; mount options after `:` are not supported.
pub fn tmpfs(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for entry in read::string_or_list(ctx, v, path) {
        let (target, options) = entry.split_once(':').unwrap_or((&entry, ""));
        if !options.is_empty() {
            ctx.push(Diagnostic::warning(
                path,
                format!("tmpfs options {options:?} are not supported by pier and are ignored"),
            ));
        }
        if target_ok(ctx, target, path) {
            out.push(Mount {
                kind: MountKind::Tmpfs,
                source: None,
                target: target.to_string(),
                read_only: false,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx_for;
    use super::*;

    fn parse(yaml: &str) -> (Vec<Mount>, Vec<Diagnostic>) {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        let mut ctx = ctx_for();
        let out = volumes(&mut ctx, &v, "volumes");
        (out, ctx.diags)
    }

    fn m(kind: MountKind, source: Option<&str>, target: &str, read_only: bool) -> Mount {
        Mount {
            kind,
            source: source.map(str::to_string),
            target: target.into(),
            read_only,
        }
    }

    #[test]
    fn short_syntax() {
        let (out, d) = parse(
            r#"["data:/var/lib/mysql", "./src:/app:ro", "/cache", "../up:/up:rw,cached", "~/.ssh:/ssh"]"#,
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            out,
            vec![
                m(MountKind::Volume, Some("data"), "/var/lib/mysql", false),
                m(MountKind::Bind, Some("/project/src"), "/app", true),
                m(MountKind::Volume, None, "/cache", false),
                m(MountKind::Bind, Some("/up"), "/up", false),
                m(MountKind::Bind, Some("/home/me/.ssh"), "/ssh", false),
            ]
        );
    }

    #[test]
    fn long_syntax() {
        let (out, d) = parse(
            "- {type: bind, source: ./conf, target: /etc/conf, read_only: true}\n- {type: volume, source: data, target: /d}\n- {type: tmpfs, target: /tmp}\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            out[0],
            m(MountKind::Bind, Some("/project/conf"), "/etc/conf", true)
        );
        assert_eq!(out[1], m(MountKind::Volume, Some("data"), "/d", false));
        assert_eq!(out[2], m(MountKind::Tmpfs, None, "/tmp", false));
    }

    #[test]
    fn undeclared_volume_gets_did_you_mean() {
        let (_, d) = parse(r#"["dta:/x"]"#);
        assert_eq!(d[0].path, "volumes[0]");
        assert_eq!(d[0].hint.as_deref(), Some("did you mean `data`?"));
    }

    #[test]
    fn bad_entries() {
        let (_, d) = parse(
            r#"["data:/x:rx", "data:relative", {source: data}, {type: npipe, target: /x}, 5]"#,
        );
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "volumes[0]",
                "volumes[1]",
                "volumes[2]",
                "volumes[3].type",
                "volumes[4]"
            ]
        );
    }
}
