//! Typed reads from YAML values, for every YAML file pier reads (the stack file
//! in `normalize`, a template's manifest in `template::manifest`). Each reader
//! reports a wrong type as an error at the value's path and returns `None`, so
//! the caller carries on and collects every problem in one pass.
//!
//! Scalars are read leniently, the way Compose casts them: after interpolation
//! `"${PORT}"` is a string, so numbers and booleans are also accepted as strings.

use std::collections::BTreeMap;

use serde_yaml::{Mapping, Value};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::stack::docpath;

/// Where a reader reports its problems: the loader's normalization context,
/// or a plain list of diagnostics.
pub trait Collect {
    fn push(&mut self, d: Diagnostic);
}

impl Collect for Vec<Diagnostic> {
    fn push(&mut self, d: Diagnostic) {
        Vec::push(self, d);
    }
}

/// "a list", "the string \"yes\"", ... for "expected X, found Y" messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Sequence(_) => "a list".into(),
        Value::Mapping(_) => "a mapping".into(),
        Value::Tagged(t) => format!("a value tagged {}", t.tag),
    }
}

pub fn expected(ctx: &mut impl Collect, path: &str, what: &str, v: &Value) {
    ctx.push(Diagnostic::error(
        path,
        format!("expected {what}, found {}", describe(v)),
    ));
}

/// The scalar's text, if it is a string, number or boolean.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar_text(&t.value),
        _ => None,
    }
}

pub fn mapping<'v>(ctx: &mut impl Collect, v: &'v Value, path: &str) -> Option<&'v Mapping> {
    match v {
        Value::Mapping(m) => Some(m),
        _ => {
            expected(ctx, path, "a mapping", v);
            None
        }
    }
}

pub fn sequence<'v>(
    ctx: &mut impl Collect,
    v: &'v Value,
    path: &str,
    what: &str,
) -> Option<&'v [Value]> {
    match v {
        Value::Sequence(s) => Some(s),
        _ => {
            expected(ctx, path, what, v);
            None
        }
    }
}

/// A string, strictly: Compose's schema rejects `user: 1000` or `image: 3`, and a
/// file Compose rejects must not load here either. Where the schema allows numbers
/// and booleans too (environment values, labels, ports), use `text`.
pub fn string(ctx: &mut impl Collect, v: &Value, path: &str) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Tagged(t) => string(ctx, &t.value, path),
        Value::Number(_) | Value::Bool(_) => {
            ctx.push(
                Diagnostic::error(path, format!("expected a string, found {}", describe(v)))
                    .with_hint(format!(
                        "quote it: \"{}\"",
                        scalar_text(v).unwrap_or_default()
                    )),
            );
            None
        }
        _ => {
            expected(ctx, path, "a string", v);
            None
        }
    }
}

/// A string, number or boolean, as text.
pub fn text(ctx: &mut impl Collect, v: &Value, path: &str) -> Option<String> {
    let s = scalar_text(v);
    if s.is_none() {
        expected(ctx, path, "a string or a number", v);
    }
    s
}

/// A boolean: `true`/`false` as YAML booleans or text, in the three spellings
/// YAML 1.2 knows (`true`, `True`, `TRUE`). Not YAML 1.1's `yes`/`on`/`1`:
/// Compose refuses those, so every YAML reader of pier does too.
pub fn boolean(ctx: &mut impl Collect, v: &Value, path: &str) -> Option<bool> {
    let b = scalar_text(v).as_deref().and_then(bool_text);
    if b.is_none() {
        expected(ctx, path, "true or false", v);
    }
    b
}

/// The text of a boolean, as `boolean` accepts it.
pub fn bool_text(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// A non-negative integer that fits `T`; `what` names it in the message.
pub fn integer<T: TryFrom<u64>>(
    ctx: &mut impl Collect,
    v: &Value,
    path: &str,
    what: &str,
) -> Option<T> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match n.and_then(|n| T::try_from(n).ok()) {
        Some(n) => Some(n),
        None => {
            expected(ctx, path, what, v);
            None
        }
    }
}

