//! The one Compose writer: the model as a Compose document, for `pier config`
//! and for `pier export compose` (DESIGN §1 rule 4). Both print the same keys the
//! same way; they differ only where their readers do ([`Flavor`]).
//!
//! Everything pier fills in by default is written out so that compose does not
//! fill in its own, different default: ports carry pier's `host_ip`
//! (127.0.0.1 unless the file said otherwise), networks and volumes carry the
//! engine names pier uses (`name:`), so `docker compose up` on the exported
//! file reuses the data volumes `pier up` created. Mounts, ports and
//! dependencies use the long syntax, which says everything explicitly.
//!
//! `pier config` prints the values the containers get, with secret values masked
//! (see `crate::secrets`) unless `--show-secrets`. `pier export compose` writes a
//! file compose runs with the same meaning, which takes two rewrites through
//! compose's own interpolation: every `$` in a value is written `$$` (the model
//! holds values after interpolation), and every secret value is written as
//! `${VAR:?…}`, which compose resolves from the `.env` beside the file — and
//! refuses to run without.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::secrets::{Piece, Secrets};
use crate::stack::model::{
    Build, Condition, ConfigSource, HealthTest, Healthcheck, Hook, Mount, MountKind, Network,
    PortMapping, ResourceSet, RestartPolicy, Secret, SecretSource, Service, Stack, Volume,
    format_duration,
};
use crate::stack::yaml_emit::to_yaml;

/// Who reads the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `pier config`: the stack as `docker compose config` prints one, so that
    /// `config --json` and compose's `config --format json` can be compared
    /// (`depends_on` always says `required`).
    Config,
    /// `pier export compose`: a file for any Compose v2 to run. `required` is
    /// written only when false (older Compose rejects the key), and bind mounts say
    /// `create_host_path`, which the long syntax otherwise turns off.
    Export,
}

/// `pier config`'s output: the document as YAML, or as JSON with `json`. Secret
/// values of `secrets` are printed as [`MASK`](crate::secrets::MASK); the names of those found are
/// returned, sorted (pass no secrets to show them).
pub fn config(stack: &Stack, secrets: &Secrets, json: bool) -> (String, Vec<String>) {
    let mut doc = document(stack, Flavor::Config);
    let masked = secrets.mask_json(&mut doc);
    let text = if json {
        let mut text = serde_json::to_string_pretty(&doc).expect("JSON values always print");
        text.push('\n');
        text
    } else {
        to_yaml(&doc)
    };
    (text, masked)
}

/// The compose file for `stack`, as YAML text. Values of `secrets` are referenced, never written.
pub fn export(stack: &Stack, secrets: &Secrets) -> String {
    let mut doc = document(stack, Flavor::Export);
    let mut used = BTreeSet::new();
    rewrite_strings(&mut doc, secrets, &mut used);
    let mut text = format!(
        "# Exported by `pier export compose` from project {:?}.\n",
        stack.name
    );
    if !used.is_empty() {
        text.push_str(
            "# Secret values are not in this file: they are read from the environment or the\n\
             # .env file next to it (variables: ",
        );
        text.push_str(&used.into_iter().collect::<Vec<_>>().join(", "));
        text.push_str(").\n");
    }
    text.push_str(&to_yaml(&doc));
    text
}

