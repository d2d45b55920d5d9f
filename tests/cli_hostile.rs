//! Hostile input through the real binary (issue 15): bounded interpolation,
//! files that are not regular files, values that must not reach the engine,
//! and the exit codes and messages for bad input. No Docker: every case ends
//! before the engine (`DOCKER_HOST` points nowhere).

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::Pier;

const SIMPLE: &str = "services:\n  web:\n    image: nginx\n";

/// 12 lines, each variable the previous one ten times: 10^12 bytes if expanded.
fn env_bomb() -> String {
    let mut s = String::from("V0=xxxxxxxxxx\n");
    for i in 1..12 {
        s.push_str(&format!("V{i}={}\n", format!("${{V{}}}", i - 1).repeat(10)));
    }
    s
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// pier must finish by itself: a hang is a failure, not a stuck test run.
fn run_bounded(pier: Pier) -> std::process::Output {
    let mut child = pier.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "pier did not finish: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_unused_env_bomb_is_not_expanded() {
    Pier::new()
        .no_engine()
        .file("pier.yaml", SIMPLE)
        .file(".env", env_bomb())
        .args(["config"])
        .stdout_contains("image: nginx")
        .run();
}

#[test]
fn a_used_env_bomb_is_an_error_naming_the_variable() {
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            "services:\n  web:\n    image: nginx\n    environment: {X: \"${V11}\"}\n",
        )
        .file(".env", env_bomb())
        .args(["config"])
        .status(2)
        .stderr_contains("`V11` uses `V10`")
        .stderr_contains("uses variable `V11`")
        .stderr_contains("expands to more than")
        .run();
}

#[test]
fn an_env_file_bomb_is_an_error() {
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            "services:\n  web:\n    image: nginx\n    env_file: bomb.env\n",
        )
        .file("bomb.env", env_bomb())
        .args(["config"])
        .status(2)
        .stderr_contains("bomb.env")
        .stderr_contains("expands to more than")
        .run();
}

#[test]
fn env_file_dev_zero_is_refused() {
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            "services:\n  web:\n    image: nginx\n    env_file: /dev/zero\n",
        )
        .args(["config"])
        .status(2)
        .stderr_contains("/dev/zero")
        .stderr_contains("not a regular file")
        .run();
}

#[test]
fn fifos_do_not_hang() {
    for (name, yaml_env_file, args) in [
        ("env_file", true, vec!["config"]),
        (".env", false, vec!["config"]),
        ("--env-file", false, vec!["--env-file", "pipe", "config"]),
        ("-f", false, vec!["-f", "pipe", "config"]),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let pier = Pier::in_dir(tmp.path()).no_engine();
        let dir = tmp.path();
        let pipe = if name == ".env" {
            dir.join(".env")
        } else {
            dir.join("pipe")
        };
        mkfifo(&pipe);
        let yaml = if yaml_env_file {
            "services:\n  web:\n    image: nginx\n    env_file: pipe\n"
        } else {
            SIMPLE
        };
        let out = run_bounded(pier.file("pier.yaml", yaml).args(args));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("FIFO"), "{name}: {stderr}");
    }
}

#[test]
fn directories_are_exit_2() {
    Pier::new()
        .no_engine()
        .file("pier.yaml", SIMPLE)
        .file(".env/keep", "")
        .args(["config"])
        .status(2)
        .stderr_contains(".env")
        .stderr_contains("a directory")
        .run();
    Pier::new()
        .no_engine()
        .file("d/keep", "")
        .args(["-f", "d", "config"])
        .status(2)
        .stderr_contains("a directory")
        .run();
}

#[test]
fn a_bom_is_accepted() {
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            format!("\u{feff}{}    environment: {{A: \"${{A}}\"}}\n", SIMPLE),
        )
        .file(".env", "\u{feff}A=from-env\n")
        .args(["config"])
        .stdout_contains("A: from-env")
        .run();
}

#[test]
fn non_utf8_is_exit_2_with_line_and_column() {
    let pier = Pier::new().no_engine();
    std::fs::write(
        pier.dir().join("pier.yaml"),
        b"services:\n  web:\n    image: ngi\xffnx\n",
    )
    .unwrap();
    pier.args(["config"])
        .status(2)
        .stderr_contains("pier.yaml:3:15")
        .stderr_contains("UTF-8")
        .run();
    let pier = Pier::new().no_engine().file("pier.yaml", SIMPLE);
    std::fs::write(pier.dir().join(".env"), b"A=1\nB=\xfe\n").unwrap();
    pier.args(["config"])
        .status(2)
        .stderr_contains(".env:2:3")
        .run();
}

#[test]
fn required_but_empty_says_empty() {
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            "services:\n  web:\n    image: \"nginx:${A:?give a tag}\"\n",
        )
        .env("A", "")
        .args(["config"])
        .status(2)
        .stderr_contains("`A` is empty: give a tag")
        .run();
    Pier::new()
        .no_engine()
        .file("pier.yaml", SIMPLE)
        .file(".env", "A=\nB=${A:?need A}\n")
        .args(["config"])
        .status(2)
        .stderr_contains("`A` is empty: need A")
        .run();
}

#[test]
fn overflowing_durations_are_exit_2() {
    for cmd in [vec!["config"], vec!["up", "--dry-run"]] {
        Pier::new()
            .no_engine()
            .file(
                "pier.yaml",
                "services:\n  web:\n    image: nginx\n    healthcheck:\n      test: [CMD, \"true\"]\n      interval: 99999999999999999999h\n",
            )
            .args(cmd)
            .status(2)
            .stderr_contains("interval")
            .run();
    }
}