/// A list of strings, or one string taken as a one-item list.
pub fn string_or_list(ctx: &mut impl Collect, v: &Value, path: &str) -> Vec<String> {
    match v {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| string(ctx, item, &docpath::item(path, i)))
            .collect(),
        _ => match scalar_text(v) {
            Some(s) => vec![s],
            None => {
                expected(ctx, path, "a string or a list of strings", v);
                Vec::new()
            }
        },
    }
}

/// `KEY: value` mapping or `["KEY=value", "KEY"]` list (environment, labels, build args).
/// `None` values are keys without a value (`KEY` or `KEY:`), resolved by the caller.
pub fn key_values(
    ctx: &mut impl Collect,
    v: &Value,
    path: &str,
) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    match v {
        Value::Mapping(m) => {
            for (k, val) in m {
                let Some(key) = scalar_text(k) else {
                    expected(ctx, path, "string keys", k);
                    continue;
                };
                let at = docpath::child(path, &key);
                let value = match val {
                    Value::Null => None,
                    other => text(ctx, other, &at),
                };
                out.insert(key, value);
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                let Some(entry) = string(ctx, item, &docpath::item(path, i)) else {
                    continue;
                };
                match entry.split_once('=') {
                    Some((k, val)) => out.insert(k.to_string(), Some(val.to_string())),
                    None => out.insert(entry, None),
                };
            }
        }
        Value::Null => {}
        other => expected(ctx, path, "a mapping or a list of KEY=value strings", other),
    }
    out
}

/// The entries of a mapping that pier reads. Keys in `unsupported` (Compose keys
/// pier does not implement) and unknown keys are reported as warnings naming them,
/// never dropped silently; `x-*` extension keys are allowed anywhere.
pub fn entries<'v>(
    ctx: &mut impl Collect,
    map: &'v Mapping,
    path: &str,
    known: &[&str],
    unsupported: &[&str],
) -> Vec<(String, &'v Value)> {
    let mut out = Vec::new();
    for (k, v) in map {
        let Some(key) = scalar_text(k) else {
            expected(ctx, path, "string keys", k);
            continue;
        };
        let at = docpath::child(path, &key);
        if known.contains(&key.as_str()) {
            out.push((key, v));
        } else if key.starts_with("x-") {
            // Extension fields: for anchors and tools; ignored by design.
        } else if unsupported.contains(&key.as_str()) {
            ctx.push(Diagnostic::warning(
                at,
                format!("`{key}` is not supported by pier and is ignored"),
            ));
        } else {
            let mut d = Diagnostic::warning(at, format!("unknown key `{key}` is ignored"));
            if let Some(close) = did_you_mean(&key, known.iter().copied()) {
                d = d.with_hint(format!("did you mean `{close}`?"));
            }
            ctx.push(d);
        }
    }
    out
}

/// The entries of a key that takes either a list of names or a mapping of
/// name → settings (`depends_on`, service `networks`): (name, its path, its
/// settings when the mapping form gave any). `None` after reporting any other shape.
pub fn named_entries<'v>(
    ctx: &mut impl Collect,
    v: &'v Value,
    path: &str,
    what: &str,
) -> Option<Vec<(String, String, Option<&'v Value>)>> {
    match v {
        Value::Sequence(items) => Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let at = docpath::item(path, i);
                    string(ctx, item, &at).map(|name| (name, at, None))
                })
                .collect(),
        ),
        Value::Mapping(map) => Some(
            map.iter()
                .filter_map(|(k, val)| {
                    let name = scalar_text(k)?;
                    let at = docpath::child(path, &name);
                    Some((name, at, Some(val)))
                })
                .collect(),
        ),
        other => {
            expected(ctx, path, what, other);
            None
        }
    }
}
