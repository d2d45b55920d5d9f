//! Ctrl-C during `pier up`, for real: the binary gets SIGINT while it waits for a
//! health check that never passes, exits 130, names what it left, and `pier down`
//! then removes all of it.

mod support;

use std::io::Read;
use std::time::Duration;

use support::*;

const IDLE: &str = "trap 'exit 0' TERM; while :; do sleep 1; done";

#[test]
fn ctrl_c_during_up_exits_130_and_names_what_was_left() {
    let p = Project::new("sigint");
    // `db` runs but never becomes healthy; `web` waits for it, so `up` waits forever
    // (well, for --wait-timeout) until interrupted.
    let yaml = format!(
        r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/never"]
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
    let mut child = Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "up", "--wait-timeout", "300"])
        .spawn()
        .unwrap();
    // Kill the child if the test fails before it ends (Project's Drop then cleans up).
    struct Reap(u32);
    impl Drop for Reap {
        fn drop(&mut self) {
            unsafe { libc::kill(self.0 as i32, libc::SIGKILL) };
        }
    }
    let _reap = Reap(child.id());

    let db = p.container("db");
    poll("db to run", Duration::from_secs(60), || {
        (docker(&["inspect", "-f", "{{.State.Running}}", &db]).ok()? == "true").then_some(())
    });
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let status = poll("pier up to exit", Duration::from_secs(60), || {
        child.try_wait().unwrap()
    });
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "stderr:\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "interrupted: `pier up` of project {} stopped part-way",
            p.name
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("container {db} (running)")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("network {}_default", p.name)),
        "{stderr}"
    );
    assert!(stderr.contains("hint: `pier down`"), "{stderr}");
    // Nothing new started after the interrupt: web (created early, since only its
    // start waits for db) was never started, and the message says so.
    let web = p.container("web");
    if docker(&["inspect", &web]).is_ok() {
        assert_eq!(inspect(&web, "{{.State.Status}}"), "created");
        assert!(
            stderr.contains(&format!("container {web} (created)")),
            "{stderr}"
        );
    }

    let down = Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "down"])
        .output()
        .unwrap();
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(p.containers().is_empty(), "containers left after down");
    assert!(p.networks().is_empty(), "networks left after down");
}

#[test]
fn ctrl_c_during_down_lets_the_stop_finish_and_names_what_was_left() {
    let p = Project::new("sigintdown");
    // `slow` ignores SIGTERM: stopping it takes the whole --timeout, so the
    // interrupt surely lands while the stop is in flight.
    let yaml = format!(
        r#"name: {name}
services:
  slow:
    image: {IMAGE}
    command: ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let up = Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "up"])
        .output()
        .unwrap();
    assert!(
        up.status.success(),
        "{}",
        String::from_utf8_lossy(&up.stderr)
    );

    let mut child = Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "down", "--timeout", "8"])
        .spawn()
        .unwrap();
    struct Reap(u32);
    impl Drop for Reap {
        fn drop(&mut self) {
            unsafe { libc::kill(self.0 as i32, libc::SIGKILL) };
        }
    }
    let _reap = Reap(child.id());
    let slow = p.container("slow");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let mut stderr = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        stderr.push_str(&line);
        stderr.push('\n');
        if line == format!(" => stop container {slow}") {
            break;
        }
    }
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    for line in lines {
        stderr.push_str(&line.unwrap());
        stderr.push('\n');
    }
    let status = poll("pier down to exit", Duration::from_secs(60), || {
        child.try_wait().unwrap()
    });
    assert_eq!(status.code(), Some(130), "stderr:\n{stderr}");
    // The stop in flight finished; the removal after it never started.
    assert!(
        stderr.contains(&format!(" ok stop container {slow}")),
        "{stderr}"
    );
    assert!(!stderr.contains(" => remove container"), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "interrupted: `pier down` of project {} stopped part-way",
            p.name
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("container {slow} (exited)")),
        "{stderr}"
    );

    let down = Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "down", "--timeout", "1"])
        .output()
        .unwrap();
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(p.containers().is_empty(), "containers left after down");
    assert!(p.networks().is_empty(), "networks left after down");
}
