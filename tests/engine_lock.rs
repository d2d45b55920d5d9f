//! Two `pier up` of the same project at once: the second waits for the first
//! (and says so), then finds nothing to do. One container per service, same ids.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use support::*;

const IDLE: &str = "trap 'exit 0' TERM; while :; do sleep 1; done";

/// Kills the runs still going when the test fails (Project's Drop then cleans up).
struct Reap(Vec<u32>);

impl Drop for Reap {
    fn drop(&mut self) {
        for pid in &self.0 {
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
    }
}

fn up(dir: &std::path::Path) -> Child {
    Pier::in_dir(dir)
        .args(["--progress", "plain", "up"])
        .spawn()
        .unwrap()
}

#[test]
fn a_second_up_waits_for_the_first_and_creates_nothing_twice() {
    let p = Project::new("lock");
    // `db` becomes healthy only when the test says so: the first `up` is still
    // running (holding the lock) for as long as the test needs.
    let yaml = format!(
        r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/go"]
      interval: 1s
      retries: 1000
  web:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    depends_on:
      db: {{condition: service_healthy}}
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let db = p.container("db");

    let first = up(p.dir.path());
    let mut reap = Reap(vec![first.id()]);
    poll("db to run", Duration::from_secs(60), || {
        (docker(&["inspect", "-f", "{{.State.Running}}", &db]).ok()? == "true").then_some(())
    });

    let mut second = up(p.dir.path());
    reap.0.push(second.id());
    // Read the second's stderr as it comes, to see it wait.
    let (tx, rx) = mpsc::channel();
    let stderr = second.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let waiting = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the second up says it waits");
    assert_eq!(
        waiting,
        format!(
            "waiting for another pier up of project {} (pid {})",
            p.name,
            first.id()
        )
    );
    docker(&["exec", &db, "touch", "/tmp/go"]).unwrap();
    let first_out = first.wait_with_output().unwrap();
    assert!(
        first_out.status.success(),
        "{}",
        String::from_utf8_lossy(&first_out.stderr)
    );
    let ids_after_first = p.containers();
    assert_eq!(ids_after_first.len(), 2);

    let mut second_stdout = String::new();
    second
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut second_stdout)
        .unwrap();
    let status = second.wait().unwrap();
    let second_stderr = reader.join().unwrap();
    assert!(status.success(), "{second_stderr}");
    // The second planned after the first finished: nothing left to do.
    assert!(
        !second_stderr.contains(" => "),
        "the second up ran steps:\n{second_stderr}"
    );
    // Its service table shows db as the first left it: running and healthy.
    assert!(
        second_stdout.lines().any(|l| l
            .split_whitespace()
            .take(3)
            .eq(["db", "running", "healthy"])),
        "{second_stdout}"
    );

    let mut ids = p.containers();
    ids.sort();
    let mut expected = ids_after_first;
    expected.sort();
    assert_eq!(ids, expected, "one container per service, the same ones");
}
