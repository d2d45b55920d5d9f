//! The stack's settings from `.env`, for `pier info`, with secrets masked (the
//! rule and the mask are `crate::secrets`'s). Masking errs towards hiding: a value
//! that embeds a password in a URL (`mysql://app:pw@db/shop`) has that password
//! masked whatever its name, and so has any secret value a setting quotes.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::secrets::{MASK, Secrets, is_secret_name, mask_url_password};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub name: String,
    /// The value, or with its secret part replaced by the mask.
    pub value: String,
    pub secret: bool,
    pub masked: bool,
}

/// Every `.env` variable in name order, secrets masked unless `show_secrets`.
/// `secrets`: the run's secret values, masked wherever a setting quotes one.
pub fn settings(
    dotenv: &BTreeMap<String, String>,
    secrets: &Secrets,
    show_secrets: bool,
) -> Vec<Setting> {
    dotenv
        .iter()
        .map(|(name, value)| {
            let by_name = is_secret_name(name);
            let url_masked = mask_url_password(value);
            let secret = by_name || url_masked.is_some() || secrets.found_in(value).is_some();
            let shown = if show_secrets {
                value.clone()
            } else if by_name {
                MASK.to_string()
            } else {
                secrets
                    .mask(url_masked.as_deref().unwrap_or(value))
                    .into_owned()
            };
            Setting {
                name: name.clone(),
                secret,
                masked: shown != *value,
                value: shown,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        let env: BTreeMap<String, String> = [
            ("DB_PASSWORD", "hunter2"),
            ("DB_USER", "app"),
            ("DATABASE_URL", "mysql://app:hunter2@db:3306/shop"),
            ("HOMEPAGE", "https://example.com/@someone:x"),
            ("UPSTREAM", "uses Zx81-long-token inside"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut secrets = Secrets::from_variables(&env);
        secrets.insert("API_TOKEN", "Zx81-long-token");
        let shown: Vec<(String, String, bool)> = settings(&env, &secrets, false)
            .into_iter()
            .map(|s| (s.name, s.value, s.masked))
            .collect();
        assert_eq!(
            shown,
            vec![
                (
                    "DATABASE_URL".into(),
                    "mysql://app:********@db:3306/shop".into(),
                    true
                ),
                ("DB_PASSWORD".into(), "********".into(), true),
                ("DB_USER".into(), "app".into(), false),
                (
                    "HOMEPAGE".into(),
                    "https://example.com/@someone:x".into(),
                    false
                ),
                ("UPSTREAM".into(), "uses ******** inside".into(), true),
            ]
        );
        let revealed = settings(&env, &secrets, true);
        assert!(revealed.iter().all(|s| !s.masked));
        assert_eq!(revealed[1].value, "hunter2");
        assert!(revealed[1].secret);
    }
}
