//! Secrets, in one place (DESIGN §1 rule 4): which variables are secret, the one
//! mask, masking what pier prints, and reading the values of the stack's `secrets:`.
//!
//! **Which values are secret.** The loader interpolates `${VAR}` before the model
//! exists, so a service's environment holds the *value* of `${DB_PASSWORD}`, not the
//! reference: matching is by value. The secret values are those of the variables of
//! `.env` and of the shell whose *names* say they are secret ([`is_secret_name`]),
//! plus the variables the stack's top-level `secrets:` read (`environment: VAR`),
//! whatever their names.
//!
//! **Where a value is found.** A value of 8 characters or more is found wherever it
//! occurs inside a string (so `mysql://app:<password>@db/app` keeps its password
//! out too); a shorter one only when it is the whole string, since short values like
//! `root` or `1` occur by chance inside unrelated strings. The generated secrets pier
//! writes are long, so they are always caught. Values that are switches (`true`,
//! `no`, …) are not secrets, and would otherwise mask every flag.
//!
//! **Every output goes through here.** `config`, `info` and errors print
//! [`MASK`] in place of a value (unless `--show-secrets`); `export` writes a
//! reference to the variable instead ([`Secrets::split`]); the reporter masks every
//! progress event ([`Secrets::mask_event`]), with the secrets of the stack the
//! command loaded ([`install`], [`active`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::stack::Loaded;
use crate::stack::model::{SecretSource, Stack};

/// What a secret's value is printed as: fixed length, so it does not tell how
/// long the secret is; ASCII, so it reads the same in every terminal and log.
pub const MASK: &str = "********";

/// Below this length a secret value is only matched as a whole string.
const MIN_SUBSTRING_LEN: usize = 8;

/// A name containing one of these is secret: `MYSQL_ROOT_PASSWORD`, `GITHUBTOKEN`.
const SECRET_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "CREDENTIAL",
];

/// A name with one of these as a whole word (`_`, `-` or `.` separated) is secret:
/// `API_KEY`, `SMTP_PASS`, `DB_PWD`, `REDIS_PW`, `X_AUTH` (not `KEYCLOAK_URL`, `MONKEY`).
const SECRET_WORDS: &[&str] = &["KEY", "PASS", "PWD", "PW", "AUTH", "PRIVATE", "SALT"];

/// Names that match a word but are well-known shell variables holding no secret:
/// the working directory.
const NOT_SECRET: &[&str] = &["PWD", "OLDPWD"];

/// Whether a variable's name says it holds a secret (the rule in the constants above).
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if NOT_SECRET.contains(&upper.as_str()) {
        return false;
    }
    SECRET_PARTS.iter().any(|p| upper.contains(p))
        || upper
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| SECRET_WORDS.contains(&word))
}

/// Values that are switches, not secrets.
fn is_switch(value: &str) -> bool {
    ["true", "false", "yes", "no", "on", "off"]
        .iter()
        .any(|w| value.eq_ignore_ascii_case(w))
}

/// The secret values of one run, by the name of the variable that holds each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    vars: BTreeMap<String, String>,
}

/// A piece of a string: literal text, or where a secret's value stood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Literal(&'a str),
    /// The variable's name.
    Secret(&'a str),
}

