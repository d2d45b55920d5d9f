//! Secrets without their values.
//!
//! Manifests are meant to be committed and shared, so pier never writes a
//! secret's value into one — not even base64-encoded in a Secret object, which
//! is the same thing. Instead the workloads *reference* two Secrets by name:
//!
//! - `<project>-env`: one key per secret variable (see `crate::secrets`) whose
//!   value appears in a service's environment or command;
//! - `<project>-secrets`: one key per top-level secret the services use
//!   (file-backed or from an environment variable), mounted where compose would.
//!
//! and [`setup_script`] prints the `kubectl create secret` commands that build
//! them from where the values already live (`.env`, the secret files). Pods
//! that start before those exist wait in `CreateContainerConfigError` — a
//! visible, named failure rather than a silently empty password.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};

use super::names::{data_key, dns_label};
use crate::secrets::{Piece, Secrets};
use crate::stack::model::{Secret, SecretSource};

pub fn env_secret_name(project: &str) -> String {
    dns_label(&format!("{project}-env"))
}

pub fn file_secret_name(project: &str) -> String {
    dns_label(&format!("{project}-secrets"))
}

/// The variable a container gets when a secret is needed *inside* a longer value
/// (`mysql://app:$(PIER_SECRET_DB_PASSWORD)@db`): Kubernetes expands `$(VAR)`
/// in env values, command and args from variables defined earlier.
fn helper_var(secret: &str) -> String {
    format!("PIER_SECRET_{secret}")
}

/// Kubernetes expands `$(VAR)` in env values, command and args; `$$` stands for
/// one `$`. Doubling every `$` keeps a literal value literal.
fn escape(literal: &str) -> String {
    literal.replace('$', "$$")
}

/// Builds a container's environment, recording which secrets it references.
pub struct EnvBuilder<'a> {
    project: &'a str,
    secrets: &'a Secrets,
    /// Secret variables referenced through a helper variable.
    helpers: BTreeSet<String>,
    /// Every secret variable referenced (the keys `<project>-env` needs).
    pub used: BTreeSet<String>,
}

impl<'a> EnvBuilder<'a> {
    pub fn new(project: &'a str, secrets: &'a Secrets) -> Self {
        EnvBuilder {
            project,
            secrets,
            helpers: BTreeSet::new(),
            used: BTreeSet::new(),
        }
    }

    /// `text` (a command or args element, or part of an env value) for Kubernetes:
    /// literals escaped, secret values replaced by `$(PIER_SECRET_NAME)`.
    pub fn text(&mut self, text: &str) -> String {
        let mut out = String::new();
        for piece in self.secrets.split(text) {
            match piece {
                Piece::Literal(literal) => out.push_str(&escape(literal)),
                Piece::Secret(name) => {
                    self.helpers.insert(name.to_string());
                    self.used.insert(name.to_string());
                    out.push_str(&format!("$({})", helper_var(name)));
                }
            }
        }
        out
    }

    fn secret_ref(&self, key: &str) -> Option<EnvVarSource> {
        Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: env_secret_name(self.project),
                key: key.to_string(),
                optional: None,
            }),
            ..EnvVarSource::default()
        })
    }

    /// The env list for `environment`. Call after `text` was used for command and
    /// args: the helper variables come first, as `$(VAR)` only sees earlier variables.
    pub fn env(
        mut self,
        environment: &BTreeMap<String, String>,
    ) -> (Vec<EnvVar>, BTreeSet<String>) {
        let mut plain = Vec::new();
        for (name, value) in environment {
            let var = match self.secrets.split(value).as_slice() {
                // The whole value is a secret: reference it directly.
                [Piece::Secret(secret)] => {
                    self.used.insert(secret.to_string());
                    EnvVar {
                        name: name.clone(),
                        value: None,
                        value_from: self.secret_ref(secret),
                    }
                }
                _ => EnvVar {
                    name: name.clone(),
                    value: Some(self.text(value)),
                    value_from: None,
                },
            };
            plain.push(var);
        }
        let mut env: Vec<EnvVar> = self
            .helpers
            .iter()
            .map(|secret| EnvVar {
                name: helper_var(secret),
                value: None,
                value_from: self.secret_ref(secret),
            })
            .collect();
        env.extend(plain);
        (env, self.used)
    }
}

/// Single-quote for sh.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A shell function that prints the value `$1` has in the env file `$2`,
/// followed by `x` (so trailing line breaks survive `$(...)`), or nothing when
/// the file does not set it. It reads the file as pier's loader does
/// (`stack::dotenv`): comments, `export `, single quotes (literal), double
/// quotes (escapes, several lines), inline ` #` comments, `$$`, `$VAR`,
/// `${VAR}`, `${VAR:-default}` and `${VAR-default}` from the environment or
/// earlier lines. It is awk, not the shell: nothing in the file is executed.
const DOTENV_READER: &str = r##"pier_env_value() {
  awk -v want="$1" '
