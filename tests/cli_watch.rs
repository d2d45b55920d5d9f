//! `pier watch` and `develop.watch` through the real binary, without an engine:
//! what is decided before anything starts.

mod support;

use support::Pier;

#[test]
fn develop_watch_is_loaded_and_shown_without_a_warning() {
    let out = Pier::new()
        .file("Dockerfile", "FROM scratch\n")
        .file(
            "pier.yaml",
            "services:\n  web:\n    build: .\n    develop:\n      watch:\n        - path: ./src\n          action: sync\n          target: /app\n          ignore: [\"*.tmp\"]\n        - path: requirements.txt\n          action: rebuild\n",
        )
        .args(["config", "--json"])
        .stderr_lacks("develop")
        .run();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rules = &json["services"]["web"]["develop"]["watch"];
    assert_eq!(rules[0]["action"], "sync");
    assert_eq!(rules[0]["target"], "/app");
    assert!(rules[0]["path"].as_str().unwrap().ends_with("/src"));
    assert_eq!(rules[1]["action"], "rebuild");
}

#[test]
fn a_broken_rule_is_invalid_input_with_its_line() {
    Pier::new()
        .file(
            "pier.yaml",
            "services:\n  web:\n    image: x\n    develop:\n      watch:\n        - path: ./src\n          action: sync\n        - path: ./src\n          action: synk\n          target: /app\n",
        )
        .args(["config"])
        .status(2)
        .stderr_contains("pier.yaml:6")
        .stderr_contains("action `sync` needs `target`")
        .stderr_contains("unknown watch action `synk`")
        .stderr_contains("did you mean `sync`?")
        .run();
}

#[test]
fn sync_exec_needs_a_command() {
    Pier::new()
        .file(
            "pier.yaml",
            "services:\n  web:\n    image: x\n    develop:\n      watch:\n        - path: .\n          action: sync+exec\n          target: /app\n",
        )
        .args(["config"])
        .status(2)
        .stderr_contains("needs `exec.command`")
        .run();
}

#[test]
fn nothing_to_watch_is_refused_before_the_engine_is_asked() {
    Pier::new()
        .no_engine()
        .file("pier.yaml", "services:\n  web:\n    image: x\n")
        .args(["watch"])
        .status(2)
        .stderr_contains("nothing to watch")
        .run();
    // Rules that cannot act are named; none left is the same refusal.
    Pier::new()
        .no_engine()
        .file(
            "pier.yaml",
            "services:\n  web:\n    image: x\n    develop:\n      watch:\n        - path: ./nope\n          action: rebuild\n",
        )
        .args(["up", "--watch"])
        .status(2)
        .stderr_contains("services.web.develop.watch[0]: action `rebuild` needs a `build:`")
        .stderr_contains("nothing to watch")
        .run();
}

#[test]
fn up_watch_and_dry_run_do_not_go_together() {
    Pier::new()
        .args(["up", "--watch", "--dry-run"])
        .status(2)
        .stderr_contains("cannot be used with")
        .run();
}
