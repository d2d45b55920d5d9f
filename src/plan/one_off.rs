//! `pier run`'s one-off container. Its spec is the service's own, as the planner
//! makes it (`ContainerSpec::of`), with the run's overrides; its plan is `up`'s plan
//! for the service (networks, volumes, image, and the dependencies started and
//! ready) with the service's own container left out and the one-off created last.

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::labels;
use crate::plan::observed::Observed;
use crate::plan::reconcile::{PullPolicy, UpOptions, plan_up};
use crate::plan::spec::{ContainerSpec, PortSpec};
use crate::plan::steps::{Action, Cause, Plan, Step, StepId};
use crate::stack::model::{Mount, PortMapping, Stack};

/// What `pier run` changes about the service's container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOverrides {
    /// The one-off's name: `<project>-<service>-run-<12 hex digits>` unless `--name`.
    pub name: String,
    /// The command instead of the service's (None: the service's).
    pub command: Option<Vec<String>>,
    /// `--entrypoint`: also drops the service's command, as Compose does.
    pub entrypoint: Option<Vec<String>>,
    /// `-e KEY=VALUE`, over the service's environment.
    pub environment: BTreeMap<String, String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    /// `--service-ports`: publish the service's ports (otherwise none, so that a
    /// one-off never collides with the service's own container).
    pub service_ports: bool,
    /// `-p/--publish`: these ports instead (127.0.0.1 unless they name an address).
    pub publish: Vec<PortMapping>,
    /// `--use-aliases`: join the networks under the service's name and aliases,
    /// so that the one-off answers for the service too.
    pub use_aliases: bool,
    pub tty: bool,
    /// Keep stdin open and attached (closed when pier's input ends).
    pub interactive: bool,
    /// Removed by the engine when it exits (`-d --rm`: nobody waits to remove it).
    pub auto_remove: bool,
    /// `-v`: mounts over the service's own (one at the same path replaces it);
    /// applied to the stack the run is planned from (`run_stack`), so that a
    /// named volume is created, labelled, as `up` creates the service's.
    pub volumes: Vec<Mount>,
    /// `-l KEY[=VALUE]`: labels added to the service's (or replacing one).
    pub labels: BTreeMap<String, String>,
    /// `--cap-add` / `--cap-drop`: capabilities besides the service's.
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
}

/// The stack a run is planned from: `stack` with `overrides.volumes` mounted in
/// `service` over its own mounts at the same paths. Only the one-off is made from
/// that service here (`plan_run` leaves the service's own container alone).
pub fn run_stack(stack: &Stack, service: &str, overrides: &RunOverrides) -> Stack {
    let mut stack = stack.clone();
    if let Some(svc) = stack.services.get_mut(service) {
        for mount in &overrides.volumes {
            svc.volumes.retain(|m| m.target != mount.target);
            svc.volumes.push(mount.clone());
        }
    }
    stack
}

/// The one-off's container: the service's spec with `overrides`, labelled one-off,
/// without a restart policy (a command that ends must stay ended) and, unless
/// `use_aliases`, without the service's network aliases (the one-off must not
/// receive the service's traffic).
pub fn one_off_spec(stack: &Stack, service: &str, overrides: &RunOverrides) -> ContainerSpec {
    let mut spec = ContainerSpec::of(stack, service);
    spec.name = overrides.name.clone();
    spec.labels
        .insert(labels::ONE_OFF.to_string(), "true".to_string());
    if let Some(entrypoint) = &overrides.entrypoint {
        spec.entrypoint = Some(entrypoint.clone());
        spec.command = None;
    }
    if let Some(command) = &overrides.command {
        spec.command = Some(command.clone());
    }
    spec.environment.extend(overrides.environment.clone());
    spec.labels.extend(overrides.labels.clone());
    for (all, more) in [
        (&mut spec.host.cap_add, &overrides.cap_add),
        (&mut spec.host.cap_drop, &overrides.cap_drop),
    ] {
        for cap in more {
            if !all.contains(cap) {
                all.push(cap.clone());
            }
        }
    }
    if overrides.user.is_some() {
        spec.user = overrides.user.clone();
    }
    if overrides.working_dir.is_some() {
        spec.working_dir = overrides.working_dir.clone();
    }
    if !overrides.publish.is_empty() {
        spec.ports = overrides.publish.iter().map(PortSpec::from).collect();
        spec.exposed_ports.extend(
            spec.ports
                .iter()
                .map(|p| format!("{}/{}", p.target, p.protocol.as_str())),
        );
        spec.exposed_ports.sort();
        spec.exposed_ports.dedup();
    } else if !overrides.service_ports {
        spec.ports.clear();
    }
    spec.restart = None;
    spec.tty = overrides.tty;
    spec.stdin_open = overrides.interactive;
    spec.stdin_once = overrides.interactive;
    spec.auto_remove = overrides.auto_remove;
    if !overrides.use_aliases {
        for network in &mut spec.networks {
            network.aliases.clear();
        }
    }
    spec
}

