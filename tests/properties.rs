//! Property tests: no input makes pier panic, and no template value can change
//! the structure of the stack file it is rendered into.
//!
//! One `#[test]` runs every property in turn with proptest's `TestRunner`, so
//! that it can count what it tried and print one summary line at the end:
//!
//!     properties: 2816 inputs tried, 0 panics, 0 failed properties
//!
//! That line is the "fuzz figure" CI shows. It is written to the real stderr
//! (not through `eprintln!`, which libtest captures) so it appears in every run.
//!
//! Each property runs `PROPTEST_CASES` cases (default 256); `PROPTEST_RNG_SEED`
//! replays a run. A failing property reports its shrunk input.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value as Json;

use pier::diagnostic::{Diagnostic, Severity};
use pier::error::Error;
use pier::export::{self, Secrets};
use pier::stack::{self, Stack, Variables, dotenv, interpolate};
use pier::template::manifest::{Kind, Manifest, STACK_FILE};
use pier::template::{Catalog, SearchPath, Template, check, params, write};

// ---------------------------------------------------------------------------
// The runner: counts inputs and panics across every property.

#[derive(Default)]
struct Tally {
    inputs: Cell<usize>,
    panics: Cell<usize>,
    failed: Vec<String>,
    /// One line per property: how many inputs were accepted and refused.
    lines: Vec<String>,
}

thread_local! {
    /// Inputs the current property accepted (Ok) and refused (Err with
    /// diagnostics): shows that a property saw both, and is not vacuous.
    static OUTCOMES: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

fn accepted(ok: bool) {
    OUTCOMES.with(|o| {
        let (yes, no) = o.get();
        o.set(if ok { (yes + 1, no) } else { (yes, no + 1) });
    });
}

impl Tally {
    /// Run one property. A panic in `body` is caught, counted and reported as a
    /// failure of that input (so proptest shrinks it like any other).
    fn check<S: Strategy>(
        &mut self,
        name: &str,
        strategy: S,
        body: impl Fn(S::Value) -> Result<(), TestCaseError>,
    ) {
        let config = Config {
            // Config::default() reads PROPTEST_CASES and friends.
            failure_persistence: None,
            ..Config::default()
        };
        let mut runner = TestRunner::new(config);
        OUTCOMES.with(|o| o.set((0, 0)));
        let before = self.inputs.get();
        let (inputs, panics) = (&self.inputs, &self.panics);
        let result = runner.run(&strategy, |value| {
            inputs.set(inputs.get() + 1);
            match catch_unwind(AssertUnwindSafe(|| body(value))) {
                Ok(outcome) => outcome,
                Err(payload) => {
                    panics.set(panics.get() + 1);
                    let message = payload
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(TestCaseError::fail(format!("panicked: {message}")))
                }
            }
        });
        let (yes, no) = OUTCOMES.with(Cell::get);
        self.lines.push(format!(
            "  {name}: {} inputs ({yes} accepted, {no} refused)",
            self.inputs.get() - before
        ));
        match result {
            Ok(()) => {}
            Err(TestError::Fail(reason, input)) => self
                .failed
                .push(format!("{name}: {reason}\n  minimal input: {input:?}")),
            Err(TestError::Abort(reason)) => self.failed.push(format!("{name}: aborted: {reason}")),
        }
    }
}

#[test]
fn no_input_panics_and_values_keep_their_place() {
    let mut tally = Tally::default();
    let fixtures = Fixtures::read();

    // The loader.
    tally.check("load: any text", any_text(), |text| check_load(&text, None));
    tally.check(
        "load: compose-shaped documents",
        compose_document(),
        |text| check_load(&text, None),
    );
    tally.check(
        "load: mutated compose fixtures",
        mutated(fixtures.compose.clone()),
        |text| check_load(&text, Some(&fixtures.compose_dir)),
    );

    // Interpolation and .env.
    tally.check("interpolate: any text", interpolation_text(), |text| {
        check_interpolation(&text)
    });
    tally.check("dotenv: any text", dotenv_text(), |text| {
        check_dotenv(&text)
    });
    tally.check(
        "dotenv: variables nested in variables",
        nested_dotenv(),
        |vars| check_nested_dotenv(&vars),
    );

    // Files of every kind as pier.yaml, .env, --env-file and env_file.
    tally.check("files: every kind of file", file_case(), |case| {
        check_file_case(&case)
    });

    // Manifests and --set.
    tally.check("manifest: any text", any_text(), |text| {
        check_manifest(&text)
    });
    tally.check(
        "manifest: mutated built-in manifests",
        mutated(fixtures.manifests.clone()),
        |text| check_manifest(&text),
    );
    tally.check(
        "--set: any KEY=VALUE",
        (
            0..fixtures.templates.len(),
            prop::collection::vec(set_argument(), 0..4),
        ),
        |(i, sets)| check_sets(&fixtures.templates[i], &sets),
    );

    // Rendering: a value never changes the structure around it.
    let slots = Slots::build(&fixtures.templates);
    tally.check(
        "render: any value in a built-in stack's parameter",
        (0..slots.0.len(), template_value()),
        |(i, value)| slots.0[i].check(&value),
    );

    let Tally {
        inputs,
        panics,
        failed,
        lines,
    } = tally;
    let summary = format!(
        "properties: {} inputs tried, {} panics, {} failed properties",
        inputs.get(),
        panics.get(),
        failed.len()
    );
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
    let _ = writeln!(std::io::stderr(), "{}\n{summary}", lines.join("\n"));
    assert!(failed.is_empty(), "{summary}\n\n{}", failed.join("\n\n"));
}

// ---------------------------------------------------------------------------
// Inputs read from the repository.

struct Fixtures {
    /// tests/compose/*.yaml and tests/compose/invalid/*.yaml.
    compose: Vec<String>,
    compose_dir: PathBuf,
    /// stacks/*/stack.yaml.
    manifests: Vec<String>,
    templates: Vec<Template>,
}

impl Fixtures {
    fn read() -> Fixtures {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let compose_dir = root.join("tests/compose");
        let yaml_in = |dir: &Path| -> Vec<String> {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .collect();
            paths.sort();
            paths
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect()
        };
        let mut compose = yaml_in(&compose_dir);
        compose.extend(yaml_in(&compose_dir.join("invalid")));
        let catalog = Catalog::discover(&SearchPath::default());
        let templates: Vec<Template> = catalog
            .entries()
            .iter()
            .map(|e| e.load().unwrap())
            .collect();
        let manifests = ["django", "dotnet", "lamp"]
            .iter()
            .map(|name| std::fs::read_to_string(root.join("stacks").join(name).join("stack.yaml")))
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(compose.len() > 20 && templates.len() >= 3);
        Fixtures {
            compose,
            compose_dir,
            manifests,
            templates,
        }
    }
}

// ---------------------------------------------------------------------------
// Strategies.

/// Arbitrary Unicode, and text made of the characters YAML and Compose care about.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z0-9 :\\-\\[\\]{}&*!|>'\"%@`#,?\n\t$.<=/_~]{0,120}",
    ]
}

