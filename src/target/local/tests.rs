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
    let looping =
        "it keeps exiting and being restarted by its restart policy (2 restarts; last exit code 3)";
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

// --- The scheduler, against a recorded fake backend (no Docker) ---

mod walk {
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    use super::super::*;
    use crate::engine::PullUpdate;
    use crate::error::EngineOp;
    use crate::plan::observed::ObservedContainer;
    use crate::plan::spec::{BuildSpec, SecretTarget};
    use crate::plan::{Cause, Step, StepId};

    /// Records what it was asked to do; every engine change yields a few times so
    /// that concurrent steps really overlap.
    #[derive(Default)]
    struct Fake {
        ops: RefCell<Vec<String>>,
        ended: RefCell<BTreeSet<String>>,
        active: Cell<usize>,
        max_active: Cell<usize>,
        /// The operation that fails.
        fail: Option<String>,
        /// Cancel this token when this operation ends (a Ctrl-C mid-run).
        interrupt_after: Option<(String, CancellationToken)>,
        /// (container, operation): the container is not healthy until the operation ended.
        healthy_after: Option<(String, String)>,
        written: RefCell<Vec<(String, String, Vec<u8>)>>,
    }

    impl Fake {
        async fn op(&self, what: String) -> Result<()> {
            self.ops.borrow_mut().push(what.clone());
            self.active.set(self.active.get() + 1);
            self.max_active
                .set(self.max_active.get().max(self.active.get()));
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            self.active.set(self.active.get() - 1);
            self.ended.borrow_mut().insert(what.clone());
            if let Some((op, token)) = &self.interrupt_after
                && *op == what
            {
                token.cancel();
            }
            if self.fail.as_ref() == Some(&what) {
                return Err(Error::Engine {
                    op: EngineOp::CreateContainer,
                    resource: what,
                    message: "boom".into(),
                });
            }
            Ok(())
        }
    }

