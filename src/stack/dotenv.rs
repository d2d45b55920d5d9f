//! `.env` and `env_file` files in dotenv format, as Compose reads them:
//! `KEY=value` lines, `# comments`, an optional `export ` prefix, single quotes
//! (literal), double quotes (escapes, may span lines), inline ` # comments` after
//! unquoted values, and `${VAR}` expansion in unquoted and double-quoted values.

use std::collections::BTreeMap;

use super::interpolate::{MAX_TOTAL_BYTES, SubstError, limit_text, substitute};
use crate::diagnostic::Diagnostic;

/// Parse dotenv `text`. `lookup` resolves `${VAR}` (and bare `KEY` lines) from
/// the environment; values defined earlier in the file are used when it has none.
/// Problems come back as diagnostics with line numbers and an empty path; the
/// caller sets the file. A value that expands beyond the bound is an error
/// (every value of an `env_file` is used).
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> (BTreeMap<String, String>, Vec<Diagnostic>) {
    let mut parsed = parse_deferred(text, lookup);
    parsed.diags.extend(parsed.unusable.into_values());
    crate::diagnostic::sort(&mut parsed.diags);
    (parsed.values, parsed.diags)
}

/// A parsed dotenv file.
#[derive(Debug, Default)]
pub struct Parsed {
    pub values: BTreeMap<String, String>,
    pub diags: Vec<Diagnostic>,
    /// Variables whose value expands beyond `MAX_VALUE_BYTES` (or the file's
    /// total, `MAX_TOTAL_BYTES`), or is built from one that does, each with the
    /// error to report if it is used. Expansion stops at the bound, so a file
    /// of repeated variables costs little; `.env` variables that nothing uses
    /// are no error.
    pub unusable: BTreeMap<String, Diagnostic>,
}

/// `parse`, with values that cannot be expanded set apart instead of reported.
pub fn parse_deferred(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Parsed {
    let mut values = BTreeMap::new();
    let mut diags = Vec::new();
    let mut unusable: BTreeMap<String, Diagnostic> = BTreeMap::new();
    let mut total = 0usize;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = lines[i].trim_start();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let (key, raw) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim_start())),
            None => (line.trim(), None),
        };
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            diags.push(
                Diagnostic::error(
                    "",
                    format!(
                        "invalid line `{}`: expected KEY=value",
                        lines[line_no - 1].trim()
                    ),
                )
                .at(line_no, 1),
            );
            continue;
        }
        let Some(raw) = raw else {
            // A bare KEY passes the environment's value through, if any.
            if let Some(v) = lookup(key) {
                unusable.remove(key);
                values.insert(key.to_string(), v);
            }
            continue;
        };
        // Why this value cannot be used, when it cannot.
        let mut poisoned: Option<String> = None;
        let mut expand = |text: &str,
                          values: &BTreeMap<String, String>,
                          unusable: &BTreeMap<String, Diagnostic>,
                          diags: &mut Vec<Diagnostic>| {
            let uses_unusable = std::cell::RefCell::new(None);
            let find = |n: &str| {
                lookup(n).or_else(|| {
                    if unusable.contains_key(n) {
                        uses_unusable
                            .borrow_mut()
                            .get_or_insert_with(|| n.to_string());
                    }
                    values.get(n).cloned()
                })
            };
            let result = substitute(text, &find);
            if let Some(other) = uses_unusable.into_inner() {
                poisoned = Some(format!(
                    "`{key}` uses `{other}`, whose value expands to more than {}",
                    limit_text()
                ));
                return String::new();
            }
            match result {
                Ok(s) => s.text,
                Err(SubstError::TooLong) => {
                    poisoned = Some(format!(
                        "variable `{key}` expands to more than {}",
                        limit_text()
                    ));
                    String::new()
                }
                Err(e) => {
                    diags.push(Diagnostic::error("", e.message()).at(line_no, 1));
                    String::new()
                }
            }
        };
        let value = match raw.chars().next() {
            Some(q @ ('"' | '\'')) => {
                // Gather lines until the closing quote.
                let mut body = raw[1..].to_string();
                let close = loop {
                    if let Some(pos) = closing_quote(&body, q) {
                        break Some(pos);
                    }
                    if i >= lines.len() {
                        break None;
                    }
                    body.push('\n');
                    body.push_str(lines[i]);
                    i += 1;
                };
                let Some(close) = close else {
                    diags.push(
                        Diagnostic::error("", format!("unterminated {q}quoted value for `{key}`"))
                            .at(line_no, 1)
                            .with_hint(format!("close the value with {q}")),
                    );
                    continue;
                };
                let body = &body[..close];
                if q == '\'' {
                    body.to_string()
                } else {
                    expand(&unescape(body), &values, &unusable, &mut diags)
                }
            }
            _ => {
                let unquoted = match raw.find(" #").or_else(|| raw.find("\t#")) {
                    Some(cut) => &raw[..cut],
                    None => raw,
                };
                expand(unquoted.trim_end(), &values, &unusable, &mut diags)
            }
        };
        if value.contains('\0') {
            diags.push(
                Diagnostic::error("", format!("the value of `{key}` contains a NUL byte"))
                    .at(line_no, 1)
                    .with_hint("no environment value can hold a NUL byte"),
            );
            continue;
        }
        total += value.len();
        if poisoned.is_none() && total > MAX_TOTAL_BYTES {
            poisoned = Some(format!(
                "variable `{key}`: the file's values expand to more than {} MiB in total",
                MAX_TOTAL_BYTES / (1024 * 1024)
            ));
        }
        match poisoned {
            Some(why) => {
                values.remove(key);
                unusable.insert(
                    key.to_string(),
                    Diagnostic::error("", why)
                        .at(line_no, 1)
                        .with_hint("a variable that repeats others many times grows exponentially; write the value out"),
                );
            }
            None => {
                unusable.remove(key);
                values.insert(key.to_string(), value);
            }
        }
    }
    Parsed {
        values,
        diags,
        unusable,
    }
}