fn interpolation_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[$${}:?+\\-aAzZ_09 é\n]{0,40}",
        prop::collection::vec(
            prop_oneof![
                Just("$".to_string()),
                Just("$$".to_string()),
                Just("${".to_string()),
                Just("}".to_string()),
                Just(":-".to_string()),
                Just(":?".to_string()),
                Just(":+".to_string()),
                Just("-".to_string()),
                Just("?".to_string()),
                Just("A".to_string()),
                Just("EMPTY".to_string()),
                Just("NOPE".to_string()),
                "[a-z_0-9 ]{0,3}",
            ],
            0..16
        )
        .prop_map(|parts| parts.concat()),
    ]
}

fn dotenv_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[A-Za-z_][A-Za-z0-9_.-]{0,8}=[^\n]{0,20}",
        "(export )?[A-Z_]{1,5} ?= ?['\"]?[a-z$${}:?\\\\ #'\"-]{0,20}['\"]?",
        "#[^\n]{0,10}",
        "[^\n]{0,20}",
        Just(String::new()),
    ];
    prop_oneof![
        any::<String>(),
        prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n")),
    ]
}

/// Text with a few random edits: characters deleted, inserted or replaced, and
/// lines duplicated or dropped.
fn mutated(originals: Vec<String>) -> impl Strategy<Value = String> {
    let edit = (
        0u8..5,
        any::<prop::sample::Index>(),
        prop::sample::select(
            ":-[]{}&*!|>'\"#,?\n\t $<{}\\\u{0}é"
                .chars()
                .collect::<Vec<char>>(),
        ),
    );
    (0..originals.len(), prop::collection::vec(edit, 1..6)).prop_map(move |(which, edits)| {
        let mut chars: Vec<char> = originals[which].chars().collect();
        for (op, at, c) in edits {
            if chars.is_empty() {
                chars.push(c);
                continue;
            }
            let i = at.index(chars.len());
            match op {
                0 => {
                    chars.remove(i);
                }
                1 => chars.insert(i, c),
                2 => chars[i] = c,
                _ => {
                    // Duplicate (3) or drop (4) the line around `i`.
                    let start = chars[..i]
                        .iter()
                        .rposition(|&c| c == '\n')
                        .map_or(0, |p| p + 1);
                    let end = chars[i..]
                        .iter()
                        .position(|&c| c == '\n')
                        .map_or(chars.len(), |p| i + p + 1);
                    let line: Vec<char> = chars[start..end].to_vec();
                    if op == 3 {
                        chars.splice(start..start, line);
                    } else {
                        chars.drain(start..end);
                    }
                }
            }
        }
        chars.into_iter().collect()
    })
}

fn set_argument() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        ("[a-z_]{0,12}", "=?", any::<String>()).prop_map(|(k, eq, v)| format!("{k}{eq}{v}")),
        (
            prop::sample::select(vec![
                "db_name",
                "db_user",
                "web_port",
                "editor",
                "database",
                "redis",
                "db_password",
                "postgres_version",
                "php_version",
                "nope",
            ]),
            "[0-9a-z=\\- ]{0,8}"
        )
            .prop_map(|(k, v)| format!("{k}={v}")),
    ]
}

/// Values meant to break naive templating: quotes, `: `, newlines, mustaches,
/// interpolation, control characters, Unicode line separators, and anything else.
fn template_value() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("\"".to_string()),
        Just("'".to_string()),
        Just(": ".to_string()),
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just("{{db_user}}".to_string()),
        Just("{{{x}}}".to_string()),
        Just("${HOME}".to_string()),
        Just("$$".to_string()),
        Just("$".to_string()),
        Just("\\".to_string()),
        Just("# ".to_string()),
        Just("- ".to_string()),
        Just("&a *a ".to_string()),
        Just("\u{2028}\u{85}\u{feff}".to_string()),
        Just("\t".to_string()),
        Just("services: {}".to_string()),
        "[\\x00-\\x1f\\x7f]",
        "[a-z0-9]{1,6}",
        any::<String>(),
    ];
    prop_oneof![
        any::<String>(),
        prop::collection::vec(piece, 0..8).prop_map(|p| p.concat()),
    ]
}

// A compose-shaped document: a tree over Compose's vocabulary, written out as
// YAML in block and flow style, with anchors, aliases and merge keys.

#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Seq(Vec<Node>, Shape),
    Map(Vec<(String, Node)>, Shape),
    /// `*aN`: the Nth anchor defined so far (modulo how many there are).
    Alias(usize),
}

