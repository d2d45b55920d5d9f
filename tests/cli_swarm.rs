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
    // Without an engine nothing can be deployed there yet: the plan is a first
    // deploy, and says why.
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "project shop: 6 steps
  1. create network shop_default (overlay) (not found)
  2. create secret shop_db_password (not found)
  3. create service shop_db (postgres:16) (not found) after 1, 2
  4. wait for service shop_db (service_healthy) (needed by web) after 3
  5. create service shop_web (nginx) (not found) after 1, 4
  6. wait for service shop_web (service_started) (ready before up returns) after 5
note: the Docker engine could not be reached: planned as a first deploy
"
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
fn dry_run_json_holds_the_service_specs_with_secret_values_masked() {
    let dir = project(&STACK.replace(
        "    image: nginx\n",
        "    image: nginx\n    environment:\n      API_TOKEN: ${API_TOKEN}\n",
    ));
    std::fs::write(dir.path().join(".env"), "API_TOKEN=tok-swarm-4711\n").unwrap();
    let out = Pier::in_dir(dir.path())
        .no_engine()
        .args(["up", "--target", "swarm", "--dry-run", "--json"])
        .stdout_lacks("tok-swarm-4711")
        .run();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let steps = json["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 6, "{json:#}");
    let web = &steps[4];
    assert_eq!(web["number"], 5);
    assert_eq!(web["text"], "create service shop_web (nginx)");
    assert_eq!(web["cause"], "not found");
    assert_eq!(web["after"], serde_json::json!([1, 4]));
    assert_eq!(web["action"]["action"], "create_service");
    let spec = &web["action"]["spec"];
    assert_eq!(spec["name"], "shop_web");
    assert_eq!(spec["replicas"], 2);
    let env = spec["env"].as_array().unwrap();
    assert_eq!(env.len(), 1, "{spec:#}");
    let env = env[0].as_str().unwrap();
    assert!(
        env.starts_with("API_TOKEN=") && env != "API_TOKEN=",
        "{env}"
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
