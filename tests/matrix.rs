//! The bad-input, fault and data-safety matrix, against the real engine and the
//! real binary. One row per case; every row is run, and the summary line counts
//! the outcomes the rows actually had:
//!
//!     cargo test --test matrix -- --nocapture
//!
//! ends with e.g. `bad inputs: 31 tried, 31 rejected cleanly; faults: 9 tried, …;
//! leaked resources: 0`. The test fails when any case fails, listing which.
//!
//! What each group proves:
//! - bad input: exit 2, stderr names the file (with line and column where the
//!   problem is in a file), the place and the fix, and nothing exists afterwards
//!   that was not there before — no container, network or volume of the case's
//!   project, no file added or changed in the case's directory;
//! - faults: a clear message and the right exit code, and a following `pier down -v`
//!   leaves nothing of the project behind;
//! - data safety and secure defaults: what the issue promises, checked on the
//!   engine's real state and the real files.
//!
//! Leaked resources are counted after every case has cleaned up after itself
//! (before the guard removes anything by force), for every project the matrix used.

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use support::{IMAGE, Pier, docker, ensure_test_image};

type Outcome = Result<(), String>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    BadInput,
    Fault,
    DataSafety,
    SecureDefault,
}

struct Case {
    group: Group,
    name: &'static str,
    run: Box<dyn Fn(&Cx) -> Outcome>,
}

/// What a case gets: its own project name (= its directory's name, so pier's
/// default project name is it), directory, and HOME (no user stacks but its own).
struct Cx {
    project: String,
    dir: PathBuf,
    home: PathBuf,
}

const IDLE: &str = "trap 'exit 0' TERM; while :; do sleep 1; done";

impl Cx {
    /// The real binary in the case's directory, with a clean pier environment.
    fn pier(&self, args: &[&str]) -> Pier {
        Pier::in_dir(&self.dir).home(&self.home).args(args)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.pier(args).output().expect("running pier")
    }

    fn write(&self, rel: &str, text: &str) {
        support::write(&self.dir, rel, text);
    }

    /// The stack file, with {IMAGE} and {PROJECT} filled in.
    fn stack(&self, yaml: &str) {
        self.write(
            "pier.yaml",
            &yaml
                .replace("{IMAGE}", IMAGE)
                .replace("{PROJECT}", &self.project)
                .replace("{IDLE}", IDLE),
        );
    }

    /// Containers, networks and volumes labelled with this case's project.
    fn resources(&self) -> Vec<String> {
        resources_where(|p| p == self.project)
    }

    fn container(&self, service: &str) -> String {
        format!("{}-{service}-1", self.project)
    }

    /// `pier down -v` must succeed and leave nothing of the project.
    fn down_cleans(&self) -> Outcome {
        let out = self.run(&["--progress", "quiet", "down", "-v"]);
        code(&out, 0)?;
        let left = self.resources();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("pier down -v left {left:?}"))
        }
    }

    fn up_ok(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["--progress", "plain", "up", "--pull", "never"];
        all.extend(args);
        code(&self.run(&all), 0)
    }
}

