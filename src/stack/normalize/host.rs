//! Service keys that are one field each of the engine's container create: limits
//! (`ulimits`, `deploy.resources`, `cpus`, sizes), `devices`, `sysctls`,
//! `logging`, `pull_policy`, and the `post_start`/`pre_stop` hooks.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::read::{self, scalar_text};
use super::{Ctx, environment as env, memory};
use crate::diagnostic::Diagnostic;
use crate::stack::docpath;
use crate::stack::model::{Device, Hook, Logging, PullPolicy, ResourceSet, Resources, Ulimit};

const HOOK_KEYS: &[&str] = &[
    "command",
    "user",
    "privileged",
    "working_dir",
    "environment",
];
const RESOURCE_KEYS: &[&str] = &["cpus", "memory", "pids"];
const RESOURCE_UNSUPPORTED: &[&str] = &["devices", "generic_resources"];

/// `ulimits: {nofile: 1024, nproc: {soft: 10, hard: 20}}`.
pub fn ulimits(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, Ulimit> {
    let mut out = BTreeMap::new();
    let Some(map) = read::mapping(ctx, v, path) else {
        return out;
    };
    for (k, value) in map {
        let Some(name) = scalar_text(k) else {
            read::expected(ctx, path, "limit names", k);
            continue;
        };
        let at = docpath::child(path, &name);
        let limit = match value {
            Value::Mapping(m) => {
                let soft = m.get("soft").and_then(|s| signed(ctx, s, &at));
                let hard = m.get("hard").and_then(|h| signed(ctx, h, &at));
                match (soft, hard) {
                    (Some(soft), Some(hard)) if soft <= hard => Some(Ulimit::Range { soft, hard }),
                    (Some(_), Some(_)) => {
                        ctx.push(
                            Diagnostic::error(&at, "the soft limit is above the hard limit")
                                .with_hint("make `soft` at most `hard`"),
                        );
                        None
                    }
                    _ => {
                        read::expected(ctx, &at, "a number or {soft: N, hard: N}", value);
                        None
                    }
                }
            }
            other => signed(ctx, other, &at).map(Ulimit::Single),
        };
        if let Some(limit) = limit {
            out.insert(name, limit);
        }
    }
    out
}

/// An integer that may be negative (`-1` means "unlimited" to the engine).
pub fn signed(ctx: &mut Ctx, v: &Value, path: &str) -> Option<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    if n.is_none() {
        read::expected(ctx, path, "a whole number", v);
    }
    n
}

/// `cpus: 1.5` or `"0.5"`: a positive number of CPUs.
pub fn cpus(ctx: &mut Ctx, v: &Value, path: &str) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() && n >= 0.0 => Some(n),
        _ => {
            read::expected(ctx, path, "a number of CPUs such as 0.5", v);
            None
        }
    }
}

/// A size such as `64m` or a number of bytes (`shm_size`, `mem_reservation`).
pub fn size(ctx: &mut Ctx, v: &Value, path: &str) -> Option<u64> {
    let text = match v {
        Value::Number(n) if n.as_u64().is_some() => n.to_string(),
        Value::String(s) => s.clone(),
        other => {
            read::expected(ctx, path, "a size such as \"64m\"", other);
            return None;
        }
    };
    let bytes = memory::parse(&text);
    if bytes.is_none() {
        ctx.push(
            Diagnostic::error(path, format!("invalid size {text:?}"))
                .with_hint("write a number with a unit: 64m, 1g (or bytes: 67108864)"),
        );
    }
    bytes
}

/// `memswap_limit`: a size, or -1 for unlimited swap.
pub fn swap(ctx: &mut Ctx, v: &Value, path: &str) -> Option<i64> {
    if scalar_text(v).as_deref().map(str::trim) == Some("-1") {
        return Some(-1);
    }
    size(ctx, v, path).and_then(|b| i64::try_from(b).ok())
}

/// `deploy.resources`.
pub fn resources(ctx: &mut Ctx, v: &Value, path: &str) -> Resources {
    let mut r = Resources::default();
    let Some(map) = read::mapping(ctx, v, path) else {
        return r;
    };
    for (key, value) in read::entries(ctx, map, path, &["limits", "reservations"], &[]) {
        let at = docpath::child(path, &key);
        let set = resource_set(ctx, value, &at);
        match key.as_str() {
            "limits" => r.limits = set,
            _ => r.reservations = set,
        }
    }
    r
}

