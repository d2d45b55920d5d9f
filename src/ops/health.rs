//! pier's own run of the health tests the engine has not run yet (see
//! `overview::rows` for why), shared by `up`'s summary and `ps`.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::Engine;
use crate::overview::rows::awaiting_engine_health;
use crate::plan::observed::Observed;

/// Run, once and all at once, the health test of every running service the engine
/// still calls "starting". Service → passed. `known_healthy`: services whose test
/// pier has just seen pass (`target::local::Outcome`), taken as passed without running
/// it again.
pub async fn pier_health_checks(
    engine: &Engine,
    observed: &Observed,
    known_healthy: &BTreeSet<String>,
) -> BTreeMap<String, bool> {
    let checks =
        awaiting_engine_health(observed)
            .into_iter()
            .map(|(service, container)| async move {
                let passed = known_healthy.contains(&service)
                    || matches!(
                        engine.probe_configured_health(&container).await,
                        Ok(Some(true))
                    );
                (service, passed)
            });
    futures_util::future::join_all(checks)
        .await
        .into_iter()
        .collect()
}
