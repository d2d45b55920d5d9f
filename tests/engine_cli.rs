//! `pier up` / `pier down` through the real binary, with stack files in temporary
//! directories, against the real engine.

mod support;

use predicates::prelude::*;
use support::*;

const IDLE: &str = "trap 'exit 0' TERM; while :; do sleep 1; done";

#[test]
fn up_dry_run_up_again_and_down_through_the_binary() {
    let p = Project::new("cli");
    let port = free_port();
    let yaml = format!(
        r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "touch /tmp/ready; {IDLE}"]
    volumes: ["data:/data"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 5m
  api:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    depends_on:
      db: {{condition: service_healthy}}
  web:
    image: {IMAGE}
    command: ["sh", "-c", "mkdir -p /www && echo hi > /www/index.html && httpd -p 80 -h /www; {IDLE}"]
    ports: ["{port}:80"]
    depends_on: [api]
volumes:
  data:
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let dir = p.dir.path();

    // Invalid input: exit 2, nothing created.
    Pier::in_dir(dir)
        .args(["up", "webb"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no service named `webb`"))
        .stderr(predicate::str::contains("did you mean `web`?"));
    assert!(p.containers().is_empty() && p.networks().is_empty() && p.volumes().is_empty());

    // Dry run: the whole plan, nothing touched.
    Pier::in_dir(dir)
        .args(["up", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "create network {}_default (not found)",
            p.name
        )))
        .stdout(predicate::str::contains(
            "wait for db: service_healthy (needed by api)",
        ));
    assert!(p.containers().is_empty() && p.networks().is_empty() && p.volumes().is_empty());

    let out = Pier::in_dir(dir)
        .args(["--progress", "plain", "up"])
        .assert()
        .success();
    let table = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(table.starts_with("SERVICE"), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("web")
            && l.contains("running")
            && l.ends_with(&format!("http://127.0.0.1:{port}"))),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("db") && l.contains("running")),
        "{table}"
    );
    assert_eq!(p.containers().len(), 3);

    Pier::in_dir(dir)
        .args(["up", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to do"));

    Pier::in_dir(dir)
        .args(["down", "-v"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "removed 3 containers and 1 network",
        ))
        .stdout(predicate::str::contains(format!(
            "removed volume {}_data",
            p.name
        )));
    assert!(p.containers().is_empty(), "{:?}", p.containers());
    assert!(p.networks().is_empty(), "{:?}", p.networks());
    assert!(p.volumes().is_empty(), "{:?}", p.volumes());

    Pier::in_dir(dir)
        .args(["down"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing to remove"));
}

#[test]
fn failed_up_exits_1_with_the_reason_and_down_cleans_up() {
    let p = Project::new("clifail");
    let yaml = format!(
        r#"name: {name}
services:
  migrate:
    image: {IMAGE}
    command: ["sh", "-c", "echo 'relation users does not exist'; exit 3"]
  app:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    depends_on:
      migrate: {{condition: service_completed_successfully}}
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let dir = p.dir.path();
    Pier::in_dir(dir).args(["up"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "error: service `migrate` (container {}) did not reach service_completed_successfully: it exited with code 3",
            p.container("migrate")
        )))
        .stderr(predicate::str::contains("| relation users does not exist"));
    assert_eq!(p.containers().len(), 2);

    Pier::in_dir(dir).args(["down"]).assert().success();
    assert!(p.containers().is_empty() && p.networks().is_empty());
}

/// `up --pull never` with an image the engine does not have: exit 1, the service
/// and image named with what to do, and nothing created (no network either).
#[test]
fn pull_never_with_a_missing_image_creates_nothing() {
    let p = Project::new("pullnever");
    let yaml = format!(
        r#"name: {name}
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
  worker:
    image: pier-test/not-built-anywhere:1
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    Pier::in_dir(p.dir.path())
        .args(["up", "--pull", "never"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "service `worker`: image pier-test/not-built-anywhere:1 is not on the engine",
        ))
        .stderr(predicate::str::contains("nothing was created"));
    assert!(p.containers().is_empty());
    assert!(p.networks().is_empty());
}

/// A secret that comes from a variable (`.env` here) is a read-only file at its
/// target in the container, as Compose does it locally; with the variable set
/// nowhere, `up` is invalid input and creates nothing.
#[test]
fn variable_backed_secrets_are_files_in_the_container() {
    let p = Project::new("envsecret");
    let yaml = format!(
        r#"name: {name}
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    secrets:
      - api_token
      - source: api_token
        target: /etc/app/token
secrets:
  api_token:
    environment: PIER_T_API_TOKEN
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let dir = p.dir.path();

    Pier::in_dir(dir)
        .args(["up"])
        .env_remove("PIER_T_API_TOKEN")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("secrets.api_token.environment"))
        .stderr(predicate::str::contains("PIER_T_API_TOKEN is not set"));
    assert!(p.containers().is_empty());
    assert!(p.networks().is_empty());

    write(dir, ".env", "PIER_T_API_TOKEN=tok-from-dotenv\n");
    Pier::in_dir(dir)
        .args(["up"])
        .env_remove("PIER_T_API_TOKEN")
        .assert()
        .success();
    let app = p.container("app");
    for path in ["/run/secrets/api_token", "/etc/app/token"] {
        assert_eq!(
            docker(&["exec", &app, "cat", path]).unwrap().trim(),
            "tok-from-dotenv"
        );
        let mode = docker(&["exec", &app, "stat", "-c", "%a", path]).unwrap();
        assert_eq!(mode.trim(), "444", "{path}");
    }
    Pier::in_dir(dir).args(["down"]).assert().success();
}
