//! `develop`: the `watch` rules of Compose's Develop specification
//! (`stack::develop`). A rule's path is made absolute against the project
//! directory; what the rule needs for its action (`target` to sync, `exec.command`
//! for `sync+exec`) is checked here, where the file position is known.

use serde_yaml::Value;

use super::read;
use super::service::command;
use super::{Ctx, environment};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::stack::develop::{Develop, WatchAction, WatchExec, WatchRule};
use crate::stack::docpath;

const KEYS: &[&str] = &["watch"];
const RULE_KEYS: &[&str] = &[
    "path",
    "action",
    "target",
    "exec",
    "ignore",
    "include",
    "initial_sync",
];
const EXEC_KEYS: &[&str] = &[
    "command",
    "user",
    "privileged",
    "working_dir",
    "environment",
];

pub fn develop(ctx: &mut Ctx, v: &Value, path: &str) -> Option<Develop> {
    let map = read::mapping(ctx, v, path)?;
    let mut develop = Develop::default();
    for (_, value) in read::entries(ctx, map, path, KEYS, &[]) {
        let at = docpath::child(path, "watch");
        let Some(items) = read::sequence(ctx, value, &at, "a list of watch rules") else {
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            if let Some(rule) = rule(ctx, item, &docpath::item(&at, i)) {
                develop.watch.push(rule);
            }
        }
    }
    Some(develop)
}

fn rule(ctx: &mut Ctx, v: &Value, path: &str) -> Option<WatchRule> {
    let map = read::mapping(ctx, v, path)?;
    let (mut host_path, mut action, mut target, mut exec) = (None, None, None, None);
    let (mut ignore, mut include, mut initial_sync) = (Vec::new(), Vec::new(), false);
    let mut broken = false;
    for (key, value) in read::entries(ctx, map, path, RULE_KEYS, &[]) {
        let at = docpath::child(path, &key);
        match key.as_str() {
            "path" => host_path = read::string(ctx, value, &at).map(|p| ctx.resolve(&p)),
            "action" => {
                let text = read::string(ctx, value, &at)?;
                action = WatchAction::parse(&text);
                if action.is_none() {
                    broken = true;
                    let names = WatchAction::ALL.map(WatchAction::as_str);
                    let mut d = Diagnostic::error(at, format!("unknown watch action `{text}`"));
                    d = match did_you_mean(&text, names) {
                        Some(close) => d.with_hint(format!("did you mean `{close}`?")),
                        None => d.with_hint(format!("use one of: {}", names.join(", "))),
                    };
                    ctx.push(d);
                }
            }
            "target" => target = read::string(ctx, value, &at),
            "exec" => exec = watch_exec(ctx, value, &at),
            "ignore" => ignore = read::string_or_list(ctx, value, &at),
            "include" => include = read::string_or_list(ctx, value, &at),
            "initial_sync" => initial_sync = read::boolean(ctx, value, &at).unwrap_or(false),
            _ => unreachable!("only known keys are returned"),
        }
    }
    let missing = |ctx: &mut Ctx, key: &str, hint: &str| {
        ctx.push(Diagnostic::error(path, format!("a watch rule needs `{key}`")).with_hint(hint));
    };
    if host_path.is_none() {
        missing(
            ctx,
            "path",
            "add `path: ./src` (relative to the project directory)",
        );
    }
    if action.is_none() && !broken {
        missing(
            ctx,
            "action",
            "add `action:` sync, rebuild, restart, sync+restart or sync+exec",
        );
    }
    let action = action?;
    if action.syncs() && target.is_none() {
        ctx.push(
            Diagnostic::error(path, format!("action `{action}` needs `target`"))
                .with_hint("add `target: /path/in/the/container` where the files go"),
        );
        return None;
    }
    if action == WatchAction::SyncExec && exec.as_ref().is_none_or(|e| e.command.is_empty()) {
        ctx.push(
            Diagnostic::error(path, "action `sync+exec` needs `exec.command`")
                .with_hint("add `exec: {command: <what to run after each sync>}`"),
        );
        return None;
    }
    Some(WatchRule {
        path: host_path?,
        action,
        target,
        exec,
        ignore,
        include,
        initial_sync,
    })
}

fn watch_exec(ctx: &mut Ctx, v: &Value, path: &str) -> Option<WatchExec> {
    let map = read::mapping(ctx, v, path)?;
    let mut exec = WatchExec::default();
    for (key, value) in read::entries(ctx, map, path, EXEC_KEYS, &[]) {
        let at = docpath::child(path, &key);
        match key.as_str() {
            "command" => exec.command = command(ctx, value, &at).unwrap_or_default(),
            "user" => exec.user = read::string(ctx, value, &at),
            "privileged" => exec.privileged = read::boolean(ctx, value, &at).unwrap_or(false),
            "working_dir" => exec.working_dir = read::string(ctx, value, &at),
            "environment" => exec.environment = environment::environment(ctx, value, &at),
            _ => unreachable!("only known keys are returned"),
        }
    }
    Some(exec)
}
