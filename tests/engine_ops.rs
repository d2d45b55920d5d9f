//! `pier ps`, `logs`, `exec` and `info` through the real binary against the real
//! engine, on a small stack in a temporary directory.

mod support;

use predicates::prelude::*;
use support::*;

const IDLE: &str = "trap 'exit 0' TERM; while :; do sleep 1; done";

/// db (healthcheck with a 5 minute interval, so only pier's own check can have
/// seen it healthy), web (published port, three log lines) and a one-shot job.
fn start_stack(p: &Project, port: u16) {
    let yaml = format!(
        r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "echo db-first; echo db-last; touch /tmp/ready; {IDLE}"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 5m
    # `pier info` lists the `.env` settings the stack uses.
    environment:
      DB_USER: ${{DB_USER}}
      DB_PASSWORD: ${{DB_PASSWORD}}
  web:
    image: {IMAGE}
    command: ["sh", "-c", "echo web-one; echo web-two; echo web-three; mkdir -p /www; httpd -p 80 -h /www; {IDLE}"]
    ports: ["{port}:80"]
    depends_on:
      db: {{condition: service_healthy}}
  job:
    image: {IMAGE}
    command: ["sh", "-c", "echo job-done"]
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    write(
        p.dir.path(),
        ".env",
        "DB_PASSWORD=s3cr3t-pw-value\nDB_USER=app\n",
    );
    Pier::in_dir(p.dir.path())
        .args(["--progress", "quiet", "up"])
        .assert()
        .success();
    // The job has run to its end (its log line is written) before the tests read it.
    poll(
        "the job to exit",
        std::time::Duration::from_secs(30),
        || (inspect(&p.container("job"), "{{.State.Status}}") == "exited").then_some(()),
    );
}

#[test]
fn ps_logs_exec_and_info_on_a_running_stack() {
    let p = Project::new("ops");
    let port = free_port();
    start_stack(&p, port);
    let dir = p.dir.path();

    // ps --json: state, health and the bound port, per service.
    let json: serde_json::Value =
        serde_json::from_str(&Pier::in_dir(dir).args(["ps", "--json"]).run().stdout).unwrap();
    let rows = json.as_array().unwrap();
    let row = |s: &str| rows.iter().find(|r| r["service"] == s).unwrap().clone();
    assert_eq!(rows.len(), 3, "{json:#}");
    let db = row("db");
    assert_eq!(db["container"], p.container("db"));
    assert_eq!(db["state"], "running");
    // The engine's check runs every 5 minutes; pier ran the test itself.
    assert_eq!(db["health"], "healthy", "{db:#}");
    assert_eq!(db["health_checked_by"], "pier", "{db:#}");
    let web = row("web");
    assert_eq!(web["state"], "running");
    assert_eq!(web["health"], serde_json::Value::Null);
    assert_eq!(
        web["ports"],
        serde_json::json!([{"host_ip": "127.0.0.1", "host_port": port, "container_port": 80, "protocol": "tcp"}])
    );
    let job = row("job");
    assert_eq!(job["state"], "exited");
    assert_eq!(job["exit_code"], 0);

    // ps as text: the same, as a table.
    let table = Pier::in_dir(dir).args(["ps"]).run().stdout;
    assert!(table.starts_with("SERVICE"), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("web")
            && l.contains("running")
            && l.ends_with(&format!("127.0.0.1:{port}->80/tcp"))),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("db") && l.contains("healthy (checked by pier)")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("job") && l.contains("exited (0)")),
        "{table}"
    );

    // logs: prefixed lines of two services, each in its own order.
    let logs = Pier::in_dir(dir).args(["logs", "db", "web"]).run().stdout;
    let lines: Vec<&str> = logs.lines().collect();
    let of = |prefix: &str| -> Vec<&str> {
        lines
            .iter()
            .copied()
            .filter(|l| l.starts_with(prefix))
            .collect()
    };
    assert_eq!(
        of("db  | "),
        vec!["db  | db-first", "db  | db-last"],
        "{logs}"
    );
    assert_eq!(
        of("web | "),
        vec!["web | web-one", "web | web-two", "web | web-three"],
        "{logs}"
    );
    assert_eq!(lines.len(), 5, "only db and web: {logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "no colour with NO_COLOR: {logs:?}"
    );
    // --tail 1: the last line of each.
    let tail = Pier::in_dir(dir).args(["logs", "--tail", "1"]).run().stdout;
    let mut tail_lines: Vec<&str> = tail.lines().collect();
    tail_lines.sort();
    assert_eq!(
        tail_lines,
        vec!["db  | db-last", "job | job-done", "web | web-three"],
        "{tail}"
    );
    Pier::in_dir(dir)
        .args(["logs", "webb"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no service named `webb`"))
        .stderr(predicate::str::contains("did you mean `web`?"));

    // exec: output captured, the command's exit code is pier's, stdin forwarded.
    Pier::in_dir(dir)
        .args([
            "exec",
            "web",
            "--",
            "sh",
            "-c",
            "echo from-$HOSTNAME; echo oops >&2; exit 3",
        ])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with("from-"))
        .stderr(predicate::str::contains("oops"));
    Pier::in_dir(dir)
        .args(["exec", "web", "--", "sh", "-c", "tr a-z A-Z"])
        .input("piped input\n")
        .assert()
        .success()
        .stdout("PIPED INPUT\n");
    // Compose's form: no `--`, the command's own flags after the service, and
    // `-e` (KEY=VALUE or the shell's KEY), `-w`, `-u` before it.
    Pier::in_dir(dir)
        .env("PIER_EXEC_FROM_SHELL", "shell-value")
        .args([
            "exec",
            "-e",
            "GREETING=hi there",
            "-e",
            "PIER_EXEC_FROM_SHELL",
            "-w",
            "/tmp",
            "-u",
            "65534:65534",
            "web",
            "sh",
            "-c",
            "echo \"$GREETING|$PIER_EXEC_FROM_SHELL|$(pwd)|$(id -u):$(id -g)\"",
        ])
        .assert()
        .success()
        .stdout("hi there|shell-value|/tmp|65534:65534\n");
    // With a terminal on stdin: a TTY in the container, the command's exit code,
    // and the local terminal out of raw mode afterwards (`script` gives pier a pty).
    let bin = assert_cmd::cargo::cargo_bin("pier");
    let text = on_a_terminal(
        dir,
        &format!(
            "{} exec web -- sh -c 'tty; exit 4'; echo exit=$?; stty -a",
            bin.display()
        ),
    );
    assert!(text.contains("/dev/pts/"), "a TTY in the container: {text}");
    assert!(text.contains("exit=4"), "{text}");
    assert!(
        is_cooked(&text),
        "the local terminal is cooked again: {text}"
    );
    Pier::in_dir(dir)
        .args(["exec", "job", "--", "true"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "service `job` is not running: its container {} is exited (0)",
            p.container("job")
        )));
    Pier::in_dir(dir)
        .args(["exec", "webb", "--", "true"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("did you mean `web`?"));

    // info: the URL of the bound port, the password masked unless asked.
    let info = Pier::in_dir(dir).args(["info"]).run().stdout;
    assert!(
        info.lines()
            .any(|l| l.starts_with("web") && l.ends_with(&format!("http://127.0.0.1:{port}"))),
        "{info}"
    );
    assert!(info.contains("DB_PASSWORD  ********"), "{info}");
    assert!(info.contains("DB_USER      app"), "{info}");
    assert!(!info.contains("s3cr3t-pw-value"), "{info}");
    let shown = Pier::in_dir(dir)
        .args(["info", "--show-secrets"])
        .run()
        .stdout;
    assert!(shown.contains("DB_PASSWORD  s3cr3t-pw-value"), "{shown}");
    let json: serde_json::Value =
        serde_json::from_str(&Pier::in_dir(dir).args(["info", "--json"]).run().stdout).unwrap();
    assert!(!json.to_string().contains("s3cr3t-pw-value"), "{json}");
    let web = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service"] == "web")
        .unwrap();
    assert_eq!(
        web["urls"],
        serde_json::json!([format!("http://127.0.0.1:{port}")])
    );
}

