//! Rendering templates with Handlebars: strict (a missing variable is an
//! error), never HTML-escaping.
//!
//! The stack file is YAML, and no parameter value may change its structure.
//! Two rules guarantee that:
//! 1. every `{{value}}` is escaped as the *content of a YAML double-quoted
//!    scalar* (`\`, `"`, newlines and control characters escaped, and `$`
//!    doubled so Compose interpolation leaves the value alone);
//! 2. the template itself is checked before rendering: a value expression must
//!    stand inside double quotes (`image: "mariadb:{{version}}"`), unless it is
//!    an int, port or bool parameter, whose values are digits or true/false.
//!
//! Skeleton files (PHP, Python, C#, Dockerfiles) are rendered with raw values.

use std::collections::BTreeSet;
use std::path::Path;

use handlebars::{Handlebars, RenderError, RenderErrorReason};

use crate::diagnostic::Diagnostic;
use crate::template::manifest::Kind;
use crate::template::params::Values;

/// Escape `value` for use between the double quotes of a YAML scalar in a
/// Compose file. The result holds no `"`, no newline and no lone `$`, so it can
/// neither end the scalar nor start a new line, key or interpolation.
pub fn yaml_quoted_content(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Compose's escape for a literal `$`: `${HOME}` stays `${HOME}`.
            '$' => out.push_str("$$"),
            // Line and paragraph separators count as line breaks in YAML.
            '\u{85}' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Render the stack file template (`pier.yaml.hbs`).
pub fn render_stack_file(
    template: &str,
    file: &Path,
    values: &Values,
) -> Result<String, Vec<Diagnostic>> {
    let bare_ok: BTreeSet<&str> = values
        .0
        .iter()
        .filter(|r| {
            matches!(
                r.parameter.kind,
                Kind::Int { .. } | Kind::Port { .. } | Kind::Bool { .. }
            )
        })
        .map(|r| r.parameter.name.as_str())
        .collect();
    let problems = check_value_positions(template, file, &bare_ok);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut hb = registry();
    hb.register_escape_fn(yaml_quoted_content);
    hb.render_template(template, &values.context())
        .map_err(|e| vec![render_error(e, file, values)])
}

/// Render a skeleton file (`*.hbs` under templates/<stack>/) with raw values.
pub fn render_skeleton(
    template: &str,
    file: &Path,
    values: &Values,
) -> Result<String, Box<Diagnostic>> {
    let mut hb = registry();
    // Raw, but a value holding a line break would add lines of its own to a
    // line-based file (a Dockerfile `RUN`, an ini file): those are refused.
    let multi_line = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = multi_line.clone();
    hb.register_escape_fn(move |v: &str| {
        if v.contains(['\n', '\r']) {
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(v.to_string());
        }
        v.to_string()
    });
    let out = hb
        .render_template(template, &values.context())
        .map_err(|e| Box::new(render_error(e, file, values)))?;
    let bad = multi_line.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if let Some(text) = bad.first() {
        let context = values.context();
        let name = context
            .iter()
            .find(|(_, v)| v.as_str() == Some(text.as_str()))
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| "a parameter".to_string());
        return Err(Box::new(
            Diagnostic::error(
                "",
                format!(
                    "the value of `{name}` holds a line break, which would add lines to this file"
                ),
            )
            .in_file(file)
            .with_hint(format!("give --set {name}=... on one line")),
        ));
    }
    Ok(out)
}

fn registry() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb
}

fn render_error(err: RenderError, file: &Path, values: &Values) -> Diagnostic {
    let (message, position) = match err.reason() {
        RenderErrorReason::MissingVariable(Some(name)) => {
            let secret = values
                .0
                .iter()
                .find(|r| r.is_secret() && &r.parameter.name == name);
            let message = match secret.and_then(|r| r.parameter.env.as_deref()) {
                Some(env) => format!(
                    "secret \"{name}\" cannot be inlined; write ${{{env}}} and it is read from .env"
                ),
                None => format!("unknown variable \"{name}\""),
            };
            (message, None)
        }
        RenderErrorReason::TemplateError(t) => (t.reason().to_string(), t.pos()),
        other => (other.to_string(), None),
    };
    let mut d = Diagnostic::error("", format!("template: {message}")).in_file(file);
    if let Some((line, col)) = position.or(err.line_no.zip(err.column_no)) {
        d = d.at(line, col);
    }
    d
}

