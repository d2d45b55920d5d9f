//! `run`: a one-off container of a service (`plan::one_off`), created after what it
//! needs is up — its dependencies started and ready, unless `--no-deps` — through
//! the same checks and walk as `up`. The session (attach, TTY, stdin) is the
//! command's (`commands::run`); its exit code and the `--rm` removal are `finish`'s.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::TryRng;
use rand::rngs::SysRng;
use tokio_util::sync::CancellationToken;

use crate::diagnostic::Diagnostic;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::event::EventSink;
use crate::plan::one_off::{RunOverrides, RunPlanOptions, one_off_spec, plan_run, run_stack};
use crate::plan::{Plan, PullPolicy, UpOptions};
use crate::stack::model::{Mount, PortMapping, Stack};

use super::guard;
use super::project::check_services;

pub struct Options {
    pub service: String,
    /// The run's changes to the service's container; an empty `name` is chosen
    /// here (`<project>-<service>-run-<12 hex digits>`, as Compose names one-offs).
    pub overrides: RunOverrides,
    pub no_deps: bool,
    /// `--build`: build the images of `build:` services first.
    pub build: bool,
    /// Bounds waiting for each dependency to become ready.
    pub wait_timeout: Duration,
    /// Cancelled on Ctrl-C (`ops::interrupt::on_ctrl_c`).
    pub interrupt: CancellationToken,
}

/// What `run` prepared: the plan it carried out and the one-off's name.
#[derive(Debug)]
pub struct RunReport {
    pub plan: Plan,
    pub container: String,
}

/// `-e KEY=VALUE` (repeatable) as a map; `-e KEY` takes the value from
/// `environment` (pier's own), as Compose does, and is left out when unset there.
pub fn environment(
    pairs: &[String],
    environment: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in pairs {
        let (key, value) = match pair.split_once('=') {
            Some((key, value)) => (key, Some(value.to_string())),
            None => (pair.as_str(), environment.get(pair).cloned()),
        };
        if key.is_empty() {
            return Err(Error::invalid(
                Diagnostic::error("", format!("`-e {pair}`: the variable has no name")).with_hint(
                    "write `-e KEY=VALUE`, or `-e KEY` to pass KEY's value from your shell",
                ),
            ));
        }
        if let Some(value) = value {
            out.insert(key.to_string(), value);
        }
    }
    Ok(out)
}

/// `-p/--publish` values (the short port syntax; 127.0.0.1 unless they name an
/// address). With `--service-ports` they are invalid input, as in Compose.
pub fn publish(values: &[String], service_ports: bool) -> Result<Vec<PortMapping>> {
    if service_ports && !values.is_empty() {
        return Err(Error::invalid(
            Diagnostic::error("", "--service-ports and --publish cannot be used together")
                .with_hint("publish the service's ports with --service-ports, or name the ports with -p, not both"),
        ));
    }
    let mut out = Vec::new();
    for value in values {
        let ports = crate::stack::short_port(value).map_err(|d| {
            Error::invalid(Diagnostic {
                message: format!("`--publish {value}`: {}", d.message),
                ..*d
            })
        })?;
        out.extend(ports);
    }
    Ok(out)
}

/// `-v` values: the short volume syntax of a stack file (a named volume must be
/// declared in the stack), host paths relative to `cwd`, `~` from `shell`'s HOME.
/// Each bad value goes to `problems` (the command collects every flag's first).
pub fn volumes(
    values: &[String],
    stack: &Stack,
    cwd: &std::path::Path,
    shell: &BTreeMap<String, String>,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Mount> {
    let declared = stack.volumes.keys().cloned().collect();
    let home = shell.get("HOME").map(String::as_str).unwrap_or("/root");
    let mut mounts = Vec::new();
    for value in values {
        match crate::stack::short_volume(value, cwd, home, &declared) {
            Ok(mount) => mounts.push(mount),
            Err(diags) => {
                problems.extend(
                    diags
                        .into_iter()
                        .filter(|d| d.is_error())
                        .map(|d| Diagnostic {
                            message: format!("`-v {value}`: {}", d.message),
                            ..d
                        }),
                )
            }
        }
    }
    mounts
}

/// Label prefixes that are pier's (and Compose's) own: a one-off labelled with
/// them would be taken for something it is not.
const RESERVED_LABELS: &[&str] = &["io.pier.", "com.docker.compose."];

/// `-l KEY[=VALUE]` values (no `=`: an empty value, as `docker run -l`); bad
/// ones go to `problems`.
pub fn labels(values: &[String], problems: &mut Vec<Diagnostic>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for value in values {
        let (key, text) = value.split_once('=').unwrap_or((value, ""));
        if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            problems.push(
                Diagnostic::error("", format!("`-l {value}`: not a label name"))
                    .with_hint("write `-l KEY=VALUE`, e.g. -l com.example.purpose=debug"),
            );
        } else if let Some(prefix) = RESERVED_LABELS.iter().find(|p| key.starts_with(**p)) {
            problems.push(
                Diagnostic::error(
                    "",
                    format!("`-l {value}`: labels starting with `{prefix}` are pier's own"),
                )
                .with_hint("choose a key of your own, e.g. com.example.KEY"),
            );
        } else {
            out.insert(key.to_string(), text.to_string());
        }
    }
    out
}