#[test]
fn logs_follow_ends_when_the_containers_stop() {
    let p = Project::new("opsfollow");
    let yaml = format!(
        r#"name: {name}
services:
  a:
    image: {IMAGE}
    command: ["sh", "-c", "echo a-started; {IDLE}"]
  b:
    image: {IMAGE}
    command: ["sh", "-c", "echo b-started; {IDLE}"]
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    Pier::in_dir(p.dir.path())
        .args(["--progress", "quiet", "up"])
        .assert()
        .success();

    let child = Pier::in_dir(p.dir.path())
        .args(["logs", "-f"])
        .command()
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let follower = KillOnDrop(child);
    // Output written after `logs -f` started arrives too, from both services.
    poll(
        "logs -f to attach",
        std::time::Duration::from_secs(30),
        || {
            docker(&[
                "exec",
                &p.container("a"),
                "sh",
                "-c",
                "echo a-later > /proc/1/fd/1",
            ])
            .ok()?;
            docker(&[
                "exec",
                &p.container("b"),
                "sh",
                "-c",
                "echo b-later > /proc/1/fd/1",
            ])
            .ok()
        },
    );
    docker(&["stop", "-t", "5", &p.container("a"), &p.container("b")]).unwrap();
    let output = follower.wait_with_deadline(std::time::Duration::from_secs(30));
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    for line in [
        "a | a-started",
        "b | b-started",
        "a | a-later",
        "b | b-later",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
}

/// A child process that is killed if the test fails before it ends.
struct KillOnDrop(std::process::Child);

impl KillOnDrop {
    fn wait_with_deadline(mut self, within: std::time::Duration) -> std::process::Output {
        poll("the child to exit", within, || self.0.try_wait().unwrap());
        let mut stdout = Vec::new();
        use std::io::Read;
        self.0
            .stdout
            .take()
            .unwrap()
            .read_to_end(&mut stdout)
            .unwrap();
        std::process::Output {
            status: self.0.wait().unwrap(),
            stdout,
            stderr: Vec::new(),
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
