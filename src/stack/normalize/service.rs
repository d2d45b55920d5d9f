//! One service: every key pier supports, read into `model::Service`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_yaml::Value;

use super::healthcheck::{duration_at, healthcheck};
use super::read::{self, scalar_text};
use super::{Ctx, environment as env, host, memory, mounts, ports, references};
use crate::diagnostic::Diagnostic;
use crate::stack::docpath;
use crate::stack::model::{Build, Resources, RestartPolicy, Service, ServiceNetwork};

#[rustfmt::skip]
const KEYS: &[&str] = &[
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose",
    "volumes", "tmpfs", "depends_on", "healthcheck", "restart", "working_dir", "user", "labels",
    "networks", "network_mode", "hostname", "container_name", "secrets", "stop_signal",
    "stop_grace_period", "privileged", "tty", "stdin_open", "extra_hosts", "deploy", "mem_limit",
    "profiles",
    // One field of the engine's container create each (`host`).
    "cap_add", "cap_drop", "ulimits", "configs", "init", "shm_size", "sysctls", "devices",
    "platform", "pull_policy", "scale", "post_start", "pre_stop", "read_only", "dns",
    "dns_search", "dns_opt", "domainname", "group_add", "security_opt", "pids_limit", "cpus",
    "cpu_shares", "cpuset", "mem_reservation", "memswap_limit", "oom_score_adj",
    "oom_kill_disable", "userns_mode", "cgroup", "cgroup_parent", "ipc", "pid", "uts",
    "storage_opt", "logging", "runtime", "cpu_period", "cpu_quota",
    "mem_swappiness", "device_cgroup_rules", "volumes_from", "links",
    // `develop` (`normalize::develop`), for `pier watch`.
    "develop",
];

/// Compose service keys pier does not implement: warned about, not dropped silently.
/// Those with a meaning on one engine but no field in API 1.41's create
/// (`annotations`, `gpus`; `mac_address` is an endpoint setting that engines
/// before API 1.44 ignore) or outside a container (`attach`) stay here.
#[rustfmt::skip]
const UNSUPPORTED: &[&str] = &[
    "annotations", "attach", "blkio_config", "cpu_count", "cpu_percent", "cpu_rt_period",
    "cpu_rt_runtime", "credential_spec", "driver_opts", "env_from", "external_links", "gpus",
    "isolation", "label_file", "mac_address", "models", "provider", "use_api_socket",
];

const BUILD_KEYS: &[&str] = &["context", "dockerfile", "args", "target"];
#[rustfmt::skip]
const BUILD_UNSUPPORTED: &[&str] = &[
    "additional_contexts", "cache_from", "cache_to", "dockerfile_inline", "entitlements",
    "extra_hosts", "isolation", "labels", "network", "no_cache", "platforms", "privileged",
    "provenance", "pull", "sbom", "secrets", "shm_size", "ssh", "tags", "ulimits",
];
#[rustfmt::skip]
const DEPLOY_UNSUPPORTED: &[&str] = &[
    "mode", "endpoint_mode", "labels", "placement", "restart_policy", "rollback_config",
    "update_config",
];

