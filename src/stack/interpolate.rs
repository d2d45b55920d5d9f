//! Stage 2: `${VAR}` interpolation, as Compose does it, over every string value
//! (never keys), before normalization — so `ports: ["${PORT}:80"]` is checked
//! after substitution.
//!
//! `$$` → `$`; `$VAR`, `${VAR}`; `${VAR:-default}` (unset or empty), `${VAR-default}`
//! (unset); `${VAR:?message}`, `${VAR?message}` (required); `${VAR:+alt}`, `${VAR+alt}`.
//! Defaults and alternatives may themselves hold `${...}`.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

use super::docpath;
use crate::diagnostic::Diagnostic;

/// Variables available to interpolation: the shell environment over `.env`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables {
    values: BTreeMap<String, String>,
    /// `.env` variables whose value could not be expanded (too large, or built
    /// from one that is): an error only where one is used.
    unusable: BTreeMap<String, Diagnostic>,
}

impl Variables {
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Variables {
            values,
            unusable: BTreeMap::new(),
        }
    }

    /// `.env` values, overridden by the shell's (Compose's precedence).
    pub fn layered(dotenv: &BTreeMap<String, String>, shell: &BTreeMap<String, String>) -> Self {
        let mut values = dotenv.clone();
        values.extend(shell.iter().map(|(k, v)| (k.clone(), v.clone())));
        Variables {
            values,
            unusable: BTreeMap::new(),
        }
    }

    /// These variables over `lower` (an included project's `.env`): what is set
    /// here wins.
    pub fn under(&self, lower: &BTreeMap<String, String>) -> Self {
        let mut values = lower.clone();
        values.extend(self.values.iter().map(|(k, v)| (k.clone(), v.clone())));
        Variables {
            values,
            unusable: self.unusable.clone(),
        }
    }

    /// These `.env` variables as unusable, each with the error to report where
    /// it is used, unless the shell sets it.
    pub fn with_unusable(mut self, unusable: BTreeMap<String, Diagnostic>) -> Self {
        self.unusable = unusable
            .into_iter()
            .filter(|(k, _)| !self.values.contains_key(k))
            .collect();
        self
    }

    /// The error for using `name`, if its `.env` value could not be expanded.
    pub fn unusable(&self, name: &str) -> Option<&Diagnostic> {
        self.unusable.get(name)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }
}

/// Whether `text` (a stack file's) interpolates variable `name`: `${NAME}`,
/// `${NAME:-…}` and the other forms, or `$NAME`.
pub fn mentions(text: &str, name: &str) -> bool {
    !name.is_empty()
        && text.match_indices(name).any(|(i, _)| {
            let before = &text[..i];
            let after = text[i + name.len()..].chars().next();
            let whole = !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            whole && (before.ends_with("${") || (before.ends_with('$') && !before.ends_with("$$")))
        })
}

/// Why a substitution failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubstError {
    /// `${VAR:?message}` with VAR unset, or empty (`empty`).
    Required {
        variable: String,
        message: String,
        empty: bool,
    },
    /// `${` without a valid variable name or closing brace.
    Invalid { text: String },
    /// Defaults nested in defaults deeper than `MAX_NESTING`; `text` is the
    /// start of the outermost reference.
    TooDeep { text: String },
    /// The result would be longer than `MAX_VALUE_BYTES`.
    TooLong,
}

impl SubstError {
    /// The message for a diagnostic.
    pub fn message(&self) -> String {
        match self {
            SubstError::Required {
                variable,
                message,
                empty,
            } => {
                let mut msg = if *empty {
                    format!("required variable `{variable}` is empty")
                } else {
                    format!("required variable `{variable}` is not set")
                };
                if !message.is_empty() {
                    msg.push_str(&format!(": {message}"));
                }
                msg
            }
            SubstError::Invalid { text } => format!("invalid interpolation `{text}`"),
            SubstError::TooDeep { text } => {
                format!("interpolation nested more than {MAX_NESTING} levels deep in `{text}…`")
            }
            SubstError::TooLong => format!("value expands to more than {}", limit_text()),
        }
    }
}

