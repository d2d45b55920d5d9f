//! The swarm planner: the desired `SwarmPlan` against what `observe_swarm` found →
//! a `Plan<SwarmAction>` with causes, walked by the same scheduler as the local
//! target (`execute::walk`). Pure: no engine, no tokio.
//!
//! `up`: create the networks and secrets that are missing, create the services that
//! are missing, update those whose config hash differs (naming the changed fields),
//! wait for each created or updated service before what depends on it starts, and
//! remove orphan services when asked. `down`: remove the project's services
//! (dependents first), wait for their tasks to stop, then networks, secrets and
//! (with `-v`) volumes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::{OVERLAY, ObservedService, SwarmObserved, SwarmPlan, SwarmService};
use crate::error::{Error, Result};
use crate::plan::spec::Readiness as Condition;
use crate::plan::steps::{Cause, Plan, Step, StepId};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum SwarmAction {
    CreateNetwork {
        name: String,
        key: String,
        internal: bool,
    },
    /// Created from the value read by the caller (by `key`); `hash` is its sha256,
    /// kept as a label so a changed value is noticed without reading it back.
    CreateSecret {
        name: String,
        key: String,
        hash: String,
    },
    CreateService {
        spec: Box<SwarmService>,
    },
    /// Update the existing service `id` (at spec `version`) to `spec`.
    UpdateService {
        spec: Box<SwarmService>,
        id: String,
        version: u64,
    },
    /// Until the service's tasks are ready (`condition`), counting only the tasks of
    /// the definition the previous step created or updated.
    WaitService {
        service: String,
        name: String,
        condition: Condition,
        replicas: u32,
    },
    RemoveService {
        name: String,
        id: String,
    },
    /// Until the removed services' task containers are gone from this node: only
    /// then are their networks, secrets and volumes released.
    WaitTasksStopped {
        /// (name, id) of each removed service.
        services: Vec<(String, String)>,
    },
    RemoveNetwork {
        name: String,
    },
    RemoveSecret {
        name: String,
        id: String,
    },
    RemoveVolume {
        name: String,
    },
}

impl fmt::Display for SwarmAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwarmAction::CreateNetwork { name, internal, .. } => {
                let internal = if *internal { ", internal" } else { "" };
                write!(f, "create network {name} ({OVERLAY}{internal})")
            }
            SwarmAction::CreateSecret { name, .. } => write!(f, "create secret {name}"),
            SwarmAction::CreateService { spec } => {
                write!(f, "create service {} ({})", spec.name, spec.image)
            }
            SwarmAction::UpdateService { spec, .. } => write!(f, "update service {}", spec.name),
            SwarmAction::WaitService {
                name, condition, ..
            } => write!(f, "wait for service {name} ({})", condition.as_str()),
            SwarmAction::RemoveService { name, .. } => write!(f, "remove service {name}"),
            SwarmAction::WaitTasksStopped { .. } => f.write_str("wait for the tasks to stop"),
            SwarmAction::RemoveNetwork { name } => write!(f, "remove network {name}"),
            SwarmAction::RemoveSecret { name, .. } => write!(f, "remove secret {name}"),
            SwarmAction::RemoveVolume { name } => write!(f, "remove volume {name}"),
        }
    }
}

/// sha256 of a secret's value: kept as a label, so a changed value is noticed
/// without the value ever being read back or shown.
pub fn secret_hash(value: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(value))
}

/// What `up --target swarm` needs besides the desired plan and the observed state.
#[derive(Debug, Clone, Default)]
pub struct SwarmUpOptions {
    /// sha256 of each secret's value, by its key: a secret that exists with another
    /// value is an error (a swarm secret cannot change while services use it).
    pub secret_hashes: BTreeMap<String, String>,
    /// Every service key of the stack file (not only those selected): a project
    /// service not among them is an orphan.
    pub stack_services: BTreeSet<String>,
    pub remove_orphans: bool,
}

fn conflict(resource: String, problem: String, hint: &str) -> Error {
    Error::SwarmConflict {
        resource,
        problem,
        hint: hint.into(),
    }
}

