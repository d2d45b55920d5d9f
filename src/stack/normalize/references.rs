//! Service keys that refer to other declarations — `depends_on`, `networks`,
//! `network_mode: service:NAME`, `secrets` — each checked against what the file
//! declares, with "did you mean" for near misses.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::Ctx;
use super::read;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::stack::docpath;
use crate::stack::model::{
    Condition, Dependency, Link, ServiceConfig, ServiceNetwork, ServiceSecret, VolumesFrom,
    VolumesSource,
};

fn unknown_service(ctx: &Ctx, target: &str, path: &str) -> Diagnostic {
    let d = Diagnostic::error(path, format!("unknown service `{target}`"));
    match did_you_mean(target, ctx.declared.services.iter().map(String::as_str)) {
        Some(close) => d.with_hint(format!("did you mean `{close}`?")),
        None => d.with_hint(format!(
            "services are: {}",
            ctx.declared.services.join(", ")
        )),
    }
}

pub fn depends_on(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, Dependency> {
    let mut out = BTreeMap::new();
    let Some(entries) = read::named_entries(ctx, v, path, "a list of services or a mapping") else {
        return out;
    };
    for (target, at, spec) in entries {
        let mut dep = Dependency {
            condition: Condition::Started,
            required: true,
        };
        if let Some(spec) = spec.filter(|s| !s.is_null())
            && let Some(map) = read::mapping(ctx, spec, &at)
        {
            for (key, value) in
                read::entries(ctx, map, &at, &["condition", "required"], &["restart"])
            {
                let k_at = docpath::child(&at, &key);
                match key.as_str() {
                    "condition" => match read::string(ctx, value, &k_at).as_deref() {
                        Some("service_started") => dep.condition = Condition::Started,
                        Some("service_healthy") => dep.condition = Condition::Healthy,
                        Some("service_completed_successfully") => dep.condition = Condition::CompletedSuccessfully,
                        Some(other) => ctx.push(
                            Diagnostic::error(k_at, format!("unknown condition {other:?}")).with_hint(
                                "use service_started, service_healthy or service_completed_successfully",
                            ),
                        ),
                        None => {}
                    },
                    _ => dep.required = read::boolean(ctx, value, &k_at).unwrap_or(true),
                }
            }
        }
        if !ctx.declared.services.contains(&target) {
            if dep.required {
                ctx.push(unknown_service(ctx, &target, &at));
            } else {
                ctx.push(Diagnostic::warning(
                    at,
                    format!("optional dependency `{target}` is not in the stack; ignored"),
                ));
            }
            continue;
        }
        // A service depending on itself is kept: the graph reports it as a cycle.
        out.insert(target, dep);
    }
    out
}

/// The dependencies Compose derives from `network_mode`, `ipc` and `pid`
/// (`service:NAME`), `volumes_from` (`NAME[:ro|rw]`, not `container:…`) and
/// `links` (`NAME[:ALIAS]`): started before the service, like a `depends_on`
/// with `service_started`. What `depends_on` says already wins.
pub fn implicit_dependencies(
    ctx: &mut Ctx,
    me: &str,
    service: &serde_yaml::Mapping,
    path: &str,
    deps: &mut BTreeMap<String, Dependency>,
) {
    let mut found: Vec<(String, String)> = Vec::new();
    for key in ["network_mode", "ipc", "pid"] {
        if let Some(target) = service
            .get(key)
            .and_then(Value::as_str)
            .and_then(|m| m.strip_prefix("service:"))
        {
            // `network_mode` reports its own unknown service.
            if key != "network_mode" || ctx.declared.services.iter().any(|s| s == target) {
                found.push((target.to_string(), docpath::child(path, key)));
            }
        }
    }
    for key in ["volumes_from", "links"] {
        let Some(Value::Sequence(items)) = service.get(key) else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            let Some(text) = item.as_str() else { continue };
            if key == "volumes_from" && text.starts_with("container:") {
                continue;
            }
            let name = text.split(':').next().unwrap_or(text);
            found.push((
                name.to_string(),
                docpath::item(&docpath::child(path, key), i),
            ));
        }
    }
    for (target, at) in found {
        if target == me {
            continue;
        }
        if !ctx.declared.services.contains(&target) {
            ctx.push(unknown_service(ctx, &target, &at));
            continue;
        }
        deps.entry(target).or_insert(Dependency {
            condition: Condition::Started,
            required: true,
        });
    }
}

