//! The everyday verbs (`run`, `start`, `stop`, `restart`, `pull`, `build`, `ls`,
//! `rm`, `port`) through the real binary against the real engine, each test in
//! its own project (`Project` removes everything by label, also on failure).

mod support;

use std::path::Path;
use std::time::Duration;

use support::registry::{Registry, Tag};
use support::*;

/// The project's stack file: its name, and `services` (YAML under `services:`).
fn stack_file(p: &Project, services: &str) {
    write(
        p.dir.path(),
        "pier.yaml",
        &format!("name: {}\nservices:\n{services}", p.name),
    );
}

/// db (healthy by a file it writes) ← api (started) ← web, publishing `port`.
fn chain(p: &Project, port: u16) {
    let ready = idle_after("touch /tmp/ready;");
    let idle = idle_after("");
    stack_file(
        p,
        &format!(
            r#"  db:
    image: {IMAGE}
    command: ["sh", "-c", "{ready}"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 5m
  api:
    image: {IMAGE}
    command: ["sh", "-c", "{idle}"]
    environment: {{FROM_FILE: file}}
    depends_on:
      db: {{condition: service_healthy}}
  web:
    image: {IMAGE}
    command: ["sh", "-c", "{idle}"]
    ports: ["{port}:80"]
    depends_on: [api]
"#
        ),
    );
}

fn pier(dir: &Path) -> Pier {
    Pier::in_dir(dir).args(["--progress", "plain"])
}

/// The one-off containers of the project (`io.pier.one-off=true`).
fn one_offs(p: &Project) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        &p.label(),
        "--filter",
        "label=io.pier.one-off=true",
    ])
    .unwrap();
    out.lines().map(String::from).collect()
}

fn state(container: &str) -> String {
    inspect(container, "{{.State.Status}}")
}

#[test]
fn run_passes_the_exit_code_starts_dependencies_and_removes_with_rm() {
    let p = Project::new("verbs-run");
    chain(&p, free_port());
    let dir = p.dir.path();

    // The command's exit code is pier's; its dependencies were started first
    // (and are ready); with --rm nothing of the one-off is left.
    let out = pier(dir)
        .args([
            "run",
            "--rm",
            "api",
            "sh",
            "-c",
            "echo out-$FROM_FILE; exit 3",
        ])
        .status(3)
        .stdout_contains("out-file")
        .run();
    assert!(
        out.stderr.contains("ok wait for db: service_healthy"),
        "{}",
        out.stderr
    );
    assert_eq!(state(&p.container("db")), "running");
    assert!(
        docker(&["inspect", &p.container("api")]).is_err(),
        "run creates no service container"
    );
    assert!(one_offs(&p).is_empty(), "{:?}", one_offs(&p));

    // -T with stdin piped in: the command reads it to its end.
    pier(dir)
        .args([
            "run",
            "--rm",
            "-T",
            "api",
            "sh",
            "-c",
            "tr a-z A-Z; echo done",
        ])
        .input("piped in\nsecond line\n")
        .stdout("PIPED IN\nSECOND LINE\ndone\n")
        .run();

    // -e, -w, -u and --entrypoint reach the container.
    pier(dir)
        .args([
            "run",
            "--rm",
            "-e",
            "X=from-e",
            "-w",
            "/tmp",
            "-u",
            "1234",
            "--entrypoint",
            "sh -c",
            "api",
            "echo $X $FROM_FILE; pwd; id -u",
        ])
        .stdout("from-e file\n/tmp\n1234\n")
        .run();

    // Without --rm the one-off stays: named like Compose's, labelled one-off, and
    // not the service's container for `up`, which creates api-1 beside it.
    pier(dir).args(["run", "api", "true"]).run();
    let kept = one_offs(&p);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let prefix = format!("{}-api-run-", p.name);
    let hex = kept[0]
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{kept:?}"));
    assert!(
        hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{hex}"
    );
    pier(dir).args(["up"]).run();
    assert_eq!(state(&p.container("api")), "running");
    assert_eq!(state(&kept[0]), "exited", "up must leave the one-off alone");

    // `down` removes the one-offs with the rest (their network could not go otherwise).
    pier(dir).args(["down"]).run();
    assert!(p.containers().is_empty(), "{:?}", p.containers());
    assert!(p.networks().is_empty(), "{:?}", p.networks());
}

