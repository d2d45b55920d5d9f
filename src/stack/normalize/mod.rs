//! Stage 3: the interpolated YAML value → the Stack model, short and long Compose
//! syntax alike. References (services, networks, volumes, secrets) are checked
//! here, where each one's exact path is known; every problem is collected.

mod develop;
mod duration;
mod environment;
mod healthcheck;
mod host;
mod memory;
mod mounts;
mod ports;
mod references;
mod resources;
mod service;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::docpath;
use super::interpolate::Variables;
use super::model::{Network, Stack};
use super::read;
use crate::diagnostic::Diagnostic;

pub use mounts::short_volume;
pub use ports::{DEFAULT_HOST_IP, short_port};

const TOP_KEYS: &[&str] = &[
    "name", "services", "networks", "volumes", "secrets", "configs",
];
// `include` is resolved before normalization (`stack::include`).
const TOP_UNSUPPORTED: &[&str] = &["models"];

/// Names declared in the file, so references can be checked while normalizing.
#[derive(Debug, Default)]
pub struct Declared {
    pub services: Vec<String>,
    pub networks: BTreeSet<String>,
    pub volumes: BTreeSet<String>,
    pub secrets: BTreeSet<String>,
    pub configs: BTreeSet<String>,
}

/// What normalization reads besides the document, and where it collects problems.
pub struct Ctx<'a> {
    pub project: &'a str,
    pub project_dir: &'a Path,
    pub vars: &'a Variables,
    pub declared: Declared,
    pub diags: Vec<Diagnostic>,
}

impl read::Collect for Ctx<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }
}

impl Ctx<'_> {
    pub fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// A host path from the file, made absolute: `~` is the user's home (from
    /// `HOME`), a relative path is against the project directory; `.` and `..` are
    /// folded lexically (the path need not exist yet).
    pub fn resolve(&self, path: &str) -> PathBuf {
        // HOME is set in any login shell; without one, fall back to root's home.
        let home = self.vars.get("HOME").unwrap_or("/root");
        let joined = if path == "~" {
            PathBuf::from(home)
        } else if let Some(rest) = path.strip_prefix("~/") {
            Path::new(home).join(rest)
        } else {
            self.project_dir.join(path)
        };
        crate::stack::paths::lexical(&joined)
    }
}

