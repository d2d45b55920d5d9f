//! No output of pier prints a secret value unless asked with `--show-secrets`
//! (issue 11): secrets named `DB_PWD`, `API_TOKEN`, `SECRET_KEY` and `X_AUTH` in
//! `.env`, used by a service's environment, stay out of `config` (YAML and JSON),
//! `export compose`, `export kubernetes`, `info`, `ps --json`, `up` in every
//! progress mode, and a failing `up` whose service echoes them. The engine parts
//! use the busybox test image (tests/support) and their own project names; run
//! under the engine-test lock.

mod support;

use std::path::Path;
use std::process::Output;

use support::*;

/// Long enough (8+ characters) to be found inside other strings, as generated secrets are.
const SECRETS: &[(&str, &str)] = &[
    ("DB_PWD", "pwd-Qx7r-2f9c-value"),
    ("API_TOKEN", "tok-Lm3v-8k1z-value"),
    ("SECRET_KEY", "key-Hb5n-4w6p-value"),
    ("X_AUTH", "auth-Zt2y-7d3e-value"),
];

const MASK: &str = "********";

fn dotenv() -> String {
    let mut text: String = SECRETS.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    text.push_str("APP_MODE=dev\n");
    text
}

/// The service's environment, each secret on its own and one inside a URL.
const ENVIRONMENT: &str = r#"    environment:
      DB_PWD: ${DB_PWD}
      API_TOKEN: ${API_TOKEN}
      SECRET_KEY: ${SECRET_KEY}
      X_AUTH: ${X_AUTH}
      DATABASE_URL: postgres://app:${DB_PWD}@db/app
      APP_MODE: ${APP_MODE}
"#;

/// A shell line that prints every secret variable (`$$`: the container's shell
/// expands it, not the loader).
const ECHO: &str =
    "echo pwd=$$DB_PWD token=$$API_TOKEN key=$$SECRET_KEY auth=$$X_AUTH url=$$DATABASE_URL";

fn stack_file(name: &str, script: &str) -> String {
    format!(
        "name: {name}\nservices:\n  app:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{script}\"]\n{ENVIRONMENT}"
    )
}

/// `app` waits for `job` to complete successfully; `job` echoes the secrets and
/// fails, so `up` fails whenever it looks, quoting `job`'s last log lines.
fn failing_stack_file(name: &str) -> String {
    format!(
        "{}    depends_on:\n      job: {{condition: service_completed_successfully}}\n  job:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{ECHO}; exit 1\"]\n{ENVIRONMENT}",
        stack_file(name, &idle_after(""))
    )
}

/// pier in `dir`, to the end. The builder's environment is hermetic: the
/// secrets come from `.env` only.
fn run(dir: &Path, args: &[&str]) -> Output {
    Pier::in_dir(dir).args(args).output().expect("pier runs")
}

fn text(out: &Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `out` succeeded (or not, as `success` says) and holds no secret value.
fn assert_hidden(what: &str, out: &Output, success: bool) -> String {
    let all = text(out);
    assert_eq!(
        out.status.success(),
        success,
        "{what}: exit {:?}\n{all}",
        out.status.code()
    );
    for (name, value) in SECRETS {
        assert!(
            !all.contains(value),
            "{what} prints the value of {name}:\n{all}"
        );
    }
    all
}

fn assert_shown(what: &str, out: &Output) {
    let all = text(out);
    assert!(out.status.success(), "{what}\n{all}");
    for (name, value) in SECRETS {
        assert!(all.contains(value), "{what} does not show {name}:\n{all}");
    }
}

#[test]
fn config_and_exports_hide_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    write(dir, ".env", &dotenv());
    write(dir, "pier.yaml", &stack_file("secrets-offline", "true"));

    let yaml = assert_hidden("config", &run(dir, &["config"]), true);
    assert!(yaml.contains(&format!("DB_PWD: \"{MASK}\"")), "{yaml}");
    assert!(
        yaml.contains(&format!("postgres://app:{MASK}@db/app")),
        "{yaml}"
    );
    assert!(yaml.contains("APP_MODE: dev"), "{yaml}");
    assert!(
        yaml.contains(
            "note: the values of API_TOKEN, DB_PWD, SECRET_KEY, X_AUTH are shown as ********"
        ),
        "{yaml}"
    );
    let out = run(dir, &["config", "--json"]);
    assert_hidden("config --json", &out, true);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let env = &json["services"]["app"]["environment"];
    for (name, _) in SECRETS {
        assert_eq!(env[name], MASK, "{json}");
    }

    let out = run(dir, &["export", "compose"]);
    let compose = assert_hidden("export compose", &out, true);
    assert!(
        compose.contains("(variables: API_TOKEN, DB_PWD, SECRET_KEY, X_AUTH)"),
        "{compose}"
    );
    assert!(
        compose.contains(r#"X_AUTH: "${X_AUTH:?X_AUTH is not set (see .env)}""#),
        "{compose}"
    );
    assert_hidden(
        "export kubernetes",
        &run(dir, &["export", "kubernetes"]),
        true,
    );
    let k8s = tempfile::tempdir().unwrap();
    let k8s_dir = k8s.path().join("out");
    assert_hidden(
        "export kubernetes -o",
        &run(
            dir,
            &["export", "kubernetes", "-o", k8s_dir.to_str().unwrap()],
        ),
        true,
    );
    for entry in std::fs::read_dir(&k8s_dir).unwrap() {
        let path = entry.unwrap().path();
        let content = std::fs::read_to_string(&path).unwrap();
        for (name, value) in SECRETS {
            assert!(
                !content.contains(value),
                "{} holds {name}:\n{content}",
                path.display()
            );
        }
    }

    // Asked for: shown.
    assert_shown(
        "config --show-secrets",
        &run(dir, &["config", "--show-secrets"]),
    );
    assert_shown(
        "config --json --show-secrets",
        &run(dir, &["config", "--json", "--show-secrets"]),
    );
}

/// `pier down -v` for a project directory when dropped, also after a failed
/// assertion (the `Project` guard then removes whatever is left by label).
struct Down<'a>(&'a Path);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = run(self.0, &["down", "-v"]);
    }
}

