//! The config hash of a service: what decides whether its container must be recreated.
//!
//! The hash is the sha256 of the service's canonical JSON (the model's compose-shaped
//! `Serialize`, with object keys sorted), so it is stable across runs and pier
//! versions as long as the model's serialized form is. Besides the total hash, each
//! top-level field gets its own short hash; both are stored as labels on the
//! container, so the next run can say *which* field changed.

use std::collections::BTreeMap;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::stack::model::Service;

/// Fields that do not describe the running container, so changing them must not
/// recreate it (as in Compose): `depends_on` only orders startup, `build` and
/// `pull_policy` take effect through the image, `deploy` (replicas, `scale`) adds
/// or removes containers rather than changing them, `develop` is read by `pier
/// watch` only.
const IGNORED_FIELDS: [&str; 5] = ["depends_on", "build", "deploy", "pull_policy", "develop"];

/// Length of the per-field hashes kept in the `io.pier.config-fields` label.
const FIELD_HASH_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigHash {
    /// Hex sha256 of the whole normalized service.
    pub total: String,
    /// Top-level field → short hash of its canonical JSON.
    pub fields: BTreeMap<String, String>,
}

impl ConfigHash {
    pub fn of(service: &Service) -> ConfigHash {
        let mut value = serde_json::to_value(service).expect("the Stack model always serializes");
        let object = value
            .as_object_mut()
            .expect("a service serializes to an object");
        for field in IGNORED_FIELDS {
            object.remove(field);
        }
        let fields = object_field_hashes(&value, |field| field);
        ConfigHash {
            total: sha256_hex(&canonical(&value)),
            fields,
        }
    }

    /// The `io.pier.config-fields` label value: `command=…,environment=…`.
    pub fn fields_label(&self) -> String {
        fields_label(&self.fields)
    }

    /// Top-level fields that differ from those of an existing container, sorted.
    /// A field present on one side only counts as changed.
    pub fn changed_fields(&self, old: &BTreeMap<String, String>) -> Vec<String> {
        changed_fields(&self.fields, old)
    }
}

/// The `io.pier.config-fields` label value of per-field hashes: `command=…,environment=…`.
pub fn fields_label(fields: &BTreeMap<String, String>) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Fields whose hash differs between `new` and `old`, sorted. A field present on
/// one side only counts as changed.
pub fn changed_fields(
    new: &BTreeMap<String, String>,
    old: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut keys: Vec<&String> = new.keys().chain(old.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| new.get(*k) != old.get(*k))
        .cloned()
        .collect()
}

/// Short hash of each top-level field of a serialized object (`rename` maps a
/// field to the name the user knows it by: the swarm form says `env`).
/// A value that is not an object has no fields.
pub fn object_field_hashes(
    value: &Value,
    rename: impl Fn(&str) -> &str,
) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|object| {
            object
                .iter()
                .map(|(key, v)| {
                    let mut h = sha256_hex(&canonical(v));
                    h.truncate(FIELD_HASH_LEN);
                    (rename(key).to_string(), h)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Parse a `io.pier.config-fields` label; malformed entries are skipped.
pub fn parse_fields_label(label: &str) -> BTreeMap<String, String> {
    label
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Canonical JSON: object keys sorted at every level, no whitespace. Written out by
/// hand because serde_json's map order depends on a crate feature (`preserve_order`,
/// enabled in this crate) that another dependency could switch on or off.
fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::model::{Condition, Dependency};

    fn web() -> Service {
        Service {
            image: Some("nginx:1".into()),
            environment: [("A".to_string(), "1".to_string())].into(),
            ..Service::default()
        }
    }

    #[test]
    fn hash_is_stable_and_known() {
        let a = ConfigHash::of(&web());
        assert_eq!(a, ConfigHash::of(&web().clone()));
        // Pinned: a change here silently recreates every user's containers.
        assert_eq!(
            a.total,
            sha256_hex(r#"{"environment":{"A":"1"},"image":"nginx:1"}"#)
        );
        assert_eq!(
            a.fields.keys().collect::<Vec<_>>(),
            vec!["environment", "image"]
        );
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v = serde_json::json!({"b": {"z": 1, "a": [{"y": true, "x": null}]}, "a": "s\"q"});
        assert_eq!(
            canonical(&v),
            r#"{"a":"s\"q","b":{"a":[{"x":null,"y":true}],"z":1}}"#
        );
    }

    #[test]
    fn changed_fields_are_named() {
        let old = ConfigHash::of(&web());
        let mut changed = web();
        changed.environment.insert("B".into(), "2".into());
        changed.user = Some("1000".into());
        let new = ConfigHash::of(&changed);
        assert_ne!(new.total, old.total);
        assert_eq!(new.changed_fields(&old.fields), vec!["environment", "user"]);
        let parsed = parse_fields_label(&old.fields_label());
        assert_eq!(parsed, old.fields);
    }

    #[test]
    fn replicas_do_not_change_the_hash() {
        let mut scaled = web();
        scaled.replicas = Some(3);
        assert_eq!(ConfigHash::of(&scaled), ConfigHash::of(&web()));
    }

    #[test]
    fn pull_policy_does_not_change_the_hash() {
        let mut always = web();
        always.pull_policy = Some(crate::stack::model::PullPolicy::Always);
        assert_eq!(ConfigHash::of(&always), ConfigHash::of(&web()));
    }

    #[test]
    fn depends_on_does_not_change_the_hash() {
        let mut with_dep = web();
        with_dep.depends_on.insert(
            "db".into(),
            Dependency {
                condition: Condition::Healthy,
                required: true,
            },
        );
        assert_eq!(ConfigHash::of(&with_dep), ConfigHash::of(&web()));
    }
}