/// The steps that take the swarm from `observed` to `desired`.
pub fn plan_swarm_up(
    desired: &SwarmPlan,
    observed: &SwarmObserved,
    opts: &SwarmUpOptions,
) -> Result<Plan<SwarmAction>> {
    let mut steps: Vec<Step<SwarmAction>> = Vec::new();
    let mut unchanged = Vec::new();
    let mut notes = Vec::new();

    // Networks: one left by a local `pier up` (not swarm-scoped) cannot carry services.
    let mut network_steps = BTreeMap::new();
    for n in &desired.networks {
        match observed.network(&n.name) {
            Some(found) if found.scope != "swarm" => {
                return Err(conflict(
                    format!("network {}", n.name),
                    format!(
                        "it exists as a {} network (from a local `pier up`?), and swarm services need an overlay network of that name",
                        if found.scope.is_empty() {
                            "non-swarm"
                        } else {
                            &found.scope
                        }
                    ),
                    "run `pier down` to remove the local stack first, or use another project name (-p)",
                ));
            }
            Some(_) => {}
            None => {
                network_steps.insert(n.name.clone(), StepId(steps.len()));
                steps.push(Step {
                    action: SwarmAction::CreateNetwork {
                        name: n.name.clone(),
                        key: n.key.clone(),
                        internal: n.internal,
                    },
                    cause: Cause::NotFound,
                    after: vec![],
                });
            }
        }
    }

    let mut secret_steps = BTreeMap::new();
    for s in &desired.secrets {
        let hash = opts.secret_hashes.get(&s.key).cloned().unwrap_or_default();
        match observed.secret(&s.name) {
            Some(existing) => {
                if existing.hash.as_deref() != Some(hash.as_str()) {
                    return Err(conflict(
                        format!("secret {}", s.name),
                        "its value changed, and a swarm secret cannot be changed while services use it".into(),
                        "run `pier down --target swarm` (volumes are kept), then `pier up --target swarm` again",
                    ));
                }
            }
            None => {
                secret_steps.insert(s.name.clone(), StepId(steps.len()));
                steps.push(Step {
                    action: SwarmAction::CreateSecret {
                        name: s.name.clone(),
                        key: s.key.clone(),
                        hash,
                    },
                    cause: Cause::NotFound,
                    after: vec![],
                });
            }
        }
    }

    // Services in start order (levels), so that a service's dependencies are planned first.
    let services: Vec<&SwarmService> = desired.services().collect();
    // Service key → its wait step, for those created or updated.
    let mut waits: BTreeMap<&str, StepId> = BTreeMap::new();
    for svc in &services {
        let existing = observed.service(&svc.name);
        let (action, cause) = match existing {
            Some(e) if e.config_hash.as_deref() == Some(svc.config_hash().as_str()) => {
                unchanged.push(svc.key.clone());
                continue;
            }
            Some(e) => (
                SwarmAction::UpdateService {
                    spec: Box::new((*svc).clone()),
                    id: e.id.clone(),
                    version: e.version,
                },
                Cause::ConfigChanged(changed_fields(svc, e)),
            ),
            None => (
                SwarmAction::CreateService {
                    spec: Box::new((*svc).clone()),
                },
                Cause::NotFound,
            ),
        };
        let mut after: Vec<StepId> = svc
            .networks
            .iter()
            .filter_map(|a| network_steps.get(&a.network).copied())
            .chain(
                svc.secrets
                    .iter()
                    .filter_map(|s| secret_steps.get(&s.secret).copied()),
            )
            .chain(
                svc.depends_on
                    .iter()
                    .filter_map(|d| waits.get(d.as_str()).copied()),
            )
            .collect();
        after.sort();
        after.dedup();
        let change = StepId(steps.len());
        steps.push(Step {
            action,
            cause,
            after,
        });
        let dependents: Vec<String> = services
            .iter()
            .filter(|d| d.depends_on.contains(&svc.key))
            .map(|d| d.key.clone())
            .collect();
        waits.insert(&svc.key, StepId(steps.len()));
        steps.push(Step {
            action: SwarmAction::WaitService {
                service: svc.key.clone(),
                name: svc.name.clone(),
                condition: svc.ready.into(),
                replicas: svc.replicas,
            },
            cause: if dependents.is_empty() {
                Cause::Requested
            } else {
                Cause::NeededBy(dependents)
            },
            after: vec![change],
        });
    }

    for orphan in observed
        .services
        .iter()
        .filter(|s| !opts.stack_services.contains(&s.key))
    {
        if opts.remove_orphans {
            steps.push(Step {
                action: SwarmAction::RemoveService {
                    name: orphan.name.clone(),
                    id: orphan.id.clone(),
                },
                cause: Cause::Orphan,
                after: vec![],
            });
        } else {
            notes.push(format!(
                "service {} is not in the stack file; `pier up --target swarm --remove-orphans` or `pier down --target swarm` removes it",
                orphan.name
            ));
        }
    }

    Ok(Plan {
        project: desired.project.clone(),
        steps,
        unchanged,
        notes,
    })
}

