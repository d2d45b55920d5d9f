//! `pier export compose` must write a file that docker compose *runs* with the
//! same meaning: here Compose v2 starts the exported stack on the real engine,
//! waits for the healthcheck-gated dependency, and the services reach each
//! other by name, with the port bound to 127.0.0.1 as pier would bind it.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::{IMAGE, Pier, docker, ensure_test_image, poll};

/// Compose v2: `PIER_COMPOSE_V2`, or what scripts/install-compose-v2.sh installs.
fn compose_v2() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("PIER_COMPOSE_V2") {
        return Some(PathBuf::from(path));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/compose/docker-compose");
    local.exists().then_some(local)
}

/// Removes what compose created for the project, also when the test fails.
struct ComposeProject {
    compose: PathBuf,
    file: PathBuf,
    name: String,
}

impl Drop for ComposeProject {
    fn drop(&mut self) {
        let _ = Command::new(&self.compose)
            .args(["-f", self.file.to_str().unwrap(), "down", "-v", "-t", "1"])
            .output();
        let label = format!("label=com.docker.compose.project={}", self.name);
        for id in docker(&["ps", "-aq", "--filter", &label])
            .unwrap_or_default()
            .lines()
        {
            let _ = docker(&["rm", "-f", "-v", id]);
        }
        for id in docker(&["network", "ls", "-q", "--filter", &label])
            .unwrap_or_default()
            .lines()
        {
            let _ = docker(&["network", "rm", id]);
        }
        for id in docker(&["volume", "ls", "-q", "--filter", &label])
            .unwrap_or_default()
            .lines()
        {
            let _ = docker(&["volume", "rm", "-f", id]);
        }
    }
}

#[test]
fn docker_compose_runs_the_exported_stack() {
    let Some(compose) = compose_v2() else {
        // CI installs Compose v2 (scripts/test.sh): there, its absence is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "Compose v2 is missing: run scripts/install-compose-v2.sh"
        );
        eprintln!("note: Compose v2 not found (scripts/install-compose-v2.sh); skipped");
        return;
    };
    ensure_test_image();
    let name = format!("pier-t-xcompose-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pier.yaml"),
        format!(
            r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; mkdir -p /data/www && echo db-ok > /data/www/index.html && httpd -p 80 -h /data/www && while true; do sleep 1; done"]
    volumes: ["data:/data"]
    ports: ["80"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"]
      interval: 1s
      retries: 30
  web:
    image: {IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
    depends_on:
      db:
        condition: service_healthy
volumes:
  data:
"#
        ),
    )
    .unwrap();

    let exported = dir.path().join("exported.yaml");
    let out = Pier::in_dir(dir.path())
        .args(["export", "compose", "-o", exported.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pier export compose failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let _guard = ComposeProject {
        compose: compose.clone(),
        file: exported.clone(),
        name: name.clone(),
    };
    let up = Command::new(&compose)
        .current_dir(dir.path())
        .args(["-f", exported.to_str().unwrap(), "up", "-d", "--wait"])
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "docker compose up on the exported file failed:\n{}",
        String::from_utf8_lossy(&up.stderr)
    );

    let db = format!("{name}-db-1");
    let web = format!("{name}-web-1");
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Health.Status}}", &db]).unwrap(),
        "healthy"
    );
    // The dependency reaches db by its service name, over the exported network.
    let page = poll("web reaching db by name", Duration::from_secs(30), || {
        docker(&["exec", &web, "wget", "-q", "-O-", "http://db/"]).ok()
    });
    assert_eq!(page, "db-ok");
    // pier's secure default survives the export: the port is bound to 127.0.0.1 only.
    let binding = docker(&["port", &db, "80/tcp"]).unwrap();
    assert!(
        binding.starts_with("127.0.0.1:"),
        "expected a 127.0.0.1 binding, got {binding:?}"
    );
    // The named volume keeps pier's engine name, so compose and pier share data.
    let mounts = docker(&["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", &db]).unwrap();
    assert_eq!(mounts, format!("{name}_data"));
}
