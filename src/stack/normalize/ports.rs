//! `ports` (short and long syntax) and `expose`.
//!
//! Short: `[[host_ip:][published[-end]]:]target[-end][/protocol]`, e.g. `"8080:80"`,
//! `"127.0.0.1:8080:80/udp"`, `"[::1]:8080:80"`, `80`, `"8000-8002:8000-8002"`.
//! Ranges are expanded into one mapping per port. A port without a host address
//! binds to 127.0.0.1 — pier's secure default, unlike Compose (DESIGN §4).

use std::net::IpAddr;

use serde_yaml::Value;

use super::Ctx;
use super::read::{self, scalar_text};
use crate::diagnostic::Diagnostic;
use crate::stack::docpath;
use crate::stack::model::{PortMapping, Protocol};

/// Where a port without a host address is published.
pub const DEFAULT_HOST_IP: &str = "127.0.0.1";

const LONG_KEYS: &[&str] = &["target", "published", "host_ip", "protocol"];
const LONG_UNSUPPORTED: &[&str] = &["mode", "name", "app_protocol"];

pub fn ports(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<PortMapping> {
    let Some(items) = read::sequence(ctx, v, path, "a list of ports") else {
        if let Some(d) = ctx.diags.last_mut().filter(|d| d.path == path) {
            d.hint = Some("write a list: ports: [\"8080:80\"]".into());
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = docpath::item(path, i);
        let parsed = match item {
            Value::Mapping(_) => long(ctx, item, &at),
            other => match scalar_text(other) {
                Some(text) => short(&text).map_err(|e| Box::new(e.at(&at))),
                None => {
                    read::expected(
                        ctx,
                        &at,
                        "a port like \"8080:80\" or a mapping with `target`",
                        other,
                    );
                    continue;
                }
            },
        };
        match parsed {
            Ok(mappings) => {
                if let Some(note) = range_note(item) {
                    ctx.push(Diagnostic::warning(&at, note));
                }
                out.extend(mappings)
            }
            Err(d) => ctx.push(*d),
        }
    }
    out
}

/// A warning for a host port range mapped to one container port, which pier
/// publishes as the range's first port.
fn range_note(item: &Value) -> Option<String> {
    let (published, target) = match item {
        Value::Mapping(m) => (
            m.get("published").and_then(scalar_text)?,
            m.get("target").and_then(scalar_text)?,
        ),
        other => {
            let text = scalar_text(other)?;
            let spec = text
                .rsplit_once('/')
                .map_or(text.as_str(), |(s, _)| s)
                .to_string();
            let mut parts: Vec<&str> = spec.rsplitn(3, ':').collect();
            parts.reverse();
            let n = parts.len();
            if n < 2 {
                return None;
            }
            (parts[n - 2].to_string(), parts[n - 1].to_string())
        }
    };
    let (first, _) = published.split_once('-')?;
    (!target.contains('-')).then(|| {
        format!("host port range {published} for one container port: pier publishes the first port, {first}")
    })
}

/// A port problem, placed at a path once known.
struct PortError {
    message: String,
    hint: &'static str,
}

impl PortError {
    fn new(message: String) -> Self {
        PortError {
            message,
            hint: "write \"HOST:CONTAINER\" like \"8080:80\", optionally \"IP:HOST:CONTAINER/udp\"",
        }
    }

    fn at(self, path: &str) -> Diagnostic {
        Diagnostic::error(path, self.message).with_hint(self.hint)
    }
}

/// One port in the short syntax, as `pier run -p` takes it: the mappings, or an
/// error naming it (without a place in a file).
pub fn short_port(text: &str) -> Result<Vec<PortMapping>, Box<Diagnostic>> {
    short(text).map_err(|e| Box::new(e.at("")))
}

fn short(text: &str) -> Result<Vec<PortMapping>, PortError> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, proto)) => (spec, protocol(proto)?),
        None => (text, Protocol::Tcp),
    };
    // A bracketed IPv6 host address may hold colons itself.
    let (host_ip, rest) = match spec.strip_prefix('[') {
        Some(after) => match after.split_once("]:") {
            Some((ip, rest)) => (Some(ip), rest),
            None => {
                return Err(PortError::new(format!(
                    "invalid port {text:?}: unclosed `[`"
                )));
            }
        },
        None => (None, spec),
    };
    let mut parts: Vec<&str> = rest.rsplitn(3, ':').collect();
    parts.reverse();
    let (ip, published, target) = match (host_ip, parts.as_slice()) {
        (None, [target]) => (None, None, *target),
        (_, [published, target]) => (host_ip, Some(*published), *target),
        (None, [ip, published, target]) => (Some(*ip), Some(*published), *target),
        _ => return Err(PortError::new(format!("invalid port {text:?}"))),
    };
    let published = published.filter(|p| !p.is_empty());
    mappings(text, ip, published, target, protocol)
}