/// `--cap-add` / `--cap-drop` values (`flag`): capability names (`NET_ADMIN`,
/// `CAP_NET_ADMIN`, `ALL`), upper-cased as the engine writes them; bad ones go
/// to `problems`.
pub fn capabilities(flag: &str, values: &[String], problems: &mut Vec<Diagnostic>) -> Vec<String> {
    let mut out = Vec::new();
    for value in values {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ok {
            out.push(value.to_ascii_uppercase());
        } else {
            problems.push(
                Diagnostic::error("", format!("`{flag} {value}`: not a capability name"))
                    .with_hint("write a name as in `man 7 capabilities` without or with CAP_, e.g. NET_ADMIN, or ALL"),
            );
        }
    }
    out
}

/// `--entrypoint "CMD ARG…"`, split as a shell would.
pub fn entrypoint(text: &str) -> Result<Vec<String>> {
    shlex::split(text).ok_or_else(|| {
        Error::invalid(
            Diagnostic::error("", format!("`--entrypoint {text}`: unbalanced quotes")).with_hint(
                "quote the entrypoint as one shell word list, e.g. --entrypoint \"sh -c\"",
            ),
        )
    })
}

/// Unknown services are invalid input, found from the stack alone (before the engine).
pub fn check(stack: &Stack, service: &str) -> Result<()> {
    let names: Vec<&str> = stack.services.keys().map(String::as_str).collect();
    check_services(&[service.to_string()], &names)
}

/// Bring up what the one-off needs and create it (not started). Takes the
/// project's lock only for that: a long interactive session must not hold it.
pub async fn create(
    engine: &Engine,
    stack: &Stack,
    dotenv: &BTreeMap<String, String>,
    opts: &Options,
    sink: &EventSink,
) -> Result<RunReport> {
    check(stack, &opts.service)?;
    let mut overrides = opts.overrides.clone();
    if overrides.name.is_empty() {
        overrides.name = format!("{}-{}-run-{}", stack.name, opts.service, hex12()?);
    }
    // The service with the run's `-v` mounts: its named volumes are created as `up` would.
    let stack = &run_stack(stack, &opts.service, &overrides);
    let spec = one_off_spec(stack, &opts.service, &overrides);
    let _lock = guard::lock(engine, &stack.name, "run", &opts.interrupt, sink).await?;
    let images: Vec<String> = stack.services.keys().map(|s| stack.image_of(s)).collect();
    let observed = engine.observe(&stack.name, &images).await?;
    let pull = PullPolicy::Missing;
    let run = RunPlanOptions {
        no_deps: opts.no_deps,
        pull,
        build: opts.build,
    };
    let plan = plan_run(stack, &observed, &opts.service, spec, run).map_err(Error::Invalid)?;
    let up = super::up::Options {
        plan: UpOptions {
            services: vec![opts.service.clone()],
            pull,
            build: opts.build,
            remove_orphans: false,
        },
        dry_run: false,
        wait_timeout: opts.wait_timeout,
        interrupt: opts.interrupt.clone(),
        // A one-off is reached through its own terminal, not by name.
        router: None,
        // What it creates is labelled with the project's directory; whether a
        // project of this name made from elsewhere may be used (`--adopt`) was
        // decided by the command before the engine was asked.
        identity: Some(super::identity::Identity {
            working_dir: stack.project_dir.clone(),
            config_files: vec![],
        }),
        adopt: true,
    };
    super::up::carry_out(engine, stack, dotenv, &plan, &observed, &up, "run", sink).await?;
    Ok(RunReport {
        plan,
        container: overrides.name,
    })
}

/// Once the one-off's output has ended: its exit code (pier's), after which it is
/// removed with `rm`. A code outside 0..=255 (none recorded) is a failure, 1.
pub async fn finish(engine: &Engine, container: &str, rm: bool) -> Result<i32> {
    let code = engine.exit_code_when_stopped(container).await;
    if rm {
        engine.remove_container(container).await?;
    }
    Ok(u8::try_from(code?).map(i32::from).unwrap_or(1))
}

