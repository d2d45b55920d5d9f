//! Checks `up` makes after planning and before creating anything, for problems the
//! engine would only report halfway through (after networks and volumes exist).
//!
//! Host ports: a port another program holds makes the engine fail the container's
//! start, so each published port a started container needs is tried first by
//! binding it here. Only meaningful when the engine runs on this machine.

mod holder;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::plan::observed::Observed;
use crate::plan::{Action, Plan};
use crate::stack::model::{Protocol, Stack};

/// A published port that something other than this project holds already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyPort {
    pub service: String,
    pub host_ip: String,
    pub port: u16,
    pub protocol: Protocol,
    /// Who holds it, when the engine or the system tells.
    pub holder: Option<Holder>,
    /// The variable the port's value comes from (`WEB_PORT` in `.env`), when it does.
    pub variable: Option<PortVariable>,
    /// A port that is free now, to suggest instead.
    pub free: Option<u16>,
}

/// Who holds a host port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A container that publishes it; `project` from pier's label or Compose's.
    Container {
        name: String,
        project: Option<String>,
        pier: bool,
        working_dir: Option<String>,
    },
    /// Another program: "process 812 (python3)".
    Process(String),
}

/// Where a published port's value is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortVariable {
    pub name: String,
    /// The `.env` file; None when the shell's environment sets it.
    pub file: Option<PathBuf>,
}