function ltrim(s) { sub(/^[ \t]+/, "", s); return s }
function rtrim(s) { sub(/[ \t\r]+$/, "", s); return s }
function isset(n) { return (n in ENVIRON) || (n in vals) }
function lookup(n) { if (n in ENVIRON) return ENVIRON[n]; if (n in vals) return vals[n]; return "" }
function expand(s,   out, p, inner, name, rest) {
  out = ""
  while ((p = index(s, "$")) > 0) {
    out = out substr(s, 1, p - 1); s = substr(s, p + 1)
    if (substr(s, 1, 1) == "$") { out = out "$"; s = substr(s, 2); continue }
    if (substr(s, 1, 1) == "{") {
      p = index(s, "}")
      if (p == 0) { out = out "$"; continue }
      inner = substr(s, 2, p - 2); s = substr(s, p + 1)
      if (match(inner, /^[A-Za-z_][A-Za-z0-9_]*/)) {
        name = substr(inner, 1, RLENGTH); rest = substr(inner, RLENGTH + 1)
        if (rest == "") out = out lookup(name)
        else if (substr(rest, 1, 2) == ":-") out = out (lookup(name) != "" ? lookup(name) : substr(rest, 3))
        else if (substr(rest, 1, 1) == "-") out = out (isset(name) ? lookup(name) : substr(rest, 2))
        else out = out "${" inner "}"
      } else out = out "${" inner "}"
      continue
    }
    if (match(s, /^[A-Za-z_][A-Za-z0-9_]*/)) { out = out lookup(substr(s, 1, RLENGTH)); s = substr(s, RLENGTH + 1); continue }
    out = out "$"
  }
  return out s
}
function close_at(body, q,   i, c, esc) {
  esc = 0
  for (i = 1; i <= length(body); i++) {
    c = substr(body, i, 1)
    if (esc) esc = 0
    else if (c == "\\" && q == "\"") esc = 1
    else if (c == q) return i
  }
  return 0
}
function unescape(b,   out, i, c) {
  out = ""
  for (i = 1; i <= length(b); i++) {
    c = substr(b, i, 1)
    if (c != "\\") { out = out c; continue }
    i++
    if (i > length(b)) { out = out "\\"; break }
    c = substr(b, i, 1)
    if (c == "n") out = out "\n"
    else if (c == "t") out = out "\t"
    else if (c == "r") out = out "\r"
    else if (c == "$") out = out "$$"
    else out = out c
  }
  return out
}
{ lines[++count] = $0 }
END {
  i = 1
  while (i <= count) {
    line = ltrim(lines[i]); i++
    if (line == "" || substr(line, 1, 1) == "#") continue
    if (substr(line, 1, 7) == "export ") line = ltrim(substr(line, 8))
    p = index(line, "=")
    if (p == 0) { key = rtrim(line); if (key in ENVIRON) vals[key] = ENVIRON[key]; continue }
    key = rtrim(substr(line, 1, p - 1)); raw = ltrim(substr(line, p + 1))
    if (key !~ /^[A-Za-z0-9_.-]+$/) continue
    q = substr(raw, 1, 1)
    if (q == "\047" || q == "\"") {
      body = substr(raw, 2)
      while (!(c = close_at(body, q)) && i <= count) { body = body "\n" lines[i]; i++ }
      if (!c) continue
      body = substr(body, 1, c - 1)
      vals[key] = (q == "\047") ? body : expand(unescape(body))
    } else {
      p = index(raw, " #")
      if (p == 0) p = index(raw, "\t#")
      if (p > 0) raw = substr(raw, 1, p - 1)
      vals[key] = expand(rtrim(raw))
    }
  }
  if (want in vals) printf "%sx", vals[want]
}' "$2"
}
"##;

