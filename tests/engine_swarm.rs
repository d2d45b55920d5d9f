//! `pier up|ps|down --target swarm` through the real binary on a single-node swarm.
//!
//! The engine is shared with the other engine tests, which use plain containers and
//! bridge networks meanwhile (swarm mode does not change those). The swarm guard
//! initialises a swarm on 127.0.0.1 only when the engine is not in one, and then
//! leaves it again, also when the test fails; a swarm that was already there is
//! used as it is and left alone. A lock file keeps two runs of this test (in two
//! processes) from initialising and leaving under each other.

mod support;

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::*;

const LOCK: &str = "/tmp/pier-engine-swarm-test.lock";

/// Holds the engine in swarm mode for one test; leaves the swarm on drop if it joined it.
struct Swarm {
    _lock: File,
    initialised: bool,
    /// `swarm init` creates the `docker_gwbridge` network; removed again on leave when
    /// it was not there before.
    had_gwbridge: bool,
}

/// The engine's swarm state: `active true` for a manager, `inactive false` for none.
fn swarm_state() -> String {
    docker(&[
        "info",
        "--format",
        "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}",
    ])
    .unwrap()
}

impl Swarm {
    /// Wait for the lock: no other run of this test joins or leaves meanwhile.
    fn lock() -> File {
        let lock = File::create(LOCK).unwrap();
        lock.lock().expect("locking the swarm test lock file");
        lock
    }

    /// Make the engine a manager unless it is one already.
    fn join(lock: File) -> Swarm {
        match swarm_state().as_str() {
            "active true" => Swarm {
                _lock: lock,
                initialised: false,
                had_gwbridge: true,
            },
            "inactive false" => {
                let had_gwbridge = docker(&["network", "inspect", "docker_gwbridge"]).is_ok();
                // The guard exists before init, so that a half-done init is left too.
                let guard = Swarm {
                    _lock: lock,
                    initialised: true,
                    had_gwbridge,
                };
                docker(&["swarm", "init", "--advertise-addr", "127.0.0.1"])
                    .unwrap_or_else(|e| panic!("docker swarm init: {e}"));
                guard
            }
            other => panic!(
                "the engine's swarm state is `{other}`: this test needs a manager or no swarm"
            ),
        }
    }
}

impl Drop for Swarm {
    fn drop(&mut self) {
        if self.initialised {
            let _ = docker(&["swarm", "leave", "--force"]);
            if !self.had_gwbridge {
                let _ = docker(&["network", "rm", "docker_gwbridge"]);
            }
        }
    }
}

/// The test's project on the swarm: dropping it removes its services and secrets
/// (then `Project` removes its networks and volumes), also when the test panicked.
struct SwarmProject {
    p: Project,
}

