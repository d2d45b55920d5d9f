//! Compose as an oracle: every file of the corpus in tests/compose/ must load
//! with `pier config --json`, and where Docker Compose v2 is installed
//! (`.tools/compose/docker-compose` from scripts/install-compose-v2.sh, or the
//! path in PIER_COMPOSE_V2), both must agree on what each file means: services,
//! images, ports, volumes, environment, depends_on conditions, command and
//! entrypoint, restart, healthchecks, networks joined, working_dir, user, labels,
//! hostname, container_name, expose, secrets,
//! and the engine names of top-level networks and volumes.
//!
//! Known, deliberate differences are normalized before comparing (DESIGN §4):
//! - a port without a host address binds 127.0.0.1 in pier, every interface in Compose;
//! - a host port range for one container port is published as its first port by pier;
//! - `config` prints `$$` back as `$$` in Compose, pier prints the value the
//!   container gets (`$`);
//! - a key without a value whose variable is unset is `null` in Compose, absent in pier;
//! - pier lists `tmpfs:` mounts among the volumes;
//! - a healthcheck with timings but no `test` is ignored by pier, with a warning
//!   (the model has no "the image's test" yet).
//!
//! Every file of tests/compose/invalid/ must be rejected: exit 2, naming the
//! file and the line.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compose")
}

/// The valid corpus files, relative to the corpus directory.
fn valid_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(corpus())
        .expect("tests/compose exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") && n.as_bytes().first().is_some_and(u8::is_ascii_digit))
        .collect();
    files.sort();
    files.push("dotenv/compose.yaml".into());
    files
}

/// `-f FILE` plus `--env-file NN-feature.env` when the corpus has one (README).
fn file_args(file: &str) -> Vec<String> {
    let mut args = vec!["-f".to_string(), file.to_string()];
    let env = file.replace(".yaml", ".env");
    if corpus().join(&env).is_file() {
        args.extend(["--env-file".to_string(), env]);
    }
    args
}

/// Run in the corpus directory with an empty environment, as the README asks.
fn run(program: &Path, args: &[String]) -> std::process::Output {
    run_in(&corpus(), program, args)
}

fn run_in(dir: &Path, program: &Path, args: &[String]) -> std::process::Output {
    Command::new(program)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(
            "HOME",
            std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
        )
        .args(args)
        .output()
        .expect("the program runs")
}

fn pier_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pier"))
}

fn compose_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PIER_COMPOSE_V2") {
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/compose/docker-compose");
    local.is_file().then_some(local)
}

fn json_of(output: &std::process::Output, what: &str) -> Value {
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"))
}

/// A published port as text, whatever its JSON type.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// (target, published, protocol, host_ip), sorted.
fn ports(service: &Value, is_compose: bool) -> Value {
    let mut out: Vec<Value> = service["ports"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let mut published = text(&p["published"]);
            let mut host_ip = text(&p["host_ip"]);
            if is_compose {
                // pier's departures: 127.0.0.1 by default; the first port of a host range.
                host_ip = host_ip.or(Some("127.0.0.1".into()));
                published = published.map(|p| p.split('-').next().unwrap_or_default().to_string());
            }
            json!([
                p["target"],
                published,
                text(&p["protocol"]).unwrap_or("tcp".into()),
                host_ip
            ])
        })
        .collect();
    out.sort_by_key(|v| v.to_string());
    Value::Array(out)
}

/// (type, source, target, read_only), in order; Compose's `tmpfs:` list appended.
fn volumes(service: &Value, is_compose: bool) -> Value {
    let mut out: Vec<Value> = service["volumes"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|m| {
            json!([
                m["type"],
                m["source"],
                m["target"],
                m["read_only"].as_bool().unwrap_or(false)
            ])
        })
        .collect();
    if is_compose {
        for t in service["tmpfs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            out.push(json!(["tmpfs", null, t, false]));
        }
    }
    Value::Array(out)
}

fn environment(service: &Value, is_compose: bool) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in service["environment"].as_object().into_iter().flatten() {
        match v {
            Value::Null => {} // unset bare key: absent in pier
            Value::String(s) if is_compose => {
                out.insert(k.clone(), Value::String(s.replace("$$", "$")));
            }
            other => {
                out.insert(k.clone(), other.clone());
            }
        }
    }
    Value::Object(out)
}