#[test]
fn up_ps_and_info_hide_secrets_in_every_progress_mode() {
    let p = Project::new("secrets");
    let dir = p.dir.path();
    write(dir, ".env", &dotenv());
    write(dir, "pier.yaml", &stack_file(&p.name, &idle_after("")));
    let _down = Down(dir);

    // The dry run's JSON holds every create step's full container spec, its
    // environment included.
    let plan = assert_hidden(
        "up --dry-run --json",
        &run(dir, &["up", "--dry-run", "--json"]),
        true,
    );
    assert!(plan.contains("\"DB_PWD\""), "{plan}");
    assert!(plan.contains(MASK), "{plan}");

    for mode in ["plain", "json", "quiet", "tty"] {
        let what = format!("up --progress {mode}");
        let out = run(dir, &["--progress", mode, "up"]);
        let all = assert_hidden(&what, &out, true);
        assert!(all.contains("app"), "{what}: no service table\n{all}");

        let ps = run(dir, &["ps", "--json"]);
        assert_hidden("ps --json", &ps, true);
        let rows: serde_json::Value = serde_json::from_slice(&ps.stdout).unwrap();
        assert_eq!(rows[0]["service"], "app", "{rows}");

        let info = assert_hidden("info", &run(dir, &["info"]), true);
        for (name, _) in SECRETS {
            assert!(
                info.lines()
                    .any(|l| l.starts_with(name) && l.ends_with(MASK)),
                "{name} is not masked in info:\n{info}"
            );
        }
        assert_hidden("info --json", &run(dir, &["info", "--json"]), true);

        // Down again, so that the next mode's `up` creates and starts (more events).
        let down = run(dir, &["--progress", mode, "down", "-v"]);
        assert_hidden(&format!("down --progress {mode}"), &down, true);
    }

    Pier::in_dir(dir).args(["--progress", "quiet", "up"]).run();
    assert_shown(
        "info --show-secrets",
        &run(dir, &["info", "--show-secrets"]),
    );
}

#[test]
fn a_failing_up_that_echoes_its_secrets_hides_them() {
    let p = Project::new("secrets-fail");
    let dir = p.dir.path();
    write(dir, ".env", &dotenv());
    write(dir, "pier.yaml", &failing_stack_file(&p.name));
    let _down = Down(dir);

    for mode in ["plain", "json", "quiet", "tty"] {
        let what = format!("failing up --progress {mode}");
        let out = run(dir, &["--progress", mode, "up", "--wait-timeout", "60"]);
        let all = assert_hidden(&what, &out, false);
        // The error quotes the log line, with the values masked: the test sees
        // what pier would have leaked.
        assert!(
            all.contains(&format!("token={MASK}")) && all.contains(&format!("auth={MASK}")),
            "{what}: the log line is not quoted\n{all}"
        );
        if mode == "json" {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr
                    .lines()
                    .any(|l| l.contains("\"step_failed\"") && l.contains(MASK)),
                "{what}: no masked step_failed event\n{all}"
            );
        }
        let down = run(dir, &["down", "-v"]);
        assert_hidden("down", &down, true);
    }
}