/// Every pier-labelled container, network and volume whose project matches, as
/// "kind name (project)".
fn resources_where(matches: impl Fn(&str) -> bool) -> Vec<String> {
    let label = "label=io.pier.project";
    let format = |name: &str| format!("{{{{.Label \"io.pier.project\"}}}} {{{{.{name}}}}}");
    let lists = [
        (
            "container",
            vec!["ps", "-a", "--filter", label, "--format"],
            "Names",
        ),
        (
            "network",
            vec!["network", "ls", "--filter", label, "--format"],
            "Name",
        ),
        (
            "volume",
            vec!["volume", "ls", "--filter", label, "--format"],
            "Name",
        ),
    ];
    let mut found = Vec::new();
    for (kind, mut args, field) in lists {
        let f = format(field);
        args.push(&f);
        let text = docker(&args).unwrap_or_else(|e| panic!("docker {args:?}: {e}"));
        for line in text.lines() {
            if let Some((project, name)) = line.split_once(' ')
                && matches(project)
            {
                found.push(format!("{kind} {name} ({project})"));
            }
        }
    }
    found
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn code(out: &Output, want: i32) -> Outcome {
    match out.status.code() {
        Some(c) if c == want => Ok(()),
        other => Err(format!(
            "exit {other:?}, expected {want}\n--- stderr:\n{}--- stdout:\n{}",
            stderr(out),
            stdout(out)
        )),
    }
}

fn contains(what: &str, text: &str, needles: &[&str]) -> Outcome {
    for needle in needles {
        if !text.contains(needle) {
            return Err(format!("{what} lacks {needle:?}:\n{text}"));
        }
    }
    Ok(())
}

/// Every file under `dir` (symlinks not followed) with its contents, for "created nothing".
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
                files.insert(path, b"<dir>".to_vec());
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                files.insert(path, target.to_string_lossy().as_bytes().to_vec());
            } else {
                files.insert(path.clone(), std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    files
}

fn poll<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> Result<T, String> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!("gave up waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_child(child: &mut Child, within: Duration) -> Result<Output, String> {
    let deadline = Instant::now() + within;
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            return Err("pier did not finish".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = Output {
        status: child.wait().map_err(|e| e.to_string())?,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    use std::io::Read;
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut out.stdout);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_end(&mut out.stderr);
    }
    Ok(out)
}

fn state(container: &str) -> String {
    docker(&["inspect", "-f", "{{.State.Status}}", container]).unwrap_or_else(|e| e)
}

/// A user stack template under the case's HOME (`~/.config/pier/stacks/NAME`).
fn user_template(cx: &Cx, name: &str, manifest: &str, stack: &str, files: &[(&str, &str)]) {
    let root = cx.home.join("config/pier/stacks").join(name);
    support::write(&root, "stack.yaml", manifest);
    support::write(&root, "pier.yaml.hbs", stack);
    for (rel, text) in files {
        support::write(&root, rel, text);
    }
}

/// The value of `NAME=` in a `.env` file.
fn env_value(path: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .map(|v| v.trim_matches('\'').to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Bad input: one row each. `setup` writes files into the case directory; the row's
// pier command must exit 2 with every `expect` text on stderr ({DIR} is the case
// directory), and change nothing on the engine or on disk.

struct Bad {
    name: &'static str,
    setup: fn(&Cx),
    args: &'static [&'static str],
    expect: &'static [&'static str],
}

#[rustfmt::skip]
fn bad_inputs() -> Vec<Bad> {
    vec![
        Bad { name: "malformed YAML", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n   ports: []\n"),
              expect: &["{DIR}/pier.yaml:4:4: error: invalid YAML", "hint: check the indentation"] },
        Bad { name: "wrong type (ports: yes)", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    ports: yes\n"),
              expect: &["{DIR}/pier.yaml:4:5: error: services.web.ports: expected a list of ports, found the string \"yes\"", "hint: write a list"] },
        Bad { name: "wrong type (user: 1000)", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    user: 1000\n"),
              expect: &["{DIR}/pier.yaml:4:5: error: services.web.user: expected a string", "hint: quote it: \"1000\""] },
        Bad { name: "unknown service in depends_on", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    depends_on: [dbb]\n  db:\n    image: x\n"),
              expect: &["{DIR}/pier.yaml:4:18: error: services.web.depends_on[0]: unknown service `dbb`", "hint: did you mean `db`?"] },
        Bad { name: "dependency cycle", args: &["up"],
              setup: |cx| cx.stack("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n"),
              expect: &["{DIR}/pier.yaml:2:17: error: services.a.depends_on: dependency cycle: a -> b -> a", "hint: services in a cycle can never start"] },
        Bad { name: "two services on one host port", args: &["up"],
              setup: |cx| cx.stack("services:\n  a: {image: x, ports: [\"18080:80\"]}\n  b: {image: x, ports: [\"18080:81\"]}\n"),
              expect: &["{DIR}/pier.yaml:3:17: error: services.b.ports: host port 127.0.0.1:18080/tcp is already published by service `a`", "hint: publish a different host port"] },
        Bad { name: "port out of range", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    ports: [\"99999:80\"]\n"),
              expect: &["{DIR}/pier.yaml:4:13: error: services.web.ports[0]: port 99999 in \"99999:80\" is out of range", "hint: ports are numbers from 1 to 65535"] },
        Bad { name: "port not a number", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    ports: [\"8080:http\"]\n"),
              expect: &["{DIR}/pier.yaml:4:13: error: services.web.ports[0]: invalid port \"8080:http\"", "hint: write \"HOST:CONTAINER\""] },
        Bad { name: "invalid duration", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    healthcheck: {test: \"true\", interval: 5 parsecs}\n"),
              expect: &["{DIR}/pier.yaml:4:33: error: services.web.healthcheck.interval: invalid duration \"5 parsecs\"", "hint: write a number with a unit"] },
        Bad { name: "invalid memory size", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    mem_limit: 12zb\n"),
              expect: &["{DIR}/pier.yaml:4:5: error: services.web.mem_limit: invalid memory size \"12zb\"", "hint: write a number with a unit: 512m"] },
        Bad { name: "memory size below the engine's minimum", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    mem_limit: 1m\n"),
              expect: &["{DIR}/pier.yaml:4:5: error: services.web.mem_limit: memory limit \"1m\" is below the engine's minimum of 6m", "hint:"] },
        Bad { name: "missing required variable ${X:?msg}", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: ${PIER_MATRIX_UNSET:?set it to the image to run}\n"),
              expect: &["{DIR}/pier.yaml:3:5: error: services.web.image: required variable `PIER_MATRIX_UNSET` is not set: set it to the image to run", "hint: set PIER_MATRIX_UNSET in the environment or in .env"] },
        Bad { name: "missing env_file", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    env_file: missing.env\n"),
              expect: &["{DIR}/pier.yaml:4:5: error: services.web.env_file: cannot read env file {DIR}/missing.env", "hint: create the file, fix the path"] },
        Bad { name: "missing --env-file", args: &["--env-file", "nope.env", "up"],
              setup: |cx| cx.stack("services:\n  web: {image: x}\n"),
              expect: &["{DIR}/nope.env: error: env file not found", "hint: check the --env-file path"] },
        Bad { name: "invalid project name in the file", args: &["up"],
              setup: |cx| cx.stack("name: Bad Name!\nservices:\n  web: {image: x}\n"),
              expect: &["{DIR}/pier.yaml:1:1: error: name: invalid project name \"Bad Name!\"", "hint: use lower-case letters"] },
        Bad { name: "invalid project name on the command line", args: &["-p", "UP PER", "up"],
              setup: |cx| cx.stack("services:\n  web: {image: x}\n"),
              expect: &["error: invalid project name \"UP PER\"", "hint: pass -p with lower-case letters"] },
        Bad { name: "invalid restart policy", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    image: x\n    restart: sometimes\n"),
              expect: &["{DIR}/pier.yaml:4:5: error: services.web.restart: invalid restart policy \"sometimes\"", "hint: use \"no\", always"] },
        Bad { name: "service with neither image nor build", args: &["up"],
              setup: |cx| cx.stack("services:\n  web:\n    command: [true]\n"),
              expect: &["{DIR}/pier.yaml:2:3: error: services.web: service `web` has neither `image` nor `build`", "hint: add `image: <name>`"] },
        Bad { name: "unknown service on the command line", args: &["up", "webb"],
              setup: |cx| cx.stack("services:\n  web: {image: x}\n"),
              expect: &["no service named `webb`", "did you mean `web`?"] },
        Bad { name: "no stack file", args: &["up"],
              setup: |_| {},
              expect: &["no stack file in {DIR}", "hint: run `pier init <stack>`"] },
        Bad { name: "unknown template", args: &["init", "lamb", "shop"],
              setup: |_| {},
              expect: &["unknown stack \"lamb\"", "did you mean \"lamp\"?"] },
        Bad { name: "unknown --set", args: &["init", "django", "shop", "--set", "postgress_version=16"],
              setup: |_| {},
              expect: &["no parameter \"postgress_version\"", "did you mean \"postgres_version\"?"] },
        Bad { name: "mistyped --set", args: &["init", "django", "shop", "--set", "postgres_version=abc"],
              setup: |_| {},
              expect: &["--set postgres_version: \"abc\" is not a whole number", "hint: write a whole number"] },
        Bad { name: "out-of-range --set", args: &["init", "django", "shop", "--set", "postgres_version=12"],
              setup: |_| {},
              expect: &["12 is out of range: use 13 to 99"] },
        Bad { name: "--set that is not a choice", args: &["init", "lamp", "shop", "--set", "database=postgres"],
              setup: |_| {},
              expect: &["--set database: \"postgres\" is not one of the choices", "mariadb, mysql"] },
        Bad { name: "--set without a value", args: &["init", "lamp", "shop", "--set", "web_port"],
              setup: |_| {},
              expect: &["--set web_port: expected KEY=VALUE", "hint: e.g. --set web_port=VALUE"] },
        Bad { name: "user template writing to ../", args: &["init", "evil", "shop"],
              setup: |cx| user_template(cx, "evil", "name: evil\ndescription: d\nfiles:\n  - source: payload\n    path: ../escaped.txt\n", "services:\n  web: {image: x}\n", &[("payload", "gotcha")]),
              expect: &["stack.yaml", "files[0]: \"../escaped.txt\" leaves the project directory"] },
        Bad { name: "user template writing to an absolute path", args: &["init", "evil", "shop"],
              setup: |cx| user_template(cx, "evil", "name: evil\ndescription: d\nfiles:\n  - source: payload\n    path: /tmp/pier-matrix-escaped.txt\n", "services:\n  web: {image: x}\n", &[("payload", "gotcha")]),
              expect: &["stack.yaml", "is absolute"] },
        Bad { name: "init through a symlink out of the target", args: &["init", "lamp", "shop", "--force"],
              setup: |cx| {
                  std::fs::create_dir_all(cx.dir.join("shop")).unwrap();
                  std::fs::create_dir_all(cx.dir.join("outside")).unwrap();
                  std::os::unix::fs::symlink(cx.dir.join("outside"), cx.dir.join("shop/public")).unwrap();
              },
              expect: &["public is a symlink that leads outside"] },
        Bad { name: "init over existing files", args: &["init", "lamp", "shop"],
              setup: |cx| {
                  cx.write("shop/pier.yaml", "# mine\n");
                  cx.write("shop/.env", "DB_PASSWORD=mine\n");
              },
              expect: &["pier.yaml", "already exists", "--force"] },
        Bad { name: "template rendering an invalid stack", args: &["init", "broken", "shop"],
              setup: |cx| user_template(cx, "broken", "name: broken\ndescription: d\nparameters:\n  - {name: port, type: string, default: \"http\"}\n", "services:\n  web:\n    image: x\n    ports: [\"{{port}}:80\"]\n", &[]),
              expect: &["services.web.ports[0]", "\"http\" is not a port number"] },
    ]
}

fn bad_case(bad: Bad) -> Case {
    Case {
        group: Group::BadInput,
        name: bad.name,
        run: Box::new(move |cx| {
            (bad.setup)(cx);
            let before = snapshot(&cx.dir);
            let out = cx.run(bad.args);
            code(&out, 2)?;
            let dir = cx.dir.display().to_string();
            let expect: Vec<String> = bad
                .expect
                .iter()
                .map(|e| e.replace("{DIR}", &dir))
                .collect();
            let expect: Vec<&str> = expect.iter().map(String::as_str).collect();
            contains("stderr", &stderr(&out), &expect)?;
            let after = snapshot(&cx.dir);
            if before != after {
                let changed: Vec<_> = after
                    .keys()
                    .chain(before.keys())
                    .filter(|k| before.get(*k) != after.get(*k))
                    .collect();
                return Err(format!("files changed: {changed:?}"));
            }
            if Path::new("/tmp/pier-matrix-escaped.txt").exists() {
                return Err("wrote /tmp/pier-matrix-escaped.txt".into());
            }
            let created = cx.resources();
            if !created.is_empty() {
                return Err(format!("created {created:?}"));
            }
            Ok(())
        }),
    }
}

// ---------------------------------------------------------------------------
// Faults.

fn faults() -> Vec<Case> {
    vec![
        case(Group::Fault, "engine unreachable", |cx| {
            cx.stack("services:\n  web: {image: \"{IMAGE}\", command: [sh, -c, \"{IDLE}\"]}\n");
            let socket = format!("unix://{}/no-docker.sock", cx.dir.display());
            let out = cx
                .pier(&["up"])
                .env("DOCKER_HOST", &socket)
                .output()
                .unwrap();
            code(&out, 1)?;
            contains(
                "stderr",
                &stderr(&out),
                &[
                    &format!("cannot reach the Docker engine at {socket}"),
                    "hint: start Docker",
                    "DOCKER_HOST",
                ],
            )?;
            cx.down_cleans()
        }),
        case(Group::Fault, "image that cannot be pulled", |cx| {
            cx.stack("services:\n  web: {image: pier-matrix.invalid/none:1}\n");
            let out = cx.run(&["--progress", "plain", "up"]);
            code(&out, 1)?;
            // The image, and the registry's own answer after it.
            contains(
                "stderr",
                &stderr(&out),
                &[
                    "error: pulling image pier-matrix.invalid/none:1: ",
                    "pier-matrix.invalid",
                    "hint: check the image name",
                ],
            )?;
            cx.down_cleans()
        }),
        case(Group::Fault, "build that fails", |cx| {
            cx.stack("services:\n  app: {build: ., image: \"{PROJECT}-app:matrix\"}\n");
            // The failing step names the project, so its builder container can be recognised.
            let step = format!("echo about to fail in {} && exit 7", cx.project);
            cx.write(
                "Dockerfile",
                &format!("FROM {IMAGE}\nRUN echo step one\nRUN {step}\n"),
            );
            let out = cx.run(&["--progress", "plain", "up"]);
            let _ = docker(&["rmi", "-f", &format!("{}-app:matrix", cx.project)]);
            code(&out, 1)?;
            contains(
                "stderr",
                &stderr(&out),
                &[
                    "error: building image",
                    &step,
                    "returned a non-zero code: 7",
                    "hint: the build output above shows the failing step",
                ],
            )?;
            // The classic builder keeps the container of a failed step unless told
            // not to: pier must not leave it behind.
            let all = docker(&["ps", "-a", "--no-trunc", "--format", "{{.Command}}"])?;
            if all.contains(&step) {
                return Err("the failed build step's container was left behind".into());
            }
            cx.down_cleans()
        }),
        case(Group::Fault, "container that exits during up", |cx| {
            cx.stack("services:\n  migrate:\n    image: \"{IMAGE}\"\n    command: [sh, -c, \"echo no such table; exit 3\"]\n  app:\n    image: \"{IMAGE}\"\n    command: [sh, -c, \"{IDLE}\"]\n    depends_on: {migrate: {condition: service_completed_successfully}}\n");
            let out = cx.run(&["--progress", "plain", "up"]);
            code(&out, 1)?;
            contains(
                "stderr",
                &stderr(&out),
                &[
                    "service `migrate`",
                    "it exited with code 3",
                    "| no such table",
                    "hint:",
                ],
            )?;
            cx.down_cleans()
        }),
        case(
            Group::Fault,
            "healthcheck that never passes (--wait-timeout)",
            |cx| {
                cx.stack("services:\n  db:\n    image: \"{IMAGE}\"\n    command: [sh, -c, \"{IDLE}\"]\n    healthcheck: {test: [CMD-SHELL, \"echo not yet; test -f /never\"], interval: 1h, retries: 3}\n");
                let out = cx.run(&["--progress", "plain", "up", "--wait-timeout", "3"]);
                code(&out, 1)?;
                contains(
                    "stderr",
                    &stderr(&out),
                    &[
                        "service `db`",
                        "did not reach service_healthy: not ready after 3s",
                        "last health check: not yet",
                    ],
                )?;
                cx.down_cleans()
            },
        ),
        case(Group::Fault, "host port held by another process", |cx| {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            cx.stack(&format!("services:\n  web:\n    image: \"{{IMAGE}}\"\n    command: [sh, -c, \"{{IDLE}}\"]\n    ports: [\"{port}:80\"]\n    volumes: [data:/data]\nvolumes:\n  data:\n"));
            let out = cx.run(&["--progress", "plain", "up"]);
            code(&out, 1)?;
            contains(
                "stderr",
                &stderr(&out),
                &[
                    &format!(
                        "host port 127.0.0.1:{port}/tcp of service `web` is already in use by process {} (",
                        std::process::id()
                    ),
                    "nothing was created",
                ],
            )?;
            let created = cx.resources();
            if !created.is_empty() {
                return Err(format!("created before the check: {created:?}"));
            }
            drop(listener);
            cx.down_cleans()
        }),
        case(Group::Fault, "Ctrl-C in the middle of up", |cx| {
            cx.stack("services:\n  db:\n    image: \"{IMAGE}\"\n    command: [sh, -c, \"{IDLE}\"]\n    healthcheck: {test: [CMD-SHELL, \"test -f /never\"], interval: 1h}\n");
            let mut child = cx
                .pier(&["--progress", "plain", "up", "--wait-timeout", "120"])
                .spawn()
                .unwrap();
            let container = cx.container("db");
            let waited = poll("the container to run", Duration::from_secs(60), || {
                (state(&container) == "running").then_some(())
            });
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let out = wait_child(&mut child, Duration::from_secs(60))?;
            waited?;
            let result =
                code(&out, 130).and_then(|()| contains("stderr", &stderr(&out), &["interrupted"]));
            cx.down_cleans()?;
            result
        }),
        case(Group::Fault, "container killed behind pier's back", |cx| {
            cx.stack("services:\n  web: {image: \"{IMAGE}\", command: [sh, -c, \"{IDLE}\"]}\n");
            cx.up_ok(&[])?;
            let container = cx.container("web");
            docker(&["kill", &container])?;
            poll("the container to stop", Duration::from_secs(30), || {
                (state(&container) == "exited").then_some(())
            })?;
            cx.up_ok(&[])?;
            let now = state(&container);
            if now != "running" {
                return Err(format!("after up the container is {now}"));
            }
            cx.down_cleans()
        }),
        case(
            Group::Fault,
            "two pier up of the same project at once",
            |cx| {
                cx.stack("services:\n  db: {image: \"{IMAGE}\", command: [sh, -c, \"{IDLE}\"]}\n  web: {image: \"{IMAGE}\", command: [sh, -c, \"{IDLE}\"], depends_on: [db]}\nvolumes: {}\n");
                let spawn = || {
                    cx.pier(&["--progress", "plain", "up", "--pull", "never"])
                        .spawn()
                        .unwrap()
                };
                let (mut a, mut b) = (spawn(), spawn());
                let outs = [
                    wait_child(&mut a, Duration::from_secs(120))?,
                    wait_child(&mut b, Duration::from_secs(120))?,
                ];
                let mut result = Ok(());
                for out in &outs {
                    // Either it waited for the other and succeeded, or it stopped and said why.
                    let said_why = ["another `pier", "in progress", "is locked"]
                        .iter()
                        .any(|w| stderr(out).contains(w));
                    if out.status.code() != Some(0) && !said_why {
                        result = Err(format!(
                            "exit {:?} without a clear reason:\n{}",
                            out.status.code(),
                            stderr(out)
                        ));
                    }
                }
                let containers = resources_where(|p| p == cx.project)
                    .into_iter()
                    .filter(|r| r.starts_with("container"))
                    .count();
                let networks = resources_where(|p| p == cx.project)
                    .into_iter()
                    .filter(|r| r.starts_with("network"))
                    .count();
                if result.is_ok() && (containers != 2 || networks != 1) {
                    result = Err(format!(
                        "{containers} containers and {networks} networks, expected 2 and 1"
                    ));
                }
                cx.down_cleans()?;
                result
            },
        ),
    ]
}

fn case(group: Group, name: &'static str, run: fn(&Cx) -> Outcome) -> Case {
    Case {
        group,
        name,
        run: Box::new(run),
    }
}

// ---------------------------------------------------------------------------
// Data safety and secure defaults.

const MARKED: &str = "services:\n  db:\n    image: \"{IMAGE}\"\n    command: [sh, -c, \"test -f /data/marker || echo precious > /data/marker; {IDLE}\"]\n    environment: {GENERATION: \"GEN\"}\n    volumes: [data:/data]\nvolumes:\n  data:\n";

fn marker(cx: &Cx) -> Result<String, String> {
    docker(&["exec", &cx.container("db"), "cat", "/data/marker"])
}

fn data_safety() -> Vec<Case> {
    vec![
        case(
            Group::DataSafety,
            "named volume survives down, a recreating config change and a failed up; only down -v removes it, listing it",
            |cx| {
                let volume = format!("{}_data", cx.project);
                cx.stack(&MARKED.replace("GEN", "1"));
                cx.up_ok(&[])?;
                docker(&[
                    "exec",
                    &cx.container("db"),
                    "sh",
                    "-c",
                    "echo kept > /data/marker",
                ])?;
                // down keeps it
                code(&cx.run(&["--progress", "quiet", "down"]), 0)?;
                docker(&["volume", "inspect", &volume])
                    .map_err(|e| format!("down removed the volume: {e}"))?;
                cx.up_ok(&[])?;
                if marker(cx)? != "kept" {
                    return Err("data lost after down/up".into());
                }
                // a config change recreates the container, not the volume
                let id = docker(&["inspect", "-f", "{{.Id}}", &cx.container("db")])?;
                cx.stack(&MARKED.replace("GEN", "2"));
                cx.up_ok(&[])?;
                if docker(&["inspect", "-f", "{{.Id}}", &cx.container("db")])? == id {
                    return Err("the config change did not recreate the container".into());
                }
                if marker(cx)? != "kept" {
                    return Err("data lost after recreate".into());
                }
                // a failed up keeps it
                // (a migration that fails, which the app waits for: up fails for certain)
                cx.stack(&format!("{}  migrate:\n    image: \"{{IMAGE}}\"\n    command: [sh, -c, \"exit 4\"]\n    depends_on: [db]\n  app:\n    image: \"{{IMAGE}}\"\n    command: [sh, -c, \"{{IDLE}}\"]\n    depends_on: {{migrate: {{condition: service_completed_successfully}}}}\nvolumes:\n  data:\n", MARKED.replace("GEN", "2").replace("volumes:\n  data:\n", "")));
                code(
                    &cx.run(&["--progress", "quiet", "up", "--pull", "never"]),
                    1,
                )?;
                if marker(cx)? != "kept" {
                    return Err("data lost after a failed up".into());
                }
                // only down -v removes it, and says so
                let out = cx.run(&["--progress", "quiet", "down", "-v"]);
                code(&out, 0)?;
                contains(
                    "stdout",
                    &stdout(&out),
                    &[&format!("removed volume {volume}")],
                )?;
                if docker(&["volume", "inspect", &volume]).is_ok() {
                    return Err("down -v kept the volume".into());
                }
                cx.down_cleans()
            },
        ),
        case(
            Group::DataSafety,
            "init never overwrites without --force; --force keeps the secrets",
            |cx| {
                code(&cx.run(&["init", "lamp", "shop"]), 0)?;
                let password = env_value(&cx.dir.join("shop/.env"), "DB_PASSWORD");
                cx.write("shop/pier.yaml", "# edited by hand\n");
                let out = cx.run(&["init", "lamp", "shop"]);
                code(&out, 2)?;
                if std::fs::read_to_string(cx.dir.join("shop/pier.yaml")).unwrap()
                    != "# edited by hand\n"
                {
                    return Err("init overwrote pier.yaml without --force".into());
                }
                code(&cx.run(&["init", "lamp", "shop", "--force"]), 0)?;
                if env_value(&cx.dir.join("shop/.env"), "DB_PASSWORD") != password
                    || password.len() < 16
                {
                    return Err("init --force changed the generated password".into());
                }
                Ok(())
            },
        ),
        case(
            Group::DataSafety,
            ".env with secrets is created 0600 and git-ignored",
            |cx| {
                code(&cx.run(&["init", "django", "site"]), 0)?;
                let env = cx.dir.join("site/.env");
                let mode = std::fs::metadata(&env)
                    .map_err(|e| e.to_string())?
                    .permissions()
                    .mode()
                    & 0o777;
                if mode != 0o600 {
                    return Err(format!(".env has mode {mode:o}"));
                }
                if !env_value(&env, "DJANGO_SECRET_KEY")
                    .chars()
                    .any(|c| c.is_ascii_alphanumeric())
                {
                    return Err(".env holds no SECRET_KEY".into());
                }
                let ignore =
                    std::fs::read_to_string(cx.dir.join("site/.gitignore")).unwrap_or_default();
                if !ignore.lines().any(|l| l == ".env") {
                    return Err(format!(".gitignore lacks .env:\n{ignore}"));
                }
                // And git agrees.
                let git = |args: &[&str]| {
                    Command::new("git")
                        .current_dir(cx.dir.join("site"))
                        .args(args)
                        .output()
                };
                if let Ok(out) = git(&["init", "-q"])
                    && out.status.success()
                {
                    let out = git(&["check-ignore", ".env"]).map_err(|e| e.to_string())?;
                    code(&out, 0).map_err(|e| format!("git does not ignore .env: {e}"))?;
                }
                Ok(())
            },
        ),
        case(
            Group::DataSafety,
            "secrets are never printed unless --show-secrets",
            |cx| {
                // Rendered into a directory named like the project, so that is its name.
                code(
                    &cx.run(&["init", "lamp", &cx.project, "--set", "editor=true"]),
                    0,
                )?;
                let shop = Cx {
                    project: cx.project.clone(),
                    dir: cx.dir.join(&cx.project),
                    home: cx.home.clone(),
                };
                let env = shop.dir.join(".env");
                let secrets: Vec<String> = ["DB_PASSWORD", "DB_ROOT_PASSWORD", "EDITOR_PASSWORD"]
                    .iter()
                    .map(|n| env_value(&env, n))
                    .collect();
                if secrets.iter().any(|s| s.len() < 16) {
                    return Err(format!("weak or missing secrets: {secrets:?}"));
                }
                let leaks = |what: &str, out: &Output| -> Outcome {
                    let all = format!("{}{}", stdout(out), stderr(out));
                    match secrets.iter().find(|s| all.contains(s.as_str())) {
                        Some(_) => Err(format!("`{what}` printed a secret:\n{all}")),
                        None => Ok(()),
                    }
                };
                for args in [
                    &["config"][..],
                    &["config", "--json"],
                    &["graph"],
                    &["export", "compose"],
                    &["up", "--dry-run"],
                ] {
                    let out = shop.run(args);
                    code(&out, 0)?;
                    leaks(&args.join(" "), &out)?;
                }
                // A failing up (no such images here) prints errors, not secrets.
                let out = shop.run(&["--progress", "plain", "up", "--pull", "never"]);
                if out.status.code() == Some(0) {
                    return Err("up was expected to fail without the images".into());
                }
                leaks("up (failing)", &out)?;
                shop.down_cleans()?;
                // Asked for, they are shown.
                let out = shop.run(&["config", "--show-secrets"]);
                code(&out, 0)?;
                contains(
                    "config --show-secrets",
                    &stdout(&out),
                    &[&secrets[0], &secrets[1]],
                )?;
                contains(
                    "config stderr",
                    &stderr(&shop.run(&["config"])),
                    &["pass --show-secrets to print them"],
                )
            },
        ),
        case(
            Group::DataSafety,
            "a failing service's log lines in the error mask the secrets it printed",
            |cx| {
                let secret = "Zx81-matrix-generated-secret";
                cx.write(".env", &format!("DB_PASSWORD={secret}\n"));
                cx.stack("services:\n  migrate:\n    image: \"{IMAGE}\"\n    environment: {DB_PASSWORD: \"${DB_PASSWORD}\"}\n    command: [sh, -c, \"echo connecting as app:$$DB_PASSWORD; exit 1\"]\n  app:\n    image: \"{IMAGE}\"\n    command: [sh, -c, \"{IDLE}\"]\n    depends_on: {migrate: {condition: service_completed_successfully}}\n");
                let out = cx.run(&["--progress", "plain", "up", "--pull", "never"]);
                code(&out, 1)?;
                let all = format!("{}{}", stdout(&out), stderr(&out));
                contains(
                    "output",
                    &all,
                    &["| connecting as app:********", "it exited with code 1"],
                )?;
                if all.contains(secret) {
                    return Err(format!("the secret was printed:\n{all}"));
                }
                cx.down_cleans()
            },
        ),
        case(
            Group::DataSafety,
            "template values with quotes, colons, newlines, {{ }}, ${…} and control characters stay one string",
            |cx| {
                let hostile = "x\" injected: true\n'q' : {{db_user}} ${HOME} $$ \\ \t\u{7} end\r\nservices: {}";
                let out = cx.run(&[
                    "init",
                    "lamp",
                    "shop",
                    "--set",
                    &format!("db_name={hostile}"),
                ]);
                code(&out, 0)?;
                let out = cx
                    .pier(&["config", "--json"])
                    .current_dir(cx.dir.join("shop"))
                    .output()
                    .unwrap();
                code(&out, 0)?;
                let doc: serde_json::Value =
                    serde_json::from_str(&stdout(&out)).map_err(|e| e.to_string())?;
                let got = &doc["services"]["web"]["environment"]["DB_NAME"];
                if got != hostile {
                    return Err(format!("DB_NAME came out as {got}"));
                }
                let services: Vec<&String> = doc["services"].as_object().unwrap().keys().collect();
                if services != ["db", "phpmyadmin", "web"] || doc.get("injected").is_some() {
                    return Err(format!("the document changed shape: services {services:?}"));
                }
                Ok(())
            },
        ),
        case(
            Group::SecureDefault,
            "published ports bind to 127.0.0.1 unless the stack names an address",
            |cx| {
                let port = std::net::TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port();
                cx.stack(&format!("services:\n  web: {{image: \"{{IMAGE}}\", command: [sh, -c, \"{{IDLE}}\"], ports: [\"{port}:80\"]}}\n"));
                cx.up_ok(&[])?;
                let bound = docker(&["port", &cx.container("web"), "80/tcp"])?;
                if bound != format!("127.0.0.1:{port}") {
                    return Err(format!("bound to {bound}"));
                }
                cx.down_cleans()
            },
        ),
        case(
            Group::SecureDefault,
            "warnings for every-interface ports, the Docker socket and privileged",
            |cx| {
                cx.stack("services:\n  admin:\n    image: x\n    privileged: true\n    ports: [\"0.0.0.0:18081:80\"]\n    volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]\n");
                let out = cx.run(&["config"]);
                code(&out, 0)?;
                let dir = cx.dir.display();
                contains(
                    "stderr",
                    &stderr(&out),
                    &[
                        &format!(
                            "{dir}/pier.yaml:4:5: warning: services.admin.privileged: service `admin` runs privileged"
                        ),
                        &format!(
                            "{dir}/pier.yaml:5:5: warning: services.admin.ports: service `admin` publishes 0.0.0.0:18081 on every interface"
                        ),
                        &format!(
                            "{dir}/pier.yaml:6:5: warning: services.admin.volumes: service `admin` mounts the Docker socket /var/run/docker.sock"
                        ),
                    ],
                )
            },
        ),
        case(
            Group::SecureDefault,
            "built-in stacks bind no port to every interface, mount no socket and run nothing privileged",
            |cx| {
                for stack in ["lamp", "django", "dotnet"] {
                    let dir = cx.dir.join(stack);
                    code(&cx.run(&["init", stack, stack]), 0)?;
                    let out = cx
                        .pier(&["config", "--json"])
                        .current_dir(&dir)
                        .output()
                        .unwrap();
                    code(&out, 0)?;
                    if stderr(&out).contains("warning:") {
                        return Err(format!("{stack}: {}", stderr(&out)));
                    }
                    let doc: serde_json::Value =
                        serde_json::from_str(&stdout(&out)).map_err(|e| e.to_string())?;
                    for (name, svc) in doc["services"].as_object().unwrap() {
                        let ips: Vec<&str> = svc["ports"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|p| p["host_ip"].as_str())
                            .collect();
                        if ips.iter().any(|ip| *ip != "127.0.0.1")
                            || svc.get("privileged").is_some()
                            || svc.to_string().contains("docker.sock")
                        {
                            return Err(format!("{stack}: service {name} is exposed: {svc}"));
                        }
                    }
                }
                Ok(())
            },
        ),
    ]
}

// ---------------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    tried: usize,
    passed: usize,
}