#[derive(Debug, Clone, Copy)]
struct Shape {
    flow: bool,
    anchor: bool,
}

const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "depends_on",
    "healthcheck",
    "restart",
    "working_dir",
    "user",
    "labels",
    "networks",
    "hostname",
    "container_name",
    "secrets",
    "deploy",
    "tmpfs",
    "network_mode",
    "stop_grace_period",
    "stop_signal",
    "cap_add",
    "<<",
    "x-note",
];
const NESTED_KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "args",
    "target",
    "published",
    "host_ip",
    "protocol",
    "mode",
    "source",
    "type",
    "read_only",
    "bind",
    "volume",
    "condition",
    "required",
    "test",
    "interval",
    "timeout",
    "retries",
    "start_period",
    "disable",
    "aliases",
    "driver",
    "external",
    "internal",
    "file",
    "name",
    "replicas",
    "resources",
    "limits",
    "memory",
    "cpus",
    "path",
    "db",
    "web",
    "A",
    "B",
    "<<",
];
const TOP_KEYS: &[&str] = &[
    "name", "version", "networks", "volumes", "secrets", "x-base", "configs", "<<",
];
const SCALARS: &[&str] = &[
    "nginx",
    "nginx:1.27",
    "8080:80",
    "127.0.0.1:8080:80/udp",
    "80",
    "80-81:80-81",
    "[::1]:80:80",
    "./src:/app:ro",
    "data:/data",
    "/anon",
    ".",
    "service_healthy",
    "service_started",
    "service_completed_successfully",
    "CMD",
    "CMD-SHELL",
    "NONE",
    "curl -f localhost",
    "1m30s",
    "500ms",
    "10s",
    "always",
    "unless-stopped",
    "on-failure:3",
    "no",
    "true",
    "false",
    "yes",
    "0",
    "-1",
    "65536",
    "3.5",
    "~",
    "null",
    "${TAG}",
    "${NOPE:-x}",
    "${NOPE:?need it}",
    "$$HOME",
    "${",
    "KEY=value",
    "db",
    "web",
    "front",
    "bridge",
    "host",
    "tcp",
    "bind",
    "tmpfs",
    "volume",
    "",
    " ",
    "service:db",
    "a.env",
    "0x1F",
    "1e3",
    "!!",
    "@",
    "é",
];

fn scalar() -> impl Strategy<Value = Node> {
    prop_oneof![
        4 => prop::sample::select(SCALARS).prop_map(|s| Node::Scalar(s.to_string())),
        1 => any::<String>().prop_map(Node::Scalar),
        1 => "[ -~]{0,12}".prop_map(Node::Scalar),
    ]
}

fn key(keys: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(keys).prop_map(str::to_string),
        1 => "[a-z_][a-z0-9_.-]{0,6}",
        1 => any::<String>(),
    ]
}

fn shape() -> impl Strategy<Value = Shape> {
    (prop::bool::weighted(0.3), prop::bool::weighted(0.15))
        .prop_map(|(flow, anchor)| Shape { flow, anchor })
}

fn value_tree() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        8 => scalar(),
        1 => any::<usize>().prop_map(Node::Alias),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..4), shape())
                .prop_map(|(items, s)| Node::Seq(items, s)),
            (
                prop::collection::vec((key(NESTED_KEYS), inner), 0..4),
                shape()
            )
                .prop_map(|(entries, s)| Node::Map(entries, s)),
        ]
    })
}

fn compose_document() -> impl Strategy<Value = String> {
    let service = (
        prop::option::weighted(0.85, typed("image")),
        prop::collection::vec(
            prop_oneof![
                8 => prop::sample::select(SERVICE_KEYS).prop_flat_map(|k| (Just(k.to_string()), typed(k))),
                1 => (key(SERVICE_KEYS), value_tree()),
            ],
            0..6,
        ),
        shape(),
    )
        .prop_map(|(image, mut entries, s)| {
            if let Some(image) = image {
                entries.insert(0, ("image".to_string(), image));
            }
            Node::Map(dedup(entries), s)
        });
    let services = (
        prop::collection::vec(
            (
                prop_oneof![
                    8 => prop::sample::select(NAMES).prop_map(str::to_string),
                    1 => key(NESTED_KEYS),
                ],
                service,
            ),
            1..4,
        ),
        shape(),
    )
        .prop_map(|(entries, s)| Node::Map(dedup(entries), s));
    let top_level = prop_oneof![
        3 => prop::sample::select(&["networks", "volumes", "secrets"][..])
            .prop_flat_map(|k| (Just(k.to_string()), typed(k))),
        1 => (key(TOP_KEYS), value_tree()),
    ];
    (
        prop::option::weighted(0.95, services),
        prop::collection::vec(top_level, 0..3),
    )
        .prop_map(|(services, top)| {
            let mut top = dedup(top);
            if let Some(services) = services {
                top.insert(0, ("services".to_string(), services));
            }
            let mut out = String::new();
            let mut anchors = 0;
            for (k, v) in &top {
                out.push_str(&plain_or_quoted(k, false));
                out.push(':');
                emit(&mut out, v, 0, &mut anchors);
            }
            out
        })
}

/// Later duplicates dropped: a duplicate key is a YAML error, and one is enough.
fn dedup(entries: Vec<(String, Node)>) -> Vec<(String, Node)> {
    let mut seen = std::collections::BTreeSet::new();
    entries
        .into_iter()
        .filter(|(k, _)| seen.insert(k.clone()))
        .collect()
}

const NAMES: &[&str] = &["web", "db", "cache", "worker", "front", "data"];

fn pick(pool: &'static [&'static str]) -> BoxedStrategy<Node> {
    prop::sample::select(pool)
        .prop_map(|s| Node::Scalar(s.to_string()))
        .boxed()
}

