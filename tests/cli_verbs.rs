//! The everyday verbs through the real binary, without Docker (`DOCKER_HOST`
//! points nowhere): each has its `--help` with Compose's flags, bad input is exit 2
//! before the engine is asked anything, and the completions know every verb.

mod support;

use support::Pier;

const STACK: &str = "name: verbs\nservices:\n  web:\n    image: nginx\n    depends_on: [db]\n  db:\n    image: postgres\n";

/// Each verb and flags of Compose's its help must name.
const VERBS: &[(&str, &[&str])] = &[
    (
        "run",
        &[
            "--rm",
            "--env",
            "--no-tty",
            "--no-deps",
            "--service-ports",
            "--entrypoint",
            "--workdir",
            "--user",
            "--name",
            "--detach",
            "--publish",
            "--build",
            "--use-aliases",
        ],
    ),
    ("ps", &["--all", "--quiet", "--services", "--json"]),
    ("start", &["[SERVICES]..."]),
    ("stop", &["--timeout"]),
    ("restart", &["--timeout", "--no-deps"]),
    ("pull", &["--quiet", "--ignore-pull-failures"]),
    ("build", &["--no-cache", "--pull"]),
    ("ls", &["--all", "--json", "--quiet"]),
    ("rm", &["--force", "--stop", "--volumes"]),
    ("port", &["--protocol", "--index", "<PRIVATE_PORT>"]),
];

#[test]
fn every_verb_has_help_with_composes_flags() {
    for (verb, flags) in VERBS {
        let mut pier = Pier::new().no_engine().args([verb, "--help"]);
        for flag in *flags {
            pier = pier.stdout_contains(*flag);
        }
        pier.run();
    }
}

#[test]
fn completions_know_every_verb() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Pier::new().no_engine().args(["completions", shell]).run();
        for (verb, _) in VERBS {
            assert!(
                out.stdout.contains(verb),
                "{shell} completions lack `{verb}`"
            );
        }
    }
    let bash = Pier::new().no_engine().args(["completions", "bash"]).run();
    assert!(bash.stdout.contains("pier__subcmd__run"), "{}", bash.stdout);
    assert!(
        bash.stdout.contains("pier__subcmd__port"),
        "{}",
        bash.stdout
    );
}

#[test]
fn unknown_services_are_exit_2_before_the_engine() {
    for verb in ["run", "start", "restart", "pull", "build"] {
        Pier::new()
            .no_engine()
            .file("pier.yaml", STACK)
            .args([verb, "webb"])
            .status(2)
            .stderr_contains("no service named `webb`")
            .stderr_contains("did you mean `web`?")
            .stderr_lacks("Docker engine")
            .run();
    }
}

#[test]
fn bad_flags_and_values_are_exit_2() {
    let cases: &[&[&str]] = &[
        &["run"],
        &["run", "web", "-e", "=1"],
        &["run", "web", "--entrypoint", "sh 'unbalanced"],
        &["run", "-p", "80:http", "web"],
        &["run", "--publish", "1.2.3:80:80", "web"],
        &["run", "-P", "-p", "8080:80", "web"],
        &["stop", "-t", "soon"],
        &["restart", "-t", "-1"],
        &["port", "web"],
        &["port", "web", "http"],
        &["port", "web", "80", "--protocol", "sctp"],
        &["port", "web", "80", "--index", "0"],
        &["ls", "--json", "--quiet"],
        &["ps", "-q", "--json"],
        &["ps", "--services", "--json"],
        &["ps", "-q", "--services"],
        &["ps", "--target", "swarm", "-q"],
        &["pull", "--policy", "always"],
    ];
    for args in cases {
        Pier::new()
            .no_engine()
            .file("pier.yaml", STACK)
            .args(*args)
            .status(2)
            .stderr_lacks("Docker engine")
            .run();
    }
}

#[test]
fn run_p_publishes_after_run_and_names_the_project_before_it() {
    // After `run`, `-p` is `--publish` (its problem is the port's); before it,
    // the project's name (the failure is the engine's, the input was fine).
    Pier::new()
        .no_engine()
        .file("pier.yaml", STACK)
        .args(["run", "-p", "8080:http", "web"])
        .status(2)
        .stderr_contains("`--publish 8080:http`")
        .stderr_lacks("Docker engine")
        .run();
    Pier::new()
        .no_engine()
        .file("pier.yaml", STACK)
        .args(["run", "-P", "-p8080:80", "web"])
        .status(2)
        .stderr_contains("--service-ports and --publish cannot be used together")
        .run();
    Pier::new()
        .no_engine()
        .file("pier.yaml", STACK)
        .args([
            "-p",
            "other",
            "run",
            "-p",
            "8080:80",
            "--use-aliases",
            "--build",
            "web",
        ])
        .status(1)
        .stderr_contains("cannot reach the Docker engine")
        .run();
}

#[test]
fn the_verbs_that_need_the_stack_file_say_so() {
    for verb in ["run", "start", "restart", "pull", "build"] {
        let args: &[&str] = if verb == "run" {
            &[verb, "web"]
        } else {
            &[verb]
        };
        Pier::new()
            .no_engine()
            .args(args)
            .status(2)
            .stderr_contains("no stack file")
            .run();
    }
}

#[test]
fn ls_works_without_a_stack_file_and_needs_the_engine() {
    // No stack file here, and no engine: the failure is the engine's, not the file's.
    Pier::new()
        .no_engine()
        .args(["ls"])
        .status(1)
        .stderr_contains("cannot reach the Docker engine")
        .stderr_lacks("no stack file")
        .run();
}
