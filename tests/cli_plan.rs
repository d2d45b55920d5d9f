//! `pier up --dry-run --json`: the plan as JSON through the real binary. The dry
//! run observes the engine (nothing is created), so this runs under the engine
//! tests' lock.

mod support;

use std::path::Path;

use serde_json::Value;
use support::*;

/// pier in `dir` with a secret in its environment.
fn pier(dir: &Path, args: &[&str]) -> Pier {
    Pier::in_dir(dir)
        .args(args)
        .env("API_KEY", "v4lue-never-printed")
}

#[test]
fn dry_run_json_holds_every_step_and_the_full_container_spec() {
    let p = Project::new("planjson");
    let yaml = format!(
        r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 1000"]
    volumes: ["data:/data"]
    secrets: [pw, api_key]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 5m
  web:
    image: {IMAGE}
    ports: ["18080:80"]
    depends_on:
      db: {{condition: service_healthy}}
  side:
    image: {IMAGE}
    network_mode: service:web
volumes:
  data:
secrets:
  pw: {{file: ./pw.txt}}
  api_key: {{environment: API_KEY}}
"#,
        name = p.name
    );
    let dir = p.dir.path();
    write(dir, "pier.yaml", &yaml);
    write(dir, "pw.txt", "s3cret");

    let text = pier(dir, &["up", "--dry-run"]).run().stdout;
    let json = pier(dir, &["up", "--dry-run", "--json"]).run().stdout;
    let plan: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(
        p.containers().is_empty() && p.networks().is_empty() && p.volumes().is_empty(),
        "a dry run creates nothing"
    );
    assert!(!json.contains("v4lue-never-printed"), "{json}");
    assert!(!json.contains("s3cret"), "{json}");

    assert_eq!(plan["project"], p.name.as_str());
    let steps = plan["steps"].as_array().unwrap();
    // The same steps as the text, numbered the same, with the same causes and order.
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(steps.len(), lines.len(), "{text}\n{json}");
    for (i, (step, line)) in steps.iter().zip(&lines).enumerate() {
        assert_eq!(step["number"], i + 1);
        let mut expected = format!(
            "{:>3}. {} ({})",
            i + 1,
            step["text"].as_str().unwrap(),
            step["cause"].as_str().unwrap()
        );
        let after: Vec<String> = step["after"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.to_string())
            .collect();
        if !after.is_empty() {
            expected.push_str(&format!(" after {}", after.join(", ")));
        }
        assert_eq!(&expected, line);
    }

    let find = |action: &str, container: &str| {
        steps
            .iter()
            .find(|s| {
                s["action"]["action"] == action && s["text"].as_str().unwrap().ends_with(container)
            })
            .unwrap_or_else(|| panic!("no {action} of {container} in {json}"))
    };
    let db = &find("create_container", &p.container("db"))["action"];
    assert_eq!(db["service"], "db");
    let spec = &db["spec"];
    assert_eq!(spec["name"], p.container("db").as_str());
    assert_eq!(spec["image"], IMAGE);
    assert_eq!(spec["labels"]["io.pier.project"], p.name.as_str());
    assert_eq!(spec["labels"]["io.pier.service"], "db");
    assert_eq!(
        spec["labels"]["io.pier.config-hash"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(spec["mounts"][0]["type"], "volume");
    assert_eq!(spec["mounts"][0]["source"], format!("{}_data", p.name));
    assert_eq!(spec["mounts"][1]["type"], "bind");
    assert_eq!(
        spec["mounts"][1]["source"],
        dir.canonicalize().unwrap().join("pw.txt").to_str().unwrap()
    );
    assert_eq!(spec["mounts"][1]["read_only"], true);
    assert_eq!(
        spec["secrets"],
        serde_json::json!([{"key": "api_key", "target": "/run/secrets/api_key"}])
    );
    assert_eq!(
        spec["healthcheck"]["test"],
        serde_json::json!(["CMD-SHELL", "test -f /tmp/ready"])
    );
    assert_eq!(
        spec["networks"],
        serde_json::json!([{"name": format!("{}_default", p.name), "aliases": ["db"]}])
    );

    let web = &find("create_container", &p.container("web"))["action"]["spec"];
    assert_eq!(
        web["ports"],
        serde_json::json!([{"host_ip": "127.0.0.1", "host_port": 18080, "target": 80, "protocol": "tcp"}])
    );
    assert_eq!(web["labels"]["io.pier.depends-on"], "db");

    let side = &find("create_container", &p.container("side"))["action"]["spec"];
    assert_eq!(
        side["network_mode"],
        format!("container:{}", p.container("web"))
    );

    let wait = find("wait_for", "service_healthy");
    assert_eq!(wait["action"]["condition"], "service_healthy");
    assert_eq!(
        wait["action"]["probe"],
        serde_json::json!(["/bin/sh", "-c", "test -f /tmp/ready"])
    );
}

#[test]
fn json_without_dry_run_is_invalid_input() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pier.yaml",
        "name: pier-t-planjson-usage\nservices:\n  a:\n    image: busybox\n",
    );
    pier(dir.path(), &["up", "--json"]).status(2).run();
}
