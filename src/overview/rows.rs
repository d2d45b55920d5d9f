//! One row per service: its container, state, health and published ports.
//!
//! Honest health. The engine runs a health test only every `interval`, so right
//! after `pier up` it still says "starting" for a service pier's own probe already
//! found healthy (that is how `up` waits without sitting out a 30 s interval). Both
//! `up`'s summary and `ps` therefore build their rows here, from the engine's word
//! plus one on-demand run of the container's own test where the engine says
//! "starting" (`engine::probe_configured_health`):
//! - the engine says healthy / unhealthy → shown as it says;
//! - the engine says starting and pier's run passed → `healthy (checked by pier)`;
//! - the engine says starting and pier's run failed or could not run → `starting`.
//!
//! Rows cover the services of the stack file, in name order (those without a
//! container are `not created`), then containers carrying the project's label
//! whose service is no longer in the file (found by label, like `down`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::urls::{port_text, urls};
use crate::plan::observed::{ContainerState, Health, Observed, ObservedContainer, PublishedPort};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateView {
    NotCreated,
    Container {
        state: ContainerState,
        exit_code: Option<i64>,
    },
}

impl StateView {
    pub fn text(&self) -> String {
        match self {
            StateView::NotCreated => "not created".into(),
            StateView::Container {
                state: ContainerState::Exited,
                exit_code,
            } => format!("exited ({})", exit_code.unwrap_or(-1)),
            StateView::Container { state, .. } => state.to_string(),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(
            self,
            StateView::Container {
                state: ContainerState::Running,
                ..
            }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthView {
    /// No healthcheck, or the container does not run.
    None,
    /// What the engine's own healthcheck reports.
    Engine(Health),
    /// The engine still says starting; pier ran the container's test and it passed.
    CheckedByPier,
}

impl HealthView {
    pub fn text(self) -> &'static str {
        match self {
            HealthView::None => "—",
            HealthView::Engine(h) => h.as_str(),
            HealthView::CheckedByPier => "healthy (checked by pier)",
        }
    }

    /// The health word alone, for JSON.
    pub fn status(self) -> Option<&'static str> {
        match self {
            HealthView::None => None,
            HealthView::Engine(h) => Some(h.as_str()),
            HealthView::CheckedByPier => Some("healthy"),
        }
    }

    /// Who said so, for JSON: `engine` or `pier`.
    pub fn checked_by(self) -> Option<&'static str> {
        match self {
            HealthView::None => None,
            HealthView::Engine(_) => Some("engine"),
            HealthView::CheckedByPier => Some("pier"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRow {
    pub service: String,
    pub container: Option<String>,
    pub state: StateView,
    pub health: HealthView,
    pub ports: Vec<PublishedPort>,
    /// False for a container of a service no longer in the stack file.
    pub in_stack_file: bool,
    /// The engine's id of the container (`ps -q`), when there is one.
    pub id: Option<String>,
    /// A one-off container of `pier run` (`ps -a` lists them after the services).
    pub one_off: bool,
}

/// Services (by name) whose engine health is `starting` while they run: the ones
/// to run the health test of once (`probe_configured_health`) before building rows.
pub fn awaiting_engine_health(observed: &Observed) -> Vec<(String, String)> {
    observed
        .containers
        .iter()
        .filter(|c| c.state == ContainerState::Running && c.health == Some(Health::Starting))
        .map(|c| (c.service.clone(), c.name.clone()))
        .collect()
}

/// The rows for `stack_services` (the file's services) and whatever else carries
/// the project's label. `pier_checked`: service → whether pier's own run of its
/// health test passed (only consulted where the engine says starting).
pub fn service_rows<'a>(
    stack_services: impl IntoIterator<Item = &'a str>,
    observed: &Observed,
    pier_checked: &BTreeMap<String, bool>,
) -> Vec<ServiceRow> {
    let mut rows: Vec<ServiceRow> = stack_services
        .into_iter()
        .map(|s| row(s, observed, pier_checked, true))
        .collect();
    let mut orphans: Vec<&str> = observed
        .containers
        .iter()
        .map(|c| c.service.as_str())
        .filter(|s| !rows.iter().any(|r| r.service == *s))
        .collect();
    orphans.sort();
    orphans.dedup();
    rows.extend(
        orphans
            .into_iter()
            .map(|s| row(s, observed, pier_checked, false)),
    );
    rows
}

fn row(
    service: &str,
    observed: &Observed,
    pier_checked: &BTreeMap<String, bool>,
    in_stack_file: bool,
) -> ServiceRow {
    let Some(c) = observed.container_of(service) else {
        return ServiceRow {
            service: service.into(),
            container: None,
            state: StateView::NotCreated,
            health: HealthView::None,
            ports: vec![],
            in_stack_file,
            id: None,
            one_off: false,
        };
    };
    let checked = pier_checked.get(service) == Some(&true);
    container_row(c, checked, in_stack_file, false)
}

/// The row of container `c`; `checked`: pier's own run of its health test passed.
fn container_row(
    c: &ObservedContainer,
    checked: bool,
    in_stack_file: bool,
    one_off: bool,
) -> ServiceRow {
    let running = c.state == ContainerState::Running;
    let health = match c.health {
        _ if !running => HealthView::None,
        None => HealthView::None,
        Some(Health::Starting) if checked => HealthView::CheckedByPier,
        Some(h) => HealthView::Engine(h),
    };
    ServiceRow {
        service: c.service.clone(),
        container: Some(c.name.clone()),
        state: StateView::Container {
            state: c.state,
            exit_code: c.exit_code,
        },
        health,
        ports: c.published.clone(),
        in_stack_file,
        id: Some(c.id.clone()),
        one_off,
    }
}

/// A row per one-off container of `pier run`, by name (`ps -a`, as Compose's
/// lists them); `stack_services` are the file's services. Health is the engine's.
pub fn one_off_rows<'a>(
    stack_services: impl IntoIterator<Item = &'a str>,
    observed: &Observed,
) -> Vec<ServiceRow> {
    let in_file: Vec<&str> = stack_services.into_iter().collect();
    let mut one_offs: Vec<&ObservedContainer> = observed.one_offs.iter().collect();
    one_offs.sort_by(|a, b| a.name.cmp(&b.name));
    one_offs
        .into_iter()
        .map(|c| container_row(c, false, in_file.contains(&c.service.as_str()), true))
        .collect()
}

/// `pier ps --json`: one object per row, with stable field names.
#[derive(Debug, Serialize)]
pub struct RowJson<'a> {
    pub service: &'a str,
    pub container: Option<&'a str>,
    /// `running`, `exited`, `created`, …, or `not created`.
    pub state: &'static str,
    pub exit_code: Option<i64>,
    /// `healthy`, `unhealthy`, `starting`, or null without a healthcheck.
    pub health: Option<&'static str>,
    /// `engine` or `pier` (see the module comment), null without a health value.
    pub health_checked_by: Option<&'static str>,
    pub ports: Vec<PortJson<'a>>,
    pub urls: Vec<String>,
    pub in_stack_file: bool,
    /// A one-off container of `pier run` (`ps -a`).
    pub one_off: bool,
}

#[derive(Debug, Serialize)]
pub struct PortJson<'a> {
    pub host_ip: &'a str,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: &'a str,
}

impl ServiceRow {
    pub fn to_json(&self) -> RowJson<'_> {
        let (state, exit_code) = match &self.state {
            StateView::NotCreated => ("not created", None),
            StateView::Container { state, exit_code } => (
                state.as_str(),
                (*state == ContainerState::Exited).then_some(exit_code.unwrap_or(-1)),
            ),
        };
        RowJson {
            service: &self.service,
            container: self.container.as_deref(),
            state,
            exit_code,
            health: self.health.status(),
            health_checked_by: self.health.checked_by(),
            ports: self
                .ports
                .iter()
                .map(|p| {
                    let (port, protocol) = p.target.split_once('/').unwrap_or((&p.target, "tcp"));
                    PortJson {
                        host_ip: &p.host_ip,
                        host_port: p.host_port,
                        container_port: port.parse().unwrap_or(0),
                        protocol,
                    }
                })
                .collect(),
            urls: urls(&self.ports),
            in_stack_file: self.in_stack_file,
            one_off: self.one_off,
        }
    }