/// The document before masking or rewriting; keys are the Compose specification's,
/// in the model's order (which the emitted YAML keeps).
pub fn document(stack: &Stack, flavor: Flavor) -> Value {
    let mut doc = Map::new();
    doc.insert("name".into(), json!(stack.name));
    let services: Map<String, Value> = stack
        .services
        .iter()
        .map(|(name, service)| (name.clone(), service_doc(service, flavor)))
        .collect();
    doc.insert("services".into(), Value::Object(services));
    if !stack.networks.is_empty() {
        let networks = stack
            .networks
            .iter()
            .map(|(k, n)| (k.clone(), network_doc(n)));
        doc.insert("networks".into(), Value::Object(networks.collect()));
    }
    if !stack.volumes.is_empty() {
        let volumes = stack
            .volumes
            .iter()
            .map(|(k, v)| (k.clone(), volume_doc(v)));
        doc.insert("volumes".into(), Value::Object(volumes.collect()));
    }
    if !stack.secrets.is_empty() {
        let secrets = stack
            .secrets
            .iter()
            .map(|(k, s)| (k.clone(), secret_doc(s)));
        doc.insert("secrets".into(), Value::Object(secrets.collect()));
    }
    if !stack.configs.is_empty() {
        let configs = stack.configs.iter().map(|(k, c)| {
            let value = match &c.source {
                ConfigSource::File(path) => json!({ "file": path.to_string_lossy() }),
                ConfigSource::Content(text) => json!({ "content": text }),
                ConfigSource::Environment(var) => json!({ "environment": var }),
            };
            (k.clone(), value)
        });
        doc.insert("configs".into(), Value::Object(configs.collect()));
    }
    Value::Object(doc)
}

fn service_doc(s: &Service, flavor: Flavor) -> Value {
    let mut m = Map::new();
    let mut put = |key: &str, value: Value| {
        m.insert(key.to_string(), value);
    };
    if let Some(image) = &s.image {
        put("image", json!(image));
    }
    if let Some(build) = &s.build {
        put("build", build_doc(build));
    }
    if let Some(command) = &s.command {
        put("command", json!(command));
    }
    if let Some(entrypoint) = &s.entrypoint {
        put("entrypoint", json!(entrypoint));
    }
    if !s.environment.is_empty() {
        put("environment", json!(s.environment));
    }
    if !s.ports.is_empty() {
        put("ports", s.ports.iter().map(port_doc).collect());
    }
    if !s.expose.is_empty() {
        put("expose", json!(s.expose));
    }
    if !s.volumes.is_empty() {
        put(
            "volumes",
            s.volumes.iter().map(|m| mount_doc(m, flavor)).collect(),
        );
    }
    if !s.depends_on.is_empty() {
        let deps = s.depends_on.iter().map(|(name, dep)| {
            let mut d = Map::new();
            d.insert("condition".into(), json!(condition_str(dep.condition)));
            // `required` is Compose 2.20+; exported only when it differs from the default.
            if flavor == Flavor::Config || !dep.required {
                d.insert("required".into(), json!(dep.required));
            }
            (name.clone(), Value::Object(d))
        });
        put("depends_on", Value::Object(deps.collect()));
    }
    if let Some(healthcheck) = &s.healthcheck {
        put("healthcheck", healthcheck_doc(healthcheck));
    }
    if let Some(restart) = s.restart {
        put("restart", json!(restart_str(restart)));
    }
    if let Some(dir) = &s.working_dir {
        put("working_dir", json!(dir));
    }
    if let Some(user) = &s.user {
        put("user", json!(user));
    }
    if !s.labels.is_empty() {
        put("labels", json!(s.labels));
    }
    match &s.network_mode {
        Some(mode) => put("network_mode", json!(mode)),
        None if !s.networks.is_empty() => {
            let networks = s.networks.iter().map(|(name, n)| {
                let value = if n.aliases.is_empty() {
                    Value::Null
                } else {
                    json!({ "aliases": n.aliases })
                };
                (name.clone(), value)
            });
            put("networks", Value::Object(networks.collect()));
        }
        None => {}
    }
    if let Some(hostname) = &s.hostname {
        put("hostname", json!(hostname));
    }
    if let Some(name) = &s.container_name {
        put("container_name", json!(name));
    }
    if !s.secrets.is_empty() {
        let list = s
            .secrets
            .iter()
            .map(|sec| json!({ "source": sec.source, "target": sec.target }));
        put("secrets", list.collect());
    }
    if let Some(signal) = &s.stop_signal {
        put("stop_signal", json!(signal));
    }
    if let Some(grace) = s.stop_grace_period {
        put("stop_grace_period", json!(format_duration(grace)));
    }
    if s.privileged {
        put("privileged", json!(true));
    }
    if s.tty {
        put("tty", json!(true));
    }
    if s.stdin_open {
        put("stdin_open", json!(true));
    }
    if !s.extra_hosts.is_empty() {
        put("extra_hosts", json!(s.extra_hosts));
    }
    if let Some(bytes) = s.mem_limit {
        put("mem_limit", json!(bytes));
    }
    let mut deploy = Map::new();
    match s.replicas {
        Some(n) if s.replicas_from_scale => put("scale", json!(n)),
        Some(n) => {
            deploy.insert("replicas".into(), json!(n));
        }
        None => {}
    }
    // The stack holds only the enabled services: an exported file has no
    // profiles to select, `config` shows them as Compose does.
    if flavor == Flavor::Config && !s.profiles.is_empty() {
        put("profiles", json!(s.profiles));
    }
    if !s.resources.is_empty() {
        let set = |r: &ResourceSet| {
            let mut m = Map::new();
            if let Some(c) = r.cpus {
                m.insert("cpus".into(), json!(c));
            }
            if let Some(b) = r.memory {
                m.insert("memory".into(), json!(b.to_string()));
            }
            if let Some(p) = r.pids {
                m.insert("pids".into(), json!(p));
            }
            Value::Object(m)
        };
        let mut res = Map::new();
        if !s.resources.limits.is_empty() {
            res.insert("limits".into(), set(&s.resources.limits));
        }
        if !s.resources.reservations.is_empty() {
            res.insert("reservations".into(), set(&s.resources.reservations));
        }
        deploy.insert("resources".into(), Value::Object(res));
    }
    if !deploy.is_empty() {
        put("deploy", Value::Object(deploy));
    }
    engine_keys(s, &mut put);
    if let Some(develop) = &s.develop {
        put("develop", json!(develop));
    }
    Value::Object(m)
}