#[test]
fn bad_input_fault_and_data_safety_matrix() {
    ensure_test_image();
    let root = tempfile::tempdir().unwrap();
    let prefix = format!("pm{}-", std::process::id());
    let _guard = Guard(prefix.clone());

    let mut cases: Vec<Case> = bad_inputs().into_iter().map(bad_case).collect();
    cases.extend(faults());
    cases.extend(data_safety());

    let mut tallies: BTreeMap<Group, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut leaked = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let cx = Cx {
            project: format!("{prefix}{i}"),
            dir: root.path().join(format!("{prefix}{i}")),
            home: root.path().join(format!("home-{i}")),
        };
        std::fs::create_dir_all(&cx.dir).unwrap();
        std::fs::create_dir_all(&cx.home).unwrap();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.run)(&cx)))
            .unwrap_or_else(|_| Err("panicked".into()));
        let left = cx.resources();
        leaked.extend(left.iter().cloned());
        let tally = tallies.entry(case.group).or_default();
        tally.tried += 1;
        let verdict = match &outcome {
            Ok(()) if left.is_empty() => {
                tally.passed += 1;
                "ok"
            }
            Ok(()) => {
                failures.push(format!("{}: left {left:?}", case.name));
                "LEAKED"
            }
            Err(e) => {
                failures.push(format!("{}: {e}", case.name));
                "FAILED"
            }
        };
        println!("{verdict:>6}  {:?}: {}", case.group, case.name);
    }
    // Anything of the matrix's projects still there (also from a case that panicked).
    for r in resources_where(|p| p.starts_with(&prefix)) {
        if !leaked.contains(&r) {
            leaked.push(r);
        }
    }

    let mut t = |g: Group| tallies.remove(&g).unwrap_or_default();
    let (bad, fault, data, secure) = (
        t(Group::BadInput),
        t(Group::Fault),
        t(Group::DataSafety),
        t(Group::SecureDefault),
    );
    let summary = format!(
        "bad inputs: {} tried, {} rejected cleanly; faults: {} tried, {} recovered; data safety: {} checked, {} held; secure defaults: {} checked, {} held; leaked resources: {}",
        bad.tried,
        bad.passed,
        fault.tried,
        fault.passed,
        data.tried,
        data.passed,
        secure.tried,
        secure.passed,
        leaked.len()
    );
    println!("{summary}");
    // `cargo test` hides a passing test's output: scripts/test.sh prints this file.
    let _ = std::fs::write(
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("matrix-summary.txt"),
        format!("{summary}\n"),
    );
    assert!(
        failures.is_empty() && leaked.is_empty(),
        "{summary}\n{} case(s) failed:\n{}\nleaked: {leaked:?}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Removes whatever the matrix's projects left, also when the test panics.
struct Guard(String);

impl Drop for Guard {
    fn drop(&mut self) {
        for r in resources_where(|p| p.starts_with(&self.0)) {
            let mut parts = r.split(' ');
            let (kind, name) = (parts.next().unwrap(), parts.next().unwrap());
            let _ = match kind {
                "container" => docker(&["rm", "-f", "-v", name]),
                "network" => docker(&["network", "rm", name]),
                _ => docker(&["volume", "rm", "-f", name]),
            };
        }
    }
}
