//! `pier config` and `pier graph` through the real binary, in temporary
//! directories, with a controlled environment. No Docker.

mod support;

use std::path::Path;

use predicates::prelude::*;
use support::{Pier, json_lines};
use tempfile::TempDir;

/// A project directory holding `pier.yaml` with `text`.
fn project(text: &str) -> TempDir {
    let dir = tempfile::Builder::new().prefix("shop").tempdir().unwrap();
    std::fs::write(dir.path().join("pier.yaml"), text).unwrap();
    dir
}

const GOOD: &str = r#"name: shop
x-common: &common
  restart: unless-stopped
services:
  web:
    <<: *common
    image: "nginx:${NGINX_TAG:-1.27}"
    ports: ["8080:80", "0.0.0.0:8443:443"]
    depends_on:
      db: {condition: service_healthy}
    environment: [MODE=dev]
  db:
    image: mariadb:11
    volumes: [data:/var/lib/mysql]
    healthcheck:
      test: ["CMD", "healthcheck.sh", "--connect"]
      interval: 1m30s
volumes:
  data:
"#;

#[test]
fn config_prints_the_normalized_stack() {
    let dir = project(GOOD);
    let out = Pier::in_dir(dir.path())
        .args(["config"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let expected = "\
name: shop
services:
  db:
    image: mariadb:11
    volumes:
      - type: volume
        source: data
        target: /var/lib/mysql
    healthcheck:
      test:
        - CMD
        - healthcheck.sh
        - --connect
      interval: \"1m30s\"
    networks:
      default: null
  web:
    image: nginx:1.27
    environment:
      MODE: dev
    ports:
      - target: 80
        published: 8080
        host_ip: \"127.0.0.1\"
        protocol: tcp
      - target: 443
        published: 8443
        host_ip: \"0.0.0.0\"
        protocol: tcp
    depends_on:
      db:
        condition: service_healthy
        required: true
    restart: unless-stopped
    networks:
      default: null
networks:
  default:
    name: shop_default
volumes:
  data:
    name: shop_data
";
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn config_json_and_variables_from_the_shell_and_dotenv() {
    let dir = project(GOOD);
    std::fs::write(dir.path().join(".env"), "NGINX_TAG=from-dotenv\n").unwrap();
    let out = Pier::in_dir(dir.path())
        .args(["config", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["services"]["web"]["image"], "nginx:from-dotenv");
    assert_eq!(v["services"]["web"]["ports"][0]["host_ip"], "127.0.0.1");

    let out = Pier::in_dir(dir.path())
        .args(["config", "--json"])
        .env("NGINX_TAG", "from-shell")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["services"]["web"]["image"], "nginx:from-shell");
}

#[test]
fn project_name_flag_and_env_file_flag() {
    let dir = project("services:\n  web: {image: \"nginx:${TAG}\"}\n");
    std::fs::write(dir.path().join("vars.env"), "TAG=custom\n").unwrap();
    Pier::in_dir(dir.path())
        .args(["-p", "other", "--env-file", "vars.env", "config"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("name: other\n"))
        .stdout(predicate::str::contains("image: nginx:custom"))
        .stdout(predicate::str::contains("name: other_default"));
    Pier::in_dir(dir.path())
        .args(["-p", "Not Valid", "config"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid project name \"Not Valid\"",
        ));
}

#[test]
fn env_file_problems_are_invalid_input() {
    let dir = project("services:\n  web: {image: \"nginx:${TAG}\"}\n");
    Pier::in_dir(dir.path())
        .args(["--env-file", "nope.env", "config"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "nope.env: error: env file not found",
        ));
    std::fs::write(dir.path().join(".env"), "TAG=1\nnot a line\n").unwrap();
    Pier::in_dir(dir.path())
        .args(["config"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            ".env:2:1: error: invalid line `not a line`: expected KEY=value",
        ));
}

#[test]
fn warnings_go_to_stderr_and_output_stays_clean() {
    let dir = project(
        "services:\n  web:\n    image: x\n    gpus: all\n    environment: {A: \"${UNSET}\"}\n",
    );
    Pier::in_dir(dir.path())
        .args(["config", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("{"))
        .stderr(predicate::str::contains(
            "pier.yaml:4:5: warning: services.web.gpus: `gpus` is not supported",
        ))
        .stderr(predicate::str::contains(
            "pier.yaml:5:19: warning: services.web.environment.A: variable `UNSET` is not set",
        ));
}

#[test]
fn dependency_cycle_is_named() {
    let dir = project(
        "services:\n  c: {image: x, depends_on: [a]}\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [c]}\n",
    );
    Pier::in_dir(dir.path())
        .args(["config"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "pier.yaml:3:17: error: services.a.depends_on: dependency cycle: a -> b -> c -> a",
        ));
    Pier::in_dir(dir.path())
        .args(["graph"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("a -> b -> c -> a"));
}

#[test]
fn unknown_dependency_suggests_the_close_name() {
    let dir = project(
        "services:\n  web:\n    image: x\n    depends_on:\n      - databse\n  database: {image: y}\n",
    );
    Pier::in_dir(dir.path())
        .args(["config"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "pier.yaml:5:9: error: services.web.depends_on[0]: unknown service `databse`",
        ))
        .stderr(predicate::str::contains("hint: did you mean `database`?"));
}

#[test]
fn malformed_yaml_names_its_line() {
    let dir = project("services:\n  web:\n    image: x\n   ports: [\"80\"]\n");
    Pier::in_dir(dir.path())
        .args(["config"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("pier.yaml:4:").and(predicate::str::contains("invalid YAML")),
        );
}

#[test]
fn wrong_types_are_named_with_their_path() {
    let dir = project("services:\n  web:\n    image: x\n    ports: yes\n");
    Pier::in_dir(dir.path()).args(["config"]).assert().code(2).stderr(predicate::str::contains(
        "pier.yaml:4:5: error: services.web.ports: expected a list of ports, found the string \"yes\"",
    ));
    let dir = project("services: []\n");
    Pier::in_dir(dir.path())
        .args(["config"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: services: expected a mapping of service names to services, found a list",
        ));
}

#[test]
fn duplicate_host_port() {
    let dir = project(
        "services:\n  a: {image: x, ports: [\"8080:80\"]}\n  b:\n    image: y\n    ports: [\"8080:81\"]\n",
    );
    Pier::in_dir(dir.path()).args(["config"]).assert().code(2).stderr(predicate::str::contains(
        "pier.yaml:5:5: error: services.b.ports: host port 127.0.0.1:8080/tcp is already published by service `a`",
    ));
}

#[test]
fn missing_required_variable() {
    let dir = project(
        "services:\n  db:\n    image: x\n    environment:\n      PASSWORD: ${DB_PASSWORD:?run pier init first}\n",
    );
    Pier::in_dir(dir.path()).args(["config"]).assert().code(2).stderr(predicate::str::contains(
        "pier.yaml:5:7: error: services.db.environment.PASSWORD: required variable `DB_PASSWORD` is not set: run pier init first",
    ));
    // A secret is masked unless asked for.
    Pier::in_dir(dir.path()).args(["config"])
        .env("DB_PASSWORD", "s3cret")
        .assert()
        .success()
        .stdout(predicate::str::contains("PASSWORD: \"********\""))
        .stdout(predicate::str::contains("s3cret").not())
        .stderr(predicate::str::contains(
            "note: the values of DB_PASSWORD are shown as ********; pass --show-secrets to print them",
        ));
    Pier::in_dir(dir.path())
        .args(["config", "--show-secrets"])
        .env("DB_PASSWORD", "s3cret")
        .assert()
        .success()
        .stdout(predicate::str::contains("PASSWORD: s3cret"));
}

#[test]
fn every_problem_is_reported_at_once_in_order() {
    let dir = project(
        "services:\n  web:\n    image: x\n    ports: [\"99999:80\"]\n    depends_on: [dbb]\n    restart: sometimes\n  db: {build: ., healthcheck: {test: [CMD, x], interval: soon}}\n",
    );
    let out = Pier::in_dir(dir.path())
        .args(["config"])
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].contains("pier.yaml:4:") && lines[0].contains("ports[0]"));
    assert!(lines[1].contains("pier.yaml:5:") && lines[1].contains("dbb"));
    assert!(lines[2].contains("pier.yaml:6:") && lines[2].contains("restart"));
    assert!(lines[3].contains("pier.yaml:7:") && lines[3].contains("invalid duration \"soon\""));
    assert!(text.contains("4 problems found"));
}

#[test]
fn no_stack_file() {
    let dir = tempfile::tempdir().unwrap();
    Pier::in_dir(dir.path())
        .args(["config"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("no stack file").and(predicate::str::contains("pier.yaml")),
        );
    Pier::in_dir(dir.path())
        .args(["-f", "missing.yaml", "config"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.yaml"));
}

#[test]
fn compose_file_names_are_found() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("docker-compose.yml"),
        "services:\n  web: {image: x}\n",
    )
    .unwrap();
    Pier::in_dir(dir.path())
        .args(["-p", "t", "config"])
        .assert()
        .success()
        .stdout(predicate::str::contains("image: x"));
}

#[test]
fn graph_formats() {
    let dir = project(GOOD);
    Pier::in_dir(dir.path())
        .args(["graph"])
        .assert()
        .success()
        .stdout("start levels:\n  0: db\n  1: web\ndependencies:\n  web -> db (service_healthy)\n");
    Pier::in_dir(dir.path())
        .args(["graph", "--format", "dot"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "\"web\" -> \"db\" [label=\"service_healthy\"];",
        ));
    Pier::in_dir(dir.path())
        .args(["graph", "--format", "mermaid"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("flowchart BT\n"));
}

/// The normalized form of a realistic stack, whole (corpus path replaced so the
/// snapshot does not depend on where the repository is checked out).
#[test]
fn config_of_the_lamp_corpus_file() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose");
    let out = Pier::in_dir(&corpus)
        .args(["-f", "23-lamp.yaml", "config"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out)
        .unwrap()
        .replace(&corpus.display().to_string(), "@CORPUS@");
    insta::assert_snapshot!(text);
}

/// The harness itself: files written first, expectations checked, and a wrong
/// exit code is a failure that shows both streams.
#[test]
fn the_pier_builder_writes_files_and_checks_expectations() {
    let out = Pier::new()
        .file(
            "pier.yaml",
            "services:\n  web: {image: \"nginx:${TAG:-1}\"}\n",
        )
        .env("TAG", "2")
        .args(["-p", "t", "config"])
        .stdout_contains("image: nginx:2")
        .stderr_lacks("error")
        .run();
    assert_eq!(out.code, 0);
    assert!(out.dir.join("pier.yaml").is_file());
    let out = Pier::new()
        .arg("config")
        .status(2)
        .stderr_contains("no stack file")
        .run();
    assert!(out.stdout.is_empty(), "{}", out.stdout);
}

#[test]
#[should_panic(expected = "expected exit code 0")]
fn the_pier_builder_fails_on_an_unexpected_exit_code() {
    Pier::new().arg("config").run();
}

#[test]
fn progress_json_makes_every_line_on_stderr_json_warnings_notes_and_the_error() {
    let dir = project(
        "services:\n  web:\n    image: x\n    gpus: all\n    environment: {DB_PASSWORD: \"${DB_PASSWORD}\"}\n",
    );
    let out = Pier::in_dir(dir.path())
        .env("DB_PASSWORD", "s3cret-value")
        .args(["--progress", "json", "config"])
        .stdout_contains("DB_PASSWORD: \"********\"")
        .run();
    let events = json_lines(&out.stderr);
    assert!(
        events.iter().any(|e| e["event"] == "warning"
            && e["text"]
                .as_str()
                .unwrap()
                .contains("pier.yaml:4:5: warning: services.web.gpus: `gpus` is not supported")),
        "{}",
        out.stderr
    );
    assert!(
        events.iter().any(|e| e["event"] == "note"
            && e["text"]
                .as_str()
                .unwrap()
                .starts_with("the values of DB_PASSWORD are shown as ********")),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("s3cret-value"), "{}", out.stderr);

    // Plain text keeps today's wording; quiet keeps the warning and drops the note.
    Pier::in_dir(dir.path())
        .env("DB_PASSWORD", "s3cret-value")
        .args(["--progress", "quiet", "config"])
        .stderr_contains("warning: services.web.gpus")
        .stderr_lacks("note:")
        .run();

    // A failing command: the error is the last JSON object, the exit code kept.
    let bad = project("services:\n  web: {image: x, depends_on: [nope]}\n");
    let out = Pier::in_dir(bad.path())
        .args(["--progress", "json", "config"])
        .status(2)
        .run();
    let events = json_lines(&out.stderr);
    let last = events.last().expect("the error");
    assert_eq!(last["event"], "error", "{}", out.stderr);
    assert_eq!(last["exit_code"], 2, "{}", out.stderr);
    assert!(
        last["message"].as_str().unwrap().contains("nope"),
        "{}",
        out.stderr
    );
}
