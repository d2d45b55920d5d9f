//! `pier router` and `pier trust` without an engine: invalid settings and a
//! missing CA are named before anything is touched.

mod support;

use support::Pier;

#[test]
fn trust_without_a_ca_says_how_to_get_one() {
    let data = tempfile::tempdir().unwrap();
    let root = data
        .path()
        .join("pier/router/caddy/pki/authorities/local/root.crt");
    Pier::new()
        .no_engine()
        .env("XDG_DATA_HOME", data.path())
        .arg("trust")
        .status(1)
        .stderr_contains(format!(
            "error: there is no local CA yet: {} does not exist",
            root.display()
        ))
        .stderr_contains("`pier up` in a project with a web service")
        .run();
}

#[test]
fn an_unknown_router_setting_is_invalid_input() {
    for args in [&["router", "status"][..], &["trust"], &["info"]] {
        Pier::new()
            .no_engine()
            .file("pier.yaml", "services:\n  web:\n    image: x\n")
            .env("PIER_ROUTER", "maybe")
            .args(args)
            .status(2)
            .stderr_contains("PIER_ROUTER=maybe is not a setting pier knows")
            .run();
    }
}

#[test]
fn router_status_needs_the_engine() {
    Pier::new()
        .no_engine()
        .args(["router", "status"])
        .status(1)
        .stderr_contains("cannot reach the Docker engine")
        .run();
}
