//! What exists on the swarm for one project, found by the `io.pier.project` label:
//! plain data filled by `engine::Engine::observe_swarm`.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SwarmObserved {
    pub services: Vec<ObservedService>,
    pub networks: Vec<SwarmNetworkInfo>,
    pub secrets: Vec<ObservedSecret>,
    /// Names of the project's volumes on this node.
    pub volumes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedService {
    /// `<project>_<key>`.
    pub name: String,
    pub id: String,
    /// The `io.pier.service` label.
    pub key: String,
    /// The spec version the next update must name.
    pub version: u64,
    /// The `io.pier.config-hash` label.
    pub config_hash: Option<String>,
    /// The `io.pier.config-fields` label, parsed: field → short hash. None on a
    /// service created before pier kept it.
    pub config_fields: Option<BTreeMap<String, String>>,
    /// The `io.pier.depends-on` label, parsed: `down` removes dependents first.
    pub depends_on: Vec<String>,
    pub replicas: Option<u64>,
    /// When the service was created or last updated (RFC 3339, engine clock): tasks
    /// older than this belong to an earlier definition.
    pub updated_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwarmNetworkInfo {
    pub name: String,
    pub id: String,
    /// `swarm` for overlay networks, `local` for bridge networks (e.g. left by local `pier up`).
    pub scope: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedSecret {
    pub name: String,
    pub id: String,
    /// The `io.pier.config-hash` label: sha256 of the value it was created with.
    pub hash: Option<String>,
}

impl SwarmObserved {
    pub fn service(&self, name: &str) -> Option<&ObservedService> {
        self.services.iter().find(|s| s.name == name)
    }

    pub fn network(&self, name: &str) -> Option<&SwarmNetworkInfo> {
        self.networks.iter().find(|n| n.name == name)
    }

    pub fn secret(&self, name: &str) -> Option<&ObservedSecret> {
        self.secrets.iter().find(|s| s.name == name)
    }

    /// Services in the order `down` removes them: those nothing left depends on first.
    pub fn teardown_order(&self) -> Vec<&ObservedService> {
        let mut left: BTreeMap<&str, &ObservedService> =
            self.services.iter().map(|s| (s.key.as_str(), s)).collect();
        let mut out = Vec::new();
        while !left.is_empty() {
            let free: Vec<&str> = left
                .keys()
                .copied()
                .filter(|k| !left.values().any(|s| s.depends_on.iter().any(|d| d == k)))
                .collect();
            // A cycle in labels (hand-edited services) must not loop forever.
            let batch = if free.is_empty() {
                left.keys().copied().collect()
            } else {
                free
            };
            for k in batch {
                out.push(left.remove(k).expect("key from the map"));
            }
        }
        out
    }
}

/// An RFC 3339 time as a comparable key: the engine trims trailing zeros of the
/// fraction, so the text alone does not compare correctly.
pub fn time_key(rfc3339: &str) -> (String, u32) {
    let secs: String = rfc3339.chars().take(19).collect();
    let frac: String = rfc3339
        .chars()
        .skip(19)
        .skip_while(|c| *c == '.')
        .take_while(|c| c.is_ascii_digit())
        .take(9)
        .collect();
    (secs, format!("{frac:0<9}").parse().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(key: &str, deps: &[&str]) -> ObservedService {
        ObservedService {
            name: format!("shop_{key}"),
            id: key.into(),
            key: key.into(),
            version: 1,
            config_hash: None,
            config_fields: None,
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            replicas: Some(1),
            updated_at: String::new(),
        }
    }

    #[test]
    fn teardown_removes_dependents_first() {
        let o = SwarmObserved {
            services: vec![svc("db", &[]), svc("api", &["db"]), svc("web", &["api"])],
            ..SwarmObserved::default()
        };
        let order: Vec<&str> = o.teardown_order().iter().map(|s| s.key.as_str()).collect();
        assert_eq!(order, ["web", "api", "db"]);
    }

    #[test]
    fn times_compare_with_trimmed_fractions() {
        assert!(time_key("2026-11-25T00:51:49.5Z") > time_key("2026-11-25T00:51:49.123456789Z"));
        assert!(time_key("2026-11-25T00:51:50Z") > time_key("2026-11-25T00:51:49.9Z"));
        assert_eq!(time_key("2026-11-25T00:51:49.1Z").1, 100_000_000);
    }
}