    impl Backend for Fake {
        async fn create_network(
            &self,
            _: &str,
            _: &str,
            name: &str,
            _: Option<&str>,
            _: bool,
        ) -> Result<()> {
            self.op(format!("create network {name}")).await
        }
        async fn create_volume(&self, _: &str, _: &str, name: &str, _: Option<&str>) -> Result<()> {
            self.op(format!("create volume {name}")).await
        }
        async fn pull_image(&self, image: &str, _: &(dyn Fn(PullUpdate) + Sync)) -> Result<()> {
            self.op(format!("pull {image}")).await
        }
        async fn build_image(
            &self,
            image: &str,
            _: &BuildSpec,
            _: &(dyn Fn(String) + Sync),
        ) -> Result<()> {
            self.op(format!("build {image}")).await
        }
        async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
            self.op(format!("tag {source} {target}")).await
        }
        async fn create_container(&self, spec: &ContainerSpec) -> Result<String> {
            self.op(format!("create {}", spec.name)).await?;
            Ok(format!("id-{}", spec.name))
        }
        async fn write_files(&self, container: &str, files: &[(String, Vec<u8>)]) -> Result<()> {
            for (path, value) in files {
                self.written
                    .borrow_mut()
                    .push((container.into(), path.clone(), value.clone()));
            }
            Ok(())
        }
        async fn start_container(&self, name: &str) -> Result<()> {
            self.op(format!("start {name}")).await
        }
        async fn stop_container(&self, name: &str, _: Option<Duration>) -> Result<()> {
            self.op(format!("stop {name}")).await
        }
        async fn remove_container(&self, name: &str) -> Result<()> {
            self.op(format!("remove {name}")).await
        }
        async fn remove_network(&self, name: &str) -> Result<()> {
            self.op(format!("remove network {name}")).await
        }
        async fn remove_volume(&self, name: &str) -> Result<()> {
            self.op(format!("remove volume {name}")).await
        }
        async fn until_not_running(&self, _: &str) {
            std::future::pending::<()>().await
        }
        async fn inspect_container(&self, name: &str) -> Result<Option<ContainerStatus>> {
            let pending = self
                .healthy_after
                .as_ref()
                .is_some_and(|(c, op)| c == name && !self.ended.borrow().contains(op));
            Ok(Some(ContainerStatus {
                name: name.into(),
                state: ContainerState::Running,
                health: Some(if pending {
                    Health::Starting
                } else {
                    Health::Healthy
                }),
                exit_code: None,
                started_at: None,
                last_health_output: None,
                error: None,
                published: vec![],
                restart_count: 0,
            }))
        }
        async fn probe_health(&self, _: &str, _: &[String]) -> Result<(bool, String)> {
            Ok((false, String::new()))
        }
        async fn run_hook(&self, _: &str, _: &HookSpec) -> Result<(i64, String)> {
            Ok((0, String::new()))
        }
        async fn list_containers(&self, _: &str) -> Result<Vec<ObservedContainer>> {
            Ok(vec![])
        }
        async fn logs_tail(&self, _: &str, _: usize) -> Result<Vec<String>> {
            Ok(vec![])
        }
    }

    fn c(service: &str) -> String {
        format!("p-{service}-1")
    }
    fn create(service: &str) -> Action {
        Action::CreateContainer {
            service: service.into(),
            spec: Box::new(ContainerSpec {
                name: c(service),
                ..ContainerSpec::default()
            }),
        }
    }
    fn start(service: &str) -> Action {
        Action::StartContainer {
            service: service.into(),
            container: c(service),
            one_shot: false,
            post_start: vec![],
        }
    }
    fn wait(service: &str) -> Action {
        Action::WaitFor {
            service: service.into(),
            container: c(service),
            condition: Readiness::Healthy,
            probe: None,
            probe_timeout_ms: None,
        }
    }
    fn network() -> Action {
        Action::CreateNetwork {
            name: "p_default".into(),
            key: "default".into(),
            driver: None,
            internal: false,
        }
    }
    fn plan(steps: Vec<(Action, &[usize])>) -> Plan {
        Plan {
            project: "p".into(),
            steps: steps
                .into_iter()
                .map(|(action, after)| Step {
                    action,
                    cause: Cause::NotFound,
                    after: after.iter().map(|&i| StepId(i)).collect(),
                })
                .collect(),
            unchanged: vec![],
            notes: vec![],
        }
    }

    /// Run `plan` on `fake`; returns the result and every event.
    fn run(fake: &Fake, plan: &Plan, opts: ExecuteOptions) -> (Result<Outcome>, Vec<Event>) {
        let events: Arc<Mutex<Vec<Event>>> = Arc::default();
        let seen = events.clone();
        let sink: EventSink = Arc::new(move |e| seen.lock().unwrap().push(e));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let result = runtime.block_on(execute(fake, plan, &opts, sink));
        let events = events.lock().unwrap().clone();
        (result, events)
    }

    fn started(events: &[Event]) -> Vec<usize> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::StepStarted { step, .. } => Some(*step),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn steps_run_only_after_their_dependencies() {
        let plan = plan(vec![
            (network(), &[]),
            (create("a"), &[0]),
            (create("b"), &[0]),
            (start("a"), &[1]),
            (wait("a"), &[3]),
            (start("b"), &[2, 4]),
            (wait("b"), &[5]),
        ]);
        let fake = Fake::default();
        let (result, events) = run(&fake, &plan, ExecuteOptions::default());
        result.expect("the plan runs");
        let position = |wanted: &dyn Fn(&Event) -> bool| events.iter().position(wanted).unwrap();
        for (i, step) in plan.steps.iter().enumerate() {
            let began = position(&|e| matches!(e, Event::StepStarted { step, .. } if *step == i));
            for dep in &step.after {
                let ended =
                    position(&|e| matches!(e, Event::StepFinished { step, .. } if *step == dep.0));
                assert!(
                    ended < began,
                    "step {i} began before {} ended: {events:#?}",
                    dep.0
                );
            }
        }
        assert_eq!(started(&events).len(), plan.steps.len());
        // Independent creates overlapped.
        assert_eq!(fake.max_active.get(), 2, "{:?}", fake.ops.borrow());
    }

    #[test]
    fn the_concurrency_bound_is_never_exceeded() {
        let services = ["a", "b", "c", "d", "e", "f"];
        let plan = plan(services.iter().map(|s| (create(s), &[][..])).collect());
        let fake = Fake::default();
        let opts = ExecuteOptions {
            concurrency: 2,
            ..ExecuteOptions::default()
        };
        let (result, _) = run(&fake, &plan, opts);
        result.expect("the plan runs");
        assert_eq!(fake.ops.borrow().len(), 6);
        assert_eq!(
            fake.max_active.get(),
            2,
            "at most two at once, and two did overlap"
        );
    }

    #[test]
    fn a_wait_does_not_take_a_slot() {
        // db is healthy only once `other` has been created: with one slot, that
        // create can run only if the wait for db does not hold the slot.
        let plan = plan(vec![
            (start("db"), &[]),
            (wait("db"), &[0]),
            (create("other"), &[]),
        ]);
        let fake = Fake {
            healthy_after: Some((c("db"), format!("create {}", c("other")))),
            ..Fake::default()
        };
        let opts = ExecuteOptions {
            concurrency: 1,
            wait_timeout: Duration::from_secs(5),
            ..ExecuteOptions::default()
        };
        let (result, _) = run(&fake, &plan, opts);
        result.expect("db became healthy once other was created");
        assert_eq!(fake.max_active.get(), 1);
    }

    #[test]
    fn a_failing_step_stops_its_dependents_and_its_error_is_returned() {
        let plan = plan(vec![
            (create("a"), &[]),
            (start("a"), &[0]),
            (wait("a"), &[1]),
            (create("b"), &[]),
        ]);
        let fake = Fake {
            fail: Some(format!("create {}", c("a"))),
            ..Fake::default()
        };
        let (result, events) = run(&fake, &plan, ExecuteOptions::default());
        let err = result.expect_err("the create fails");
        assert!(matches!(err, Error::Engine { .. }), "{err:?}");
        assert!(err.to_string().contains("boom"), "{err}");
        let began = started(&events);
        assert!(!began.contains(&1) && !began.contains(&2), "{events:#?}");
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::StepFailed { step: 0, .. })),
            "{events:#?}"
        );
        assert!(!fake.ops.borrow().iter().any(|op| op.starts_with("start")));
        // The summary names what never ran because of it, in plan order.
        let cancelled: Vec<&Vec<String>> = events
            .iter()
            .filter_map(|e| match e {
                Event::Cancelled { steps } => Some(steps),
                _ => None,
            })
            .collect();
        let a = c("a");
        assert_eq!(
            cancelled,
            [&vec![
                format!("start container {a}"),
                "wait for a: service_healthy".to_string()
            ]],
            "{events:#?}"
        );
    }

    #[test]
    fn an_interrupt_starts_no_new_step() {
        let interrupt = CancellationToken::new();
        let plan = plan(vec![
            (create("a"), &[]),
            (create("b"), &[]),
            (create("c"), &[]),
        ]);
        let fake = Fake {
            interrupt_after: Some((format!("create {}", c("a")), interrupt.clone())),
            ..Fake::default()
        };
        let opts = ExecuteOptions {
            concurrency: 1,
            interrupt,
            ..ExecuteOptions::default()
        };
        let (result, events) = run(&fake, &plan, opts);
        assert!(
            matches!(result, Err(Error::Interrupted)),
            "{:?}",
            result.map(|_| ())
        );
        assert_eq!(*fake.ops.borrow(), vec![format!("create {}", c("a"))]);
        assert_eq!(started(&events), vec![0]);
        assert!(events.iter().any(|e| matches!(e, Event::Interrupted)));
    }

    #[test]
    fn variable_secrets_are_written_into_the_new_container() {
        let mut action = create("db");
        if let Action::CreateContainer { spec, .. } = &mut action {
            spec.secrets = vec![SecretTarget {
                key: "pw".into(),
                target: "/run/secrets/pw".into(),
            }];
        }
        let plan = plan(vec![(action, &[])]);
        let fake = Fake::default();
        let (result, _) = run(&fake, &plan, ExecuteOptions::default());
        let err = result.expect_err("no value was read");
        assert!(matches!(err, Error::Internal { .. }), "{err:?}");
        assert_eq!(err.exit_code(), crate::error::exit::RUNTIME);

        let fake = Fake::default();
        let opts = ExecuteOptions {
            secrets: SecretValues([("pw".to_string(), b"s3cret".to_vec())].into()),
            ..ExecuteOptions::default()
        };
        let (result, _) = run(&fake, &plan, opts);
        result.expect("the plan runs");
        assert_eq!(
            *fake.written.borrow(),
            vec![(
                format!("id-{}", c("db")),
                "/run/secrets/pw".to_string(),
                b"s3cret".to_vec()
            )]
        );
    }
}
