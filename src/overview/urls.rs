//! Turning published ports into addresses a person can open.
//!
//! The rule (decided on the *container* port, since the host port is arbitrary):
//! - `https://` for 443 and 8443;
//! - `http://` for 80–89, 3000, 4000, 5000, 5173 and 8000–8999 — the ports web
//!   servers, admin pages, app servers and dev servers listen on;
//! - everything else is shown as `tcp://HOST:PORT` or `udp://HOST:PORT`
//!   (a database, a mail catcher's SMTP side, FastCGI on 9000…), so every
//!   published port is listed, with its protocol, and nothing is called a web
//!   page that is not one.
//!
//! A binding on every interface (`0.0.0.0`, `::`, empty) is shown as 127.0.0.1:
//! that is the address that works from this machine; the engine reports such a
//! binding once per IP family, which becomes one URL.

use crate::plan::observed::PublishedPort;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scheme {
    Http,
    Https,
    Tcp,
    Udp,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Tcp => "tcp",
            Scheme::Udp => "udp",
        }
    }
}

/// The scheme for a container port as the engine names it (`80/tcp`, `53/udp`).
pub fn scheme_for(target: &str) -> Scheme {
    let (port, protocol) = target.split_once('/').unwrap_or((target, "tcp"));
    if protocol != "tcp" {
        return Scheme::Udp;
    }
    match port.parse::<u16>() {
        Ok(443 | 8443) => Scheme::Https,
        Ok(80..=89 | 3000 | 4000 | 5000 | 5173 | 8000..=8999) => Scheme::Http,
        _ => Scheme::Tcp,
    }
}

/// The host part of a URL for a binding's host IP.
fn host(host_ip: &str) -> String {
    match host_ip {
        "" | "0.0.0.0" | "::" => "127.0.0.1".to_string(),
        ip if ip.contains(':') => format!("[{ip}]"),
        ip => ip.to_string(),
    }
}

/// The URLs of a service's published ports: web ones first, then by text.
pub fn urls(ports: &[PublishedPort]) -> Vec<String> {
    let mut out: Vec<(Scheme, String)> = ports
        .iter()
        .map(|p| {
            let scheme = scheme_for(&p.target);
            (
                scheme,
                format!("{}://{}:{}", scheme.as_str(), host(&p.host_ip), p.host_port),
            )
        })
        .collect();
    out.sort();
    out.dedup();
    out.into_iter().map(|(_, url)| url).collect()
}

/// A binding as `docker ps` shows it: `127.0.0.1:8080->80/tcp`.
pub fn port_text(p: &PublishedPort) -> String {
    let ip = match p.host_ip.as_str() {
        "" => "0.0.0.0".to_string(),
        ip if ip.contains(':') => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    format!("{ip}:{}->{}", p.host_port, p.target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(target: &str, host_ip: &str, host_port: u16) -> PublishedPort {
        PublishedPort {
            target: target.into(),
            host_ip: host_ip.into(),
            host_port,
        }
    }

    #[test]
    fn scheme_rule() {
        assert_eq!(scheme_for("80/tcp"), Scheme::Http);
        assert_eq!(scheme_for("8080/tcp"), Scheme::Http);
        assert_eq!(scheme_for("81/tcp"), Scheme::Http);
        assert_eq!(scheme_for("90/tcp"), Scheme::Tcp);
        assert_eq!(scheme_for("3000/tcp"), Scheme::Http);
        assert_eq!(scheme_for("443/tcp"), Scheme::Https);
        assert_eq!(scheme_for("8443/tcp"), Scheme::Https);
        assert_eq!(scheme_for("3306/tcp"), Scheme::Tcp);
        assert_eq!(scheme_for("9000/tcp"), Scheme::Tcp, "FastCGI is not HTTP");
        assert_eq!(scheme_for("80/udp"), Scheme::Udp);
        assert_eq!(scheme_for("5432"), Scheme::Tcp);
    }

    #[test]
    fn urls_use_the_bound_address_and_merge_ip_families() {
        let ports = vec![
            port("3306/tcp", "127.0.0.1", 33060),
            port("80/tcp", "0.0.0.0", 8080),
            port("80/tcp", "::", 8080),
            port("443/tcp", "192.168.1.5", 8443),
            port("53/udp", "::1", 5353),
        ];
        assert_eq!(
            urls(&ports),
            vec![
                "http://127.0.0.1:8080",
                "https://192.168.1.5:8443",
                "tcp://127.0.0.1:33060",
                "udp://[::1]:5353",
            ]
        );
    }

    #[test]
    fn port_text_like_docker_ps() {
        assert_eq!(
            port_text(&port("80/tcp", "127.0.0.1", 8080)),
            "127.0.0.1:8080->80/tcp"
        );
        assert_eq!(port_text(&port("80/tcp", "::", 8080)), "[::]:8080->80/tcp");
        assert_eq!(port_text(&port("53/udp", "", 53)), "0.0.0.0:53->53/udp");
    }
}
