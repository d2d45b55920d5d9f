//! Checks `up` makes after planning and before creating anything, for problems the
//! engine would only report halfway through (after networks and volumes exist).
//!
//! Host ports: a port another program holds makes the engine fail the container's
//! start, so each published port a started container needs is tried first by
//! binding it here. Only meaningful when the engine runs on this machine.

mod holder;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use crate::error::{Error, Result};
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
    /// Who holds it, when the system tells: "process 812 (python3)".
    pub holder: Option<String>,
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
        match &self.holder {
            Some(holder) => write!(f, " by {holder}"),
            None => Ok(()),
        }
    }
}

/// Is the engine on this machine? (`DOCKER_HOST` unset, or a unix socket.)
pub fn engine_is_local(docker_host: Option<&str>) -> bool {
    docker_host.is_none_or(|h| h.is_empty() || h.starts_with("unix://"))
}

/// Fail with every busy port before anything is created.
pub fn check_ports(stack: &Stack, plan: &Plan, observed: &Observed) -> Result<()> {
    if !engine_is_local(crate::engine::host_setting().as_deref()) {
        return Ok(());
    }
    let busy = busy_ports(stack, plan, observed, &|ip, port, proto| {
        can_bind(ip, port, proto)
    });
    if busy.is_empty() {
        Ok(())
    } else {
        Err(Error::PortsInUse(busy))
    }
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
                holder: holder::of(published, port.protocol),
            });
        }
    }
    busy
}

/// Try to bind `ip:port` here. An address that is not this machine's, or that does
/// not parse, is left to the engine to judge (reported free).
fn can_bind(ip: &str, port: u16, protocol: Protocol) -> bool {
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
    use std::collections::BTreeMap;

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
                networks: None,
            }],
            ..Observed::default()
        };
        let plan = plan_up(&s, &observed, &opts()).unwrap();
        assert!(busy_ports(&s, &plan, &observed, &|_, _, _| false).is_empty());
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