/// Normalize a whole document.
pub fn normalize(
    root: &Value,
    project: &str,
    project_dir: &Path,
    vars: &Variables,
) -> (Stack, Vec<Diagnostic>) {
    let mut ctx = Ctx {
        project,
        project_dir,
        vars,
        declared: Declared::default(),
        diags: Vec::new(),
    };
    let mut stack = Stack {
        name: project.to_string(),
        project_dir: project_dir.to_path_buf(),
        services: BTreeMap::new(),
        networks: BTreeMap::new(),
        volumes: BTreeMap::new(),
        secrets: BTreeMap::new(),
        configs: BTreeMap::new(),
        disabled: Default::default(),
    };
    let Some(top) = root.as_mapping() else {
        let found = read::describe(root);
        ctx.push(
            Diagnostic::error(
                "",
                format!("a stack file must be a mapping with `services:`, found {found}"),
            )
            .with_hint("start the file with `services:` and one key per service"),
        );
        return (stack, ctx.diags);
    };
    if top.contains_key("version") {
        ctx.push(
            Diagnostic::warning("version", "`version` is obsolete and ignored")
                .with_hint("remove it"),
        );
    }
    let mut fields = BTreeMap::new();
    let mut top = top.clone();
    top.remove("version");
    for (key, value) in read::entries(&mut ctx, &top, "", TOP_KEYS, TOP_UNSUPPORTED) {
        fields.insert(key, value);
    }

    // Declarations first: services refer to them.
    if let Some(v) = fields.get("networks") {
        stack.networks = resources::networks(&mut ctx, v, "networks");
    }
    if let Some(v) = fields.get("volumes") {
        stack.volumes = resources::volumes(&mut ctx, v, "volumes");
    }
    if let Some(v) = fields.get("secrets") {
        stack.secrets = resources::secrets(&mut ctx, v, "secrets");
    }
    if let Some(v) = fields.get("configs") {
        stack.configs = resources::configs(&mut ctx, v, "configs");
    }
    // Declared means written in the file, even when the definition has errors of
    // its own: a reference to it should not add a misleading "not declared".
    let keys_of = |section: &str| -> BTreeSet<String> {
        match fields.get(section) {
            Some(Value::Mapping(m)) => m.keys().filter_map(read::scalar_text).collect(),
            _ => BTreeSet::new(),
        }
    };
    ctx.declared.networks = keys_of("networks");
    ctx.declared.volumes = keys_of("volumes");
    ctx.declared.secrets = keys_of("secrets");
    ctx.declared.configs = keys_of("configs");

    let services = match fields.get("services") {
        Some(Value::Mapping(m)) if !m.is_empty() => Some(m),
        Some(Value::Mapping(_)) | Some(Value::Null) | None => {
            ctx.push(
                Diagnostic::error("services", "the stack defines no services").with_hint(
                    "add `services:` with at least one service, e.g. `web: {image: nginx}`",
                ),
            );
            None
        }
        Some(other) => {
            read::expected(
                &mut ctx,
                "services",
                "a mapping of service names to services",
                other,
            );
            None
        }
    };
    if let Some(services) = services {
        ctx.declared.services = services.keys().filter_map(read::scalar_text).collect();
        for (key, value) in services {
            let Some(name) = read::scalar_text(key) else {
                // A null or collection key (`~:`, `? [a]`, an anchor before the
                // colon) was dropped silently here; found by tests/properties.rs.
                read::expected(&mut ctx, "services", "service names", key);
                continue;
            };
            let path = docpath::child("services", &name);
            if !valid_service_name(&name) {
                ctx.push(
                    Diagnostic::error(&path, format!("invalid service name {name:?}")).with_hint(
                        "use letters, digits, `.`, `_` and `-`, starting with a letter or digit",
                    ),
                );
            }
            if let Some(svc) = service::service(&mut ctx, &name, value, &path) {
                stack.services.insert(name, svc);
            }
        }
    }

    // The implicit `default` network exists once a service uses it.
    let uses_default = stack
        .services
        .values()
        .any(|s| s.networks.contains_key("default"));
    if uses_default && !stack.networks.contains_key("default") {
        stack.networks.insert(
            "default".into(),
            Network {
                name: crate::stack::naming::scoped(project, "default"),
                ..Network::default()
            },
        );
    }
    (stack, ctx.diags)
}

fn valid_service_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::stack::model::{Condition, HealthTest, MountKind, RestartPolicy};

    /// A context for unit tests: project `proj` in `/project`, HOME=/home/me,
    /// a declared volume `data`, network `back`, secret `pw`, services db and web.
    pub fn ctx_for() -> Ctx<'static> {
        let vars: &'static Variables = Box::leak(Box::new(Variables::new(
            [("HOME", "/home/me"), ("PORT", "8080")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )));
        Ctx {
            project: "proj",
            project_dir: Path::new("/project"),
            vars,
            declared: Declared {
                services: vec!["db".into(), "web".into()],
                networks: ["back".to_string()].into(),
                volumes: ["data".to_string()].into(),
                secrets: ["pw".to_string()].into(),
                configs: ["conf".to_string()].into(),
            },
            diags: Vec::new(),
        }
    }

    fn run(yaml: &str) -> (Stack, Vec<Diagnostic>) {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        let vars = Variables::new([("HOME".to_string(), "/home/me".to_string())].into());
        normalize(&v, "shop", Path::new("/srv/shop"), &vars)
    }

    fn errors(diags: &[Diagnostic]) -> Vec<(String, String)> {
        diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| (d.path.clone(), d.message.clone()))
            .collect()
    }

    const LAMP: &str = r#"
x-common: &common
  restart: unless-stopped
