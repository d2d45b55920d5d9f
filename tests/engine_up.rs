//! `pier up` against the real engine: start order, reachability by service name,
//! idempotence and targeted recreation.

mod support;

use std::time::Duration;

use pier::stack::model::{Condition, Stack};
use support::*;

/// db (healthy after a moment) ← api (http server) ← web, and an independent cache.
fn shop(p: &Project) -> Stack {
    let db = healthcheck(
        service(&idle_after("sleep 1; touch /tmp/ready;")),
        "test -f /tmp/ready",
        // Far longer than the whole test: readiness must come from pier's own probe.
        Duration::from_secs(300),
        3,
    );
    let api = depends(
        service(&idle_after(
            "mkdir -p /www && echo hello-from-api > /www/index.html && httpd -p 8080 -h /www;",
        )),
        "db",
        Condition::Healthy,
    );
    let web = depends(service(&idle_after("")), "api", Condition::Started);
    let cache = service(&idle_after(""));
    p.stack(vec![
        ("db", db),
        ("api", api),
        ("web", web),
        ("cache", cache),
    ])
}

#[test]
fn up_starts_in_dependency_order_and_services_reach_each_other() {
    let p = Project::new("order");
    let stack = shop(&p);
    let table = up(&stack, &up_args(120)).expect("up succeeds");
    assert!(table.contains("SERVICE"), "{table}");
    for s in ["api", "cache", "db", "web"] {
        assert_eq!(
            inspect(&p.container(s), "{{.State.Status}}"),
            "running",
            "{s}"
        );
        assert_eq!(
            inspect(
                &p.container(s),
                "{{index .Config.Labels \"io.pier.service\"}}"
            ),
            s
        );
    }
    let (db, api, web) = (
        started_at(&p.container("db")),
        started_at(&p.container("api")),
        started_at(&p.container("web")),
    );
    assert!(db <= api, "api started before db: {db:?} {api:?}");
    assert!(api <= web, "web started before api: {api:?} {web:?}");
    // Healthy through pier's probe, long before the 300 s interval came round.
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("db") && l.contains("running")),
        "{table}"
    );

    let web = p.container("web");
    docker(&["exec", &web, "ping", "-c1", "-W2", "db"]).expect("web resolves and reaches db");
    let page = docker(&["exec", &web, "wget", "-qO-", "http://api:8080/index.html"])
        .expect("web reaches api's http server by name");
    assert_eq!(page, "hello-from-api");

    down(&p.name, &down_args(false)).expect("down succeeds");
    assert!(
        p.containers().is_empty(),
        "containers left: {:?}",
        p.containers()
    );
    assert!(p.networks().is_empty(), "networks left: {:?}", p.networks());
}

#[test]
fn second_up_changes_nothing_and_an_env_change_recreates_one_service() {
    let p = Project::new("idem");
    let stack = shop(&p);
    up(&stack, &up_args(120)).expect("first up");
    let ids = |p: &Project| -> Vec<(String, String, (String, u32))> {
        ["api", "cache", "db", "web"]
            .iter()
            .map(|s| {
                let c = p.container(s);
                (s.to_string(), inspect(&c, "{{.Id}}"), started_at(&c))
            })
            .collect()
    };
    let before = ids(&p);

    let mut dry = up_args(120);
    dry.dry_run = true;
    let plan = up(&stack, &dry).unwrap();
    assert_eq!(
        plan,
        format!(
            "project {}: nothing to do\nunchanged: cache, db, api, web\n",
            p.name
        )
    );
    up(&stack, &up_args(120)).expect("second up");
    assert_eq!(ids(&p), before, "a second up must not touch anything");

    let mut edited = stack.clone();
    edited
        .services
        .get_mut("cache")
        .unwrap()
        .environment
        .insert("MODE".into(), "lru".into());
    let plan = up(&edited, &dry).unwrap();
    assert!(
        plan.contains(&format!(
            "recreate container {} (config changed: environment)",
            p.container("cache")
        )),
        "{plan}"
    );
    up(&edited, &up_args(120)).expect("up after the edit");
    let after = ids(&p);
    for (old, new) in before.iter().zip(&after) {
        if old.0 == "cache" {
            assert_ne!(old.1, new.1, "cache must be recreated");
        } else {
            assert_eq!(old, new, "{} must be left alone", old.0);
        }
    }
    assert_eq!(
        inspect(
            &p.container("cache"),
            "{{range .Config.Env}}{{println .}}{{end}}"
        )
        .lines()
        .filter(|l| *l == "MODE=lru")
        .count(),
        1
    );
}