    /// The PORTS cell: every binding as `docker ps` writes it, or `—`.
    pub fn ports_text(&self) -> String {
        if self.ports.is_empty() {
            return "—".into();
        }
        self.ports
            .iter()
            .map(port_text)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::observed::ObservedContainer;

    fn container(
        service: &str,
        state: ContainerState,
        health: Option<Health>,
    ) -> ObservedContainer {
        ObservedContainer {
            network_host: None,
            name: format!("shop-{service}-1"),
            id: format!("id-{service}"),
            image_id: None,
            service: service.into(),
            config_hash: None,
            field_hashes: BTreeMap::new(),
            depends_on: vec![],
            state,
            health,
            exit_code: Some(if state == ContainerState::Exited {
                3
            } else {
                0
            }),
            started_at: None,
            published: vec![],
            pre_stop: vec![],
            networks: None,
        }
    }

    #[test]
    fn rows_cover_file_services_then_orphans() {
        let mut web = container("web", ContainerState::Running, None);
        web.published = vec![PublishedPort {
            target: "80/tcp".into(),
            host_ip: "127.0.0.1".into(),
            host_port: 8080,
        }];
        let observed = Observed {
            containers: vec![
                container("db", ContainerState::Running, Some(Health::Starting)),
                container("cache", ContainerState::Running, Some(Health::Starting)),
                container("old", ContainerState::Exited, None),
                container("mail", ContainerState::Running, Some(Health::Unhealthy)),
                web,
            ],
            ..Observed::default()
        };
        let checked: BTreeMap<String, bool> =
            [("db".to_string(), true), ("cache".to_string(), false)].into();
        let rows = service_rows(["cache", "db", "mail", "queue", "web"], &observed, &checked);
        let view: Vec<(String, String, &str, String, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r.service.clone(),
                    r.state.text(),
                    r.health.text(),
                    r.ports_text(),
                    r.in_stack_file,
                )
            })
            .collect();
        let row = |s: &str, st: &str, h: &'static str, p: &str, f: bool| {
            (s.to_string(), st.to_string(), h, p.to_string(), f)
        };
        assert_eq!(
            view,
            vec![
                row("cache", "running", "starting", "—", true),
                row("db", "running", "healthy (checked by pier)", "—", true),
                row("mail", "running", "unhealthy", "—", true),
                row("queue", "not created", "—", "—", true),
                row("web", "running", "—", "127.0.0.1:8080->80/tcp", true),
                row("old", "exited (3)", "—", "—", false),
            ]
        );
    }

    #[test]
    fn json_fields() {
        let mut db = container("db", ContainerState::Running, Some(Health::Starting));
        db.published = vec![PublishedPort {
            target: "5432/tcp".into(),
            host_ip: "127.0.0.1".into(),
            host_port: 15432,
        }];
        let observed = Observed {
            containers: vec![db, container("job", ContainerState::Exited, None)],
            ..Observed::default()
        };
        let rows = service_rows(
            ["db", "job", "web"],
            &observed,
            &[("db".to_string(), true)].into(),
        );
        let json: Vec<_> = rows.iter().map(ServiceRow::to_json).collect();
        assert_eq!(
            serde_json::to_value(&json).unwrap(),
            serde_json::json!([
                {"service": "db", "container": "shop-db-1", "state": "running", "exit_code": null,
                 "health": "healthy", "health_checked_by": "pier",
                 "ports": [{"host_ip": "127.0.0.1", "host_port": 15432, "container_port": 5432, "protocol": "tcp"}],
                 "urls": ["tcp://127.0.0.1:15432"], "in_stack_file": true, "one_off": false},
                {"service": "job", "container": "shop-job-1", "state": "exited", "exit_code": 3,
                 "health": null, "health_checked_by": null, "ports": [], "urls": [], "in_stack_file": true,
                 "one_off": false},
                {"service": "web", "container": null, "state": "not created", "exit_code": null,
                 "health": null, "health_checked_by": null, "ports": [], "urls": [], "in_stack_file": true,
                 "one_off": false},
            ])
        );
    }

    #[test]
    fn one_offs_are_rows_of_their_own_by_name() {
        let one_off = |name: &str, service: &str, state| ObservedContainer {
            name: name.into(),
            id: format!("id-{name}"),
            ..container(service, state, Some(Health::Starting))
        };
        let observed = Observed {
            containers: vec![container("web", ContainerState::Running, None)],
            one_offs: vec![
                one_off("shop-web-run-bbb", "web", ContainerState::Running),
                one_off("shop-old-run-aaa", "old", ContainerState::Exited),
            ],
            ..Observed::default()
        };
        // Not among the services' rows.
        let rows = service_rows(["web"], &observed, &BTreeMap::new());
        assert_eq!(rows.len(), 1);
        assert!(!rows[0].one_off);
        assert_eq!(rows[0].id.as_deref(), Some("id-web"));
        let rows = one_off_rows(["web"], &observed);
        let view: Vec<(&str, &str, String, &str, bool, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r.container.as_deref().unwrap(),
                    r.service.as_str(),
                    r.state.text(),
                    r.health.text(),
                    r.in_stack_file,
                    r.one_off,
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                (
                    "shop-old-run-aaa",
                    "old",
                    "exited (3)".into(),
                    "—",
                    false,
                    true
                ),
                (
                    "shop-web-run-bbb",
                    "web",
                    "running".into(),
                    "starting",
                    true,
                    true
                ),
            ]
        );
        assert_eq!(rows[1].id.as_deref(), Some("id-shop-web-run-bbb"));
        assert_eq!(
            serde_json::to_value(rows[1].to_json()).unwrap()["one_off"],
            true
        );
    }

    #[test]
    fn only_running_containers_with_starting_health_are_probed() {
        let observed = Observed {
            containers: vec![
                container("db", ContainerState::Running, Some(Health::Starting)),
                container("web", ContainerState::Running, Some(Health::Healthy)),
                container("x", ContainerState::Exited, Some(Health::Starting)),
            ],
            ..Observed::default()
        };
        assert_eq!(
            awaiting_engine_health(&observed),
            vec![("db".to_string(), "shop-db-1".to_string())]
        );
    }
}
