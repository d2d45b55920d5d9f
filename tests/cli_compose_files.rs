//! Several stack files, `extends`, `include` and profiles through the real
//! binary (`pier config`), in temporary directories. No Docker.

mod support;

use serde_json::Value;
use support::Pier;

const BASE: &str = "services:
  web:
    image: nginx:1.27
    environment: {MODE: base, KEEP: '1'}
    ports: ['8080:80']
  db:
    image: postgres:16
  debug:
    image: busybox:1.36
    profiles: [debug]
    depends_on: [db]
  tools:
    image: busybox:1.36
    profiles: [tools]
";

fn config(pier: Pier) -> Value {
    let out = pier.args(["config", "--json"]).run();
    serde_json::from_str(&out.stdout).expect("config --json prints JSON")
}

fn services(v: &Value) -> Vec<String> {
    v["services"].as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_override_file_beside_the_stack_file_is_applied() {
    let v = config(Pier::new().file("compose.yaml", BASE).file(
        "compose.override.yaml",
        "services:\n  web:\n    environment: [MODE=override]\n    ports: ['8081:80']\n",
    ));
    let web = &v["services"]["web"];
    assert_eq!(web["environment"]["MODE"], "override");
    assert_eq!(web["environment"]["KEEP"], "1");
    let published: Vec<&Value> = web["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["published"])
        .collect();
    assert_eq!(published, [8080, 8081]);
    // pier.yaml takes pier.override.yaml, not Compose's override names.
    let v = config(
        Pier::new()
            .file("pier.yaml", BASE)
            .file("pier.override.yaml", "services: {web: {user: me}}\n")
            .file("compose.override.yaml", "services: {web: {user: nobody}}\n"),
    );
    assert_eq!(v["services"]["web"]["user"], "me");
}

#[test]
fn two_files_with_f_are_merged_in_order_without_the_override() {
    let v = config(
        Pier::new()
            .file("compose.yaml", BASE)
            .file(
                "compose.override.yaml",
                "services: {web: {user: override}}\n",
            )
            .file(
                "dev/dev.yaml",
                "services:\n  web:\n    command: [dev]\n    volumes: ['./src:/src']\n",
            )
            .args(["-f", "compose.yaml", "-f", "dev/dev.yaml"]),
    );
    let web = &v["services"]["web"];
    assert_eq!(web["command"], serde_json::json!(["dev"]));
    assert!(
        web["user"].is_null(),
        "the override file is not loaded with -f"
    );
    // Relative paths of a later file are the project directory's (the first file's).
    let source = web["volumes"][0]["source"].as_str().unwrap();
    assert!(
        source.ends_with("/src") && !source.contains("/dev/"),
        "{source}"
    );
}

#[test]
fn compose_file_names_the_files() {
    let v = config(
        Pier::new()
            .file("a.yaml", BASE)
            .file("b.yaml", "services: {web: {user: from-b}}\n")
            .env("COMPOSE_FILE", "a.yaml:b.yaml"),
    );
    assert_eq!(v["services"]["web"]["user"], "from-b");
    let v = config(
        Pier::new()
            .file("a.yaml", BASE)
            .file("b.yaml", "services: {web: {user: from-b}}\n")
            .env("COMPOSE_FILE", "a.yaml,b.yaml")
            .env("COMPOSE_PATH_SEPARATOR", ","),
    );
    assert_eq!(v["services"]["web"]["user"], "from-b");
}

#[test]
fn a_problem_in_a_later_file_names_that_file_and_line() {
    Pier::new()
        .file("compose.yaml", BASE)
        .file(
            "compose.override.yaml",
            "services:\n  web:\n    ports: ['8081:80', '99999:80']\n",
        )
        .args(["config"])
        .status(2)
        .stderr_contains("compose.override.yaml:3:")
        .stderr_contains("services.web.ports[2]")
        .run();
}

#[test]
fn profiles_select_services_in_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), BASE).unwrap();
    let path = dir.path();
    assert_eq!(services(&config(Pier::in_dir(path))), ["db", "web"]);
    let v = config(Pier::in_dir(path).args(["--profile", "debug"]));
    assert_eq!(services(&v), ["db", "debug", "web"]);
    assert_eq!(
        v["services"]["debug"]["profiles"],
        serde_json::json!(["debug"])
    );
    // Repeatable, and after the verb too (the flag is global).
    let v = config(Pier::in_dir(path).args(["--profile", "debug", "--profile", "tools"]));
    assert_eq!(services(&v), ["db", "debug", "tools", "web"]);
    let out = Pier::in_dir(path)
        .args(["config", "--json", "--profile", "tools"])
        .run();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(services(&v), ["db", "tools", "web"]);
    let v = config(Pier::in_dir(path).env("COMPOSE_PROFILES", "tools,debug"));
    assert_eq!(services(&v), ["db", "debug", "tools", "web"]);
    let v = config(Pier::in_dir(path).args(["--profile", "*"]));
    assert_eq!(services(&v), ["db", "debug", "tools", "web"]);
    // `graph` sees the same set.
    Pier::in_dir(path)
        .args(["graph"])
        .stdout_lacks("debug")
        .run();
    Pier::in_dir(path)
        .args(["--profile", "debug", "graph"])
        .stdout_contains("debug")
        .run();
}