/// How `plan_run` brings up what the one-off needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlanOptions {
    /// `--no-deps`: only the networks, volumes and image the one-off itself uses.
    pub no_deps: bool,
    pub pull: PullPolicy,
    /// `--build`: build the images of `build:` services first, as `up --build`.
    pub build: bool,
}

/// The plan that creates the one-off `spec` of `service`: `up`'s plan for the
/// service without the service's own container steps, then the one-off's create
/// after everything else.
pub fn plan_run(
    stack: &Stack,
    observed: &Observed,
    service: &str,
    spec: ContainerSpec,
    opts: RunPlanOptions,
) -> Result<Plan, Vec<Diagnostic>> {
    let no_deps = opts.no_deps;
    let up = plan_up(
        stack,
        observed,
        &UpOptions {
            services: vec![service.to_string()],
            pull: opts.pull,
            build: opts.build,
            remove_orphans: false,
        },
    )?;
    let keep = |action: &Action| match action {
        Action::CreateNetwork { name, .. } => {
            !no_deps || spec.networks.iter().any(|n| &n.name == name)
        }
        Action::CreateVolume { name, .. } => {
            !no_deps || spec.mounts.iter().any(|m| m.source.as_ref() == Some(name))
        }
        Action::PullImage { image, .. } | Action::BuildImage { image, .. } => {
            !no_deps || *image == spec.image
        }
        other => !no_deps && other.service() != Some(service),
    };
    let mut renumbered: BTreeMap<usize, StepId> = BTreeMap::new();
    let mut steps: Vec<Step> = Vec::new();
    for (i, step) in up.steps.into_iter().enumerate() {
        if !keep(&step.action) {
            continue;
        }
        renumbered.insert(i, StepId(steps.len()));
        let after = step
            .after
            .iter()
            .filter_map(|d| renumbered.get(&d.0).copied())
            .collect();
        steps.push(Step { after, ..step });
    }
    let after = (0..steps.len()).map(StepId).collect();
    steps.push(Step {
        action: Action::CreateContainer {
            service: service.to_string(),
            spec: Box::new(spec),
        },
        cause: Cause::Asked("run"),
        after,
    });
    Ok(Plan {
        project: up.project,
        steps,
        unchanged: vec![],
        notes: up.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::observed::{ContainerState, ObservedContainer, ObservedNetwork};
    use crate::stack::fixture::StackFixture;
    use crate::stack::model::{Condition, MountKind};

    fn stack() -> Stack {
        StackFixture::new("shop")
            .default_network()
            .service("db", |s| s.image("db:1").network("default"))
            .service("web", |s| {
                s.image("web:1")
                    .command(&["serve"])
                    .env("A", "1")
                    .port("127.0.0.1", 8080, 80)
                    .depends_on("db", Condition::Started)
                    .network("default")
            })
            .build()
    }

    fn overrides() -> RunOverrides {
        RunOverrides {
            name: "shop-web-run-0123456789ab".into(),
            command: Some(vec!["sh".into()]),
            environment: [("B".to_string(), "2".to_string())].into(),
            working_dir: Some("/w".into()),
            ..RunOverrides::default()
        }
    }

    fn opts(no_deps: bool) -> RunPlanOptions {
        RunPlanOptions {
            no_deps,
            pull: PullPolicy::Never,
            build: false,
        }
    }

    #[test]
    fn publish_replaces_the_ports_and_use_aliases_keeps_the_names() {
        let stack = stack();
        let publish = crate::stack::short_port("9000:81/udp").unwrap();
        let spec = one_off_spec(
            &stack,
            "web",
            &RunOverrides {
                publish: [
                    publish,
                    crate::stack::short_port("0.0.0.0:9443:443").unwrap(),
                ]
                .concat(),
                use_aliases: true,
                ..overrides()
            },
        );
        // Bound to 127.0.0.1 unless the flag names an address (pier's rule).
        let ports: Vec<(&str, Option<u16>, u16, &str)> = spec
            .ports
            .iter()
            .map(|p| {
                (
                    p.host_ip.as_str(),
                    p.host_port,
                    p.target,
                    p.protocol.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ports,
            [
                ("127.0.0.1", Some(9000), 81, "udp"),
                ("0.0.0.0", Some(9443), 443, "tcp"),
            ]
        );
        assert_eq!(spec.exposed_ports, ["443/tcp", "80/tcp", "81/udp"]);
        // The service's own name on its networks, as `up` gives its container.
        assert_eq!(
            spec.networks[0].aliases,
            ContainerSpec::of(&stack, "web").networks[0].aliases
        );
        assert_eq!(spec.networks[0].aliases, ["web"]);
    }

    #[test]
    fn build_builds_what_run_needs_first() {
        let stack = StackFixture::new("shop")
            .default_network()
            .service("web", |s| {
                s.network("default").with(|s| {
                    s.build = Some(crate::stack::model::Build {
                        context: "/shop".into(),
                        ..Default::default()
                    })
                })
            })
            .build();
        let spec = one_off_spec(&stack, "web", &overrides());
        let image = "sha256:built".to_string();
        // The image is there: nothing is built, unless --build.
        let observed = Observed {
            images: [("shop-web".to_string(), image)].into(),
            ..Observed::default()
        };
        let plan = plan_run(&stack, &observed, "web", spec.clone(), opts(true)).unwrap();
        assert!(!plan.to_string().contains("build image"), "{plan}");
        let build = RunPlanOptions {
            build: true,
            ..opts(true)
        };
        let plan = plan_run(&stack, &observed, "web", spec, build).unwrap();
        let text = plan.to_string();
        assert!(text.contains("build image shop-web"), "{text}");
        assert!(
            text.lines()
                .last()
                .is_some_and(|l| l.contains("create container shop-web-run-0123456789ab")),
            "the one-off is created after the build: {text}"
        );
    }

    #[test]
    fn the_one_off_is_the_service_spec_with_the_overrides() {
        let stack = stack();
        let service = ContainerSpec::of(&stack, "web");
        let spec = one_off_spec(&stack, "web", &overrides());
        let mut expected = service.clone();
        expected.name = "shop-web-run-0123456789ab".into();
        expected
            .labels
            .insert(labels::ONE_OFF.into(), "true".into());
        expected.command = Some(vec!["sh".into()]);
        expected.environment.insert("B".into(), "2".into());
        expected.working_dir = Some("/w".into());
        expected.ports.clear();
        expected.networks[0].aliases.clear();
        assert_eq!(spec, expected);
        // The service's ports with --service-ports; --entrypoint drops the command.
        let spec = one_off_spec(
            &stack,
            "web",
            &RunOverrides {
                service_ports: true,
                entrypoint: Some(vec!["env".into()]),
                command: None,
                tty: true,
                interactive: true,
                auto_remove: true,
                ..overrides()
            },
        );
        assert_eq!(spec.ports, service.ports);
        assert_eq!(spec.command, None);
        assert_eq!(spec.entrypoint, Some(vec!["env".into()]));
        assert!(spec.tty && spec.stdin_open && spec.stdin_once && spec.auto_remove);
    }

    #[test]
    fn run_volumes_labels_and_capabilities_go_on_the_one_off_only() {
        let stack = StackFixture::new("shop")
            .default_network()
            .volume("data")
            .volume("cache")
            .service("web", |s| {
                s.image("web:1")
                    .network("default")
                    .volume("data", "/data")
                    .bind("/shop/src", "/app")
                    .with(|svc| svc.cap_drop = vec!["MKNOD".into()])
            })
            .build();
        let mount = |kind, source: Option<&str>, target: &str| Mount {
            kind,
            source: source.map(String::from),
            target: target.into(),
            read_only: false,
        };
        let overrides = RunOverrides {
            name: "shop-web-run-0123456789ab".into(),
            volumes: vec![
                // Over the service's /app; a volume the service does not use.
                mount(MountKind::Bind, Some("/elsewhere"), "/app"),
                mount(MountKind::Volume, Some("cache"), "/cache"),
            ],
            labels: [("com.example.k".to_string(), "v".to_string())].into(),
            cap_add: vec!["NET_ADMIN".into()],
            cap_drop: vec!["MKNOD".into(), "NET_RAW".into()],
            ..RunOverrides::default()
        };
        let planned = run_stack(&stack, "web", &overrides);
        let spec = one_off_spec(&planned, "web", &overrides);
        let mounts: Vec<(Option<&str>, &str)> = spec
            .mounts
            .iter()
            .map(|m| (m.source.as_deref(), m.target.as_str()))
            .collect();
        assert_eq!(
            mounts,
            [
                (Some("shop_data"), "/data"),
                (Some("/elsewhere"), "/app"),
                (Some("shop_cache"), "/cache")
            ]
        );
        assert_eq!(spec.labels["com.example.k"], "v");
        assert_eq!(spec.host.cap_add, ["NET_ADMIN"]);
        assert_eq!(spec.host.cap_drop, ["MKNOD", "NET_RAW"]);
        // The run's volume is created (labelled, as `up` creates the service's).
        let plan = plan_run(&planned, &Observed::default(), "web", spec, opts(true)).unwrap();
        assert!(
            plan.to_string().contains("create volume shop_cache"),
            "{plan}"
        );
        // The stack itself is as it was.
        assert_eq!(stack.services["web"].volumes.len(), 2);
    }

    #[test]
    fn run_starts_the_dependencies_and_creates_the_one_off_last() {
        let stack = stack();
        let spec = one_off_spec(&stack, "web", &overrides());
        let plan = plan_run(
            &stack,
            &Observed::default(),
            "web",
            spec.clone(),
            opts(false),
        )
        .unwrap();
        assert_eq!(
            plan.to_string(),
            "project shop: 5 steps
  1. create network shop_default (not found)
  2. create container shop-db-1 (not found) after 1
  3. start container shop-db-1 (created) after 2
  4. wait for db: service_started (needed by web) after 3
  5. create container shop-web-run-0123456789ab (pier run) after 1, 2, 3, 4
"
        );
        // --no-deps: the network it joins, nothing of db.
        let plan = plan_run(
            &stack,
            &Observed::default(),
            "web",
            spec.clone(),
            opts(true),
        )
        .unwrap();
        assert_eq!(
            plan.to_string(),
            "project shop: 2 steps
  1. create network shop_default (not found)
  2. create container shop-web-run-0123456789ab (pier run) after 1
"
        );
        // Everything there and running: the one-off alone.
        let running = |service: &str| ObservedContainer {
            network_host: None,
            networks: None,
            pre_stop: vec![],
            name: format!("shop-{service}-1"),
            id: service.into(),
            image_id: None,
            service: service.into(),
            config_hash: Some(crate::plan::hash::ConfigHash::of(&stack.services[service]).total),
            field_hashes: BTreeMap::new(),
            depends_on: vec![],
            state: ContainerState::Running,
            health: None,
            exit_code: None,
            started_at: None,
            published: vec![],
        };
        let observed = Observed {
            containers: vec![running("db"), running("web")],
            networks: vec![ObservedNetwork {
                name: "shop_default".into(),
                id: "n".into(),
            }],
            ..Observed::default()
        };
        let plan = plan_run(&stack, &observed, "web", spec, opts(false)).unwrap();
        assert_eq!(
            plan.to_string(),
            "project shop: 1 step\n  1. create container shop-web-run-0123456789ab (pier run)\n"
        );
    }
}
