//! `environment`, `env_file` and `labels`.

use std::collections::BTreeMap;

use serde_yaml::Value;

use super::Ctx;
use super::read::{self, scalar_text};
use crate::diagnostic::Diagnostic;
use crate::stack::{docpath, dotenv, userfile};

/// `environment` as a map or `K=V` list. A key without a value takes the
/// variable's value from the shell environment or `.env`, and is dropped when
/// there is none (as Compose does).
pub fn environment(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, String> {
    read::key_values(ctx, v, path)
        .into_iter()
        .filter_map(|(k, v)| match v {
            Some(v) => Some((k, v)),
            None => {
                if let Some(d) = ctx.vars.unusable(&k) {
                    let d = d.clone();
                    ctx.push(Diagnostic::error(
                        docpath::child(path, &k),
                        format!("uses variable `{k}`, whose value cannot be used"),
                    ));
                    ctx.push(d);
                }
                ctx.vars.get(&k).map(|v| (k, v.to_string()))
            }
        })
        .collect()
}

/// `labels` as a map or list; a label without a value is empty.
pub fn labels(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, String> {
    read::key_values(ctx, v, path)
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

/// `env_file`: a path, a list of paths, or `{path, required}` entries; read in
/// order (later files win). A missing file is an error unless `required: false`.
pub fn env_files(ctx: &mut Ctx, v: &Value, path: &str) -> BTreeMap<String, String> {
    let entries: Vec<(String, &Value)> = match v {
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (docpath::item(path, i), item))
            .collect(),
        other => vec![(path.to_string(), other)],
    };
    let mut out = BTreeMap::new();
    for (at, entry) in entries {
        let (file, required) = match entry {
            Value::Mapping(map) => {
                let (mut file, mut required) = (None, true);
                for (key, value) in read::entries(ctx, map, &at, &["path", "required"], &["format"])
                {
                    let key_at = docpath::child(&at, &key);
                    match key.as_str() {
                        "path" => file = read::string(ctx, value, &key_at),
                        _ => required = read::boolean(ctx, value, &key_at).unwrap_or(true),
                    }
                }
                match file {
                    Some(f) => (f, required),
                    None => {
                        ctx.push(Diagnostic::error(at, "an env_file entry needs `path`"));
                        continue;
                    }
                }
            }
            other => match scalar_text(other) {
                Some(f) => (f, true),
                None => {
                    read::expected(ctx, &at, "a file name or a list of file names", other);
                    continue;
                }
            },
        };
        let full = ctx.resolve(&file);
        match userfile::read_text(&full) {
            Ok(text) => {
                let vars = ctx.vars;
                let (values, problems) = dotenv::parse(&text, &|n| vars.get(n).map(str::to_string));
                ctx.diags
                    .extend(problems.into_iter().map(|d| d.in_file(&full)));
                out.extend(values);
            }
            Err(userfile::Problem::NotFound) if !required => {}
            Err(userfile::Problem::NotFound) => ctx.push(
                Diagnostic::error(
                    at,
                    format!("cannot read env file {}: not found", full.display()),
                )
                .with_hint("create the file, fix the path, or mark it `required: false`"),
            ),
            Err(userfile::Problem::Invalid(d)) => {
                let mut msg = format!("cannot read env file {}: {}", full.display(), d.message);
                if let (Some(line), Some(col)) = (d.line, d.column) {
                    msg = format!(
                        "cannot read env file {}:{line}:{col}: {}",
                        full.display(),
                        d.message
                    );
                }
                let mut d2 = Diagnostic::error(at, msg);
                if let Some(h) = d.hint {
                    d2 = d2.with_hint(h);
                }
                ctx.push(d2);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx_for;
    use super::*;

    #[test]
    fn environment_forms() {
        let mut ctx = ctx_for();
        let v: Value =
            serde_yaml::from_str("{A: 1, B: true, C: 1.5, HOME: null, UNSET_X: ~}").unwrap();
        let env = environment(&mut ctx, &v, "environment");
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "true");
        assert_eq!(env["C"], "1.5");
        assert_eq!(env["HOME"], "/home/me");
        assert!(!env.contains_key("UNSET_X"));

        let v: Value = serde_yaml::from_str("[A=1, B=x=y, HOME, UNSET_X, EMPTY=]").unwrap();
        let env = environment(&mut ctx, &v, "environment");
        assert_eq!(env["B"], "x=y");
        assert_eq!(env["HOME"], "/home/me");
        assert_eq!(env["EMPTY"], "");
        assert!(!env.contains_key("UNSET_X"));
        assert!(ctx.diags.is_empty());
    }

    #[test]
    fn environment_wrong_type() {
        let mut ctx = ctx_for();
        let v: Value = serde_yaml::from_str("\"A=1\"").unwrap();
        environment(&mut ctx, &v, "environment");
        assert_eq!(ctx.diags[0].path, "environment");
    }

    #[test]
    fn env_files_are_read_in_order_and_optional_ones_may_be_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.env"), "A=1\nB=from-a\n").unwrap();
        std::fs::write(dir.path().join("b.env"), "B=from-b\n").unwrap();
        let mut ctx = ctx_for();
        ctx.project_dir = dir.path();
        let v: Value = serde_yaml::from_str(
            "[a.env, ./b.env, {path: nope.env, required: false}, missing.env]",
        )
        .unwrap();
        let env = env_files(&mut ctx, &v, "env_file");
        assert_eq!(env["A"], "1");
        assert_eq!(env["B"], "from-b");
        assert_eq!(ctx.diags.len(), 1);
        assert_eq!(ctx.diags[0].path, "env_file[3]");
    }
}