fn list(item: BoxedStrategy<Node>) -> BoxedStrategy<Node> {
    (prop::collection::vec(item, 0..4), shape())
        .prop_map(|(items, s)| Node::Seq(items, s))
        .boxed()
}

fn map(keys: &'static [&'static str], value: BoxedStrategy<Node>) -> BoxedStrategy<Node> {
    (
        prop::collection::vec(
            (prop::sample::select(keys).prop_map(str::to_string), value),
            0..4,
        ),
        shape(),
    )
        .prop_map(|(entries, s)| Node::Map(dedup(entries), s))
        .boxed()
}

/// A value of roughly the shape Compose expects under `key`.
fn typed(key: &str) -> BoxedStrategy<Node> {
    const DURATIONS: &[&str] = &["10s", "1m30s", "500ms", "0s", "1h", "5", "-1s", "10x"];
    const WORDS: &[&str] = &["a", "b c", "--flag", "$$HOME", "${TAG}", "'q'", "\"d\""];
    match key {
        "image" => pick(&[
            "nginx",
            "nginx:1.27",
            "busybox",
            "${TAG}",
            "img:${TAG:-x}",
            "a/b:c@sha256:00",
        ]),
        "build" => prop_oneof![
            pick(&[".", "./app", "${TAG}"]),
            map(
                &["context", "dockerfile", "target", "args"],
                pick(&[".", "Dockerfile", "dev", "1"])
            ),
        ]
        .boxed(),
        "command" | "entrypoint" => prop_oneof![pick(WORDS), list(pick(WORDS))].boxed(),
        "environment" | "labels" | "args" => prop_oneof![
            map(
                &["A", "B_C", "PORT", "x.y"],
                pick(&["1", "", "${TAG}", "$$x", "on", "~"])
            ),
            list(pick(&["A=1", "B", "C=", "=x", "D=${PORT}"])),
        ]
        .boxed(),
        "env_file" => prop_oneof![
            pick(&["a.env", "missing.env"]),
            list(pick(&["a.env", "b.env"]))
        ]
        .boxed(),
        "ports" => list(
            prop_oneof![
                pick(&[
                    "80",
                    "8080:80",
                    "127.0.0.1:8080:80/udp",
                    "[::1]:80:80",
                    "80-81:80-81",
                    "${PORT}:80",
                    "0.0.0.0:53:53/udp",
                    "99999:1",
                    "a:b"
                ]),
                map(
                    &["target", "published", "host_ip", "protocol", "mode"],
                    pick(&["80", "8080", "127.0.0.1", "tcp", "udp", "host", "x"])
                ),
            ]
            .boxed(),
        ),
        "expose" => list(pick(&["80", "5000/udp", "1-2", "x"])),
        "volumes" => prop_oneof![
            list(
                prop_oneof![
                    pick(&[
                        "./src:/app:ro",
                        "data:/data",
                        "/anon",
                        "data:/d:rw",
                        "::",
                        "/a:/b:c:d",
                        "rel"
                    ]),
                    map(
                        &["type", "source", "target", "read_only"],
                        pick(&["bind", "volume", "tmpfs", ".", "/t", "data", "true"])
                    ),
                ]
                .boxed()
            ),
            map(
                NAMES,
                prop_oneof![
                    pick(&["~"]),
                    map(
                        &["driver", "name", "external"],
                        pick(&["local", "x", "true"])
                    )
                ]
                .boxed()
            ),
        ]
        .boxed(),
        "depends_on" => prop_oneof![
            list(pick(NAMES)),
            map(
                NAMES,
                map(
                    &["condition", "required", "restart"],
                    pick(&[
                        "service_started",
                        "service_healthy",
                        "service_completed_successfully",
                        "true",
                        "nope",
                    ])
                )
            ),
        ]
        .boxed(),
        "healthcheck" => map(
            &[
                "test",
                "interval",
                "timeout",
                "retries",
                "start_period",
                "disable",
            ],
            prop_oneof![
                pick(DURATIONS),
                pick(&["3", "true", "curl -f localhost", "NONE"]),
                list(pick(&["CMD", "CMD-SHELL", "NONE", "curl", "-f"])),
            ]
            .boxed(),
        ),
        "restart" => pick(&[
            "no",
            "always",
            "unless-stopped",
            "on-failure",
            "on-failure:3",
            "sometimes",
        ]),
        "stop_grace_period" => pick(DURATIONS),
        "networks" => prop_oneof![
            list(pick(NAMES)),
            map(
                NAMES,
                prop_oneof![
                    pick(&["~"]),
                    map(
                        &["aliases", "driver", "internal", "external"],
                        list(pick(NAMES))
                    )
                ]
                .boxed()
            ),
        ]
        .boxed(),
        "secrets" => prop_oneof![
            list(pick(NAMES)),
            map(
                NAMES,
                map(
                    &["file", "source", "target", "environment"],
                    pick(&["./pw.txt", "pw", "/run/x", "A"])
                )
            ),
        ]
        .boxed(),
        "deploy" => map(&["replicas", "resources"], pick(&["1", "2", "-1", "x"])),
        _ => value_tree().boxed(),
    }
}

/// Write `node` after `key:` or `-`, at the parent's `indent`.
fn emit(out: &mut String, node: &Node, indent: usize, anchors: &mut usize) {
    match node {
        Node::Map(_, s) | Node::Seq(_, s) if s.flow || is_empty(node) => {
            out.push(' ');
            flow(out, node, anchors);
            out.push('\n');
        }
        Node::Map(entries, s) => {
            anchor(out, *s, anchors);
            out.push('\n');
            for (k, v) in entries {
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(&plain_or_quoted(k, false));
                out.push(':');
                emit(out, v, indent + 2, anchors);
            }
        }
        Node::Seq(items, s) => {
            anchor(out, *s, anchors);
            out.push('\n');
            for item in items {
                out.push_str(&" ".repeat(indent + 2));
                out.push('-');
                emit(out, item, indent + 2, anchors);
            }
        }
        scalar_or_alias => {
            out.push(' ');
            flow(out, scalar_or_alias, anchors);
            out.push('\n');
        }
    }
}

