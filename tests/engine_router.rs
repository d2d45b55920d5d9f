//! The shared router (names and HTTPS) against the real engine, with the Caddy
//! stand-in `pier-standin/caddy:2` (scripts/build-standins.sh caddy): projects
//! reachable at `https://<project>.localhost` through the local CA, plain HTTP
//! redirected, `down` and a crash answered with a page, a fallback port when 443
//! is taken, loopback only.
//!
//! The router is one per engine: the tests here take turns (`ROUTER`), and each
//! removes the router and its network when it ends, even when it fails. Run
//! under the engine tests' lock:
//! `flock /tmp/pier-engine-tests.lock cargo test --locked --test engine_router`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use support::*;

const STANDIN: &str = "pier-standin/caddy:2";

/// One router per engine: one test at a time.
static ROUTER: Mutex<()> = Mutex::new(());

/// The router of one test: its data directory (the local CA), and on drop the
/// router's container and network removed (after the projects' containers).
struct Router {
    data: tempfile::TempDir,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl Router {
    fn new() -> Router {
        let turn = ROUTER.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            docker(&["image", "inspect", STANDIN]).is_ok(),
            "the router tests need the Caddy stand-in: run scripts/build-standins.sh caddy"
        );
        remove_router();
        Router {
            data: tempfile::tempdir().unwrap(),
            _turn: turn,
        }
    }

    /// pier in `dir` with the router on, the stand-in image and this test's data dir.
    fn pier(&self, dir: &Path) -> Pier {
        Pier::in_dir(dir)
            .env("PIER_ROUTER", "on")
            .env("PIER_ROUTER_IMAGE", STANDIN)
            .env("XDG_DATA_HOME", self.data.path())
    }

    fn root_cert(&self) -> PathBuf {
        self.data
            .path()
            .join("pier/router/caddy/pki/authorities/local/root.crt")
    }

    fn status(&self, dir: &Path) -> serde_json::Value {
        let out = self.pier(dir).args(["router", "status", "--json"]).run();
        serde_json::from_str(&out.stdout).unwrap()
    }

    fn https_port(&self, dir: &Path) -> u16 {
        self.status(dir)["https_port"]
            .as_u64()
            .expect("an https port") as u16
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        remove_router();
    }
}

fn remove_router() {
    let _ = docker(&["rm", "-f", "-v", "pier-router"]);
    let _ = docker(&["network", "rm", "pier-router"]);
}

/// A project whose web service (busybox httpd, labelled as the HTTP port)
/// serves `page`, and whose `docs` service is a web service by its published
/// port 8000.
fn web_project(test: &str, page: &str) -> Project {
    let p = Project::new(test);
    let yaml = format!(
        r#"name: {name}
services:
  web:
    image: {IMAGE}
    command: ["sh", "-c", "mkdir -p /www && echo '{page}' > /www/index.html && exec httpd -f -p 80 -h /www"]
    labels:
      io.pier.http: "80"
  docs:
    image: {IMAGE}
    command: ["sh", "-c", "mkdir -p /www && echo 'docs of {name}' > /www/index.html && exec httpd -f -p 8000 -h /www"]
    ports: ["127.0.0.1::8000"]
"#,
        name = p.name
    );
    write(p.dir.path(), "pier.yaml", &yaml);
    p
}

/// `curl` of `url` with the local CA: (HTTP status, body), or None when it failed.
fn curl(url: &str, cacert: &Path) -> Option<(u16, String)> {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "--cacert"])
        .arg(cacert)
        .args(["-w", "\n%{http_code}", url])
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n')?;
    Some((code.trim().parse().ok()?, body.to_string()))
}

/// Poll until `url` answers `code` with a body containing `want`.
fn answers(url: &str, cacert: &Path, code: u16, want: &str) -> String {
    poll(
        &format!("{url} to answer {code} with {want:?}"),
        Duration::from_secs(30),
        || curl(url, cacert).filter(|(c, body)| *c == code && body.contains(want)),
    )
    .1
}

fn url(host: &str, port: u16) -> String {
    match port {
        443 => format!("https://{host}"),
        p => format!("https://{host}:{p}"),
    }
}

