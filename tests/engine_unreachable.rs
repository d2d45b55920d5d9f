//! An unreachable engine is a clear runtime error (exit 1) naming the socket.
//! Its own test binary: it changes DOCKER_HOST for the whole process.

mod support;

use pier::Error;
use support::*;

#[test]
fn unreachable_engine_names_the_socket_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let socket = format!("unix://{}/no-docker.sock", dir.path().display());
    // SAFETY: this test binary runs this one test; no other thread reads the environment.
    unsafe { std::env::set_var("DOCKER_HOST", &socket) };
    let stack = pier::stack::model::Stack {
        name: "pier-t-unreachable".into(),
        project_dir: dir.path().to_path_buf(),
        services: [("web".to_string(), service("true"))].into(),
        networks: Default::default(),
        volumes: Default::default(),
        secrets: Default::default(),
        configs: Default::default(),
        disabled: Default::default(),
    };
    let err = up(&stack, &up_args(10)).expect_err("no engine there");
    assert!(matches!(err, Error::EngineUnreachable { .. }), "{err:?}");
    assert_eq!(err.exit_code(), 1);
    let text = pier::render_error(&err);
    assert!(text.contains(&socket), "{text}");
    assert!(text.contains("DOCKER_HOST"), "{text}");
}
