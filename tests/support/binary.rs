//! The one way tests run the `pier` binary: a fluent builder in the shape of
//! casey/just's `Test`.
//!
//! ```ignore
//! let out = Pier::new()
//!     .file("pier.yaml", YAML)
//!     .env("NGINX_TAG", "1.27")
//!     .args(["config", "--json"])
//!     .stdout_contains("\"image\": \"nginx:1.27\"")
//!     .run();                    // asserts exit 0 unless `.status(n)` / `.any_status()`
//! let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
//! ```
//!
//! The environment is hermetic: nothing from the caller's shell (a `WEB_PORT`,
//! a `DB_PASSWORD`, a `PIER_STACKS_PATH`, a `COMPOSE_FILE`) leaks into what a
//! test sees. pier starts with only `PATH`, the Docker connection variables
//! (`DOCKER_HOST`, `DOCKER_CERT_PATH`, `DOCKER_TLS_VERIFY`), where its project
//! locks live (`XDG_RUNTIME_DIR`, `TMPDIR`), `HOME=/home/pier-test` (absent;
//! `.home(dir)` for a real one), `NO_COLOR=1` and `PIER_ROUTER=off` (no shared
//! router unless a test sets it `on`); `.env` adds to that, and
//! `.env_remove` takes away. Stdin is empty.
//!
//! Ways to finish:
//! - `.run()` runs, checks every expectation (exit code, stdout, stderr) and
//!   returns an [`Output`] with the text; a failed check prints both streams;
//! - `.assert()` hands the run to `assert_cmd` for its predicate chains;
//! - `.output()` / `.spawn()` / `.command()` when a test needs the process itself
//!   (interrupts, two at once, reading its stream).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// The variables pier may take from the test's own environment: where the
/// engine is, and where the per-user lock lives.
const PASSED_THROUGH: &[&str] = &[
    "PATH",
    "DOCKER_HOST",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
    "XDG_RUNTIME_DIR",
    "TMPDIR",
];

/// A `DOCKER_HOST` where no engine answers, for tests that must not reach one.
pub const NO_ENGINE: &str = "unix:///nonexistent/pier-test-no-engine.sock";

enum Dir {
    /// A temporary directory of this run, removed with the `Output`.
    Temp(tempfile::TempDir),
    Given(PathBuf),
}

enum Expect {
    Equals(String),
    Contains(String),
    Lacks(String),
}

/// A `pier` invocation under construction.
pub struct Pier {
    dir: Dir,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    files: Vec<(PathBuf, String)>,
    input: Option<Vec<u8>>,
    stdin: Option<Stdio>,
    status: Option<i32>,
    stdout: Vec<Expect>,
    stderr: Vec<Expect>,
}

impl Default for Pier {
    fn default() -> Self {
        Pier::new()
    }
}

impl Pier {
    /// pier in a fresh temporary directory (see `.file`).
    pub fn new() -> Self {
        Pier::with_dir(Dir::Temp(
            tempfile::tempdir().expect("a temporary directory"),
        ))
    }

