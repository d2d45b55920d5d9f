//! The exported manifests against the Kubernetes OpenAPI schemas, with PyPI's
//! `kubernetes-validate` (it ships the schemas, works offline):
//! `pip install kubernetes-validate`. Skipped, with a note, when the command is
//! not on PATH.

mod support;

use std::path::Path;
use std::process::Command;

use support::Pier;

const STACK: &str = r#"
name: shop
services:
  web:
    build: .
    ports: ["8080:80", "127.0.0.1:8443:443"]
    volumes:
      - ./public:/var/www/html
      - ./php.ini:/usr/local/etc/php/php.ini:ro
      - /tmp/cache
    environment:
      DATABASE_URL: mysql://root:${DB_PASSWORD}@db/shop
    depends_on:
      db:
        condition: service_healthy
      migrate:
        condition: service_completed_successfully
      cache:
        condition: service_started
    user: "33:33"
    extra_hosts: ["api.local:10.0.0.5"]
    labels:
      com.example.team: web
  cache:
    image: redis:7
  migrate:
    image: shop-migrate
    command: php migrate.php
    restart: on-failure:3
  db:
    image: mariadb:11
    environment:
      MYSQL_ROOT_PASSWORD: ${DB_PASSWORD}
    volumes: ["db-data:/var/lib/mysql"]
    expose: ["3306", "4444/udp"]
    networks:
      default:
        aliases: [mysql]
    healthcheck:
      test: ["CMD-SHELL", "mysqladmin ping -h 127.0.0.1 -p$$MYSQL_ROOT_PASSWORD"]
      interval: 2s
      timeout: 500ms
      start_period: 30s
      retries: 30
    stop_grace_period: 20s
  phpmyadmin:
    image: phpmyadmin:5
    ports: ["8081:80"]
    depends_on: [db]
    secrets: [api_key]
volumes:
  db-data:
secrets:
  api_key:
    file: ./api_key.txt
"#;

fn validator_available() -> bool {
    Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn validate(file: &Path) -> std::process::Output {
    Command::new("kubernetes-validate")
        .args(["--strict", "--quiet"])
        .arg(file)
        .output()
        .expect("kubernetes-validate runs")
}

#[test]
fn exported_manifests_validate_against_the_kubernetes_schemas() {
    if !validator_available() {
        eprintln!(
            "note: kubernetes-validate not on PATH (pip install kubernetes-validate): skipping schema validation"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(p.join("pier.yaml"), STACK).unwrap();
    std::fs::write(p.join(".env"), "DB_PASSWORD=Xk3-very-secret-value\n").unwrap();
    std::fs::write(p.join("Dockerfile"), "FROM php:8.3-apache\n").unwrap();
    std::fs::write(p.join("php.ini"), "memory_limit = 256M\n").unwrap();
    std::fs::write(p.join("api_key.txt"), "k\n").unwrap();
    std::fs::create_dir(p.join("public")).unwrap();

    let out = Pier::in_dir(p)
        .args(["export", "kubernetes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stream = p.join("all.yaml");
    std::fs::write(&stream, &out.stdout).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for kind in [
        "kind: Deployment",
        "kind: Job",
        "kind: Service",
        "kind: ConfigMap",
        "kind: PersistentVolumeClaim",
    ] {
        assert!(text.contains(kind), "no {kind} in the export:\n{text}");
    }

    let result = validate(&stream);
    assert!(
        result.status.success(),
        "kubernetes-validate rejected the export:\n{}{}\n{text}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );

    // The validator does reject a wrong field, so the check above means something.
    let broken = p.join("broken.yaml");
    std::fs::write(&broken, text.replacen("containers:", "containerz:", 1)).unwrap();
    assert!(
        !validate(&broken).status.success(),
        "kubernetes-validate accepted a misspelt field"
    );
}