/// Check that every value expression stands where escaping makes it safe
/// (rule 2 above). Block helpers (`{{#if}}`, `{{/if}}`, `{{else}}`) and
/// comments are not values and may stand anywhere. Quotes are tracked per line:
/// stack templates do not continue a quoted scalar across lines.
fn check_value_positions(template: &str, file: &Path, bare_ok: &BTreeSet<&str>) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for (line_index, line) in template.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut in_double = false;
        let mut i = 0;
        while i < bytes.len() {
            if line[i..].starts_with("{{") {
                let column = i + 1;
                let (expr, end) = mustache_at(line, i);
                if let Some(problem) = classify(expr, in_double, bare_ok) {
                    problems.push(
                        Diagnostic::error("", problem)
                            .in_file(file)
                            .at(line_index + 1, column)
                            .with_hint("write values inside double quotes, e.g. image: \"mariadb:{{version}}\""),
                    );
                }
                i = end;
                continue;
            }
            match bytes[i] {
                b'\\' if in_double => i += 1, // skip the escaped character
                b'"' => in_double = !in_double,
                // A comment: nothing after it is YAML.
                b'#' if !in_double && (i == 0 || bytes[i - 1] == b' ') => break,
                _ => {}
            }
            i += 1;
        }
    }
    problems
}

/// The expression text of the mustache starting at `start`, and where it ends.
fn mustache_at(line: &str, start: usize) -> (&str, usize) {
    let rest = &line[start..];
    let close = if rest.starts_with("{{!--") {
        "--}}"
    } else {
        "}}"
    };
    match rest.find(close) {
        Some(pos) => {
            let mut end = start + pos + close.len();
            if line[end..].starts_with('}') {
                end += 1; // `}}}` of a triple-stash
            }
            (&line[start..end], end)
        }
        // Unclosed: Handlebars will report it with its own message.
        None => (&line[start..], line.len()),
    }
}

