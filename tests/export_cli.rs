//! `pier export` through the real binary, from a stack file in a temporary
//! directory (no Docker). With Docker Compose v2 present (`PIER_COMPOSE_V2`, or
//! `.tools/compose/docker-compose` from scripts/install-compose-v2.sh) the
//! exported compose file must also pass `docker-compose config`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::Pier;

/// Long enough to be matched inside other strings too (see src/secrets.rs).
const PASSWORD: &str = "Xk3-very-secret-value";

const STACK: &str = r#"
name: shop
services:
  web:
    build: .
    ports: ["8080:80"]
    volumes:
      - ./public:/var/www/html
      - ./php.ini:/usr/local/etc/php/php.ini:ro
    environment:
      DATABASE_URL: mysql://root:${DB_PASSWORD}@db/shop
    depends_on:
      db:
        condition: service_healthy
  db:
    image: mariadb:11
    environment:
      MYSQL_ROOT_PASSWORD: ${DB_PASSWORD}
      MYSQL_DATABASE: shop
    volumes: ["db-data:/var/lib/mysql"]
    expose: ["3306"]
    restart: "no"
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping -h 127.0.0.1 -p$$MYSQL_ROOT_PASSWORD"]
      interval: 2s
      retries: 30
  phpmyadmin:
    image: phpmyadmin:5
    ports: ["8081:80"]
    depends_on: [db]
volumes:
  db-data:
"#;

/// A project directory with the stack file, `.env`, a Dockerfile and the mounted files.
pub fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("pier.yaml"), STACK).unwrap();
    std::fs::write(
        p.join(".env"),
        format!("DB_PASSWORD={PASSWORD}\nPHP_VERSION=8.3\n"),
    )
    .unwrap();
    std::fs::write(p.join("Dockerfile"), "FROM php:8.3-apache\n").unwrap();
    std::fs::write(p.join("php.ini"), "memory_limit = 256M\n").unwrap();
    std::fs::create_dir(p.join("public")).unwrap();
    dir
}

fn compose_v2() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PIER_COMPOSE_V2") {
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/compose/docker-compose");
    local.is_file().then_some(local)
}

#[test]
fn compose_export_keeps_pier_defaults_and_no_secret() {
    let dir = project();
    let out = Pier::in_dir(dir.path())
        .args(["export", "compose"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains(PASSWORD), "secret leaked:\n{text}");
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    assert_eq!(doc["name"], "shop");
    assert_eq!(doc["services"]["web"]["ports"][0]["host_ip"], "127.0.0.1");
    assert_eq!(
        doc["services"]["db"]["environment"]["MYSQL_ROOT_PASSWORD"],
        "${DB_PASSWORD:?DB_PASSWORD is not set (see .env)}"
    );
    assert_eq!(doc["services"]["db"]["restart"], "no");
    assert_eq!(doc["volumes"]["db-data"]["name"], "shop_db-data");
}

fn compose_config(compose: &Path, dir: &Path, file: &str) -> std::process::Output {
    Command::new(compose)
        .current_dir(dir)
        .args(["-f", file, "config", "--format", "json"])
        .env_remove("DB_PASSWORD")
        .output()
        .unwrap()
}

/// What compose made of a file, minus spellings without meaning (`volume: {}`).
fn meaning(output: &std::process::Output) -> Value {
    assert!(
        output.status.success(),
        "compose rejected it:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut config: Value = serde_json::from_slice(&output.stdout).unwrap();
    for service in config["services"].as_object_mut().unwrap().values_mut() {
        // `get_mut`, not indexing: `value["key"]` on a `&mut` inserts a null.
        for mount in service
            .get_mut("volumes")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if mount["volume"] == serde_json::json!({}) {
                mount.as_object_mut().unwrap().remove("volume");
            }
        }
    }
    config
}

/// Compose as the oracle: compose reading the exported file must mean what compose
/// reading the original means, except pier's deliberate default of publishing
/// ports on 127.0.0.1 (DESIGN §4), which the export writes out.
#[test]
fn compose_reads_the_export_as_it_reads_the_original() {
    let Some(compose) = compose_v2() else {
        eprintln!(
            "note: Docker Compose v2 not found (set PIER_COMPOSE_V2): skipping the compose oracle"
        );
        return;
    };
    let dir = project();
    Pier::in_dir(dir.path())
        .args(["export", "compose", "-o", "exported.yaml"])
        .assert()
        .success();
    let original = meaning(&compose_config(&compose, dir.path(), "pier.yaml"));
    let mut exported = meaning(&compose_config(&compose, dir.path(), "exported.yaml"));
    for service in exported["services"].as_object_mut().unwrap().values_mut() {
        for port in service
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let port = port.as_object_mut().unwrap();
            assert_eq!(port.remove("host_ip"), Some(Value::from("127.0.0.1")));
        }
    }
    assert_eq!(exported, original);
    // The secret came from .env, through the ${DB_PASSWORD} reference.
    assert_eq!(
        exported["services"]["db"]["environment"]["MYSQL_ROOT_PASSWORD"],
        PASSWORD
    );

    // Without the .env, compose refuses instead of starting with an empty password.
    std::fs::remove_file(dir.path().join(".env")).unwrap();
    let out = compose_config(&compose, dir.path(), "exported.yaml");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DB_PASSWORD is not set"));
}

