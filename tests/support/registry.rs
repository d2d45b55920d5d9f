//! A local registry for the tests that pull: Debian's `docker-registry` (registry
//! v2), serving from a temporary directory on 127.0.0.1 (which the engine treats
//! as an insecure registry by default). Images are pushed there with the docker
//! CLI — test setup, not pier.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use super::{IMAGE, docker, free_port, poll, write};

const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A registry process and its storage; killed and removed on drop, also when the
/// test panics.
pub struct Registry {
    child: Child,
    pub port: u16,
    _storage: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "this test needs {REGISTRY_BIN}: run `apt-get install -y docker-registry` (or scripts/test.sh)"
        );
        let storage = tempfile::tempdir().unwrap();
        let port = free_port();
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
pub struct Tag(pub String);

impl Drop for Tag {
    fn drop(&mut self) {
        let _ = docker(&["rmi", &self.0]);
    }
}

impl Registry {
    /// The test image pushed here as `pier-test/<name>:<tag>`, then removed locally
    /// (so that only a pull brings it back). Its local tag goes when the `Tag` drops.
    pub fn push_test_image(&self, name: &str, tag: &str) -> Tag {
        let image = format!("127.0.0.1:{}/pier-test/{name}:{tag}", self.port);
        let guard = Tag(image.clone());
        docker(&["tag", IMAGE, &image]).unwrap();
        // The registry may accept connections a moment before it serves pushes.
        poll("the push to succeed", Duration::from_secs(30), || {
            docker(&["push", &image]).ok()
        });
        docker(&["rmi", &image]).unwrap();
        assert!(docker(&["image", "inspect", &image]).is_err());
        guard
    }
}