/// The keys that are one field of the engine's create call each, in Compose's
/// notation (`docker compose config`): sizes as byte strings, devices and hooks
/// in the long form, sysctls as text.
fn engine_keys(s: &Service, put: &mut impl FnMut(&str, Value)) {
    let mut list = |key: &str, items: &[String]| {
        if !items.is_empty() {
            put(key, json!(items));
        }
    };
    list("cap_add", &s.cap_add);
    list("cap_drop", &s.cap_drop);
    list("dns", &s.dns);
    list("dns_search", &s.dns_search);
    list("dns_opt", &s.dns_opt);
    list("group_add", &s.group_add);
    list("security_opt", &s.security_opt);
    list("device_cgroup_rules", &s.device_cgroup_rules);
    let text = |v: &Option<String>| v.as_ref().map(|t| json!(t));
    let bytes = |v: Option<u64>| v.map(|b| json!(b.to_string()));
    let hooks = |hooks: &[Hook]| (!hooks.is_empty()).then(|| json!(hooks));
    let map = |m: &std::collections::BTreeMap<String, String>| (!m.is_empty()).then(|| json!(m));
    let fields: [(&str, Option<Value>); 34] = [
        ("ulimits", (!s.ulimits.is_empty()).then(|| json!(s.ulimits))),
        ("configs", (!s.configs.is_empty()).then(|| json!(s.configs))),
        ("init", s.init.map(|b| json!(b))),
        ("shm_size", bytes(s.shm_size)),
        ("sysctls", map(&s.sysctls)),
        ("devices", (!s.devices.is_empty()).then(|| json!(s.devices))),
        ("platform", text(&s.platform)),
        ("pull_policy", s.pull_policy.map(|p| json!(p))),
        ("post_start", hooks(&s.post_start)),
        ("pre_stop", hooks(&s.pre_stop)),
        ("read_only", s.read_only.then(|| json!(true))),
        ("domainname", text(&s.domainname)),
        ("pids_limit", s.pids_limit.map(|n| json!(n))),
        ("cpus", s.cpus.map(|n| json!(n))),
        ("cpu_shares", s.cpu_shares.map(|n| json!(n))),
        ("cpuset", text(&s.cpuset)),
        ("cpu_period", s.cpu_period.map(|n| json!(n))),
        ("cpu_quota", s.cpu_quota.map(|n| json!(n))),
        ("mem_reservation", bytes(s.mem_reservation)),
        (
            "memswap_limit",
            s.memswap_limit.map(|n| json!(n.to_string())),
        ),
        ("mem_swappiness", s.mem_swappiness.map(|n| json!(n))),
        ("oom_score_adj", s.oom_score_adj.map(|n| json!(n))),
        ("oom_kill_disable", s.oom_kill_disable.map(|b| json!(b))),
        ("userns_mode", text(&s.userns_mode)),
        ("cgroup", text(&s.cgroup)),
        ("cgroup_parent", text(&s.cgroup_parent)),
        ("ipc", text(&s.ipc)),
        ("pid", text(&s.pid)),
        ("uts", text(&s.uts)),
        ("storage_opt", map(&s.storage_opt)),
        ("logging", s.logging.as_ref().map(|l| json!(l))),
        ("runtime", text(&s.runtime)),
        (
            "volumes_from",
            (!s.volumes_from.is_empty()).then(|| json!(s.volumes_from)),
        ),
        ("links", (!s.links.is_empty()).then(|| json!(s.links))),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            put(key, value);
        }
    }
}