#[test]
fn up_of_one_service_starts_only_it_and_its_dependencies() {
    let p = Project::new("subset");
    let stack = shop(&p);
    let mut args = up_args(120);
    args.services = vec!["api".into()];
    up(&stack, &args).expect("up api");
    let mut names: Vec<String> = p
        .containers()
        .iter()
        .map(|id| inspect(id, "{{index .Config.Labels \"io.pier.service\"}}"))
        .collect();
    names.sort();
    assert_eq!(names, vec!["api", "db"]);
}

/// The operation itself, as commands call it: `ops::up` returns the plan and the
/// rows, and tells a collecting sink about every step; `ops::down` reports what it
/// removed.
#[test]
fn up_and_down_as_library_operations_return_their_reports() {
    use std::sync::{Arc, Mutex};

    use pier::event::{Event, EventSink};
    use pier::plan::{DownOptions, PullPolicy, UpOptions};

    let p = Project::new("opslib");
    let stack = p.stack(vec![
        ("db", service(&idle_after(""))),
        (
            "web",
            depends(service(&idle_after("")), "db", Condition::Started),
        ),
    ]);
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let collected = events.clone();
    let sink: EventSink = Arc::new(move |e| collected.lock().unwrap().push(e));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = pier::engine::Engine::connect().await.expect("an engine");
        let opts = pier::ops::up::Options {
            plan: UpOptions {
                services: vec![],
                pull: PullPolicy::Never,
                build: false,
                remove_orphans: false,
            },
            dry_run: false,
            wait_timeout: Duration::from_secs(60),
            interrupt: Default::default(),
            router: None,
            identity: None,
            adopt: false,
        };
        let report = pier::ops::up::up(&engine, &stack, &Default::default(), &opts, &sink)
            .await
            .expect("up succeeds");
        let mut created: Vec<&str> = report.plan.created_services().map(String::as_str).collect();
        created.sort();
        assert_eq!(created, ["db", "web"], "{}", report.plan);
        let rows: Vec<(&str, bool)> = report
            .rows
            .iter()
            .map(|r| (r.service.as_str(), r.state.is_running()))
            .collect();
        assert_eq!(rows, [("db", true), ("web", true)]);
        {
            let events = events.lock().unwrap();
            assert!(
                matches!(events.first(), Some(Event::Planned { project, .. }) if *project == p.name),
                "{events:?}"
            );
            let finished = events
                .iter()
                .filter(|e| matches!(e, Event::StepFinished { .. }))
                .count();
            assert_eq!(finished, report.plan.steps.len(), "{events:?}");
        }

        // Again: nothing to do, the same rows.
        let again = pier::ops::up::up(&engine, &stack, &Default::default(), &opts, &sink)
            .await
            .expect("second up succeeds");
        assert!(again.plan.is_empty(), "{}", again.plan);
        assert_eq!(again.rows.len(), 2);

        let down = pier::ops::down::down(
            &engine,
            &p.name,
            &pier::ops::down::Options {
                plan: DownOptions {
                    volumes: false,
                    timeout_secs: Some(5),
                },
                interrupt: Default::default(),
                identity: None,
                adopt: false,
                snapshot: None,
            },
            &sink,
        )
        .await
        .expect("down succeeds");
        assert_eq!(down.removed_containers(), 2);
        assert_eq!(down.removed_networks(), 1);
    });
    assert!(p.containers().is_empty(), "{:?}", p.containers());
}

