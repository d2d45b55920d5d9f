//! Shared code of the tests: `Pier`, the one builder that runs the binary
//! (`binary.rs`); and for the engine tests the tiny busybox test image, a
//! project guard that removes everything by label even when a test panics,
//! stack builders and polling helpers. Real Docker, no mocks.
#![allow(dead_code)]

mod binary;
pub mod faults;
pub mod registry;
#[allow(unused_imports)]
pub use binary::{NO_ENGINE, Output, Pier};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Once;
use std::time::{Duration, Instant};

use pier::cli::{DownArgs, PullPolicy, Target, UpArgs};
use pier::stack::model::{
    Condition, Dependency, HealthTest, Healthcheck, Network, Service, ServiceNetwork, Stack,
};

pub const IMAGE: &str = "pier-test/busybox:2";
/// A command that idles until TERM, then exits 0 at once.
pub const IDLE: &str = "trap 'exit 0' TERM; while :; do sleep 1; done";

/// A stack of `db` (a volume holding a marker, a health check on it) and `web`
/// depending on it being healthy: the shape the safety and fault suites use.
pub fn db_web(name: &str) -> String {
    format!(
        r#"name: {name}
services:
  db:
    image: {IMAGE}
    command: ["sh", "-c", "[ -f /data/marker ] || cat /proc/sys/kernel/random/uuid > /data/marker; {IDLE}"]
    volumes: [dbdata:/data]
    healthcheck:
      test: ["CMD-SHELL", "test -f /data/marker"]
      interval: 1s
      timeout: 2s
      retries: 30
  web:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    depends_on:
      db: {{condition: service_healthy}}
volumes:
  dbdata: {{}}
"#
    )
}

static IMAGE_ONCE: Once = Once::new();

/// Build the test image once per test run (reused when already present): a
/// statically linked busybox on `scratch`, with its applets installed in /bin.
pub fn ensure_test_image() {
    IMAGE_ONCE.call_once(|| {
        if docker(&["image", "inspect", IMAGE]).is_ok() {
            return;
        }
        let busybox = Path::new("/bin/busybox");
        assert!(
            busybox.exists(),
            "the engine tests need a static busybox at /bin/busybox: run `apt-get install -y busybox-static` (or scripts/test.sh)"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(busybox, dir.path().join("busybox")).unwrap();
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox --install -s /bin && mkdir -p /tmp && chmod 1777 /tmp\"]\n",
        )
        .unwrap();
        docker(&["build", "-q", "-t", IMAGE, dir.path().to_str().unwrap()])
            .expect("building the busybox test image");
    });
}

/// Run the docker CLI; Ok(stdout) on success, Err(stderr) otherwise.
pub fn docker(args: &[&str]) -> Result<String, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// A test's own project. Dropping it removes every container, network and volume
/// carrying its label, also when the test panicked.
pub struct Project {
    pub name: String,
    pub dir: tempfile::TempDir,
}

impl Project {
    pub fn new(test: &str) -> Project {
        ensure_test_image();
        Project {
            name: format!("pier-t-{test}-{}", std::process::id()),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn label(&self) -> String {
        format!("label=io.pier.project={}", self.name)
    }

    pub fn containers(&self) -> Vec<String> {
        lines(&docker(&["ps", "-aq", "--filter", &self.label()]).unwrap())
    }

    pub fn networks(&self) -> Vec<String> {
        lines(&docker(&["network", "ls", "-q", "--filter", &self.label()]).unwrap())
    }

    pub fn volumes(&self) -> Vec<String> {
        lines(&docker(&["volume", "ls", "-q", "--filter", &self.label()]).unwrap())
    }

    pub fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.name)
    }

