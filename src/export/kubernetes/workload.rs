//! A service's pods: a Deployment for a long-running service, a Job for a
//! one-shot task (a service another waits on with
//! `service_completed_successfully`), with containers, volumes, probes and
//! the init containers that stand in for `depends_on`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort as KContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HostAlias, ObjectFieldSelector, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec,
    ResourceRequirements, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::names::{data_key, dns_label, is_qualified_name, object_labels, service_labels};
use super::secret::{EnvBuilder, file_secret_name};
use super::{Context, files, probes};
use crate::diagnostic::Diagnostic;
use crate::stack::model::{Condition, MountKind, RestartPolicy, Service};

/// The image init containers use to wait for a dependency.
pub const WAIT_IMAGE: &str = "busybox:1.37";

/// The objects one service becomes (besides its Service, see `service.rs`).
#[derive(Debug)]
pub enum Workload {
    Deployment(Box<Deployment>),
    Job(Box<Job>),
}

pub struct Built {
    pub workload: Workload,
    pub config_map: Option<k8s_openapi::api::core::v1::ConfigMap>,
}

pub fn build(ctx: &mut Context, name: &str, service: &Service) -> Built {
    let project = ctx.stack.name.clone();
    let files = files::bind_mounts(&project, name, service, ctx.secrets, &mut ctx.diagnostics);
    let (mut volumes, mut mounts, has_claim) = volumes(ctx, service);
    volumes.extend(files.volume);
    mounts.extend(files.mounts);

    let container = container(ctx, name, service, mounts);
    let init_containers = wait_containers(ctx, name, service);
    let is_job = ctx.jobs.contains(name);

    let mut annotations = BTreeMap::new();
    for (key, value) in &service.labels {
        if is_qualified_name(key) {
            annotations.insert(key.clone(), value.clone());
        } else {
            ctx.diagnostics.push(Diagnostic::warning(
                format!("services.{name}.labels.{key}"),
                "not a valid Kubernetes annotation key: not exported",
            ));
        }
    }
    let pod = PodSpec {
        containers: vec![container],
        init_containers: (!init_containers.is_empty()).then_some(init_containers),
        volumes: (!volumes.is_empty()).then_some(volumes),
        hostname: service.hostname.as_deref().map(dns_label),
        host_aliases: host_aliases(ctx, name, service),
        termination_grace_period_seconds: service.stop_grace_period.map(|d| d.as_secs() as i64),
        restart_policy: is_job.then(|| job_restart_policy(service.restart).to_string()),
        ..PodSpec::default()
    };
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(service_labels(&project, name)),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(pod),
    };
    let metadata = ObjectMeta {
        name: Some(dns_label(name)),
        labels: Some(object_labels(&project, Some(name))),
        ..ObjectMeta::default()
    };
    let workload = if is_job {
        Workload::Job(Box::new(Job {
            metadata,
            spec: Some(JobSpec {
                template,
                backoff_limit: Some(match service.restart {
                    Some(RestartPolicy::OnFailure(Some(max))) => max.min(i32::MAX as u32) as i32,
                    Some(RestartPolicy::OnFailure(None)) => 6,
                    _ => 0,
                }),
                ..JobSpec::default()
            }),
            status: None,
        }))
    } else {
        Workload::Deployment(Box::new(Deployment {
            metadata,
            spec: DeploymentSpec {
                replicas: Some(service.replicas.unwrap_or(1).min(i32::MAX as u32) as i32),
                selector: LabelSelector {
                    match_labels: Some(service_labels(&project, name)),
                    ..LabelSelector::default()
                },
                // A ReadWriteOnce claim cannot be held by the old and the new pod at
                // once; a rolling update would wait forever. Stop, then start.
                strategy: has_claim.then(|| DeploymentStrategy {
                    type_: Some("Recreate".into()),
                    ..DeploymentStrategy::default()
                }),
                template,
                ..DeploymentSpec::default()
            },
            status: None,
        }))
    };
    Built {
        workload,
        config_map: files.config_map,
    }
}

/// A Job's pods may not use `Always`; compose's `on-failure` retries, anything else runs once.
fn job_restart_policy(restart: Option<RestartPolicy>) -> &'static str {
    match restart {
        Some(RestartPolicy::OnFailure(_)) => "OnFailure",
        _ => "Never",
    }
}