impl Secrets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Mark `name`'s value as secret. Empty values and switches are ignored: there
    /// is nothing to hide, and an empty string would "occur" everywhere.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() && !is_switch(&value) {
            self.vars.insert(name.into(), value);
        }
    }

    /// The variables whose names look secret ([`is_secret_name`]).
    pub fn from_variables<'a>(vars: impl IntoIterator<Item = (&'a String, &'a String)>) -> Self {
        let mut secrets = Self::new();
        for (name, value) in vars {
            if is_secret_name(name) {
                secrets.insert(name.clone(), value.clone());
            }
        }
        secrets
    }

    /// The secrets of `stack` loaded with `dotenv` under the shell environment
    /// `shell`: secret-named variables of both (the shell's value wins, as in the
    /// loader), and the variables its top-level `secrets:` read.
    pub fn of(
        stack: &Stack,
        dotenv: &BTreeMap<String, String>,
        shell: &BTreeMap<String, String>,
    ) -> Self {
        let mut vars = dotenv.clone();
        vars.extend(shell.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut secrets = Self::from_variables(&vars);
        for secret in stack.secrets.values() {
            if let SecretSource::Environment(var) = &secret.source
                && let Some(value) = vars.get(var)
            {
                secrets.insert(var.clone(), value.clone());
            }
        }
        secrets
    }

    /// [`Secrets::of`] a loaded stack, under this process's environment.
    pub fn of_loaded(loaded: &Loaded) -> Self {
        let shell: BTreeMap<String, String> = std::env::vars().collect();
        Self::of(&loaded.stack, &loaded.dotenv, &shell)
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

    /// `text` with every secret value in it replaced by [`MASK`].
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut found = Vec::new();
        match self.mask_found(text, &mut found) {
            Some(masked) => Cow::Owned(masked),
            None => Cow::Borrowed(text),
        }
    }

    /// The masked text when `text` holds a secret (its name pushed on `found`).
    fn mask_found(&self, text: &str, found: &mut Vec<String>) -> Option<String> {
        if self.is_empty() {
            return None;
        }
        let pieces = self.split(text);
        if !pieces.iter().any(|p| matches!(p, Piece::Secret(_))) {
            return None;
        }
        let mut out = String::with_capacity(text.len());
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

    fn mask_in_place(&self, text: &mut String, found: &mut Vec<String>) {
        if let Some(masked) = self.mask_found(text, found) {
            *text = masked;
        }
    }

    /// Replace every secret value in the strings of `value` (not in map keys);
    /// returns the names of the secrets that were found, sorted.
    pub fn mask_json(&self, value: &mut Value) -> Vec<String> {
        fn walk(secrets: &Secrets, value: &mut Value, found: &mut Vec<String>) {
            match value {
                Value::String(text) => secrets.mask_in_place(text, found),
                Value::Array(items) => items.iter_mut().for_each(|v| walk(secrets, v, found)),
                Value::Object(map) => map.values_mut().for_each(|v| walk(secrets, v, found)),
                _ => {}
            }
        }
        let mut found = Vec::new();
        walk(self, value, &mut found);
        found.sort();
        found.dedup();
        found
    }

    /// An error with the secret values in what it quotes from elsewhere masked: a
    /// container's last log lines and health-check output, the engine's message, a
    /// swarm conflict, the text of a diagnostic.
    pub fn mask_error(&self, err: Error) -> Error {
        if self.is_empty() {
            return err;
        }
        let mut found = Vec::new();
        let mut mask = |text: &mut String| self.mask_in_place(text, &mut found);
        let mut not_ready = |n: &mut crate::error::NotReady| {
            n.logs.iter_mut().for_each(&mut mask);
            n.health_output.iter_mut().for_each(&mut mask);
            mask(&mut n.reason);
        };
        match err {
            Error::NotReady(mut n) => {
                not_ready(&mut n);
                Error::NotReady(n)
            }
            Error::SwarmNotReady(mut n) => {
                not_ready(&mut n);
                Error::SwarmNotReady(n)
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
            Error::SwarmConflict {
                mut resource,
                mut problem,
                hint,
            } => {
                mask(&mut resource);
                mask(&mut problem);
                Error::SwarmConflict {
                    resource,
                    problem,
                    hint,
                }
            }
            Error::Usage { mut message } => {
                mask(&mut message);
                Error::Usage { message }
            }
            Error::Invalid(mut diagnostics) => {
                for d in &mut diagnostics {
                    mask_diagnostic(self, d);
                }
                Error::Invalid(diagnostics)
            }
            other => other,
        }
    }

    /// A progress event with the secret values in its free text masked (a failed
    /// step's error quotes log lines; build output echoes what it is given).
    /// Every variant is named, so a new one must decide what it carries.
    pub fn mask_event(&self, event: Event) -> Event {
        if self.is_empty() {
            return event;
        }
        let mut found = Vec::new();
        let mut mask = |text: &mut String| self.mask_in_place(text, &mut found);
        match event {
            Event::Planned { project, mut steps } => {
                steps.iter_mut().for_each(|s| mask(&mut s.text));
                Event::Planned { project, steps }
            }
            Event::StepStarted { step, mut text } => {
                mask(&mut text);
                Event::StepStarted { step, text }
            }
            Event::StepFinished { step, mut text } => {
                mask(&mut text);
                Event::StepFinished { step, text }
            }
            Event::StepFailed {
                step,
                mut text,
                mut error,
            } => {
                mask(&mut text);
                mask(&mut error);
                Event::StepFailed { step, text, error }
            }
            Event::PullProgress {
                image,
                layer,
                mut status,
                current,
                total,
            } => {
                mask(&mut status);
                Event::PullProgress {
                    image,
                    layer,
                    status,
                    current,
                    total,
                }
            }
            Event::BuildOutput { service, mut line } => {
                mask(&mut line);
                Event::BuildOutput { service, line }
            }
            Event::Note { mut text } => {
                mask(&mut text);
                Event::Note { text }
            }
            Event::Cancelled { mut steps } => {
                steps.iter_mut().for_each(&mut mask);
                Event::Cancelled { steps }
            }
            Event::Warning { mut text } => {
                mask(&mut text);
                Event::Warning { text }
            }
            e @ (Event::Waiting { .. }
            | Event::Interrupted
            | Event::InterruptedAgain
            | Event::LockWaiting { .. }
            // Service names, counts and changed paths of the project: no values.
            | Event::Watching { .. }
            | Event::WatchAction { .. }
            | Event::Transfer { .. }) => e,
        }
    }
}

fn mask_diagnostic(secrets: &Secrets, d: &mut Diagnostic) {
    let mut found = Vec::new();
    secrets.mask_in_place(&mut d.message, &mut found);
    if let Some(hint) = d.hint.as_mut() {
        secrets.mask_in_place(hint, &mut found);
    }
}

/// `scheme://user:password@host…` with the password masked; None when the value
/// holds no such URL. For values whose names do not look secret (`DATABASE_URL`).
pub fn mask_url_password(value: &str) -> Option<String> {
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

/// The secrets of this run: those of the stack the command loaded. The reporter
/// and the error path read them, so that every progress event and error is masked
/// without each caller passing them along.
static ACTIVE: RwLock<Option<Arc<Secrets>>> = RwLock::new(None);

/// Make `secrets` the secrets of this run (`ops::project::load` does, once the
/// stack is loaded).
pub fn install(secrets: Secrets) {
    *ACTIVE.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(secrets));
}

/// The secrets of this run (none before a stack is loaded).
pub fn active() -> Arc<Secrets> {
    ACTIVE
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default()
}

/// The values of the stack's secrets, read once before anything is created: a
/// file's content, or a variable's value from the shell's environment, then `.env`.
/// Keyed by the secret's key under top-level `secrets`. A variable that is set
/// nowhere is invalid input (exit 2), all of them reported together. Shared by the
/// local target (which writes them into containers) and the swarm target.
pub fn read_values<'a>(
    secrets: impl IntoIterator<Item = (&'a str, &'a SecretSource)>,
    dotenv: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, source) in secrets {
        match source {
            SecretSource::File(path) => {
                // A regular file, read without blocking and up to a bound.
                match crate::stack::userfile::read_bytes(path) {
                    Ok(value) => {
                        values.insert(key.to_string(), value);
                    }
                    Err(p) => problems.push(p.into_diagnostic(path, "secret file")),
                }
            }
            SecretSource::Environment(var) => {
                match std::env::var(var).ok().or_else(|| dotenv.get(var).cloned()) {
                    Some(v) => {
                        values.insert(key.to_string(), v.into_bytes());
                    }
                    None => problems.push(
                        Diagnostic::error(
                            format!("secrets.{key}.environment"),
                            format!("variable {var} is not set, so the secret has no value"),
                        )
                        .with_hint(format!("set {var} in the environment or in .env")),
                    ),
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(Error::Invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::model::{Secret, Service};
    use std::path::PathBuf;

    fn secrets(pairs: &[(&str, &str)]) -> Secrets {
        let mut s = Secrets::new();
        for (n, v) in pairs {
            s.insert(*n, *v);
        }
        s
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn stack(env: &[(&str, &str)]) -> Stack {
        let web = Service {
            image: Some("x".into()),
            environment: vars(env),
            ..Service::default()
        };
        Stack {
            name: "p".into(),
            project_dir: PathBuf::from("/p"),
            services: [("web".to_string(), web)].into(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            secrets: BTreeMap::new(),
            configs: BTreeMap::new(),
            disabled: Default::default(),
        }
    }

    /// The union of the two rules that were (exporters' and `pier info`'s).
    #[test]
    fn names_that_look_secret() {
        for name in [
            "MYSQL_ROOT_PASSWORD",
            "DB_PASSWORD",
            "mysql_password",
            "DJANGO_SECRET_KEY",
            "SECRET_KEY",
            "API_KEY",
            "APIKEY",
            "PRIVATE_KEY",
            "API_TOKEN",
            "GITHUB_TOKEN",
            "db_pass",
            "SMTP_PASS",
            "DB_PWD",
            "REDIS_PW",
            "X_AUTH",
            "AWS_CREDENTIALS",
            "github.key",
            "PASSWORD_SALT",
            "MY_PRIVATE",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "PHP_VERSION",
            "KEYCLOAK_URL",
            "MONKEY",
            "PASSAGE",
            "HTTP_PORT",
            "DB_USER",
            "DB_NAME",
            "AUTHOR",
            // The shell's working directory, not a password.
            "PWD",
            "OLDPWD",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn of_takes_secret_names_the_shell_first_and_the_stacks_secrets() {
        let mut s = stack(&[]);
        s.secrets.insert(
            "token".into(),
            Secret {
                source: SecretSource::Environment("UPSTREAM".into()),
            },
        );
        let dotenv = vars(&[
            ("DB_PASSWORD", "from-dotenv-value"),
            ("PHP_VERSION", "8.3"),
            ("EMPTY_TOKEN", ""),
            ("DEBUG_TOKEN", "false"),
            ("UPSTREAM", "plainly-named-secret"),
        ]);
        let shell = vars(&[("DB_PASSWORD", "from-shell-value"), ("PWD", "/home/me")]);
        let found = Secrets::of(&s, &dotenv, &shell);
        assert_eq!(
            found.names().collect::<Vec<_>>(),
            ["DB_PASSWORD", "UPSTREAM"]
        );
        assert_eq!(found.mask("from-shell-value"), MASK);
        assert_eq!(found.mask("from-dotenv-value"), "from-dotenv-value");
        assert_eq!(found.mask("x plainly-named-secret"), format!("x {MASK}"));
    }

    #[test]
    fn splits_whole_values_and_long_substrings() {
        let v = secrets(&[
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
        let v = secrets(&[
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
        let v = secrets(&[("K_SECRET", "ünïcödé-secret")]);
        assert_eq!(
            v.split("é-ünïcödé-secret-é"),
            [
                Piece::Literal("é-"),
                Piece::Secret("K_SECRET"),
                Piece::Literal("-é")
            ]
        );
    }

    #[test]
    fn json_values_are_masked_wherever_they_stand() {
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
        let secrets = Secrets::of(&s, &dotenv, &shell);
        let mut json = serde_json::to_value(&s).unwrap();
        assert_eq!(secrets.mask_json(&mut json), ["API_TOKEN", "DB_PASSWORD"]);
        let env = &json["services"]["web"]["environment"];
        assert_eq!(env["DB_PASSWORD"], MASK);
        assert_eq!(env["DATABASE_URL"], format!("mysql://app:{MASK}@db/app"));
        assert_eq!(env["API_TOKEN"], MASK);
        // Written in the file, not a variable: shown as written.
        assert_eq!(env["MYSQL_PASSWORD_FILE"], "/run/secrets/pw");
        assert_eq!(env["DB_HOST"], "db");
        assert!(!json.to_string().contains("Zx81"));
        // Nothing secret, nothing masked.
        let mut json = serde_json::to_value(&s).unwrap();
        let before = json.clone();
        assert!(Secrets::new().mask_json(&mut json).is_empty());
        assert_eq!(json, before);
    }

    #[test]
    fn errors_quoting_logs_mask_secrets() {
        let secrets = secrets(&[("DB_PASSWORD", "Zx81-generated-secret")]);
        let not_ready = || crate::error::NotReady {
            service: "db".into(),
            container: "p-db-1".into(),
            condition: "service_started".into(),
            reason: "it exited with code 1".into(),
            health_output: Some("auth Zx81-generated-secret failed".into()),
            logs: vec!["password is Zx81-generated-secret".into(), "bye".into()],
        };
        for err in [
            Error::NotReady(Box::new(not_ready())),
            Error::SwarmNotReady(Box::new(not_ready())),
        ] {
            let text = secrets.mask_error(err).to_string();
            assert!(!text.contains("Zx81"), "{text}");
            assert!(text.contains(&format!("password is {MASK}")), "{text}");
            assert!(text.contains(&format!("auth {MASK} failed")), "{text}");
        }
        let engine = Error::Engine {
            op: crate::error::EngineOp::CreateContainer,
            resource: "p-db-1".into(),
            message: "bad env Zx81-generated-secret".into(),
        };
        let text = secrets.mask_error(engine).to_string();
        assert!(text.contains(&format!("bad env {MASK}")), "{text}");
    }

    #[test]
    fn events_are_masked() {
        let secrets = secrets(&[("DB_PASSWORD", "Zx81-generated-secret")]);
        let failed = Event::StepFailed {
            step: 1,
            text: "wait for db".into(),
            error: "db exited: | password Zx81-generated-secret".into(),
        };
        assert_eq!(
            secrets.mask_event(failed),
            Event::StepFailed {
                step: 1,
                text: "wait for db".into(),
                error: format!("db exited: | password {MASK}"),
            }
        );
        let build = Event::BuildOutput {
            service: "web".into(),
            line: "ARG Zx81-generated-secret".into(),
        };
        assert_eq!(
            secrets.mask_event(build),
            Event::BuildOutput {
                service: "web".into(),
                line: format!("ARG {MASK}"),
            }
        );
        assert_eq!(secrets.mask_event(Event::Interrupted), Event::Interrupted);
    }

    #[test]
    fn url_passwords() {
        assert_eq!(
            mask_url_password("mysql://app:hunter2@db:3306/shop").as_deref(),
            Some("mysql://app:********@db:3306/shop")
        );
        assert_eq!(mask_url_password("https://example.com/@someone:x"), None);
        assert_eq!(mask_url_password("plain"), None);
    }

    #[test]
    fn an_unset_variable_is_invalid_input_and_dotenv_is_the_fallback() {
        let unset = SecretSource::Environment("PIER_TEST_SURELY_UNSET_TOKEN".into());
        let err = read_values([("token", &unset)], &BTreeMap::new()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("secrets.token.environment"),
            "{err}"
        );
        let dotenv = vars(&[("PIER_TEST_SURELY_UNSET_TOKEN", "from-dotenv")]);
        assert_eq!(
            read_values([("token", &unset)], &dotenv).unwrap()["token"],
            b"from-dotenv".to_vec()
        );
    }
}
