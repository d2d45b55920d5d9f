//! Readiness conditions (DESIGN §6) against the real engine, and failures that
//! name the condition, the health-check output and the log lines.

mod support;

use std::time::Duration;

use pier::Error;
use pier::stack::model::Condition;
use support::*;

#[test]
fn completed_successfully_runs_the_one_shot_first() {
    let p = Project::new("oneshot");
    let migrate = service("echo migrating; sleep 1; echo migrated");
    let app = depends(
        service(&idle_after("")),
        "migrate",
        Condition::CompletedSuccessfully,
    );
    let stack = p.stack(vec![("migrate", migrate), ("app", app)]);
    up(&stack, &up_args(60)).expect("up succeeds");
    let m = p.container("migrate");
    assert_eq!(
        inspect(&m, "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 0"
    );
    let finished = instant(&inspect(&m, "{{.State.FinishedAt}}"));
    assert!(
        finished <= started_at(&p.container("app")),
        "app started before migrate finished"
    );
    // A second up runs the one-shot again (as Compose does), app left alone.
    let mut dry = up_args(60);
    dry.dry_run = true;
    let plan = up(&stack, &dry).unwrap();
    assert!(
        plan.contains(&format!(
            "1. start container {m} (one-shot: runs on every up)"
        )),
        "{plan}"
    );
    assert!(plan.contains("unchanged: app"), "{plan}");
}

#[test]
fn a_dependency_exiting_non_zero_fails_up_with_its_logs() {
    let p = Project::new("exitfail");
    let migrate = service("echo migrating; echo 'schema broken' >&2; exit 3");
    let app = depends(
        service(&idle_after("")),
        "migrate",
        Condition::CompletedSuccessfully,
    );
    let stack = p.stack(vec![("migrate", migrate), ("app", app)]);
    let err = up(&stack, &up_args(60)).expect_err("up must fail");
    assert_eq!(err.exit_code(), 1);
    let Error::NotReady(n) = &err else {
        panic!("expected NotReady, got {err:?}")
    };
    assert_eq!(n.service, "migrate");
    assert_eq!(n.condition, "service_completed_successfully");
    assert_eq!(n.reason, "it exited with code 3");
    // stdout and stderr are separate streams: their relative order is not kept.
    let mut logs = n.logs.clone();
    logs.sort();
    assert_eq!(logs, vec!["migrating", "schema broken"]);
    let text = pier::render_error(&err);
    assert!(text.contains("service_completed_successfully"), "{text}");
    assert!(text.contains("| schema broken"), "{text}");
    // app was created but never started.
    assert_eq!(inspect(&p.container("app"), "{{.State.Status}}"), "created");

    // down after a failed up removes everything up created.
    down(&p.name, &down_args(false)).expect("down");
    assert!(p.containers().is_empty());
    assert!(p.networks().is_empty());
}

#[test]
fn a_dependency_that_never_becomes_healthy_fails_up_with_the_health_output() {
    let p = Project::new("unhealthy");
    let db = healthcheck(
        service(&idle_after("echo db booting;")),
        "echo still-not-ready; exit 1",
        Duration::from_secs(1),
        2,
    );
    let app = depends(service(&idle_after("")), "db", Condition::Healthy);
    let stack = p.stack(vec![("db", db), ("app", app)]);
    let err = up(&stack, &up_args(30)).expect_err("up must fail");
    assert_eq!(err.exit_code(), 1);
    let Error::NotReady(n) = &err else {
        panic!("expected NotReady, got {err:?}")
    };
    eprintln!("{}", pier::render_error(&err));
    assert_eq!(n.service, "db");
    assert_eq!(n.condition, "service_healthy");
    assert!(
        n.health_output
            .as_deref()
            .unwrap_or("")
            .contains("still-not-ready"),
        "{n:?}"
    );
    assert_eq!(n.logs, vec!["db booting"]);
    assert_eq!(inspect(&p.container("app"), "{{.State.Status}}"), "created");
}

#[test]
fn a_service_that_exits_fails_up_at_once() {
    let p = Project::new("crash");
    let web = service("echo 'listening'; echo 'fatal: no config' >&2; exit 1");
    // `db` never becomes healthy, so `up` is still waiting when web exits; with a
    // timeout this long, only noticing the exit can end the wait.
    let db = healthcheck(
        service(&idle_after("")),
        "exit 1",
        Duration::from_secs(300),
        3,
    );
    let stack = p.stack(vec![("web", web), ("db", db)]);
    let err = up(&stack, &up_args(3600)).expect_err("up must fail");
    let Error::NotReady(n) = &err else {
        panic!("expected NotReady, got {err:?}")
    };
    assert_eq!(n.service, "web");
    assert_eq!(n.condition, "service_started");
    assert_eq!(n.reason, "it exited with code 1");
    assert!(n.logs.contains(&"fatal: no config".to_string()), "{n:?}");
}

/// A dependency that its restart policy keeps restarting is reported as such
/// while `up` waits for its health, not after the wait timeout (an hour here).
#[test]
fn a_crash_looping_dependency_fails_up_with_its_logs() {
    let p = Project::new("crashloop");
    let mut db = healthcheck(
        service("echo 'db: bad config'; exit 3"),
        "true",
        Duration::from_secs(300),
        3,
    );
    db.restart = Some(pier::stack::model::RestartPolicy::Always);
    let app = depends(service(&idle_after("")), "db", Condition::Healthy);
    let stack = p.stack(vec![("db", db), ("app", app)]);
    let err = up(&stack, &up_args(3600)).expect_err("up must fail");
    let Error::NotReady(n) = &err else {
        panic!("expected NotReady, got {err:?}")
    };
    assert_eq!(n.service, "db");
    assert!(
        n.reason.starts_with("it keeps exiting and being restarted"),
        "{n:?}"
    );
    assert!(n.logs.contains(&"db: bad config".to_string()), "{n:?}");
    assert_eq!(inspect(&p.container("app"), "{{.State.Status}}"), "created");
}

#[test]
fn wait_timeout_bounds_the_wait_and_shows_the_probe_output() {
    let p = Project::new("timeout");
    // The engine's own check would first run after 5 minutes; pier's probe sees the failure.
    let db = healthcheck(
        service(&idle_after("echo db up;")),
        "echo 'connection refused' >&2; exit 1",
        Duration::from_secs(300),
        3,
    );
    let app = depends(service(&idle_after("")), "db", Condition::Healthy);
    let stack = p.stack(vec![("db", db), ("app", app)]);
    // 5 s rather than less: pier's probe must have run at least once by then,
    // also on a loaded machine.
    let err = up(&stack, &up_args(5)).expect_err("up must time out");
    let Error::NotReady(n) = &err else {
        panic!("expected NotReady, got {err:?}")
    };
    assert_eq!(n.service, "db");
    assert_eq!(n.reason, "not ready after 5s (state running, starting)");
    assert_eq!(
        n.health_output.as_deref().map(str::trim),
        Some("connection refused")
    );
    assert_eq!(n.logs, vec!["db up"]);
}

#[test]
fn a_health_check_whose_program_is_missing_fails_without_waiting_out_the_retries() {
    let p = Project::new("nocurl");
    let mut db = healthcheck(
        service(&idle_after("")),
        "unused",
        Duration::from_secs(300),
        50,
    );
    db.healthcheck.as_mut().unwrap().test = pier::stack::model::HealthTest::Cmd(vec![
        "curl".into(),
        "-f".into(),
        "http://localhost/".into(),
    ]);
    let app = depends(service(&idle_after("")), "db", Condition::Healthy);
    let stack = p.stack(vec![("db", db), ("app", app)]);
    // A timeout far beyond the test run: only recognising the missing program ends the wait.
    let err = up(&stack, &up_args(3600)).expect_err("up must fail");
    let Error::NotReady(n) = &err else {
        panic!("expected NotReady, got {err:?}")
    };
    assert_eq!(n.reason, "its health check cannot run in the container");
    assert!(
        n.health_output
            .as_deref()
            .unwrap_or("")
            .contains("\"curl\": executable file not found"),
        "{n:?}"
    );
}

/// Waits do not count against the bound on concurrent engine work: with room for
/// one step at a time, a service waiting seconds for its database's health does not
/// hold back the creation of the others.
#[test]
fn a_long_wait_does_not_hold_back_other_work() {
    use pier::engine::Engine;
    use pier::event::Event;
    use pier::plan::{PullPolicy, UpOptions, plan_up};
    use pier::target::local::{ExecuteOptions, execute};
    use std::sync::{Arc, Mutex};

    let p = Project::new("waitslot");
    let db = healthcheck(
        service(&idle_after("(sleep 3; touch /tmp/up) &")),
        "test -e /tmp/up",
        Duration::from_secs(1),
        30,
    );
    let web = depends(service(&idle_after("")), "db", Condition::Healthy);
    let other = service(&idle_after(""));
    let stack = p.stack(vec![("db", db), ("web", web), ("other", other)]);
    let finished: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = finished.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let engine = Engine::connect().await.unwrap();
        let observed = engine.observe(&stack.name, &[]).await.unwrap();
        let opts = UpOptions {
            services: vec![],
            pull: PullPolicy::Never,
            build: false,
            remove_orphans: false,
        };
        let plan = plan_up(&stack, &observed, &opts).unwrap();
        let exec = ExecuteOptions {
            concurrency: 1,
            ..ExecuteOptions::default()
        };
        let sink = Arc::new(move |event: Event| {
            if let Event::StepFinished { text, .. } = event {
                seen.lock().unwrap().push(text);
            }
        });
        execute(&engine, &plan, &exec, sink)
            .await
            .expect("up succeeds");
    });
    let finished = finished.lock().unwrap().clone();
    let at = |prefix: &str| {
        finished
            .iter()
            .position(|t| t.starts_with(prefix))
            .unwrap_or_else(|| panic!("no finished step `{prefix}` in {finished:#?}"))
    };
    let web = p.container("web");
    assert!(
        at(&format!("create container {web}")) < at("wait for db"),
        "web was created only after db's wait ended: {finished:#?}"
    );
}
