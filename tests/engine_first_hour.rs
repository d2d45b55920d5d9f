//! A newcomer's first hour (issue 16): two stacks initialised in a row run side by
//! side; a port another project holds is named with its container, project,
//! `.env` variable and a free port; an image that cannot be pulled leaves
//! nothing behind; django builds once; `pier doctor`. Real engine, through the
//! real binary, each test with its own project names, cleaned up also on failure.
//! Run under the engine tests' lock:
//! `flock /tmp/pier-engine-tests.lock cargo test --locked --test engine_first_hour`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

/// The stand-ins of lamp's images (no registry here; see tests/e2e_stacks.rs).
const LAMP_IMAGES: [&str; 3] = [
    "php_image=pier-standin/php",
    "mariadb_image=pier-standin/mariadb",
    "phpmyadmin_image=pier-standin/phpmyadmin",
];

/// A project directory made by `pier init`, taken down (with its volumes and the
/// image `up` built for it) when dropped.
struct Initialised {
    name: String,
    dir: PathBuf,
}

impl Initialised {
    fn new(
        parent: &Path,
        home: &Path,
        stack: &str,
        tag: &str,
        sets: &[&str],
    ) -> (Initialised, String) {
        let name = format!("pier-fh-{tag}-{}", std::process::id());
        let mut args = vec!["init".to_string(), stack.to_string(), name.clone()];
        for set in sets {
            args.extend(["--set".to_string(), set.to_string()]);
        }
        let out = Pier::in_dir(parent).home(home).args(&args).run();
        (
            Initialised {
                dir: parent.join(&name),
                name,
            },
            out.stdout,
        )
    }

    fn env(&self, key: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join(".env")).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in .env:\n{text}"))
            .to_string()
    }
}

impl Drop for Initialised {
    fn drop(&mut self) {
        let _ = Pier::in_dir(&self.dir)
            .args(["--progress", "quiet", "down", "-v", "--timeout", "2"])
            .output();
        let label = format!("label=io.pier.project={}", self.name);
        for (list, rm) in [
            (&["ps", "-aq"][..], &["rm", "-f", "-v"][..]),
            (&["network", "ls", "-q"][..], &["network", "rm"][..]),
            (&["volume", "ls", "-q"][..], &["volume", "rm", "-f"][..]),
        ] {
            let ids = docker(&[list, &["--filter", &label]].concat()).unwrap_or_default();
            for id in ids.lines().filter(|l| !l.is_empty()) {
                let _ = docker(&[rm, &[id]].concat());
            }
        }
        for service in ["web", "migrate", "app"] {
            let _ = docker(&["rmi", "-f", &format!("{}-{service}", self.name)]);
        }
    }
}

fn standins() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/build-standins.sh");
        let out = Command::new(script)
            .output()
            .expect("scripts/build-standins.sh runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// GET `url` until it answers 200; the body.
fn page(url: &str) -> String {
    poll(&format!("200 from {url}"), Duration::from_secs(120), || {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "20", "-w", "\n%{http_code}", url])
            .output()
            .expect("curl (apt-get install curl)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n')?;
        (code.trim() == "200").then(|| body.to_string())
    })
}

#[test]
fn two_lamps_initialised_in_a_row_get_their_own_ports_and_run_side_by_side() {
    standins();
    let parent = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (a, a_out) = Initialised::new(parent.path(), home.path(), "lamp", "a", &LAMP_IMAGES);
    let (b, b_out) = Initialised::new(parent.path(), home.path(), "lamp", "b", &LAMP_IMAGES);
    let (dotnet, _) = Initialised::new(
        parent.path(),
        home.path(),
        "dotnet",
        "n",
        &["sdk_image=pier-standin/dotnet-sdk"],
    );
    // Nothing was set, yet no two projects share a host port.
    let mut ports = vec![
        a.env("WEB_PORT"),
        a.env("PHPMYADMIN_PORT"),
        b.env("WEB_PORT"),
        b.env("PHPMYADMIN_PORT"),
    ];
    let dotnet_ports: Vec<String> = std::fs::read_to_string(dotnet.dir.join(".env"))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.ends_with("_PORT"))
        .map(|(_, v)| v.to_string())
        .collect();
    assert!(!dotnet_ports.is_empty());
    ports.extend(dotnet_ports);
    let mut unique = ports.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ports.len(), "ports: {ports:?}");
    // init says which ports it chose.
    assert!(
        a_out.contains(&format!("WEB_PORT={}", a.env("WEB_PORT"))),
        "{a_out}"
    );
    assert!(
        b_out.contains(&format!("WEB_PORT={}", b.env("WEB_PORT"))),
        "{b_out}"
    );

    // Both `up` at the same time.
    let up = |site: &Initialised| {
        Pier::in_dir(&site.dir)
            .args(["--progress", "plain", "up", "--wait-timeout", "600"])
            .spawn()
            .unwrap()
    };
    let (ua, ub) = (up(&a), up(&b));
    for (site, child) in [(&a, ua), (&b, ub)] {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "up of {} failed:\n{}",
            site.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for site in [&a, &b] {
        let body = page(&format!("http://127.0.0.1:{}/", site.env("WEB_PORT")));
        assert!(
            body.contains("Connected to database"),
            "{}: {body}",
            site.name
        );
    }
}

