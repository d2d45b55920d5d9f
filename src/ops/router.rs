//! The shared router (names and HTTPS, `crate::router`) on the engine: `up`
//! adds a project's routes (`on_up`), `down` marks them not running
//! (`on_down`), `pier router status|stop`, and the names `info` shows.
//!
//! One router per engine: the container `pier-router`, made from
//! `Settings::image`, published on 127.0.0.1 only (80 and 443, else the
//! fallbacks of `router::HTTP_PORTS` / `HTTPS_PORTS`), its `/data` a bind mount
//! of the machine's data directory (the local CA). It reaches services over
//! its own network, `pier-router`, which pier joins each web service's container
//! to under the alias `<service>.<project>.pier`; it has no Docker socket. Its
//! configuration — the Caddyfile, and the route table it is made from — is
//! written into the container through the archive API and reloaded with
//! `caddy reload` through exec, so the route table lives with the router
//! itself. Changes to it are serialized by a lock of their own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, RouterObserved, RouterSpec};
use crate::error::{Error, Result, ToolFailed};
use crate::event::{Event, EventSink};
use crate::lock::ProjectLock;
use crate::plan::observed::{ContainerState, Observed};
use crate::router::{
    self, CADDYFILE, CONTAINER, DATA_MOUNT, HTTP_PORTS, HTTPS_PORTS, NETWORK, ProjectRoutes,
    ROUTES_FILE, RouteTable, Settings,
};
use crate::stack::model::{Protocol, Stack};

/// The lock's name: not a project name (those cannot hold `<`).
const LOCK: &str = "<pier-router>";

/// The names a project has through the router.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Names {
    /// service → its https URLs, the project's own name first.
    pub urls: BTreeMap<String, Vec<String>>,
    /// The host port HTTPS is published on (443 unless it was taken).
    pub https_port: Option<u16>,
    /// The local CA's root certificate (`pier trust` installs it).
    pub root_cert: Option<PathBuf>,
}