fn is_empty(node: &Node) -> bool {
    match node {
        Node::Map(entries, _) => entries.is_empty(),
        Node::Seq(items, _) => items.is_empty(),
        _ => false,
    }
}

fn anchor(out: &mut String, shape: Shape, anchors: &mut usize) {
    if shape.anchor {
        out.push_str(&format!(" &a{anchors}"));
        *anchors += 1;
    }
}

/// `node` on one line, in flow style.
fn flow(out: &mut String, node: &Node, anchors: &mut usize) {
    match node {
        Node::Scalar(s) => out.push_str(&plain_or_quoted(s, true)),
        Node::Alias(n) if *anchors > 0 => out.push_str(&format!("*a{}", n % *anchors)),
        Node::Alias(_) => out.push_str("null"),
        Node::Seq(items, s) => {
            if s.anchor {
                anchor(out, *s, anchors);
                out.push(' ');
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(out, item, anchors);
            }
            out.push(']');
        }
        Node::Map(entries, s) => {
            if s.anchor {
                anchor(out, *s, anchors);
                out.push(' ');
            }
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&plain_or_quoted(k, true));
                out.push_str(": ");
                flow(out, v, anchors);
            }
            out.push('}');
        }
    }
}

/// Plain when it is simple enough, else double-quoted with JSON escapes (valid
/// YAML escapes). Not every plain scalar is a string (`80`, `true`, `~`): that
/// is the point, the loader must cope with every type where a string belongs.
fn plain_or_quoted(s: &str, in_flow: bool) -> String {
    let simple = !s.is_empty()
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || "_./:=+-$~<".contains(c) || (!in_flow && c == ' ')
        })
        && !s.starts_with([' ', '-', ':'])
        && !s.ends_with([' ', ':'])
        && !s.contains(": ")
        && (!in_flow || !s.contains(['{', '}', ':']));
    if simple {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap()
    }
}

// ---------------------------------------------------------------------------
// Properties.

