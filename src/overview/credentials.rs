//! The stack's settings from `.env`, for `pier info`, with secrets masked.
//!
//! A variable is secret when its name looks like one: it contains PASSWORD,
//! PASSWD, SECRET, TOKEN, APIKEY or CREDENTIAL, or one of its `_`-separated words
//! is KEY, PASS, PWD, PW or AUTH (so `DJANGO_SECRET_KEY`, `API_KEY`,
//! `DB_ROOT_PASSWORD`, `GITHUB_TOKEN` are masked; `KEYCLOAK_URL`, `MONKEY` are
//! not). Masking errs towards hiding: a value that embeds a password in a URL
//! (`mysql://app:pw@db/shop`) has that password masked whatever its name.
//! The mask has a fixed length, so it does not tell how long the secret is.

use std::collections::BTreeMap;

use serde::Serialize;

pub const MASK: &str = "••••••";

const SECRET_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
];
const SECRET_WORDS: &[&str] = &["KEY", "PASS", "PWD", "PW", "AUTH"];

pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_PARTS.iter().any(|p| upper.contains(p))
        || upper
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| SECRET_WORDS.contains(&word))
}

/// `scheme://user:password@host…` with the password masked; None when the value
/// holds no such URL.
fn mask_url_password(value: &str) -> Option<String> {
    let start = value.find("://")? + 3;
    let rest = &value[start..];
    let at = rest.find('@')?;
    let userinfo = &rest[..at];
    if userinfo.contains('/') {
        return None; // the '@' is in the path, not in the authority
    }
    let colon = userinfo.find(':')?;
    Some(format!(
        "{}{}:{MASK}{}",
        &value[..start],
        &userinfo[..colon],
        &rest[at..]
    ))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub name: String,
    /// The value, or with its secret part replaced by the mask.
    pub value: String,
    pub secret: bool,
    pub masked: bool,
}

/// Every `.env` variable in name order, secrets masked unless `show_secrets`.
pub fn settings(dotenv: &BTreeMap<String, String>, show_secrets: bool) -> Vec<Setting> {
    dotenv
        .iter()
        .map(|(name, value)| {
            let embedded = mask_url_password(value);
            let secret = looks_secret(name) || embedded.is_some();
            let shown = match (show_secrets, looks_secret(name), embedded) {
                (true, _, _) => value.clone(),
                (false, true, _) => MASK.to_string(),
                (false, false, Some(masked)) => masked,
                (false, false, None) => value.clone(),
            };
            Setting {
                name: name.clone(),
                masked: shown != *value,
                value: shown,
                secret,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "DB_ROOT_PASSWORD",
            "DB_PASSWORD",
            "mysql_password",
            "DJANGO_SECRET_KEY",
            "API_KEY",
            "GITHUB_TOKEN",
            "SMTP_PASS",
            "APIKEY",
            "AWS_CREDENTIALS",
            "REDIS_PW",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "DB_USER",
            "WEB_PORT",
            "KEYCLOAK_URL",
            "MONKEY",
            "PASSAGE",
            "DB_NAME",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn masking() {
        let env: BTreeMap<String, String> = [
            ("DB_PASSWORD", "hunter2"),
            ("DB_USER", "app"),
            ("DATABASE_URL", "mysql://app:hunter2@db:3306/shop"),
            ("HOMEPAGE", "https://example.com/@someone:x"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let shown: Vec<(String, String, bool)> = settings(&env, false)
            .into_iter()
            .map(|s| (s.name, s.value, s.masked))
            .collect();
        assert_eq!(
            shown,
            vec![
                (
                    "DATABASE_URL".into(),
                    "mysql://app:••••••@db:3306/shop".into(),
                    true
                ),
                ("DB_PASSWORD".into(), "••••••".into(), true),
                ("DB_USER".into(), "app".into(), false),
                (
                    "HOMEPAGE".into(),
                    "https://example.com/@someone:x".into(),
                    false
                ),
            ]
        );
        let revealed = settings(&env, true);
        assert!(revealed.iter().all(|s| !s.masked));
        assert_eq!(revealed[1].value, "hunter2");
        assert!(revealed[1].secret);
    }
}