impl Drop for SwarmProject {
    fn drop(&mut self) {
        let label = self.p.label();
        let ids = |what: &str| -> Vec<String> {
            docker(&[what, "ls", "-q", "--filter", &label])
                .map(|out| out.lines().map(String::from).collect())
                .unwrap_or_default()
        };
        let services: Vec<String> =
            docker(&["service", "ls", "--filter", &label, "--format", "{{.Name}}"])
                .map(|out| out.lines().map(String::from).collect())
                .unwrap_or_default();
        for name in &services {
            let _ = docker(&["service", "rm", name]);
        }
        // Until the task containers are gone, the volumes and networks are in use.
        for name in &services {
            let filter = format!("label=com.docker.swarm.service.name={name}");
            for _ in 0..600 {
                match docker(&["ps", "-aq", "--filter", &filter]) {
                    Ok(out) if !out.is_empty() => std::thread::sleep(Duration::from_millis(100)),
                    _ => break,
                }
            }
        }
        for id in ids("secret") {
            let _ = docker(&["secret", "rm", &id]);
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A plain HTTP GET of `path` from `127.0.0.1:port`; the body.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

/// The container of `service`'s running task `slot` on this node.
fn task_container(project: &str, service: &str, slot: u32) -> String {
    let filter = format!("label=com.docker.swarm.service.name={project}_{service}");
    let prefix = format!("{project}_{service}.{slot}.");
    let out = docker(&["ps", "--filter", &filter, "--format", "{{.ID}} {{.Names}}"]).unwrap();
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(_, name)| name.starts_with(&prefix))
        .map(|(id, _)| id.to_string())
        .unwrap_or_else(|| panic!("no running container for {service}.{slot} in:\n{out}"))
}

const IDLE: &str = "trap 'exit 0' TERM; while :; do sleep 1; done";

#[test]
fn a_three_service_stack_converges_on_a_swarm_and_down_keeps_only_the_volume() {
    ensure_test_image();
    let lock = Swarm::lock();
    let project = Project::new("swarm");
    let p = &project;
    let dir = p.dir.path();
    write(dir, "token.txt", "s3cret-from-a-file");
    let yaml = format!(
        r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 1; echo kept > /data/marker; touch /tmp/ready; {IDLE}"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 1s
      retries: 60
  api:
    image: {IMAGE}
    command: ["sh", "-c", "mkdir -p /www && cat /run/secrets/token > /www/index.html && httpd -f -p 8080 -h /www"]
    secrets: [token]
    ports: ["8080"]
    depends_on:
      db: {{condition: service_healthy}}
  web:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    depends_on: [api]
    deploy: {{replicas: 2}}
volumes:
  data:
secrets:
  token:
    file: ./token.txt
"#,
        name = p.name
    );
    write(dir, "pier.yaml", &yaml);

    if swarm_state() == "inactive false" {
        // Not a manager (yet): the clear error, exit 1, before anything is created.
        let out = Pier::in_dir(dir)
            .args(["up", "--target", "swarm"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("docker swarm init --advertise-addr 127.0.0.1"),
            "{}",
            text(&out.stderr)
        );
    }
    let _swarm = Swarm::join(lock);
    // Declared after the swarm guard, so dropped (cleaned up) before it leaves.
    let sp = SwarmProject { p: project };
    let p = &sp.p;
    let dir = p.dir.path();

    let out = Pier::in_dir(dir)
        .args(["up", "--target", "swarm", "--progress", "plain"])
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "up failed:\n{stderr}\n{stdout}");
    // Created in dependency order, each waited for before the next.
    let order: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix(" ok "))
        .filter(|l| l.starts_with("create service") || l.starts_with("wait for service"))
        .collect();
    let n = &p.name;
    assert_eq!(
        order,
        [
            format!("create service {n}_db ({IMAGE})"),
            format!("wait for service {n}_db (service_healthy)"),
            format!("create service {n}_api ({IMAGE})"),
            format!("wait for service {n}_api (service_started)"),
            format!("create service {n}_web ({IMAGE})"),
            format!("wait for service {n}_web (service_started)"),
        ],
        "{stderr}"
    );
    assert!(stdout.contains("web      2/2 running"), "{stdout}");

    // The engine agrees: three labelled services, with their replicas.
    let services = docker(&[
        "service",
        "ls",
        "--filter",
        &p.label(),
        "--format",
        "{{.Name}} {{.Replicas}}",
    ])
    .unwrap();
    let mut services: Vec<&str> = services.lines().collect();
    services.sort();
    assert_eq!(
        services,
        [
            format!("{n}_api 1/1"),
            format!("{n}_db 1/1"),
            format!("{n}_web 2/2")
        ]
    );
    // api started only once db was healthy (db's marker is written just before).
    let db = task_container(n, "db", 1);
    let api = task_container(n, "api", 1);
    assert!(
        started_at(&db) < started_at(&api),
        "api must start after db"
    );
    assert_eq!(
        docker(&["exec", &db, "cat", "/data/marker"]).unwrap(),
        "kept"
    );

    // Neighbours by service name, over the overlay network; the secret from its file.
    let web = task_container(n, "web", 2);
    assert_eq!(
        docker(&["exec", &web, "wget", "-qO-", "http://api:8080/index.html"]).unwrap(),
        "s3cret-from-a-file"
    );
    docker(&["exec", &web, "ping", "-c1", "-W2", "db"]).expect("web reaches db by name");
    // The published port (engine-chosen) as `up` printed it.
    let port: u16 = stdout
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no URL for api in:\n{stdout}"));
    let body = poll("api's published port", Duration::from_secs(30), || {
        http_get(port, "/index.html")
    });
    assert_eq!(body, "s3cret-from-a-file");

    // ps shows every task and its state.
    let out = Pier::in_dir(dir)
        .args(["ps", "--target", "swarm"])
        .output()
        .unwrap();
    let ps = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for (service, task, state) in [
        ("api", "api.1", "running"),
        ("db", "db.1", "running (healthy)"),
        ("web", "web.1", "running"),
        ("web", "web.2", "running"),
    ] {
        assert!(
            ps.lines().any(|l| {
                let cols: Vec<&str> = l
                    .split("  ")
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .collect();
                cols.first() == Some(&service)
                    && cols.get(1) == Some(&format!("{n}_{task}").as_str())
                    && cols.contains(&state)
            }),
            "no `{task} {state}` in:\n{ps}"
        );
    }

    let out = Pier::in_dir(dir)
        .args(["ps", "--target", "swarm", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("ps --json is JSON");
    let running: Vec<String> = json
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["tasks"].as_array().unwrap())
        .filter(|t| t["state"] == "running")
        .map(|t| format!("{}.{}", t["service"].as_str().unwrap(), t["slot"]))
        .collect();
    assert_eq!(
        running,
        [
            format!("{n}_api.1"),
            format!("{n}_db.1"),
            format!("{n}_web.1"),
            format!("{n}_web.2")
        ]
    );

    // A second up changes nothing.
    let out = Pier::in_dir(dir)
        .args(["up", "--target", "swarm", "--progress", "plain"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("create ") && !stderr.contains("update "),
        "a second up must not create or update anything:\n{stderr}"
    );

    // down removes services, networks and secrets; the volume stays.
    let out = Pier::in_dir(dir)
        .args(["down", "--target", "swarm"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("removed 3 services, 1 network and 1 secret of project {n}\n")
    );
    for what in ["service", "secret", "network"] {
        assert_eq!(
            docker(&[what, "ls", "-q", "--filter", &p.label()]).unwrap(),
            "",
            "{what}s left"
        );
    }
    assert_eq!(
        docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=com.docker.swarm.service.name={n}_db")
        ])
        .unwrap(),
        "",
        "task containers left"
    );
    assert_eq!(p.volumes(), vec![format!("{n}_data")], "the volume is kept");
}

#[test]
fn up_fails_with_the_swarm_s_reason_and_an_unbuilt_image_creates_nothing() {
    ensure_test_image();
    let lock = Swarm::lock();
    let project = Project::new("swarmfail");
    let _swarm = Swarm::join(lock);
    let sp = SwarmProject { p: project };
    let p = &sp.p;
    let dir = p.dir.path();
    write(dir, "app/Dockerfile", "FROM scratch\n");

    // A `build:` service whose image was never built: refused before anything exists.
    write(
        dir,
        "pier.yaml",
        &format!("name: {}\nservices:\n  app:\n    build: ./app\n", p.name),
    );
    let out = Pier::in_dir(dir)
        .args(["up", "--target", "swarm"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("docker build -t {}-app", p.name)),
        "{stderr}"
    );
    for what in ["service", "network"] {
        assert_eq!(
            docker(&[what, "ls", "-q", "--filter", &p.label()]).unwrap(),
            "",
            "nothing may be created: {what}"
        );
    }

    // An image no node has: the task is rejected, and up says so at once.
    write(
        dir,
        "pier.yaml",
        &format!(
            "name: {}\nservices:\n  db:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{IDLE}\"]\n  app:\n    image: pier-test/none-such:1\n    depends_on: [db]\n",
            p.name
        ),
    );
    let out = Pier::in_dir(dir)
        .args(["up", "--target", "swarm", "--wait-timeout", "600"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("did not reach service_started: task ")
            && stderr.contains("No such image: pier-test/none-such:1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`pier down --target swarm` removes what was created"),
        "{stderr}"
    );

    let out = Pier::in_dir(dir)
        .args(["down", "--target", "swarm"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        docker(&["service", "ls", "-q", "--filter", &p.label()]).unwrap(),
        ""
    );
}

/// `up --target swarm --dry-run` plans against what the swarm has: unchanged after
/// an `up`, an update naming `environment` once a value changed, unchanged again
/// once `up` applied it.
#[test]
fn a_dry_run_against_a_deployed_stack_says_unchanged_and_names_a_changed_field() {
    ensure_test_image();
    let lock = Swarm::lock();
    let project = Project::new("swarmplan");
    let _swarm = Swarm::join(lock);
    let sp = SwarmProject { p: project };
    let p = &sp.p;
    let dir = p.dir.path();
    let n = &p.name;
    let stack = |greeting: &str| {
        format!(
            "name: {n}\nservices:\n  app:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{IDLE}\"]\n    environment: {{GREETING: {greeting}}}\n"
        )
    };
    let up = |args: &[&str]| {
        let mut all = vec!["up", "--target", "swarm"];
        all.extend_from_slice(args);
        let out = Pier::in_dir(dir).args(&all).output().unwrap();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(
            out.status.success(),
            "pier {}:\n{stderr}\n{stdout}",
            all.join(" ")
        );
        stdout
    };

    write(dir, "pier.yaml", &stack("hello"));
    assert_eq!(
        up(&["--dry-run"]),
        format!(
            "project {n}: 3 steps\n  1. create network {n}_default (overlay) (not found)\n  2. create service {n}_app ({IMAGE}) (not found) after 1\n  3. wait for service {n}_app (service_started) (ready before up returns) after 2\n"
        )
    );
    up(&[]);
    assert_eq!(
        up(&["--dry-run"]),
        format!("project {n}: nothing to do\nunchanged: app\n")
    );

    write(dir, "pier.yaml", &stack("bonjour"));
    assert_eq!(
        up(&["--dry-run"]),
        format!(
            "project {n}: 2 steps\n  1. update service {n}_app (config changed: environment)\n  2. wait for service {n}_app (service_started) (ready before up returns) after 1\n"
        )
    );
    up(&["--progress", "plain"]);
    assert_eq!(
        docker(&[
            "service",
            "inspect",
            "--format",
            "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
            &format!("{n}_app"),
        ])
        .unwrap(),
        r#"["GREETING=bonjour"]"#,
        "the update reached the service"
    );
    assert_eq!(
        up(&["--dry-run"]),
        format!("project {n}: nothing to do\nunchanged: app\n")
    );
}