/// The longest value one substitution may produce (1 MiB): real values are
/// a few kilobytes at most, and without a bound twelve `.env` lines that each
/// repeat the previous variable ten times expand to a terabyte.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// The most all substitutions of one file may produce together.
pub const MAX_TOTAL_BYTES: usize = 64 * 1024 * 1024;

/// "1 MiB", for messages.
pub fn limit_text() -> String {
    format!("{} MiB", MAX_VALUE_BYTES / (1024 * 1024))
}

/// How deeply `${A:-${B:-...}}` may nest. Real files use two or three levels;
/// the limit keeps a pathological value from overflowing the stack (found by
/// tests/properties.rs: 50 000 levels in one string aborted pier).
pub const MAX_NESTING: usize = 32;

/// The result of substituting one string.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Substituted {
    pub text: String,
    /// Variables referenced plainly (`${VAR}`, `$VAR`) but not set: they became "".
    pub unset: Vec<String>,
}

/// Substitute variables in `text`, looking names up with `lookup`.
pub fn substitute(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Substituted, SubstError> {
    let mut out = Substituted::default();
    out.text = subst(text, lookup, &mut out.unset, 0).map_err(|e| match e {
        SubstError::TooDeep { .. } => SubstError::TooDeep {
            text: text.chars().take(40).collect(),
        },
        other => other,
    })?;
    Ok(out)
}

fn is_name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

fn subst(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
) -> Result<String, SubstError> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let Some(offset) = text[i..].find('$') else {
            out.push_str(&text[i..]);
            break;
        };
        out.push_str(&text[i..i + offset]);
        i += offset;
        match bytes.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') if depth >= MAX_NESTING => {
                return Err(SubstError::TooDeep {
                    text: String::new(), // filled in by `substitute`
                });
            }
            Some(b'{') => {
                let close = matching_brace(text, i + 1).ok_or_else(|| SubstError::Invalid {
                    text: text[i..].to_string(),
                })?;
                out.push_str(&braced(&text[i + 2..close], lookup, unset, depth)?);
                if out.len() > MAX_VALUE_BYTES {
                    return Err(SubstError::TooLong);
                }
                i = close + 1;
            }
            Some(&c) if is_name_start(c) => {
                let end = (i + 1..bytes.len())
                    .find(|&j| !is_name_char(bytes[j]))
                    .unwrap_or(bytes.len());
                let name = &text[i + 1..end];
                match lookup(name) {
                    Some(v) => out.push_str(&v),
                    None => unset.push(name.to_string()),
                }
                if out.len() > MAX_VALUE_BYTES {
                    return Err(SubstError::TooLong);
                }
                i = end;
            }
            // A lone `$` (e.g. `$1`, or at the end) stays as written, as in Compose.
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Index of the `}` closing the `{` at `open`, counting nested braces.
fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (j, c) in text.bytes().enumerate().skip(open) {
        match c {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(j);
                }
            }
            _ => {}
        }
    }
    None
}

/// The inside of `${...}`.
fn braced(
    inner: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
) -> Result<String, SubstError> {
    let bytes = inner.as_bytes();
    let invalid = || SubstError::Invalid {
        text: format!("${{{inner}}}"),
    };
    if bytes.is_empty() || !is_name_start(bytes[0]) {
        return Err(invalid());
    }
    let end = (0..bytes.len())
        .find(|&j| !is_name_char(bytes[j]))
        .unwrap_or(bytes.len());
    let (name, rest) = inner.split_at(end);
    let value = lookup(name);
    let set_and_non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    // Longest operators first: ":-" before "-".
    for op in [":-", ":?", ":+", "-", "?", "+"] {
        let Some(arg) = rest.strip_prefix(op) else {
            continue;
        };
        let present = if op.starts_with(':') {
            set_and_non_empty
        } else {
            value.is_some()
        };
        return match (op.trim_start_matches(':'), present) {
            ("-", true) => Ok(value.unwrap_or_default()),
            ("-", false) => subst(arg, lookup, unset, depth + 1),
            ("?", true) => Ok(value.unwrap_or_default()),
            ("?", false) => Err(SubstError::Required {
                variable: name.to_string(),
                message: subst(arg, lookup, unset, depth + 1)?,
                empty: value.is_some(),
            }),
            ("+", true) => subst(arg, lookup, unset, depth + 1),
            _ => Ok(String::new()),
        };
    }
    if !rest.is_empty() {
        return Err(invalid());
    }
    match value {
        Some(v) => Ok(v),
        None => {
            unset.push(name.to_string());
            Ok(String::new())
        }
    }
}