/// Byte index of the unescaped closing quote in `body`.
fn closing_quote(body: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quote == '"' {
            escaped = true;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

/// Escapes inside double quotes. `\$` stays a literal dollar through expansion.
fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('$') => out.push_str("$$"),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "HOME").then(|| "/home/me".to_string())
    }

    #[test]
    fn reads_the_dotenv_format() {
        let (v, d) = parse(
            "# comment\n\nexport A=1\nB = two words # note\nC='lit ${A} # x'\nD=\"x\\ny ${A}\"\nE=${HOME}/data\nF=\nG=a#b\n",
            &env,
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(v["A"], "1");
        assert_eq!(v["B"], "two words");
        assert_eq!(v["C"], "lit ${A} # x");
        assert_eq!(v["D"], "x\ny 1");
        assert_eq!(v["E"], "/home/me/data");
        assert_eq!(v["F"], "");
        assert_eq!(v["G"], "a#b");
    }

    #[test]
    fn multi_line_double_quotes() {
        let (v, d) = parse("KEY=\"line1\nline2\"\nNEXT=x\n", &env);
        assert!(d.is_empty());
        assert_eq!(v["KEY"], "line1\nline2");
        assert_eq!(v["NEXT"], "x");
    }

    #[test]
    fn bare_keys_come_from_the_environment() {
        let (v, _) = parse("HOME\nNOT_SET\n", &env);
        assert_eq!(v.get("HOME").map(String::as_str), Some("/home/me"));
        assert!(!v.contains_key("NOT_SET"));
    }

    #[test]
    fn bad_lines_are_reported_with_their_line() {
        let (_, d) = parse("OK=1\nthis is not valid\nQ=\"open\n", &env);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].line, Some(2));
        assert_eq!(d[1].line, Some(3));
        assert!(d[1].message.contains("unterminated"));
    }
}
