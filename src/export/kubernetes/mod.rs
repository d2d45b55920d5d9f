//! `pier export kubernetes`: the model as Kubernetes manifests.
//!
//! Every object is a typed `k8s-openapi` struct, serialized — never hand-written
//! YAML — so the manifests have the API's shape by construction. What the
//! model says becomes:
//!
//! | stack file | Kubernetes |
//! | --- | --- |
//! | a service | a Deployment (`workload.rs`), or a Job if another service waits for it with `service_completed_successfully` |
//! | its name (and network aliases) | a headless Service, so `db:3306` resolves to the pod as under pier, whatever ports are listed (`service.rs`) |
//! | a named volume | a PersistentVolumeClaim (1Gi, ReadWriteOnce) named like the engine volume; its Deployment uses the `Recreate` strategy |
//! | anonymous volume / tmpfs | an emptyDir (in memory for tmpfs) |
//! | a read-only single-file bind mount | a ConfigMap with the file's content (`files.rs`) |
//! | other bind mounts | left out, with a warning naming the service |
//! | healthcheck | readiness and liveness probes (`probes.rs`) |
//! | depends_on | init containers that wait until the dependency is ready (in its Service's DNS) and its port answers |
//! | secret values, secrets | references to Secrets created outside the manifests (`secret.rs`) |
//!
//! Published host ports have no equivalent (use `kubectl port-forward`), and a
//! cluster has one pod network (separate networks are not isolated).
//! Everything that does not carry over is reported as a warning.

mod files;
mod names;
mod probes;
mod secret;
mod service;
mod workload;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

use self::names::{dns_label, object_labels};
use self::service::ContainerPort;
use crate::diagnostic::{self, Diagnostic};
use crate::error::Error;
use crate::secrets::Secrets;
use crate::stack::model::{Condition, Stack};
use crate::stack::yaml_emit::to_yaml;

pub use self::names::{LABEL_NAME, LABEL_PART_OF};
pub use self::workload::WAIT_IMAGE;

/// Size requested for each named volume's claim. The stack file says nothing about size.
const CLAIM_SIZE: &str = "1Gi";

/// The file `-o DIR` writes the Secret commands to.
pub const SECRETS_SCRIPT: &str = "create-secrets.sh";

/// One Kubernetes object, serialized.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub kind: &'static str,
    pub name: String,
    pub object: Value,
}

/// The result of an export: the objects in apply order, what did not carry over,
/// and the commands that create the Secrets the objects reference.
#[derive(Debug)]
pub struct KubernetesExport {
    pub manifests: Vec<Manifest>,
    /// Warnings only; errors are returned as `Error::Invalid`.
    pub diagnostics: Vec<Diagnostic>,
    pub secrets_script: Option<String>,
}

impl KubernetesExport {
    /// A multi-document YAML stream, for `kubectl apply -f -`.
    pub fn to_stream(&self) -> String {
        let mut out = String::new();
        for manifest in &self.manifests {
            out.push_str("---\n");
            out.push_str(&to_yaml(&manifest.object));
        }
        out
    }

    /// One file per object (`deployment-web.yaml`), plus the Secret script, for `-o DIR`.
    pub fn files(&self) -> Vec<(PathBuf, String)> {
        let mut files: Vec<(PathBuf, String)> = self
            .manifests
            .iter()
            .map(|m| {
                let file = format!("{}-{}.yaml", m.kind.to_ascii_lowercase(), m.name);
                (PathBuf::from(file), to_yaml(&m.object))
            })
            .collect();
        if let Some(script) = &self.secrets_script {
            files.push((PathBuf::from(SECRETS_SCRIPT), script.clone()));
        }
        files
    }
}

/// What the builders share while one stack is exported.
pub(crate) struct Context<'a> {
    stack: &'a Stack,
    secrets: &'a Secrets,
    diagnostics: Vec<Diagnostic>,
    /// Container ports per service (published and exposed).
    ports: BTreeMap<String, Vec<ContainerPort>>,
    /// Services exported as Jobs.
    jobs: BTreeSet<String>,
    env_secrets_used: BTreeSet<String>,
    file_secrets_used: BTreeSet<String>,
}

impl Context<'_> {
    /// The claim of named volume `key`: the engine volume's name, made a valid object name.
    fn claim_name(&self, key: &str) -> String {
        match self.stack.volumes.get(key) {
            Some(volume) => dns_label(&volume.name),
            None => dns_label(&self.stack.scoped_name(key)),
        }
    }
}

