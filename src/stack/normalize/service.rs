//! One service: every key pier supports, read into `model::Service`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml::Value;

use super::healthcheck::{duration_at, healthcheck};
use super::read::{self, scalar_text};
use super::{Ctx, environment as env, mounts, ports};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::stack::docpath;
use crate::stack::model::{
    Build, Condition, Dependency, RestartPolicy, Service, ServiceNetwork, ServiceSecret,
};

const KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "tmpfs",
    "depends_on",
    "healthcheck",
    "restart",
    "working_dir",
    "user",
    "labels",
    "networks",
    "network_mode",
    "hostname",
    "container_name",
    "secrets",
    "stop_signal",
    "stop_grace_period",
    "privileged",
    "tty",
    "stdin_open",
    "extra_hosts",
    "deploy",
];

/// Compose service keys pier does not implement: warned about, not dropped silently.
const UNSUPPORTED: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "configs",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "driver_opts",
    "env_from",
    "extends",
    "external_links",
    "gpus",
    "group_add",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "post_start",
    "pre_stop",
    "profiles",
    "provider",
    "pull_policy",
    "read_only",
    "runtime",
    "scale",
    "security_opt",
    "shm_size",
    "storage_opt",
    "sysctls",
    "ulimits",
    "use_api_socket",
    "userns_mode",
    "uts",
    "volumes_from",
];

const BUILD_KEYS: &[&str] = &["context", "dockerfile", "args", "target"];
const BUILD_UNSUPPORTED: &[&str] = &[
    "additional_contexts",
    "cache_from",
    "cache_to",
    "dockerfile_inline",
    "entitlements",
    "extra_hosts",
    "isolation",
    "labels",
    "network",
    "no_cache",
    "platforms",
    "privileged",
    "provenance",
    "pull",
    "sbom",
    "secrets",
    "shm_size",
    "ssh",
    "tags",
    "ulimits",
];
const DEPLOY_UNSUPPORTED: &[&str] = &[
    "mode",
    "endpoint_mode",
    "labels",
    "placement",
    "resources",
    "restart_policy",
    "rollback_config",
    "update_config",
];