fn resource_set(ctx: &mut Ctx, v: &Value, path: &str) -> ResourceSet {
    let mut s = ResourceSet::default();
    let Some(map) = read::mapping(ctx, v, path) else {
        return s;
    };
    for (key, value) in read::entries(ctx, map, path, RESOURCE_KEYS, RESOURCE_UNSUPPORTED) {
        let at = docpath::child(path, &key);
        match key.as_str() {
            "cpus" => s.cpus = cpus(ctx, value, &at),
            "memory" => s.memory = size(ctx, value, &at),
            _ => s.pids = signed(ctx, value, &at),
        }
    }
    s
}

/// `sysctls` (map or `key=value` list) and `storage_opt`: values as text.
pub fn text_map(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, String> {
    read::key_values(ctx, v, path)
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

/// `devices`: `/dev/x`, `/dev/x:/dev/y`, `/dev/x:/dev/y:rw`, or `{source, target, permissions}`.
pub fn devices(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<Device> {
    let Some(items) = read::sequence(ctx, v, path, "a list of devices") else {
        return vec![];
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = docpath::item(path, i);
        if let Value::Mapping(m) = item {
            let get = |k: &str| m.get(k).and_then(scalar_text);
            match get("source") {
                Some(source) => out.push(Device {
                    target: get("target").unwrap_or_else(|| source.clone()),
                    permissions: get("permissions").unwrap_or_else(|| "rwm".into()),
                    source,
                }),
                None => read::expected(ctx, &at, "a device with `source`", item),
            }
            continue;
        }
        let Some(text) = read::string(ctx, item, &at) else {
            continue;
        };
        let parts: Vec<&str> = text.split(':').collect();
        let device = match parts.as_slice() {
            [s] => Some((*s, *s, "rwm")),
            [s, t] if t.starts_with('/') => Some((*s, *t, "rwm")),
            [s, p] => Some((*s, *s, *p)),
            [s, t, p] => Some((*s, *t, *p)),
            _ => None,
        };
        match device {
            Some((source, target, permissions)) if !source.is_empty() => out.push(Device {
                source: source.into(),
                target: target.into(),
                permissions: permissions.into(),
            }),
            _ => ctx.push(
                Diagnostic::error(&at, format!("invalid device {text:?}"))
                    .with_hint("write HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]], e.g. /dev/fuse"),
            ),
        }
    }
    out
}

/// `pull_policy`: always, never, missing (or `if_not_present`), build.
pub fn pull_policy(ctx: &mut Ctx, v: &Value, path: &str) -> Option<PullPolicy> {
    let text = read::string(ctx, v, path)?;
    let policy = match text.as_str() {
        "always" => Some(PullPolicy::Always),
        "never" => Some(PullPolicy::Never),
        "missing" | "if_not_present" => Some(PullPolicy::Missing),
        "build" => Some(PullPolicy::Build),
        _ => None,
    };
    if policy.is_none() {
        ctx.push(
            Diagnostic::error(path, format!("invalid pull_policy {text:?}"))
                .with_hint("use always, never, missing, if_not_present or build"),
        );
    }
    policy
}

/// `post_start` / `pre_stop`: a list of `{command, user, privileged, working_dir, environment}`.
pub fn hooks(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<Hook> {
    let Some(items) = read::sequence(ctx, v, path, "a list of hooks") else {
        return vec![];
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = docpath::item(path, i);
        let Some(map) = read::mapping(ctx, item, &at) else {
            continue;
        };
        let mut hook = Hook::default();
        for (key, value) in read::entries(ctx, map, &at, HOOK_KEYS, &[]) {
            let k_at = docpath::child(&at, &key);
            match key.as_str() {
                "command" => {
                    hook.command = super::service::command(ctx, value, &k_at).unwrap_or_default()
                }
                "user" => hook.user = read::string(ctx, value, &k_at),
                "privileged" => hook.privileged = read::boolean(ctx, value, &k_at).unwrap_or(false),
                "working_dir" => hook.working_dir = read::string(ctx, value, &k_at),
                _ => hook.environment = env::environment(ctx, value, &k_at),
            }
        }
        if hook.command.is_empty() {
            ctx.push(
                Diagnostic::error(&at, "a hook needs a `command`")
                    .with_hint("e.g. `command: [\"sh\", \"-c\", \"echo started\"]`"),
            );
            continue;
        }
        out.push(hook);
    }
    out
}

/// `logging: {driver, options}`.
pub fn logging(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Logging> {
    let map = read::mapping(ctx, v, path)?;
    let mut l = Logging::default();
    for (key, value) in read::entries(ctx, map, path, &["driver", "options"], &[]) {
        let at = docpath::child(path, &key);
        match key.as_str() {
            "driver" => l.driver = read::string(ctx, value, &at),
            _ => l.options = text_map(ctx, value, &at),
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx_for;
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn ulimits_both_forms() {
        let mut ctx = ctx_for();
        let u = ulimits(
            &mut ctx,
            &yaml("{nofile: {soft: 1024, hard: 2048}, nproc: 512}"),
            "u",
        );
        assert_eq!(
            u["nofile"],
            Ulimit::Range {
                soft: 1024,
                hard: 2048
            }
        );
        assert_eq!(u["nproc"].bounds(), (512, 512));
        assert!(ctx.diags.is_empty());
        ulimits(
            &mut ctx,
            &yaml("{nofile: {soft: 3, hard: 2}, core: x}"),
            "u",
        );
        let paths: Vec<&str> = ctx.diags.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["u.nofile", "u.core"]);
    }

    #[test]
    fn resources_and_sizes() {
        let mut ctx = ctx_for();
        let r = resources(
            &mut ctx,
            &yaml("{limits: {cpus: '0.5', memory: 128M, pids: 100}, reservations: {memory: 64m}}"),
            "r",
        );
        assert_eq!(r.limits.cpus, Some(0.5));
        assert_eq!(r.limits.memory, Some(128 << 20));
        assert_eq!(r.limits.pids, Some(100));
        assert_eq!(r.reservations.memory, Some(64 << 20));
        assert_eq!(size(&mut ctx, &yaml("64m"), "s"), Some(64 << 20));
        assert_eq!(swap(&mut ctx, &yaml("-1"), "s"), Some(-1));
        assert!(ctx.diags.is_empty(), "{:?}", ctx.diags);
        assert_eq!(cpus(&mut ctx, &yaml("lots"), "c"), None);
        assert_eq!(ctx.diags.len(), 1);
    }

    #[test]
    fn devices_short_and_long() {
        let mut ctx = ctx_for();
        let d = devices(
            &mut ctx,
            &yaml(
                "[/dev/fuse, '/dev/null:/dev/xnull', '/dev/zero:/dev/z:r', '/dev/tty:rw', {source: /dev/a, target: /dev/b}]",
            ),
            "d",
        );
        let got: Vec<(&str, &str, &str)> = d
            .iter()
            .map(|d| (d.source.as_str(), d.target.as_str(), d.permissions.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("/dev/fuse", "/dev/fuse", "rwm"),
                ("/dev/null", "/dev/xnull", "rwm"),
                ("/dev/zero", "/dev/z", "r"),
                ("/dev/tty", "/dev/tty", "rw"),
                ("/dev/a", "/dev/b", "rwm"),
            ]
        );
        assert!(ctx.diags.is_empty());
    }

    #[test]
    fn pull_policies_and_hooks() {
        let mut ctx = ctx_for();
        assert_eq!(
            pull_policy(&mut ctx, &yaml("if_not_present"), "p"),
            Some(PullPolicy::Missing)
        );
        assert_eq!(
            pull_policy(&mut ctx, &yaml("build"), "p"),
            Some(PullPolicy::Build)
        );
        assert!(ctx.diags.is_empty());
        assert_eq!(pull_policy(&mut ctx, &yaml("daily"), "p"), None);
        assert_eq!(ctx.diags.len(), 1);
        let mut ctx = ctx_for();
        let h = hooks(
            &mut ctx,
            &yaml(
                "[{command: echo hi there, user: root, privileged: true, working_dir: /tmp, environment: {A: '1'}}, {user: x}]",
            ),
            "h",
        );
        assert_eq!(
            h,
            [Hook {
                command: vec!["echo".into(), "hi".into(), "there".into()],
                user: Some("root".into()),
                privileged: true,
                working_dir: Some("/tmp".into()),
                environment: [("A".to_string(), "1".to_string())].into(),
            }]
        );
        assert_eq!(ctx.diags[0].path, "h[1]");
    }
}