/// `pier --progress json up` on a stack that triggers a load warning: every line
/// on stderr is a JSON object (the warning, the plan, the steps), and so is the
/// error of a failing `up`.
#[test]
fn up_with_progress_json_writes_only_json_objects_to_stderr() {
    let p = Project::new("jsonprogress");
    let yaml = format!(
        "name: {}\nservices:\n  app:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{}\"]\n    gpus: all\n",
        p.name,
        idle_after("")
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let out = Pier::in_dir(p.dir.path())
        .args(["--progress", "json", "up"])
        .run();
    let events = json_lines(&out.stderr);
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "warning" && e["text"].as_str().unwrap().contains("gpus")),
        "{}",
        out.stderr
    );
    assert!(
        events.iter().any(|e| e["event"] == "step_finished"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("SERVICE"), "{}", out.stdout);

    // A failing up (an unknown service): its error is JSON too, exit code 2.
    let out = Pier::in_dir(p.dir.path())
        .args(["--progress", "json", "up", "nope"])
        .status(2)
        .run();
    let events = json_lines(&out.stderr);
    assert_eq!(events.last().unwrap()["event"], "error", "{}", out.stderr);
    assert_eq!(events.last().unwrap()["exit_code"], 2, "{}", out.stderr);

    let out = Pier::in_dir(p.dir.path())
        .args(["--progress", "json", "down"])
        .run();
    json_lines(&out.stderr);
    assert!(p.containers().is_empty(), "{:?}", p.containers());
}

/// `network_mode: service:x` shares x's container's network, which the engine
/// pins by container id (`ipc: service:x` likewise): when x is recreated — by
/// this `up`, or by an earlier `up x` — the sharing container is recreated too,
/// and has a network (and x's IPC namespace) again.
#[test]
fn a_service_sharing_anothers_network_is_recreated_with_it() {
    let p = Project::new("netmode");
    let dir = p.dir.path();
    let idle = idle_after("");
    let file = |tag: &str| {
        format!(
            "name: {name}\nservices:\n  host:\n    image: {IMAGE}\n    ipc: shareable\n    command: [\"sh\", \"-c\", \"{tag}{idle}\"]\n  guest:\n    image: {IMAGE}\n    network_mode: service:host\n    ipc: service:host\n    command: [\"sh\", \"-c\", \"{idle}\"]\n",
            name = p.name
        )
    };
    let pier = || Pier::in_dir(dir).args(["--progress", "plain"]);
    let guest = p.container("guest");
    let host = p.container("host");
    // The guest's addresses are the host's, and the network mode names the host's id.
    let shares = || {
        let addresses = |c: &str| {
            docker(&[
                "exec",
                c,
                "sh",
                "-c",
                "ip -4 -o addr | grep -v ' lo ' | awk '{print $4}'",
            ])
            .unwrap_or_default()
        };
        let (g, h) = (addresses(&guest), addresses(&host));
        assert!(!h.is_empty(), "the host has a network");
        assert_eq!(g, h, "the guest shares the host's network");
        assert_eq!(
            inspect(&guest, "{{.HostConfig.NetworkMode}}"),
            format!("container:{}", inspect(&host, "{{.Id}}"))
        );
        let ipc = |c: &str| docker(&["exec", c, "readlink", "/proc/1/ns/ipc"]).unwrap();
        assert_eq!(
            ipc(&guest),
            ipc(&host),
            "the guest shares the host's IPC namespace"
        );
    };
    write(dir, "pier.yaml", &file(""));
    pier().args(["up"]).run();
    shares();
    // The host recreated by this up.
    write(dir, "pier.yaml", &file("true;"));
    let guest_recreated = "recreate container {guest} (host, whose network it shares, recreated)"
        .replace("{guest}", &guest);
    // `up` plans the guest's recreate, and afterwards it shares again.
    let up_mends_the_guest = || {
        pier()
            .args(["up", "--dry-run"])
            .stdout_contains(&guest_recreated)
            .run();
        pier().args(["up"]).run();
        shares();
    };
    up_mends_the_guest();
    // The host recreated alone; the next up mends the guest.
    write(dir, "pier.yaml", &file("true; true;"));
    pier().args(["up", "host"]).run();
    up_mends_the_guest();
}