impl Names {
    pub fn of(&self, service: &str) -> &[String] {
        self.urls
            .get(service)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// A note when HTTPS is not on 443 (it was taken when the router started).
    pub fn port_note(&self) -> Option<String> {
        match self.https_port {
            Some(443) | None => None,
            Some(port) => Some(format!(
                "the router serves HTTPS on 127.0.0.1:{port}: port 443 was taken when it started \
                 (`pier router stop` and `pier up` try 443 again)"
            )),
        }
    }
}

/// After `up`: give the project's web services their names. Nothing happens
/// when the router is off (`settings` None or disabled) or the stack has no web
/// service with a container.
pub async fn on_up(
    engine: &Engine,
    stack: &Stack,
    after: &Observed,
    settings: Option<&Settings>,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<Names> {
    let Some(settings) = settings.filter(|s| s.enabled) else {
        return Ok(Names::default());
    };
    let routes: Vec<router::Route> = router::routes_of(stack, &[])
        .into_iter()
        .filter(|r| after.container_of(&r.service).is_some())
        .collect();
    if routes.is_empty() {
        return Ok(Names::default());
    }
    let _lock = lock(engine, interrupt, sink).await?;
    let project = ProjectRoutes {
        project: stack.name.clone(),
        dir: stack.project_dir.display().to_string(),
        running: true,
        routes,
    };
    let mut table = read_table(engine).await?;
    table.set(project.clone());
    let observed = ensure_router(engine, settings, &table, sink).await?;
    let connected = engine.containers_on_network(NETWORK, CONTAINER).await?;
    for route in &project.routes {
        let Some(c) = after.container_of(&route.service) else {
            continue;
        };
        if !connected.contains(&c.name) {
            let alias = router::alias(&stack.name, &route.service);
            engine.connect_network(NETWORK, &c.name, &[alias]).await?;
        }
    }
    let https_port = https_port_of(&observed).unwrap_or(443);
    write_config(engine, &table, https_port).await?;
    reload(engine).await?;
    let root_cert = settings.root_cert();
    wait_for_file(&root_cert, Duration::from_secs(10)).await;
    Ok(Names {
        urls: router::urls_of(&project, https_port),
        https_port: Some(https_port),
        root_cert: Some(root_cert),
    })
}

/// After `down`: the project's names answer that it is not running; when no
/// other project's container is on the router's network, the router stops.
/// A problem here is a warning: the project itself is down.
pub async fn on_down(
    engine: &Engine,
    project: &str,
    interrupt: &CancellationToken,
    sink: &EventSink,
) {
    if let Err(e) = mark_down(engine, project, interrupt, sink).await {
        sink(Event::Warning {
            text: format!("warning: the router kept {project}'s names: {e}"),
        });
    }
}

async fn mark_down(
    engine: &Engine,
    project: &str,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<()> {
    let Some(observed) = engine.inspect_router(CONTAINER).await? else {
        return Ok(());
    };
    let known = read_table(engine).await?;
    if known.get(project).is_none_or(|p| !p.running) {
        return Ok(());
    }
    let _lock = lock(engine, interrupt, sink).await?;
    let mut table = read_table(engine).await?;
    table.stop(project);
    write_config(engine, &table, https_port_of(&observed).unwrap_or(443)).await?;
    if observed.state != ContainerState::Running {
        return Ok(());
    }
    if engine
        .containers_on_network(NETWORK, CONTAINER)
        .await?
        .is_empty()
    {
        engine
            .stop_container(CONTAINER, Some(Duration::from_secs(5)))
            .await?;
        sink(Event::Note {
            text: "the router stopped: no project uses it now (the next `pier up` starts it)"
                .into(),
        });
    } else {
        reload(engine).await?;
    }
    Ok(())
}

/// The names of `project` through the router, when it has them (for `info`).
pub async fn names_of(engine: &Engine, project: &str, settings: &Settings) -> Result<Names> {
    let Some(observed) = engine.inspect_router(CONTAINER).await? else {
        return Ok(Names::default());
    };
    let table = read_table(engine).await?;
    match table.get(project) {
        Some(p) if p.running && observed.state == ContainerState::Running => {
            let https_port = https_port_of(&observed).unwrap_or(443);
            Ok(Names {
                urls: router::urls_of(p, https_port),
                https_port: Some(https_port),
                root_cert: Some(settings.root_cert()),
            })
        }
        _ => Ok(Names::default()),
    }
}

/// Every running project's https URLs through the router (for `ls`), the
/// project's own name first; empty when the router is not running.
pub async fn urls_by_project(engine: &Engine) -> Result<BTreeMap<String, Vec<String>>> {
    let Some(observed) = engine.inspect_router(CONTAINER).await? else {
        return Ok(BTreeMap::new());
    };
    if observed.state != ContainerState::Running {
        return Ok(BTreeMap::new());
    }
    let https_port = https_port_of(&observed).unwrap_or(443);
    let table = read_table(engine).await?;
    Ok(table
        .running()
        .map(|p| (p.project.clone(), project_urls(p, https_port)))
        .collect())
}

/// A project's URLs, `https://<project>.localhost` first, then its services' in
/// name order, each once.
fn project_urls(p: &router::ProjectRoutes, https_port: u16) -> Vec<String> {
    let own = router::url(&format!("{}.localhost", p.project), https_port);
    let mut urls: Vec<String> = router::urls_of(p, https_port)
        .into_values()
        .flatten()
        .collect();
    urls.sort_by_key(|u| (u != &own, u.clone()));
    urls.dedup();
    urls
}

/// `pier router status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub container: &'static str,
    /// `running`, `exited`, …, or `absent`.
    pub state: String,
    pub image: Option<String>,
    pub https_port: Option<u16>,
    pub http_port: Option<u16>,
    /// Every published address (all on 127.0.0.1).
    pub addresses: Vec<String>,
    pub root_cert: PathBuf,
    pub root_cert_exists: bool,
    pub enabled: bool,
    pub projects: Vec<ProjectStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectStatus {
    pub project: String,
    pub dir: String,
    pub running: bool,
    pub urls: Vec<String>,
}

pub async fn status(engine: &Engine, settings: &Settings) -> Result<Status> {
    let observed = engine.inspect_router(CONTAINER).await?;
    let table = match &observed {
        Some(_) => read_table(engine).await?,
        None => RouteTable::default(),
    };
    let https_port = observed.as_ref().and_then(https_port_of);
    let projects = table
        .projects
        .iter()
        .map(|p| ProjectStatus {
            project: p.project.clone(),
            dir: p.dir.clone(),
            running: p.running,
            urls: router::urls_of(p, https_port.unwrap_or(443))
                .into_values()
                .flatten()
                .collect(),
        })
        .collect();
    Ok(Status {
        container: CONTAINER,
        state: observed
            .as_ref()
            .map(|o| o.state.to_string())
            .unwrap_or_else(|| "absent".into()),
        image: observed.as_ref().map(|o| o.image.clone()),
        https_port,
        http_port: observed.as_ref().and_then(|o| published_port(o, "80/tcp")),
        addresses: observed
            .iter()
            .flat_map(|o| &o.published)
            .map(crate::overview::port_text)
            .collect(),
        root_cert: settings.root_cert(),
        root_cert_exists: settings.root_cert().is_file(),
        enabled: settings.enabled,
        projects,
    })
}

/// `pier router stop`: stop the router (its routes are kept for the next start).
/// False when there was none running.
pub async fn stop(
    engine: &Engine,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<bool> {
    let _lock = lock(engine, interrupt, sink).await?;
    match engine.inspect_router(CONTAINER).await? {
        Some(o) if o.state == ContainerState::Running => {
            engine
                .stop_container(CONTAINER, Some(Duration::from_secs(5)))
                .await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

async fn lock(
    engine: &Engine,
    interrupt: &CancellationToken,
    sink: &EventSink,
) -> Result<ProjectLock> {
    super::guard::lock(engine, LOCK, "router", interrupt, sink).await
}

/// The route table the router holds (empty without a router or a table).
async fn read_table(engine: &Engine) -> Result<RouteTable> {
    Ok(engine
        .read_file(CONTAINER, ROUTES_FILE)
        .await?
        .map(|bytes| RouteTable::parse(&String::from_utf8_lossy(&bytes)))
        .unwrap_or_default())
}

async fn write_config(engine: &Engine, table: &RouteTable, https_port: u16) -> Result<()> {
    engine
        .put_files(
            CONTAINER,
            &[
                (
                    CADDYFILE.to_string(),
                    router::caddyfile(table, https_port).into_bytes(),
                ),
                (ROUTES_FILE.to_string(), table.to_json().into_bytes()),
            ],
        )
        .await
}

/// `caddy reload` in the router, through exec (its admin API listens inside
/// the container only); tried again for a few seconds when it could not run.
async fn reload(engine: &Engine) -> Result<()> {
    let cmd: Vec<String> = [
        "caddy",
        "reload",
        "--config",
        CADDYFILE,
        "--adapter",
        "caddyfile",
    ]
    .map(String::from)
    .to_vec();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, output) = engine.exec(CONTAINER, cmd.clone()).await?;
        if code == 0 {
            return Ok(());
        }
        // Right after a start the admin endpoint may not listen yet; and the engine's
        // runtime (runc) now and then fails an exec outright: both pass.
        let passing = output.contains("connection refused")
            || output.contains("connect:")
            || output.contains("OCI runtime exec failed");
        if !passing || Instant::now() >= deadline {
            return Err(Error::ToolFailed(Box::new(ToolFailed {
                what: "caddy reload".into(),
                container: CONTAINER.into(),
                code,
                output: last_lines(&output, 10),
                hint: "`docker logs pier-router` shows the router's log; `pier router stop` and \
                       `pier up` start it afresh"
                    .into(),
            })));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<String> = text.lines().map(String::from).collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

fn published_port(o: &RouterObserved, target: &str) -> Option<u16> {
    o.published
        .iter()
        .find(|p| p.target == target)
        .map(|p| p.host_port)
}

fn https_port_of(o: &RouterObserved) -> Option<u16> {
    published_port(o, "443/tcp").or(o.https_port.filter(|&p| p != 0))
}

/// A running router made with `settings`, holding `table`'s configuration when
/// it had to be made or started (a running one is given it by the caller).
async fn ensure_router(
    engine: &Engine,
    settings: &Settings,
    table: &RouteTable,
    sink: &EventSink,
) -> Result<RouterObserved> {
    make_data_dir(&settings.data_dir)?;
    engine.ensure_router_network(NETWORK).await?;
    let existing = engine.inspect_router(CONTAINER).await?;
    let fingerprint = settings.fingerprint();
    let mut ports = match &existing {
        Some(o) if o.fingerprint.as_deref() == Some(fingerprint.as_str()) => {
            if o.state == ContainerState::Running {
                return Ok(o.clone());
            }
            // Stopped: start it on the ports it had, if they are still free.
            let (http, https) = (o.http_port.unwrap_or(80), o.https_port.unwrap_or(443));
            write_config(engine, table, https).await?;
            match engine.start_container(CONTAINER).await {
                Ok(()) => return started(engine).await,
                Err(e) if is_port_conflict(&e) => (http, https),
                Err(e) => return Err(e),
            }
        }
        Some(_) => {
            sink(Event::Note {
                text: "the router is made again: its image or data directory changed".into(),
            });
            (first_free(&HTTP_PORTS), first_free(&HTTPS_PORTS))
        }
        None => (first_free(&HTTP_PORTS), first_free(&HTTPS_PORTS)),
    };
    // Made (again) on the ports chosen; a port the engine finds taken moves to the next.
    for _ in 0..HTTPS_PORTS.len() + HTTP_PORTS.len() {
        engine.remove_container(CONTAINER).await?;
        let spec = RouterSpec {
            name: CONTAINER.into(),
            image: settings.image.clone(),
            network: NETWORK.into(),
            user: settings.user.clone(),
            data_dir: settings.data_dir.display().to_string(),
            data_target: DATA_MOUNT.into(),
            http_port: ports.0,
            https_port: ports.1,
            fingerprint: fingerprint.clone(),
        };
        engine.create_router(&spec).await?;
        write_config(engine, table, ports.1).await?;
        match engine.start_container(CONTAINER).await {
            Ok(()) => {
                let observed = started(engine).await?;
                // An engine-chosen port is known only now: the redirect needs it.
                if ports.1 == 0 {
                    write_config(engine, table, https_port_of(&observed).unwrap_or(443)).await?;
                    reload(engine).await?;
                }
                return Ok(observed);
            }
            Err(e) if is_port_conflict(&e) => {
                ports = next_ports(ports, &e.to_string());
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::Router {
        problem: "no host port for the router could be bound on 127.0.0.1".into(),
        hint: "free port 443 (or 10443), or turn the router off with PIER_ROUTER=off".into(),
    })
}

/// The router just started: as inspected, or why it stopped again.
async fn started(engine: &Engine) -> Result<RouterObserved> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let observed = engine
            .inspect_router(CONTAINER)
            .await?
            .ok_or(Error::Router {
                problem: "the router's container disappeared right after it started".into(),
                hint: "run `pier up` again".into(),
            })?;
        match observed.state {
            ContainerState::Running if https_port_of(&observed).is_some() => return Ok(observed),
            ContainerState::Exited | ContainerState::Dead => {
                let logs = engine.logs_tail(CONTAINER, 10).await.unwrap_or_default();
                return Err(Error::Router {
                    problem: format!(
                        "the router (image {}) exited right after it started:\n    | {}",
                        observed.image,
                        logs.join("\n    | ")
                    ),
                    hint: "PIER_ROUTER_IMAGE names the image (default caddy:2); PIER_ROUTER=off \
                           turns the router off"
                        .into(),
                });
            }
            _ if Instant::now() >= deadline => return Ok(observed),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

fn is_port_conflict(e: &Error) -> bool {
    let text = e.to_string();
    text.contains("port is already allocated") || text.contains("address already in use")
}

/// After the engine refused `ports` (http, https) with `message`: the next
/// candidate of the one it names (the HTTPS port when it cannot tell).
fn next_ports((http, https): (u16, u16), message: &str) -> (u16, u16) {
    let names = |port: u16| port != 0 && message.contains(&format!(":{port}"));
    let next = |candidates: &[u16], current: u16| {
        let i = candidates.iter().position(|&p| p == current).unwrap_or(0);
        candidates.get(i + 1).copied().unwrap_or(0)
    };
    if names(http) && !names(https) {
        (next(&HTTP_PORTS, http), https)
    } else {
        (http, next(&HTTPS_PORTS, https))
    }
}

/// The first of `candidates` this machine could bind on 127.0.0.1 (a port held
/// by another program or container cannot be); the engine says for sure.
fn first_free(candidates: &[u16]) -> u16 {
    let local = crate::preflight::engine_is_local(crate::engine::host_setting().as_deref());
    choose_port(candidates, &|port| {
        !local || crate::preflight::can_bind("127.0.0.1", port, Protocol::Tcp)
    })
}

fn choose_port(candidates: &[u16], free: &dyn Fn(u16) -> bool) -> u16 {
    candidates
        .iter()
        .copied()
        .find(|&p| p == 0 || free(p))
        .unwrap_or(0)
}

/// The router's data directory, only its owner may enter (the CA key is in it).
fn make_data_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(dir, e))
}

async fn wait_for_file(path: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    while !path.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_moves_to_the_next_candidate() {
        assert_eq!(choose_port(&HTTPS_PORTS, &|p| p != 443), 10443);
        assert_eq!(choose_port(&HTTPS_PORTS, &|_| false), 0);
        assert_eq!(choose_port(&HTTP_PORTS, &|_| true), 80);
        let refused = "starting container pier-router: driver failed programming external \
                       connectivity: Bind for 127.0.0.1:443 failed: port is already allocated";
        assert_eq!(next_ports((80, 443), refused), (80, 10443));
        assert_eq!(
            next_ports((80, 10443), "Bind for 127.0.0.1:10443 failed"),
            (80, 0)
        );
        let refused_http = "listen tcp4 127.0.0.1:80: bind: address already in use";
        assert_eq!(next_ports((80, 443), refused_http), (10080, 443));
    }

    #[test]
    fn names_note_a_fallback_port() {
        let names = Names {
            https_port: Some(10443),
            ..Names::default()
        };
        assert!(names.port_note().unwrap().contains("127.0.0.1:10443"));
        assert_eq!(Names::default().port_note(), None);
        assert!(Names::default().of("web").is_empty());
    }
}
