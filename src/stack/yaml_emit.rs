//! Writing YAML: a JSON value as a block-style YAML document.
//!
//! Exporters build `serde_json::Value`s (or typed structs serialized into them)
//! and turn them into text here. This is hand-written rather than
//! `serde_yaml::to_string` because serde_yaml writes YAML 1.2 and leaves
//! strings such as `no`, `on` or `y` unquoted; the readers of what pier exports
//! include YAML 1.1 parsers (docker-compose v1's PyYAML, the `yaml.v2` behind
//! kubectl), which read those as booleans — `restart: no` would become `false`
//! and an environment value `"on"` a type error. So a string is written plain
//! only when every YAML reader agrees it is a string; otherwise it is written
//! double-quoted with JSON escapes, which are valid YAML escapes.
//!
//! Output is deterministic: map keys keep the value's order (serde_json's map
//! keeps insertion order in this build), so the writer decides the layout.

use serde_json::Value;

/// `value` as a YAML document (no leading `---`), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar_str(key));
        out.push(':');
        write_value_after_key(out, value, indent);
    }
}

/// After `key:` (or `- ` for sequence items that are not maps): a nested block or ` scalar`.
fn write_value_after_key(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, indent + 2);
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            // `- key: value` with the following keys aligned under the first.
            Value::Object(map) if !map.is_empty() => {
                let mut first = true;
                for (key, value) in map {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&scalar_str(key));
                    out.push(':');
                    write_value_after_key(out, value, indent + 2);
                }
            }
            other => write_value_after_key(out, other, indent),
        }
    }
}

/// Scalars and empty collections, written on one line.
fn inline(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_str(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

/// Words YAML 1.1 reads as booleans or null (any case variant it accepts).
const AMBIGUOUS_WORDS: &[&str] = &[
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
];

/// A string as a YAML scalar: plain when unambiguous, else double-quoted.
fn scalar_str(s: &str) -> String {
    if is_plain_safe(s) {
        s.to_string()
    } else {
        // JSON string escapes (\" \\ \n \t \uXXXX) are valid in YAML double-quoted scalars.
        serde_json::to_string(s).expect("a string always serializes")
    }
}

/// Conservative: plain only if it starts with a letter, `_`, `/` or is a `-flag` (so it is never a
/// number, a sexagesimal, an indicator or an alias), uses a small set of characters,
/// has no `: ` or trailing `:` (mapping), and is not a YAML 1.1 boolean/null word.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // `-c` and `--port` are common command arguments; `-1` or `- x` are not strings.
    let flag = first == '-'
        && s.trim_start_matches('-')
            .starts_with(|c: char| c.is_ascii_alphabetic());
    if !(first.is_ascii_alphabetic() || first == '_' || first == '/' || flag) {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") {
        return false;
    }
    if AMBIGUOUS_WORDS.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./@+=-: ".contains(c))
        && !s.contains("  ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(value: &Value) -> Value {
        serde_yaml::from_str(&to_yaml(value)).expect("emitted YAML parses")
    }

    #[test]
    fn writes_block_style() {
        let v = json!({
            "services": {
                "web": {
                    "image": "nginx:1.25",
                    "ports": [{"target": 80, "host_ip": "127.0.0.1"}],
                    "command": ["sh", "-c", "echo hi"],
                    "environment": {},
                }
            }
        });
        assert_eq!(
            to_yaml(&v),
            "services:\n  web:\n    image: nginx:1.25\n    ports:\n      - target: 80\n        host_ip: \"127.0.0.1\"\n    command:\n      - sh\n      - -c\n      - echo hi\n    environment: {}\n"
        );
        assert_eq!(round_trip(&v), v);
    }

    #[test]
    fn quotes_what_yaml_1_1_would_misread() {
        for s in [
            "no", "No", "ON", "y", "~", "null", "1.0", "010", "0x1f", "1:20", "1e3", ".inf", "",
            " x", "a: b", "x:", "#c", "- a", "*ref", "&a", "-1", "--", "- x", "!tag", "@x", "%x",
            "`x", "'q'", "\"q\"", "a #b", "{x}", "[x]", "|", ">",
        ] {
            let out = to_yaml(&json!({ "k": s }));
            assert!(out.starts_with("k: \""), "{s:?} must be quoted, got {out}");
            assert_eq!(round_trip(&json!({ "k": s })), json!({ "k": s }));
        }
        assert_eq!(to_yaml(&json!({"restart": "no"})), "restart: \"no\"\n");
    }

    #[test]
    fn plain_where_unambiguous() {
        assert_eq!(
            to_yaml(
                &json!({"a": "unless-stopped", "b": "/var/lib/mysql", "c": "mysql://db:3306/app"})
            ),
            "a: unless-stopped\nb: /var/lib/mysql\nc: mysql://db:3306/app\n"
        );
    }

    #[test]
    fn round_trips_awkward_values() {
        let v = json!({
            "multi\nline key": "line one\nline two\ttab \"quoted\" \\ back",
            "unicode": "héllo — ✓",
            "nested": [[1, 2], [], {}, [{"a": null, "b": true}], -3.5],
            "empty": "",
        });
        assert_eq!(round_trip(&v), v);
    }
}