fn depends_on(service: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in service["depends_on"].as_object().into_iter().flatten() {
        out.insert(
            k.clone(),
            json!([v["condition"], v["required"].as_bool().unwrap_or(true)]),
        );
    }
    Value::Object(out)
}

/// `command`/`entrypoint`; Compose prints `$$` back escaped.
fn words(v: &Value, is_compose: bool) -> Value {
    match v {
        Value::Array(items) if is_compose => items
            .iter()
            .map(|w| match w {
                Value::String(s) => Value::String(s.replace("$$", "$")),
                other => other.clone(),
            })
            .collect(),
        other => other.clone(),
    }
}

/// The healthcheck's test as a list (`disable: true` is `["NONE"]`), its retries
/// and its timings in milliseconds (Compose prints `1m0s` where pier prints `1m`).
fn healthcheck(h: &Value) -> Value {
    // Timings without a test tune the image's own check: pier warns and ignores them.
    if h.is_null() || (h["test"].is_null() && h["disable"].is_null()) {
        return Value::Null;
    }
    let test = if h["disable"].as_bool() == Some(true) {
        json!(["NONE"])
    } else {
        h["test"].clone()
    };
    let ms = |key: &str| h[key].as_str().map(millis);
    json!({
        "test": test,
        "retries": h["retries"],
        "interval": ms("interval"),
        "timeout": ms("timeout"),
        "start_period": ms("start_period"),
        "start_interval": ms("start_interval"),
    })
}

/// (source, target) of each secret a service uses; a relative target (as Compose
/// prints it) lives under /run/secrets, where pier writes it out.
fn secrets(v: &Value) -> Value {
    let list: Vec<Value> = v
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let source = s["source"].as_str().unwrap_or_default();
            let target = match s["target"].as_str() {
                Some(t) if t.starts_with('/') => t.to_string(),
                Some(t) => format!("/run/secrets/{t}"),
                None => format!("/run/secrets/{source}"),
            };
            json!([source, target])
        })
        .collect();
    Value::Array(list)
}

/// The build context and Dockerfile (Compose fills in `Dockerfile`).
fn build(b: &Value) -> Value {
    if b.is_null() {
        return Value::Null;
    }
    json!([
        b["context"],
        b["dockerfile"].as_str().unwrap_or("Dockerfile")
    ])
}

/// `develop.watch` rules; Compose prints an empty `exec: {command: null}` on
/// every rule, which means "no exec".
fn develop(d: &Value) -> Value {
    let rules: Vec<Value> = d["watch"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let exec = match &r["exec"] {
                e if e["command"].is_null() => Value::Null,
                e => json!({
                    "command": e["command"],
                    "user": e["user"],
                    "working_dir": e["working_dir"],
                    "privileged": e["privileged"].as_bool().unwrap_or(false),
                    "environment": e["environment"],
                }),
            };
            json!({
                "path": r["path"],
                "action": r["action"],
                "target": r["target"],
                "ignore": r["ignore"],
                "exec": exec,
            })
        })
        .collect();
    Value::Array(rules)
}

/// `1h0m0s`, `1m30s`, `500ms` → milliseconds.
fn millis(text: &str) -> u64 {
    let mut total = 0f64;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = if c == 'm' && chars.peek() == Some(&'s') {
            chars.next();
            1.0
        } else {
            match c {
                'h' => 3_600_000.0,
                'm' => 60_000.0,
                's' => 1_000.0,
                other => panic!("unexpected unit {other} in {text}"),
            }
        };
        total += number.parse::<f64>().unwrap() * unit;
        number.clear();
    }
    total as u64
}

fn keys(v: &Value) -> Value {
    let mut k: Vec<&String> = v
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    k.sort();
    json!(k)
}

