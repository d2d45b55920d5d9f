//! The fault-injection suite (issue 14): pier against an engine that fails.
//!
//! A proxy in front of the engine's socket (`support::faults`) fails the Nth
//! API call of `pier up`, for every N up to the number of calls a clean `up`
//! makes, and of `pier down`, likewise — by turns an HTTP 500, a reset
//! connection and a call that never answers — on a stack with a dependency, a
//! health check and a volume. Then a SIGKILL at every step boundary of `up`
//! (after each step's start and finish event). After each case:
//!
//! - the faulty run ended with a runtime failure (exit 1) whose message names
//!   the operation, or succeeded when the call it lost was one pier may do
//!   without (it then converged already);
//! - `pier up` exits 0 and the project is exactly as declared: one running
//!   container per service, one network, one volume — and the volume's data is
//!   the data it had before the fault (a marker written once by `db`);
//! - `pier down -v` leaves nothing of the project.
//!
//! It ends with one line counted from the cases, e.g.
//! `faults: 97 injected, 97 converged, leaked 0, data lost 0`, also written to
//! `target/tmp/faults-summary.txt` for scripts/test.sh to print.
//!
//!     flock /tmp/pier-engine-tests.lock cargo test --test engine_faults -- --nocapture

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::{Duration, Instant};

use support::faults::{Fault, FaultProxy};
use support::*;

/// What a hung call costs each case: pier's per-call deadline in the suite.
const ENGINE_TIMEOUT: &str = "2";

/// Phrases of pier's messages that name what it was doing (`EngineOp`'s text,
/// the connection, an interrupted run).
const OPERATIONS: &[&str] = &[
    "cannot reach the Docker engine",
    "reading the identity of the Docker engine",
    "listing ",
    "inspecting ",
    "creating ",
    "connecting to network",
    "starting container",
    "stopping container",
    "removing ",
    "running a command in container",
    "reading logs of container",
    "did not reach service_",
];

struct Case<'a> {
    project: String,
    dir: &'a Path,
}

#[derive(Default)]
struct Tally {
    injected: usize,
    converged: usize,
    leaked: usize,
    data_lost: usize,
    failures: Vec<String>,
}

impl Case<'_> {
    fn pier(&self, host: Option<&str>, args: &[&str]) -> (i32, String) {
        let mut pier = Pier::in_dir(self.dir)
            .env("PIER_ENGINE_TIMEOUT", ENGINE_TIMEOUT)
            .args(["--progress", "plain"])
            .args(args);
        if let Some(host) = host {
            pier = pier.env("DOCKER_HOST", host);
        }
        let out = pier.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn label(&self) -> String {
        format!("label=io.pier.project={}", self.project)
    }

    fn count(&self, kind: &[&str]) -> usize {
        let mut args = kind.to_vec();
        let label = self.label();
        args.extend(["-q", "--filter", &label]);
        docker(&args).map(|o| o.lines().count()).unwrap_or(0)
    }

    fn marker(&self) -> Option<String> {
        docker(&[
            "exec",
            &format!("{}-db-1", self.project),
            "cat",
            "/data/marker",
        ])
        .ok()
    }

    /// Exactly as declared: two running containers, one network, one volume.
    fn converged(&self) -> Result<(), String> {
        let running = docker(&["ps", "-q", "--filter", &self.label()])
            .map(|o| o.lines().count())
            .unwrap_or(0);
        let all = self.count(&["ps", "-a"]);
        let networks = self.count(&["network", "ls"]);
        let volumes = self.count(&["volume", "ls"]);
        if (running, all, networks, volumes) == (2, 2, 1, 1) {
            Ok(())
        } else {
            Err(format!(
                "{running} running of {all} containers, {networks} networks, {volumes} volumes"
            ))
        }
    }

    /// Everything of the project, counted (after `down -v`: what leaked).
    fn left(&self) -> usize {
        self.count(&["ps", "-a"]) + self.count(&["network", "ls"]) + self.count(&["volume", "ls"])
    }

    /// Remove by force whatever a failed case left, so the next starts clean.
    fn scrub(&self) {
        let label = self.label();
        for id in docker(&["ps", "-aq", "--filter", &label])
            .unwrap_or_default()
            .lines()
        {
            let _ = docker(&["rm", "-f", "-v", id]);
        }
        for id in docker(&["network", "ls", "-q", "--filter", &label])
            .unwrap_or_default()
            .lines()
        {
            let _ = docker(&["network", "rm", id]);
        }
        for id in docker(&["volume", "ls", "-q", "--filter", &label])
            .unwrap_or_default()
            .lines()
        {
            let _ = docker(&["volume", "rm", "-f", id]);
        }
    }
}