pub fn service(ctx: &mut Ctx, name: &str, v: &Value, path: &str) -> Option<Service> {
    let map = read::mapping(ctx, v, path)?;
    let mut svc = Service::default();
    let mut env_from_files = BTreeMap::new();
    let mut tmpfs = Vec::new();
    let mut scale: Option<u32> = None;
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
            "depends_on" => svc.depends_on = references::depends_on(ctx, value, &at),
            "healthcheck" => svc.healthcheck = healthcheck(ctx, value, &at),
            "restart" => svc.restart = restart(ctx, value, &at),
            "working_dir" => svc.working_dir = read::string(ctx, value, &at),
            "user" => svc.user = read::string(ctx, value, &at),
            "labels" => svc.labels = env::labels(ctx, value, &at),
            "networks" => svc.networks = references::networks(ctx, value, &at),
            "network_mode" => svc.network_mode = references::network_mode(ctx, name, value, &at),
            "hostname" => svc.hostname = read::string(ctx, value, &at),
            "container_name" => svc.container_name = read::string(ctx, value, &at),
            "secrets" => svc.secrets = references::secrets(ctx, value, &at),
            "stop_signal" => svc.stop_signal = read::string(ctx, value, &at),
            "stop_grace_period" => svc.stop_grace_period = duration_at(ctx, value, &at),
            "privileged" => svc.privileged = read::boolean(ctx, value, &at).unwrap_or(false),
            "tty" => svc.tty = read::boolean(ctx, value, &at).unwrap_or(false),
            "stdin_open" => svc.stdin_open = read::boolean(ctx, value, &at).unwrap_or(false),
            "extra_hosts" => svc.extra_hosts = extra_hosts(ctx, value, &at),
            "deploy" => (svc.replicas, svc.resources) = deploy(ctx, value, &at),
            "mem_limit" => svc.mem_limit = memory::limit(ctx, value, &at),
            "profiles" => svc.profiles = read::string_or_list(ctx, value, &at),
            "scale" => scale = read::integer(ctx, value, &at, "a number of containers"),
            "cap_add" => svc.cap_add = read::string_or_list(ctx, value, &at),
            "cap_drop" => svc.cap_drop = read::string_or_list(ctx, value, &at),
            "ulimits" => svc.ulimits = host::ulimits(ctx, value, &at),
            "configs" => svc.configs = references::configs(ctx, value, &at),
            "init" => svc.init = read::boolean(ctx, value, &at),
            "shm_size" => svc.shm_size = host::size(ctx, value, &at),
            "sysctls" => svc.sysctls = host::text_map(ctx, value, &at),
            "devices" => svc.devices = host::devices(ctx, value, &at),
            "platform" => svc.platform = read::string(ctx, value, &at),
            "pull_policy" => svc.pull_policy = host::pull_policy(ctx, value, &at),
            "post_start" => svc.post_start = host::hooks(ctx, value, &at),
            "pre_stop" => svc.pre_stop = host::hooks(ctx, value, &at),
            "read_only" => svc.read_only = read::boolean(ctx, value, &at).unwrap_or(false),
            "dns" => svc.dns = read::string_or_list(ctx, value, &at),
            "dns_search" => svc.dns_search = read::string_or_list(ctx, value, &at),
            "dns_opt" => svc.dns_opt = read::string_or_list(ctx, value, &at),
            "domainname" => svc.domainname = read::string(ctx, value, &at),
            "group_add" => svc.group_add = group_add(ctx, value, &at),
            "security_opt" => svc.security_opt = read::string_or_list(ctx, value, &at),
            "pids_limit" => svc.pids_limit = host::signed(ctx, value, &at),
            "cpus" => svc.cpus = host::cpus(ctx, value, &at),
            "cpu_shares" => svc.cpu_shares = host::signed(ctx, value, &at),
            "cpuset" => svc.cpuset = read::text(ctx, value, &at),
            "mem_reservation" => svc.mem_reservation = host::size(ctx, value, &at),
            "memswap_limit" => svc.memswap_limit = host::swap(ctx, value, &at),
            "oom_score_adj" => svc.oom_score_adj = host::signed(ctx, value, &at),
            "oom_kill_disable" => svc.oom_kill_disable = read::boolean(ctx, value, &at),
            "userns_mode" => svc.userns_mode = read::string(ctx, value, &at),
            "cgroup" => svc.cgroup = read::string(ctx, value, &at),
            "cgroup_parent" => svc.cgroup_parent = read::string(ctx, value, &at),
            "ipc" => svc.ipc = read::string(ctx, value, &at),
            "pid" => svc.pid = read::string(ctx, value, &at),
            "uts" => svc.uts = read::string(ctx, value, &at),
            "storage_opt" => svc.storage_opt = host::text_map(ctx, value, &at),
            "logging" => svc.logging = host::logging(ctx, value, &at),
            "runtime" => svc.runtime = read::string(ctx, value, &at),
            "cpu_period" => svc.cpu_period = host::signed(ctx, value, &at),
            "cpu_quota" => svc.cpu_quota = host::signed(ctx, value, &at),
            "mem_swappiness" => svc.mem_swappiness = host::signed(ctx, value, &at),
            "device_cgroup_rules" => {
                svc.device_cgroup_rules = read::string_or_list(ctx, value, &at)
            }
            "volumes_from" => svc.volumes_from = references::volumes_from(ctx, name, value, &at),
            "links" => svc.links = references::links(ctx, name, value, &at),
            "develop" => svc.develop = super::develop::develop(ctx, value, &at),
            _ => unreachable!("only known keys are returned"),
        }
    }
    // `links`, `volumes_from`, `ipc`/`pid`/`network_mode: service:x` order the start.
    references::implicit_dependencies(ctx, name, map, path, &mut svc.depends_on);
    // `environment` wins over `env_file`, as in Compose.
    env_from_files.extend(std::mem::take(&mut svc.environment));
    svc.environment = env_from_files;
    svc.volumes.extend(tmpfs);
    same_values(ctx, &mut svc, scale, path);

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
pub(super) fn command(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Vec<String>> {
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

fn extra_hosts(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<String> {
    match v {
        Value::Mapping(_) => read::key_values(ctx, v, path)
            .into_iter()
            .map(|(host, ip)| format!("{host}:{}", ip.unwrap_or_default()))
            .collect(),
        _ => read::string_or_list(ctx, v, path),
    }
}

/// `deploy`: `replicas` and `resources`; the rest belongs to a swarm and is warned about.
fn deploy(ctx: &mut Ctx, v: &Value, path: &str) -> (Option<u32>, Resources) {
    let mut replicas = None;
    let mut resources = Resources::default();
    let Some(map) = read::mapping(ctx, v, path) else {
        return (replicas, resources);
    };
    let known = ["replicas", "resources"];
    for (key, value) in read::entries(ctx, map, path, &known, DEPLOY_UNSUPPORTED) {
        let at = docpath::child(path, &key);
        if key == "replicas" {
            replicas = read::integer(ctx, value, &at, "a number of replicas");
        } else {
            resources = host::resources(ctx, value, &at);
        }
    }
    (replicas, resources)
}

/// `group_add`: names or numeric ids.
fn group_add(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<String> {
    match read::sequence(ctx, v, path, "a list of groups") {
        Some(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| read::text(ctx, item, &docpath::item(path, i)))
            .collect(),
        None => vec![],
    }
}

/// Keys that say the same thing twice must agree, as Compose requires: `scale` and
/// `deploy.replicas`; `cpus`, `mem_limit`, `pids_limit`, `mem_reservation` and
/// their `deploy.resources` twins. `scale` becomes the replica count.
fn same_values(ctx: &mut Ctx, svc: &mut Service, scale: Option<u32>, path: &str) {
    let conflict = |ctx: &mut Ctx, a: &str, b: &str| {
        ctx.push(
            Diagnostic::error(path, format!("`{a}` and `{b}` have different values"))
                .with_hint("remove one of them, or give both the same value"),
        );
    };
    if let Some(n) = scale {
        match svc.replicas {
            Some(r) if r != n => conflict(ctx, "scale", "deploy.replicas"),
            _ => {
                svc.replicas = Some(n);
                svc.replicas_from_scale = true;
            }
        }
    }
    let (limits, reservations) = (&svc.resources.limits, &svc.resources.reservations);
    if matches!((svc.cpus, limits.cpus), (Some(a), Some(b)) if a != b) {
        conflict(ctx, "cpus", "deploy.resources.limits.cpus");
    }
    if matches!((svc.mem_limit, limits.memory), (Some(a), Some(b)) if a != b) {
        conflict(ctx, "mem_limit", "deploy.resources.limits.memory");
    }
    if matches!((svc.pids_limit, limits.pids), (Some(a), Some(b)) if a != b) {
        conflict(ctx, "pids_limit", "deploy.resources.limits.pids");
    }
    if matches!((svc.mem_reservation, reservations.memory), (Some(a), Some(b)) if a != b) {
        conflict(
            ctx,
            "mem_reservation",
            "deploy.resources.reservations.memory",
        );
    }
    if svc.replicas.is_some_and(|n| n > 1) && svc.container_name.is_some() {
        // Compose refuses this at `up`; the swarm target ignores `container_name`.
        ctx.push(
            Diagnostic::warning(
                path,
                "`container_name` names one container: `pier up` runs only one for this service",
            )
            .with_hint("remove `container_name` to run one container per replica"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx_for;
    use super::*;

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn build_forms() {
        let mut ctx = ctx_for();
        let b = build(&mut ctx, &yaml("./app"), "b").unwrap();
        assert_eq!(b.context, PathBuf::from("/project/app"));
        let b = build(
            &mut ctx,
            &yaml("{dockerfile: Dockerfile.dev, target: dev, args: [A=1, PORT, UNSET_ARG]}"),
            "b",
        )
        .unwrap();
        assert_eq!(b.context, PathBuf::from("/project"));
        assert_eq!(b.dockerfile.as_deref(), Some("Dockerfile.dev"));
        assert_eq!(b.args.get("PORT").map(String::as_str), Some("8080"));
        assert!(!b.args.contains_key("UNSET_ARG"));
        let b = build(&mut ctx, &yaml("https://github.com/x/y.git#main"), "b").unwrap();
        assert_eq!(b.context, PathBuf::from("https://github.com/x/y.git#main"));
        assert!(ctx.diags.is_empty());
    }

    #[test]
    fn commands_split_like_a_shell() {
        let mut ctx = ctx_for();
        let c = command(&mut ctx, &yaml(r#""sh -c 'echo \"hi there\"' x""#), "c").unwrap();
        assert_eq!(c, ["sh", "-c", "echo \"hi there\"", "x"]);
        assert_eq!(
            command(&mut ctx, &yaml("[]"), "c").unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            command(&mut ctx, &yaml("[a, 'b c']"), "c").unwrap(),
            ["a", "b c"]
        );
    }

    #[test]
    fn restart_policies() {
        let mut ctx = ctx_for();
        let r = |ctx: &mut Ctx, t: &str| restart(ctx, &yaml(t), "r");
        assert_eq!(r(&mut ctx, "\"no\""), Some(RestartPolicy::No));
        assert_eq!(r(&mut ctx, "always"), Some(RestartPolicy::Always));
        assert_eq!(
            r(&mut ctx, "unless-stopped"),
            Some(RestartPolicy::UnlessStopped)
        );
        assert_eq!(
            r(&mut ctx, "on-failure"),
            Some(RestartPolicy::OnFailure(None))
        );
        assert_eq!(
            r(&mut ctx, "on-failure:5"),
            Some(RestartPolicy::OnFailure(Some(5)))
        );
        assert!(ctx.diags.is_empty());
        assert_eq!(r(&mut ctx, "on-failure:x"), None);
        assert_eq!(r(&mut ctx, "sometimes"), None);
        assert_eq!(ctx.diags.len(), 2);
    }
}