fn build_doc(b: &Build) -> Value {
    let mut m = Map::new();
    m.insert("context".into(), json!(b.context.to_string_lossy()));
    if let Some(dockerfile) = &b.dockerfile {
        m.insert("dockerfile".into(), json!(dockerfile));
    }
    if !b.args.is_empty() {
        m.insert("args".into(), json!(b.args));
    }
    if let Some(target) = &b.target {
        m.insert("target".into(), json!(target));
    }
    Value::Object(m)
}

fn port_doc(p: &PortMapping) -> Value {
    let mut m = Map::new();
    m.insert("target".into(), json!(p.target));
    if let Some(published) = p.published {
        m.insert("published".into(), json!(published));
    }
    // Always written: compose's default is every interface, pier's is 127.0.0.1.
    m.insert("host_ip".into(), json!(p.host_ip));
    m.insert("protocol".into(), json!(p.protocol));
    Value::Object(m)
}

fn mount_doc(mount: &Mount, flavor: Flavor) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(mount.kind));
    if let Some(source) = &mount.source {
        m.insert("source".into(), json!(source));
    }
    m.insert("target".into(), json!(mount.target));
    if mount.read_only {
        m.insert("read_only".into(), json!(true));
    }
    if mount.kind == MountKind::Bind && flavor == Flavor::Export {
        // The long syntax refuses a missing host path; the short syntax pier
        // accepts (and the engine) create it. Keep pier's meaning.
        m.insert("bind".into(), json!({ "create_host_path": true }));
    }
    Value::Object(m)
}

fn healthcheck_doc(h: &Healthcheck) -> Value {
    let mut m = Map::new();
    let test = match &h.test {
        HealthTest::None => json!(["NONE"]),
        HealthTest::Cmd(args) => {
            let mut v = vec!["CMD".to_string()];
            v.extend(args.iter().cloned());
            json!(v)
        }
        HealthTest::Shell(cmd) => json!(["CMD-SHELL", cmd]),
    };
    m.insert("test".into(), test);
    let duration = |d: Option<std::time::Duration>| d.map(|d| json!(format_duration(d)));
    for (key, value) in [
        ("interval", duration(h.interval)),
        ("timeout", duration(h.timeout)),
        ("retries", h.retries.map(|r| json!(r))),
        ("start_period", duration(h.start_period)),
        ("start_interval", duration(h.start_interval)),
    ] {
        if let Some(value) = value {
            m.insert(key.into(), value);
        }
    }
    Value::Object(m)
}

fn condition_str(c: Condition) -> &'static str {
    c.as_str()
}

fn restart_str(r: RestartPolicy) -> String {
    match r {
        RestartPolicy::No => "no".into(),
        RestartPolicy::Always => "always".into(),
        RestartPolicy::UnlessStopped => "unless-stopped".into(),
        RestartPolicy::OnFailure(None) => "on-failure".into(),
        RestartPolicy::OnFailure(Some(max)) => format!("on-failure:{max}"),
    }
}

