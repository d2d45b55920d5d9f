//! Running a container's own configured health test once, on demand.
//!
//! The engine runs a health test only every `interval` (30 s by default), so
//! right after `up` it still says "starting" for a service pier already saw
//! healthy. `ps` and `up`'s summary ask here instead of showing that stale word.

use std::time::Duration;

use super::Engine;
use crate::error::Result;

/// The longest pier waits for one on-demand health test: a hung test is "not
/// healthy yet", not a hung `pier ps`.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// The engine's list form (`["CMD-SHELL", "…"]`) as the command that runs it once
/// through exec; None when the container has no test of its own.
pub fn health_test_from_engine(test: &[String]) -> Option<Vec<String>> {
    match test.split_first() {
        Some((kind, rest)) if kind == "CMD" && !rest.is_empty() => Some(rest.to_vec()),
        Some((kind, rest)) if kind == "CMD-SHELL" && !rest.is_empty() => {
            Some(vec!["/bin/sh".into(), "-c".into(), rest.join(" ")])
        }
        _ => None,
    }
}

impl Engine {
    /// Run the health test the container was created with (its image's included),
    /// once, through exec. Some(true) when it passes; None when the container has
    /// no test or is gone.
    pub async fn probe_configured_health(&self, container: &str) -> Result<Option<bool>> {
        let info = match self.docker.inspect_container(container, None).await {
            Ok(info) => info,
            Err(e) if super::is_not_found(&e) => return Ok(None),
            Err(e) => {
                return Err(super::fail(
                    crate::error::EngineOp::InspectContainer,
                    container,
                )(e));
            }
        };
        let Some(test) = info
            .config
            .and_then(|c| c.healthcheck)
            .and_then(|h| h.test)
            .and_then(|t| health_test_from_engine(&t))
        else {
            return Ok(None);
        };
        match tokio::time::timeout(PROBE_LIMIT, self.probe_health(container, &test)).await {
            Ok(Ok((healthy, _))) => Ok(Some(healthy)),
            // Could not run it (e.g. the container stopped meanwhile) or it hung: not
            // confirmed, which leaves the engine's own word standing.
            Ok(Err(_)) | Err(_) => Ok(Some(false)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_test_forms() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            health_test_from_engine(&v(&["CMD-SHELL", "test -f /ready"])),
            Some(v(&["/bin/sh", "-c", "test -f /ready"]))
        );
        assert_eq!(
            health_test_from_engine(&v(&["CMD", "pg_isready", "-q"])),
            Some(v(&["pg_isready", "-q"]))
        );
        assert_eq!(health_test_from_engine(&v(&["NONE"])), None);
        assert_eq!(health_test_from_engine(&[]), None);
    }
}