services:
  web:
    <<: *common
    build: ./app
    command: php -S 0.0.0.0:80 -t "public dir"
    ports: ["8080:80"]
    volumes: ["./app:/var/www/html:ro"]
    depends_on:
      db: {condition: service_healthy}
    environment: [DB_HOST=db]
    x-note: ignored
  db:
    image: mariadb:11
    environment: {MARIADB_ROOT_PASSWORD: secret, PORT: 3306}
    volumes: [data:/var/lib/mysql]
    healthcheck: {test: [CMD, healthcheck.sh, --connect], interval: 2s}
    restart: on-failure:3
    networks: {default: {aliases: [database]}}
volumes:
  data:
"#;

    #[test]
    fn a_whole_stack() {
        let v: Value = crate::stack::parse::parse(LAMP).unwrap();
        let vars = Variables::default();
        let (stack, diags) = normalize(&v, "shop", Path::new("/srv/shop"), &vars);
        assert!(diags.is_empty(), "{diags:?}");
        let web = &stack.services["web"];
        assert_eq!(
            web.build.as_ref().unwrap().context,
            PathBuf::from("/srv/shop/app")
        );
        assert_eq!(
            web.command.as_ref().unwrap(),
            &["php", "-S", "0.0.0.0:80", "-t", "public dir"]
        );
        assert_eq!(web.restart, Some(RestartPolicy::UnlessStopped));
        assert_eq!(web.depends_on["db"].condition, Condition::Healthy);
        assert_eq!(web.ports[0].host_ip, "127.0.0.1");
        assert_eq!(web.volumes[0].kind, MountKind::Bind);
        assert!(web.networks.contains_key("default"));
        let db = &stack.services["db"];
        assert_eq!(db.environment["PORT"], "3306");
        assert_eq!(db.restart, Some(RestartPolicy::OnFailure(Some(3))));
        assert_eq!(db.networks["default"].aliases, ["database"]);
        assert!(matches!(
            db.healthcheck.as_ref().unwrap().test,
            HealthTest::Cmd(_)
        ));
        assert_eq!(stack.volumes["data"].name, "shop_data");
        assert_eq!(stack.networks["default"].name, "shop_default");
    }

    #[test]
    fn unsupported_keys_are_warnings_naming_them() {
        let (_, d) = run(
            "services:\n  web:\n    image: x\n    gpus: all\n    blkio_config: {weight: 300}\n    imgae: y\n",
        );
        let warnings: Vec<_> = d.iter().map(|d| (d.path.as_str(), d.is_error())).collect();
        assert_eq!(
            warnings,
            [
                ("services.web.gpus", false),
                ("services.web.blkio_config", false),
                ("services.web.imgae", false)
            ]
        );
        assert_eq!(d[2].hint.as_deref(), Some("did you mean `image`?"));
    }

    #[test]
    fn wrong_types_are_errors_with_the_path() {
        let (_, d) = run("services:\n  app: {image: x, user: 1000}\n");
        assert_eq!(
            errors(&d),
            [(
                "services.app.user".into(),
                "expected a string, found the number 1000".into()
            )]
        );
        let (_, d) = run("services: []\n");
        assert_eq!(errors(&d)[0].0, "services");
        let (_, d) =
            run("services:\n  web:\n    image: x\n    ports: yes\n    privileged: maybe\n");
        let e = errors(&d);
        assert_eq!(
            e[0],
            (
                "services.web.ports".into(),
                "expected a list of ports, found the string \"yes\"".into()
            )
        );
        assert_eq!(e[1].0, "services.web.privileged");
    }

    #[test]
    fn names_that_are_not_scalars_are_errors_not_dropped() {
        for (doc, path) in [
            ("services:\n  &web:\n    image: x\n", "services"),
            (
                "services:\n  ~: {image: x}\n  web: {image: x}\n",
                "services",
            ),
            ("services: {web: {image: x}}\nvolumes: {~: {}}\n", "volumes"),
            (
                "services: {web: {image: x}}\nnetworks: {? [a]: {}}\n",
                "networks",
            ),
            (
                "services: {web: {image: x}}\nsecrets: {~: {file: ./pw}}\n",
                "secrets",
            ),
        ] {
            let (_, d) = run(doc);
            let e = errors(&d);
            assert_eq!(e.len(), 1, "{doc}: {e:?}");
            assert_eq!(e[0].0, path, "{doc}");
            assert!(e[0].1.starts_with("expected "), "{doc}: {e:?}");
        }
    }

    #[test]
    fn references_are_checked() {
        let (_, d) = run(
            "services:\n  web:\n    image: x\n    depends_on: [dbb]\n    networks: [front]\n    secrets: [pw]\n    network_mode: service:nope\n  db:\n    build: .\n    restart: sometimes\n    depends_on: {web: {condition: service_ready}}\n",
        );
        let e = errors(&d);
        let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "services.web.depends_on[0]",
                "services.web.networks[0]",
                "services.web.secrets[0]",
                "services.web.network_mode",
                "services.web",
                "services.db.restart",
                "services.db.depends_on.web.condition",
            ]
        );
        let dep = d
            .iter()
            .find(|d| d.path == "services.web.depends_on[0]")
            .unwrap();
        assert_eq!(dep.hint.as_deref(), Some("did you mean `db`?"));
    }

    #[test]
    fn a_broken_declaration_still_counts_as_declared() {
        let (_, d) = run("secrets: {pw: 3}\nservices:\n  web: {image: x, secrets: [pw]}\n");
        assert_eq!(
            errors(&d),
            [(
                "secrets.pw".into(),
                "expected a mapping, found the number 3".into()
            )]
        );
    }

    #[test]
    fn optional_missing_dependency_is_a_warning() {
        let (s, d) = run(
            "services:\n  web:\n    image: x\n    depends_on: {cache: {condition: service_started, required: false}}\n",
        );
        assert!(errors(&d).is_empty());
        assert!(s.services["web"].depends_on.is_empty());
    }

    #[test]
    fn service_without_image_or_build() {
        let (_, d) = run("services:\n  web: {image: }\n");
        assert_eq!(
            errors(&d)[0].1,
            "service `web` has neither `image` nor `build`"
        );
        // A wrong image is its own error, not a missing one.
        let (_, d) = run("services:\n  web: {image: [x]}\n");
        assert_eq!(
            errors(&d),
            [(
                "services.web.image".into(),
                "expected a string, found a list".into()
            )]
        );
        let (_, d) = run("services:\n  web: {}\n");
        assert_eq!(
            errors(&d)[0].1,
            "service `web` has neither `image` nor `build`"
        );
    }

    #[test]
    fn network_mode_leaves_networks_empty() {
        let (s, d) = run("services:\n  web: {image: x, network_mode: host}\n");
        assert!(d.is_empty());
        assert!(s.services["web"].networks.is_empty());
        assert!(s.networks.is_empty());
    }

    #[test]
    fn version_is_obsolete_and_top_level_extensions_are_fine() {
        let (_, d) = run("version: '3.8'\nx-anything: {a: 1}\nservices:\n  web: {image: x}\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "version");
    }

    #[test]
    fn deploy_replicas_and_misc() {
        let (s, d) = run(
            "services:\n  web:\n    image: x\n    deploy: {replicas: 3}\n    entrypoint: [\"/bin/sh\", \"-c\"]\n    user: \"1000:1000\"\n    tmpfs: /run\n    stop_grace_period: 1m\n    labels: [a=b, c]\n    extra_hosts: {host.docker.internal: host-gateway}\n",
        );
        assert!(d.is_empty(), "{d:?}");
        let web = &s.services["web"];
        assert_eq!(web.replicas, Some(3));
        assert_eq!(web.user.as_deref(), Some("1000:1000"));
        assert_eq!(web.volumes[0].kind, MountKind::Tmpfs);
        assert_eq!(web.labels["c"], "");
        assert_eq!(web.extra_hosts, ["host.docker.internal:host-gateway"]);
    }

    #[test]
    fn resolve_folds_dots() {
        let c = ctx_for();
        assert_eq!(c.resolve("./a/../b"), PathBuf::from("/project/b"));
        assert_eq!(c.resolve("/abs/./x"), PathBuf::from("/abs/x"));
        assert_eq!(c.resolve("~/x"), PathBuf::from("/home/me/x"));
    }
}
