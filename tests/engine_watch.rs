//! `pier watch` against a real engine: each test writes a stack file with
//! `develop.watch` rules into its own project directory, starts `pier watch`
//! (which brings the stack up), changes files on the host and polls the
//! container until the change shows, with a deadline. Ctrl-C (SIGINT) ends
//! watching and must leave the stack running.
//!
//! Run under the shared lock: `flock /tmp/pier-engine-tests.lock cargo test --test engine_watch`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{IMAGE, Pier, Project, docker, poll, write};

const WITHIN: Duration = Duration::from_secs(60);

/// A service's lines: built from `dir` (a Dockerfile on the busybox test image),
/// idling until SIGTERM.
fn built(dir: &str) -> String {
    format!(
        "    build: ./{dir}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n"
    )
}

fn dockerfile(project: &Project, dir: &str, extra: &str) {
    write(
        project.dir.path(),
        &format!("{dir}/Dockerfile"),
        &format!("FROM {IMAGE}\n{extra}"),
    );
}

/// `pier watch` running in the project directory; its stderr collected as it comes.
struct Watching {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Watching {
    fn start(project: &Project, args: &[&str]) -> Watching {
        let mut child = Pier::in_dir(project.dir.path())
            .args(["--progress", "plain", "watch"])
            .args(args)
            .spawn()
            .expect("pier watch starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut s = collected.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let w = Watching { child, stderr };
        w.until_stderr("watching ");
        w
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    fn until_stderr(&self, text: &str) {
        self.until(&format!("{text:?} in pier's stderr"), || {
            self.stderr().contains(text)
        });
    }

    /// Poll `f` with a deadline; on giving up, show what pier said.
    fn until(&self, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = std::time::Instant::now() + WITHIN;
        while !f() {
            assert!(
                std::time::Instant::now() < deadline,
                "gave up waiting for {what}\n--- pier's stderr\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn until_content(&self, container: &str, path: &str, want: &str) {
        self.until(&format!("{path} = {want:?} in {container}"), || {
            cat(container, path).as_deref() == Some(want)
        });
    }

    fn until_gone(&self, container: &str, path: &str) {
        self.until(&format!("{path} gone from {container}"), || {
            !exists(container, path)
        });
    }

    /// Ctrl-C: pier stops watching and exits 0, saying the stack still runs.
    fn interrupt(mut self) -> String {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let mut stdout = String::new();
        let mut pipe = self.child.stdout.take().unwrap();
        std::io::Read::read_to_string(&mut pipe, &mut stdout).unwrap();
        let status = self.child.wait().unwrap();
        assert!(
            status.success(),
            "pier watch after Ctrl-C: {status}\n{stdout}\n{}",
            self.stderr.lock().unwrap()
        );
        assert!(stdout.contains("stopped watching"), "{stdout}");
        stdout
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cat` of a file in the container, None while it is not there.
fn cat(container: &str, path: &str) -> Option<String> {
    docker(&["exec", container, "cat", path]).ok()
}

fn exists(container: &str, path: &str) -> bool {
    docker(&["exec", container, "test", "-e", path]).is_ok()
}

fn id(container: &str) -> String {
    docker(&["inspect", "-f", "{{.Id}}", container]).unwrap()
}

fn running(container: &str) -> bool {
    docker(&["inspect", "-f", "{{.State.Running}}", container]).as_deref() == Ok("true")
}

fn stack_file(project: &Project, services: &str) {
    write(
        project.dir.path(),
        "pier.yaml",
        &format!("name: {}\nservices:\n{services}", project.name),
    );
}

#[test]
fn sync_copies_written_files_deletes_removed_ones_and_honours_ignores() {
    let project = Project::new("watch-sync");
    let dir = project.dir.path();
    dockerfile(&project, "web", "");
    write(dir, "web/src/keep.txt", "kept");
    // The build context's .dockerignore holds for watching too.
    write(dir, "web/.dockerignore", "src/secret\n");
    stack_file(
        &project,
        &format!(
            "  web:\n{}    develop:\n      watch:\n        - path: ./web/src\n          action: sync\n          target: /app\n          ignore: [\"*.tmp\", cache/]\n",
            built("web")
        ),
    );
    let watching = Watching::start(&project, &[]);
    let web = project.container("web");

    write(dir, "web/src/a.txt", "one");
    watching.until_content(&web, "/app/a.txt", "one");
    write(dir, "web/src/a.txt", "two");
    watching.until_content(&web, "/app/a.txt", "two");
    write(dir, "web/src/deep/er/b.txt", "nested");
    watching.until_content(&web, "/app/deep/er/b.txt", "nested");

    // Ignored paths are written first; once a later file is there, they were passed over.
    write(dir, "web/src/x.tmp", "no");
    write(dir, "web/src/cache/c.txt", "no");
    write(dir, "web/src/.git/HEAD", "no");
    write(dir, "web/src/secret/key", "no");
    write(dir, "web/src/after.txt", "yes");
    watching.until_content(&web, "/app/after.txt", "yes");
    for ignored in ["/app/x.tmp", "/app/cache", "/app/.git", "/app/secret"] {
        assert!(!exists(&web, ignored), "{ignored} must not be synced");
    }

    std::fs::remove_file(dir.join("web/src/a.txt")).unwrap();
    watching.until_gone(&web, "/app/a.txt");
    std::fs::remove_dir_all(dir.join("web/src/deep")).unwrap();
    watching.until_gone(&web, "/app/deep");
    assert!(
        watching.stderr().contains("watch: web: sync"),
        "{}",
        watching.stderr()
    );
    watching.interrupt();
    assert!(running(&web), "Ctrl-C leaves the stack running");
}

#[test]
fn sync_restart_restarts_and_sync_exec_runs_the_command() {
    let project = Project::new("watch-restart");
    let dir = project.dir.path();
    dockerfile(&project, "web", "");
    write(dir, "conf/app.ini", "a=1");
    write(dir, "tpl/page.html", "v1");
    stack_file(
        &project,
        &format!(
            "  web:\n{}    develop:\n      watch:\n\
             \x20       - path: ./conf\n          action: sync+restart\n          target: /etc/app\n\
             \x20       - path: ./tpl\n          action: sync+exec\n          target: /srv/tpl\n\
             \x20         exec:\n            command: sh -c 'echo \"$$MODE $(pwd) $(cat page.html)\" > /tmp/ran'\n\
             \x20           working_dir: /srv/tpl\n            environment:\n              MODE: dev\n",
            built("web")
        ),
    );
    let watching = Watching::start(&project, &[]);
    let web = project.container("web");
    let before = support::started_at(&web);

    write(dir, "tpl/page.html", "v2");
    watching.until_content(&web, "/tmp/ran", "dev /srv/tpl v2");
    assert_eq!(
        support::started_at(&web),
        before,
        "sync+exec does not restart"
    );

    write(dir, "conf/app.ini", "a=2");
    watching.until("the container restarted", || {
        support::started_at(&web) != before && running(&web)
    });
    watching.until_content(&web, "/etc/app/app.ini", "a=2");
    watching.until_stderr("watch: web: sync+restart");
    watching.interrupt();
}

#[test]
fn rebuild_recreates_only_its_service_and_a_failing_one_keeps_the_old_container() {
    let project = Project::new("watch-rebuild");
    let dir = project.dir.path();
    dockerfile(&project, "web", "COPY version.txt /version.txt\n");
    write(dir, "web/version.txt", "1");
    dockerfile(&project, "other", "");
    stack_file(
        &project,
        &format!(
            "  web:\n{}    depends_on: [other]\n    develop:\n      watch:\n        - path: ./web\n          action: rebuild\n  other:\n{}",
            built("web"),
            built("other")
        ),
    );
    let watching = Watching::start(&project, &[]);
    let (web, other) = (project.container("web"), project.container("other"));
    let (web_id, other_id) = (id(&web), id(&other));

    write(dir, "web/version.txt", "2");
    watching.until_content(&web, "/version.txt", "2");
    assert_ne!(id(&web), web_id);
    assert_eq!(
        id(&other),
        other_id,
        "other is neither rebuilt nor recreated"
    );
    watching.until_stderr("watch: web: rebuild");

    // A build that fails: the message and the build's output, the old container kept.
    let web_id = id(&web);
    dockerfile(&project, "web", "RUN echo broken-build-output && exit 3\n");
    watching.until_stderr("rebuild failed; the running container is kept");
    assert!(
        watching.stderr().contains("broken-build-output"),
        "{}",
        watching.stderr()
    );
    assert_eq!(id(&web), web_id);
    assert!(running(&web));

    // The watcher goes on: a fixed Dockerfile rebuilds again.
    dockerfile(&project, "web", "COPY version.txt /version.txt\n");
    write(dir, "web/version.txt", "3");
    watching.until_content(&web, "/version.txt", "3");
    watching.interrupt();
}

#[test]
fn rules_that_cannot_act_are_named_and_the_rest_still_watch() {
    let project = Project::new("watch-faults");
    let dir = project.dir.path();
    dockerfile(&project, "web", "");
    write(dir, "src/ok.txt", "x");
    stack_file(
        &project,
        &format!(
            "  web:\n{}    develop:\n      watch:\n        - path: ./missing\n          action: sync\n          target: /m\n        - path: ./src\n          action: sync\n          target: /app\n  plain:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n    develop:\n      watch:\n        - path: ./src\n          action: rebuild\n",
            built("web")
        ),
    );
    let watching = Watching::start(&project, &[]);
    let stderr = watching.stderr();
    assert!(
        stderr.contains("services.web.develop.watch[0]") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("services.plain.develop.watch[0]") && stderr.contains("needs a `build:`"),
        "{stderr}"
    );
    // A burst: 10,000 files in one go all arrive.
    let burst = dir.join("src/burst");
    std::fs::create_dir_all(&burst).unwrap();
    for i in 0..10_000 {
        std::fs::write(burst.join(format!("f{i}")), i.to_string()).unwrap();
    }
    let web = project.container("web");
    poll("10,000 files synced", Duration::from_secs(180), || {
        let n = docker(&["exec", &web, "sh", "-c", "ls /app/burst | wc -l"]).ok()?;
        (n.trim() == "10000").then_some(())
    });
    assert_eq!(cat(&web, "/app/burst/f9999").as_deref(), Some("9999"));
    // A file nobody can read (a socket): named, and the files beside it still go.
    let _socket = std::os::unix::net::UnixListener::bind(dir.join("src/sock")).unwrap();
    write(dir, "src/beside.txt", "b");
    watching.until_content(&web, "/app/beside.txt", "b");
    watching.until_stderr("cannot read");
    assert!(
        watching.stderr().contains("src/sock"),
        "{}",
        watching.stderr()
    );
    watching.interrupt();
}

#[test]
fn a_service_without_rules_is_refused_before_anything_starts() {
    let project = Project::new("watch-none");
    stack_file(&project, &format!("  web:\n    image: {IMAGE}\n"));
    let out = Pier::in_dir(project.dir.path())
        .args(["watch"])
        .status(2)
        .stderr_contains("nothing to watch")
        .run();
    drop(out);
    assert!(project.containers().is_empty(), "nothing was created");
}
