//! `pier export` on every built-in stack, rendered for real with `pier init`
//! (optional services switched on). No generated secret may appear in either
//! export; the Kubernetes manifests must pass `kubernetes-validate --strict`
//! and the compose file must mean to Docker Compose v2 what the stack file
//! means, when those tools are present (skipped with a note otherwise). No Docker.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::Pier;

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// (stack name, `--set` flags turning every bool on, env names of its secrets).
fn built_ins(home: &Path) -> Vec<(String, Vec<String>, Vec<String>)> {
    let out = ok(
        Pier::in_dir(home)
            .home(home)
            .args(["list", "--json"])
            .output()
            .unwrap(),
        "pier list",
    );
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|stack| {
            let params = stack["parameters"].as_array().unwrap();
            let sets = params
                .iter()
                .filter(|p| p["type"] == "bool")
                .map(|p| format!("{}=true", p["name"].as_str().unwrap()))
                .collect();
            let secrets = params
                .iter()
                .filter(|p| p["type"] == "secret")
                .filter_map(|p| p["env"].as_str().map(str::to_string))
                .collect();
            (stack["name"].as_str().unwrap().to_string(), sets, secrets)
        })
        .collect()
}

/// `KEY=value` lines of the rendered `.env` (values are bare or single-quoted).
fn dotenv(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join(".env"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
        .collect()
}

fn compose_v2() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PIER_COMPOSE_V2") {
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/compose/docker-compose");
    local.is_file().then_some(local)
}

fn kubernetes_validate() -> bool {
    Command::new("kubernetes-validate")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compose's normalized reading of `file` in `dir`, minus what carries no meaning.
fn compose_meaning(compose: &Path, dir: &Path, file: &str) -> Value {
    let out = Command::new(compose)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["-f", file, "config", "--format", "json"])
        .output()
        .unwrap();
    let out = ok(out, &format!("docker-compose config on {file}"));
    let mut config: Value = serde_json::from_slice(&out.stdout).unwrap();
    // `x-*` extension fields carry no meaning for compose (anchors are resolved).
    config
        .as_object_mut()
        .unwrap()
        .retain(|key, _| !key.starts_with("x-"));
    for service in config["services"].as_object_mut().unwrap().values_mut() {
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

#[test]
fn every_built_in_stack_exports_without_its_secrets() {
    let home = tempfile::tempdir().unwrap();
    let compose = compose_v2();
    let validate = kubernetes_validate();
    if compose.is_none() {
        eprintln!(
            "note: Docker Compose v2 not found (set PIER_COMPOSE_V2): compose comparison skipped"
        );
    }
    if !validate {
        eprintln!(
            "note: kubernetes-validate not on PATH (pip install kubernetes-validate): schema validation skipped"
        );
    }
    let stacks = built_ins(home.path());
    assert!(stacks.len() >= 3, "{stacks:?}");
    for (stack, sets, secret_names) in stacks {
        let dir = home.path().join(&stack);
        let mut init = Pier::in_dir(home.path())
            .home(home.path())
            .args(["init", &stack])
            .arg(&dir);
        for set in &sets {
            init = init.args(["--set", set]);
        }
        ok(init.output().unwrap(), &format!("pier init {stack}"));
        let env = dotenv(&dir);
        let secrets: Vec<&(String, String)> = env
            .iter()
            .filter(|(k, _)| secret_names.contains(k))
            .collect();
        assert_eq!(
            secrets.len(),
            secret_names.len(),
            "{stack}: secrets in .env: {env:?}"
        );

        let compose_text = ok(
            Pier::in_dir(&dir)
                .home(home.path())
                .args(["export", "compose", "-o", "exported.yaml"])
                .output()
                .unwrap(),
            &format!("{stack}: export compose"),
        );
        assert!(compose_text.stdout.is_empty());
        let exported = std::fs::read_to_string(dir.join("exported.yaml")).unwrap();
        let out = ok(
            Pier::in_dir(&dir)
                .home(home.path())
                .args(["export", "kubernetes"])
                .output()
                .unwrap(),
            &format!("{stack}: export kubernetes"),
        );
        let manifests = String::from_utf8(out.stdout).unwrap();
        for (name, value) in &secrets {
            assert!(
                !exported.contains(value.as_str()),
                "{stack}: {name} in the compose export"
            );
            assert!(
                !manifests.contains(value.as_str()),
                "{stack}: {name} in the manifests"
            );
        }

        if let Some(compose) = &compose {
            let original = compose_meaning(compose, &dir, "pier.yaml");
            let mut ours = compose_meaning(compose, &dir, "exported.yaml");
            for service in ours["services"].as_object_mut().unwrap().values_mut() {
                for port in service
                    .get_mut("ports")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    // pier's deliberate default (DESIGN §4), written out by the export.
                    assert_eq!(
                        port.as_object_mut().unwrap().remove("host_ip"),
                        Some(Value::from("127.0.0.1"))
                    );
                }
            }
            // The stack file may publish on an address of its own; those stay as written.
            assert_eq!(
                strip_host_ips(original),
                strip_host_ips(ours),
                "{stack}: compose reads the export differently"
            );
        }
        if validate {
            let file = dir.join("manifests.yaml");
            std::fs::write(&file, &manifests).unwrap();
            let out = Command::new("kubernetes-validate")
                .args(["--strict", "--quiet"])
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{stack}: kubernetes-validate rejected the export:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Ports without `host_ip`, for comparing files that differ only in that default.
fn strip_host_ips(mut config: Value) -> Value {
    for service in config["services"].as_object_mut().unwrap().values_mut() {
        for port in service
            .get_mut("ports")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            port.as_object_mut().unwrap().remove("host_ip");
        }
    }
    config
}
