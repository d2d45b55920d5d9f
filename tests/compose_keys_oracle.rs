//! Compose as the oracle for the service keys pier carries into the engine's
//! create call (cap_add, ulimits, deploy.resources, configs, init, hooks, …):
//! `pier config --json` and `docker compose config --format json` must agree
//! on each of them for tests/compose/keys/compose.yaml. Runs where Compose v2
//! is installed (`.tools/compose/docker-compose` or PIER_COMPOSE_V2); without
//! it only checks that pier loads the file without a warning.
//!
//! Normalized before comparing: scalars as text (Compose prints sizes as
//! strings, pier too; counts as numbers), a config without `target` mounted at
//! `/<source>` (where both put it), Compose's empty `placement`/`resources`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value, json};
use support::Pier;

const KEYS: &[&str] = &[
    "cap_add",
    "cap_drop",
    "ulimits",
    "deploy",
    "scale",
    "configs",
    "init",
    "shm_size",
    "sysctls",
    "devices",
    "platform",
    "pull_policy",
    "post_start",
    "pre_stop",
    "read_only",
    "dns",
    "dns_search",
    "dns_opt",
    "domainname",
    "group_add",
    "security_opt",
    "pids_limit",
    "cpus",
    "cpu_shares",
    "cpuset",
    "mem_limit",
    "mem_reservation",
    "memswap_limit",
    "oom_score_adj",
    "oom_kill_disable",
    "userns_mode",
    "cgroup",
    "cgroup_parent",
    "ipc",
    "pid",
    "uts",
    "storage_opt",
    "logging",
    "runtime",
    "volumes_from",
    "links",
];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose/keys")
}

fn compose_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PIER_COMPOSE_V2") {
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/compose/docker-compose");
    local.is_file().then_some(local)
}

/// Every scalar as text, recursively; nulls and empty objects dropped.
fn text(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::String(n.to_string()),
        Value::Bool(b) => Value::String(b.to_string()),
        Value::Array(items) => items.iter().map(text).collect(),
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null() && v.as_object().is_none_or(|o| !o.is_empty()))
                .map(|(k, v)| (k.clone(), text(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn meaning(config: &Value) -> Value {
    let mut services = Map::new();
    for (name, s) in config["services"].as_object().expect("services") {
        let mut m = Map::new();
        for key in KEYS {
            let mut v = s[*key].clone();
            if *key == "configs" {
                for c in v.as_array_mut().into_iter().flatten() {
                    if c["target"].is_null() {
                        c["target"] = json!(format!("/{}", c["source"].as_str().unwrap()));
                    }
                }
            }
            if !v.is_null() {
                m.insert(key.to_string(), text(&v));
            }
        }
        m.insert(
            "healthcheck.start_interval".into(),
            s["healthcheck"]["start_interval"].clone(),
        );
        services.insert(name.clone(), Value::Object(m));
    }
    let configs: Map<String, Value> = config["configs"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, c)| {
            (
                k.clone(),
                json!([c["file"], c["content"], c["environment"]]),
            )
        })
        .collect();
    json!({ "services": services, "configs": configs })
}

#[test]
fn engine_keys_agree_with_compose() {
    let pier = Pier::in_dir(dir())
        .args(["config", "--json"])
        .stderr_lacks("warning")
        .stderr_lacks("unknown key")
        .run();
    let ours: Value = serde_json::from_str(&pier.stdout).unwrap();
    let Some(compose) = compose_bin() else {
        eprintln!("note: Docker Compose v2 not found; checked only that pier loads the file");
        return;
    };
    let out = Command::new(compose)
        .current_dir(dir())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["config", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (ours, theirs) = (meaning(&ours), meaning(&theirs));
    assert_eq!(
        serde_json::to_string_pretty(&ours).unwrap(),
        serde_json::to_string_pretty(&theirs).unwrap()
    );
}