/// Interpolate every string in `value` in place; problems are collected as diagnostics.
/// An unset variable is warned about once, where it is first used: an anchor
/// merged into five services would otherwise repeat the same warning six times.
pub fn interpolate(value: &mut Value, vars: &Variables, diags: &mut Vec<Diagnostic>) {
    let mut walker = Walker {
        vars,
        diags,
        warned: BTreeSet::new(),
        total: 0,
    };
    walker.walk(value, "");
}

struct Walker<'a> {
    vars: &'a Variables,
    diags: &'a mut Vec<Diagnostic>,
    /// Unset variables warned about, and unusable ones reported.
    warned: BTreeSet<String>,
    /// Bytes produced so far, against `MAX_TOTAL_BYTES`.
    total: usize,
}

impl Walker<'_> {
    fn walk(&mut self, value: &mut Value, path: &str) {
        let vars = self.vars;
        match value {
            Value::String(s) => {
                if !s.contains('$') {
                    return;
                }
                if self.total > MAX_TOTAL_BYTES {
                    return; // reported once, below
                }
                let used_unusable = std::cell::RefCell::new(Vec::new());
                let lookup = |name: &str| {
                    if vars.unusable(name).is_some() {
                        used_unusable.borrow_mut().push(name.to_string());
                        return None;
                    }
                    vars.get(name).map(str::to_string)
                };
                let result = substitute(s, &lookup);
                let mut unusable = used_unusable.into_inner();
                unusable.dedup();
                if !unusable.is_empty() {
                    for name in unusable {
                        self.diags.push(
                            Diagnostic::error(
                                path,
                                format!("uses variable `{name}`, whose value cannot be used"),
                            )
                            .with_hint(format!("see the error for `{name}` in its env file")),
                        );
                        if self.warned.insert(format!("unusable {name}")) {
                            self.diags.extend(vars.unusable(&name).cloned());
                        }
                    }
                    return;
                }
                match result {
                    Ok(done) => {
                        for name in done.unset {
                            if !self.warned.insert(name.clone()) {
                                continue;
                            }
                            self.diags.push(
                                Diagnostic::warning(path, format!("variable `{name}` is not set; using an empty string"))
                                    .with_hint(format!("set {name} in the environment or in .env, or write ${{{name}:-default}}")),
                            );
                        }
                        self.total += done.text.len();
                        if self.total > MAX_TOTAL_BYTES {
                            self.diags.push(
                                Diagnostic::error(
                                    path,
                                    format!(
                                        "interpolated values add up to more than {} MiB; stopped here",
                                        MAX_TOTAL_BYTES / (1024 * 1024)
                                    ),
                                )
                                .with_hint("use fewer or smaller variables"),
                            );
                        }
                        *s = done.text;
                    }
                    Err(e) => {
                        let hint = match &e {
                            SubstError::Required { variable, .. } => {
                                format!("set {variable} in the environment or in .env")
                            }
                            SubstError::Invalid { .. } => "write ${NAME}, ${NAME:-default} or ${NAME:?message}; write $$ for a literal $".to_string(),
                            SubstError::TooDeep { .. } => "nest fewer ${NAME:-default} inside each other".to_string(),
                            SubstError::TooLong => "a variable used here is very large, or is used too many times".to_string(),
                        };
                        self.diags
                            .push(Diagnostic::error(path, e.message()).with_hint(hint));
                    }
                }
            }
            Value::Mapping(map) => {
                for (k, v) in map.iter_mut() {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => serde_yaml::to_string(other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    self.walk(v, &docpath::child(path, &key));
                }
            }
            Value::Sequence(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    self.walk(item, &docpath::item(path, i));
                }
            }
            Value::Tagged(t) => self.walk(&mut t.value, path),
            _ => {}
        }
    }
}