#[test]
fn two_projects_by_name_over_https_redirects_down_and_a_crash() {
    let router = Router::new();
    let a = web_project("rt-a", "hello from a");
    let b = web_project("rt-b", "hello from b");
    let up_a = router.pier(a.dir.path()).arg("up").run();
    router.pier(b.dir.path()).arg("up").run();
    let port = router.https_port(a.dir.path());
    let (host_a, host_b) = (
        format!("{}.localhost", a.name),
        format!("{}.localhost", b.name),
    );

    // up's table: the names first, then the published port.
    let web_line = up_a
        .stdout
        .lines()
        .find(|l| l.starts_with("web"))
        .expect("a row for web");
    assert!(
        web_line.contains(&format!(
            "{} {}",
            url(&host_a, port),
            url(&format!("web.{host_a}"), port)
        )),
        "{}",
        up_a.stdout
    );
    assert!(
        up_a.stdout
            .contains(&router.root_cert().display().to_string())
    );

    // ls lists each project's own name first, from any directory.
    let ls = router
        .pier(std::env::temp_dir().as_path())
        .args(["ls", "--json"])
        .run();
    let projects: serde_json::Value = serde_json::from_str(&ls.stdout).unwrap();
    let row = |name: &str| {
        projects
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["Name"] == name)
            .unwrap_or_else(|| panic!("{name} in {}", ls.stdout))
            .clone()
    };
    assert_eq!(row(&a.name)["URLs"][0], url(&host_a, port), "{}", ls.stdout);
    assert_eq!(row(&b.name)["URLs"][0], url(&host_b, port), "{}", ls.stdout);
    let table = router.pier(std::env::temp_dir().as_path()).arg("ls").run();
    assert!(
        table.stdout.contains(&url(&host_b, port)),
        "{}",
        table.stdout
    );

    // Each project at its own name, over HTTPS verified with the local CA.
    let root = router.root_cert();
    answers(&url(&host_a, port), &root, 200, "hello from a");
    answers(&url(&host_b, port), &root, 200, "hello from b");
    answers(
        &url(&format!("web.{host_b}"), port),
        &root,
        200,
        "hello from b",
    );
    answers(
        &url(&format!("docs.{host_a}"), port),
        &root,
        200,
        &format!("docs of {}", a.name),
    );
    // With the system's CAs only, curl refuses the certificate (60: not trusted).
    let untrusted = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "--cacert",
            "/etc/ssl/certs/ca-certificates.crt",
        ])
        .arg(url(&host_a, port))
        .output()
        .unwrap();
    assert_eq!(untrusted.status.code(), Some(60), "{untrusted:?}");

    // Plain HTTP redirects to HTTPS on the router's port.
    let http_port = router.status(a.dir.path())["http_port"].as_u64().unwrap();
    let redirect = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{redirect_url}",
        ])
        .arg(format!("http://{host_a}:{http_port}/x?y=1"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&redirect.stdout),
        format!("308 {}/x?y=1", url(&host_a, port))
    );

    // info shows the names first.
    let info = router.pier(a.dir.path()).arg("info").run();
    let web_line = info.stdout.lines().find(|l| l.starts_with("web")).unwrap();
    assert!(
        web_line.ends_with(&format!(
            "running  {} {}",
            url(&host_a, port),
            url(&format!("web.{host_a}"), port)
        )),
        "{}",
        info.stdout
    );

    // The CA key stays the user's: 0600 in a 0700 directory.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&router.data.path().join("pier/router")), 0o700);
    assert_eq!(
        mode(
            &router
                .data
                .path()
                .join("pier/router/caddy/pki/authorities/local/root.key")
        ),
        0o600
    );

    // A crashed service answers with a page, not a hang.
    docker(&["kill", &b.container("web")]).unwrap();
    let page = answers(&url(&host_b, port), &root, 502, "is not running");
    assert!(
        page.contains(&format!("project {} is not running — `pier up` in", b.name)),
        "{page}"
    );

    // down of one: the other still works; its own names say where to start it.
    router.pier(a.dir.path()).arg("down").run();
    let page = answers(&url(&host_a, port), &root, 503, "is not running");
    assert_eq!(
        page.trim(),
        format!(
            "project {} is not running — `pier up` in {}",
            a.name,
            a.dir.path().display()
        )
    );
    router.pier(b.dir.path()).arg("up").run();
    answers(&url(&host_b, port), &root, 200, "hello from b");
    let status = router.status(a.dir.path());
    assert_eq!(status["state"], "running");
    let projects = status["projects"].as_array().unwrap();
    let state_of = |name: &str| {
        projects
            .iter()
            .find(|p| p["project"] == name)
            .map(|p| p["running"].as_bool().unwrap())
    };
    assert_eq!(state_of(&a.name), Some(false));
    assert_eq!(state_of(&b.name), Some(true));

    // The last project down: the router stops.
    router
        .pier(b.dir.path())
        .arg("down")
        .stderr_contains("the router stopped")
        .run();
    assert_eq!(router.status(a.dir.path())["state"], "exited");
}