/// A service publishing `${WEB_PORT}` of `.env`.
fn port_stack(name: &str) -> String {
    format!(
        "name: {name}\nservices:\n  web:\n    image: {IMAGE}\n    command: [\"sleep\", \"1000\"]\n    ports: [\"${{WEB_PORT}}:80\"]\n"
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_port_held_by_another_projects_container_names_it_the_env_variable_and_a_free_port() {
    let a = Project::new("holder");
    let b = Project::new("blocked");
    let port = free_port();
    let env = format!("WEB_PORT={port}\n");
    write(a.dir.path(), "pier.yaml", &port_stack(&a.name));
    write(a.dir.path(), ".env", &env);
    write(b.dir.path(), "pier.yaml", &port_stack(&b.name));
    write(b.dir.path(), ".env", &env);
    Pier::in_dir(a.dir.path())
        .args(["--progress", "quiet", "up"])
        .run();
    let out = Pier::in_dir(b.dir.path())
        .args(["--progress", "quiet", "up"])
        .status(1)
        .stderr_contains(format!(
            "host port 127.0.0.1:{port}/tcp of service `web` is already in use by container {} of pier project {} ({})",
            a.container("web"),
            a.name,
            a.dir.path().display()
        ))
        .stderr_contains(format!(
            "the port is WEB_PORT in {}",
            b.dir.path().join(".env").display()
        ))
        .stderr_contains("hint: set WEB_PORT=")
        // Its containers carry their directory (`io.pier.project.working_dir`).
        .stderr_contains(format!(
            "or stop the other project (`cd {} && pier down`)",
            a.dir.path().display()
        ))
        .run();
    // The suggested port is a number above the busy one, and free.
    let suggested: u16 = out
        .stderr
        .split("set WEB_PORT=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a port number:\n{}", out.stderr));
    assert!(suggested > port);
    assert!(std::net::TcpListener::bind(("127.0.0.1", suggested)).is_ok());
    assert!(b.containers().is_empty() && b.networks().is_empty());
}

#[test]
fn an_image_that_cannot_be_pulled_leaves_nothing_and_names_the_cancelled_steps() {
    let p = Project::new("nopull");
    // A registry address where nothing listens: the pull fails at once.
    let yaml = format!(
        "name: {}\nservices:\n  db:\n    image: 127.0.0.1:1/pier-nope/db:1\n    volumes: [\"data:/data\"]\n  web:\n    image: {IMAGE}\n    command: [\"sleep\", \"1000\"]\n    depends_on: [db]\nvolumes:\n  data:\n",
        p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let out = Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "up"])
        .status(1)
        .stderr_contains("pulling image 127.0.0.1:1/pier-nope/db:1")
        .stderr_contains(format!(" -- create network {}_default: cancelled", p.name))
        .stderr_contains(format!(" -- create volume {}_data: cancelled", p.name))
        .stderr_contains(format!(
            " -- create container {}: cancelled",
            p.container("web")
        ))
        .run();
    assert!(!out.stderr.contains(" ok create"), "{}", out.stderr);
    assert!(p.containers().is_empty(), "containers left");
    assert!(p.networks().is_empty(), "networks left");
    assert!(p.volumes().is_empty(), "volumes left");
}

#[test]
fn a_fresh_django_project_plans_exactly_one_build() {
    let parent = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (site, _) = Initialised::new(parent.path(), home.path(), "django", "dj", &[]);
    let out = Pier::in_dir(&site.dir).args(["up", "--dry-run"]).run();
    let builds: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("build image"))
        .collect();
    assert_eq!(builds.len(), 1, "{}", out.stdout);
    assert!(
        builds[0].contains(&format!(
            "build image {0}-migrate for migrate, tag {0}-web for web",
            site.name
        )),
        "{}",
        out.stdout
    );
    // Both containers wait for that one step.
    let number = builds[0].trim_start().split('.').next().unwrap();
    for service in ["migrate", "web"] {
        let create = out
            .stdout
            .lines()
            .find(|l| l.contains(&format!("create container {}-{service}-1", site.name)))
            .unwrap();
        let after = create.rsplit("after ").next().unwrap();
        assert!(
            after.split(", ").any(|n| n == number),
            "{create}\n{}",
            out.stdout
        );
    }
}