/// One host port a running container publishes (`Engine::published_ports`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerPort {
    pub container: String,
    pub project: Option<String>,
    /// Whether pier created it (its project label is pier's, not Compose's).
    pub pier: bool,
    pub working_dir: Option<String>,
    pub host_port: u16,
    pub udp: bool,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Holder::Process(p) => f.write_str(p),
            Holder::Container {
                name,
                project,
                pier,
                working_dir,
            } => {
                write!(f, "container {name}")?;
                if let Some(project) = project {
                    let kind = if *pier { "pier" } else { "compose" };
                    write!(f, " of {kind} project {project}")?;
                }
                if let Some(dir) = working_dir {
                    write!(f, " ({dir})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::fmt::Display for BusyPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = match self.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        };
        write!(
            f,
            "host port {}:{}/{proto} of service `{}` is already in use",
            self.host_ip, self.port, self.service
        )?;
        if let Some(holder) = &self.holder {
            write!(f, " by {holder}")?;
        }
        if let Some(v) = &self.variable {
            match &v.file {
                Some(file) => write!(f, "; the port is {} in {}", v.name, file.display())?,
                None => write!(f, "; the port is the environment variable {}", v.name)?,
            }
        }
        Ok(())
    }
}

impl BusyPort {
    /// How to get past it: the variable or the stack file to change, with a free
    /// port, and how to stop a pier project that holds it.
    pub fn fix(&self) -> String {
        let port = self
            .free
            .map_or("another port".to_string(), |p| p.to_string());
        let mut out = match &self.variable {
            Some(PortVariable {
                name,
                file: Some(file),
            }) => format!("set {name}={port} in {}", file.display()),
            Some(PortVariable { name, file: None }) => {
                format!("run with {name}={port} (it is set in your shell)")
            }
            None => format!(
                "publish another host port for service `{}` in the stack file (`ports:`, e.g. \"{port}:…\")",
                self.service
            ),
        };
        match &self.holder {
            Some(Holder::Container {
                pier: true,
                working_dir: Some(dir),
                ..
            }) => out.push_str(&format!(
                ", or stop the other project (`cd {dir} && pier down`)"
            )),
            Some(Holder::Container {
                pier: true,
                project: Some(project),
                ..
            }) => out.push_str(&format!(
                ", or stop the other project (`pier down -p {project}`)"
            )),
            Some(Holder::Container { name, .. }) => {
                out.push_str(&format!(", or stop that container (`docker stop {name}`)"))
            }
            Some(Holder::Process(_)) | None => out.push_str(", or stop the program that holds it"),
        }
        out
    }
}

/// Is the engine on this machine? (`DOCKER_HOST` unset, or a unix socket.)
pub fn engine_is_local(docker_host: Option<&str>) -> bool {
    docker_host.is_none_or(|h| h.is_empty() || h.starts_with("unix://"))
}

/// The busy ports that would fail a start, found before anything is created
/// (none when the engine is not on this machine: its ports are not ours to try).
pub fn check_ports(stack: &Stack, plan: &Plan, observed: &Observed) -> Vec<BusyPort> {
    if !engine_is_local(crate::engine::host_setting().as_deref()) {
        return vec![];
    }
    busy_ports(stack, plan, observed, &|ip, port, proto| {
        can_bind(ip, port, proto)
    })
}

/// The error for busy ports, each with who holds it (`containers`: every running
/// container's published ports, else the process), the variable its value comes
/// from (`dotenv`: the `.env` values) and a free port to use instead.
pub fn explain(
    mut busy: Vec<BusyPort>,
    stack: &Stack,
    containers: &[ContainerPort],
    dotenv: &BTreeMap<String, String>,
) -> Error {
    let claimed = crate::known_projects::claimed_ports(&stack.project_dir);
    let ours: Vec<u16> = stack
        .services
        .values()
        .flat_map(|s| s.ports.iter().filter_map(|p| p.published))
        .collect();
    let shell = |name: &str| std::env::var(name).ok();
    let texts = stack_texts(&stack.project_dir);
    for b in &mut busy {
        let udp = b.protocol == Protocol::Udp;
        b.holder = containers
            .iter()
            .find(|c| c.host_port == b.port && c.udp == udp)
            .map(|c| Holder::Container {
                name: c.container.clone(),
                project: c.project.clone(),
                pier: c.pier,
                working_dir: c.working_dir.clone(),
            })
            .or_else(|| holder::of(b.port, b.protocol).map(Holder::Process));
        b.variable =
            port_variable(b.port, &texts, dotenv, &shell).map(|(name, in_dotenv)| PortVariable {
                name,
                file: in_dotenv.then(|| stack.project_dir.join(".env")),
            });
        b.free = (1..=200u16)
            .filter_map(|d| b.port.checked_add(d))
            .find(|p| {
                !ours.contains(p)
                    && !claimed.contains_key(p)
                    && !containers.iter().any(|c| c.host_port == *p)
                    && can_bind(&b.host_ip, *p, b.protocol)
            });
    }
    Error::PortsInUse(busy)
}

/// The text of the stack files in the project directory, to find which
/// variables they interpolate.
fn stack_texts(dir: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return String::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The variable a published port's value comes from: one the stack files
/// interpolate (`${NAME}`, `${NAME:-…}`, `$NAME`) whose value is `port`, from
/// the shell (which wins, as in interpolation) or `.env` (true).
fn port_variable(
    port: u16,
    texts: &str,
    dotenv: &BTreeMap<String, String>,
    shell: &dyn Fn(&str) -> Option<String>,
) -> Option<(String, bool)> {
    let value = port.to_string();
    let used = |name: &str| crate::stack::interpolate::mentions(texts, name);
    let mut names: Vec<&String> = dotenv.keys().collect();
    names.sort_by_key(|n| !n.contains("PORT"));
    for name in names {
        if !used(name) {
            continue;
        }
        match shell(name) {
            Some(v) if v.trim() == value => return Some((name.clone(), false)),
            Some(_) => continue,
            None if dotenv[name].trim() == value => return Some((name.clone(), true)),
            None => continue,
        }
    }
    None
}

/// The published ports of services the plan starts that cannot be bound, skipping
/// ports this project's own running containers hold (they are ours to reuse).
/// `free` says whether a port can be bound now.
pub fn busy_ports(
    stack: &Stack,
    plan: &Plan,
    observed: &Observed,
    free: &dyn Fn(&str, u16, Protocol) -> bool,
) -> Vec<BusyPort> {
    let ours: Vec<u16> = observed
        .containers
        .iter()
        .flat_map(|c| c.published.iter().map(|p| p.host_port))
        .collect();
    let mut busy = Vec::new();
    for step in &plan.steps {
        let Action::StartContainer { service, .. } = &step.action else {
            continue;
        };
        let Some(svc) = stack.services.get(service) else {
            continue;
        };
        for port in &svc.ports {
            let Some(published) = port.published else {
                continue;
            };
            if ours.contains(&published) || free(&port.host_ip, published, port.protocol) {
                continue;
            }
            busy.push(BusyPort {
                service: service.clone(),
                host_ip: port.host_ip.clone(),
                port: published,
                protocol: port.protocol,
                holder: None,
                variable: None,
                free: None,
            });
        }
    }
    busy
}

/// Try to bind `ip:port` here. An address that is not this machine's, or that does
/// not parse, is left to the engine to judge (reported free).
pub fn can_bind(ip: &str, port: u16, protocol: Protocol) -> bool {
    let ip: IpAddr = match ip {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        text => match text.trim_matches(['[', ']']).parse() {
            Ok(ip) => ip,
            Err(_) => return true,
        },
    };
    let addr = SocketAddr::new(ip, port);
    let result = match protocol {
        Protocol::Tcp => TcpListener::bind(addr).map(drop),
        Protocol::Udp => UdpSocket::bind(addr).map(drop),
    };
    match result {
        Ok(()) => true,
        Err(err) => err.kind() != std::io::ErrorKind::AddrInUse,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::observed::{ContainerState, ObservedContainer, PublishedPort};
    use crate::plan::{PullPolicy, UpOptions, plan_up};
    use crate::stack::fixture::StackFixture;

    fn stack() -> Stack {
        StackFixture::new("p")
            .service("web", |s| {
                s.image("x").port("127.0.0.1", 8080, 80).ephemeral_port(81)
            })
            .build()
    }

    fn opts() -> UpOptions {
        UpOptions {
            services: vec![],
            pull: PullPolicy::Never,
            build: false,
            remove_orphans: false,
        }
    }

    #[test]
    fn a_busy_port_of_a_started_service_is_reported() {
        let s = stack();
        let observed = Observed::default();
        let plan = plan_up(&s, &observed, &opts()).unwrap();
        let busy = busy_ports(&s, &plan, &observed, &|_, port, _| port != 8080);
        assert_eq!(busy.len(), 1);
        assert_eq!(
            busy[0].to_string().split(" by ").next().unwrap(),
            "host port 127.0.0.1:8080/tcp of service `web` is already in use"
        );
        assert!(busy_ports(&s, &plan, &observed, &|_, _, _| true).is_empty());
    }

    #[test]
    fn ports_our_running_containers_hold_are_ours() {
        let s = stack();
        let observed = Observed {
            containers: vec![ObservedContainer {
                network_host: None,
                name: "p-web-1".into(),
                id: "1".into(),
                image_id: None,
                service: "web".into(),
                config_hash: Some("old".into()),
                field_hashes: BTreeMap::new(),
                depends_on: vec![],
                state: ContainerState::Running,
                health: None,
                exit_code: None,
                started_at: None,
                published: vec![PublishedPort {
                    target: "80/tcp".into(),
                    host_ip: "127.0.0.1".into(),
                    host_port: 8080,
                }],
                pre_stop: vec![],
                networks: None,
            }],
            ..Observed::default()
        };
        let plan = plan_up(&s, &observed, &opts()).unwrap();
        assert!(busy_ports(&s, &plan, &observed, &|_, _, _| false).is_empty());
    }

    #[test]
    fn the_variable_a_port_comes_from_is_traced_through_interpolation() {
        let texts = "services:\n  web:\n    ports: [\"${WEB_PORT}:80\"]\n  pma:\n    ports: [\"${EDITOR_PORT:-8081}:80\"]\n";
        let dotenv = BTreeMap::from([
            ("WEB_PORT".to_string(), "8080".to_string()),
            ("EDITOR_PORT".to_string(), "8081".to_string()),
            // Same value, but the stack file does not use it.
            ("OTHER".to_string(), "8080".to_string()),
        ]);
        let no_shell = |_: &str| None;
        assert_eq!(
            port_variable(8080, texts, &dotenv, &no_shell),
            Some(("WEB_PORT".into(), true))
        );
        assert_eq!(
            port_variable(8081, texts, &dotenv, &no_shell),
            Some(("EDITOR_PORT".into(), true))
        );
        assert_eq!(port_variable(9999, texts, &dotenv, &no_shell), None);
        // The shell's value wins over `.env`'s.
        let shell = |n: &str| (n == "WEB_PORT").then(|| "9000".to_string());
        assert_eq!(port_variable(8080, texts, &dotenv, &shell), None);
        assert_eq!(
            port_variable(9000, texts, &dotenv, &shell),
            Some(("WEB_PORT".into(), false))
        );
    }

    #[test]
    fn the_message_names_the_container_its_project_the_variable_and_a_free_port() {
        let busy = BusyPort {
            service: "web".into(),
            host_ip: "127.0.0.1".into(),
            port: 8080,
            protocol: Protocol::Tcp,
            holder: Some(Holder::Container {
                name: "a-web-1".into(),
                project: Some("a".into()),
                pier: true,
                working_dir: Some("/src/a".into()),
            }),
            variable: Some(PortVariable {
                name: "WEB_PORT".into(),
                file: Some("/src/b/.env".into()),
            }),
            free: Some(8082),
        };
        assert_eq!(
            busy.to_string(),
            "host port 127.0.0.1:8080/tcp of service `web` is already in use by container a-web-1 of pier project a (/src/a); the port is WEB_PORT in /src/b/.env"
        );
        assert_eq!(
            busy.fix(),
            "set WEB_PORT=8082 in /src/b/.env, or stop the other project (`cd /src/a && pier down`)"
        );
    }

    #[test]
    fn binding_finds_a_port_in_use() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(!can_bind("127.0.0.1", port, Protocol::Tcp));
        drop(listener);
        assert!(can_bind("127.0.0.1", port, Protocol::Tcp));
        assert!(can_bind("not-an-address", port, Protocol::Tcp));
    }

    #[test]
    fn only_a_local_engine_is_checked() {
        assert!(engine_is_local(None));
        assert!(engine_is_local(Some("unix:///run/docker.sock")));
        assert!(!engine_is_local(Some("tcp://10.0.0.5:2376")));
        assert!(!engine_is_local(Some("ssh://me@box")));
    }
}