fn network_doc(n: &Network) -> Value {
    let mut m = Map::new();
    if n.external {
        m.insert("external".into(), json!(true));
        m.insert("name".into(), json!(n.name));
        return Value::Object(m);
    }
    if let Some(driver) = &n.driver {
        m.insert("driver".into(), json!(driver));
    }
    m.insert("name".into(), json!(n.name));
    if n.internal {
        m.insert("internal".into(), json!(true));
    }
    if !n.labels.is_empty() {
        m.insert("labels".into(), json!(n.labels));
    }
    Value::Object(m)
}

fn volume_doc(v: &Volume) -> Value {
    let mut m = Map::new();
    if v.external {
        m.insert("external".into(), json!(true));
        m.insert("name".into(), json!(v.name));
        return Value::Object(m);
    }
    if let Some(driver) = &v.driver {
        m.insert("driver".into(), json!(driver));
    }
    m.insert("name".into(), json!(v.name));
    if !v.labels.is_empty() {
        m.insert("labels".into(), json!(v.labels));
    }
    Value::Object(m)
}

/// By reference only: the file's path or the variable's name, never the content.
fn secret_doc(s: &Secret) -> Value {
    match &s.source {
        SecretSource::File(path) => json!({ "file": path.to_string_lossy() }),
        SecretSource::Environment(var) => json!({ "environment": var }),
    }
}

/// Escape `$` and replace secret values in every string value (keys are not interpolated by compose).
/// `used` collects the names of the secrets referenced.
fn rewrite_strings(value: &mut Value, secrets: &Secrets, used: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => *s = compose_string(s, secrets, used),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| rewrite_strings(v, secrets, used)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|v| rewrite_strings(v, secrets, used)),
        _ => {}
    }
}

