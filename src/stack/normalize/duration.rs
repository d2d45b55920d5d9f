//! Durations in Compose's (Go's) notation: `1m30s`, `500ms`, `1.5s`, `2h`.

use std::time::Duration;

/// Parse a duration; `None` when it is not one.
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text == "0" {
        return Some(Duration::ZERO);
    }
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += number * nanos_per_unit;
    }
    // Go's durations are int64 nanoseconds (about 292 years); Compose refuses
    // anything longer, and so does pier rather than clamp it.
    if !total.is_finite() || total.round() > i64::MAX as f64 {
        return None;
    }
    Some(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compose_durations() {
        assert_eq!(parse("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "",
            "10",
            "ten",
            "10 s",
            "5d",
            "s",
            "1..5s",
            "-3s",
            "99999999999999999999h",
            "2562048h",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
