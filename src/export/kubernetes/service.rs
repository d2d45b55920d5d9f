//! A Service per service, named after it, so that `db` resolves in the
//! cluster as it does under pier. Network aliases get a Service of their own
//! with the same selector.
//!
//! The Services are *headless* (`clusterIP: None`): the name resolves to the
//! pod's own address, so every port the container listens on is reachable, as
//! between containers on a Docker network — not only the ports the file
//! happens to publish or expose (the lamp stack's `db` lists none). The ports
//! that are known are still listed (SRV records, `kubectl port-forward`). Only
//! *ready* pods are in a headless Service's DNS, which is what lets init
//! containers wait for `service_healthy` (see `workload.rs`).

use k8s_openapi::api::core::v1::{Service as KService, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::names::{dns_label, object_labels, service_labels};
use crate::diagnostic::Diagnostic;
use crate::stack::model::{Protocol, Service};

/// A container port other services can reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerPort {
    pub port: u16,
    pub protocol: Protocol,
}

impl ContainerPort {
    pub fn protocol_name(self) -> &'static str {
        match self.protocol {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}

/// The ports of `service` (published and exposed), sorted and without duplicates.
/// An `expose` entry that is not `PORT[/PROTO]` or `START-END[/PROTO]` is reported.
pub fn container_ports(
    name: &str,
    service: &Service,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<ContainerPort> {
    let mut ports: Vec<ContainerPort> = service
        .ports
        .iter()
        .map(|p| ContainerPort {
            port: p.target,
            protocol: p.protocol,
        })
        .collect();
    for (i, entry) in service.expose.iter().enumerate() {
        match parse_expose(entry) {
            Some(parsed) => ports.extend(parsed),
            None => diagnostics.push(Diagnostic::warning(
                format!("services.{name}.expose[{i}]"),
                format!("{entry:?} is not a port: not exported"),
            )),
        }
    }
    ports.sort();
    ports.dedup();
    ports
}

fn parse_expose(entry: &str) -> Option<Vec<ContainerPort>> {
    let (range, protocol) = match entry.split_once('/') {
        Some((r, "tcp")) => (r, Protocol::Tcp),
        Some((r, "udp")) => (r, Protocol::Udp),
        Some(_) => return None,
        None => (entry, Protocol::Tcp),
    };
    let (start, end) = match range.split_once('-') {
        Some((a, b)) => (a.parse::<u16>().ok()?, b.parse::<u16>().ok()?),
        None => {
            let p = range.parse::<u16>().ok()?;
            (p, p)
        }
    };
    if start == 0 || end < start {
        return None;
    }
    Some(
        (start..=end)
            .map(|port| ContainerPort { port, protocol })
            .collect(),
    )
}

/// The Service for `service` under `dns_name` (its own name or an alias).
pub fn service_object(
    project: &str,
    service: &str,
    dns_name: &str,
    ports: &[ContainerPort],
) -> KService {
    let service_ports = ports
        .iter()
        .map(|p| ServicePort {
            // Names are required once there are several ports; `tcp-3306` is unique and readable.
            name: Some(format!(
                "{}-{}",
                p.protocol_name().to_ascii_lowercase(),
                p.port
            )),
            port: i32::from(p.port),
            target_port: Some(IntOrString::Int(i32::from(p.port))),
            protocol: Some(p.protocol_name().to_string()),
            ..ServicePort::default()
        })
        .collect();
    KService {
        metadata: ObjectMeta {
            name: Some(dns_label(dns_name)),
            labels: Some(object_labels(project, Some(service))),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".into()),
            selector: Some(service_labels(project, service)),
            ports: Some(service_ports).filter(|p: &Vec<ServicePort>| !p.is_empty()),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expose_entries() {
        let tcp = |port| ContainerPort {
            port,
            protocol: Protocol::Tcp,
        };
        assert_eq!(parse_expose("3306"), Some(vec![tcp(3306)]));
        assert_eq!(parse_expose("8000-8001"), Some(vec![tcp(8000), tcp(8001)]));
        assert_eq!(
            parse_expose("53/udp"),
            Some(vec![ContainerPort {
                port: 53,
                protocol: Protocol::Udp
            }])
        );
        assert_eq!(parse_expose("x"), None);
        assert_eq!(parse_expose("80/sctp"), None);
    }

    #[test]
    fn published_and_exposed_ports_merge() {
        let mut s = Service {
            expose: vec!["80".into(), "9000".into(), "nope".into()],
            ..Service::default()
        };
        s.ports.push(crate::stack::model::PortMapping {
            target: 80,
            published: Some(8080),
            host_ip: "127.0.0.1".into(),
            protocol: Protocol::Tcp,
        });
        let mut diags = Vec::new();
        let ports = container_ports("web", &s, &mut diags);
        assert_eq!(ports.iter().map(|p| p.port).collect::<Vec<_>>(), [80, 9000]);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].path, "services.web.expose[2]");
    }
}
