//! Masking secret values in what a command prints (`pier config`): pier never
//! prints a secret unless asked with `--show-secrets`.
//!
//! The secrets are the values of variables (of `.env` and the shell) and of
//! service environment entries whose names look secret (`export::secrets`), so
//! a generated `DB_PASSWORD` is caught wherever `${DB_PASSWORD}` put it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::export::SecretVars;
use crate::export::secrets::{Piece, looks_secret};
use crate::stack::Stack;

/// What a secret's value is printed as.
pub const MASK: &str = "********";

/// The secrets a stack was loaded with: secret-looking variables of `.env` and the
/// shell (`environment`), and secret-looking environment entries of its services.
pub fn secrets_of(
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    environment: &BTreeMap<String, String>,
) -> SecretVars {
    let mut vars = dotenv.clone();
    vars.extend(environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    for service in stack.services.values() {
        for (key, value) in &service.environment {
            if looks_secret(key) {
                vars.entry(key.clone()).or_insert_with(|| value.clone());
                // The same name may hold another value in another service.
                if vars[key] != *value {
                    vars.insert(format!("{key} (inline)"), value.clone());
                }
            }
        }
    }
    SecretVars::from_variables(&vars)
}

/// Replace every secret value in the strings of `value`; returns the names of
/// the secrets that were found, sorted.
pub fn mask_json(value: &mut Value, secrets: &SecretVars) -> Vec<String> {
    let mut found = Vec::new();
    walk(value, secrets, &mut found);
    found.sort();
    found.dedup();
    found
}

fn walk(value: &mut Value, secrets: &SecretVars, found: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            if let Some(masked) = mask_text(text, secrets, found) {
                *text = masked;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, secrets, found)),
        Value::Object(map) => map.values_mut().for_each(|v| walk(v, secrets, found)),
        _ => {}
    }
}

fn mask_text(text: &str, secrets: &SecretVars, found: &mut Vec<String>) -> Option<String> {
    let pieces = secrets.split(text);
    if !pieces.iter().any(|p| matches!(p, Piece::Secret(_))) {
        return None;
    }
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Secret(name) => {
                out.push_str(MASK);
                found.push(name.trim_end_matches(" (inline)").to_string());
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::model::Service;
    use std::path::PathBuf;

    fn stack(env: &[(&str, &str)]) -> Stack {
        let web = Service {
            image: Some("x".into()),
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Service::default()
        };
        Stack {
            name: "p".into(),
            project_dir: PathBuf::from("/p"),
            services: [("web".to_string(), web)].into(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            secrets: BTreeMap::new(),
        }
    }

    #[test]
    fn secret_values_are_masked_wherever_they_stand() {
        let s = stack(&[
            ("DB_PASSWORD", "Zx81-generated-secret"),
            ("DATABASE_URL", "mysql://app:Zx81-generated-secret@db/app"),
            ("ROOT_PASSWORD", "inline-root"),
            ("DB_HOST", "db"),
        ]);
        let dotenv: BTreeMap<String, String> = [
            (
                "DB_PASSWORD".to_string(),
                "Zx81-generated-secret".to_string(),
            ),
            ("WEB_PORT".to_string(), "8080".to_string()),
        ]
        .into();
        let secrets = secrets_of(&s, &dotenv, &BTreeMap::new());
        let mut json = serde_json::to_value(&s).unwrap();
        let found = mask_json(&mut json, &secrets);
        assert_eq!(found, ["DB_PASSWORD", "ROOT_PASSWORD"]);
        let env = &json["services"]["web"]["environment"];
        assert_eq!(env["DB_PASSWORD"], MASK);
        assert_eq!(env["DATABASE_URL"], format!("mysql://app:{MASK}@db/app"));
        assert_eq!(env["ROOT_PASSWORD"], MASK);
        assert_eq!(env["DB_HOST"], "db");
        assert!(!json.to_string().contains("Zx81"));
    }

    #[test]
    fn nothing_secret_nothing_masked() {
        let s = stack(&[("DB_HOST", "db")]);
        let secrets = secrets_of(&s, &BTreeMap::new(), &BTreeMap::new());
        let mut json = serde_json::to_value(&s).unwrap();
        let before = json.clone();
        assert!(mask_json(&mut json, &secrets).is_empty());
        assert_eq!(json, before);
    }
}
