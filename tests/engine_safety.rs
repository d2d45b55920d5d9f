//! Issue 14, case by case, on the real engine and the real binary: each test
//! first sets up the situation that went wrong (two directories of one project
//! name, a kill part-way, a network removed by hand, two spellings of one engine,
//! a health test that never returns, an engine that never answers, a crash loop)
//! and then checks what pier does about it.
//!
//!     flock /tmp/pier-engine-tests.lock cargo test --test engine_safety

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use support::faults::{Fault, FaultProxy};
use support::*;

/// Kills the runs still going when the test fails (Project's Drop then cleans up).
struct Reap(Vec<u32>);

impl Drop for Reap {
    fn drop(&mut self) {
        for pid in &self.0 {
            unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `pier ARGS` in `dir`; (exit code, stdout, stderr).
fn pier(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Pier::in_dir(dir)
        .args(["--progress", "plain"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn running(container: &str) -> bool {
    docker(&["inspect", "-f", "{{.State.Running}}", container]).is_ok_and(|s| s == "true")
}

// 1. Project identity ---------------------------------------------------------

#[test]
fn down_v_from_another_directory_of_the_same_name_refuses_and_keeps_the_data() {
    let p = Project::new("ident");
    let other = tempfile::tempdir().unwrap();
    write(p.dir.path(), "pier.yaml", &db_web(&p.name));
    write(other.path(), "pier.yaml", &db_web(&p.name));
    let (code, _, err) = pier(p.dir.path(), &["up"]);
    assert_eq!(code, 0, "{err}");
    let volume = format!("{}_dbdata", p.name);
    // Every resource says where it came from, Compose-style.
    let here = p.dir.path().display().to_string();
    for (kind, name) in [
        ("container", p.container("db")),
        ("network", format!("{}_default", p.name)),
        ("volume", volume.clone()),
    ] {
        let dir = docker(&[
            kind,
            "inspect",
            "-f",
            r#"{{index .Labels "io.pier.project.working_dir"}}"#,
            &name,
        ]);
        let dir = dir.or_else(|_| {
            docker(&[
                kind,
                "inspect",
                "-f",
                r#"{{index .Config.Labels "io.pier.project.working_dir"}}"#,
                &name,
            ])
        });
        assert_eq!(dir.unwrap(), here, "{kind} {name}");
    }

    // The other directory's `down -v` (and `up`) refuse, naming this directory.
    for args in [
        &["down", "-v"][..],
        &["up"][..],
        &["down"][..],
        &["ps"][..],
        &["logs"][..],
        &["stop"][..],
        &["start"][..],
        &["restart"][..],
        &["rm", "-f", "-s"][..],
        &["run", "--rm", "web", "true"][..],
        &["exec", "-T", "web", "--", "true"][..],
        &["snapshot"][..],
    ] {
        let (code, _, err) = pier(other.path(), args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(&format!("made from {here}")), "{err}");
        assert!(err.contains("--adopt"), "{err}");
    }
    assert!(
        docker(&["volume", "inspect", &volume]).is_ok(),
        "the data is still there"
    );
    assert!(running(&p.container("db")));

    // Told explicitly, it acts.
    let (code, _, err) = pier(other.path(), &["--adopt", "down", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(p.volumes().is_empty() && p.containers().is_empty());
}

#[test]
fn resources_of_an_older_pier_without_the_label_are_adopted_quietly() {
    let p = Project::new("identold");
    write(p.dir.path(), "pier.yaml", &db_web(&p.name));
    // What an older pier made: the project's label, no directory.
    docker(&[
        "volume",
        "create",
        "--label",
        &format!("io.pier.project={}", p.name),
        &format!("{}_dbdata", p.name),
    ])
    .unwrap();
    let (code, _, err) = pier(p.dir.path(), &["up"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = pier(p.dir.path(), &["down", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(p.volumes().is_empty());
}

// 2. Converge after an interruption -------------------------------------------

#[test]
fn a_kill_at_any_moment_of_up_then_up_converges() {
    let p = Project::new("kill");
    write(p.dir.path(), "pier.yaml", &db_web(&p.name));
    let mut marker: Option<String> = None;
    for delay_ms in [0, 30, 60, 120, 250, 500, 900] {
        let mut child = Pier::in_dir(p.dir.path())
            .args(["--progress", "plain", "up"])
            .spawn()
            .unwrap();
        let reap = Reap(vec![child.id()]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        drop(reap);
        let (code, _, err) = pier(p.dir.path(), &["up"]);
        assert_eq!(code, 0, "after a kill at {delay_ms} ms: {err}");
        assert_eq!(
            p.networks().len(),
            1,
            "after a kill at {delay_ms} ms: {err}"
        );
        assert_eq!(p.containers().len(), 2, "after a kill at {delay_ms} ms");
        assert_eq!(p.volumes().len(), 1);
        let now = docker(&["exec", &p.container("db"), "cat", "/data/marker"]).unwrap();
        // The volume outlives every kill and recreate: the same data each time.
        assert_eq!(marker.get_or_insert(now.clone()), &now);
        // Take the containers and network away, keep the volume, for the next round.
        let (code, _, err) = pier(p.dir.path(), &["down"]);
        assert_eq!(code, 0, "{err}");
    }
}

#[test]
fn duplicate_networks_left_by_an_older_run_are_removed() {
    let p = Project::new("dupnet");
    write(p.dir.path(), "pier.yaml", &db_web(&p.name));
    // Two networks of one name, as an older pier left them (no duplicate check).
    let body = format!(
        r#"{{"Name":"{}_default","CheckDuplicate":false,"Labels":{{"io.pier.project":"{}","io.pier.resource":"default"}}}}"#,
        p.name, p.name
    );
    for _ in 0..2 {
        let out = std::process::Command::new("curl")
            .args([
                "-sf",
                "--unix-socket",
                "/var/run/docker.sock",
                "-H",
                "Content-Type: application/json",
            ])
            .args(["-d", &body, "http://localhost/v1.41/networks/create"])
            .output()
            .expect("curl");
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    assert_eq!(p.networks().len(), 2);
    let (code, _, err) = pier(p.dir.path(), &["up"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(p.networks().len(), 1, "{err}");
    assert!(running(&p.container("web")));
}

fn signal_during_up(test: &str, signal: i32) {
    let p = Project::new(test);
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
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let mut child = Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "up", "--wait-timeout", "300"])
        .spawn()
        .unwrap();
    let _reap = Reap(vec![child.id()]);
    poll("db to run", Duration::from_secs(60), || {
        running(&p.container("db")).then_some(())
    });
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let status = poll("pier up to exit", Duration::from_secs(60), || {
        child.try_wait().unwrap()
    });
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("stopped part-way"), "{err}");
    let (code, _, err) = pier(p.dir.path(), &["down"]);
    assert_eq!(code, 0, "{err}");
    assert!(p.containers().is_empty() && p.networks().is_empty());
}

#[test]
fn sigterm_during_up_is_taken_like_ctrl_c() {
    signal_during_up("sigterm", libc::SIGTERM);
}

#[test]
fn sighup_during_up_is_taken_like_ctrl_c() {
    signal_during_up("sighup", libc::SIGHUP);
}

// 3. Heal what was removed by hand --------------------------------------------

#[test]
fn a_network_removed_by_hand_is_recreated_and_the_containers_rejoin_it() {
    let p = Project::new("netrm");
    write(p.dir.path(), "pier.yaml", &db_web(&p.name));
    let network = format!("{}_default", p.name);
    let (code, _, err) = pier(p.dir.path(), &["up"]);
    assert_eq!(code, 0, "{err}");
    let marker = docker(&["exec", &p.container("db"), "cat", "/data/marker"]).unwrap();

    // Stopped containers, network removed.
    docker(&["stop", "-t", "1", &p.container("web"), &p.container("db")]).unwrap();
    docker(&["network", "rm", &network]).unwrap();
    let (code, out, err) = pier(p.dir.path(), &["ps"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("missing: network {network}")),
        "{out}"
    );
    let (code, plan, err) = pier(p.dir.path(), &["up", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        plan.contains(&format!(
            "recreate container {} (network {network} removed)",
            p.container("web")
        )),
        "{plan}"
    );
    let (code, _, err) = pier(p.dir.path(), &["up"]);
    assert_eq!(code, 0, "{err}");
    let attached = |c: &str| {
        inspect(
            c,
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}",
        )
    };
    assert_eq!(attached(&p.container("web")), network);
    assert!(running(&p.container("db")) && running(&p.container("web")));

    // Running containers disconnected, network removed: not "nothing to do".
    for c in [p.container("web"), p.container("db")] {
        docker(&["network", "disconnect", "-f", &network, &c]).unwrap();
    }
    docker(&["network", "rm", &network]).unwrap();
    let (code, _, err) = pier(p.dir.path(), &["up"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(attached(&p.container("db")), network);
    assert_eq!(attached(&p.container("web")), network);
    let again = docker(&["exec", &p.container("db"), "cat", "/data/marker"]).unwrap();
    assert_eq!(again, marker, "the volume's data is kept");
}

#[test]
fn a_container_removed_by_hand_is_shown_missing_and_recreated() {
    let p = Project::new("ctrrm");
    write(p.dir.path(), "pier.yaml", &db_web(&p.name));
    let (code, _, err) = pier(p.dir.path(), &["up"]);
    assert_eq!(code, 0, "{err}");
    docker(&["rm", "-f", "-v", &p.container("web")]).unwrap();
    let (_, out, _) = pier(p.dir.path(), &["ps"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("web") && l.contains("not created")),
        "{out}"
    );
    let (code, _, err) = pier(p.dir.path(), &["up"]);
    assert_eq!(code, 0, "{err}");
    assert!(running(&p.container("web")));
}

// 4. The lock -----------------------------------------------------------------

#[test]
fn two_spellings_of_one_engine_share_one_lock_in_a_private_directory() {
    let p = Project::new("lockid");
    let runtime = tempfile::tempdir().unwrap();
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
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let up = |host: Option<&str>| {
        let mut pier = Pier::in_dir(p.dir.path())
            .env("XDG_RUNTIME_DIR", runtime.path())
            .args(["--progress", "plain", "up"]);
        pier = match host {
            Some(h) => pier.env("DOCKER_HOST", h),
            None => pier.env_remove("DOCKER_HOST"),
        };
        pier.spawn().unwrap()
    };
    let first = up(None);
    let mut reap = Reap(vec![first.id()]);
    let db = p.container("db");
    poll("db to run", Duration::from_secs(60), || {
        running(&db).then_some(())
    });
    // The lock: in $XDG_RUNTIME_DIR/pier, 0700, one file while held.
    let dir = runtime.path().join("pier");
    let mode = std::fs::metadata(&dir).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o700
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);

    let mut second: Child = up(Some("unix:///var/run/docker.sock"));
    reap.0.push(second.id());
    let (tx, rx) = mpsc::channel();
    let stderr = second.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
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
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(second.wait().unwrap().success());
    assert_eq!(p.networks().len(), 1);
    assert_eq!(p.containers().len(), 1);
    // Released: no lock file left behind.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[test]
fn a_lock_directory_others_may_write_is_refused() {
    let p = Project::new("lockdir");
    let runtime = tempfile::tempdir().unwrap();
    let dir = runtime.path().join("pier");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    write(
        p.dir.path(),
        "pier.yaml",
        &format!("name: {}\nservices:\n  a:\n    image: {IMAGE}\n", p.name),
    );
    let out = Pier::in_dir(p.dir.path())
        .env("XDG_RUNTIME_DIR", runtime.path())
        .args(["up"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("may be used by others (mode 777)"), "{err}");
    assert!(p.containers().is_empty() && p.networks().is_empty());
}

// 5. Bounded waits ------------------------------------------------------------

#[test]
fn a_health_test_that_never_returns_is_bounded_by_its_timeout_and_the_wait() {
    let p = Project::new("hungprobe");
    let yaml = format!(
        r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    healthcheck:
      test: ["CMD-SHELL", "sleep 100000"]
      interval: 1s
      timeout: 1s
      retries: 1000
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let mut child = Pier::in_dir(p.dir.path())
        .args(["--progress", "plain", "up", "--wait-timeout", "4"])
        .spawn()
        .unwrap();
    let _reap = Reap(vec![child.id()]);
    // Not a timing assertion: a deadline far beyond the bound, for a test that
    // would otherwise hang as `up` did (>500 s).
    poll("pier up to give up", Duration::from_secs(120), || {
        child.try_wait().unwrap()
    });
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not ready after 4s"), "{err}");
    // The check's own verdict (pier's probe or the engine's), never a hang.
    assert!(
        err.contains("did not finish within 1s") || err.contains("exceeded timeout (1s)"),
        "{err}"
    );
}

#[test]
fn an_engine_that_never_answers_fails_the_call_naming_it_and_the_socket() {
    let p = Project::new("hungengine");
    write(
        p.dir.path(),
        "pier.yaml",
        &format!("name: {}\nservices:\n  a:\n    image: {IMAGE}\n", p.name),
    );
    let proxy = FaultProxy::start();
    let elsewhere = tempfile::tempdir().unwrap();
    // `up` observes with several calls at once (listings and the image's
    // inspection): its third call is whichever the engine got first.
    let observing: &[&str] = &["listing ", "inspecting image"];
    let cases: [(&[&str], &Path, usize, &[&str]); 5] = [
        (
            &["up"],
            p.dir.path(),
            1,
            &["cannot reach the Docker engine"],
        ),
        (
            &["up"],
            p.dir.path(),
            2,
            &["reading the identity of the Docker engine"],
        ),
        (&["up"], p.dir.path(), 3, observing),
        (
            &["-p", &p.name, "ps"],
            elsewhere.path(),
            1,
            &["cannot reach the Docker engine"],
        ),
        (&["-p", &p.name, "ps"], elsewhere.path(), 2, &["listing "]),
    ];
    for (args, dir, n, whats) in cases {
        proxy.arm(n, Fault::Hang);
        let out = Pier::in_dir(dir)
            .env("DOCKER_HOST", proxy.host())
            .env("PIER_ENGINE_TIMEOUT", "2")
            .args(args)
            .output()
            .unwrap();
        let err = text(&out.stderr);
        assert!(proxy.fired().is_some(), "{args:?}: call {n} was made");
        assert_eq!(out.status.code(), Some(1), "{args:?}, call {n}: {err}");
        assert!(
            whats.iter().any(|what| err.contains(what)),
            "{args:?}, call {n}: {err}"
        );
        assert!(err.contains(&proxy.socket().display().to_string()), "{err}");
        assert!(err.contains("2s"), "{err}");
    }
    assert!(p.containers().is_empty());
}

#[test]
fn a_crash_looping_started_dependency_fails_up_with_its_exit() {
    let p = Project::new("crashloop");
    let yaml = format!(
        r#"name: {name}
services:
  flaky:
    image: {IMAGE}
    command: ["sh", "-c", "echo flaky gives up; exit 1"]
    restart: always
  web:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    depends_on:
      flaky: {{condition: service_started}}
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    let (code, _, err) = pier(p.dir.path(), &["up"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("flaky"), "{err}");
    assert!(
        err.contains("keeps exiting") || err.contains("exited with code 1"),
        "{err}"
    );
    assert!(!err.contains("OCI runtime"), "{err}");
}

#[test]
fn a_dependency_that_dies_shows_its_exit_not_pier_exec_error() {
    let p = Project::new("dies");
    let yaml = format!(
        r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "sleep 2; echo db crashed; exit 3"]
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
    let (code, _, err) = pier(p.dir.path(), &["up", "--wait-timeout", "60"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("exited with code 3"), "{err}");
    assert!(err.contains("db crashed"), "{err}");
    assert!(!err.contains("OCI runtime exec failed"), "{err}");
}
