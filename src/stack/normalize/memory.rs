//! Memory sizes in Compose's (Docker's) notation: `512m`, `1g`, `1.5gb`, `268435456`.

use serde_yaml::Value;

use super::Ctx;
use super::read;
use crate::diagnostic::Diagnostic;

/// The engine refuses a memory limit below 6 MiB when the container is created,
/// which is after networks and volumes exist: checked here so nothing is created.
pub const MIN_LIMIT: u64 = 6 * 1024 * 1024;

/// Bytes in a size like `512m`, `1.5g`, `64MiB`, `1024`; `None` when it is not one.
/// Units are binary, as Docker reads them (`1k` = 1024), case-insensitive.
pub fn parse(text: &str) -> Option<u64> {
    let text = text.trim().to_ascii_lowercase();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return None;
    }
    let number: f64 = number.parse().ok()?;
    // `b` alone is bytes; `b` or `ib` after a prefix changes nothing.
    if unit == "ib" {
        return None;
    }
    let prefix = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(unit);
    let shift = match prefix {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        "t" => 40,
        "p" => 50,
        _ => return None,
    };
    let bytes = number * (1u64 << shift) as f64;
    // Docker keeps sizes in an int64: anything larger cannot reach the engine.
    (bytes.is_finite() && bytes <= i64::MAX as f64).then_some(bytes as u64)
}

/// `mem_limit`: a size string or a number of bytes, at least `MIN_LIMIT`.
pub fn limit(ctx: &mut Ctx, v: &Value, path: &str) -> Option<u64> {
    let text = match v {
        Value::Number(n) if n.as_u64().is_some() => n.to_string(),
        Value::String(_) => read::scalar_text(v)?,
        other => {
            read::expected(ctx, path, "a memory size such as \"512m\"", other);
            return None;
        }
    };
    let hint = "write a number with a unit: 512m, 1g, 1.5g (or bytes: 268435456)";
    match parse(&text) {
        None => {
            ctx.push(
                Diagnostic::error(path, format!("invalid memory size {text:?}")).with_hint(hint),
            );
            None
        }
        Some(bytes) if bytes < MIN_LIMIT => {
            ctx.push(
                Diagnostic::error(
                    path,
                    format!("memory limit {text:?} is below the engine's minimum of 6m"),
                )
                .with_hint("give the container at least 6m; most services need 64m or more"),
            );
            None
        }
        Some(bytes) => Some(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ctx_for;
    use super::*;

    #[test]
    fn docker_sizes() {
        assert_eq!(parse("512m"), Some(512 << 20));
        assert_eq!(parse("512M"), Some(512 << 20));
        assert_eq!(parse("1g"), Some(1 << 30));
        assert_eq!(parse("1gb"), Some(1 << 30));
        assert_eq!(parse("64MiB"), Some(64 << 20));
        assert_eq!(parse("1.5g"), Some(3 << 29));
        assert_eq!(parse("1024"), Some(1024));
        assert_eq!(parse("1024b"), Some(1024));
        assert_eq!(parse("2k"), Some(2048));
    }

    #[test]
    fn rejects_what_is_not_a_size() {
        for bad in [
            "", "m", "12zb", "lots", "-1m", "1 g", ".5g", "5.g", "1ib", "1e3m", "1kbb",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn limit_checks_type_syntax_and_minimum() {
        let yaml = |t: &str| -> Value { serde_yaml::from_str(t).unwrap() };
        let mut ctx = ctx_for();
        assert_eq!(limit(&mut ctx, &yaml("256m"), "m"), Some(256 << 20));
        assert_eq!(limit(&mut ctx, &yaml("67108864"), "m"), Some(64 << 20));
        assert!(ctx.diags.is_empty());
        assert_eq!(limit(&mut ctx, &yaml("12zb"), "a"), None);
        assert_eq!(limit(&mut ctx, &yaml("1m"), "b"), None);
        assert_eq!(limit(&mut ctx, &yaml("[1]"), "c"), None);
        let got: Vec<(&str, &str)> = ctx
            .diags
            .iter()
            .map(|d| (d.path.as_str(), d.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "invalid memory size \"12zb\""),
                (
                    "b",
                    "memory limit \"1m\" is below the engine's minimum of 6m"
                ),
                ("c", "expected a memory size such as \"512m\", found a list"),
            ]
        );
    }
}