/// Export `stack`. `env_file` is where the Secret script reads secret variables
/// from (the `.env` the stack was loaded with). A secret value that would still
/// end up in a manifest is an error (`Error::Invalid`), never written.
pub fn export(
    stack: &Stack,
    secrets: &Secrets,
    env_file: &Path,
) -> Result<KubernetesExport, Error> {
    let mut ctx = Context {
        stack,
        secrets,
        diagnostics: Vec::new(),
        ports: BTreeMap::new(),
        jobs: jobs(stack),
        env_secrets_used: BTreeSet::new(),
        file_secrets_used: BTreeSet::new(),
    };
    for (name, svc) in &stack.services {
        let ports = service::container_ports(name, svc, &mut ctx.diagnostics);
        ctx.ports.insert(name.clone(), ports);
    }
    stack_warnings(&mut ctx);

    let mut manifests = Vec::new();
    let mut dns_names: BTreeMap<String, String> = BTreeMap::new();
    for name in stack.services.keys() {
        dns_names.insert(dns_label(name), name.clone());
    }
    for (name, svc) in &stack.services {
        let built = workload::build(&mut ctx, name, svc);
        match built.workload {
            workload::Workload::Deployment(d) => manifests.push(manifest("Deployment", &*d)),
            workload::Workload::Job(j) => manifests.push(manifest("Job", &*j)),
        }
        if let Some(config_map) = built.config_map {
            manifests.push(manifest("ConfigMap", &config_map));
        }
        let ports = ctx.ports[name].clone();
        // A one-shot task is not connected to, unless it says it listens.
        if ctx.jobs.contains(name) && ports.is_empty() {
            continue;
        }
        manifests.push(manifest(
            "Service",
            &service::service_object(&stack.name, name, name, &ports),
        ));
        let aliases: BTreeSet<&String> = svc.networks.values().flat_map(|n| &n.aliases).collect();
        for alias in aliases {
            let label = dns_label(alias);
            match dns_names.get(&label) {
                Some(owner) if owner != name => ctx.diagnostics.push(Diagnostic::warning(
                    format!("services.{name}.networks"),
                    format!(
                        "alias {alias:?} is also the name of {owner}; no Service is written for it"
                    ),
                )),
                Some(_) => {}
                None => {
                    dns_names.insert(label, name.clone());
                    manifests.push(manifest(
                        "Service",
                        &service::service_object(&stack.name, name, alias, &ports),
                    ));
                }
            }
        }
    }
    for (key, volume) in &stack.volumes {
        if volume.external {
            ctx.diagnostics.push(Diagnostic::warning(
                format!("volumes.{key}"),
                format!(
                    "external volume: no PersistentVolumeClaim is written; create one named {:?}",
                    ctx.claim_name(key)
                ),
            ));
            continue;
        }
        let used = stack
            .services
            .values()
            .flat_map(|s| &s.volumes)
            .any(|m| m.source.as_deref() == Some(key.as_str()));
        if used {
            manifests.push(manifest("PersistentVolumeClaim", &claim(&ctx, key)));
        }
    }

    let file_secrets: BTreeMap<String, crate::stack::model::Secret> = stack
        .secrets
        .iter()
        .filter(|(k, _)| ctx.file_secrets_used.contains(*k))
        .map(|(k, s)| (k.clone(), s.clone()))
        .collect();
    let secrets_script =
        secret::setup_script(&stack.name, env_file, &ctx.env_secrets_used, &file_secrets);
    if secrets_script.is_some() {
        let mut names = Vec::new();
        if !ctx.env_secrets_used.is_empty() {
            names.push(secret::env_secret_name(&stack.name));
        }
        if !file_secrets.is_empty() {
            names.push(secret::file_secret_name(&stack.name));
        }
        ctx.diagnostics.push(
            Diagnostic::warning(
                "secrets",
                format!("secret values are not written into the manifests: create the Secret(s) {} in the cluster before the pods can start", names.join(", ")),
            )
            .with_hint(format!("`pier export kubernetes -o DIR` writes the commands to DIR/{SECRETS_SCRIPT}")),
        );
    }

    manifests.sort_by(|a, b| (kind_order(a.kind), &a.name).cmp(&(kind_order(b.kind), &b.name)));
    let leaks = find_leaks(&manifests, stack, secrets);
    if !leaks.is_empty() {
        return Err(Error::Invalid(leaks));
    }
    diagnostic::sort(&mut ctx.diagnostics);
    Ok(KubernetesExport {
        manifests,
        diagnostics: ctx.diagnostics,
        secrets_script,
    })
}