#[test]
fn doctor_passes_on_a_healthy_engine() {
    let dir = tempfile::tempdir().unwrap();
    let out = Pier::in_dir(dir.path())
        .args(["doctor"])
        .stdout_contains("ok    engine          Docker ")
        .stdout_contains("skip  stack file")
        .stdout_contains("ready: no check failed")
        .run();
    assert!(!out.stdout.contains("FAIL"), "{}", out.stdout);
    let json = Pier::in_dir(dir.path()).args(["doctor", "--json"]).run();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["ok"], true);
    let names: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in [
        "engine",
        "storage driver",
        "disk",
        "clock",
        "inotify",
        ".env",
        "stack file",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    assert!(
        v["engine"]["api_version"]
            .as_str()
            .unwrap()
            .starts_with("1.")
    );
}

#[test]
fn doctor_fails_with_the_fix_when_the_engine_cannot_be_reached() {
    let out = Pier::new()
        .no_engine()
        .args(["doctor"])
        .status(1)
        .stdout_contains("FAIL  engine")
        .stdout_contains("fix: start Docker")
        .stdout_contains("skip  ports           the engine cannot be reached")
        .run();
    assert!(out.stdout.contains(NO_ENGINE), "{}", out.stdout);
}

#[test]
fn doctor_names_a_taken_port_of_the_stack_with_its_holder_and_fix() {
    let p = Project::new("doctorport");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    write(p.dir.path(), "pier.yaml", &port_stack(&p.name));
    write(p.dir.path(), ".env", &format!("WEB_PORT={port}\n"));
    std::fs::set_permissions(
        p.dir.path().join(".env"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    Pier::in_dir(p.dir.path())
        .args(["doctor"])
        .status(1)
        .stdout_contains("ok    stack file")
        .stdout_contains(format!(
            "FAIL  ports           host port 127.0.0.1:{port}/tcp of service `web` is already in use by process {}",
            std::process::id()
        ))
        .stdout_contains("fix: set WEB_PORT=")
        .stdout_contains("1 check failed")
        .run();
    drop(listener);
    assert!(p.containers().is_empty());
}

#[test]
fn logs_of_several_services_are_in_time_order_and_timestamps_shows_the_times() {
    let p = Project::new("logorder");
    // a and b take turns through files in a shared volume: a1, b2, a3, b4.
    let turn = |me: &str, lines: [(&str, &str, &str); 2]| {
        let script: String = lines
            .iter()
            .map(|(wait, say, done)| {
                let wait = if wait.is_empty() {
                    String::new()
                } else {
                    format!("until [ -f /s/{wait} ]; do sleep 0.05; done; ")
                };
                format!("{wait}echo {me}-{say}; touch /s/{done}; ")
            })
            .collect();
        format!("{script}sleep 1000")
    };
    let yaml = format!(
        "name: {}\nservices:\n  a:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{}\"]\n    volumes: [\"s:/s\"]\n  b:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{}\"]\n    volumes: [\"s:/s\"]\nvolumes:\n  s:\n",
        p.name,
        turn("a", [("", "1", "1"), ("2", "3", "3")]),
        turn("b", [("1", "2", "2"), ("3", "4", "4")]),
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    Pier::in_dir(p.dir.path())
        .args(["--progress", "quiet", "up"])
        .run();
    let said = |out: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.split('|').nth(1))
            .map(|l| l.trim().to_string())
            .collect()
    };
    let mut last = Vec::new();
    poll("all four lines", Duration::from_secs(30), || {
        let out = Pier::in_dir(p.dir.path()).args(["logs"]).run();
        last = said(&out.stdout);
        (last.len() == 4).then_some(())
    });
    assert_eq!(last, ["a-1", "b-2", "a-3", "b-4"]);
    let out = Pier::in_dir(p.dir.path())
        .args(["logs", "--timestamps"])
        .run();
    let stamped = said(&out.stdout);
    assert_eq!(stamped.len(), 4, "{}", out.stdout);
    for line in &stamped {
        let (ts, _) = line.split_once(' ').unwrap();
        assert!(pier::clock::unix_seconds(ts).is_some(), "{line}");
    }
}

#[test]
fn info_shows_only_the_variables_the_stack_uses() {
    let p = Project::new("infoused");
    write(
        p.dir.path(),
        "pier.yaml",
        &format!(
            "name: {}\nservices:\n  web:\n    image: {IMAGE}\n    command: [\"sleep\", \"1000\"]\n    environment:\n      USER_NAME: ${{DB_USER}}\n",
            p.name
        ),
    );
    // Like lamp's with the editor off: the `.env` holds parameters nothing uses.
    write(
        p.dir.path(),
        ".env",
        "DB_USER=app\nEDITOR_PORT=8082\nEDITOR_PASSWORD=hunter2hunter2\n",
    );
    let out = Pier::in_dir(p.dir.path()).args(["info"]).run();
    assert!(out.stdout.contains("DB_USER"), "{}", out.stdout);
    assert!(!out.stdout.contains("EDITOR_PORT"), "{}", out.stdout);
    assert!(!out.stdout.contains("EDITOR_PASSWORD"), "{}", out.stdout);
}