/// `volumes_from`: `NAME[:ro|rw]` or `container:NAME[:ro|rw]`, each once (as
/// Compose's schema says). Unknown services are reported by
/// [`implicit_dependencies`]; a service cannot take its own.
pub fn volumes_from(ctx: &mut Ctx, me: &str, v: &Value, path: &str) -> Vec<VolumesFrom> {
    let Some(items) = read::sequence(ctx, v, path, "a list of services or containers") else {
        return Vec::new();
    };
    let mut out: Vec<VolumesFrom> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = docpath::item(path, i);
        let Some(text) = read::string(ctx, item, &at) else {
            continue;
        };
        let (source, rest) = match text.strip_prefix("container:") {
            Some(rest) => (
                VolumesSource::Container as fn(String) -> VolumesSource,
                rest,
            ),
            None => (
                VolumesSource::Service as fn(String) -> VolumesSource,
                text.as_str(),
            ),
        };
        let (name, mode) = match rest.split_once(':') {
            Some((name, mode)) => (name, Some(mode)),
            None => (rest, None),
        };
        if name.is_empty() || mode.is_some_and(|m| !matches!(m, "ro" | "rw")) {
            ctx.push(
                Diagnostic::error(&at, format!("invalid volumes_from {text:?}")).with_hint(
                    "write SERVICE, SERVICE:ro, SERVICE:rw, container:NAME or container:NAME:ro",
                ),
            );
            continue;
        }
        let entry = VolumesFrom {
            source: source(name.to_string()),
            mode: mode.map(str::to_string),
        };
        if entry.source == VolumesSource::Service(me.to_string()) {
            ctx.push(Diagnostic::error(
                &at,
                "a service cannot take the volumes of its own container",
            ));
            continue;
        }
        if out.contains(&entry) {
            ctx.push(
                Diagnostic::error(&at, format!("{text:?} is listed twice"))
                    .with_hint("remove one of them"),
            );
            continue;
        }
        out.push(entry);
    }
    out
}

/// `links`: `SERVICE[:ALIAS]`. Unknown services are reported by
/// [`implicit_dependencies`]; a service cannot link to itself.
pub fn links(ctx: &mut Ctx, me: &str, v: &Value, path: &str) -> Vec<Link> {
    let Some(items) = read::sequence(ctx, v, path, "a list of services") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = docpath::item(path, i);
        let Some(text) = read::string(ctx, item, &at) else {
            continue;
        };
        let (service, alias) = match text.split_once(':') {
            Some((service, alias)) => (service, Some(alias)),
            None => (text.as_str(), None),
        };
        if service.is_empty() || alias.is_some_and(|a| a.is_empty() || a.contains(':')) {
            ctx.push(
                Diagnostic::error(&at, format!("invalid link {text:?}"))
                    .with_hint("write SERVICE or SERVICE:ALIAS"),
            );
            continue;
        }
        if service == me {
            ctx.push(Diagnostic::error(&at, "a service cannot link to itself"));
            continue;
        }
        out.push(Link {
            service: service.to_string(),
            alias: alias.map(str::to_string),
        });
    }
    out
}