/// The shell commands that create the Secrets the manifests reference, from the
/// `.env` file and the secret files (their values never pass through pier's
/// output). `None` when nothing is referenced. Re-runnable: create → apply.
pub fn setup_script(
    project: &str,
    env_file: &Path,
    env_secrets: &BTreeSet<String>,
    file_secrets: &BTreeMap<String, Secret>,
) -> Option<String> {
    if env_secrets.is_empty() && file_secrets.is_empty() {
        return None;
    }
    let mut script = String::from(
        "#!/bin/sh\n\
         # Creates the Secrets that the manifests exported by `pier export kubernetes` refer to.\n\
         # The values are read here from where they already are; they are never written into\n\
         # the manifests. Run it against the cluster (and namespace) you apply the manifests to.\n\
         set -eu\n",
    );
    let apply = " --dry-run=client -o yaml | kubectl apply -f -\n";
    let mut needed: BTreeSet<&str> = env_secrets.iter().map(String::as_str).collect();
    needed.extend(file_secrets.values().filter_map(|s| match &s.source {
        SecretSource::Environment(var) => Some(var.as_str()),
        SecretSource::File(_) => None,
    }));
    if !needed.is_empty() {
        // Values from the env file, else from the caller's environment. The
        // file is read as data by `pier_env_value`, never sourced: a value
        // with backticks or `$(...)` must stay a value.
        let file = sh_quote(&env_file.to_string_lossy());
        script.push_str(DOTENV_READER);
        script.push_str(&format!("if [ -f {file} ]; then\n"));
        for var in &needed {
            script.push_str(&format!(
                "  v=$(pier_env_value {var} {file})\n  if [ -n \"$v\" ]; then {var}=${{v%x}}; fi\n"
            ));
        }
        script.push_str("fi\n");
        // Checked up front: a failure inside `create | apply` would not stop the script.
        for var in &needed {
            script.push_str(&format!(": \"${{{var}:?{var} is not set}}\"\n"));
        }
    }
    if !env_secrets.is_empty() {
        script.push_str(&format!(
            "kubectl create secret generic {}",
            env_secret_name(project)
        ));
        for name in env_secrets {
            script.push_str(&format!(" \\\n  --from-literal={name}=\"${{{name}}}\""));
        }
        script.push_str(apply);
    }
    if !file_secrets.is_empty() {
        script.push_str(&format!(
            "kubectl create secret generic {}",
            file_secret_name(project)
        ));
        for (name, secret) in file_secrets {
            let key = data_key(name);
            match &secret.source {
                SecretSource::File(path) => script.push_str(&format!(
                    " \\\n  --from-file={key}={}",
                    sh_quote(&path.to_string_lossy())
                )),
                SecretSource::Environment(var) => {
                    script.push_str(&format!(" \\\n  --from-literal={key}=\"${{{var}}}\""))
                }
            }
        }
        script.push_str(apply);
    }
    Some(script)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn secrets() -> Secrets {
        let mut s = Secrets::new();
        s.insert("DB_PASSWORD", "pw-0123456789abcdef");
        s
    }

    #[test]
    fn whole_values_reference_the_secret_and_parts_use_a_helper() {
        let secrets = secrets();
        let mut b = EnvBuilder::new("shop", &secrets);
        let arg = b.text("connect pw-0123456789abcdef $HOME");
        assert_eq!(arg, "connect $(PIER_SECRET_DB_PASSWORD) $$HOME");
        let env: BTreeMap<String, String> = [
            ("A_PASSWORD".to_string(), "pw-0123456789abcdef".to_string()),
            (
                "URL".to_string(),
                "mysql://u:pw-0123456789abcdef@db".to_string(),
            ),
            ("PLAIN".to_string(), "$(not expanded)".to_string()),
        ]
        .into();
        let (vars, used) = b.env(&env);
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            ["PIER_SECRET_DB_PASSWORD", "A_PASSWORD", "PLAIN", "URL"]
        );
        let key_ref = |v: &EnvVar| {
            v.value_from
                .as_ref()
                .unwrap()
                .secret_key_ref
                .clone()
                .unwrap()
        };
        assert_eq!(key_ref(&vars[0]).name, "shop-env");
        assert_eq!(key_ref(&vars[0]).key, "DB_PASSWORD");
        assert_eq!(key_ref(&vars[1]).key, "DB_PASSWORD");
        assert_eq!(vars[2].value.as_deref(), Some("$$(not expanded)"));
        assert_eq!(
            vars[3].value.as_deref(),
            Some("mysql://u:$(PIER_SECRET_DB_PASSWORD)@db")
        );
        assert_eq!(used.into_iter().collect::<Vec<_>>(), ["DB_PASSWORD"]);
    }

    #[test]
    fn setup_script_names_sources_not_values() {
        let used: BTreeSet<String> = ["DB_PASSWORD".to_string()].into();
        let files: BTreeMap<String, Secret> = [
            (
                "api_key".to_string(),
                Secret {
                    source: SecretSource::File(PathBuf::from("/p/it's.txt")),
                },
            ),
            (
                "token".to_string(),
                Secret {
                    source: SecretSource::Environment("API_TOKEN".into()),
                },
            ),
        ]
        .into();
        let script = setup_script("shop", Path::new("/p/.env"), &used, &files).unwrap();
        assert!(script.contains(
            "if [ -f '/p/.env' ]; then\n  \
             v=$(pier_env_value API_TOKEN '/p/.env')\n  \
             if [ -n \"$v\" ]; then API_TOKEN=${v%x}; fi\n  \
             v=$(pier_env_value DB_PASSWORD '/p/.env')\n  \
             if [ -n \"$v\" ]; then DB_PASSWORD=${v%x}; fi\n\
             fi\n\
             : \"${API_TOKEN:?API_TOKEN is not set}\"\n\
             : \"${DB_PASSWORD:?DB_PASSWORD is not set}\"\n"
        ));
        assert!(!script.contains(". '/p/.env'"), "{script}");
        assert!(script.contains(
            "kubectl create secret generic shop-env \\\n  --from-literal=DB_PASSWORD=\"${DB_PASSWORD}\" --dry-run=client -o yaml | kubectl apply -f -\n"
        ));
        assert!(script.contains("--from-file=api_key='/p/it'\\''s.txt'"));
        assert!(script.contains("--from-literal=token=\"${API_TOKEN}\""));
        assert_eq!(
            setup_script(
                "shop",
                Path::new(".env"),
                &BTreeSet::new(),
                &BTreeMap::new()
            ),
            None
        );
    }
}
