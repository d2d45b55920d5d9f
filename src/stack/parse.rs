//! Stage 1: text → YAML value, with anchors expanded and merge keys (`<<`) applied.

use serde_yaml::{Mapping, Value};
use yaml_rust2::parser::{Event, Parser};

use super::docpath;
use crate::diagnostic::Diagnostic;

/// Parse one YAML document. A syntax error becomes a diagnostic at the line and
/// column serde_yaml reports.
pub fn parse(text: &str) -> Result<Value, Box<Diagnostic>> {
    if let Some((line, column)) = too_deep(text) {
        return Err(Box::new(
            Diagnostic::error(
                "",
                format!("invalid YAML: nested more than {MAX_DEPTH} levels deep"),
            )
            .at(line, column)
            .with_hint("a stack file needs a handful of levels; check for unclosed `[` or `{`"),
        ));
    }
    let mut value: Value = serde_yaml::from_str(text).map_err(|err| {
        let message = first_line(&err.to_string());
        let mut d = Diagnostic::error("", format!("invalid YAML: {message}"))
            .with_hint("check the indentation and quoting around this line");
        if let Some(loc) = err.location() {
            d = d.at(loc.line(), loc.column());
        }
        Box::new(d)
    })?;
    apply_merge(&mut value, "")?;
    Ok(value)
}

/// serde_yaml refuses documents nested deeper than this (its recursion limit),
/// but only after libyaml has scanned them, in time quadratic in the depth:
/// 50 000 `[` took minutes (found by tests/properties.rs).
const MAX_DEPTH: usize = 128;

/// Where the document first nests deeper than `MAX_DEPTH`, if it does, from
/// yaml-rust2's event stream, which costs linear time. A syntax error ends
/// the scan; serde_yaml reports it.
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (event, mark) = match parser.next_token() {
            Ok(next) => next,
            // yaml-rust2's own limit: 255 open flow collections, reached while
            // it scans ahead, before it has produced their events.
            Err(e) if e.info().contains("recursion limit") => {
                return Some((e.marker().line(), e.marker().col() + 1));
            }
            Err(_) => break,
        };
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some((mark.line(), mark.col() + 1));
                }
            }
            Event::MappingEnd | Event::SequenceEnd => depth = depth.saturating_sub(1),
            Event::StreamEnd => break,
            _ => {}
        }
    }
    None
}

/// serde_yaml's message, without the " at line X column Y" we report separately.
fn first_line(message: &str) -> String {
    let msg = message.lines().next().unwrap_or(message);
    match msg.find(" at line ") {
        Some(cut) => msg[..cut].to_string(),
        None => msg.to_string(),
    }
}

/// Apply YAML merge keys, innermost first, so a merged anchor that itself uses `<<`
/// is complete before it is merged (serde_yaml's own `apply_merge` misses that case).
/// Keys written in the mapping win over merged ones, earlier merge sources over later.
fn apply_merge(value: &mut Value, path: &str) -> Result<(), Box<Diagnostic>> {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map.iter_mut() {
                let key = key.as_str().unwrap_or("?");
                apply_merge(child, &docpath::child(path, key))?;
            }
            if let Some(merge) = map.remove("<<") {
                let at = docpath::child(path, "<<");
                let sources = match merge {
                    Value::Mapping(m) => vec![m],
                    Value::Sequence(items) => items
                        .into_iter()
                        .enumerate()
                        .map(|(i, item)| match item {
                            Value::Mapping(m) => Ok(m),
                            _ => Err(merge_error(&docpath::item(&at, i))),
                        })
                        .collect::<Result<Vec<Mapping>, _>>()?,
                    _ => return Err(merge_error(&at)),
                };
                for source in sources {
                    for (k, v) in source {
                        map.entry(k).or_insert(v);
                    }
                }
            }
            Ok(())
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                apply_merge(item, &docpath::item(path, i))?;
            }
            Ok(())
        }
        Value::Tagged(tagged) => apply_merge(&mut tagged.value, path),
        _ => Ok(()),
    }
}

fn merge_error(path: &str) -> Box<Diagnostic> {
    Box::new(
        Diagnostic::error(
            path,
            "a merge key `<<` must refer to a mapping or a list of mappings",
        )
        .with_hint("write `<<: *anchor` where `&anchor` marks a mapping"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_and_merge_keys_work() {
        let v = parse(
            "x-base: &base\n  image: nginx\n  restart: always\nservices:\n  web:\n    <<: *base\n    restart: \"no\"\n",
        )
        .unwrap();
        assert_eq!(v["services"]["web"]["image"], "nginx");
        assert_eq!(v["services"]["web"]["restart"], "no");
        assert!(v["services"]["web"].get("<<").is_none());
    }

    #[test]
    fn chained_merges_are_complete() {
        let v = parse("a: &a {x: 1}\nb: &b {<<: *a, y: 2}\nc: {<<: [*b], z: 3}\n").unwrap();
        assert_eq!(v["c"]["x"], 1);
        assert_eq!(v["c"]["y"], 2);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let d = parse("services:\n  web:\n    image: [nginx\n").unwrap_err();
        assert!(d.message.starts_with("invalid YAML"), "{}", d.message);
        assert!(d.line.is_some());
    }

    #[test]
    fn deep_nesting_is_refused_quickly_with_a_position() {
        let d = parse(&format!("services: {}", "[".repeat(50_000))).unwrap_err();
        assert_eq!(d.message, "invalid YAML: nested more than 128 levels deep");
        // Where the scan noticed: at or past the 129th `[`.
        assert_eq!(d.line, Some(1));
        assert!(d.column.unwrap() >= 11 + MAX_DEPTH, "{d:?}");
        // Block style: line i opens level i; level 129 is one too many.
        let block: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let d = parse(&block).unwrap_err();
        assert_eq!(d.line, Some(MAX_DEPTH + 1), "{d:?}");
        // At the limit, serde_yaml decides, as before.
        let ok = format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(too_deep(&ok).is_none());
    }

    #[test]
    fn merging_a_scalar_is_an_error() {
        let d = parse("services:\n  web:\n    <<: 3\n").unwrap_err();
        assert_eq!(d.path, "services.web.<<");
    }
}
