//! The benchmark's stack files: tiny busybox services, so the times are orchestration.

use std::path::{Path, PathBuf};

use crate::IMAGE;

pub struct Files {
    pub chain5: PathBuf,
    pub wide20: PathBuf,
    pub healthy3: PathBuf,
}

/// A service that idles and exits at once on SIGTERM (`wait` is interrupted by the
/// trap, where a plain `sleep` would hold the stop up for its grace period).
fn service(name: &str, extra: &str) -> String {
    format!(
        "  {name}:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"touch /tmp/ready; trap 'exit 0' TERM; sleep 86400 & wait\"]\n{extra}"
    )
}

pub fn chain5() -> String {
    let mut s = String::from("services:\n");
    for i in 1..=5 {
        let deps = if i == 1 {
            String::new()
        } else {
            format!(
                "    depends_on:\n      s{}:\n        condition: service_started\n",
                i - 1
            )
        };
        s.push_str(&service(&format!("s{i}"), &deps));
    }
    s
}

pub fn wide20() -> String {
    let mut s = String::from("services:\n");
    for i in 1..=20 {
        s.push_str(&service(&format!("s{i:02}"), ""));
    }
    s
}

pub fn healthy3() -> String {
    let mut s = String::from("services:\n");
    s.push_str(&service(
        "db",
        "    healthcheck:\n      test: [\"CMD-SHELL\", \"test -e /tmp/ready\"]\n      interval: 1s\n      timeout: 1s\n      retries: 30\n",
    ));
    for app in ["app1", "app2"] {
        s.push_str(&service(
            app,
            "    depends_on:\n      db:\n        condition: service_healthy\n",
        ));
    }
    s
}

pub fn write_all(dir: &Path) -> Files {
    let write = |name: &str, text: String| {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("compose.yaml");
        std::fs::write(&f, text).unwrap();
        f
    };
    Files {
        chain5: write("chain5", chain5()),
        wide20: write("wide20", wide20()),
        healthy3: write("healthy3", healthy3()),
    }
}