/// The fields whose hash differs from the service's label; none (plain "config
/// changed") for a service created before pier kept per-field hashes.
fn changed_fields(svc: &SwarmService, existing: &ObservedService) -> Vec<String> {
    let Some(old) = &existing.config_fields else {
        return vec![];
    };
    crate::plan::hash::changed_fields(&svc.field_hashes(), old)
}

/// Remove what the swarm has of the project (found by label, not from the stack
/// file): services dependents first, then — once their tasks have stopped — the
/// swarm-scoped networks, the secrets, and the volumes when `volumes` is set.
pub fn plan_swarm_down(
    project: &str,
    observed: &SwarmObserved,
    volumes: bool,
) -> Plan<SwarmAction> {
    let mut steps: Vec<Step<SwarmAction>> = Vec::new();
    let order = observed.teardown_order();
    let mut removal: BTreeMap<&str, StepId> = BTreeMap::new();
    for s in &order {
        // After the removal of every service that depends on this one.
        let mut after: Vec<StepId> = observed
            .services
            .iter()
            .filter(|d| d.depends_on.contains(&s.key))
            .filter_map(|d| removal.get(d.key.as_str()).copied())
            .collect();
        after.sort();
        removal.insert(&s.key, StepId(steps.len()));
        steps.push(Step {
            action: SwarmAction::RemoveService {
                name: s.name.clone(),
                id: s.id.clone(),
            },
            cause: Cause::Down,
            after,
        });
    }
    let released: Vec<StepId> = if observed.services.is_empty() {
        vec![]
    } else {
        let id = StepId(steps.len());
        steps.push(Step {
            action: SwarmAction::WaitTasksStopped {
                services: observed
                    .services
                    .iter()
                    .map(|s| (s.name.clone(), s.id.clone()))
                    .collect(),
            },
            cause: Cause::Down,
            after: (0..steps.len()).map(StepId).collect(),
        });
        vec![id]
    };
    for n in observed.networks.iter().filter(|n| n.scope == "swarm") {
        steps.push(Step {
            action: SwarmAction::RemoveNetwork {
                name: n.name.clone(),
            },
            cause: Cause::Down,
            after: released.clone(),
        });
    }
    for s in &observed.secrets {
        steps.push(Step {
            action: SwarmAction::RemoveSecret {
                name: s.name.clone(),
                id: s.id.clone(),
            },
            cause: Cause::Down,
            after: released.clone(),
        });
    }
    if volumes {
        for v in &observed.volumes {
            steps.push(Step {
                action: SwarmAction::RemoveVolume { name: v.clone() },
                cause: Cause::Down,
                after: released.clone(),
            });
        }
    }
    Plan {
        project: project.to_string(),
        steps,
        unchanged: vec![],
        notes: vec![],
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::*;
    use crate::plan::swarm::{ObservedSecret, SwarmNetworkInfo, plan_swarm};
    use crate::stack::model::Stack;
    use crate::stack::{Variables, load_str};

    const SHOP: &str = r#"
name: shop
services:
  db:
    image: postgres:16
    secrets: [db_password]
    environment: {POSTGRES_DB: shop}
    healthcheck:
      test: pg_isready
  api:
    image: shop/api
    depends_on:
      db: {condition: service_healthy}
  web:
    image: nginx
    depends_on: [api]
    deploy: {replicas: 2}
secrets:
  db_password:
    environment: DB_PASSWORD
"#;

    fn load(text: &str) -> Stack {
        load_str(
            text,
            Path::new("/p/pier.yaml"),
            Path::new("/p"),
            &Variables::new(BTreeMap::new()),
            None,
        )
        .unwrap_or_else(|d| panic!("{d:?}"))
        .0
    }

    fn opts(stack: &Stack, remove_orphans: bool) -> SwarmUpOptions {
        SwarmUpOptions {
            secret_hashes: [("db_password".to_string(), secret_hash(b"pw"))].into(),
            stack_services: stack.services.keys().cloned().collect(),
            remove_orphans,
        }
    }

    fn observed_service(svc: &SwarmService) -> ObservedService {
        ObservedService {
            name: svc.name.clone(),
            id: format!("id-{}", svc.key),
            key: svc.key.clone(),
            version: 7,
            config_hash: Some(svc.config_hash()),
            config_fields: Some(svc.field_hashes()),
            depends_on: svc.depends_on.clone(),
            replicas: Some(u64::from(svc.replicas)),
            updated_at: String::new(),
        }
    }

    /// What the swarm has once `desired` was deployed.
    fn deployed(desired: &SwarmPlan) -> SwarmObserved {
        SwarmObserved {
            services: desired.services().map(observed_service).collect(),
            networks: desired
                .networks
                .iter()
                .map(|n| SwarmNetworkInfo {
                    name: n.name.clone(),
                    id: format!("net-{}", n.key),
                    scope: "swarm".into(),
                })
                .collect(),
            secrets: desired
                .secrets
                .iter()
                .map(|s| ObservedSecret {
                    name: s.name.clone(),
                    id: format!("sec-{}", s.key),
                    hash: Some(secret_hash(b"pw")),
                })
                .collect(),
            volumes: vec![],
        }
    }

    fn plan_text(stack: &Stack, observed: &SwarmObserved, remove_orphans: bool) -> String {
        let desired = plan_swarm(stack, &[]).unwrap();
        plan_swarm_up(&desired, observed, &opts(stack, remove_orphans))
            .unwrap()
            .to_string()
    }

    #[test]
    fn a_first_deploy_creates_everything_and_waits_for_dependencies_first() {
        let stack = load(SHOP);
        assert_eq!(
            plan_text(&stack, &SwarmObserved::default(), false),
            "project shop: 8 steps
  1. create network shop_default (overlay) (not found)
  2. create secret shop_db_password (not found)
  3. create service shop_db (postgres:16) (not found) after 1, 2
  4. wait for service shop_db (service_healthy) (needed by api) after 3
  5. create service shop_api (shop/api) (not found) after 1, 4
  6. wait for service shop_api (service_started) (needed by web) after 5
  7. create service shop_web (nginx) (not found) after 1, 6
  8. wait for service shop_web (service_started) (ready before up returns) after 7
"
        );
    }

    #[test]
    fn a_deployed_stack_is_unchanged() {
        let stack = load(SHOP);
        let observed = deployed(&plan_swarm(&stack, &[]).unwrap());
        assert_eq!(
            plan_text(&stack, &observed, false),
            "project shop: nothing to do\nunchanged: db, api, web\n"
        );
    }

    #[test]
    fn a_changed_environment_updates_the_service_naming_the_field() {
        let stack = load(SHOP);
        let observed = deployed(&plan_swarm(&stack, &[]).unwrap());
        let changed = load(&SHOP.replace("POSTGRES_DB: shop", "POSTGRES_DB: shop2"));
        assert_eq!(
            plan_text(&changed, &observed, false),
            "project shop: 2 steps
  1. update service shop_db (config changed: environment)
  2. wait for service shop_db (service_healthy) (needed by api) after 1
unchanged: api, web
"
        );
        // The update names the service's id and the version the engine must see.
        let desired = plan_swarm(&changed, &[]).unwrap();
        let plan = plan_swarm_up(&desired, &observed, &opts(&changed, false)).unwrap();
        assert!(matches!(
            &plan.steps[0].action,
            SwarmAction::UpdateService { id, version: 7, spec } if id == "id-db" && spec.env == ["POSTGRES_DB=shop2"]
        ));
    }

    #[test]
    fn a_service_without_field_hashes_says_config_changed() {
        let stack = load(SHOP);
        let mut observed = deployed(&plan_swarm(&stack, &[]).unwrap());
        for s in &mut observed.services {
            s.config_fields = None;
            if s.key == "web" {
                s.config_hash = Some("old".into());
            }
        }
        assert_eq!(
            plan_text(&stack, &observed, false),
            "project shop: 2 steps
  1. update service shop_web (config changed)
  2. wait for service shop_web (service_started) (ready before up returns) after 1
unchanged: db, api
"
        );
    }

    #[test]
    fn an_orphan_is_a_note_unless_orphans_are_removed() {
        let stack = load(SHOP);
        let mut observed = deployed(&plan_swarm(&stack, &[]).unwrap());
        observed.services.push(ObservedService {
            name: "shop_old".into(),
            id: "id-old".into(),
            key: "old".into(),
            version: 1,
            config_hash: None,
            config_fields: None,
            depends_on: vec![],
            replicas: Some(1),
            updated_at: String::new(),
        });
        assert_eq!(
            plan_text(&stack, &observed, false),
            "project shop: nothing to do
unchanged: db, api, web
note: service shop_old is not in the stack file; `pier up --target swarm --remove-orphans` or `pier down --target swarm` removes it
"
        );
        assert_eq!(
            plan_text(&stack, &observed, true),
            "project shop: 1 step
  1. remove service shop_old (orphan: service not in the stack file)
unchanged: db, api, web
"
        );
    }

    #[test]
    fn a_dependent_waits_only_for_what_this_plan_changes() {
        // db is unchanged: api's update starts at once; web waits for api.
        let stack = load(SHOP);
        let mut observed = deployed(&plan_swarm(&stack, &[]).unwrap());
        observed.services.retain(|s| s.key == "db");
        assert_eq!(
            plan_text(&stack, &observed, false),
            "project shop: 4 steps
  1. create service shop_api (shop/api) (not found)
  2. wait for service shop_api (service_started) (needed by web) after 1
  3. create service shop_web (nginx) (not found) after 2
  4. wait for service shop_web (service_started) (ready before up returns) after 3
unchanged: db
"
        );
    }

    #[test]
    fn a_changed_secret_value_is_an_error_before_anything_is_planned() {
        let stack = load(SHOP);
        let desired = plan_swarm(&stack, &[]).unwrap();
        let observed = deployed(&desired);
        let mut o = opts(&stack, false);
        o.secret_hashes
            .insert("db_password".into(), secret_hash(b"other"));
        let err = plan_swarm_up(&desired, &observed, &o).unwrap_err();
        assert!(
            err.to_string()
                .contains("secret shop_db_password: its value changed"),
            "{err}"
        );
    }

    #[test]
    fn a_local_network_of_the_same_name_is_a_conflict() {
        let stack = load(SHOP);
        let desired = plan_swarm(&stack, &[]).unwrap();
        let mut observed = SwarmObserved::default();
        observed.networks.push(SwarmNetworkInfo {
            name: "shop_default".into(),
            id: "n".into(),
            scope: "local".into(),
        });
        let err = plan_swarm_up(&desired, &observed, &opts(&stack, false)).unwrap_err();
        assert!(
            err.to_string().contains("exists as a local network"),
            "{err}"
        );
    }

    #[test]
    fn down_removes_dependents_first_then_what_the_tasks_released() {
        let stack = load(SHOP);
        let mut observed = deployed(&plan_swarm(&stack, &[]).unwrap());
        observed.volumes = vec!["shop_data".into()];
        let plan = plan_swarm_down("shop", &observed, true);
        assert_eq!(
            plan.to_string(),
            "project shop: 7 steps
  1. remove service shop_web (down)
  2. remove service shop_api (down) after 1
  3. remove service shop_db (down) after 2
  4. wait for the tasks to stop (down) after 1, 2, 3
  5. remove network shop_default (down) after 4
  6. remove secret shop_db_password (down) after 4
  7. remove volume shop_data (down) after 4
"
        );
        assert_eq!(
            plan_swarm_down("shop", &SwarmObserved::default(), true).to_string(),
            "project shop: nothing to do\n"
        );
    }
}
