//! The values of the stack's secrets, read once before anything is created: a
//! file's content, or a variable's value from the shell's environment, then `.env`.
//! Shared by the local target (which writes environment-backed secrets into the
//! container) and the swarm target (which creates swarm secrets).

use std::collections::BTreeMap;

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::stack::model::SecretSource;

/// A secret's key under top-level `secrets` → its value. A variable that is set
/// nowhere is invalid input (exit 2), all of them reported together.
pub fn read<'a>(
    secrets: impl IntoIterator<Item = (&'a str, &'a SecretSource)>,
    dotenv: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut values = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, source) in secrets {
        match source {
            SecretSource::File(path) => {
                let value = std::fs::read(path).map_err(|e| Error::io(path, e))?;
                values.insert(key.to_string(), value);
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

    #[test]
    fn an_unset_variable_is_invalid_input_and_dotenv_is_the_fallback() {
        let unset = SecretSource::Environment("PIER_TEST_SURELY_UNSET_TOKEN".into());
        let err = read([("token", &unset)], &BTreeMap::new()).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("secrets.token.environment"),
            "{err}"
        );
        let dotenv = [(
            "PIER_TEST_SURELY_UNSET_TOKEN".to_string(),
            "from-dotenv".to_string(),
        )]
        .into();
        assert_eq!(
            read([("token", &unset)], &dotenv).unwrap()["token"],
            b"from-dotenv".to_vec()
        );
    }
}
