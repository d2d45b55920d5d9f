//! Healthchecks as readiness and liveness probes.
//!
//! Readiness is what makes `service_healthy` work: a Service only routes to
//! ready pods, so dependents waiting on the Service's port wait for health.
//! Liveness restarts a container whose check keeps failing, the nearest
//! Kubernetes has to Docker's "unhealthy". Unset fields take *Compose's*
//! defaults (30 s interval and timeout, 3 retries), not Kubernetes' (10 s,
//! 1 s, 3), so a check that passes under pier passes here too.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ExecAction, Probe};

use crate::stack::model::Healthcheck;

const COMPOSE_INTERVAL: Duration = Duration::from_secs(30);
const COMPOSE_TIMEOUT: Duration = Duration::from_secs(30);
const COMPOSE_RETRIES: u32 = 3;

/// The probe for `healthcheck`, or `None` when the check is disabled (`NONE`).
pub fn probe(healthcheck: &Healthcheck) -> Option<Probe> {
    // CMD-SHELL runs with `/bin/sh -c` in Docker; the same here.
    let command = healthcheck.test.exec_command()?;
    let start = healthcheck.start_period.unwrap_or_default().as_secs();
    Some(Probe {
        exec: Some(ExecAction {
            command: Some(command),
        }),
        period_seconds: Some(whole_seconds(
            healthcheck.interval.unwrap_or(COMPOSE_INTERVAL),
        )),
        timeout_seconds: Some(whole_seconds(
            healthcheck.timeout.unwrap_or(COMPOSE_TIMEOUT),
        )),
        failure_threshold: Some(
            healthcheck
                .retries
                .unwrap_or(COMPOSE_RETRIES)
                .clamp(1, i32::MAX as u32) as i32,
        ),
        initial_delay_seconds: (start > 0).then(|| start.min(i32::MAX as u64) as i32),
        ..Probe::default()
    })
}

/// Kubernetes counts in whole seconds, at least 1: round up so a 500ms check is not made stricter.
fn whole_seconds(d: Duration) -> i32 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.clamp(1, i32::MAX as u64) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::model::HealthTest;

    fn check(test: HealthTest) -> Healthcheck {
        Healthcheck {
            test,
            interval: Some(Duration::from_secs(2)),
            timeout: Some(Duration::from_millis(1500)),
            retries: Some(30),
            start_period: Some(Duration::from_secs(90)),
            start_interval: None,
        }
    }

    #[test]
    fn shell_checks_run_with_sh() {
        let p = probe(&check(HealthTest::Shell("mysqladmin ping".into()))).unwrap();
        assert_eq!(
            p.exec.unwrap().command.unwrap(),
            ["/bin/sh", "-c", "mysqladmin ping"]
        );
        assert_eq!(p.period_seconds, Some(2));
        assert_eq!(p.timeout_seconds, Some(2));
        assert_eq!(p.failure_threshold, Some(30));
        assert_eq!(p.initial_delay_seconds, Some(90));
    }

    #[test]
    fn exec_checks_and_compose_defaults() {
        let mut h = check(HealthTest::Cmd(vec!["pg_isready".into(), "-q".into()]));
        h.interval = None;
        h.timeout = None;
        h.retries = None;
        h.start_period = None;
        let p = probe(&h).unwrap();
        assert_eq!(p.exec.unwrap().command.unwrap(), ["pg_isready", "-q"]);
        assert_eq!(
            (
                p.period_seconds,
                p.timeout_seconds,
                p.failure_threshold,
                p.initial_delay_seconds
            ),
            (Some(30), Some(30), Some(3), None)
        );
    }

    #[test]
    fn disabled_checks_have_no_probe() {
        assert_eq!(probe(&check(HealthTest::None)), None);
    }
}