/// Twelve random hex digits, as Compose's one-off names carry.
fn hex12() -> Result<String> {
    let mut bytes = [0u8; 6];
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| Error::Entropy {
            message: e.to_string(),
        })?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::model::MountKind;

    #[test]
    fn environment_pairs_and_names_from_the_shell() {
        let shell: BTreeMap<String, String> = [("HOME".to_string(), "/root".to_string())].into();
        let env = environment(
            &["A=1".into(), "B=x=y".into(), "HOME".into(), "UNSET".into()],
            &shell,
        )
        .unwrap();
        assert_eq!(
            env,
            [
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "x=y".to_string()),
                ("HOME".to_string(), "/root".to_string()),
            ]
            .into()
        );
        assert_eq!(
            environment(&["=1".into()], &shell).unwrap_err().exit_code(),
            2
        );
    }

    #[test]
    fn published_ports_default_to_localhost_and_exclude_service_ports() {
        let ports = publish(&["8080:80".into(), "[::1]::53/udp".into()], false).unwrap();
        let shown: Vec<(&str, Option<u16>, u16)> = ports
            .iter()
            .map(|p| (p.host_ip.as_str(), p.published, p.target))
            .collect();
        assert_eq!(shown, [("127.0.0.1", Some(8080), 80), ("::1", None, 53)]);
        assert!(publish(&[], true).unwrap().is_empty());
        let both = publish(&["80".into()], true).unwrap_err();
        assert_eq!(both.exit_code(), 2);
        assert!(
            both.to_string().contains("--service-ports and --publish"),
            "{both}"
        );
        let bad = publish(&["80:http".into()], false).unwrap_err();
        assert_eq!(bad.exit_code(), 2);
        assert!(bad.to_string().contains("`--publish 80:http`"), "{bad}");
    }

    #[test]
    fn volumes_are_the_stack_files_short_syntax_with_paths_from_here() {
        let stack = crate::stack::fixture::StackFixture::new("shop")
            .volume("data")
            .build();
        let shell: BTreeMap<String, String> = [("HOME".to_string(), "/home/me".to_string())].into();
        let cwd = std::path::Path::new("/work/shop");
        let read = |values: &[&str]| {
            let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
            let mut problems = Vec::new();
            let mounts = volumes(&values, &stack, cwd, &shell, &mut problems);
            (mounts, problems)
        };
        let (mounts, problems) = read(&[
            "./src:/app:ro",
            "data:/data",
            "/anon",
            "~/x:/x",
            "../up:/up",
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        let shown: Vec<(MountKind, Option<&str>, &str, bool)> = mounts
            .iter()
            .map(|m| (m.kind, m.source.as_deref(), m.target.as_str(), m.read_only))
            .collect();
        assert_eq!(
            shown,
            [
                (MountKind::Bind, Some("/work/shop/src"), "/app", true),
                (MountKind::Volume, Some("data"), "/data", false),
                (MountKind::Volume, None, "/anon", false),
                (MountKind::Bind, Some("/home/me/x"), "/x", false),
                (MountKind::Bind, Some("/work/up"), "/up", false),
            ]
        );
        // Every bad one named at once.
        let (_, problems) = read(&["dta:/d", "./a:relative", "./b:/b:rx", "a:b:c:d"]);
        let text = Error::Invalid(problems).to_string();
        for expected in [
            "`-v dta:/d`: volume `dta` is not declared",
            "did you mean `data`?",
            "`-v ./a:relative`: container path \"relative\" must be absolute",
            "`-v ./b:/b:rx`: unknown volume mode \"rx\"",
            "`-v a:b:c:d`: invalid volume",
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
    }

    #[test]
    fn labels_and_capabilities_are_checked() {
        let mut problems = Vec::new();
        let labels = labels(
            &["com.example.a=1".into(), "flag".into(), "b=x=y".into()],
            &mut problems,
        );
        assert!(problems.is_empty());
        assert_eq!(
            labels,
            [
                ("b".to_string(), "x=y".to_string()),
                ("com.example.a".to_string(), "1".to_string()),
                ("flag".to_string(), String::new()),
            ]
            .into()
        );
        assert!(
            super::labels(&["=1".into(), "io.pier.project=x".into()], &mut problems).is_empty()
        );
        assert_eq!(
            capabilities(
                "--cap-add",
                &["net_admin".into(), "CAP_SYS_TIME".into()],
                &mut problems
            ),
            ["NET_ADMIN", "CAP_SYS_TIME"]
        );
        assert!(capabilities("--cap-drop", &["NET RAW".into()], &mut problems).is_empty());
        let text = Error::Invalid(problems).to_string();
        assert!(text.contains("`-l =1`: not a label name"), "{text}");
        assert!(text.contains("`io.pier.` are pier's own"), "{text}");
        assert!(text.contains("`--cap-drop NET RAW`"), "{text}");
    }

    #[test]
    fn entrypoints_split_like_a_shell() {
        assert_eq!(
            entrypoint("sh -c 'echo hi'").unwrap(),
            ["sh", "-c", "echo hi"]
        );
        assert_eq!(entrypoint("sh 'oops").unwrap_err().exit_code(), 2);
        assert_eq!(hex12().unwrap().len(), 12);
    }
}
