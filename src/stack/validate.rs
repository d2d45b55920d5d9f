//! Stage 4: checks across the whole normalized stack (references were checked
//! during normalization, where their exact paths are known).

use std::collections::BTreeMap;

use super::docpath;
use super::graph::Graph;
use super::model::{MountKind, Protocol, Stack};
use crate::diagnostic::Diagnostic;

pub fn validate(stack: &Stack) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    host_ports(stack, &mut diags);
    container_names(stack, &mut diags);
    exposure(stack, &mut diags);
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

/// Settings that open the machine to others are allowed, but said out loud
/// (secure defaults): a port on every interface is reachable from the network, and
/// the Docker socket or `privileged` give the container root on the host.
fn exposure(stack: &Stack, diags: &mut Vec<Diagnostic>) {
    for (name, service) in &stack.services {
        let at = |key: &str| docpath::child(&docpath::child("services", name), key);
        let mut open: Vec<String> = service
            .ports
            .iter()
            .filter(|p| p.host_ip == "0.0.0.0" || p.host_ip == "::")
            .map(|p| match p.published {
                Some(port) => format!("{}:{port}", p.host_ip),
                None => format!("{}:<any>", p.host_ip),
            })
            .collect();
        open.dedup();
        if !open.is_empty() {
            diags.push(
                Diagnostic::warning(
                    at("ports"),
                    format!(
                        "service `{name}` publishes {} on every interface: other machines on the network can connect",
                        open.join(", ")
                    ),
                )
                .with_hint("leave out the address (pier binds to 127.0.0.1), or write 127.0.0.1:HOST:CONTAINER"),
            );
        }
        for mount in &service.volumes {
            let socket = mount.kind == MountKind::Bind
                && mount
                    .source
                    .as_deref()
                    .is_some_and(|s| s.ends_with("/docker.sock"));
            if socket {
                diags.push(
                    Diagnostic::warning(
                        at("volumes"),
                        format!(
                            "service `{name}` mounts the Docker socket {} at {}: it can control the engine and so the host",
                            mount.source.as_deref().unwrap_or_default(),
                            mount.target
                        ),
                    )
                    .with_hint("remove the mount unless the service must manage containers"),
                );
            }
        }
        if service.privileged {
            diags.push(
                Diagnostic::warning(
                    at("privileged"),
                    format!("service `{name}` runs privileged: it has full access to the host"),
                )
                .with_hint("remove `privileged: true`, or grant only what it needs"),
            );
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
    use crate::stack::fixture::StackFixture;
    use crate::stack::model::Service;

    fn with_ports(ports: &[(&str, &str, u16)]) -> Stack {
        let mut fixture = StackFixture::new("t");
        for (svc, ip, published) in ports {
            fixture = fixture.service(svc, |s| s.port(ip, *published, 80));
        }
        fixture.build()
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
        let d = validate(&with_ports(&[("a", "0.0.0.0", 80), ("b", "127.0.0.1", 80)]));
        assert_eq!(d.iter().filter(|d| d.is_error()).count(), 1);
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
    fn exposure_is_warned_about_with_the_service_and_path() {
        use crate::stack::model::{Mount, MountKind};
        let mut s = with_ports(&[("web", "0.0.0.0", 8080), ("local", "127.0.0.1", 8081)]);
        let admin = s.services.entry("admin".into()).or_default();
        admin.privileged = true;
        admin.volumes.push(Mount {
            kind: MountKind::Bind,
            source: Some("/var/run/docker.sock".into()),
            target: "/var/run/docker.sock".into(),
            read_only: false,
        });
        let d = validate(&s);
        assert!(d.iter().all(|d| !d.is_error()), "{d:?}");
        let got: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            got,
            [
                "services.admin.volumes",
                "services.admin.privileged",
                "services.web.ports"
            ]
        );
        assert!(d[0].message.contains("/var/run/docker.sock"), "{}", d[0]);
        assert!(d[2].message.contains("0.0.0.0:8080"), "{}", d[2]);
        // Loopback only, no socket, not privileged: nothing to say.
        assert!(validate(&with_ports(&[("local", "127.0.0.1", 8081)])).is_empty());
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
