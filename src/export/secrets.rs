//! Keeping secret values out of exported files.
//!
//! The loader interpolates `${VAR}` before the model exists, so a service's
//! environment in the model holds the *value* of `${DB_PASSWORD}`, not the
//! reference. Exported files are meant to be committed and shared, so an
//! exporter must not inline those values. The caller tells the exporter which
//! variables are secret (those of `.env` and the shell whose names look secret, see
//! [`SecretVars::from_variables`], plus any it knows for sure, such as a template's
//! `secret` parameters) and the exporter writes a reference to the variable
//! wherever its value appears: `${VAR}` for compose, a `secretKeyRef` for
//! Kubernetes.
//!
//! Matching is by value, which is all the model keeps: a value of 8 characters
//! or more is replaced wherever it occurs inside a string (so
//! `mysql://app:<password>@db/app` keeps its password out too); a shorter one
//! only when it is the whole string, since short values like `root` or `1`
//! occur by chance inside unrelated strings. The generated secrets pier writes
//! are long, so they are always caught.

use std::collections::BTreeMap;

/// Below this length a secret value is only matched as a whole string.
const MIN_SUBSTRING_LEN: usize = 8;

/// Name segments that mark a variable as secret: `MYSQL_ROOT_PASSWORD`, `SECRET_KEY`, `API_TOKEN`.
const SECRET_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PASS",
    "SECRET",
    "TOKEN",
    "KEY",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
    "PRIVATE",
    "SALT",
];

/// Secret variables by name, with their values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretVars {
    vars: BTreeMap<String, String>,
}

/// A piece of a string: literal text, or where a secret's value stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Literal(&'a str),
    /// The variable's name.
    Secret(&'a str),
}

impl SecretVars {
    pub fn new() -> Self {
        Self::default()
    }

    /// Mark `name` as secret. Empty values are ignored: there is nothing to hide
    /// and an empty string would "occur" everywhere.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() {
            self.vars.insert(name.into(), value);
        }
    }

    /// The variables (of `.env`, of the shell) whose names look secret ([`looks_secret`]).
    pub fn from_variables<'a>(dotenv: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let mut vars = Self::new();
        for (name, value) in dotenv {
            if looks_secret(name) {
                vars.insert(name.clone(), value.clone());
            }
        }
        vars
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.vars.keys().map(String::as_str)
    }

    /// Candidates in matching order: longest value first (so a secret that contains
    /// another wins), then by name; one name per value (the first alphabetically).
    fn candidates(&self) -> Vec<(&str, &str)> {
        let mut by_value: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, value) in &self.vars {
            by_value.entry(value.as_str()).or_insert(name.as_str());
        }
        let mut list: Vec<(&str, &str)> = by_value.into_iter().map(|(v, n)| (n, v)).collect();
        list.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        list
    }

    /// Split `text` at every occurrence of a secret value (rules in the module doc).
    /// Without secrets in it, the result is one `Literal` (or nothing for "").
    pub fn split<'a>(&'a self, text: &'a str) -> Vec<Piece<'a>> {
        let candidates = self.candidates();
        if let Some((name, _)) = candidates.iter().find(|(_, v)| *v == text) {
            return vec![Piece::Secret(name)];
        }
        let long: Vec<&(&str, &str)> = candidates
            .iter()
            .filter(|(_, v)| v.len() >= MIN_SUBSTRING_LEN)
            .collect();
        let mut pieces = Vec::new();
        let mut literal_start = 0;
        let mut i = 0;
        while i < text.len() {
            if !text.is_char_boundary(i) {
                i += 1;
                continue;
            }
            match long.iter().find(|(_, v)| text[i..].starts_with(v)) {
                Some((name, value)) => {
                    if literal_start < i {
                        pieces.push(Piece::Literal(&text[literal_start..i]));
                    }
                    pieces.push(Piece::Secret(name));
                    i += value.len();
                    literal_start = i;
                }
                None => i += 1,
            }
        }
        if literal_start < text.len() {
            pieces.push(Piece::Literal(&text[literal_start..]));
        }
        pieces
    }

    /// The name of a secret whose value `text` holds (as `split` would find it), if any.
    pub fn found_in<'a>(&'a self, text: &'a str) -> Option<&'a str> {
        self.split(text).into_iter().find_map(|p| match p {
            Piece::Secret(name) => Some(name),
            Piece::Literal(_) => None,
        })
    }
}

/// Whether a variable name says it holds a secret: one of its `_`-separated
/// segments is a word like PASSWORD, SECRET, TOKEN or KEY.
pub fn looks_secret(name: &str) -> bool {
    name.to_ascii_uppercase()
        .split(['_', '-', '.'])
        .any(|segment| SECRET_WORDS.contains(&segment))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> SecretVars {
        let mut v = SecretVars::new();
        for (n, val) in pairs {
            v.insert(*n, *val);
        }
        v
    }

    #[test]
    fn names_that_look_secret() {
        for name in [
            "MYSQL_ROOT_PASSWORD",
            "SECRET_KEY",
            "db_pass",
            "API_TOKEN",
            "github.key",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["PHP_VERSION", "KEYCLOAK_URL", "PWD", "PASSAGE", "HTTP_PORT"] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn from_variables_keeps_only_secret_names() {
        let dotenv: BTreeMap<String, String> = [
            ("DB_PASSWORD".to_string(), "s3cr3t-value".to_string()),
            ("PHP_VERSION".to_string(), "8.3".to_string()),
            ("EMPTY_TOKEN".to_string(), String::new()),
        ]
        .into();
        let v = SecretVars::from_variables(&dotenv);
        assert_eq!(v.names().collect::<Vec<_>>(), ["DB_PASSWORD"]);
    }

    #[test]
    fn splits_whole_values_and_long_substrings() {
        let v = vars(&[
            ("DB_PASSWORD", "Zx81-long-secret"),
            ("ROOT_PASSWORD", "root"),
        ]);
        assert_eq!(v.split("root"), [Piece::Secret("ROOT_PASSWORD")]);
        // Short values are not matched inside other strings.
        assert_eq!(v.split("/root/x"), [Piece::Literal("/root/x")]);
        assert_eq!(
            v.split("mysql://app:Zx81-long-secret@db/app"),
            [
                Piece::Literal("mysql://app:"),
                Piece::Secret("DB_PASSWORD"),
                Piece::Literal("@db/app")
            ]
        );
        assert_eq!(v.split(""), []);
        assert_eq!(v.found_in("x Zx81-long-secret"), Some("DB_PASSWORD"));
        assert_eq!(v.found_in("nothing here"), None);
    }

    #[test]
    fn longest_value_wins_and_names_are_deterministic() {
        let v = vars(&[
            ("A_TOKEN", "abcdefgh"),
            ("B_TOKEN", "abcdefghijkl"),
            ("C_TOKEN", "abcdefgh"),
        ]);
        assert_eq!(
            v.split("xabcdefghijkl"),
            [Piece::Literal("x"), Piece::Secret("B_TOKEN")]
        );
        assert_eq!(
            v.split("abcdefgh!"),
            [Piece::Secret("A_TOKEN"), Piece::Literal("!")]
        );
    }

    #[test]
    fn multibyte_text_is_safe() {
        let v = vars(&[("K_SECRET", "ünïcödé-secret")]);
        assert_eq!(
            v.split("é-ünïcödé-secret-é"),
            [
                Piece::Literal("é-"),
                Piece::Secret("K_SECRET"),
                Piece::Literal("-é")
            ]
        );
    }
}