#[test]
fn a_dependency_left_out_by_profiles_is_invalid_input() {
    Pier::new()
        .file(
            "compose.yaml",
            "services:\n  web:\n    image: x\n    depends_on: [tool]\n  tool:\n    image: x\n    profiles: [tools]\n",
        )
        .args(["config"])
        .status(2)
        .stderr_contains("compose.yaml:4:")
        .stderr_contains("depends on `tool`, which is not enabled")
        .stderr_contains("--profile tools")
        .run();
}

#[test]
fn an_extends_cycle_names_the_chain() {
    let out = Pier::new()
        .file(
            "compose.yaml",
            "services:\n  a:\n    extends: b\n  b:\n    extends: {service: a}\n",
        )
        .args(["config"])
        .status(2)
        .stdout("")
        .run();
    assert!(
        out.stderr.contains("compose.yaml:3:") && out.stderr.contains("extends cycle: a ("),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(") -> b ("), "{}", out.stderr);
    assert!(out.stderr.contains(") -> a ("), "{}", out.stderr);
}

#[test]
fn an_include_of_a_missing_file_names_the_file_and_line() {
    Pier::new()
        .file(
            "compose.yaml",
            "services:\n  web: {image: x}\ninclude:\n  - other/compose.yaml\n",
        )
        .args(["config"])
        .status(2)
        .stdout("")
        .stderr_contains("compose.yaml:4:")
        .stderr_contains("included file not found")
        .stderr_contains("other/compose.yaml")
        .run();
}

#[test]
fn extends_and_include_bring_their_services() {
    let v = config(
        Pier::new()
            .file(
                "compose.yaml",
                "include: [inc/compose.yaml]\nservices:\n  web:\n    extends: {file: base/common.yaml, service: app}\n    environment: [ROLE=web]\n",
            )
            .file(
                "base/common.yaml",
                "services:\n  app:\n    build: ./ctx\n    env_file: app.env\n",
            )
            .file("base/app.env", "FROM_FILE=1\n")
            .file("inc/compose.yaml", "services:\n  api:\n    image: api:${TAG}\n")
            .file("inc/.env", "TAG=included\n"),
    );
    let web = &v["services"]["web"];
    assert!(
        web["build"]["context"]
            .as_str()
            .unwrap()
            .ends_with("/base/ctx"),
        "{web}"
    );
    assert_eq!(web["environment"]["FROM_FILE"], "1");
    assert_eq!(web["environment"]["ROLE"], "web");
    assert_eq!(v["services"]["api"]["image"], "api:included");
}
