//! Readiness rules, and the scheduler against a recorded fake backend.

use super::*;

fn status(
    state: ContainerState,
    health: Option<Health>,
    exit_code: Option<i64>,
) -> ContainerStatus {
    ContainerStatus {
        name: "p-s-1".into(),
        state,
        health,
        exit_code,
        started_at: None,
        last_health_output: None,
        error: None,
        published: vec![],
        restart_count: 0,
    }
}

fn verdict(v: Verdict) -> String {
    match v {
        Verdict::Ready => "ready".into(),
        Verdict::Pending => "pending".into(),
        Verdict::Failed(r) => r,
    }
}

#[test]
fn readiness_rules() {
    use ContainerState::*;
    let j = |s, c, t| verdict(judge(&s, c, t));
    assert_eq!(
        j(status(Running, None, Some(0)), Readiness::Started, false),
        "ready"
    );
    assert_eq!(
        j(status(Created, None, None), Readiness::Started, false),
        "pending"
    );
    assert_eq!(
        j(status(Exited, None, Some(3)), Readiness::Started, false),
        "it exited with code 3"
    );
    assert_eq!(
        j(status(Exited, None, Some(0)), Readiness::Started, false),
        "ready"
    );
    assert_eq!(
        j(
            status(Running, Some(Health::Starting), None),
            Readiness::Healthy,
            true
        ),
        "pending"
    );
    assert_eq!(
        j(
            status(Running, Some(Health::Healthy), None),
            Readiness::Healthy,
            true
        ),
        "ready"
    );
    assert_eq!(
        j(
            status(Running, Some(Health::Unhealthy), None),
            Readiness::Healthy,
            true
        ),
        "its health check reports unhealthy"
    );
    assert_eq!(
        j(status(Running, None, None), Readiness::Healthy, false),
        "it has no healthcheck, so it can never become healthy"
    );
    assert_eq!(
        j(
            status(Running, None, None),
            Readiness::CompletedSuccessfully,
            false
        ),
        "pending"
    );
    assert_eq!(
        j(
            status(Exited, None, Some(0)),
            Readiness::CompletedSuccessfully,
            false
        ),
        "ready"
    );
    assert_eq!(
        j(
            status(Exited, None, Some(1)),
            Readiness::CompletedSuccessfully,
            false
        ),
        "it exited with code 1"
    );
}

#[test]
fn a_container_restarted_again_and_again_is_not_waited_for() {
    use ContainerState::*;
    let with = |restart_count, state, health| ContainerStatus {
        restart_count,
        ..status(state, health, Some(3))
    };
    let j = |s: ContainerStatus| verdict(judge(&s, Readiness::Healthy, true));
    assert_eq!(
        j(with(1, Restarting, Some(Health::Starting))),
        "pending",
        "a hiccup"
    );
    let looping = "it keeps exiting and being restarted by its restart policy (2 restarts; last exit code 3)";
    assert_eq!(j(with(2, Restarting, Some(Health::Starting))), looping);
    // Its failed health check is a symptom; the restarts are the cause.
    assert_eq!(
        j(with(1, Running, Some(Health::Unhealthy))),
        "it keeps exiting and being restarted by its restart policy (1 restart; last exit code 3)"
    );
    // Never restarted: unhealthy is what it is.
    assert_eq!(
        j(with(0, Running, Some(Health::Unhealthy))),
        "its health check reports unhealthy"
    );
    // Restarted before, running now and still starting: wait on.
    assert_eq!(j(with(2, Running, Some(Health::Starting))), "pending");
    // Whatever the restarts, a ready container is ready.
    assert_eq!(j(with(7, Running, Some(Health::Healthy))), "ready");
}
