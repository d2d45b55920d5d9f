//! The engine's floor: the same containers created and started straight through
//! pier's engine adapter, with every call made as early as the dependency order
//! allows and no planning, observing or reporting. No tool can be faster than this
//! on the same engine; pier's time divided by it is pier's own overhead.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::{LocalBoxFuture, Shared, try_join_all};
use futures_util::{FutureExt, StreamExt};

use pier::engine::Engine;
use pier::plan::ContainerSpec;
use pier::plan::reconcile::final_condition;
use pier::plan::spec::probe_of;
use pier::stack::graph::Graph;
use pier::stack::model::{Condition, Stack};

type Ready<'a> = Shared<LocalBoxFuture<'a, Result<(), String>>>;

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Networks and volumes first (containers refer to them), then every container is
/// created at once; each starts as soon as it exists and its dependencies meet
/// their conditions; readiness is polled without pause. Returns when all are ready.
pub async fn up(stack: &Stack) -> Result<(), String> {
    let engine = Engine::connect().await.map_err(text)?;
    let e = &engine;
    let nets = stack
        .networks
        .iter()
        .filter(|(_, n)| !n.external)
        .map(|(key, n)| {
            let name = stack.network_name(key);
            async move {
                e.create_network(&stack.name, key, &name, n.driver.as_deref(), n.internal)
                    .await
            }
            .boxed_local()
        });
    let vols = stack
        .volumes
        .iter()
        .filter(|(_, v)| !v.external)
        .map(|(key, v)| {
            let name = stack.volume_name(key);
            async move {
                e.create_volume(&stack.name, key, &name, v.driver.as_deref())
                    .await
            }
            .boxed_local()
        });
    try_join_all(nets.chain(vols)).await.map_err(text)?;

    let graph = Graph::new(stack).map_err(|_| "dependency cycle".to_string())?;
    let mut started: BTreeMap<String, Ready> = BTreeMap::new();
    let mut ready: BTreeMap<String, Ready> = BTreeMap::new();
    for name in graph.levels().into_iter().flatten() {
        let svc = &stack.services[&name];
        let deps: Vec<Ready> = svc
            .depends_on
            .iter()
            .map(|(dep, d)| match d.condition {
                Condition::Started => started[dep].clone(),
                _ => ready[dep].clone(),
            })
            .collect();
        let container = stack.container_name(&name);
        let service = name.clone();
        let start: Ready = async move {
            e.create_container(&ContainerSpec::of(stack, &service))
                .await
                .map_err(text)?;
            for dep in deps {
                dep.await?;
            }
            e.start_container(&stack.container_name(&service))
                .await
                .map_err(text)
        }
        .boxed_local()
        .shared();
        let condition = final_condition(stack, &name);
        let test = probe_of(stack, &name);
        let after_start = start.clone();
        let done: Ready = async move {
            after_start.await?;
            loop {
                let ok = match (condition, &test) {
                    (Condition::Started, _) => true,
                    (Condition::Healthy, Some(test)) => {
                        matches!(e.probe_health(&container, test).await, Ok((true, _)))
                    }
                    _ => e
                        .inspect_container(&container)
                        .await
                        .map_err(text)?
                        .is_some_and(|s| s.exit_code == Some(0) && s.started_at.is_some()),
                };
                if ok {
                    return Ok(());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        .boxed_local()
        .shared();
        started.insert(name.clone(), start);
        ready.insert(name, done);
    }
    try_join_all(ready.into_values()).await.map(drop)
}

/// Learning that nothing needs doing: one listing of the project's containers.
pub async fn noop(stack: &Stack) -> Result<(), String> {
    let engine = Engine::connect().await.map_err(text)?;
    engine
        .list_containers(&stack.name)
        .await
        .map(drop)
        .map_err(text)
}

/// Every container stopped (its own signal and grace period) and removed at once,
/// then the networks.
pub async fn down(stack: &Stack) -> Result<(), String> {
    let engine = Engine::connect().await.map_err(text)?;
    let e = &engine;
    let containers = e.list_containers(&stack.name).await.map_err(text)?;
    // As many at once as pier allows itself: unbounded parallel removal makes this
    // engine (20.10) leak network endpoints now and then, leaving a network that
    // can never be removed ("has active endpoints").
    futures_util::stream::iter(containers.iter().map(|c| async move {
        e.stop_container(&c.name, None).await?;
        e.remove_container(&c.name).await
    }))
    .buffer_unordered(pier::target::local::ExecuteOptions::default().concurrency)
    .collect::<Vec<_>>()
    .await
    .into_iter()
    .collect::<Result<Vec<()>, _>>()
    .map_err(text)?;
    try_join_all(
        stack
            .networks
            .keys()
            .map(|key| async move { e.remove_network(&stack.network_name(key)).await }),
    )
    .await
    .map(drop)
    .map_err(text)
}