#[test]
fn a_taken_port_443_moves_https_to_the_fallback_and_says_so() {
    let router = Router::new();
    // Something else holds 127.0.0.1:443 (a container of this test's own project).
    let holder = Project::new("rt-hold");
    let holding = format!("{}-holder", holder.name);
    let held = docker(&[
        "run",
        "-d",
        "--name",
        &holding,
        "--label",
        &format!("io.pier.project={}", holder.name),
        "-p",
        "127.0.0.1:443:80",
        IMAGE,
        "httpd",
        "-f",
        "-p",
        "80",
    ]);
    let port_443_busy = held.is_ok() || std::net::TcpStream::connect("127.0.0.1:443").is_ok();
    assert!(port_443_busy, "could not occupy 127.0.0.1:443: {held:?}");

    let p = web_project("rt-port", "hello on the fallback port");
    router.pier(p.dir.path()).arg("up").run();
    let status = router.status(p.dir.path());
    let port = status["https_port"].as_u64().unwrap() as u16;
    assert_ne!(port, 443);
    assert_eq!(
        port, 10443,
        "the first fallback, unless it is taken too: {status}"
    );
    let host = format!("{}.localhost", p.name);
    answers(
        &url(&host, port),
        &router.root_cert(),
        200,
        "hello on the fallback port",
    );
    router
        .pier(p.dir.path())
        .arg("info")
        .stdout_contains(format!("https://{host}:{port}"))
        .stdout_contains(format!(
            "the router serves HTTPS on 127.0.0.1:{port}: port 443 was taken"
        ))
        .run();
    router
        .pier(p.dir.path())
        .args(["router", "status"])
        .stdout_contains(format!("HTTPS is on port {port}: 443 was taken"))
        .run();

    // Loopback only: every binding is on 127.0.0.1, and nothing answers on
    // another address of this machine.
    let bindings = docker(&["port", "pier-router"]).unwrap();
    assert!(!bindings.is_empty());
    for line in bindings.lines() {
        assert!(line.contains("-> 127.0.0.1:"), "{bindings}");
    }
    let other_ips = Command::new("hostname").arg("-I").output().unwrap();
    for ip in String::from_utf8_lossy(&other_ips.stdout).split_whitespace() {
        let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
            continue;
        };
        if ip.is_loopback() {
            continue;
        }
        let addr = std::net::SocketAddr::new(ip, port);
        assert!(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(),
            "the router answers on {addr}"
        );
    }
    router
        .pier(p.dir.path())
        .args(["router", "stop"])
        .stdout("stopped the router (`pier up` starts it again)\n")
        .run();
}

#[test]
fn the_router_is_off_when_asked_and_for_stacks_without_web_services() {
    let router = Router::new();
    let p = web_project("rt-off", "no names");
    router
        .pier(p.dir.path())
        .env("PIER_ROUTER", "off")
        .arg("up")
        .stdout_lacks(".localhost")
        .run();
    assert!(
        docker(&["inspect", "pier-router"]).is_err(),
        "no router was made"
    );
    router.pier(p.dir.path()).arg("down").run();

    let quiet = Project::new("rt-quiet");
    write(
        quiet.dir.path(),
        "pier.yaml",
        &format!(
            "name: {}\nservices:\n  worker:\n    image: {IMAGE}\n    command: [\"sh\", \"-c\", \"{}\"]\n",
            quiet.name,
            idle_after("")
        ),
    );
    router.pier(quiet.dir.path()).arg("up").run();
    assert!(
        docker(&["inspect", "pier-router"]).is_err(),
        "no web service, no router"
    );
    router.pier(quiet.dir.path()).arg("down").run();

    router
        .pier(p.dir.path())
        .env("PIER_ROUTER", "maybe")
        .arg("up")
        .status(2)
        .stderr_contains("PIER_ROUTER=maybe")
        .run();
}