#[test]
fn run_gives_the_command_a_tty_on_a_terminal() {
    let p = Project::new("verbs-run-tty");
    let dir = p.dir.path();
    stack_file(&p, &format!("  app:\n    image: {IMAGE}\n"));
    // `script` gives pier a pty, as `pier exec`'s test does: a TTY in the one-off,
    // its exit code, and the local terminal out of raw mode afterwards; -T: no TTY.
    let bin = assert_cmd::cargo::cargo_bin("pier");
    let text = on_a_terminal(
        dir,
        &format!(
            "{pier} --progress quiet run --rm app sh -c 'tty; exit 4'; echo exit=$?; \
             {pier} --progress quiet run --rm -T app sh -c 'tty || echo no-tty'; stty -a",
            pier = bin.display()
        ),
    );
    assert!(text.contains("/dev/pts/"), "a TTY in the container: {text}");
    assert!(text.contains("exit=4"), "{text}");
    assert!(text.contains("no-tty"), "-T: {text}");
    assert!(
        is_cooked(&text),
        "the local terminal is cooked again: {text}"
    );
    assert!(one_offs(&p).is_empty(), "{:?}", one_offs(&p));
}

#[test]
fn run_passes_ctrl_c_on_to_the_command_without_a_tty() {
    let p = Project::new("verbs-run-int");
    let dir = p.dir.path();
    stack_file(&p, &format!("  app:\n    image: {IMAGE}\n"));
    let script = "trap 'echo got-int; exit 7' INT; echo started; while :; do sleep 1; done";
    let child = pier(dir)
        .args(["run", "--rm", "-T", "app", "sh", "-c", script])
        .spawn()
        .unwrap();
    // Killed on drop if the test fails before pier ends.
    struct Guard(Option<std::process::Child>);
    impl Drop for Guard {
        fn drop(&mut self) {
            if let Some(child) = &mut self.0 {
                let _ = child.kill();
            }
        }
    }
    let mut guard = Guard(Some(child));
    let pid = guard.0.as_ref().unwrap().id() as i32;
    // Its output as it comes (stdout by line, stderr whole): the signal goes once
    // the command has set its trap and said so.
    let stdout = guard.0.as_mut().unwrap().stdout.take().unwrap();
    let mut stderr = guard.0.as_mut().unwrap().stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let (lines, seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed: Vec<String> = Vec::new();
    let mut ended = None;
    poll(
        "the one-off to say it started",
        Duration::from_secs(60),
        || {
            printed.extend(seen.try_iter());
            ended = guard.0.as_mut().unwrap().try_wait().unwrap();
            (ended.is_some() || printed.iter().any(|l| l == "started")).then_some(())
        },
    );
    if ended.is_none() {
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    }
    let status = poll("pier run to end", Duration::from_secs(60), || {
        guard.0.as_mut().unwrap().try_wait().unwrap()
    });
    guard.0 = None;
    let stderr = errors.join().unwrap();
    printed.extend(seen.iter());
    assert_eq!(status.code(), Some(7), "{printed:?}\n{stderr}");
    assert_eq!(printed, ["started", "got-int"], "{stderr}");
    assert!(
        one_offs(&p).is_empty(),
        "--rm removes it: {:?}",
        one_offs(&p)
    );
}

#[test]
fn run_no_deps_service_ports_and_detach() {
    let p = Project::new("verbs-run-nodeps");
    let port = free_port();
    chain(&p, port);
    let dir = p.dir.path();

    // --no-deps: nothing of api or db; the network it joins is created.
    pier(dir)
        .args(["run", "--rm", "--no-deps", "web", "echo", "alone"])
        .stdout("alone\n")
        .run();
    assert!(docker(&["inspect", &p.container("db")]).is_err());
    assert!(docker(&["inspect", &p.container("api")]).is_err());

    // -d prints the one-off's name; without --service-ports it publishes nothing.
    let out = pier(dir).args(["run", "-d", "--no-deps", "web"]).run();
    let detached = out.stdout.trim().to_string();
    assert_eq!(state(&detached), "running");
    let bindings = inspect(&detached, "{{json .HostConfig.PortBindings}}");
    assert!(matches!(bindings.as_str(), "null" | "{}"), "{bindings}");
    // With it, the service's ports (bound to 127.0.0.1 as the service's are).
    pier(dir).args(["rm", "-s", "-f"]).run();
    let out = pier(dir)
        .args(["run", "-d", "--no-deps", "--service-ports", "web"])
        .run();
    let published = out.stdout.trim().to_string();
    assert_eq!(
        inspect(
            &published,
            "{{(index (index .HostConfig.PortBindings \"80/tcp\") 0).HostPort}}"
        ),
        port.to_string()
    );
    // -d --rm: the engine removes it once it exits.
    let out = pier(dir)
        .args([
            "run",
            "-d",
            "--rm",
            "--no-deps",
            "web",
            "sh",
            "-c",
            "sleep 1",
        ])
        .run();
    let gone = out.stdout.trim().to_string();
    assert!(!gone.is_empty());
    poll(
        "the -d --rm one-off to be removed",
        Duration::from_secs(60),
        || docker(&["inspect", &gone]).is_err().then_some(()),
    );
    pier(dir).args(["down"]).run();
}

#[test]
fn start_stop_restart_follow_the_dependencies() {
    let p = Project::new("verbs-lifecycle");
    chain(&p, free_port());
    let dir = p.dir.path();
    let [db, api, web] = ["db", "api", "web"].map(|s| p.container(s));
    pier(dir).args(["up"]).run();

    // stop: dependents first.
    pier(dir).args(["stop"]).run();
    for c in [&db, &api, &web] {
        assert_eq!(state(c), "exited", "{c}");
    }
    let finished = |c: &str| instant(&inspect(c, "{{.State.FinishedAt}}"));
    assert!(finished(&web) <= finished(&api) && finished(&api) <= finished(&db));

    // start web: what it depends on first, each ready before the next.
    let out = pier(dir).args(["start", "web"]).run();
    for c in [&db, &api, &web] {
        assert_eq!(state(c), "running", "{c}");
    }
    assert!(started_at(&db) <= started_at(&api) && started_at(&api) <= started_at(&web));
    assert!(
        out.stderr.contains("ok wait for db: service_healthy"),
        "{}",
        out.stderr
    );

    // restart db takes its dependents along; with --no-deps only db.
    let before = [&db, &api, &web].map(|c| started_at(c));
    pier(dir).args(["restart", "db"]).run();
    let after = [&db, &api, &web].map(|c| started_at(c));
    for i in 0..3 {
        assert!(
            after[i] > before[i],
            "all three restarted: {before:?} {after:?}"
        );
    }
    pier(dir).args(["restart", "--no-deps", "db"]).run();
    let again = [&db, &api, &web].map(|c| started_at(c));
    assert!(again[0] > after[0]);
    assert_eq!(again[1..], after[1..], "--no-deps restarts db alone");

    // Only the named service; the TERM it traps ends it cleanly.
    pier(dir).args(["stop", "web"]).run();
    assert_eq!(inspect(&web, "{{.State.ExitCode}}"), "0");
    assert_eq!(state(&api), "running", "stop web stops web only");

    // Works from labels alone too: -p where there is no stack file.
    let elsewhere = tempfile::tempdir().unwrap();
    pier(elsewhere.path()).args(["-p", &p.name, "stop"]).run();
    assert_eq!(state(&db), "exited");
    pier(dir).args(["down"]).run();
}

#[test]
fn stop_timeout_kills_a_container_that_ignores_term() {
    let p = Project::new("verbs-stop-t");
    let dir = p.dir.path();
    // It ignores SIGTERM and would be given an hour: only `-t` ends it soon.
    stack_file(
        &p,
        &format!(
            "  stubborn:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"trap '' TERM; while :; do sleep 1; done\"]\n    stop_grace_period: 1h\n"
        ),
    );
    pier(dir).args(["up"]).run();
    let mut stop = pier(dir).args(["stop", "-t", "1"]).spawn().unwrap();
    let status = poll("pier stop -t 1 to return", Duration::from_secs(120), || {
        stop.try_wait().unwrap()
    });
    if !status.success() {
        let _ = stop.kill();
    }
    assert!(status.success(), "{status}");
    assert_eq!(
        inspect(&p.container("stubborn"), "{{.State.ExitCode}}"),
        "137"
    );
}

#[test]
fn ls_lists_the_project_from_another_directory() {
    let p = Project::new("verbs-ls");
    chain(&p, free_port());
    let dir = p.dir.path();
    pier(dir).args(["up"]).run();
    let elsewhere = tempfile::tempdir().unwrap();
    let workdir = dir.canonicalize().unwrap().display().to_string();

    let out = Pier::in_dir(elsewhere.path()).args(["ls"]).run();
    let row = out
        .stdout
        .lines()
        .find(|l| l.starts_with(&format!("{} ", p.name)))
        .unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(row.contains("running(3)"), "{row}");
    assert!(
        row.ends_with(&workdir) || row.contains(&workdir),
        "{row} / {workdir}"
    );
    assert!(out.stdout.starts_with("NAME"), "{}", out.stdout);

    let out = Pier::in_dir(elsewhere.path()).args(["ls", "--json"]).run();
    let all: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let me = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Name"] == p.name.as_str())
        .unwrap_or_else(|| panic!("{all}"));
    assert_eq!(me["Status"], "running(3)");
    assert_eq!(me["WorkingDir"], workdir.as_str());

    // Stopped: only with --all, counted by state.
    pier(dir).args(["stop", "web"]).run();
    let out = Pier::in_dir(elsewhere.path())
        .args(["ls", "-a", "--json"])
        .run();
    let all: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let me = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Name"] == p.name.as_str())
        .unwrap();
    assert_eq!(me["Status"], "exited(1), running(2)");
    pier(dir).args(["stop"]).run();
    let out = Pier::in_dir(elsewhere.path()).args(["ls", "-q"]).run();
    assert!(!out.stdout.lines().any(|l| l == p.name), "{}", out.stdout);
    let out = Pier::in_dir(elsewhere.path())
        .args(["ls", "-a", "-q"])
        .run();
    assert!(out.stdout.lines().any(|l| l == p.name), "{}", out.stdout);
    pier(dir).args(["down"]).run();
}

#[test]
fn rm_and_port() {
    let p = Project::new("verbs-rm-port");
    let port = free_port();
    chain(&p, port);
    let dir = p.dir.path();
    pier(dir).args(["up"]).run();

    // port: the host address, as Compose prints it; what is not published is an error.
    pier(dir)
        .args(["port", "web", "80"])
        .stdout(format!("127.0.0.1:{port}\n"))
        .run();
    pier(dir)
        .args(["port", "web", "81"])
        .status(1)
        .stderr_contains("does not publish port 81/tcp; it publishes 80/tcp")
        .run();
    pier(dir)
        .args(["port", "webb", "80"])
        .status(2)
        .stderr_contains("did you mean `web`?")
        .run();

    // rm: running containers are kept; a "no" keeps the stopped ones too.
    pier(dir)
        .args(["rm", "-f"])
        .stdout("no stopped containers\n")
        .run();
    pier(dir).args(["stop", "web"]).run();
    pier(dir)
        .args(["rm", "web"])
        .input("n\n")
        .stdout("nothing removed\n")
        .stderr_contains(format!("Going to remove {}", p.container("web")))
        .run();
    assert_eq!(state(&p.container("web")), "exited");
    pier(dir)
        .args(["rm", "web"])
        .input("y\n")
        .stdout(format!("removed {}\n", p.container("web")))
        .run();
    assert!(docker(&["inspect", &p.container("web")]).is_err());

    // -s stops first; -f asks nothing.
    pier(dir)
        .args(["rm", "-s", "-f", "api"])
        .stdout(format!("removed {}\n", p.container("api")))
        .run();
    assert!(docker(&["inspect", &p.container("api")]).is_err());
    assert_eq!(state(&p.container("db")), "running");
    pier(dir).args(["down"]).run();
}

/// Removes a local image on drop (the tests' own builds).
struct Image(String);

impl Drop for Image {
    fn drop(&mut self) {
        let _ = docker(&["rmi", "-f", &self.0]);
    }
}

#[test]
fn build_builds_only_the_named_service_and_no_cache_builds_anew() {
    let p = Project::new("verbs-build");
    let dir = p.dir.path();
    let [one, two] = ["one", "two"].map(|s| format!("{}-{s}:1", p.name));
    let _images = [Image(one.clone()), Image(two.clone())];
    write(
        dir,
        "ctx/Dockerfile",
        &format!("FROM {IMAGE}\nRUN echo layer > /layer\n"),
    );
    stack_file(
        &p,
        &format!(
            "  one:\n    build: ./ctx\n    image: {one}\n  two:\n    build: ./ctx\n    image: {two}\n  plain:\n    image: {IMAGE}\n"
        ),
    );
    pier(dir)
        .args(["build", "one"])
        .stderr_contains(format!("ok build image {one} for one"))
        .run();
    assert!(docker(&["image", "inspect", &one]).is_ok());
    assert!(
        docker(&["image", "inspect", &two]).is_err(),
        "only the named service"
    );

    // Again: the cache serves the step; --no-cache runs it anew.
    pier(dir)
        .args(["build", "one"])
        .stderr_contains("Using cache")
        .run();
    pier(dir)
        .args(["build", "--no-cache", "one"])
        .stderr_lacks("Using cache")
        .stderr_contains(format!("ok build image {one} for one"))
        .run();
    // A service without `build:` has nothing to build: a note, no failure.
    pier(dir)
        .args(["build", "plain"])
        .stderr_contains("has nothing to build")
        .run();
}

#[test]
fn pull_pulls_the_named_images_from_a_registry() {
    let p = Project::new("verbs-pull");
    let registry = Registry::start();
    let pid = std::process::id();
    let pulled: Tag = registry.push_test_image("verbs-a", &pid.to_string());
    let other: Tag = registry.push_test_image("verbs-b", &pid.to_string());
    let missing = format!("127.0.0.1:{}/pier-test/verbs-missing:{pid}", registry.port);
    let dir = p.dir.path();
    stack_file(
        &p,
        &format!(
            "  a:\n    image: {}\n  b:\n    image: {}\n  gone:\n    image: {missing}\n",
            pulled.0, other.0
        ),
    );

    // Only the named service's image, with progress.
    pier(dir)
        .args(["pull", "a"])
        .stderr_contains(format!("ok pull image {} for a", pulled.0))
        .run();
    assert!(docker(&["image", "inspect", &pulled.0]).is_ok());
    assert!(
        docker(&["image", "inspect", &other.0]).is_err(),
        "only the named service"
    );

    // --quiet: nothing on stderr.
    pier(dir).args(["pull", "--quiet", "b"]).stderr("").run();
    assert!(docker(&["image", "inspect", &other.0]).is_ok());

    // A missing image fails the pull, naming it; --ignore-pull-failures pulls the
    // rest and warns.
    pier(dir)
        .args(["pull", "gone"])
        .status(1)
        .stderr_contains(&missing)
        .run();
    pier(dir)
        .args(["pull", "--ignore-pull-failures"])
        .stderr_contains("warning: pulling image")
        .stderr_contains(&missing)
        .run();
    drop((pulled, other));
    drop(registry);
}

#[test]
fn restart_waits_for_readiness_like_up() {
    let p = Project::new("verbs-restart-ready");
    let dir = p.dir.path();
    // Healthy only a moment after it starts: restart must wait for it.
    stack_file(
        &p,
        &format!(
            r#"  db:
    image: {IMAGE}
    command: ["sh", "-c", "{command}"]
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready"]
      interval: 5m
"#,
            command = idle_after("rm -f /tmp/ready; sleep 1; touch /tmp/ready;")
        ),
    );
    pier(dir).args(["up"]).run();
    pier(dir)
        .args(["restart", "db"])
        .stderr_contains("ok wait for db: service_healthy")
        .run();
    // Ready when restart returned: the file the health test looks for exists.
    assert!(
        docker(&["exec", &p.container("db"), "test", "-f", "/tmp/ready"]).is_ok(),
        "restart returned before db was ready"
    );
    pier(dir).args(["down"]).run();
}

#[test]
fn run_publish_use_aliases_and_build() {
    let p = Project::new("verbs-run-publish");
    let dir = p.dir.path();
    let image = format!("{}-web:1", p.name);
    let _image = Image(image.clone());
    let dockerfile = |marker: &str| {
        write(
            dir,
            "ctx/Dockerfile",
            &format!("FROM {IMAGE}\nRUN echo {marker} > /marker\n"),
        );
    };
    dockerfile("one");
    let idle = idle_after("");
    stack_file(
        &p,
        &format!(
            r#"  web:
    build: ./ctx
    image: {image}
    command: ["sh", "-c", "{idle}"]
    networks:
      default: {{aliases: [www]}}
  probe:
    image: {IMAGE}
    command: ["sh", "-c", "{idle}"]
"#
        ),
    );
    let marker = |extra: &[&str]| {
        let mut args = vec!["run", "--rm", "-T", "--no-deps"];
        args.extend(extra);
        args.extend(["web", "cat", "/marker"]);
        pier(dir).args(args).run().stdout
    };
    // Built because missing; then the image is there and is used as it is,
    // unless --build builds it again first.
    assert_eq!(marker(&[]), "one\n");
    dockerfile("two");
    assert_eq!(marker(&[]), "one\n");
    assert_eq!(marker(&["--build"]), "two\n");

    // -p after `run` publishes, on 127.0.0.1 without an address; --use-aliases
    // gives the one-off the service's names on its network.
    pier(dir).args(["up", "probe"]).run();
    let port = free_port();
    let out = pier(dir)
        .args([
            "run",
            "-d",
            "--no-deps",
            "--use-aliases",
            "-p",
            &format!("{port}:80"),
            "web",
            "httpd",
            "-f",
            "-p",
            "80",
        ])
        .run();
    let one_off = out.stdout.trim().to_string();
    assert_eq!(
        inspect(&one_off, "{{json .HostConfig.PortBindings}}"),
        format!(r#"{{"80/tcp":[{{"HostIp":"127.0.0.1","HostPort":"{port}"}}]}}"#)
    );
    let answer = poll("the one-off's httpd", Duration::from_secs(30), || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        (!text.is_empty()).then_some(text)
    });
    assert!(answer.starts_with("HTTP/1."), "{answer}");
    let network = format!("{}_default", p.name);
    let on_network = |field: &str| {
        inspect(
            &one_off,
            &format!("{{{{json (index .NetworkSettings.Networks \"{network}\").{field}}}}}"),
        )
    };
    let aliases = on_network("Aliases");
    assert!(
        aliases.contains(r#""web""#) && aliases.contains(r#""www""#),
        "{aliases}"
    );
    let ip = on_network("IPAddress");
    let ping = docker(&[
        "exec",
        &p.container("probe"),
        "ping",
        "-c",
        "1",
        "-W",
        "5",
        "www",
    ])
    .unwrap();
    assert!(
        ping.contains(&format!("({})", ip.trim_matches('"'))),
        "{ping}"
    );
    pier(dir).args(["down"]).run();
}

/// Compose's `run -v`, `-l`, `--cap-add/--cap-drop`: on the one-off only; a
/// host path is from the current directory, a named volume the stack's own
/// (created, labelled, when the service does not use it); bad values are exit 2
/// before anything is made.
#[test]
fn run_volume_label_and_capabilities() {
    let p = Project::new("verbs-run-volume");
    let dir = p.dir.path();
    let idle = idle_after("");
    write(
        dir,
        "pier.yaml",
        &format!(
            "name: {}\nservices:\n  web:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{idle}\"]\nvolumes:\n  cache:\n",
            p.name
        ),
    );
    write(dir, "src/hello.txt", "from the host\n");
    pier(dir)
        .args([
            "run",
            "-v",
            "dta:/d",
            "-l",
            "io.pier.x=1",
            "--cap-add",
            "NET ADMIN",
            "web",
            "true",
        ])
        .status(2)
        .stderr_contains("`-v dta:/d`: volume `dta` is not declared")
        .stderr_contains("`-l io.pier.x=1`")
        .stderr_contains("`--cap-add NET ADMIN`")
        .run();
    assert!(
        p.containers().is_empty() && p.volumes().is_empty(),
        "nothing made"
    );

    let out = pier(dir)
        .args([
            "run",
            "--rm",
            "-T",
            "-v",
            "./src:/app:ro",
            "-v",
            "cache:/cache",
            "web",
            "sh",
            "-c",
            "cat /app/hello.txt; echo kept > /cache/f; touch /app/x 2>/dev/null || echo read-only",
        ])
        .run()
        .stdout;
    assert_eq!(out, "from the host\nread-only\n");
    let volume = format!("{}_cache", p.name);
    assert_eq!(
        docker(&[
            "volume",
            "inspect",
            "-f",
            "{{index .Labels \"io.pier.project\"}}",
            &volume
        ])
        .unwrap(),
        p.name
    );
    let one_off = pier(dir)
        .args([
            "run",
            "-d",
            "-v",
            "cache:/cache",
            "-l",
            "com.example.purpose=debug",
            "--cap-add",
            "net_admin",
            "--cap-drop",
            "NET_RAW",
            "web",
            "sh",
            "-c",
            &idle,
        ])
        .run()
        .stdout
        .trim()
        .to_string();
    assert_eq!(
        docker(&["exec", &one_off, "cat", "/cache/f"]).unwrap(),
        "kept"
    );
    assert_eq!(
        inspect(&one_off, "{{index .Config.Labels \"com.example.purpose\"}}"),
        "debug"
    );
    assert_eq!(
        inspect(&one_off, "{{json .HostConfig.CapAdd}}"),
        r#"["NET_ADMIN"]"#
    );
    assert_eq!(
        inspect(&one_off, "{{json .HostConfig.CapDrop}}"),
        r#"["NET_RAW"]"#
    );
    // The service's own container has none of it.
    pier(dir).args(["up"]).run();
    let web = p.container("web");
    assert_eq!(inspect(&web, "{{json .HostConfig.CapAdd}}"), "null");
    assert!(!inspect(&web, "{{json .Mounts}}").contains("/cache"));
    pier(dir).args(["down", "-v", "--no-snapshot"]).run();
}

#[test]
fn ps_all_lists_run_one_offs_which_stay_out_of_orphans_and_go_with_down() {
    let p = Project::new("verbs-ps-one-offs");
    let dir = p.dir.path();
    let idle = idle_after("");
    stack_file(
        &p,
        &format!(
            r#"  web:
    image: {IMAGE}
    command: ["sh", "-c", "{idle}"]
  job:
    image: {IMAGE}
    command: ["true"]
"#
        ),
    );
    pier(dir).args(["up", "web"]).run();
    let running = pier(dir)
        .args(["run", "-d", "--no-deps", "web"])
        .run()
        .stdout
        .trim()
        .to_string();
    pier(dir).args(["run", "-T", "--no-deps", "job"]).run();
    let exited = one_offs(&p)
        .into_iter()
        .find(|c| c.contains("-job-run-"))
        .expect("job's one-off");
    let id = |c: &str| inspect(c, "{{.Id}}");

    // Without -a the services alone, as Compose's `ps`.
    let ps = pier(dir).args(["ps"]).run().stdout;
    assert!(!ps.contains("-run-"), "{ps}");
    pier(dir)
        .args(["ps", "-q"])
        .stdout(format!("{}\n", id(&p.container("web"))))
        .run();
    pier(dir).args(["ps", "--services"]).stdout("web\n").run();

    // With -a the one-offs too, after the services, by name.
    let ps = pier(dir).args(["ps", "-a"]).run().stdout;
    let one_off_lines: Vec<&str> = ps.lines().filter(|l| l.contains("(one-off)")).collect();
    assert_eq!(one_off_lines.len(), 2, "{ps}");
    assert!(one_off_lines[0].starts_with("job (one-off)") && one_off_lines[0].contains(&exited));
    assert!(one_off_lines[0].contains("exited (0)"), "{ps}");
    assert!(one_off_lines[1].starts_with("web (one-off)") && one_off_lines[1].contains(&running));
    pier(dir)
        .args(["ps", "-a", "-q"])
        .stdout(format!(
            "{}\n{}\n{}\n",
            id(&p.container("web")),
            id(&exited),
            id(&running)
        ))
        .run();
    pier(dir)
        .args(["ps", "-a", "--services"])
        .stdout("web\njob\n")
        .run();
    let json: serde_json::Value =
        serde_json::from_str(&pier(dir).args(["ps", "-a", "--json"]).run().stdout).unwrap();
    let flagged: Vec<(&str, bool)> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["container"].as_str().unwrap_or("-"), r["one_off"] == true))
        .collect();
    assert_eq!(
        flagged,
        [
            ("-", false),
            (p.container("web").as_str(), false),
            (exited.as_str(), true),
            (running.as_str(), true),
        ]
    );

    // Not orphans: `up --remove-orphans` leaves them; `down` removes them.
    pier(dir)
        .args(["up", "--remove-orphans", "web"])
        .stderr_lacks("-run-")
        .run();
    assert_eq!(one_offs(&p).len(), 2);
    pier(dir).args(["down"]).run();
    assert!(p.containers().is_empty(), "{:?}", p.containers());
}
