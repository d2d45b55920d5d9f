//! Kubernetes names and the labels pier puts on every object.

use std::collections::BTreeMap;

pub const LABEL_NAME: &str = "app.kubernetes.io/name";
pub const LABEL_PART_OF: &str = "app.kubernetes.io/part-of";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// A DNS-1035 label (`[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 characters): what
/// Service names must be, and what pier uses for every object it derives from a
/// name in the stack file. Compose names may hold `_`, `.` and capitals.
pub fn dns_label(name: &str) -> String {
    let mut out: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let mut out = out.trim_matches('-').to_string();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "x-");
    }
    out.truncate(63);
    out.trim_end_matches('-').to_string()
}

/// Labels on the pods (and the selector) of one service.
pub fn service_labels(project: &str, service: &str) -> BTreeMap<String, String> {
    [
        (LABEL_NAME.to_string(), dns_label(service)),
        (LABEL_PART_OF.to_string(), project.to_string()),
    ]
    .into()
}

/// Labels on an object of `service` (or of the whole project when `None`).
pub fn object_labels(project: &str, service: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = match service {
        Some(service) => service_labels(project, service),
        None => [(LABEL_PART_OF.to_string(), project.to_string())].into(),
    };
    labels.insert(LABEL_MANAGED_BY.to_string(), "pier".to_string());
    labels
}

/// A valid annotation/label key: optional DNS-subdomain prefix and `/`, then a name of
/// at most 63 characters, alphanumeric at both ends, `-_.` inside.
pub fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.')
                .all(|part| !part.is_empty() && dns_label_like(part))
    });
    name_ok && prefix_ok
}

fn dns_label_like(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A ConfigMap/Secret key: `[-._a-zA-Z0-9]+`.
pub fn data_key(name: &str) -> String {
    let key: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if key.is_empty() || key == "." || key == ".." {
        format!("file{key}")
    } else {
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert_eq!(dns_label("web"), "web");
        assert_eq!(dns_label("My_App.v2"), "my-app-v2");
        assert_eq!(dns_label("2fa"), "x-2fa");
        assert_eq!(dns_label("shop_db-data"), "shop-db-data");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
    }

    #[test]
    fn qualified_names() {
        assert!(is_qualified_name("com.example.team"));
        assert!(is_qualified_name("traefik.io/rule"));
        assert!(!is_qualified_name("bad key"));
        assert!(!is_qualified_name("Example.COM/x"));
        assert!(!is_qualified_name(""));
    }

    #[test]
    fn data_keys() {
        assert_eq!(data_key("config.inc.php"), "config.inc.php");
        assert_eq!(data_key("my file"), "my_file");
    }
}