/// What both must agree on, per service.
fn meaning(config: &Value, is_compose: bool) -> Value {
    let mut services = serde_json::Map::new();
    for (name, s) in config["services"].as_object().expect("services") {
        services.insert(
            name.clone(),
            json!({
                "image": s["image"],
                "ports": ports(s, is_compose),
                "volumes": volumes(s, is_compose),
                "environment": environment(s, is_compose),
                "depends_on": depends_on(s),
                "command": words(&s["command"], is_compose),
                "entrypoint": words(&s["entrypoint"], is_compose),
                "restart": s["restart"],
                "healthcheck": healthcheck(&s["healthcheck"]),
                "networks": keys(&s["networks"]),
                "working_dir": s["working_dir"],
                "user": s["user"],
                "labels": s["labels"],
                "hostname": s["hostname"],
                "container_name": s["container_name"],
                "expose": s["expose"],
                "secrets": secrets(&s["secrets"]),
                "build": build(&s["build"]),
                "profiles": s["profiles"],
                "develop": develop(&s["develop"]),
            }),
        );
    }
    let engine_names = |section: &str| -> Value {
        let mut out = serde_json::Map::new();
        for (k, v) in config[section].as_object().into_iter().flatten() {
            out.insert(
                k.clone(),
                json!([v["name"], v["external"].as_bool().unwrap_or(false)]),
            );
        }
        Value::Object(out)
    };
    json!({
        "name": config["name"],
        "services": services,
        "networks": engine_names("networks"),
        "volumes": engine_names("volumes"),
    })
}

/// Each place where the two meanings differ, as `file: path: pier … compose …`.
fn differences(at: &str, ours: &Value, theirs: &Value, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let (x, y) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                differences(&format!("{at}.{k}"), x, y, out);
            }
        }
        (a, b) if a != b => out.push(format!("{at}:\n  pier:    {a}\n  compose: {b}")),
        _ => {}
    }
}

#[test]
fn corpus_files_load_and_agree_with_compose() {
    let compose = compose_bin();
    if compose.is_none() {
        eprintln!(
            "note: Docker Compose v2 not found (run scripts/install-compose-v2.sh or set PIER_COMPOSE_V2); \
             checking only that pier loads the corpus"
        );
    }
    let mut disagreements = Vec::new();
    for file in valid_files() {
        let mut args = file_args(&file);
        args.extend(["config".into(), "--json".into()]);
        let pier = json_of(
            &run(&pier_bin(), &args),
            &format!("pier {}", args.join(" ")),
        );
        let Some(compose) = &compose else { continue };
        let mut args = file_args(&file);
        args.extend(["config".into(), "--format".into(), "json".into()]);
        let theirs = json_of(
            &run(compose, &args),
            &format!("docker-compose {}", args.join(" ")),
        );
        let (ours, theirs) = (meaning(&pier, false), meaning(&theirs, true));
        differences(&file, &ours, &theirs, &mut disagreements);
    }
    assert!(
        disagreements.is_empty(),
        "pier and compose disagree:\n{}",
        disagreements.join("\n")
    );
}

/// A project directory, its global arguments, its environment variables.
type Case = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

/// Projects of several files (tests/compose/projects/): each run in its
/// directory with these global arguments and environment variables.
const PROJECTS: &[Case] = &[
    // compose.override.yaml beside compose.yaml, loaded automatically.
    ("override", &[], &[]),
    // Several -f: the override is not loaded; dev/dev.yaml's paths are the project's.
    (
        "override",
        &["-f", "compose.yaml", "-f", "dev/dev.yaml"],
        &[],
    ),
    (
        "override",
        &[
            "-f",
            "compose.yaml",
            "-f",
            "compose.override.yaml",
            "-f",
            "dev/dev.yaml",
        ],
        &[],
    ),
    (
        "override",
        &[],
        &[("COMPOSE_FILE", "compose.yaml:dev/dev.yaml")],
    ),
    ("extends", &[], &[]),
    ("include", &[], &[]),
    ("profiles", &[], &[]),
    ("profiles", &["--profile", "data"], &[]),
    ("profiles", &["--profile", "debug"], &[]),
    ("profiles", &["--profile", "*"], &[]),
    ("profiles", &[], &[("COMPOSE_PROFILES", "tools,data")]),
    ("implicit", &[], &[]),
    ("develop", &[], &[]),
];