pub fn service(ctx: &mut Ctx, name: &str, v: &Value, path: &str) -> Option<Service> {
    let map = read::mapping(ctx, v, path)?;
    let mut svc = Service::default();
    let mut env_from_files = BTreeMap::new();
    let mut tmpfs = Vec::new();
    let networks_given = map.contains_key("networks");
    for (key, value) in read::entries(ctx, map, path, KEYS, UNSUPPORTED) {
        let at = docpath::child(path, &key);
        // `key: null` means "not set" for optional keys, as in Compose.
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "image" => svc.image = read::string(ctx, value, &at),
            "build" => svc.build = build(ctx, value, &at),
            "command" => svc.command = command(ctx, value, &at),
            "entrypoint" => svc.entrypoint = command(ctx, value, &at),
            "environment" => svc.environment = env::environment(ctx, value, &at),
            "env_file" => env_from_files = env::env_files(ctx, value, &at),
            "ports" => svc.ports = ports::ports(ctx, value, &at),
            "expose" => svc.expose = ports::expose(ctx, value, &at),
            "volumes" => svc.volumes = mounts::volumes(ctx, value, &at),
            "tmpfs" => tmpfs = mounts::tmpfs(ctx, value, &at),
            "depends_on" => svc.depends_on = depends_on(ctx, value, &at),
            "healthcheck" => svc.healthcheck = healthcheck(ctx, value, &at),
            "restart" => svc.restart = restart(ctx, value, &at),
            "working_dir" => svc.working_dir = read::string(ctx, value, &at),
            "user" => svc.user = read::string(ctx, value, &at),
            "labels" => svc.labels = env::labels(ctx, value, &at),
            "networks" => svc.networks = networks(ctx, value, &at),
            "network_mode" => svc.network_mode = network_mode(ctx, name, value, &at),
            "hostname" => svc.hostname = read::string(ctx, value, &at),
            "container_name" => svc.container_name = read::string(ctx, value, &at),
            "secrets" => svc.secrets = secrets(ctx, value, &at),
            "stop_signal" => svc.stop_signal = read::string(ctx, value, &at),
            "stop_grace_period" => svc.stop_grace_period = duration_at(ctx, value, &at),
            "privileged" => svc.privileged = read::boolean(ctx, value, &at).unwrap_or(false),
            "tty" => svc.tty = read::boolean(ctx, value, &at).unwrap_or(false),
            "stdin_open" => svc.stdin_open = read::boolean(ctx, value, &at).unwrap_or(false),
            "extra_hosts" => svc.extra_hosts = extra_hosts(ctx, value, &at),
            "deploy" => svc.replicas = deploy(ctx, value, &at),
            _ => unreachable!("only known keys are returned"),
        }
    }
    // `environment` wins over `env_file`, as in Compose.
    env_from_files.extend(std::mem::take(&mut svc.environment));
    svc.environment = env_from_files;
    svc.volumes.extend(tmpfs);

    // A wrong `image` or `build` was reported already; only their absence is news.
    let given = |key: &str| map.get(key).is_some_and(|v| !v.is_null());
    if !given("image") && !given("build") {
        ctx.push(
            Diagnostic::error(
                path,
                format!("service `{name}` has neither `image` nor `build`"),
            )
            .with_hint("add `image: <name>` or `build: <directory with a Dockerfile>`"),
        );
    }
    if svc.network_mode.is_some() && networks_given {
        ctx.push(
            Diagnostic::error(
                path,
                "`network_mode` and `networks` cannot be used together",
            )
            .with_hint("remove one of them"),
        );
    }
    if svc.network_mode.is_none() && svc.networks.is_empty() {
        svc.networks
            .insert("default".into(), ServiceNetwork::default());
    }
    Some(svc)
}