fn vars() -> Variables {
    Variables::new(
        [("TAG", "1.0"), ("PORT", "8080"), ("EMPTY", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

type Loaded = Result<(Stack, Vec<Diagnostic>), Vec<Diagnostic>>;

fn load(text: &str, dir: &Path) -> Loaded {
    stack::load_str(text, &dir.join("pier.yaml"), dir, &vars(), None)
}

/// Every diagnostic says something, and points inside the document.
fn check_diagnostics(diags: &[Diagnostic], text: &str) -> Result<(), TestCaseError> {
    let lines = text.lines().count().max(1);
    for d in diags {
        prop_assert!(!d.message.trim().is_empty(), "empty message: {:?}", d);
        if let Some(line) = d.line {
            prop_assert!(
                (1..=lines + 1).contains(&line),
                "line {} of {}: {:?}",
                line,
                lines,
                d
            );
        }
        if let Some(column) = d.column {
            prop_assert!(column >= 1, "column 0: {:?}", d);
        }
    }
    Ok(())
}

/// The loader: Ok or Err(diagnostics), never a panic; the same input gives the
/// same answer; and what loads can be exported to a compose file that loads
/// back into the same services.
fn check_load(text: &str, dir: Option<&Path>) -> Result<(), TestCaseError> {
    let dir = dir.unwrap_or(Path::new("/nonexistent/project"));
    let first = load(text, dir);
    prop_assert_eq!(&first, &load(text, dir), "loading is not deterministic");
    accepted(first.is_ok());
    match first {
        Err(diags) => {
            prop_assert!(
                diags.iter().any(Diagnostic::is_error),
                "an Err without an error: {:?}",
                diags
            );
            check_diagnostics(&diags, text)?;
        }
        Ok((stack, warnings)) => {
            prop_assert!(warnings.iter().all(|d| d.severity == Severity::Warning));
            check_diagnostics(&warnings, text)?;
            // Printing and exporting never panic on a loaded stack either.
            let _ = export::compose::config(&stack, &Secrets::new(), false);
            let _ = export::kubernetes::export(&stack, &Secrets::new(), &dir.join(".env"));
            let exported = export::compose::export(&stack, &Secrets::new());
            let again = stack::load_str(
                &exported,
                &dir.join("compose.yaml"),
                dir,
                &Variables::default(),
                Some(&stack.name),
            );
            // Services come back exactly; top-level resources as the exporter
            // writes them (an external volume keeps only its name, on purpose),
            // so a second export is the same file.
            match again {
                Ok((back, _)) => {
                    prop_assert_eq!(&back.services, &stack.services, "exported:\n{}", exported);
                    prop_assert_eq!(export::compose::export(&back, &Secrets::new()), exported);
                }
                Err(diags) => prop_assert!(
                    false,
                    "the exported compose file does not load: {:?}\n{}",
                    diags,
                    exported
                ),
            }
        }
    }
    Ok(())
}

fn check_interpolation(text: &str) -> Result<(), TestCaseError> {
    let vars = vars();
    let lookup = |n: &str| vars.get(n).map(str::to_string);
    let result = interpolate::substitute(text, &lookup);
    prop_assert_eq!(&result, &interpolate::substitute(text, &lookup));
    accepted(result.is_ok());
    if !text.contains('$') {
        prop_assert_eq!(result.unwrap().text, text, "text without `$` changed");
    }
    // `$$` is the escape for `$`: any text, escaped, comes back as itself.
    let escaped = text.replace('$', "$$");
    let back = interpolate::substitute(&escaped, &lookup).unwrap();
    prop_assert_eq!(&back.text, text);
    prop_assert!(back.unset.is_empty());
    // A variable's value is inserted as it is, never interpolated again.
    let literal = |n: &str| (n == "V").then(|| text.to_string());
    prop_assert_eq!(
        interpolate::substitute("<${V}>", &literal).unwrap().text,
        format!("<{text}>")
    );
    Ok(())
}

fn check_dotenv(text: &str) -> Result<(), TestCaseError> {
    let lookup = |n: &str| (n == "HOME").then(|| "/home/me".to_string());
    let (values, diags) = dotenv::parse(text, &lookup);
    prop_assert_eq!(
        (&values, &diags),
        (
            &dotenv::parse(text, &lookup).0,
            &dotenv::parse(text, &lookup).1
        )
    );
    accepted(diags.is_empty());
    check_diagnostics(&diags, text)?;
    prop_assert!(diags.iter().all(Diagnostic::is_error));
    Ok(())
}

/// Variable `i` of a `.env`: a literal and references to earlier variables.
#[derive(Debug, Clone)]
struct NestedVar {
    literal: String,
    /// (index of an earlier variable, written as `${V}`, `$V` or `${V:-d}`)
    refs: Vec<(usize, u8)>,
}

/// Up to 15 variables, each repeating earlier ones up to 15 times: from a few
/// bytes to far beyond any bound (15^15 bytes if nothing stopped it).
fn nested_dotenv() -> impl Strategy<Value = Vec<NestedVar>> {
    prop::collection::vec(
        (
            "[a-z]{0,12}",
            prop::collection::vec((any::<prop::sample::Index>(), 0u8..3), 0..16),
        ),
        1..16,
    )
    .prop_map(|vars| {
        vars.into_iter()
            .enumerate()
            .map(|(i, (literal, refs))| NestedVar {
                literal,
                refs: if i == 0 {
                    Vec::new()
                } else {
                    refs.into_iter()
                        .map(|(ix, form)| (ix.index(i), form))
                        .collect()
                },
            })
            .collect()
    })
}

/// The `.env` parser against a model: a variable's value has the length its
/// parts add up to; when that passes the bound (or it uses one that did) it is
/// set apart as unusable, with an error naming it, and nothing is ever built
/// beyond the bound.
fn check_nested_dotenv(vars: &[NestedVar]) -> Result<(), TestCaseError> {
    let mut text = String::new();
    for (i, v) in vars.iter().enumerate() {
        text.push_str(&format!("V{i}={}", v.literal));
        for &(j, form) in &v.refs {
            text.push_str(&match form {
                0 => format!("${{V{j}}}"),
                1 => format!("$V{j}-"),
                _ => format!("${{V{j}:-d}}"),
            });
        }
        text.push('\n');
    }
    let parsed = dotenv::parse_deferred(&text, &|_| None);
    prop_assert!(parsed.diags.is_empty(), "{:?}", parsed.diags);
    // The model: Some(length), or None when unusable.
    let mut model: Vec<Option<usize>> = Vec::new();
    for v in vars {
        let mut len = Some(v.literal.len());
        for &(j, form) in &v.refs {
            len = match (len, model[j]) {
                (Some(l), Some(r)) => {
                    let r = if form == 2 && r == 0 { 1 } else { r };
                    Some(l + r + usize::from(form == 1))
                }
                _ => None,
            };
        }
        let len = len.filter(|&l| l <= interpolate::MAX_VALUE_BYTES);
        model.push(len);
    }
    for (i, expected) in model.iter().enumerate() {
        let name = format!("V{i}");
        match expected {
            Some(len) => {
                prop_assert_eq!(
                    parsed.values.get(&name).map(String::len),
                    Some(*len),
                    "{}",
                    name
                );
                prop_assert!(!parsed.unusable.contains_key(&name));
            }
            None => {
                prop_assert!(!parsed.values.contains_key(&name), "{}", name);
                let d = &parsed.unusable[&name];
                prop_assert!(d.message.contains(&format!("`{name}`")), "{:?}", d);
                prop_assert_eq!(d.line, Some(i + 1));
            }
        }
    }
    accepted(parsed.unusable.is_empty());
    Ok(())
}

/// What a path pier reads is.
#[derive(Debug, Clone)]
enum FileKind {
    Regular(Vec<u8>),
    Directory,
    Fifo,
    SymlinkToRegular(Vec<u8>),
    SymlinkToDirectory,
    DanglingSymlink,
    Device,
}

#[derive(Debug, Clone)]
struct FileCase {
    /// 0: pier.yaml (-f), 1: .env, 2: --env-file, 3: env_file
    role: u8,
    kind: FileKind,
}

fn file_case() -> impl Strategy<Value = FileCase> {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        "(\u{feff})?[A-Z]{1,4}=[a-z]{0,6}\n".prop_map(String::into_bytes),
        Just(b"services:\n  web:\n    image: nginx\n".to_vec()),
        Just(b"\xef\xbb\xbfservices:\n  web:\n    image: nginx\n".to_vec()),
    ];
    let kind = prop_oneof![
        bytes.clone().prop_map(FileKind::Regular),
        Just(FileKind::Directory),
        Just(FileKind::Fifo),
        bytes.prop_map(FileKind::SymlinkToRegular),
        Just(FileKind::SymlinkToDirectory),
        Just(FileKind::DanglingSymlink),
        Just(FileKind::Device),
    ];
    (0u8..4, kind).prop_map(|(role, kind)| FileCase { role, kind })
}

/// Whatever the file is, loading ends (a FIFO does not block), and anything
/// but a regular file (or a link to one) is invalid input naming the file —
/// never an I/O error (exit 1) or a hang.
fn check_file_case(case: &FileCase) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let name = match case.role {
        0 => "pier.yaml",
        1 => ".env",
        _ => "the-file",
    };
    let path = p.join(name);
    let regular = match &case.kind {
        FileKind::Regular(bytes) => {
            std::fs::write(&path, bytes).unwrap();
            true
        }
        FileKind::Directory => {
            std::fs::create_dir(&path).unwrap();
            false
        }
        FileKind::Fifo => {
            let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            false
        }
        FileKind::SymlinkToRegular(bytes) => {
            std::fs::write(p.join("real"), bytes).unwrap();
            std::os::unix::fs::symlink(p.join("real"), &path).unwrap();
            true
        }
        FileKind::SymlinkToDirectory => {
            std::os::unix::fs::symlink(p, &path).unwrap();
            false
        }
        FileKind::DanglingSymlink => {
            std::os::unix::fs::symlink(p.join("nowhere"), &path).unwrap();
            false
        }
        FileKind::Device => {
            std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
            false
        }
    };
    if case.role != 0 {
        let env_file = if case.role == 3 {
            "    env_file: the-file\n"
        } else {
            ""
        };
        std::fs::write(
            p.join("pier.yaml"),
            format!("services:\n  web:\n    image: nginx\n{env_file}"),
        )
        .unwrap();
    }
    let opts = stack::LoadOptions {
        files: vec![p.join("pier.yaml")],
        project_name: Some("p".into()),
        env_file: (case.role == 2).then(|| path.clone()),
        cwd: p.to_path_buf(),
        environment: BTreeMap::new(),
        ..Default::default()
    };
    let result = stack::load(&opts);
    accepted(result.is_ok());
    let dangling_ok = matches!(case.kind, FileKind::DanglingSymlink) && case.role == 1;
    match result {
        Ok(_) => prop_assert!(regular || dangling_ok, "{:?} was read", case.kind),
        Err(Error::Invalid(diags)) => {
            prop_assert!(diags.iter().any(Diagnostic::is_error));
            if !regular {
                let shown: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
                prop_assert!(
                    shown.iter().any(|d| d.contains(name)),
                    "the file is not named: {:?}",
                    shown
                );
            }
        }
        Err(other) => prop_assert!(false, "{:?} gave {:?}, not invalid input", case.kind, other),
    }
    Ok(())
}

fn check_manifest(text: &str) -> Result<(), TestCaseError> {
    let file = Path::new("stacks/x/stack.yaml");
    let result = Manifest::parse(text, file);
    prop_assert_eq!(&result, &Manifest::parse(text, file));
    accepted(result.is_ok());
    if let Err(diags) = result {
        prop_assert!(!diags.is_empty());
        prop_assert!(diags.iter().any(Diagnostic::is_error));
        check_diagnostics(&diags, text)?;
    }
    Ok(())
}

/// Deterministic "secrets", so two renders of the same values are equal.
fn fixed_secret(length: usize) -> pier::Result<String> {
    Ok("s".repeat(length))
}

fn check_sets(template: &Template, sets: &[String]) -> Result<(), TestCaseError> {
    let result = params::resolve(&template.manifest, sets, &BTreeMap::new(), fixed_secret);
    accepted(result.is_ok());
    match result {
        Ok(values) => prop_assert_eq!(values.0.len(), template.manifest.parameters.len()),
        Err(Error::Invalid(diags)) => {
            prop_assert!(!diags.is_empty());
            for d in &diags {
                prop_assert!(d.is_error() && !d.message.trim().is_empty(), "{:?}", d);
            }
        }
        Err(other) => prop_assert!(false, "not an input error: {}", other),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Rendering: a value changes only the strings it is put into.

/// The project every render is loaded as.
const PROJECT_DIR: &str = "/fuzz/project";
/// Stands for "the value" in a baseline render; no test value contains it.
const SENTINEL: &str = "Sentinel7q";

/// A string or secret parameter of a built-in stack, with the other `--set`s
/// of one variant of the stack (e.g. `database=mysql`), and the stack it
/// renders with the sentinel as the value.
struct Slot {
    template: Template,
    param: String,
    secret: bool,
    sets: Vec<String>,
    baseline: Json,
}

struct Slots(Vec<Slot>);

impl Slots {
    fn build(templates: &[Template]) -> Slots {
        let mut slots = Vec::new();
        for template in templates {
            for variant in variants(&template.manifest) {
                for param in &template.manifest.parameters {
                    let secret = match param.kind {
                        Kind::String { .. } => false,
                        Kind::Secret { .. } => true,
                        _ => continue,
                    };
                    let mut slot = Slot {
                        template: template.clone(),
                        param: param.name.clone(),
                        secret,
                        sets: variant.clone(),
                        baseline: Json::Null,
                    };
                    slot.baseline = slot.render(SENTINEL).unwrap_or_else(|e| {
                        panic!("{} {variant:?}: {e:?}", template.manifest.name)
                    });
                    // With the defaults, the database name and user are environment
                    // values of their own: the property checks they come out whole.
                    let whole =
                        variant.is_empty() && ["db_name", "db_user"].contains(&param.name.as_str());
                    assert!(
                        !whole || has_string(&slot.baseline, SENTINEL),
                        "{} {variant:?}: {} is no value of its own in {}",
                        template.manifest.name,
                        param.name,
                        slot.baseline
                    );
                    slots.push(slot);
                }
            }
        }
        Slots(slots)
    }
}

/// The default values, and each non-default choice of every enum and bool.
fn variants(manifest: &Manifest) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    for p in &manifest.parameters {
        match &p.kind {
            Kind::Enum { default, choices } => out.extend(
                choices
                    .iter()
                    .filter(|c| *c != default)
                    .map(|c| vec![format!("{}={c}", p.name)]),
            ),
            Kind::Bool { default } => out.push(vec![format!("{}={}", p.name, !default)]),
            _ => {}
        }
    }
    out
}

impl Slot {
    /// What `pier init` does, then `pier config`: resolve, render, check that
    /// the stack loads, then load it with the `.env` that was written.
    fn render(&self, value: &str) -> Result<Json, Vec<Diagnostic>> {
        let invalid = |e: Error| match e {
            Error::Invalid(diags) => diags,
            other => panic!("not an input error: {other}"),
        };
        let mut sets = self.sets.clone();
        sets.push(format!("{}={value}", self.param));
        let values = params::resolve(
            &self.template.manifest,
            &sets,
            &BTreeMap::new(),
            fixed_secret,
        )
        .map_err(invalid)?;
        let files = write::plan_files(&self.template, &values).map_err(invalid)?;
        let dir = Path::new(PROJECT_DIR);
        check::rendered_stack_loads(&files, dir, "fuzz", &self.template.stack_file_path)
            .map_err(invalid)?;
        let text = |name: &str| {
            files
                .iter()
                .find(|f| f.path.to_string() == name)
                .map(|f| String::from_utf8(f.contents.clone()).unwrap())
                .unwrap_or_default()
        };
        let (env, diags) = dotenv::parse(&text(".env"), &|_| None);
        assert!(
            diags.is_empty(),
            "pier wrote a .env it cannot read: {diags:?}"
        );
        let (stack, _) = stack::load_str(
            &text(STACK_FILE),
            &dir.join(STACK_FILE),
            dir,
            &Variables::new(env),
            Some("fuzz"),
        )?;
        Ok(serde_json::to_value(&stack).unwrap())
    }

    /// Either the value is refused with a diagnostic, as documented (an empty
    /// secret; a NUL byte), or
    /// the stack is the baseline with the value in the sentinel's places:
    /// nothing else changed.
    fn check(&self, value: &str) -> Result<(), TestCaseError> {
        let refused = (self.secret && value.is_empty()) || value.contains('\0');
        let result = self.render(value);
        accepted(result.is_ok());
        match result {
            Ok(stack) => {
                prop_assert!(!refused, "{}: accepted {:?}", self.param, value);
                prop_assert_eq!(
                    stack,
                    replace_strings(&self.baseline, SENTINEL, value),
                    "{} {:?}",
                    self.param,
                    self.sets
                );
            }
            // A line break where a skeleton (a Dockerfile) takes the value raw
            // would add lines: refused there, and only there.
            Err(diags)
                if !refused
                    && value.contains(['\n', '\r'])
                    && diags
                        .iter()
                        .all(|d| d.message.contains("holds a line break")) => {}
            Err(diags) => {
                prop_assert!(
                    refused,
                    "{} {:?}: refused: {:?}",
                    self.param,
                    self.sets,
                    diags
                );
                prop_assert!(!diags.is_empty());
                for d in &diags {
                    prop_assert!(!d.message.trim().is_empty());
                }
            }
        }
        Ok(())
    }
}

/// Whether some string in `value` is exactly `text`.
fn has_string(value: &Json, text: &str) -> bool {
    match value {
        Json::String(s) => s == text,
        Json::Array(items) => items.iter().any(|v| has_string(v, text)),
        Json::Object(map) => map.values().any(|v| has_string(v, text)),
        _ => false,
    }
}

fn replace_strings(value: &Json, from: &str, to: &str) -> Json {
    match value {
        Json::String(s) => Json::String(s.replace(from, to)),
        Json::Array(items) => {
            Json::Array(items.iter().map(|v| replace_strings(v, from, to)).collect())
        }
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), replace_strings(v, from, to)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Nesting far past any real document is refused with a diagnostic, never a
/// stack overflow (which aborts the process: no `catch_unwind` can help) and
/// never the minutes libyaml needs to scan 50 000 open brackets. Each of these
/// broke pier before the fixes beside `stack::parse`, `stack::positions` and
/// `stack::interpolate`.
#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let depth = 50_000;
    let docs = [
        format!("services: {}", "[".repeat(depth)),
        format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
        "{a: ".repeat(depth),
        (0..2_000)
            .map(|i| format!("{}-\n", " ".repeat(i)))
            .collect(),
        (0..2_000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect(),
        format!(
            "services: {{web: {{image: \"{}x{}\"}}}}\n",
            "${A:-".repeat(depth),
            "}".repeat(depth)
        ),
    ];
    let dir = Path::new("/nonexistent/project");
    for doc in docs.iter().chain(&alias_bombs()) {
        let start: String = doc.chars().take(30).collect();
        let diags = load(doc, dir).expect_err(&start);
        check_diagnostics(&diags, doc).unwrap();
        assert!(
            Manifest::parse(doc, Path::new("stack.yaml")).is_err(),
            "{start}"
        );
        let _ = interpolate::substitute(doc, &|_| None);
        let _ = dotenv::parse(doc, &|_| None);
    }
}

/// "Billion laughs": aliases of aliases, as values and as merge keys; expanded
/// in full they would need gigabytes.
fn alias_bombs() -> Vec<String> {
    let mut seqs = String::from("x-0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut maps = String::from("x-0: &m0 {a: 1, b: 2, c: 3}\n");
    for i in 1..10 {
        let p = i - 1;
        seqs.push_str(&format!(
            "x-{i}: &l{i} [{}]\n",
            vec![format!("*l{p}"); 9].join(", ")
        ));
        maps.push_str(&format!(
            "x-{i}: &m{i} {{k{i}: [{}], <<: [*m{p}, *m{p}]}}\n",
            vec![format!("*m{p}"); 9].join(", ")
        ));
    }
    vec![
        format!("{seqs}services: {{web: {{image: x, command: *l9}}}}\n"),
        format!("{maps}services: {{web: {{image: x, <<: *m9}}}}\n"),
    ]
}