    /// pier in `dir`.
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        Pier::with_dir(Dir::Given(dir.as_ref().to_path_buf()))
    }

    fn with_dir(dir: Dir) -> Self {
        Pier {
            dir,
            args: Vec::new(),
            env: Vec::new(),
            files: Vec::new(),
            input: None,
            stdin: None,
            status: Some(0),
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// Run in `dir` instead.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Dir::Given(dir.as_ref().to_path_buf());
        self
    }

    /// The directory pier runs in.
    pub fn dir(&self) -> &Path {
        match &self.dir {
            Dir::Temp(t) => t.path(),
            Dir::Given(p) => p,
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Unset `key` (also one passed through, like `DOCKER_HOST`).
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env.push((key.into(), None));
        self
    }

    /// `HOME=dir` and `XDG_CONFIG_HOME=dir/config` (where user stacks live).
    pub fn home(self, dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        self.env("HOME", dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
    }

    /// Point pier at a Docker engine that does not exist.
    pub fn no_engine(self) -> Self {
        self.env("DOCKER_HOST", NO_ENGINE)
    }

    /// Write `text` to `rel` (under the run's directory) before running.
    pub fn file(mut self, rel: impl AsRef<Path>, text: impl Into<String>) -> Self {
        self.files.push((rel.as_ref().to_path_buf(), text.into()));
        self
    }

    /// Feed `text` to pier's stdin.
    pub fn input(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.input = Some(text.into());
        self
    }

    /// pier's stdin, for `.spawn()` / `.command()`.
    pub fn stdin(mut self, stdin: impl Into<Stdio>) -> Self {
        self.stdin = Some(stdin.into());
        self
    }

    /// Expect exit code `code` (`.run()` expects 0 unless told).
    pub fn status(mut self, code: i32) -> Self {
        self.status = Some(code);
        self
    }

    /// Accept any exit code.
    pub fn any_status(mut self) -> Self {
        self.status = None;
        self
    }

    /// Expect stdout to be exactly `text`.
    pub fn stdout(mut self, text: impl Into<String>) -> Self {
        self.stdout.push(Expect::Equals(text.into()));
        self
    }

    pub fn stdout_contains(mut self, text: impl Into<String>) -> Self {
        self.stdout.push(Expect::Contains(text.into()));
        self
    }

    pub fn stdout_lacks(mut self, text: impl Into<String>) -> Self {
        self.stdout.push(Expect::Lacks(text.into()));
        self
    }

    /// Expect stderr to be exactly `text`.
    pub fn stderr(mut self, text: impl Into<String>) -> Self {
        self.stderr.push(Expect::Equals(text.into()));
        self
    }

    pub fn stderr_contains(mut self, text: impl Into<String>) -> Self {
        self.stderr.push(Expect::Contains(text.into()));
        self
    }

    pub fn stderr_lacks(mut self, text: impl Into<String>) -> Self {
        self.stderr.push(Expect::Lacks(text.into()));
        self
    }

    /// The process, configured, files written; for what the builder does not do.
    pub fn command(&self) -> Command {
        for (rel, text) in &self.files {
            super::write(self.dir(), rel.to_str().expect("a UTF-8 path"), text);
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pier"));
        cmd.current_dir(self.dir()).env_clear();
        for key in PASSED_THROUGH {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        // No shared router (names and HTTPS) unless a test asks: it would start on
        // every `up` of a web service and hold ports 80/443 (tests/engine_router.rs
        // turns it on with `.env("PIER_ROUTER", "on")`).
        cmd.env("HOME", "/home/pier-test")
            .env("NO_COLOR", "1")
            .env("PIER_ROUTER", "off");
        for (key, value) in &self.env {
            match value {
                Some(v) => cmd.env(key, v),
                None => cmd.env_remove(key),
            };
        }
        cmd.args(&self.args);
        cmd
    }

    /// Start pier, its stdout and stderr piped (stdin as set with `.stdin`,
    /// else empty).
    pub fn spawn(mut self) -> io::Result<Child> {
        let stdin = self.stdin.take().unwrap_or_else(Stdio::null);
        self.command()
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }

    /// Run pier to the end; no expectation is checked.
    pub fn output(mut self) -> io::Result<std::process::Output> {
        self.execute()
    }

    fn execute(&mut self) -> io::Result<std::process::Output> {
        let mut cmd = self.command();
        match self.input.take() {
            Some(input) => {
                use std::io::Write;
                let mut child = cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()?;
                let mut stdin = child.stdin.take().unwrap();
                let writer = std::thread::spawn(move || stdin.write_all(&input));
                let out = child.wait_with_output()?;
                writer.join().unwrap()?;
                Ok(out)
            }
            None => cmd
                .stdin(self.stdin.take().unwrap_or_else(Stdio::null))
                .output(),
        }
    }

    /// Run pier and hand the result to `assert_cmd` (its predicates).
    pub fn assert(self) -> assert_cmd::assert::Assert {
        use assert_cmd::assert::OutputAssertExt;
        self.output().expect("running pier").assert()
    }

    /// Run pier, check every expectation, return what it printed.
    #[track_caller]
    pub fn run(mut self) -> Output {
        let out = self.execute().expect("running pier");
        let code = out.status.code().unwrap_or(-1);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let shown = || {
            let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
            format!(
                "pier {} (in {})\n--- exit code {code}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                args.join(" "),
                self.dir().display()
            )
        };
        if let Some(want) = self.status {
            assert!(code == want, "expected exit code {want}: {}", shown());
        }
        for (stream, expects, text) in [
            ("stdout", &self.stdout, &stdout),
            ("stderr", &self.stderr, &stderr),
        ] {
            for expect in expects {
                match expect {
                    Expect::Equals(want) => {
                        assert!(
                            text == want,
                            "expected {stream} to be:\n{want}\n{}",
                            shown()
                        )
                    }
                    Expect::Contains(want) => assert!(
                        text.contains(want.as_str()),
                        "expected {stream} to contain {want:?}: {}",
                        shown()
                    ),
                    Expect::Lacks(want) => assert!(
                        !text.contains(want.as_str()),
                        "expected {stream} not to contain {want:?}: {}",
                        shown()
                    ),
                }
            }
        }
        let dir = self.dir().to_path_buf();
        Output {
            status: out.status,
            code,
            stdout,
            stderr,
            dir,
            _temp: match self.dir {
                Dir::Temp(t) => Some(t),
                Dir::Given(_) => None,
            },
        }
    }
}

/// What a run printed, and its exit code.
pub struct Output {
    pub status: ExitStatus,
    /// The exit code; -1 when pier was killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The directory pier ran in (kept while this `Output` lives).
    pub dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}
