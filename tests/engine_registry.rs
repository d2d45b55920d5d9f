//! `pier up --pull always|never` against a real registry: Debian's
//! `docker-registry` (registry v2), serving from a temporary directory on
//! 127.0.0.1 (which the engine treats as an insecure registry by default). The
//! test image is pushed there with the docker CLI — test setup, not pier.

mod support;

use predicates::prelude::*;
use support::registry::Registry;
use support::*;

#[test]
fn up_pulls_from_a_registry_and_pull_never_names_the_missing_image() {
    let p = Project::new("registry");
    let registry = Registry::start();
    let tag = registry.push_test_image("busybox", &format!("reg-{}", std::process::id()));
    let image = tag.0.clone();

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
