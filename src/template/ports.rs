//! Host ports at `pier init`: a `port` parameter left at its default takes the
//! default when it is free, else the next port that is — free on this machine
//! and not claimed by another pier project's `.env` — so that `pier init lamp a`
//! and `pier init lamp b` can run side by side. `--set` always wins; a re-init
//! (`--force`) keeps the port already in the project's `.env`.

use std::collections::BTreeMap;

use crate::template::manifest::Kind;
use crate::template::params::{Origin, Value, Values};

/// How far above the default to look for a free port.
const SEARCH: u16 = 200;

/// The port one parameter got, and why it is not the default when it is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortChoice {
    /// The `.env` variable (or the parameter's name when it has none).
    pub variable: String,
    pub port: u16,
    pub default: u16,
    /// Why the default was not taken: "in use on this machine", "claimed by …".
    pub skipped: Option<String>,
    pub origin: Origin,
}

/// Settle every `port` parameter of `values`. `kept`: the project's existing
/// `.env`; `busy(port)`: why a port cannot be used, or None when it is free.
pub fn choose(
    values: &mut Values,
    kept: &BTreeMap<String, String>,
    busy: &dyn Fn(u16) -> Option<String>,
) -> Vec<PortChoice> {
    let mut chosen: Vec<PortChoice> = Vec::new();
    // Ports set or kept are taken before any default is settled.
    let mut taken: Vec<u16> = Vec::new();
    for r in values.0.iter_mut() {
        let Kind::Port { .. } = r.parameter.kind else {
            continue;
        };
        if r.origin != Origin::Default {
            continue;
        }
        let kept_port = r
            .parameter
            .env
            .as_ref()
            .and_then(|v| kept.get(v))
            .and_then(|v| v.trim().parse::<u16>().ok())
            .filter(|p| *p != 0);
        if let Some(port) = kept_port {
            r.value = Value::Int(port.into());
            r.origin = Origin::Kept;
        }
    }
    for r in &values.0 {
        if let (Kind::Port { .. }, Value::Int(n)) = (&r.parameter.kind, &r.value)
            && r.origin != Origin::Default
        {
            taken.extend(u16::try_from(*n).ok());
        }
    }
    for r in values.0.iter_mut() {
        let Kind::Port { default } = r.parameter.kind else {
            continue;
        };
        let variable = r
            .parameter
            .env
            .clone()
            .unwrap_or_else(|| r.parameter.name.clone());
        if r.origin != Origin::Default {
            let port = match r.value {
                Value::Int(n) => u16::try_from(n).unwrap_or(default),
                _ => default,
            };
            chosen.push(PortChoice {
                variable,
                port,
                default,
                skipped: None,
                origin: r.origin,
            });
            continue;
        }
        let why_not = |p: u16| {
            if taken.contains(&p) {
                Some("used by another port of this project".to_string())
            } else {
                busy(p)
            }
        };
        let skipped = why_not(default);
        let port = match skipped {
            None => default,
            Some(_) => (1..=SEARCH)
                .filter_map(|d| default.checked_add(d))
                .find(|p| why_not(*p).is_none())
                .unwrap_or(default),
        };
        taken.push(port);
        if port != default {
            r.value = Value::Int(port.into());
            r.origin = Origin::Chosen;
        }
        chosen.push(PortChoice {
            variable,
            port,
            default,
            skipped: skipped.filter(|_| port != default),
            origin: r.origin,
        });
    }
    chosen
}

/// Why `port` cannot be used, looking at this machine: bound by something
/// (tried on 127.0.0.1, where pier publishes by default), or claimed by another
/// project's `.env` (`claimed`: from `known_projects::claimed_ports`).
pub fn busy_here(
    port: u16,
    claimed: &BTreeMap<u16, (std::path::PathBuf, String)>,
) -> Option<String> {
    if let Some((dir, var)) = claimed.get(&port) {
        return Some(format!(
            "claimed by {var} in {}",
            dir.join(".env").display()
        ));
    }
    if !crate::preflight::can_bind("127.0.0.1", port, crate::stack::model::Protocol::Tcp) {
        return Some("in use on this machine".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::template::manifest::Manifest;
    use crate::template::params::resolve;

    fn manifest() -> Manifest {
        Manifest::parse(
            r#"
name: demo
description: d
parameters:
  - {name: web_port, type: port, default: 8080, env: WEB_PORT}
  - {name: editor_port, type: port, default: 8081, env: EDITOR_PORT}
"#,
            Path::new("stack.yaml"),
        )
        .unwrap()
    }

    fn values(sets: &[&str]) -> Values {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        resolve(&manifest(), &sets, &BTreeMap::new(), |n| Ok("s".repeat(n))).unwrap()
    }

    fn ports(v: &Values) -> Vec<String> {
        v.env_vars().map(|(k, v, _)| format!("{k}={v}")).collect()
    }

    #[test]
    fn defaults_when_free() {
        let mut v = values(&[]);
        let chosen = choose(&mut v, &BTreeMap::new(), &|_| None);
        assert_eq!(ports(&v), ["WEB_PORT=8080", "EDITOR_PORT=8081"]);
        assert!(chosen.iter().all(|c| c.skipped.is_none()));
    }

    #[test]
    fn a_busy_default_moves_up_past_every_busy_port_and_the_projects_own() {
        let mut v = values(&[]);
        let busy = |p: u16| (p == 8080 || p == 8082).then(|| "in use".to_string());
        let chosen = choose(&mut v, &BTreeMap::new(), &busy);
        // 8080 busy → 8081, which is then this project's: the editor gets 8083.
        assert_eq!(ports(&v), ["WEB_PORT=8081", "EDITOR_PORT=8083"]);
        assert_eq!(chosen[0].skipped.as_deref(), Some("in use"));
        assert_eq!(
            chosen[1].skipped.as_deref(),
            Some("used by another port of this project")
        );
    }

    #[test]
    fn set_wins_and_a_reinit_keeps_its_port() {
        let mut v = values(&["web_port=8080"]);
        let kept = BTreeMap::from([("EDITOR_PORT".to_string(), "9001".to_string())]);
        choose(&mut v, &kept, &|_| Some("in use".into()));
        assert_eq!(ports(&v), ["WEB_PORT=8080", "EDITOR_PORT=9001"]);
    }
}