/// Why this mustache is unsafe where it stands, if it is.
fn classify(mustache: &str, in_double: bool, bare_ok: &BTreeSet<&str>) -> Option<String> {
    if mustache.starts_with("{{{") {
        return Some(format!(
            "{mustache} inserts a value unescaped; use {{{{name}}}} inside double quotes"
        ));
    }
    let inner = mustache.trim_start_matches('{').trim_end_matches('}');
    let inner = inner.trim_start_matches('~').trim_end_matches('~').trim();
    let is_block = inner.starts_with(['#', '/', '^', '!', '>'])
        || inner == "else"
        || inner.starts_with("else ");
    if is_block || in_double {
        return None;
    }
    if bare_ok.contains(inner) {
        return None;
    }
    Some(format!(
        "{mustache} is outside double quotes, where a value could change the YAML structure"
    ))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::template::manifest::Manifest;
    use crate::template::params::resolve;

    fn values(sets: &[&str]) -> Values {
        let m = Manifest::parse(
            r#"
name: t
description: t
parameters:
  - {name: db_name, type: string, default: app}
  - {name: version, type: string, default: "11.4"}
  - {name: web_port, type: port, default: 8080}
  - {name: editor, type: bool, default: false}
  - {name: database, type: enum, choices: [mariadb, mysql], default: mariadb}
  - {name: db_password, type: secret, env: DB_PASSWORD}
"#,
            Path::new("stack.yaml"),
        )
        .unwrap();
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        resolve(&m, &sets, &Default::default(), |n| Ok("x".repeat(n))).unwrap()
    }

    const STACK: &str = r#"services:
  db:
    image: "{{database}}:{{version}}"
    environment:
      DB_NAME: "{{db_name}}"
      DB_PASSWORD: ${DB_PASSWORD}
{{#if editor}}
  editor:
    image: codercom/code-server
{{/if}}
  web:
    ports:
      - "{{web_port}}:80"
    healthcheck:
      retries: {{web_port}}
"#;

    fn render(template: &str, sets: &[&str]) -> Result<String, Vec<Diagnostic>> {
        render_stack_file(template, Path::new("pier.yaml.hbs"), &values(sets))
    }

    #[test]
    fn escapes_everything_that_could_end_a_quoted_scalar() {
        assert_eq!(yaml_quoted_content(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(yaml_quoted_content("x\ny\r\tz"), r"x\ny\r\tz");
        assert_eq!(yaml_quoted_content("${HOME} $x"), "$${HOME} $$x");
        assert_eq!(yaml_quoted_content("\u{7}\u{2028}"), r"\u0007\u2028");
        assert_eq!(
            yaml_quoted_content("k: v # c {{x}} 'q'"),
            "k: v # c {{x}} 'q'"
        );
    }

    #[test]
    fn renders_defaults_and_blocks() {
        let out = render(STACK, &[]).unwrap();
        assert!(out.contains(r#"image: "mariadb:11.4""#), "{out}");
        assert!(out.contains(r#"DB_NAME: "app""#));
        assert!(out.contains(r#"- "8080:80""#));
        assert!(out.contains("retries: 8080"));
        assert!(!out.contains("editor:"));
        let out = render(STACK, &["editor=true", "database=mysql"]).unwrap();
        assert!(
            out.contains("editor:\n    image: codercom/code-server"),
            "{out}"
        );
        assert!(out.contains(r#"image: "mysql:11.4""#));
    }

    #[test]
    fn a_hostile_value_stays_inside_its_scalar() {
        let hostile = "a\"b: c\nd: '{{x}}' ${HOME} \\";
        let out = render(STACK, &[&format!("db_name={hostile}")]).unwrap();
        let line = out.lines().find(|l| l.contains("DB_NAME")).unwrap();
        assert_eq!(line, r#"      DB_NAME: "a\"b: c\nd: '{{x}}' $${HOME} \\""#);
        // Same number of lines as with a harmless value: no structure was added.
        assert_eq!(
            out.lines().count(),
            render(STACK, &[]).unwrap().lines().count()
        );
    }

    #[test]
    fn rejects_values_outside_double_quotes() {
        let errs = render(
            "a: {{db_name}}\nb: '{{version}}'\nc: {{{db_name}}}\nd: \"{{db_name}}\" {{version}}\n",
            &[],
        )
        .unwrap_err();
        let got: Vec<_> = errs
            .iter()
            .map(|d| (d.line.unwrap(), d.column.unwrap()))
            .collect();
        assert_eq!(got, [(1, 4), (2, 5), (3, 4), (4, 18)]);
        assert!(errs[2].message.contains("unescaped"));
    }

    #[test]
    fn quotes_in_helper_arguments_and_comments_do_not_confuse_the_check() {
        let t = "{{#if (eq database \"mysql\")}}\nx: \"{{version}}\"\n{{else}}\nx: \"{{db_name}}\"\n{{/if}}\n# note: {{version}}\n";
        assert_eq!(render(t, &[]).unwrap(), "x: \"app\"\n# note: 11.4\n");
    }

    #[test]
    fn strict_mode_and_secrets() {
        let errs = render("a: \"{{nope}}\"\n", &[]).unwrap_err();
        assert!(
            errs[0].message.contains("unknown variable \"nope\""),
            "{errs:?}"
        );
        let errs = render("a: \"{{db_password}}\"\n", &[]).unwrap_err();
        assert!(
            errs[0]
                .message
                .contains("secret \"db_password\" cannot be inlined; write ${DB_PASSWORD}"),
            "{errs:?}"
        );
    }

    #[test]
    fn skeletons_get_raw_values() {
        let out = render_skeleton(
            "FROM php:{{version}}-apache\n# {{db_name}}\n",
            Path::new("Dockerfile.hbs"),
            &values(&["db_name=<a & \"b\">"]),
        )
        .unwrap();
        assert_eq!(out, "FROM php:11.4-apache\n# <a & \"b\">\n");
    }

    #[test]
    fn skeleton_values_cannot_add_lines() {
        let err = render_skeleton(
            "FROM php:{{version}}-apache\n# {{db_name}}\n",
            Path::new("Dockerfile.hbs"),
            &values(&["db_name=x\nRUN touch /tmp/PWNED"]),
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("the value of `db_name` holds a line break"),
            "{err:?}"
        );
        assert_eq!(err.file.as_deref(), Some(Path::new("Dockerfile.hbs")));
    }

    #[test]
    fn template_syntax_errors_have_a_position() {
        let err = render_skeleton(
            "ok\n{{#if editor}}\nno end\n",
            Path::new("x.hbs"),
            &values(&[]),
        )
        .unwrap_err();
        assert_eq!(err.file.as_deref(), Some(Path::new("x.hbs")));
        assert!(err.line.is_some(), "{err:?}");
    }
}