#[test]
fn projects_of_several_files_agree_with_compose() {
    let compose = compose_bin();
    let mut disagreements = Vec::new();
    for (dir, global, env) in PROJECTS {
        let dir_path = corpus().join("projects").join(dir);
        let run_here = |program: &Path, tail: &[&str]| {
            let mut cmd = Command::new(program);
            cmd.current_dir(&dir_path)
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                .env(
                    "HOME",
                    std::env::var("HOME").unwrap_or_else(|_| "/root".into()),
                )
                .envs(env.iter().copied())
                .args(global.iter().copied())
                .args(tail);
            cmd.output().expect("the program runs")
        };
        let what = format!("{dir} {} {env:?}", global.join(" "));
        let pier = json_of(
            &run_here(&pier_bin(), &["config", "--json"]),
            &format!("pier {what}"),
        );
        let Some(compose) = &compose else { continue };
        let theirs = json_of(
            &run_here(compose, &["config", "--format", "json"]),
            &format!("docker-compose {what}"),
        );
        differences(
            &what,
            &meaning(&pier, false),
            &meaning(&theirs, true),
            &mut disagreements,
        );
    }
    assert!(
        disagreements.is_empty(),
        "pier and compose disagree:\n{}",
        disagreements.join("\n")
    );
}

#[test]
fn invalid_corpus_files_are_rejected_with_file_and_line() {
    let dir = corpus().join("invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/compose/invalid exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let out = run(
            &pier_bin(),
            &["-f".into(), format!("invalid/{name}"), "config".into()],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name} must be rejected with exit 2:\n{stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{name}: nothing may be printed to stdout"
        );
        let located = format!("{name}:");
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&located) && l.contains(": error: ")),
            "{name}: the error must name the file and line:\n{stderr}"
        );
    }
}

/// Cases beyond the corpus: `.env` discovery with quotes and `export`, bare keys
/// from `.env`, optional env files, port ranges with an address, `~` and `..` in
/// binds, and a shell-split command with `$$`.
const EXTRA: &str = r#"
services:
  a:
    image: "busybox:${TAG-latest}"
    environment: [FROM_DOTENV, EXPORTED, SINGLE, UNSET_BARE]
    env_file:
      - path: ./missing.env
        required: false
      - ./opt.env
    ports:
      - "127.0.0.1:8000-8001:80-81"
      - "5000:5000/UDP"
      - {target: 22, published: 2222, host_ip: "::"}
    volumes: ["~/x:/y", "./:/src", "../up:/up:ro"]
    command: sh -c 'echo "$$HOME" && echo done'
    depends_on:
      b: {condition: service_started, required: false}
    healthcheck: {test: echo ok}
    labels: [x=1, y]
  b:
    build: {context: ., args: [A=1, B]}
    entrypoint: "/entry.sh --flag"
    restart: "on-failure:5"
"#;

#[test]
fn extra_cases_agree_with_compose() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("extra");
    std::fs::create_dir(&project).unwrap();
    std::fs::write(project.join("compose.yaml"), EXTRA).unwrap();
    std::fs::write(
        project.join(".env"),
        "FROM_DOTENV=dot\nexport EXPORTED=\"quoted value\"\nSINGLE='lit $X'\n",
    )
    .unwrap();
    std::fs::write(project.join("opt.env"), "OPT=1 # comment\n").unwrap();
    let args = |extra: &[&str]| -> Vec<String> {
        std::iter::once("config")
            .chain(extra.iter().copied())
            .map(String::from)
            .collect()
    };
    let pier = json_of(
        &run_in(&project, &pier_bin(), &args(&["--json"])),
        "pier config",
    );
    let Some(compose) = compose_bin() else { return };
    let theirs = json_of(
        &run_in(&project, &compose, &args(&["--format", "json"])),
        "docker-compose config",
    );
    let mut disagreements = Vec::new();
    differences(
        "extra",
        &meaning(&pier, false),
        &meaning(&theirs, true),
        &mut disagreements,
    );
    assert!(
        disagreements.is_empty(),
        "pier and compose disagree:\n{}",
        disagreements.join("\n")
    );
}
