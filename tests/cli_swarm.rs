//! `--target swarm` through the real binary, without Docker: the dry run prints the
//! swarm plan, and what a swarm cannot do is invalid input (exit 2) before any
//! engine is contacted (DOCKER_HOST points nowhere, so contacting it would fail).

mod support;

use support::Pier;

const STACK: &str = r#"name: shop
services:
  db:
    image: postgres:16
    healthcheck:
      test: pg_isready
    secrets: [db_password]
  web:
    image: nginx
    ports: ["8080:80"]
    depends_on:
      db: {condition: service_healthy}
    deploy: {replicas: 2}
secrets:
  db_password:
    file: ./db_password.txt
"#;

fn project(stack: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pier.yaml"), stack).unwrap();
    std::fs::write(dir.path().join("db_password.txt"), "pw").unwrap();
    dir
}

#[test]
fn dry_run_prints_the_swarm_plan_and_warns_about_the_port() {
    let dir = project(STACK);
    let out = Pier::in_dir(dir.path())
        .no_engine()
        .args(["up", "--target", "swarm", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let secret = dir.path().join("db_password.txt");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "project shop on swarm:\n  network shop_default (overlay)\n  secret shop_db_password (from file {})\n  level 0: service shop_db (postgres:16, 1 replica, until service_healthy)\n  level 1: service shop_web (nginx, 2 replicas, until service_started) after db\n",
            secret.canonicalize().unwrap_or(secret).display()
        )
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("warning: services.web.ports[0]: on the swarm target port 8080 is reachable on every interface"),
        "{stderr}"
    );
    assert!(
        stderr.contains("with 2 replicas, host port 8080 can be bound by one task per node"),
        "{stderr}"
    );
}

#[test]
fn network_mode_is_invalid_input_on_the_swarm_target() {
    let dir = project(&STACK.replace(
        "    image: nginx\n",
        "    image: nginx\n    network_mode: host\n",
    ));
    let out = Pier::in_dir(dir.path())
        .no_engine()
        .args(["up", "--target", "swarm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("error: services.web.network_mode: `network_mode: host` is not available for swarm services"),
        "{stderr}"
    );
}

#[test]
fn build_is_refused_with_the_reason() {
    let dir = project(STACK);
    let out = Pier::in_dir(dir.path())
        .no_engine()
        .args(["up", "--target", "swarm", "--build"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("swarm services cannot build images"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn without_an_engine_ps_says_it_cannot_reach_it() {
    let dir = project(STACK);
    let out = Pier::in_dir(dir.path())
        .no_engine()
        .args(["ps", "--target", "swarm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot reach the Docker engine"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