/// Report every string (key or value) holding a NUL byte: no engine, process
/// argument or environment variable can carry one, and refusing it here keeps
/// it from failing halfway through `up`.
pub fn nul_bytes(value: &Value, path: &str, diags: &mut Vec<Diagnostic>) {
    let nul = |at: &str| {
        Diagnostic::error(at, "contains a NUL byte (\\0)")
            .with_hint("remove the \\0: no command, label or environment value can hold one")
    };
    match value {
        Value::String(s) if s.contains('\0') => diags.push(nul(path)),
        Value::Mapping(map) => {
            for (k, v) in map {
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => serde_yaml::to_string(other)
                        .unwrap_or_default()
                        .trim()
                        .to_string(),
                };
                let at = docpath::child(path, &key);
                if key.contains('\0') {
                    diags.push(nul(&at));
                }
                nul_bytes(v, &at, diags);
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                nul_bytes(item, &docpath::item(path, i), diags);
            }
        }
        Value::Tagged(t) => nul_bytes(&t.value, path, diags),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Variables {
        Variables::new(
            [("A", "a"), ("EMPTY", ""), ("PORT", "8080")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn sub(text: &str) -> Result<Substituted, SubstError> {
        let v = vars();
        substitute(text, &|n| v.get(n).map(str::to_string))
    }

    fn ok(text: &str) -> String {
        sub(text).unwrap().text
    }

    #[test]
    fn plain_forms() {
        assert_eq!(ok("${A}-$A-${PORT}:80"), "a-a-8080:80");
        assert_eq!(ok("$$A costs $$5"), "$A costs $5");
        assert_eq!(ok("price: $1 and $"), "price: $1 and $");
        assert_eq!(ok("naïve ${A} ü"), "naïve a ü");
    }

    #[test]
    fn defaults_distinguish_unset_and_empty() {
        assert_eq!(ok("${EMPTY:-d}"), "d");
        assert_eq!(ok("${EMPTY-d}"), "");
        assert_eq!(ok("${NOPE-d}"), "d");
        assert_eq!(ok("${NOPE:-${A}x}"), "ax");
    }

    #[test]
    fn alternatives() {
        assert_eq!(ok("${A:+yes}"), "yes");
        assert_eq!(ok("${EMPTY:+yes}"), "");
        assert_eq!(ok("${EMPTY+yes}"), "yes");
        assert_eq!(ok("${NOPE+yes}"), "");
    }

    #[test]
    fn required_variables() {
        assert_eq!(ok("${A:?need A}"), "a");
        assert_eq!(
            sub("${NOPE:?set the password}").unwrap_err(),
            SubstError::Required {
                variable: "NOPE".into(),
                message: "set the password".into(),
                empty: false,
            }
        );
        assert!(matches!(
            sub("${EMPTY:?x}"),
            Err(SubstError::Required { empty: true, .. })
        ));
        assert_eq!(
            sub("${EMPTY:?x}").unwrap_err().message(),
            "required variable `EMPTY` is empty: x"
        );
        assert_eq!(ok("${EMPTY?x}"), "");
    }

    #[test]
    fn unset_plain_variables_are_reported() {
        let s = sub("$NOPE/${ALSO}").unwrap();
        assert_eq!(s.text, "/");
        assert_eq!(s.unset, vec!["NOPE".to_string(), "ALSO".to_string()]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let nested = |n: usize| format!("{}x{}", "${NOPE:-".repeat(n), "}".repeat(n));
        assert_eq!(ok(&nested(MAX_NESTING)), "x");
        assert_eq!(
            sub(&nested(50_000)).unwrap_err(),
            SubstError::TooDeep {
                text: "${NOPE:-".repeat(5)
            }
        );
        let mut v: Value = serde_yaml::from_str(&format!("a: \"{}\"\n", nested(100))).unwrap();
        let mut diags = Vec::new();
        interpolate(&mut v, &vars(), &mut diags);
        assert!(
            diags[0]
                .message
                .starts_with("interpolation nested more than 32 levels deep in `${NOPE:-"),
            "{diags:?}"
        );
    }

    #[test]
    fn output_is_bounded() {
        let big = "x".repeat(MAX_VALUE_BYTES / 4 + 1);
        let v = Variables::new([("BIG".to_string(), big)].into());
        let lookup = |n: &str| v.get(n).map(str::to_string);
        assert!(substitute("${BIG}${BIG}${BIG}", &lookup).is_ok());
        assert_eq!(
            substitute("${BIG}$BIG${BIG}${BIG}", &lookup).unwrap_err(),
            SubstError::TooLong
        );
        assert_eq!(
            substitute("${NOPE:-${BIG}${BIG}${BIG}${BIG}}", &lookup).unwrap_err(),
            SubstError::TooLong
        );
    }

    #[test]
    fn mentions_finds_each_form_of_a_reference() {
        let text =
            "a: ${WEB_PORT}:80\nb: ${DB_USER:-app}\nc: $EDITOR\nd: $$LITERAL\ne: ${WEB_PORT_2}";
        assert!(mentions(text, "WEB_PORT"));
        assert!(mentions(text, "DB_USER"));
        assert!(mentions(text, "EDITOR"));
        assert!(!mentions(text, "LITERAL"));
        assert!(!mentions(text, "WEB"));
        assert!(!mentions(text, "EDITOR_PORT"));
    }

    #[test]
    fn an_unusable_variable_is_an_error_where_it_is_used() {
        let unusable = [(
            "BOMB".to_string(),
            Diagnostic::error("", "`.env` variable `BOMB` expands to more than 1 MiB"),
        )]
        .into();
        let vars = Variables::new(BTreeMap::new()).with_unusable(unusable);
        let mut v: Value = serde_yaml::from_str("a: ok\nb: \"${BOMB}\"\n").unwrap();
        let mut diags = Vec::new();
        interpolate(&mut v, &vars, &mut diags);
        assert_eq!(diags.len(), 2, "{diags:?}");
        assert_eq!(diags[0].path, "b");
        assert!(diags[0].message.contains("`BOMB`"));
        assert!(diags[1].message.contains("expands to more than"));
    }

    #[test]
    fn nul_bytes_are_found_in_keys_and_values() {
        let v: Value =
            serde_yaml::from_str("a: {\"k\\0\": 1, b: [x, \"y\\0\"]}\nc: fine\n").unwrap();
        let mut diags = Vec::new();
        nul_bytes(&v, "", &mut diags);
        let paths: Vec<&str> = diags.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["a.k\0", "a.b[1]"]);
    }

    #[test]
    fn malformed_references_are_errors() {
        assert!(matches!(sub("${A"), Err(SubstError::Invalid { .. })));
        assert!(matches!(sub("${1A}"), Err(SubstError::Invalid { .. })));
        assert!(matches!(sub("${A B}"), Err(SubstError::Invalid { .. })));
    }

    #[test]
    fn an_unset_variable_is_warned_about_once() {
        let mut v: Value = serde_yaml::from_str("a: ${NOPE}\nb: [$NOPE, \"${OTHER}\"]\n").unwrap();
        let mut diags = Vec::new();
        interpolate(&mut v, &vars(), &mut diags);
        let paths: Vec<&str> = diags.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["a", "b[1]"]);
    }

    #[test]
    fn interpolates_values_not_keys() {
        let mut v: Value =
            serde_yaml::from_str("$A: ${A}\nlist: [\"${NOPE:?missing}\", 3]\n").unwrap();
        let mut diags = Vec::new();
        interpolate(&mut v, &vars(), &mut diags);
        assert_eq!(v["$A"], "a");
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].path, "list[0]");
        assert!(diags[0].message.contains("NOPE") && diags[0].message.contains("missing"));
    }
}