/// Judge the run a fault hit: exit 1 naming an operation, or 0.
fn faulty_run_ok(code: i32, stderr: &str) -> Result<(), String> {
    match code {
        0 => Ok(()),
        1 if OPERATIONS.iter().any(|op| stderr.contains(op)) => Ok(()),
        _ => Err(format!("exit {code}, message:\n{stderr}")),
    }
}

/// After the fault: `up` converges with the data it had (`before`, when the
/// volume had any), then `down -v` leaves nothing. Updates the tally.
fn settle(case: &Case, what: &str, before: Option<String>, tally: &mut Tally) -> Option<String> {
    let (code, err) = case.pier(None, &["up"]);
    let state = case.converged();
    // Read from the volume when `exec` cannot: a stop the killed pier had sent
    // may still be finishing in the engine (it outlives its client), and a
    // stopped db is not lost data — only different content is.
    let after = volume_marker(case);
    match (code, state) {
        (0, Ok(())) => tally.converged += 1,
        (code, state) => tally.failures.push(format!(
            "{what}: the next up exited {code}, {state:?}\n{err}"
        )),
    }
    if let (Some(b), a) = (&before, &after)
        && a.as_ref() != Some(b)
    {
        tally.data_lost += 1;
        tally
            .failures
            .push(format!("{what}: marker {b} became {a:?}"));
    }
    after
}

fn finish(case: &Case, what: &str, tally: &mut Tally) {
    let (code, err) = case.pier(None, &["down", "-v"]);
    let left = case.left();
    if code != 0 || left > 0 {
        tally.leaked += left;
        tally.failures.push(format!(
            "{what}: down -v exited {code}, {left} resources left\n{err}"
        ));
    }
    case.scrub();
}

/// The marker as the volume holds it, read without pier (db may not run).
fn volume_marker(case: &Case) -> Option<String> {
    if let Some(marker) = case.marker() {
        return Some(marker);
    }
    let volume = format!("{}_dbdata", case.project);
    docker(&["volume", "inspect", &volume]).ok()?;
    docker(&[
        "run",
        "--rm",
        "-v",
        &format!("{volume}:/data:ro"),
        IMAGE,
        "cat",
        "/data/marker",
    ])
    .ok()
}

/// How many API calls `args` makes on a clean run.
fn calls_of(case: &Case, proxy: &FaultProxy, args: &[&str]) -> usize {
    proxy.count();
    let (code, err) = case.pier(Some(&proxy.host()), args);
    assert_eq!(code, 0, "the clean run: {err}");
    proxy.calls()
}

/// SIGKILL `pier VERB` (`up` or `down`) right after its `k`th step event
/// (started or finished); `None` when it had ended before, else the steps it
/// had started and not finished.
fn kill_after_event(case: &Case, verb: &str, k: usize) -> Option<Vec<String>> {
    let mut child = Pier::in_dir(case.dir)
        .args(["--progress", "json", verb])
        .spawn()
        .expect("spawn pier");
    let stderr = child.stderr.take().unwrap();
    let mut seen = 0;
    let mut in_flight = std::collections::BTreeMap::new();
    let mut killed = false;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let step = event["step"].as_u64();
        match event["event"].as_str() {
            Some("step_started") => {
                in_flight.insert(step, event["text"].as_str().unwrap_or("").to_string());
            }
            Some("step_finished") => {
                in_flight.remove(&step);
            }
            _ => continue,
        }
        seen += 1;
        if seen == k {
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            killed = true;
            break;
        }
    }
    let _ = child.wait();
    killed.then(|| in_flight.into_values().collect())
}

/// A SIGKILLed pier's engine calls outlive it: the engine finishes a stop it
/// was sent. Wait (bounded) until each stop in flight has landed, so that the
/// next `up` observes the state the engine is going to, not the one it is
/// leaving (a graceful Ctrl-C lets such calls finish before pier exits; no
/// client can see a stop another client's dead connection left running).
fn let_the_engine_finish(in_flight: &[String]) {
    for step in in_flight {
        let Some(name) = step.strip_prefix("stop container ") else {
            continue;
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            match docker(&["inspect", "-f", "{{.State.Running}}", name]) {
                Ok(running) if running.trim() == "true" => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => break,
            }
        }
    }
}

