//! Masking secret values in what a command prints (`pier config`): pier never
//! prints a secret unless asked with `--show-secrets`.
//!
//! The secrets are the values of variables (of `.env` and the shell) whose names
//! look secret (`export::secrets`), so a generated `DB_PASSWORD` is caught
//! wherever `${DB_PASSWORD}` put it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Error;
use crate::export::SecretVars;
use crate::export::secrets::Piece;

/// What a secret's value is printed as.
pub const MASK: &str = "********";

/// The secrets a stack was loaded with: the secret-looking variables of `.env` and
/// the shell (`environment`). Values written into the stack file itself are not
/// hidden from it (a `MYSQL_PASSWORD_FILE: /run/secrets/pw` is a path, and the
/// file already shows them); secrets live in `.env`, where `pier init` puts them.
pub fn secrets_of(
    dotenv: &BTreeMap<String, String>,
    environment: &BTreeMap<String, String>,
) -> SecretVars {
    let mut vars = dotenv.clone();
    vars.extend(environment.iter().map(|(k, v)| (k.clone(), v.clone())));
    SecretVars::from_variables(&vars)
}

/// An error with the secret values in what it quotes from elsewhere (a container's
/// last log lines and health-check output, the engine's message) masked.
pub fn mask_error(err: Error, secrets: &SecretVars) -> Error {
    let mut found = Vec::new();
    let mut mask = |text: &mut String| {
        if let Some(masked) = mask_text(text, secrets, &mut found) {
            *text = masked;
        }
    };
    match err {
        Error::NotReady(mut n) => {
            n.logs.iter_mut().for_each(&mut mask);
            if let Some(h) = n.health_output.as_mut() {
                mask(h);
            }
            Error::NotReady(n)
        }
        Error::Engine {
            op,
            resource,
            mut message,
        } => {
            mask(&mut message);
            Error::Engine {
                op,
                resource,
                message,
            }
        }
        other => other,
    }
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
                found.push(name.to_string());
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::Stack;
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

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn secret_values_are_masked_wherever_they_stand() {
        let s = stack(&[
            ("DB_PASSWORD", "Zx81-generated-secret"),
            ("DATABASE_URL", "mysql://app:Zx81-generated-secret@db/app"),
            ("API_TOKEN", "from-the-shell-token"),
            ("MYSQL_PASSWORD_FILE", "/run/secrets/pw"),
            ("DB_HOST", "db"),
        ]);
        let dotenv = vars(&[
            ("DB_PASSWORD", "Zx81-generated-secret"),
            ("WEB_PORT", "8080"),
        ]);
        let shell = vars(&[("API_TOKEN", "from-the-shell-token"), ("HOME", "/root")]);
        let secrets = secrets_of(&dotenv, &shell);
        let mut json = serde_json::to_value(&s).unwrap();
        let found = mask_json(&mut json, &secrets);
        assert_eq!(found, ["API_TOKEN", "DB_PASSWORD"]);
        let env = &json["services"]["web"]["environment"];
        assert_eq!(env["DB_PASSWORD"], MASK);
        assert_eq!(env["DATABASE_URL"], format!("mysql://app:{MASK}@db/app"));
        assert_eq!(env["API_TOKEN"], MASK);
        // Written in the file, not a variable: shown as written.
        assert_eq!(env["MYSQL_PASSWORD_FILE"], "/run/secrets/pw");
        assert_eq!(env["DB_HOST"], "db");
        assert!(!json.to_string().contains("Zx81"));
    }

    #[test]
    fn errors_quoting_logs_mask_secrets() {
        let secrets = secrets_of(
            &vars(&[("DB_PASSWORD", "Zx81-generated-secret")]),
            &BTreeMap::new(),
        );
        let err = Error::NotReady(Box::new(crate::error::NotReady {
            service: "db".into(),
            container: "p-db-1".into(),
            condition: "service_started".into(),
            reason: "it exited with code 1".into(),
            health_output: Some("auth Zx81-generated-secret failed".into()),
            logs: vec!["password is Zx81-generated-secret".into(), "bye".into()],
        }));
        let text = mask_error(err, &secrets).to_string();
        assert!(!text.contains("Zx81"), "{text}");
        assert!(text.contains(&format!("password is {MASK}")), "{text}");
        assert!(text.contains(&format!("auth {MASK} failed")), "{text}");
    }

    #[test]
    fn nothing_secret_nothing_masked() {
        let s = stack(&[("DB_HOST", "db")]);
        let secrets = secrets_of(&vars(&[("WEB_PORT", "8080")]), &BTreeMap::new());
        let mut json = serde_json::to_value(&s).unwrap();
        let before = json.clone();
        assert!(mask_json(&mut json, &secrets).is_empty());
        assert_eq!(json, before);
    }
}