/// Named volumes (claims), anonymous volumes and tmpfs (emptyDir), and secrets.
/// Returns the pod volumes, the container's mounts, and whether a claim is used.
fn volumes(ctx: &mut Context, service: &Service) -> (Vec<Volume>, Vec<VolumeMount>, bool) {
    let mut volumes: Vec<Volume> = Vec::new();
    let mut mounts = Vec::new();
    let mut has_claim = false;
    for (i, mount) in service.volumes.iter().enumerate() {
        let (volume_name, volume) = match (mount.kind, &mount.source) {
            (MountKind::Bind, _) => continue,
            (MountKind::Volume, Some(key)) => {
                has_claim = true;
                let claim_name = ctx.claim_name(key);
                (
                    dns_label(&format!("volume-{key}")),
                    Volume {
                        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                            claim_name,
                            read_only: None,
                        }),
                        ..Volume::default()
                    },
                )
            }
            (MountKind::Volume, None) => (
                format!("anonymous-{i}"),
                Volume {
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Volume::default()
                },
            ),
            (MountKind::Tmpfs, _) => (
                format!("tmpfs-{i}"),
                Volume {
                    empty_dir: Some(EmptyDirVolumeSource {
                        medium: Some("Memory".into()),
                        ..EmptyDirVolumeSource::default()
                    }),
                    ..Volume::default()
                },
            ),
        };
        if !volumes.iter().any(|v| v.name == volume_name) {
            volumes.push(Volume {
                name: volume_name.clone(),
                ..volume
            });
        }
        mounts.push(VolumeMount {
            name: volume_name,
            mount_path: mount.target.clone(),
            read_only: mount.read_only.then_some(true),
            ..VolumeMount::default()
        });
    }
    if !service.secrets.is_empty() {
        volumes.push(Volume {
            name: "secrets".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(file_secret_name(&ctx.stack.name)),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        for secret in &service.secrets {
            ctx.file_secrets_used.insert(secret.source.clone());
            mounts.push(VolumeMount {
                name: "secrets".into(),
                mount_path: secret.target.clone(),
                sub_path: Some(data_key(&secret.source)),
                read_only: Some(true),
                ..VolumeMount::default()
            });
        }
    }
    (volumes, mounts, has_claim)
}

fn container(
    ctx: &mut Context,
    name: &str,
    service: &Service,
    mounts: Vec<VolumeMount>,
) -> Container {
    let project = ctx.stack.name.clone();
    let image = match (&service.image, &service.build) {
        (Some(image), None) => image.clone(),
        (image, build) => {
            // Compose tags a built image `<project>-<service>` unless `image:` names it.
            let tag = image.clone().unwrap_or_else(|| format!("{project}-{name}"));
            let context = build
                .as_ref()
                .map(|b| b.context.display().to_string())
                .unwrap_or_default();
            ctx.diagnostics.push(
                Diagnostic::warning(
                    format!("services.{name}.build"),
                    format!("the cluster cannot build {name}'s image: the manifests use the image {tag:?}, which must be pushed where the cluster can pull it"),
                )
                .with_hint(format!("docker build -t REGISTRY/{tag} {context} && docker push REGISTRY/{tag}, then set the image in the manifest (with kind or minikube, load the image into the cluster instead)")),
            );
            tag
        }
    };
    let mut env = EnvBuilder::new(&project, ctx.secrets);
    let command = service
        .entrypoint
        .as_ref()
        .map(|c| c.iter().map(|a| env.text(a)).collect());
    let args = service
        .command
        .as_ref()
        .map(|c| c.iter().map(|a| env.text(a)).collect());
    let (env, used) = env.env(&service.environment);
    ctx.env_secrets_used.extend(used);

    let ports: Vec<KContainerPort> = ctx.ports[name]
        .iter()
        .map(|p| KContainerPort {
            container_port: i32::from(p.port),
            protocol: Some(p.protocol_name().into()),
            ..KContainerPort::default()
        })
        .collect();
    let probe = service.healthcheck.as_ref().and_then(probes::probe);
    Container {
        name: dns_label(name),
        image: Some(image),
        image_pull_policy: service.build.is_some().then(|| "IfNotPresent".to_string()),
        command,
        args,
        env: (!env.is_empty()).then_some(env),
        ports: (!ports.is_empty()).then_some(ports),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        readiness_probe: probe.clone(),
        liveness_probe: probe,
        working_dir: service.working_dir.clone(),
        security_context: security_context(ctx, name, service),
        // `mem_limit` in bytes: a plain number is a valid Kubernetes quantity.
        resources: service.mem_limit.map(|bytes| ResourceRequirements {
            limits: Some([("memory".to_string(), Quantity(bytes.to_string()))].into()),
            ..ResourceRequirements::default()
        }),
        tty: service.tty.then_some(true),
        stdin: service.stdin_open.then_some(true),
        ..Container::default()
    }
}

/// `user: "1000"` or `"1000:1000"` → runAsUser/runAsGroup; a user *name* cannot be
/// expressed (Kubernetes wants numbers) and is reported.
fn security_context(ctx: &mut Context, name: &str, service: &Service) -> Option<SecurityContext> {
    let mut sc = SecurityContext::default();
    if let Some(user) = &service.user {
        let (uid, gid) = match user.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (user.as_str(), None),
        };
        match (uid.parse::<i64>(), gid.map(str::parse::<i64>)) {
            (Ok(uid), None) => sc.run_as_user = Some(uid),
            (Ok(uid), Some(Ok(gid))) => {
                sc.run_as_user = Some(uid);
                sc.run_as_group = Some(gid);
            }
            _ => ctx.diagnostics.push(
                Diagnostic::warning(
                    format!("services.{name}.user"),
                    format!("user {user:?} is not numeric; Kubernetes needs a uid, so the image's user is used"),
                )
                .with_hint("write the numeric id, e.g. user: \"1000:1000\""),
            ),
        }
    }
    if service.privileged {
        sc.privileged = Some(true);
    }
    (sc != SecurityContext::default()).then_some(sc)
}

