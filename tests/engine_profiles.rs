//! Profiles and the override file on a real `pier up`, through the binary,
//! against the real engine. Each test has its own project; `Project` removes
//! what carries its label, also when a test fails.

mod support;

use support::*;

const IDLE: &str = "trap 'exit 0' TERM; while :; do sleep 1; done";

/// app always; debug only with the `debug` profile (or when named), needing app.
fn profiled(p: &Project) -> String {
    format!(
        r#"name: {name}
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
  debug:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    profiles: [debug]
    depends_on: [app]
"#,
        name = p.name
    )
}

fn state(p: &Project, service: &str) -> Option<String> {
    docker(&["inspect", "-f", "{{.State.Status}}", &p.container(service)]).ok()
}

/// `pier down` of the project, all of it (`--profile '*'` so that `debug` counts too).
fn down(p: &Project) {
    Pier::in_dir(p.dir.path())
        .args(["--profile", "*", "down"])
        .run();
    assert!(p.containers().is_empty(), "down left containers");
}

#[test]
fn a_profiled_service_starts_only_when_its_profile_is_active_or_it_is_named() {
    let p = Project::new("profiles");
    write(p.dir.path(), "pier.yaml", &profiled(&p));
    let dir = p.dir.path();

    // Not active: `up` leaves it out.
    Pier::in_dir(dir).args(["up"]).run();
    assert_eq!(state(&p, "app").as_deref(), Some("running"));
    assert_eq!(state(&p, "debug"), None, "debug must not be created");

    // --profile: started, the rest unchanged.
    Pier::in_dir(dir).args(["--profile", "debug", "up"]).run();
    assert_eq!(state(&p, "debug").as_deref(), Some("running"));
    // Without the profile again: its container is no orphan, as with Compose
    // (not noted, and not removed by --remove-orphans).
    let again = Pier::in_dir(dir)
        .args(["up", "--remove-orphans"])
        .stderr_lacks("orphan")
        .run();
    assert_eq!(
        state(&p, "debug").as_deref(),
        Some("running"),
        "{}",
        again.stderr
    );
    down(&p);

    // COMPOSE_PROFILES does the same.
    Pier::in_dir(dir)
        .env("COMPOSE_PROFILES", "debug")
        .args(["up"])
        .run();
    assert_eq!(state(&p, "debug").as_deref(), Some("running"));
    assert_eq!(state(&p, "app").as_deref(), Some("running"));
    down(&p);

    // Named on the command line: enabled, with what it depends on.
    Pier::in_dir(dir).args(["up", "debug"]).run();
    assert_eq!(state(&p, "debug").as_deref(), Some("running"));
    assert_eq!(state(&p, "app").as_deref(), Some("running"));
    down(&p);
}

#[test]
fn the_override_file_is_applied_on_up() {
    let p = Project::new("override");
    let dir = p.dir.path();
    write(
        dir,
        "compose.yaml",
        &format!(
            r#"name: {name}
services:
  app:
    image: {IMAGE}
    command: ["sh", "-c", "{IDLE}"]
    environment: {{MODE: base, KEEP: kept}}
"#,
            name = p.name
        ),
    );
    write(
        dir,
        "compose.override.yaml",
        "services:\n  app:\n    environment: [MODE=override]\n    labels: {from: override}\n",
    );
    Pier::in_dir(dir).args(["up"]).run();
    let env = inspect(&p.container("app"), "{{json .Config.Env}}");
    assert!(env.contains("\"MODE=override\""), "{env}");
    assert!(env.contains("\"KEEP=kept\""), "{env}");
    assert_eq!(
        inspect(&p.container("app"), "{{index .Config.Labels \"from\"}}"),
        "override"
    );
    down(&p);
}
