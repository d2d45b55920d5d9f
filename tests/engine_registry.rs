//! `pier up --pull always|never` against a real registry: Debian's
//! `docker-registry` (registry v2), serving from a temporary directory on
//! 127.0.0.1 (which the engine treats as an insecure registry by default). The
//! test image is pushed there with the docker CLI — test setup, not pier.

mod support;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use predicates::prelude::*;
use support::*;

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A registry process and its storage; killed and removed on drop, also when the
/// test panics.
struct Registry {
    child: Child,
    port: u16,
    _storage: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "this test needs {REGISTRY_BIN}: run `apt-get install -y docker-registry` (or scripts/test.sh)"
        );
        let storage = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = write(
            storage.path(),
            "config.yml",
            &format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                storage.path().join("data").display()
            ),
        );
        let child = Process::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting docker-registry");
        let mut registry = Registry {
            child,
            port,
            _storage: storage,
        };
        poll("the registry to listen", Duration::from_secs(30), || {
            if let Some(status) = registry.child.try_wait().unwrap() {
                panic!("docker-registry exited at start: {status}");
            }
            TcpStream::connect(("127.0.0.1", port)).ok()
        });
        registry
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes a local image tag on drop (the tag only: the test image keeps its own).
struct Tag(String);

impl Drop for Tag {
    fn drop(&mut self) {
        let _ = docker(&["rmi", &self.0]);
    }
}

#[test]
fn up_pulls_from_a_registry_and_pull_never_names_the_missing_image() {
    let p = Project::new("registry");
    let registry = Registry::start();
    let image = format!(
        "127.0.0.1:{}/pier-test/busybox:reg-{}",
        registry.port,
        std::process::id()
    );
    let tag = Tag(image.clone());
    docker(&["tag", IMAGE, &image]).unwrap();
    // The registry may accept connections a moment before it serves pushes.
    poll("the push to succeed", Duration::from_secs(30), || {
        docker(&["push", &image]).ok()
    });
    docker(&["rmi", &image]).unwrap();
    assert!(docker(&["image", "inspect", &image]).is_err());

    write(
        p.dir.path(),
        "pier.yaml",
        &format!(
            "name: {}\nservices:\n  app:\n    image: {image}\n    command: [\"sh\", \"-c\", \"trap 'exit 0' TERM; while :; do sleep 1; done\"]\n",
            p.name
        ),
    );
    let dir = p.dir.path();

    // Absent and never to be pulled: exit 1, naming the image; nothing runs.
    Pier::in_dir(dir)
        .args(["--progress", "plain", "up", "--pull", "never"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(image.as_str()));
    assert!(
        p.containers()
            .iter()
            .all(|c| inspect(c, "{{.State.Running}}") != "true"),
        "nothing may run without the image"
    );
    Pier::in_dir(dir).args(["down"]).assert().success();

    // Always: pulled from the registry, and the service runs.
    Pier::in_dir(dir)
        .args(["--progress", "plain", "up", "--pull", "always"])
        .assert()
        .success()
        .stderr(predicate::str::contains(format!("ok pull image {image}")));
    assert!(docker(&["image", "inspect", &image]).is_ok());
    assert_eq!(inspect(&p.container("app"), "{{.State.Running}}"), "true");
    assert_eq!(inspect(&p.container("app"), "{{.Config.Image}}"), image);

    Pier::in_dir(dir).args(["down"]).assert().success();
    drop(tag);
    drop(registry);
}