#[test]
fn kubernetes_export_to_a_directory() {
    let dir = project();
    let out_dir = dir.path().join("k8s");
    let out = Pier::in_dir(dir.path())
        .args(["export", "kubernetes", "-o", "k8s"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("services.web.volumes[0]"),
        "bind mount warning missing:\n{stderr}"
    );
    assert!(stderr.contains("create-secrets.sh"), "{stderr}");
    let mut files: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "configmap-web-files.yaml",
            "create-secrets.sh",
            "deployment-db.yaml",
            "deployment-phpmyadmin.yaml",
            "deployment-web.yaml",
            "persistentvolumeclaim-shop-db-data.yaml",
            "service-db.yaml",
            "service-phpmyadmin.yaml",
            "service-web.yaml",
        ]
    );
    for file in &files {
        let text = std::fs::read_to_string(out_dir.join(file)).unwrap();
        assert!(!text.contains(PASSWORD), "{file} holds the secret");
    }
    let cm: Value = serde_yaml::from_str(
        &std::fs::read_to_string(out_dir.join("configmap-web-files.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(cm["data"]["php.ini"], "memory_limit = 256M\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out_dir.join("create-secrets.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111);
    }
}

#[test]
fn kubernetes_stream_on_stdout_is_the_same_objects() {
    let dir = project();
    let out = Pier::in_dir(dir.path())
        .args(["export", "kubernetes"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let kinds: Vec<String> = text
        .split("---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| {
            let v: Value = serde_yaml::from_str(d).unwrap();
            format!(
                "{}/{}",
                v["kind"].as_str().unwrap(),
                v["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ConfigMap/web-files",
            "PersistentVolumeClaim/shop-db-data",
            "Service/db",
            "Service/phpmyadmin",
            "Service/web",
            "Deployment/db",
            "Deployment/phpmyadmin",
            "Deployment/web",
        ]
    );
    // Deterministic.
    let again = Pier::in_dir(dir.path())
        .args(["export", "kubernetes"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(again.stdout).unwrap(), text);
}

#[test]
fn invalid_stack_exits_2_and_writes_nothing() {
    let dir = project();
    std::fs::write(
        dir.path().join("pier.yaml"),
        "services:\n  web:\n    image: x\n    depends_on: [nope]\n",
    )
    .unwrap();
    Pier::in_dir(dir.path())
        .args(["export", "kubernetes", "-o", "k8s"])
        .assert()
        .code(2);
    assert!(!dir.path().join("k8s").exists());
    Pier::in_dir(dir.path())
        .args(["export", "compose", "-o", "out.yaml"])
        .assert()
        .code(2);
    assert!(!dir.path().join("out.yaml").exists());
}

/// The Secret script, run for real with `sh`, against a `kubectl` stand-in that
/// records its arguments (the cluster is not what is tested here: the script's
/// shell and where it takes the values from are).
#[test]
fn secrets_script_reads_values_from_the_env_file() {
    let dir = project();
    Pier::in_dir(dir.path())
        .args(["export", "kubernetes", "-o", "k8s"])
        .assert()
        .success();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("kubectl.log");
    let kubectl = bin.join("kubectl");
    std::fs::write(
        &kubectl,
        format!("#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n", log.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = || {
        Command::new("sh")
            .arg(dir.path().join("k8s/create-secrets.sh"))
            .env("PATH", &path)
            .env_remove("DB_PASSWORD")
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains(&format!("create secret generic shop-env --from-literal=DB_PASSWORD={PASSWORD} --dry-run=client -o yaml")),
        "{calls}"
    );
    assert!(calls.contains("apply -f -"), "{calls}");

    // Without the value anywhere, the script stops before creating anything.
    std::fs::remove_file(dir.path().join(".env")).unwrap();
    std::fs::remove_file(&log).unwrap();
    let out = run();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DB_PASSWORD is not set"));
    assert!(!log.exists(), "kubectl ran without the secret");
}