fn build(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Build> {
    if let Some(context) = scalar_text(v) {
        return Some(Build {
            context: context_path(ctx, &context),
            ..Build::default()
        });
    }
    let map = read::mapping(ctx, v, path)?;
    let mut b = Build {
        context: context_path(ctx, "."),
        ..Build::default()
    };
    for (key, value) in read::entries(ctx, map, path, BUILD_KEYS, BUILD_UNSUPPORTED) {
        let at = docpath::child(path, &key);
        match key.as_str() {
            "context" => {
                if let Some(c) = read::string(ctx, value, &at) {
                    b.context = context_path(ctx, &c);
                }
            }
            "dockerfile" => b.dockerfile = read::string(ctx, value, &at),
            "target" => b.target = read::string(ctx, value, &at),
            "args" => {
                b.args = read::key_values(ctx, value, &at)
                    .into_iter()
                    .filter_map(|(k, v)| match v {
                        Some(v) => Some((k, v)),
                        None => ctx.vars.get(&k).map(|v| (k, v.to_string())),
                    })
                    .collect()
            }
            _ => unreachable!("only known keys are returned"),
        }
    }
    Some(b)
}

/// A local context is made absolute; a remote one (git URL) is kept as written.
fn context_path(ctx: &Ctx, context: &str) -> PathBuf {
    if context.contains("://") || context.starts_with("git@") {
        PathBuf::from(context)
    } else {
        ctx.resolve(context)
    }
}

/// A list as is; a string split like a shell would.
fn command(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Vec<String>> {
    if let Value::Sequence(items) = v {
        let words = read::string_or_list(ctx, v, path);
        return (words.len() == items.len()).then_some(words);
    }
    let text = read::string(ctx, v, path)?;
    let words = shlex::split(&text);
    if words.is_none() {
        ctx.push(
            Diagnostic::error(
                path,
                format!("cannot split {text:?} into words: unbalanced quotes"),
            )
            .with_hint("close the quote, or write the command as a list"),
        );
    }
    words
}

fn restart(ctx: &mut Ctx, v: &Value, path: &str) -> Option<RestartPolicy> {
    let text = read::string(ctx, v, path)?;
    let policy = match text.as_str() {
        "no" => Some(RestartPolicy::No),
        "always" => Some(RestartPolicy::Always),
        "unless-stopped" => Some(RestartPolicy::UnlessStopped),
        "on-failure" => Some(RestartPolicy::OnFailure(None)),
        other => other
            .strip_prefix("on-failure:")
            .and_then(|n| n.parse().ok())
            .map(|n| RestartPolicy::OnFailure(Some(n))),
    };
    if policy.is_none() {
        ctx.push(
            Diagnostic::error(path, format!("invalid restart policy {text:?}"))
                .with_hint("use \"no\", always, unless-stopped, on-failure or on-failure:N"),
        );
    }
    policy
}

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

fn depends_on(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, Dependency> {
    let mut out = BTreeMap::new();
    let entries: Vec<(String, String, Option<&Value>)> = match v {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let at = docpath::item(path, i);
                read::string(ctx, item, &at).map(|name| (name, at, None))
            })
            .collect(),
        Value::Mapping(map) => map
            .iter()
            .filter_map(|(k, val)| {
                let name = scalar_text(k)?;
                let at = docpath::child(path, &name);
                Some((name, at, Some(val)))
            })
            .collect(),
        other => {
            read::expected(ctx, path, "a list of services or a mapping", other);
            return out;
        }
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

fn networks(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, ServiceNetwork> {
    let mut out = BTreeMap::new();
    let entries: Vec<(String, String, Option<&Value>)> = match v {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let at = docpath::item(path, i);
                read::string(ctx, item, &at).map(|n| (n, at, None))
            })
            .collect(),
        Value::Mapping(map) => map
            .iter()
            .filter_map(|(k, val)| {
                let name = scalar_text(k)?;
                let at = docpath::child(path, &name);
                Some((name, at, Some(val)))
            })
            .collect(),
        other => {
            read::expected(ctx, path, "a list of networks or a mapping", other);
            return out;
        }
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
fn network_mode(ctx: &mut Ctx, me: &str, v: &Value, path: &str) -> Option<String> {
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

fn secrets(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<ServiceSecret> {
    let Some(items) = read::sequence(ctx, v, path, "a list of secrets") else {
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
                        "a secret in long syntax needs `source`",
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
        if !ctx.declared.secrets.contains(&source) {
            let d = Diagnostic::error(
                &at,
                format!("secret `{source}` is not declared under top-level `secrets`"),
            );
            ctx.push(
                match did_you_mean(&source, ctx.declared.secrets.iter().map(String::as_str)) {
                    Some(close) => d.with_hint(format!("did you mean `{close}`?")),
                    None => d.with_hint(format!(
                        "add `{source}: {{file: ./{source}.txt}}` under a top-level `secrets:` key"
                    )),
                },
            );
            continue;
        }
        // A relative target lives under /run/secrets, as in Compose.
        let target = match target {
            Some(t) if t.starts_with('/') => t,
            Some(t) => format!("/run/secrets/{t}"),
            None => format!("/run/secrets/{source}"),
        };
        out.push(ServiceSecret { source, target });
    }
    out
}

fn extra_hosts(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<String> {
    match v {
        Value::Mapping(_) => read::key_values(ctx, v, path)
            .into_iter()
            .map(|(host, ip)| format!("{host}:{}", ip.unwrap_or_default()))
            .collect(),
        _ => read::string_or_list(ctx, v, path),
    }
}

fn deploy(ctx: &mut Ctx, v: &Value, path: &str) -> Option<u32> {
    let map = read::mapping(ctx, v, path)?;
    let mut replicas = None;
    for (_, value) in read::entries(ctx, map, path, &["replicas"], DEPLOY_UNSUPPORTED) {
        replicas = read::integer(
            ctx,
            value,
            &docpath::child(path, "replicas"),
            "a number of replicas",
        );
    }
    replicas
}