fn long(ctx: &mut Ctx, v: &Value, path: &str) -> Result<Vec<PortMapping>, Box<Diagnostic>> {
    let map = v.as_mapping().expect("called with a mapping");
    let mut target = None;
    let mut published = None;
    let mut host_ip = None;
    let mut proto = Protocol::Tcp;
    for (key, value) in read::entries(ctx, map, path, LONG_KEYS, LONG_UNSUPPORTED) {
        let at = docpath::child(path, &key);
        let text = match scalar_text(value) {
            Some(t) => t,
            None => {
                read::expected(ctx, &at, "a string or number", value);
                continue;
            }
        };
        match key.as_str() {
            "target" => target = Some(text),
            "published" => published = Some(text).filter(|p| !p.is_empty()),
            "host_ip" => host_ip = Some(text).filter(|ip| !ip.is_empty()),
            "protocol" => match protocol(&text) {
                Ok(p) => proto = p,
                Err(e) => ctx.push(e.at(&at)),
            },
            _ => unreachable!("only known keys are returned"),
        }
    }
    let Some(target) = target else {
        return Err(Box::new(
            Diagnostic::error(path, "a port in long syntax needs `target`")
                .with_hint("add `target: <container port>`"),
        ));
    };
    mappings(
        &target,
        host_ip.as_deref(),
        published.as_deref(),
        &target,
        proto,
    )
    .map_err(|e| Box::new(e.at(path)))
}

fn protocol(text: &str) -> Result<Protocol, PortError> {
    match text.to_ascii_lowercase().as_str() {
        "tcp" => Ok(Protocol::Tcp),
        "udp" => Ok(Protocol::Udp),
        other => Err(PortError {
            message: format!("unsupported protocol {other:?}"),
            hint: "use tcp or udp",
        }),
    }
}

fn mappings(
    text: &str,
    host_ip: Option<&str>,
    published: Option<&str>,
    target: &str,
    protocol: Protocol,
) -> Result<Vec<PortMapping>, PortError> {
    let host_ip = match host_ip {
        None => DEFAULT_HOST_IP.to_string(),
        Some(ip) => match ip.parse::<IpAddr>() {
            Ok(addr) => addr.to_string(),
            Err(_) => {
                return Err(PortError::new(format!(
                    "invalid host address {ip:?} in port {text:?}"
                )));
            }
        },
    };
    let (t_start, t_end) = range(target, text)?;
    let count = t_end - t_start;
    let published: Vec<Option<u16>> = match published {
        None => vec![None; usize::from(count) + 1],
        Some(p) => {
            let (p_start, p_end) = range(p, text)?;
            if count == 0 && p_end > p_start {
                // Compose lets the engine pick a free port in the range; pier publishes
                // a fixed port so that URLs are predictable: the first one.
                return Ok(vec![PortMapping {
                    target: t_start,
                    published: Some(p_start),
                    host_ip,
                    protocol,
                }]);
            }
            if p_end - p_start != count {
                return Err(PortError::new(format!(
                    "port {text:?} maps {} host port(s) to {} container port(s)",
                    p_end - p_start + 1,
                    count + 1
                )));
            }
            (p_start..=p_end).map(Some).collect()
        }
    };
    Ok((t_start..=t_end)
        .zip(published)
        .map(|(target, published)| PortMapping {
            target,
            published,
            host_ip: host_ip.clone(),
            protocol,
        })
        .collect())
}

/// `"8000"` or `"8000-8002"`; every port in 1..=65535.
fn range(text: &str, whole: &str) -> Result<(u16, u16), PortError> {
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let (a, b) = (port_number(a, whole)?, port_number(b, whole)?);
    if b < a {
        return Err(PortError::new(format!(
            "port range {text:?} in {whole:?} runs backwards"
        )));
    }
    Ok((a, b))
}

fn port_number(text: &str, whole: &str) -> Result<u16, PortError> {
    match text.trim().parse::<u32>() {
        Ok(n @ 1..=65535) => Ok(n as u16),
        Ok(n) => Err(PortError {
            message: format!("port {n} in {whole:?} is out of range"),
            hint: "ports are numbers from 1 to 65535",
        }),
        Err(_) => Err(PortError::new(format!(
            "invalid port {whole:?}: {text:?} is not a port number"
        ))),
    }
}