/// `text` as compose must read it to get `text` back after interpolation.
fn compose_string(text: &str, secrets: &Secrets, used: &mut BTreeSet<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in secrets.split(text) {
        match piece {
            Piece::Literal(literal) => out.push_str(&literal.replace('$', "$$")),
            // `:?` makes compose stop with this message instead of running with an empty password.
            Piece::Secret(name) => {
                used.insert(name.to_string());
                out.push_str(&format!("${{{name}:?{name} is not set (see .env)}}"))
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::test_stacks::lamp;
    use crate::stack::model::{Dependency, ServiceSecret};
    use std::path::PathBuf;
    use std::time::Duration;

    fn secrets() -> Secrets {
        let mut s = Secrets::new();
        s.insert("DB_PASSWORD", "pw-0123456789abcdef");
        s
    }

    fn parsed(text: &str) -> serde_json::Value {
        serde_yaml::from_str(text).expect("export is valid YAML")
    }

    #[test]
    fn lamp_exports_every_field_compose_needs() {
        let doc = parsed(&export(&lamp(), &secrets()));
        assert_eq!(doc["name"], "shop");
        let web = &doc["services"]["web"];
        assert_eq!(
            web["ports"],
            json!([{"target": 80, "published": 8080, "host_ip": "127.0.0.1", "protocol": "tcp"}])
        );
        assert_eq!(
            web["depends_on"],
            json!({"db": {"condition": "service_healthy"}})
        );
        assert_eq!(web["build"]["context"], "/projects/shop");
        assert_eq!(web["build"]["args"], json!({"PHP_VERSION": "8.3"}));
        assert_eq!(
            web["volumes"],
            json!([{"type": "bind", "source": "/projects/shop/public", "target": "/var/www/html",
                    "bind": {"create_host_path": true}}])
        );
        let db = &doc["services"]["db"];
        assert_eq!(
            db["volumes"],
            json!([{"type": "volume", "source": "db-data", "target": "/var/lib/mysql"}])
        );
        assert_eq!(
            db["healthcheck"],
            json!({"test": ["CMD-SHELL", "mysqladmin ping -h 127.0.0.1 -p$$MYSQL_ROOT_PASSWORD"],
                   "interval": "2s", "timeout": "5s", "retries": 30, "start_period": "1m30s"})
        );
        assert_eq!(db["restart"], "unless-stopped");
        assert_eq!(db["networks"], json!({"default": {"aliases": ["mysql"]}}));
        assert_eq!(doc["volumes"], json!({"db-data": {"name": "shop_db-data"}}));
        assert_eq!(
            doc["networks"],
            json!({"default": {"name": "shop_default"}})
        );
    }

    #[test]
    fn secret_values_become_references() {
        let text = export(&lamp(), &secrets());
        assert!(
            !text.contains("pw-0123456789abcdef"),
            "secret leaked:\n{text}"
        );
        let doc = parsed(&text);
        assert_eq!(
            doc["services"]["db"]["environment"]["MYSQL_ROOT_PASSWORD"],
            "${DB_PASSWORD:?DB_PASSWORD is not set (see .env)}"
        );
        // Inside a longer value too.
        assert_eq!(
            doc["services"]["web"]["environment"]["DATABASE_URL"],
            "mysql://root:${DB_PASSWORD:?DB_PASSWORD is not set (see .env)}@db/shop"
        );
        assert!(text.contains("(variables: DB_PASSWORD)"));
        // Only the variables the file refers to are named in its header.
        let mut more = secrets();
        more.insert("UNUSED_TOKEN", "not-in-the-stack-at-all");
        assert!(export(&lamp(), &more).contains("(variables: DB_PASSWORD)"));
        // Without the secret list the value is written as is: the caller decides.
        assert!(export(&lamp(), &Secrets::new()).contains("pw-0123456789abcdef"));
    }

    #[test]
    fn secrets_are_written_by_reference() {
        let mut stack = lamp();
        stack.secrets.insert(
            "api_key".into(),
            Secret {
                source: SecretSource::File(PathBuf::from("/projects/shop/secrets/api_key.txt")),
            },
        );
        stack.secrets.insert(
            "token".into(),
            Secret {
                source: SecretSource::Environment("API_TOKEN".into()),
            },
        );
        stack
            .services
            .get_mut("web")
            .unwrap()
            .secrets
            .push(ServiceSecret {
                source: "api_key".into(),
                target: "/run/secrets/api_key".into(),
            });
        let doc = parsed(&export(&stack, &Secrets::new()));
        assert_eq!(
            doc["secrets"],
            json!({"api_key": {"file": "/projects/shop/secrets/api_key.txt"},
                   "token": {"environment": "API_TOKEN"}})
        );
        assert_eq!(
            doc["services"]["web"]["secrets"],
            json!([{"source": "api_key", "target": "/run/secrets/api_key"}])
        );
    }

    #[test]
    fn dollars_survive_compose_interpolation() {
        let mut stack = lamp();
        stack.services.get_mut("web").unwrap().command =
            Some(vec!["sh".into(), "-c".into(), "echo $HOME ${X}".into()]);
        let doc = parsed(&export(&stack, &Secrets::new()));
        assert_eq!(
            doc["services"]["web"]["command"],
            json!(["sh", "-c", "echo $$HOME $${X}"])
        );
    }

    #[test]
    fn other_fields_and_variants() {
        let mut stack = lamp();
        let pma = stack.services.get_mut("phpmyadmin").unwrap();
        pma.restart = Some(RestartPolicy::No);
        pma.entrypoint = Some(vec!["/docker-entrypoint.sh".into()]);
        pma.user = Some("33:33".into());
        pma.working_dir = Some("/var/www".into());
        pma.hostname = Some("pma".into());
        pma.container_name = Some("shop-pma".into());
        pma.labels.insert("com.example.team".into(), "web".into());
        pma.healthcheck = Some(Healthcheck {
            test: HealthTest::Cmd(vec!["curl".into(), "-f".into(), "http://localhost/".into()]),
            interval: None,
            timeout: None,
            retries: None,
            start_period: None,
            start_interval: Some(Duration::from_millis(500)),
        });
        pma.volumes.push(Mount {
            kind: MountKind::Volume,
            source: None,
            target: "/tmp/cache".into(),
            read_only: false,
        });
        pma.depends_on.insert(
            "migrate".into(),
            Dependency {
                condition: Condition::CompletedSuccessfully,
                required: false,
            },
        );
        pma.stop_grace_period = Some(Duration::from_secs(20));
        pma.replicas = Some(2);
        stack
            .services
            .get_mut("db")
            .unwrap()
            .healthcheck
            .as_mut()
            .unwrap()
            .test = HealthTest::None;
        stack.volumes.get_mut("db-data").unwrap().external = true;

        let text = export(&stack, &Secrets::new());
        assert!(
            text.contains("restart: \"no\""),
            "restart must stay a string:\n{text}"
        );
        let doc = parsed(&text);
        let pma = &doc["services"]["phpmyadmin"];
        assert_eq!(pma["restart"], "no");
        assert_eq!(pma["entrypoint"], json!(["/docker-entrypoint.sh"]));
        assert_eq!(pma["user"], "33:33");
        assert_eq!(pma["working_dir"], "/var/www");
        assert_eq!(pma["hostname"], "pma");
        assert_eq!(pma["container_name"], "shop-pma");
        assert_eq!(pma["labels"], json!({"com.example.team": "web"}));
        assert_eq!(
            pma["healthcheck"],
            json!({"test": ["CMD", "curl", "-f", "http://localhost/"], "start_interval": "500ms"})
        );
        assert_eq!(
            pma["volumes"],
            json!([{"type": "volume", "target": "/tmp/cache"}])
        );
        assert_eq!(
            pma["depends_on"]["migrate"],
            json!({"condition": "service_completed_successfully", "required": false})
        );
        assert_eq!(pma["networks"], json!({"default": null}));
        assert_eq!(pma["stop_grace_period"], "20s");
        assert_eq!(pma["deploy"], json!({"replicas": 2}));
        assert_eq!(
            doc["services"]["db"]["healthcheck"]["test"],
            json!(["NONE"])
        );
        assert_eq!(
            doc["volumes"]["db-data"],
            json!({"name": "shop_db-data", "external": true})
        );
    }

    #[test]
    fn restart_policies_in_compose_notation() {
        assert_eq!(
            restart_str(RestartPolicy::OnFailure(Some(3))),
            "on-failure:3"
        );
        assert_eq!(restart_str(RestartPolicy::OnFailure(None)), "on-failure");
        assert_eq!(restart_str(RestartPolicy::Always), "always");
    }

    #[test]
    fn config_flavor_masks_and_says_what_compose_config_says() {
        let (text, masked) = config(&lamp(), &secrets(), false);
        assert_eq!(masked, ["DB_PASSWORD"]);
        assert!(!text.contains("pw-0123456789abcdef"), "{text}");
        let doc = parsed(&text);
        let web = &doc["services"]["web"];
        assert_eq!(
            web["environment"]["DATABASE_URL"],
            "mysql://root:********@db/shop"
        );
        // Values as the container gets them: no `$$`.
        assert_eq!(
            doc["services"]["db"]["healthcheck"]["test"][1],
            "mysqladmin ping -h 127.0.0.1 -p$MYSQL_ROOT_PASSWORD"
        );
        assert_eq!(
            web["depends_on"],
            json!({"db": {"condition": "service_healthy", "required": true}})
        );
        assert_eq!(
            web["volumes"],
            json!([{"type": "bind", "source": "/projects/shop/public", "target": "/var/www/html"}])
        );
        // The same document as JSON; nothing masked without secrets.
        let (json_text, masked) = config(&lamp(), &Secrets::new(), true);
        assert!(masked.is_empty());
        let json: Value = serde_json::from_str(&json_text).unwrap();
        assert_eq!(json, document(&lamp(), Flavor::Config));
        assert_eq!(
            json["services"]["db"]["environment"]["MYSQL_ROOT_PASSWORD"],
            "pw-0123456789abcdef"
        );
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(
            export(&lamp(), &secrets()),
            export(&lamp().clone(), &secrets())
        );
    }
}