pub fn networks(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, ServiceNetwork> {
    let mut out = BTreeMap::new();
    let Some(entries) = read::named_entries(ctx, v, path, "a list of networks or a mapping") else {
        return out;
    };
    const UNSUPPORTED: &[&str] = &[
        "ipv4_address",
        "ipv6_address",
        "link_local_ips",
        "mac_address",
        "driver_opts",
        "priority",
        "gw_priority",
        "interface_name",
    ];
    for (name, at, spec) in entries {
        let mut net = ServiceNetwork::default();
        if let Some(spec) = spec.filter(|s| !s.is_null())
            && let Some(map) = read::mapping(ctx, spec, &at)
        {
            for (_, value) in read::entries(ctx, map, &at, &["aliases"], UNSUPPORTED) {
                net.aliases = read::string_or_list(ctx, value, &docpath::child(&at, "aliases"));
            }
        }
        if name != "default" && !ctx.declared.networks.contains(&name) {
            let d = Diagnostic::error(
                &at,
                format!("network `{name}` is not declared under top-level `networks`"),
            );
            ctx.push(
                match did_you_mean(&name, ctx.declared.networks.iter().map(String::as_str)) {
                    Some(close) => d.with_hint(format!("did you mean `{close}`?")),
                    None => d.with_hint(format!("add `{name}:` under a top-level `networks:` key")),
                },
            );
            continue;
        }
        out.insert(name, net);
    }
    out
}

/// `host`, `none`, `bridge`, `service:NAME` (which must exist) or `container:NAME`.
pub fn network_mode(ctx: &mut Ctx, me: &str, v: &Value, path: &str) -> Option<String> {
    let mode = read::string(ctx, v, path)?;
    if let Some(target) = mode.strip_prefix("service:") {
        if !ctx.declared.services.iter().any(|s| s == target) {
            ctx.push(unknown_service(ctx, target, path));
        } else if target == me {
            ctx.push(Diagnostic::error(
                path,
                "a service cannot share its own network namespace",
            ));
        }
    } else if !matches!(mode.as_str(), "host" | "none" | "bridge")
        && !mode.starts_with("container:")
    {
        ctx.push(
            Diagnostic::error(path, format!("invalid network_mode {mode:?}"))
                .with_hint("use host, none, bridge, service:NAME or container:NAME"),
        );
    }
    Some(mode)
}

pub fn secrets(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<ServiceSecret> {
    mounted(ctx, v, path, Mounted::Secret)
        .into_iter()
        .map(|(source, target)| ServiceSecret { source, target })
        .collect()
}

/// A service's `configs`: names (mounted at `/<name>`) or `{source, target}`.
pub fn configs(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<ServiceConfig> {
    mounted(ctx, v, path, Mounted::Config)
        .into_iter()
        .map(|(source, target)| ServiceConfig { source, target })
        .collect()
}

/// What a service mounts by name from a top-level section: secrets or configs.
#[derive(Clone, Copy)]
enum Mounted {
    Secret,
    Config,
}

impl Mounted {
    fn word(self) -> &'static str {
        match self {
            Mounted::Secret => "secret",
            Mounted::Config => "config",
        }
    }

    /// Where a relative (or no) target lives, as in Compose.
    fn dir(self) -> &'static str {
        match self {
            Mounted::Secret => "/run/secrets/",
            Mounted::Config => "/",
        }
    }
}

/// (source, absolute target) of each secret or config a service uses, each
/// checked against the declared ones.
fn mounted(ctx: &mut Ctx, v: &Value, path: &str, kind: Mounted) -> Vec<(String, String)> {
    let word = kind.word();
    let Some(items) = read::sequence(ctx, v, path, &format!("a list of {word}s")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = docpath::item(path, i);
        let (source, target) = match item {
            Value::Mapping(map) => {
                let (mut source, mut target) = (None, None);
                for (key, value) in read::entries(
                    ctx,
                    map,
                    &at,
                    &["source", "target"],
                    &["uid", "gid", "mode"],
                ) {
                    let value = read::string(ctx, value, &docpath::child(&at, &key));
                    if key == "source" {
                        source = value;
                    } else {
                        target = value;
                    }
                }
                let Some(source) = source else {
                    ctx.push(Diagnostic::error(
                        at,
                        format!("a {word} in long syntax needs `source`"),
                    ));
                    continue;
                };
                (source, target)
            }
            other => match read::string(ctx, other, &at) {
                Some(s) => (s, None),
                None => continue,
            },
        };
        let declared = match kind {
            Mounted::Secret => &ctx.declared.secrets,
            Mounted::Config => &ctx.declared.configs,
        };
        if !declared.contains(&source) {
            let d = Diagnostic::error(
                &at,
                format!("{word} `{source}` is not declared under top-level `{word}s`"),
            );
            let d = match did_you_mean(&source, declared.iter().map(String::as_str)) {
                Some(close) => d.with_hint(format!("did you mean `{close}`?")),
                None => d.with_hint(format!(
                    "add `{source}: {{file: ./{source}.txt}}` under a top-level `{word}s:` key"
                )),
            };
            ctx.push(d);
            continue;
        }
        let target = match target {
            Some(t) if t.starts_with('/') => t,
            Some(t) => format!("{}{t}", kind.dir()),
            None => format!("{}{source}", kind.dir()),
        };
        out.push((source, target));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx_for;
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn depends_on_list_and_map() {
        let mut ctx = ctx_for();
        let deps = depends_on(&mut ctx, &yaml("[db]"), "d");
        assert_eq!(
            deps["db"],
            Dependency {
                condition: Condition::Started,
                required: true
            }
        );
        let deps = depends_on(
            &mut ctx,
            &yaml("{db: {condition: service_completed_successfully, required: false}, web: }"),
            "d",
        );
        assert_eq!(deps["db"].condition, Condition::CompletedSuccessfully);
        assert!(!deps["db"].required);
        assert_eq!(deps["web"].condition, Condition::Started);
        assert!(ctx.diags.is_empty(), "{:?}", ctx.diags);
    }

    #[test]
    fn volumes_from_services_and_containers_with_modes() {
        let mut ctx = ctx_for();
        let got = volumes_from(
            &mut ctx,
            "web",
            &yaml(r#"[db, "db:ro", "container:cache", "container:cache:rw"]"#),
            "v",
        );
        let text: Vec<String> = got.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["db", "db:ro", "container:cache", "container:cache:rw"]
        );
        assert_eq!(got[1].source, VolumesSource::Service("db".into()));
        assert_eq!(got[1].mode.as_deref(), Some("ro"));
        assert_eq!(got[3].source, VolumesSource::Container("cache".into()));
        assert!(ctx.diags.is_empty(), "{:?}", ctx.diags);
    }

    #[test]
    fn bad_volumes_from_are_errors_at_their_item() {
        let mut ctx = ctx_for();
        let got = volumes_from(
            &mut ctx,
            "web",
            &yaml(r#"["db:rx", "container:", web, db, db, 3]"#),
            "v",
        );
        assert_eq!(got.len(), 1);
        let found: Vec<(&str, &str)> = ctx
            .diags
            .iter()
            .map(|d| (d.path.as_str(), d.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                ("v[0]", "invalid volumes_from \"db:rx\""),
                ("v[1]", "invalid volumes_from \"container:\""),
                (
                    "v[2]",
                    "a service cannot take the volumes of its own container"
                ),
                ("v[4]", "\"db\" is listed twice"),
                ("v[5]", "expected a string, found the number 3"),
            ]
        );
    }

    #[test]
    fn links_with_and_without_alias() {
        let mut ctx = ctx_for();
        let got = links(
            &mut ctx,
            "web",
            &yaml(r#"[db, "db:database", "db:", web]"#),
            "l",
        );
        assert_eq!(
            got,
            [
                Link {
                    service: "db".into(),
                    alias: None
                },
                Link {
                    service: "db".into(),
                    alias: Some("database".into())
                },
            ]
        );
        assert_eq!(got[0].name(), "db");
        assert_eq!(got[1].name(), "database");
        assert_eq!(got[1].to_string(), "db:database");
        let paths: Vec<&str> = ctx.diags.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["l[2]", "l[3]"]);
    }

    #[test]
    fn networks_with_aliases_and_unknown_ones() {
        let mut ctx = ctx_for();
        let nets = networks(
            &mut ctx,
            &yaml("{back: {aliases: [api, api2]}, default: , bakc: }"),
            "n",
        );
        assert_eq!(nets["back"].aliases, ["api", "api2"]);
        assert!(nets.contains_key("default"));
        assert_eq!(ctx.diags.len(), 1);
        assert_eq!(ctx.diags[0].path, "n.bakc");
        assert_eq!(ctx.diags[0].hint.as_deref(), Some("did you mean `back`?"));
    }

    #[test]
    fn secret_targets() {
        let mut ctx = ctx_for();
        let s = secrets(
            &mut ctx,
            &yaml("[pw, {source: pw, target: db.txt}, {source: pw, target: /etc/pw}]"),
            "s",
        );
        let targets: Vec<&str> = s.iter().map(|s| s.target.as_str()).collect();
        assert_eq!(
            targets,
            ["/run/secrets/pw", "/run/secrets/db.txt", "/etc/pw"]
        );
    }

    #[test]
    fn network_modes() {
        let mut ctx = ctx_for();
        for ok in ["host", "none", "bridge", "service:db", "container:abc"] {
            assert_eq!(
                network_mode(&mut ctx, "web", &yaml(ok), "m").as_deref(),
                Some(ok)
            );
        }
        assert!(ctx.diags.is_empty());
        network_mode(&mut ctx, "web", &yaml("service:web"), "m");
        network_mode(&mut ctx, "web", &yaml("hots"), "m");
        assert_eq!(ctx.diags.len(), 2);
    }

    #[test]
    fn configs_default_to_the_root_and_must_be_declared() {
        let mut ctx = ctx_for();
        let c = configs(
            &mut ctx,
            &yaml("[conf, {source: conf, target: etc/app.conf}, cnof]"),
            "c",
        );
        let targets: Vec<&str> = c.iter().map(|c| c.target.as_str()).collect();
        assert_eq!(targets, ["/conf", "/etc/app.conf"]);
        assert_eq!(ctx.diags[0].path, "c[2]");
        assert_eq!(ctx.diags[0].hint.as_deref(), Some("did you mean `conf`?"));
    }
}