#[test]
fn nul_bytes_in_values_are_exit_2() {
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            "services:\n  web:\n    image: nginx\n    environment: {A: \"x\\0y\"}\n    labels: {l: \"a\\0\"}\n    command: [\"sh\", \"-c\", \"a\\0b\"]\n",
        )
        .args(["up", "--dry-run"])
        .status(2)
        .stderr_contains("environment.A")
        .stderr_contains("labels.l")
        .stderr_contains("command[2]")
        .stderr_contains("NUL")
        .run();
}

#[test]
fn a_huge_wait_timeout_is_a_usage_error() {
    Pier::new()
        .no_engine()
        .file("pier.yaml", SIMPLE)
        .args(["up", "--wait-timeout", "9223372036854775807"])
        .status(2)
        .stderr_contains("wait-timeout")
        .run();
}

#[test]
fn merge_key_errors_have_line_and_column() {
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            "x-a: &a hello\nservices:\n  web:\n    <<: *a\n    image: nginx\n",
        )
        .args(["config"])
        .status(2)
        .stderr_contains("pier.yaml:4:5")
        .stderr_contains("merge key")
        .run();
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            "x-a: &a {image: nginx}\nservices:\n  web:\n    <<: [*a, 3]\n",
        )
        .args(["config"])
        .status(2)
        .stderr_contains("pier.yaml:4:")
        .stderr_contains("merge key")
        .run();
}

#[test]
fn env_values_with_nul_bytes_are_exit_2() {
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            "services:\n  web:\n    image: nginx\n    env_file: a.env\n",
        )
        .file("a.env", "A=x\0y\n")
        .args(["config"])
        .status(2)
        .stderr_contains("NUL")
        .run();
}

/// `create-secrets.sh` reads `.env` as data: values with quotes, backticks,
/// `$(...)` and line breaks reach `kubectl` exactly as pier itself reads them,
/// and nothing in them runs.
#[test]
fn create_secrets_treats_the_env_file_as_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("pier.yaml"),
        "name: shop\nservices:\n  db:\n    image: mariadb:11\n    environment:\n      DB_PASSWORD: ${DB_PASSWORD}\n      API_TOKEN: ${API_TOKEN}\n      APP_SECRET: ${APP_SECRET}\n      MYSQL_PASSWORD: ${MYSQL_PASSWORD}\n",
    )
    .unwrap();
    let pwned = p.join("PWNED");
    std::fs::write(
        p.join(".env"),
        format!(
            "# hostile values, as data\n\
             DB_PASSWORD=\"a'b`touch {0}`$(touch {0})\\\"q\\nline2\"\n\
             API_TOKEN='single $(touch {0}) `touch {0}` \"dq\"'\n\
             export APP_SECRET=plain-$DB_PASSWORD-end # comment\n\
             MYSQL_PASSWORD=\"multi\nline ${{API_TOKEN:-nope}} \\$HOME; touch {0}\"\n",
            pwned.display()
        ),
    )
    .unwrap();
    Pier::in_dir(p)
        .no_engine()
        .args(["export", "kubernetes", "-o", "k8s"])
        .run();
    let script = std::fs::read_to_string(p.join("k8s/create-secrets.sh")).unwrap();
    assert!(
        !script.contains(". '"),
        "the script sources a file:\n{script}"
    );

    // A kubectl that records its arguments, NUL-separated, one file per call.
    let bin = p.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let calls = p.join("calls");
    std::fs::create_dir(&calls).unwrap();
    std::fs::write(
        bin.join("kubectl"),
        format!(
            "#!/bin/sh\nfor a; do printf '%s\\0' \"$a\"; done > '{}'/$$\ncat > /dev/null\n",
            calls.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("kubectl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("sh")
        .arg(p.join("k8s/create-secrets.sh"))
        .current_dir(p)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env_remove("DB_PASSWORD")
        .env_remove("API_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!pwned.exists(), "a value in .env was executed");

    let mut literals = std::collections::BTreeMap::new();
    for call in std::fs::read_dir(&calls).unwrap() {
        let args = std::fs::read(call.unwrap().path()).unwrap();
        for arg in String::from_utf8(args).unwrap().split('\0') {
            if let Some((k, v)) = arg
                .strip_prefix("--from-literal=")
                .and_then(|kv| kv.split_once('='))
            {
                literals.insert(k.to_string(), v.to_string());
            }
        }
    }
    // The oracle: the values as pier's own loader reads them.
    let config = Pier::in_dir(p)
        .no_engine()
        .args(["config", "--json", "--show-secrets"])
        .run();
    let v: serde_json::Value = serde_json::from_str(&config.stdout).unwrap();
    let env = v["services"]["db"]["environment"].as_object().unwrap();
    assert_eq!(literals.len(), 4, "{literals:?}");
    for (k, value) in &literals {
        assert_eq!(env[k].as_str(), Some(value.as_str()), "{k}");
    }
    assert!(literals["DB_PASSWORD"].contains("\nline2"));
    assert!(literals["MYSQL_PASSWORD"].contains("$HOME; touch"));
}

/// A reader that went away (`pier completions bash | head -1`): the command ends
/// quietly with 141 (128 + SIGPIPE), as other Unix tools do — no panic (101), no
/// error line. The pipe's reading end is closed before pier starts, so every
/// write fails.
#[test]
fn a_closed_pipe_ends_any_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pier.yaml"),
        "services:\n  web:\n    image: busybox\n",
    )
    .unwrap();
    for args in [&["completions", "bash"][..], &["config"], &["list"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Pier::in_dir(dir.path())
            .no_engine()
            .args(args.iter().copied())
            .command()
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(141),
            "pier {args:?} into a closed pipe: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "pier {args:?} into a closed pipe said: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