    /// A stack with this project's name and directory and a `default` network.
    pub fn stack(&self, services: Vec<(&str, Service)>) -> Stack {
        Stack {
            name: self.name.clone(),
            project_dir: self.dir.path().to_path_buf(),
            services: services
                .into_iter()
                .map(|(n, s)| (n.to_string(), s))
                .collect(),
            networks: [(
                "default".to_string(),
                Network {
                    name: format!("{}_default", self.name),
                    ..Network::default()
                },
            )]
            .into(),
            volumes: BTreeMap::new(),
            secrets: BTreeMap::new(),
            configs: BTreeMap::new(),
            disabled: Default::default(),
        }
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        for id in self.containers() {
            // `rm -v` removes only anonymous volumes made for the container;
            // one a recreate carried over is mounted by name and stays.
            let mounted = docker(&[
                "inspect",
                "-f",
                "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}",
                &id,
            ])
            .unwrap_or_default();
            let _ = docker(&["rm", "-f", "-v", &id]);
            let anonymous = mounted
                .split_whitespace()
                .filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()));
            for volume in anonymous {
                let _ = docker(&["volume", "rm", "-f", volume]);
            }
        }
        for id in self.networks() {
            let _ = docker(&["network", "rm", &id]);
        }
        for id in self.volumes() {
            let _ = docker(&["volume", "rm", "-f", &id]);
        }
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// What a terminal showed for `shell` (a command line, run by `script` from
/// util-linux, which gives it a pty) in `dir`: how the tests see a TTY.
pub fn on_a_terminal(dir: &Path, shell: &str) -> String {
    let session = Command::new("script")
        .current_dir(dir)
        .args(["-qec", shell, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running `script` (util-linux)");
    String::from_utf8_lossy(&session.stdout).into_owned()
}

/// Whether `stty -a` output (in `text`) shows a cooked terminal: out of raw mode.
pub fn is_cooked(text: &str) -> bool {
    text.split_whitespace().any(|w| w == "icanon") && text.contains(" echo ")
}

/// A host port that was free a moment ago (the engine or a test binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A shell loop that exits at once on SIGTERM (busybox as PID 1 would otherwise
/// ignore it and make every stop wait out the grace period).
pub fn idle_after(setup: &str) -> String {
    format!("{setup} trap 'exit 0' TERM; while :; do sleep 1; done")
}

/// A service of the test image running `sh -c script` on the default network.
pub fn service(script: &str) -> Service {
    Service {
        image: Some(IMAGE.to_string()),
        command: Some(vec!["sh".into(), "-c".into(), script.into()]),
        networks: [("default".to_string(), ServiceNetwork::default())].into(),
        ..Service::default()
    }
}

pub fn depends(mut s: Service, on: &str, condition: Condition) -> Service {
    s.depends_on.insert(
        on.to_string(),
        Dependency {
            condition,
            required: true,
        },
    );
    s
}

pub fn healthcheck(mut s: Service, shell: &str, interval: Duration, retries: u32) -> Service {
    s.healthcheck = Some(Healthcheck {
        test: HealthTest::Shell(shell.into()),
        interval: Some(interval),
        timeout: Some(Duration::from_secs(5)),
        retries: Some(retries),
        start_period: None,
        start_interval: None,
    });
    s
}

pub fn up_args(wait_timeout: u64) -> UpArgs {
    UpArgs {
        services: vec![],
        pull: PullPolicy::Never,
        build: false,
        wait_timeout,
        dry_run: false,
        json: false,
        remove_orphans: false,
        target: Target::Local,
        watch: false,
    }
}

pub fn down_args(volumes: bool) -> DownArgs {
    DownArgs {
        volumes,
        timeout: Some(5),
        remove_orphans: false,
        target: Target::Local,
        // The library's `down` has no project directory to keep snapshots in;
        // tests/engine_snapshot.rs takes them through the binary.
        no_snapshot: true,
        keep_snapshots: 3,
    }
}

/// Progress as plain lines through the test harness's capture: shown with a
/// failing test's output, not as noise (` !! wait for db: … failed`) in a
/// passing run's, as a sink writing to stderr itself would.
pub fn captured_sink() -> pier::event::EventSink {
    std::sync::Arc::new(|event| {
        if let Some(line) = pier::report::format_event(&event) {
            eprintln!("{line}");
        }
    })
}

/// `pier up` through the library, without the shared router; returns what it printed.
pub fn up(stack: &Stack, args: &UpArgs) -> Result<String, pier::Error> {
    let mut out = Vec::new();
    let sink = captured_sink();
    pier::commands::up::up_with_router(stack, &Default::default(), args, None, &sink, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

pub fn down(project: &str, args: &DownArgs) -> Result<String, pier::Error> {
    let mut out = Vec::new();
    let sink = captured_sink();
    pier::commands::down::down(project, args, &sink, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

pub fn inspect(container: &str, format: &str) -> String {
    docker(&["inspect", "-f", format, container])
        .unwrap_or_else(|e| panic!("inspect {container}: {e}"))
}

/// StartedAt / FinishedAt as comparable (seconds part, nanoseconds): RFC 3339 with
/// trailing zeros trimmed does not compare correctly as text.
pub fn instant(rfc3339: &str) -> (String, u32) {
    let (secs, rest) = rfc3339.split_at(19);
    let frac: String = rest
        .trim_start_matches('.')
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let nanos = format!("{frac:0<9}").parse().unwrap_or(0);
    (secs.to_string(), nanos)
}

pub fn started_at(container: &str) -> (String, u32) {
    instant(&inspect(container, "{{.State.StartedAt}}"))
}

/// Poll `f` until it returns Some, or panic at the deadline with `what`.
pub fn poll<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// Every line of `stderr` as a JSON object (panics on the first that is not):
/// what `--progress json` promises.
pub fn json_lines(stderr: &str) -> Vec<serde_json::Value> {
    stderr
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .filter(serde_json::Value::is_object)
                .unwrap_or_else(|| panic!("not a JSON object: {line:?}\n--- stderr\n{stderr}"))
        })
        .collect()
}