#[test]
fn every_fault_of_up_and_down_then_up_converges_and_down_v_leaves_nothing() {
    ensure_test_image();
    let proxy = FaultProxy::start();
    let root = tempfile::tempdir().unwrap();
    let pid = std::process::id();
    let mut tally = Tally::default();
    let mut n_case = 0;
    let mut new_case = || {
        n_case += 1;
        let project = format!("pier-t-faults-{pid}-{n_case}");
        let dir = root.path().join(&project);
        write(&dir, "pier.yaml", &db_web(&project));
        project
    };

    // How many calls a clean `up` (from nothing) and `down` make.
    let project = new_case();
    let dir = root.path().join(&project);
    let case = Case { project, dir: &dir };
    let up_calls = calls_of(&case, &proxy, &["up"]);
    let down_calls = calls_of(&case, &proxy, &["down"]);
    finish(&case, "the clean run", &mut tally);
    println!("a clean up makes {up_calls} engine calls, a clean down {down_calls}");

    // The Nth call of `up`, then (for the same N) of `down`, by turns each fault.
    for n in 1..=up_calls {
        let fault = Fault::ALL[n % Fault::ALL.len()];
        let project = new_case();
        let dir = root.path().join(&project);
        let case = Case { project, dir: &dir };
        let what = format!("up, call {n} fails ({})", fault.name());
        proxy.arm(n, fault);
        let (code, err) = case.pier(Some(&proxy.host()), &["up"]);
        let fired = proxy.fired();
        proxy.count();
        let Some(call) = fired else {
            // This run made fewer calls than the clean one (its waits polled less).
            finish(&case, &what, &mut tally);
            continue;
        };
        tally.injected += 1;
        if let Err(e) = faulty_run_ok(code, &err) {
            tally.failures.push(format!("{what} [{call}]: {e}"));
        }
        let before = volume_marker(&case);
        let marker = settle(&case, &what, before, &mut tally);
        if n <= down_calls {
            let what = format!("down, call {n} fails ({})", fault.name());
            proxy.arm(n, fault);
            let (code, err) = case.pier(Some(&proxy.host()), &["down"]);
            let fired = proxy.fired();
            proxy.count();
            if let Some(call) = &fired {
                tally.injected += 1;
                if let Err(e) = faulty_run_ok(code, &err) {
                    tally.failures.push(format!("{what} [{call}]: {e}"));
                }
                settle(&case, &what, marker, &mut tally);
            }
        }
        finish(&case, &what, &mut tally);
    }

    // SIGKILL at every step boundary of `up`.
    for k in 1.. {
        let project = new_case();
        let dir = root.path().join(&project);
        let case = Case { project, dir: &dir };
        let what = format!("up killed after step event {k}");
        let Some(in_flight) = kill_after_event(&case, "up", k) else {
            finish(&case, &what, &mut tally);
            break;
        };
        let_the_engine_finish(&in_flight);
        tally.injected += 1;
        let before = volume_marker(&case);
        settle(&case, &what, before, &mut tally);
        finish(&case, &what, &mut tally);
    }

    // SIGKILL at every step boundary of `down`, from a stack that is up.
    for k in 1.. {
        let project = new_case();
        let dir = root.path().join(&project);
        let case = Case { project, dir: &dir };
        let what = format!("down killed after step event {k}");
        let (code, err) = case.pier(None, &["up"]);
        assert_eq!(code, 0, "{what}: the clean up: {err}");
        let before = volume_marker(&case);
        let Some(in_flight) = kill_after_event(&case, "down", k) else {
            finish(&case, &what, &mut tally);
            break;
        };
        let_the_engine_finish(&in_flight);
        tally.injected += 1;
        settle(&case, &what, before, &mut tally);
        finish(&case, &what, &mut tally);
    }

    let summary = format!(
        "faults: {} injected, {} converged, leaked {}, data lost {}",
        tally.injected, tally.converged, tally.leaked, tally.data_lost
    );
    println!("{summary}");
    // `cargo test` hides a passing test's output: scripts/test.sh prints this file.
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("faults-summary.txt"),
        format!("{summary}\n"),
    );
    assert!(
        tally.failures.is_empty() && tally.injected > 0,
        "{summary}\n{}",
        tally.failures.join("\n---\n")
    );
}