/// Services some other service waits for with `service_completed_successfully`: one-shot tasks.
fn jobs(stack: &Stack) -> BTreeSet<String> {
    stack
        .services
        .values()
        .flat_map(|s| &s.depends_on)
        .filter(|(_, d)| d.condition == Condition::CompletedSuccessfully)
        .map(|(name, _)| name.clone())
        .filter(|name| stack.services.contains_key(name))
        .collect()
}

/// Things that do not carry over, reported once for the stack or per service.
fn stack_warnings(ctx: &mut Context) {
    let stack = ctx.stack;
    let internal = stack
        .networks
        .iter()
        .filter(|(_, n)| n.internal)
        .map(|(k, _)| k.as_str());
    if stack.networks.len() > 1 || internal.clone().next().is_some() {
        ctx.diagnostics.push(
            Diagnostic::warning("networks", "a cluster has one pod network: services on different (or internal) networks can all reach each other there")
                .with_hint("add NetworkPolicies to separate them"),
        );
    }
    for (name, svc) in &stack.services {
        if dns_label(name) != *name {
            ctx.diagnostics.push(Diagnostic::warning(
                format!("services.{name}"),
                format!("{name:?} is not a valid Kubernetes name; it is exported as {:?}, the name other services reach it by", dns_label(name)),
            ));
        }
        if let Some(mode) = &svc.network_mode {
            ctx.diagnostics.push(Diagnostic::warning(
                format!("services.{name}.network_mode"),
                format!("network_mode {mode:?} has no Kubernetes equivalent: not exported"),
            ));
        }
        for field in svc.engine_only_keys() {
            ctx.diagnostics.push(Diagnostic::warning(
                format!("services.{name}.{field}"),
                format!("`{field}` is not exported to Kubernetes"),
            ));
        }
        if svc.stop_signal.is_some() {
            ctx.diagnostics.push(Diagnostic::warning(
                format!("services.{name}.stop_signal"),
                "Kubernetes stops containers with SIGTERM: stop_signal is not exported",
            ));
        }
    }
}

fn claim(ctx: &Context, key: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(ctx.claim_name(key)),
            labels: Some(object_labels(&ctx.stack.name, None)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_string(), Quantity(CLAIM_SIZE.into()))].into()),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        status: None,
    }
}

fn manifest<T: Serialize>(kind: &'static str, object: &T) -> Manifest {
    let object = serde_json::to_value(object).expect("k8s-openapi types serialize");
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Manifest { kind, name, object }
}

/// Apply order: what pods need (config, claims), then Services, then workloads.
fn kind_order(kind: &str) -> u8 {
    match kind {
        "ConfigMap" => 0,
        "PersistentVolumeClaim" => 1,
        "Service" => 2,
        "Deployment" => 3,
        "Job" => 4,
        _ => 5,
    }
}

/// The last line of defence: any string in any manifest that still holds a
/// secret value (as is, or `$$`-escaped) — e.g. a password typed into a
/// healthcheck command — is an error naming where it is.
fn find_leaks(manifests: &[Manifest], stack: &Stack, secrets: &Secrets) -> Vec<Diagnostic> {
    fn walk(value: &Value, at: &str, found: &mut Vec<(String, String)>, secrets: &Secrets) {
        match value {
            Value::String(s) => {
                let unescaped = s.replace("$$", "$");
                if let Some(name) = secrets.found_in(s).or_else(|| secrets.found_in(&unescaped)) {
                    found.push((at.to_string(), name.to_string()));
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{at}[{i}]"), found, secrets);
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    walk(item, &format!("{at}.{key}"), found, secrets);
                }
            }
            _ => {}
        }
    }
    let mut diagnostics = Vec::new();
    for m in manifests {
        let mut found = Vec::new();
        walk(&m.object, "", &mut found, secrets);
        let service = m.object["metadata"]["labels"][LABEL_NAME].as_str();
        let owner = stack
            .services
            .keys()
            .find(|k| Some(dns_label(k).as_str()) == service);
        for (at, secret) in found {
            diagnostics.push(
                Diagnostic::error(
                    owner.map(|s| format!("services.{s}")).unwrap_or_default(),
                    format!("the value of {secret} would be written into {} {} at {}", m.kind, m.name, at.trim_start_matches('.')),
                )
                .with_hint(format!("refer to the variable where it is used (e.g. $${secret} in a shell command) instead of its value")),
            );
        }
    }
    diagnostic::sort(&mut diagnostics);
    diagnostics
}

#[cfg(test)]
mod tests;