/// `expose`: container ports (or ranges) with an optional protocol, kept as text.
pub fn expose(ctx: &mut Ctx, v: &Value, path: &str) -> Vec<String> {
    let Some(items) = read::sequence(ctx, v, path, "a list of ports") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = docpath::item(path, i);
        let Some(text) = read::text(ctx, item, &at) else {
            continue;
        };
        let (spec, proto) = text.split_once('/').unwrap_or((&text, "tcp"));
        match protocol(proto).and_then(|_| range(spec, &text)) {
            Ok(_) => out.push(text.clone()),
            Err(e) => ctx.push(e.at(&at)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx_for;
    use super::*;

    fn p(target: u16, published: Option<u16>, ip: &str, protocol: Protocol) -> PortMapping {
        PortMapping {
            target,
            published,
            host_ip: ip.into(),
            protocol,
        }
    }

    fn parse(yaml: &str) -> (Vec<PortMapping>, Vec<Diagnostic>) {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        let mut ctx = ctx_for();
        let out = ports(&mut ctx, &v, "ports");
        (out, ctx.diags)
    }

    #[test]
    fn short_syntax() {
        let (out, d) =
            parse(r#"["8080:80", "0.0.0.0:53:53/udp", 3000, "127.0.0.1::9000", "[::1]:81:80"]"#);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(
            out,
            vec![
                p(80, Some(8080), "127.0.0.1", Protocol::Tcp),
                p(53, Some(53), "0.0.0.0", Protocol::Udp),
                p(3000, None, "127.0.0.1", Protocol::Tcp),
                p(9000, None, "127.0.0.1", Protocol::Tcp),
                p(80, Some(81), "::1", Protocol::Tcp),
            ]
        );
    }

    #[test]
    fn ranges_expand() {
        let (out, d) = parse(r#"["8000-8001:9000-9001", "7000-7001"]"#);
        assert!(d.is_empty());
        assert_eq!(out.len(), 4);
        assert_eq!(out[1], p(9001, Some(8001), "127.0.0.1", Protocol::Tcp));
        assert_eq!(out[3], p(7001, None, "127.0.0.1", Protocol::Tcp));
    }

    #[test]
    fn long_syntax() {
        let (out, d) = parse(
            "- {target: 80, published: \"8080\", protocol: udp}\n- {target: 443, host_ip: 0.0.0.0}\n",
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(out[0], p(80, Some(8080), "127.0.0.1", Protocol::Udp));
        assert_eq!(out[1], p(443, None, "0.0.0.0", Protocol::Tcp));
    }

    #[test]
    fn invalid_ports_are_errors_with_their_path() {
        let (_, d) = parse(
            r#"["0:80", "8080:70000", "web", "1.2.3:80:80", "80/sctp", "8000-8002:80-81", {published: 80}]"#,
        );
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "ports[0]", "ports[1]", "ports[2]", "ports[3]", "ports[4]", "ports[5]", "ports[6]"
            ]
        );
        assert!(d[1].message.contains("70000"));
    }

    #[test]
    fn a_host_range_for_one_port_publishes_its_first_port() {
        let (out, d) = parse("- {target: 3000, published: \"3000-3005\"}\n- \"7000-7002:70\"\n");
        assert_eq!(out[0], p(3000, Some(3000), "127.0.0.1", Protocol::Tcp));
        assert_eq!(out[1], p(70, Some(7000), "127.0.0.1", Protocol::Tcp));
        assert_eq!(d.len(), 2);
        assert!(
            !d[0].is_error() && d[0].message.contains("3000-3005"),
            "{:?}",
            d[0]
        );
    }

    #[test]
    fn wrong_type() {
        let (_, d) = parse("yes");
        assert_eq!(
            d[0].message,
            "expected a list of ports, found the string \"yes\""
        );
    }

    #[test]
    fn expose_accepts_numbers_ranges_and_protocols() {
        let v: Value = serde_yaml::from_str(r#"[3306, "5000/udp", "6000-6002", "x"]"#).unwrap();
        let mut ctx = ctx_for();
        let out = expose(&mut ctx, &v, "expose");
        assert_eq!(out, ["3306", "5000/udp", "6000-6002"]);
        assert_eq!(ctx.diags.len(), 1);
        assert_eq!(ctx.diags[0].path, "expose[3]");
    }
}