/// `extra_hosts: ["host:ip"]` (or `host=ip`) → hostAliases, grouped by address.
fn host_aliases(ctx: &mut Context, name: &str, service: &Service) -> Option<Vec<HostAlias>> {
    let mut by_ip: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, entry) in service.extra_hosts.iter().enumerate() {
        let split = entry.split_once('=').or_else(|| entry.split_once(':'));
        match split {
            Some((host, ip)) if ip != "host-gateway" && !host.is_empty() && !ip.is_empty() => {
                by_ip
                    .entry(ip.to_string())
                    .or_default()
                    .push(host.to_string());
            }
            _ => ctx.diagnostics.push(Diagnostic::warning(
                format!("services.{name}.extra_hosts[{i}]"),
                format!("{entry:?} has no fixed address in a cluster: not exported"),
            )),
        }
    }
    let aliases: Vec<HostAlias> = by_ip
        .into_iter()
        .map(|(ip, hostnames)| HostAlias {
            ip,
            hostnames: Some(hostnames),
        })
        .collect();
    (!aliases.is_empty()).then_some(aliases)
}

/// One init container per dependency, which loops until the dependency's name
/// resolves. Its Service is headless, and a headless Service's DNS lists only
/// *ready* pods: ready means the readiness probe (the healthcheck) passes, or,
/// without one, that the container runs — `service_healthy` and
/// `service_started`, the same line compose draws. The name is fully qualified
/// (namespace from the downward API) because busybox's `nslookup` does not use
/// the resolver's search domains; `cluster.local` is the default cluster domain.
fn wait_containers(ctx: &mut Context, name: &str, service: &Service) -> Vec<Container> {
    let mut containers = Vec::new();
    for (dep, dependency) in &service.depends_on {
        let path = format!("services.{name}.depends_on.{dep}");
        if !ctx.stack.services.contains_key(dep) {
            continue; // `required: false` and absent: nothing to wait for.
        }
        if dependency.condition == Condition::CompletedSuccessfully || ctx.jobs.contains(dep) {
            ctx.diagnostics.push(
                Diagnostic::warning(
                    &path,
                    format!("{dep} is exported as a Job; Kubernetes cannot make {name} wait until it completes, so {name} starts at once"),
                )
                .with_hint(format!("make {name} retry until what {dep} prepares is there, or run the Job before applying the rest")),
            );
            continue;
        }
        let host = dns_label(dep);
        let script = format!(
            "until nslookup {host}.$NAMESPACE.svc.cluster.local >/dev/null 2>&1; \
             do echo 'waiting for {host} to be ready'; sleep 2; done"
        );
        containers.push(Container {
            name: dns_label(&format!("wait-for-{dep}")),
            image: Some(WAIT_IMAGE.into()),
            command: Some(vec!["sh".into(), "-c".into(), script]),
            env: Some(vec![EnvVar {
                name: "NAMESPACE".into(),
                value: None,
                value_from: Some(EnvVarSource {
                    field_ref: Some(ObjectFieldSelector {
                        field_path: "metadata.namespace".into(),
                        api_version: None,
                    }),
                    ..EnvVarSource::default()
                }),
            }]),
            ..Container::default()
        });
    }
    containers
}
