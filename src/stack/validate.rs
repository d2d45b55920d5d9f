//! Stage 4: checks across the whole normalized stack (references were checked
//! during normalization, where their exact paths are known).

use std::collections::BTreeMap;

use super::docpath;
use super::model::{Protocol, Stack};
use crate::diagnostic::Diagnostic;
use crate::plan::Graph;

pub fn validate(stack: &Stack) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    host_ports(stack, &mut diags);
    container_names(stack, &mut diags);
    if let Err(cycles) = Graph::new(stack) {
        diags.extend(cycles);
    }
    diags
}

/// Does a bind on `a` conflict with one on `b`? The wildcard address takes the
/// port on every interface.
fn overlaps(a: &str, b: &str) -> bool {
    let wildcard = |ip: &str| ip == "0.0.0.0" || ip == "::";
    a == b || wildcard(a) || wildcard(b)
}

/// Two services (or two entries of one) cannot publish the same host port.
fn host_ports(stack: &Stack, diags: &mut Vec<Diagnostic>) {
    let mut taken: Vec<(&str, &str, u16, Protocol)> = Vec::new();
    for (name, service) in &stack.services {
        for port in &service.ports {
            let Some(published) = port.published else {
                continue;
            };
            let clash = taken.iter().find(|(_, ip, p, proto)| {
                *p == published && *proto == port.protocol && overlaps(ip, &port.host_ip)
            });
            if let Some((owner, ip, ..)) = clash {
                let proto = match port.protocol {
                    Protocol::Tcp => "tcp",
                    Protocol::Udp => "udp",
                };
                let who = if owner == name {
                    "this service".to_string()
                } else {
                    format!("service `{owner}`")
                };
                diags.push(
                    Diagnostic::error(
                        docpath::child(&docpath::child("services", name), "ports"),
                        format!(
                            "host port {}:{published}/{proto} is already published by {who} ({ip})",
                            port.host_ip
                        ),
                    )
                    .with_hint("publish a different host port, e.g. \"8081:80\""),
                );
            } else {
                taken.push((name, &port.host_ip, published, port.protocol));
            }
        }
    }
}

/// Container names are global on the engine: two services cannot share one.
fn container_names(stack: &Stack, diags: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for name in stack.services.keys() {
        let container = stack.container_name(name);
        if let Some(first) = seen.insert(container.clone(), name) {
            diags.push(
                Diagnostic::error(
                    docpath::child(&docpath::child("services", name), "container_name"),
                    format!("container name `{container}` is already used by service `{first}`"),
                )
                .with_hint("give each service its own container_name, or remove it"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::model::{PortMapping, Service};
    use std::path::PathBuf;

    fn with_ports(ports: &[(&str, &str, u16)]) -> Stack {
        let mut services: BTreeMap<String, Service> = BTreeMap::new();
        for (svc, ip, published) in ports {
            services
                .entry(svc.to_string())
                .or_default()
                .ports
                .push(PortMapping {
                    target: 80,
                    published: Some(*published),
                    host_ip: ip.to_string(),
                    protocol: Protocol::Tcp,
                });
        }
        Stack {
            name: "t".into(),
            project_dir: PathBuf::from("/"),
            services,
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            secrets: BTreeMap::new(),
        }
    }

    #[test]
    fn duplicate_host_ports() {
        let d = validate(&with_ports(&[
            ("a", "127.0.0.1", 8080),
            ("b", "127.0.0.1", 8080),
        ]));
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "services.b.ports");
        assert!(
            d[0].message.contains("8080") && d[0].message.contains("`a`"),
            "{}",
            d[0].message
        );
    }

    #[test]
    fn wildcard_overlaps_but_distinct_addresses_do_not() {
        assert_eq!(
            validate(&with_ports(&[("a", "0.0.0.0", 80), ("b", "127.0.0.1", 80)])).len(),
            1
        );
        assert!(
            validate(&with_ports(&[
                ("a", "127.0.0.1", 80),
                ("b", "127.0.0.2", 80)
            ]))
            .is_empty()
        );
        assert!(
            validate(&with_ports(&[
                ("a", "127.0.0.1", 80),
                ("b", "127.0.0.1", 81)
            ]))
            .is_empty()
        );
    }

    #[test]
    fn duplicate_container_names() {
        let mut s = with_ports(&[]);
        for n in ["a", "b"] {
            s.services.insert(
                n.into(),
                Service {
                    container_name: Some("same".into()),
                    ..Service::default()
                },
            );
        }
        let d = validate(&s);
        assert_eq!(d[0].path, "services.b.container_name");
    }
}
